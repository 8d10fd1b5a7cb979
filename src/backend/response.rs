//! What a backend's packets mean, read without decoding rows: the first
//! packet of an answer, OK and terminator contents, errors.

use crate::error::Error;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    CommonOkPacket, ErrPacket, OkPacket, OkPacketDeserializer, ResultSetTerminator,
};

/// The first packet of an answer.
#[derive(Debug)]
pub enum Frame {
    Ok(OkSummary),
    Err(Error),
    /// A result set with this many columns follows.
    Columns(usize),
    /// LOCAL INFILE request (never asked for: the proxy does not offer it).
    LocalInfile,
}

/// What the proxy keeps of an OK packet (or a result set's terminator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkSummary {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status: StatusFlags,
    pub warnings: u16,
    pub info: String,
    /// `last_gtid` from the session state (a committed write, when tracked).
    pub gtid: Option<String>,
    /// The transaction characteristics the session state reports, when
    /// tracked and changed: empty once `SET TRANSACTION`'s were used up.
    pub characteristics: Option<String>,
}

/// Reads the first packet of an answer.
pub fn frame(packet: &[u8], caps: CapabilityFlags, data_source: &str) -> Frame {
    match packet.first() {
        Some(0x00) => match parse_ok(packet, caps) {
            Some(ok) => Frame::Ok(ok),
            None => Frame::Err(malformed(data_source)),
        },
        Some(0xff) => Frame::Err(server_error(packet, caps, data_source)),
        Some(0xfb) => Frame::LocalInfile,
        Some(_) => match column_count(packet) {
            Some(n) if n > 0 => Frame::Columns(n),
            _ => Frame::Err(malformed(data_source)),
        },
        None => Frame::Err(malformed(data_source)),
    }
}

/// A result set's end (DEPRECATE_EOF: an OK packet with the EOF header; a
/// row can start with 0xfe only when it is 16 MiB or longer).
pub fn is_terminator(packet: &[u8]) -> bool {
    packet.first() == Some(&0xfe) && packet.len() < 0xff_ffff
}

/// An error packet in place of a row or a result.
pub fn is_error(packet: &[u8]) -> bool {
    packet.first() == Some(&0xff)
}

pub fn parse_ok(packet: &[u8], caps: CapabilityFlags) -> Option<OkSummary> {
    let ok: OkPacket<'_> = ParseBuf(packet)
        .parse::<OkPacketDeserializer<'_, CommonOkPacket>>(caps)
        .ok()?
        .into();
    Some(summary(&ok))
}

/// The terminator of a result set (status, warnings).
pub fn parse_terminator(packet: &[u8], caps: CapabilityFlags) -> Option<OkSummary> {
    let ok: OkPacket<'_> = ParseBuf(packet)
        .parse::<OkPacketDeserializer<'_, ResultSetTerminator>>(caps)
        .ok()?
        .into();
    Some(summary(&ok))
}

fn summary(ok: &OkPacket<'_>) -> OkSummary {
    let status = ok.status_flags();
    let (gtid, characteristics) = if status.contains(StatusFlags::SERVER_SESSION_STATE_CHANGED) {
        tracked(ok)
    } else {
        (None, None)
    };
    OkSummary {
        affected_rows: ok.affected_rows(),
        last_insert_id: ok.last_insert_id().unwrap_or(0),
        status,
        warnings: ok.warnings(),
        info: ok.info_str().map(|s| s.into_owned()).unwrap_or_default(),
        gtid,
        characteristics,
    }
}

/// The `last_gtid` system variable and the transaction characteristics
/// among the OK packet's session state changes.
fn tracked(ok: &OkPacket<'_>) -> (Option<String>, Option<String>) {
    use mysql_common::packets::session_state_change::SessionStateChange;
    let (mut gtid, mut characteristics) = (None, None);
    let Ok(infos) = ok.session_state_info() else {
        return (None, None);
    };
    for info in &infos {
        match info.decode() {
            Ok(SessionStateChange::SystemVariables(vars)) => {
                if let Some(v) = vars.iter().find(|v| v.name_bytes() == b"last_gtid") {
                    gtid = Some(v.value_str().into_owned()).filter(|v| !v.is_empty());
                }
            }
            Ok(SessionStateChange::TransactionCharacteristics(c)) => {
                characteristics = Some(c.as_str().into_owned());
            }
            _ => {}
        }
    }
    (gtid, characteristics)
}

/// The number of columns a result-set header announces.
fn column_count(packet: &[u8]) -> Option<usize> {
    let mut reader = crate::protocol::wire::Reader::new(packet);
    reader
        .lenenc_int()
        .ok()
        .and_then(|n| usize::try_from(n).ok())
}

