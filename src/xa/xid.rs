//! XA transaction ids as this proxy writes and recognises them.
//!
//! `formatID` 21319 ("SG"); gtrid `sg1:<proxy id>:<epoch>:<seq>` (ASCII,
//! at most 64 bytes); bqual the data source's name. Sent as hex literals,
//! so no name needs quoting, and read back from `XA RECOVER` by its length
//! columns (its `data` column is gtrid and bqual run together).

use mysql_common::value::Value;

/// The formatID of every branch this proxy starts.
pub const FORMAT_ID: i64 = 21319;

/// The longest proxy id the gtrid leaves room for.
pub const MAX_PROXY_ID: usize = 24;

/// Whether `id` may name a proxy instance in a gtrid.
pub fn valid_proxy_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_PROXY_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The gtrid of transaction `seq` of this instance's `epoch`: at most 64
/// bytes while the epoch (advanced once per start) is below 2^32.
pub fn gtrid(proxy_id: &str, epoch: u64, seq: u64) -> String {
    format!("sg1:{proxy_id}:{epoch}:{seq}")
}

/// What starts every gtrid of `proxy_id`: recovery touches nothing else.
pub fn prefix(proxy_id: &str) -> String {
    format!("sg1:{proxy_id}:")
}

/// [`FORMAT_ID`] as the xid's text ends with it.
const FORMAT_ID_TEXT: &str = "21319";

/// `X'..',X'..',21319`: the xid of `gtrid`'s branch on `data_source`.
/// Built in one allocation: a transaction sends one per XA statement.
pub fn sql(gtrid: &[u8], bqual: &[u8]) -> String {
    let mut text = String::with_capacity(2 * (gtrid.len() + bqual.len()) + 16);
    text.push_str("X'");
    push_hex(&mut text, gtrid);
    text.push_str("',X'");
    push_hex(&mut text, bqual);
    text.push_str("',");
    text.push_str(FORMAT_ID_TEXT);
    text
}

fn push_hex(text: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    text.extend(bytes.iter().flat_map(|&b| {
        [
            char::from(DIGITS[usize::from(b >> 4)]),
            char::from(DIGITS[usize::from(b & 15)]),
        ]
    }));
}

/// One row of `XA RECOVER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub format_id: i64,
    pub gtrid: Vec<u8>,
    pub bqual: Vec<u8>,
}

impl Recovered {
    /// Reads a row (formatID, gtrid_length, bqual_length, data); `None`
    /// when the lengths do not fit the data.
    pub fn from_row(row: &[Value]) -> Option<Recovered> {
        let number = |v: &Value| -> Option<i64> {
            match v {
                Value::Int(i) => Some(*i),
                Value::UInt(u) => i64::try_from(*u).ok(),
                Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
                _ => None,
            }
        };
        let [format, gl, bl, data] = row else {
            return None;
        };
        let (format_id, gl, bl) = (number(format)?, number(gl)?, number(bl)?);
        let Value::Bytes(data) = data else {
            return None;
        };
        let gl = usize::try_from(gl).ok()?;
        let bl = usize::try_from(bl).ok()?;
        if gl.checked_add(bl)? > data.len() {
            return None;
        }
        Some(Recovered {
            format_id,
            gtrid: data[..gl].to_vec(),
            bqual: data[gl..gl + bl].to_vec(),
        })
    }

    /// The gtrid as text when it is one of `proxy_id`'s.
    pub fn ours(&self, proxy_id: &str) -> Option<&str> {
        if self.format_id != FORMAT_ID {
            return None;
        }
        let text = std::str::from_utf8(&self.gtrid).ok()?;
        text.starts_with(&prefix(proxy_id)).then_some(text)
    }

    pub fn sql(&self) -> String {
        sql(&self.gtrid, &self.bqual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xids_are_hex_literals() {
        assert_eq!(sql(b"sg1", b"ds_0"), "X'736731',X'64735f30',21319");
        assert_eq!(sql(&[0x00, 0xff, 0x0a], b""), "X'00ff0a',X'',21319");
        assert_eq!(FORMAT_ID_TEXT, FORMAT_ID.to_string());
        assert_eq!(gtrid("w1", 3, 42), "sg1:w1:3:42");
        // An epoch (one per start) stays far below 2^32; seq is any u64.
        let longest = gtrid(&"a".repeat(MAX_PROXY_ID), u64::from(u32::MAX), u64::MAX);
        assert!(longest.len() <= 64, "{}", longest.len());
    }

    #[test]
    fn recover_rows_split_by_lengths() {
        let row = [
            Value::Bytes(b"21319".to_vec()),
            Value::Bytes(b"11".to_vec()),
            Value::Bytes(b"4".to_vec()),
            Value::Bytes(b"sg1:w1:1:10ds_1".to_vec()),
        ];
        let r = Recovered::from_row(&row).unwrap();
        assert_eq!(r.gtrid, b"sg1:w1:1:10");
        assert_eq!(r.bqual, b"ds_1");
        assert_eq!(r.ours("w1"), Some("sg1:w1:1:10"));
        // Another instance, an application's xid, another format: never ours.
        assert_eq!(r.ours("w10"), None);
        assert_eq!(r.ours("w"), None);
        let mut foreign = r.clone();
        foreign.format_id = 1;
        assert_eq!(foreign.ours("w1"), None);
        let short = [
            Value::Int(21319),
            Value::Int(40),
            Value::Int(0),
            Value::Bytes(b"x".to_vec()),
        ];
        assert!(Recovered::from_row(&short).is_none());
    }

    #[test]
    fn proxy_ids_are_checked() {
        assert!(valid_proxy_id("w1"));
        assert!(valid_proxy_id("east-proxy_2"));
        assert!(!valid_proxy_id(""));
        assert!(!valid_proxy_id("a:b"));
        assert!(!valid_proxy_id(&"x".repeat(25)));
    }
}
