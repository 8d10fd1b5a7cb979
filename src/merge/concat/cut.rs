//! GROUP_CONCAT cut at `group_concat_max_len`, as MariaDB cuts it: values
//! are appended (separator first) in order, and the first one that takes
//! the result past the limit is cut to the whole characters that fit (bytes
//! for a binary result); no value follows. MariaDB then warns 1260 "Row N
//! was cut by GROUP_CONCAT()", N counting the values it appended so far in
//! the statement, across groups in the order it evaluates them, so the
//! merge cuts only where that order is its own ([`super::super::group`]:
//! one group, or groups streamed in GROUP BY order, no HAVING, LIMIT or
//! OFFSET), with ORDER BY inside (the values' order is then the
//! statement's, not the nodes').

use super::Entry;

/// Appends `entries`' values (each `count` times) with `separator`, cut at
/// `max_len`: the text, how many values were appended (the cut one
/// included) and whether one was cut.
pub(super) fn joined(
    entries: &[Entry],
    separator: &[u8],
    max_len: usize,
    binary: bool,
) -> (Vec<u8>, u64, bool) {
    let mut out = Vec::new();
    let mut appended = 0u64;
    for entry in entries {
        for _ in 0..entry.count {
            appended += 1;
            let before = out.len();
            if appended > 1 {
                out.extend_from_slice(separator);
            }
            out.extend_from_slice(&entry.text);
            if out.len() > max_len {
                let fits = whole_prefix(&out[before..max_len.max(before)], binary);
                out.truncate(before + fits);
                return (out, appended, true);
            }
        }
    }
    (out, appended, false)
}

/// How many bytes of `bytes` make whole characters (all of them, binary).
fn whole_prefix(bytes: &[u8], binary: bool) -> usize {
    if binary {
        return bytes.len();
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    }
}

/// Keeps of `entries` (sorted) those up to the one the cut falls in: the
/// rest cannot appear, whatever comes later (a later entry only moves them
/// further). The bytes the kept ones take.
pub(super) fn prune(entries: &mut Vec<Entry>, separator: &[u8], max_len: usize) -> u64 {
    let mut length = 0u64;
    let mut first = true;
    let mut keep = entries.len();
    for (i, entry) in entries.iter().enumerate() {
        for _ in 0..entry.count {
            if !first {
                length += separator.len() as u64;
            }
            first = false;
            length += entry.text.len() as u64;
        }
        if length > max_len as u64 {
            keep = i + 1;
            break;
        }
    }
    entries.truncate(keep);
    length
}

/// MariaDB's ER_CUT_VALUE_GROUP_CONCAT.
pub const CUT_BY_GROUP_CONCAT: u64 = 1260;

/// MariaDB's warning for cut value number `row`.
pub fn cut_warning(row: u64) -> String {
    format!("Row {row} was cut by GROUP_CONCAT()")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str, count: u64) -> Entry {
        Entry {
            keys: Vec::new(),
            text: text.as_bytes().to_vec(),
            count,
        }
    }

    #[test]
    fn the_value_past_the_limit_is_cut_to_whole_characters() {
        let entries = [entry("é", 1), entry("日本語日本語", 1), entry("x", 1)];
        let (text, appended, cut) = joined(&entries, b",", 20, false);
        assert_eq!(String::from_utf8(text).unwrap(), "é,日本語日本");
        assert_eq!((appended, cut), (2, true));
        let entries = [entry("aaaa", 4), entry("eeee", 1)];
        let (text, appended, cut) = joined(&entries, b",", 20, false);
        assert_eq!(text, b"aaaa,aaaa,aaaa,aaaa,");
        assert_eq!((appended, cut), (5, true));
        let (text, appended, cut) = joined(&entries[..1], b",", 19, false);
        assert_eq!((text.len(), appended, cut), (19, 4, false));
        let (text, appended, cut) = joined(&[entry("日本", 1)], b",", 4, true);
        assert_eq!((text.len(), appended, cut), (4, 1, true));
    }

    #[test]
    fn entries_past_the_cut_are_dropped() {
        let mut entries = vec![entry("aaaa", 2), entry("bbbb", 3), entry("cccc", 1)];
        let length = prune(&mut entries, b",", 12);
        assert_eq!((entries.len(), length), (2, 24));
        let mut short = vec![entry("a", 1), entry("b", 1)];
        assert_eq!(prune(&mut short, b",", 12), 3);
        assert_eq!(short.len(), 2);
    }
}