/// Where a column definition's MariaDB extended metadata (type name and
/// format, e.g. `json`, `point`) lies: after its six names, as one
/// length-encoded string. Present only on connections that negotiated
/// MARIADB_CLIENT_EXTENDED_METADATA. `None`: malformed.
fn extended_metadata_range(definition: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut reader = crate::protocol::wire::Reader::new(definition);
    for _ in 0..6 {
        reader.lenenc_bytes().ok()?;
    }
    let start = definition.len() - reader.remaining();
    reader.lenenc_bytes().ok()?;
    Some(start..definition.len() - reader.remaining())
}

/// The extended metadata field of `definition` (from a connection with
/// extended metadata), length prefix included; `None`: malformed.
pub fn extended_metadata(definition: &[u8]) -> Option<&[u8]> {
    extended_metadata_range(definition).map(|range| &definition[range])
}

/// `definition` (from a connection with extended metadata) as a client
/// without it reads it, into `out`; false if malformed.
pub fn without_extended_metadata(definition: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(range) = extended_metadata_range(definition) else {
        return false;
    };
    out.clear();
    out.extend_from_slice(&definition[..range.start]);
    out.extend_from_slice(&definition[range.end..]);
    true
}

/// `definition` (from a connection without extended metadata) as a client
/// with it reads it: with none, into `out`; false if malformed.
pub fn with_empty_extended_metadata(definition: &[u8], out: &mut Vec<u8>) -> bool {
    let mut reader = crate::protocol::wire::Reader::new(definition);
    for _ in 0..6 {
        if reader.lenenc_bytes().is_err() {
            return false;
        }
    }
    let at = definition.len() - reader.remaining();
    out.clear();
    out.extend_from_slice(&definition[..at]);
    out.push(0);
    out.extend_from_slice(&definition[at..]);
    true
}

/// Whether `definition` (without extended metadata) is a column definition
/// mysql_common's `Column` would read, checked as it reads one but without
/// building one, which copies five names: the relay checks every column
/// definition it passes on.
pub fn is_column_definition(definition: &[u8]) -> bool {
    use mysql_common::constants::{ColumnFlags, ColumnType};
    let Some(mut rest) = definition.strip_prefix(b"\x03def") else {
        return false;
    };
    // schema, table, org_table, name, org_name
    for _ in 0..5 {
        match skip_lenenc_bytes(rest) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    // The fixed part: its length (0x0c), character set, column length,
    // type, flags, decimals and two filler bytes.
    let Some(fixed) = rest.get(..13) else {
        return false;
    };
    fixed[0] == 0x0c
        && ColumnType::try_from(fixed[7]).is_ok()
        && ColumnFlags::from_bits(u16::from_le_bytes([fixed[8], fixed[9]])).is_some()
}

/// What follows the length-encoded string at the head of `buf`, read as
/// mysql_common reads one: a length byte of 0xfb or 0xff is an empty string.
fn skip_lenenc_bytes(buf: &[u8]) -> Option<&[u8]> {
    let (&first, rest) = buf.split_first()?;
    let width = match first {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => 0,
    };
    let (prefix, rest) = rest.split_at_checked(width)?;
    let len = match first {
        0xfb | 0xff => 0,
        0..=0xfa => u64::from(first),
        _ => prefix
            .iter()
            .rev()
            .fold(0u64, |n, &byte| (n << 8) | u64::from(byte)),
    };
    rest.get(usize::try_from(len).ok()?..)
}

/// A backend's ERR packet as the client's error: code, SQLSTATE, message kept.
pub fn server_error(packet: &[u8], caps: CapabilityFlags, data_source: &str) -> Error {
    match ParseBuf(packet).parse::<ErrPacket<'_>>(caps) {
        Ok(ErrPacket::Error(e)) => {
            let state = e
                .sql_state_ref()
                .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
                .unwrap_or_else(|| "HY000".into());
            Error::backend(e.error_code(), &state, e.message_str().into_owned())
        }
        _ => malformed(data_source),
    }
}

pub fn malformed(data_source: &str) -> Error {
    Error::data_source_unreachable(data_source, "the backend sent a malformed packet")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: CapabilityFlags = CapabilityFlags::CLIENT_PROTOCOL_41;

    #[test]
    fn reads_ok_err_and_result_headers() {
        let ok = [0x00, 0x01, 0x05, 0x02, 0x00, 0x01, 0x00];
        match frame(&ok, CAPS, "ds") {
            Frame::Ok(ok) => {
                assert_eq!(
                    (ok.affected_rows, ok.last_insert_id, ok.warnings),
                    (1, 5, 1)
                );
                assert!(ok.status.contains(StatusFlags::SERVER_STATUS_AUTOCOMMIT));
            }
            other => panic!("{other:?}"),
        }
        let mut err = vec![0xff, 0x7a, 0x04, b'#'];
        err.extend_from_slice(b"42S02Table 'x' doesn't exist");
        match frame(&err, CAPS, "ds") {
            Frame::Err(e) => assert_eq!(
                (e.code, e.message.as_str()),
                (1146, "Table 'x' doesn't exist")
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(frame(&[3], CAPS, "ds"), Frame::Columns(3)));
    }

    #[test]
    fn extended_metadata_is_cut_out_and_put_in() {
        // `d` JSON as MariaDB describes it with extended metadata:
        // format=json (type 1, "json") between the names and the fixed part.
        let names: &[u8] = b"\x03def\x02db\x01j\x01j\x01d\x01d";
        let extended: &[u8] = b"\x06\x01\x04json";
        let fixed: &[u8] = &[
            0x0c, 0x2d, 0, 0xfc, 0xff, 0xff, 0xff, 0xfc, 0x90, 0, 0, 0, 0,
        ];
        let with = [names, extended, fixed].concat();
        let plain = [names, fixed].concat();
        let mut out = Vec::new();
        assert!(without_extended_metadata(&with, &mut out));
        assert_eq!(out, plain);
        assert!(ParseBuf(&out)
            .parse::<mysql_common::packets::Column>(())
            .is_ok());
        assert!(with_empty_extended_metadata(&plain, &mut out));
        assert_eq!(out, [names, &[0][..], fixed].concat());
        assert!(!without_extended_metadata(b"\x03def\x02d", &mut out));
        assert!(!with_empty_extended_metadata(b"\xfc", &mut out));
    }

    /// Every length prefix form in every name position, and cut at every
    /// length: the relay's check reads them as mysql_common does.
    #[test]
    fn column_check_reads_length_prefixes_as_mysql_common() {
        let names: &[u8] = b"\x03def\x02db\x01j\x01j\x01d\x01d";
        let fixed: &[u8] = &[
            0x0c, 0x2d, 0, 0xfc, 0xff, 0xff, 0xff, 0xfc, 0x90, 0, 0, 0, 0,
        ];
        let good = [names, fixed].concat();
        let long_name = [&b"\x03def\xfc\x03\x00abc\x01j\x01j\x01d\x01d"[..], fixed].concat();
        for at in [4, 7, 9, 11, 13] {
            for prefix in [0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x05] {
                let mut bytes = good.clone();
                bytes[at] = prefix;
                for end in 0..=bytes.len() {
                    let bytes = &bytes[..end];
                    let read = ParseBuf(bytes)
                        .parse::<mysql_common::packets::Column>(())
                        .is_ok();
                    assert_eq!(is_column_definition(bytes), read, "{bytes:?}");
                }
            }
        }
        assert!(is_column_definition(&good));
        assert!(is_column_definition(&long_name));
    }

    proptest::proptest! {
        /// The relay's check agrees with mysql_common's `Column` on any
        /// bytes: column definitions cut short, with bytes changed, or random.
        #[test]
        fn column_check_agrees_with_mysql_common(
            cut in 0usize..40,
            flip in 0usize..40,
            byte in proptest::prelude::any::<u8>(),
            random in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let names: &[u8] = b"\x03def\x02db\x01j\x01j\x01d\x01d";
            let fixed: &[u8] = &[0x0c, 0x2d, 0, 0xfc, 0xff, 0xff, 0xff, 0xfc, 0x90, 0, 0, 0, 0];
            let good = [names, fixed].concat();
            let mut changed = good.clone();
            let at = flip % changed.len();
            changed[at] = byte;
            let short = &good[..good.len().saturating_sub(cut)];
            let prefixed = [&b"\x03def"[..], &random[..]].concat();
            for bytes in [&good[..], short, &changed[..], &random[..], &prefixed[..]] {
                let read = ParseBuf(bytes).parse::<mysql_common::packets::Column>(()).is_ok();
                proptest::prop_assert_eq!(is_column_definition(bytes), read, "{:?}", bytes);
            }
        }
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        for bad in [
            &[][..],
            &[0x00][..],
            &[0xff, 1][..],
            &[0xfc, 1][..],
            &[0x00, 0xfe],
        ] {
            match frame(bad, CAPS, "ds") {
                Frame::Err(e) => assert!(e.code == 1105 || e.code > 0),
                Frame::Columns(_) | Frame::Ok(_) | Frame::LocalInfile => {}
            }
        }
        assert!(parse_terminator(&[0xfe], CAPS).is_none());
    }
}
