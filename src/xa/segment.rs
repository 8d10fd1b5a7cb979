//! The decision log's files. A segment, `decisions-NNNNNN.log`, is a run
//! of records, then zeros to the end of the file:
//!
//! `[u32 len][u32 crc32][u8 kind][u64 ms][u16 n][gtrid][u16 n]{[u16 n][ds]}`
//!
//! (little endian; `len` and the crc cover everything after the crc). The
//! file is filled with zeros ahead of the records, [`PREALLOCATE`] bytes at
//! a time, so that a record overwrites blocks the file already has: its
//! `fdatasync` then writes only the data, not the file's size and extents
//! as an appended record makes it do on every commit. Zeros read as the
//! end (no record has length 0); a record cut short by a crash was never
//! acknowledged, so everything from the first bad record on is zeroed when
//! the log is opened.

use crate::hash::HashMap;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// How far ahead of its records a segment is filled with zeros.
pub const PREALLOCATE: u64 = 1 << 20;

pub(super) const COMMIT: u8 = b'C';
pub(super) const DONE: u8 = b'D';

/// A COMMIT decision whose branches are not all known to be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub gtrid: String,
    /// The data sources of its writing branches.
    pub data_sources: Vec<String>,
    /// When it was decided (ms since the epoch).
    pub at_ms: u64,
}

pub(super) fn encode(kind: u8, decision: &Decision) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    body.push(kind);
    body.extend_from_slice(&decision.at_ms.to_le_bytes());
    let mut put = |s: &str| {
        let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
        body.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        body.extend_from_slice(bytes);
    };
    put(&decision.gtrid);
    let n = decision.data_sources.len().min(u16::MAX as usize) as u16;
    let mut record = Vec::with_capacity(body.len() + 16);
    body.extend_from_slice(&n.to_le_bytes());
    for ds in decision.data_sources.iter().take(n as usize) {
        let bytes = ds.as_bytes();
        body.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        body.extend_from_slice(bytes);
    }
    record.extend_from_slice(&(body.len() as u32).to_le_bytes());
    record.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    record.extend_from_slice(&body);
    record
}

/// Reads records from the start of `data`: the valid ones, and where the
/// valid prefix ends.
pub(super) fn decode_all(data: &[u8]) -> (Vec<(u8, Decision)>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some((record, next)) = decode_one(data, at) {
        records.push(record);
        at = next;
    }
    (records, at)
}

fn decode_one(data: &[u8], at: usize) -> Option<((u8, Decision), usize)> {
    let header = data.get(at..at.checked_add(8)?)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
    let body = data.get(at + 8..(at + 8).checked_add(len)?)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let mut r = Cursor { data: body, at: 0 };
    let kind = r.take(1)?[0];
    let at_ms = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
    let gtrid = r.string()?;
    let n = r.u16()?;
    let mut data_sources = Vec::with_capacity(n as usize);
    for _ in 0..n {
        data_sources.push(r.string()?);
    }
    if r.at != body.len() || (kind != COMMIT && kind != DONE) {
        return None;
    }
    let decision = Decision {
        gtrid,
        data_sources,
        at_ms,
    };
    Some(((kind, decision), at + 8 + len))
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let out = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

pub(super) fn segment_name(n: u64) -> String {
    format!("decisions-{n:06}.log")
}

/// Segments in `dir`, by number.
pub(super) fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("decisions-")
            .and_then(|r| r.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push((n, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Applies records in order: COMMIT opens a decision, DONE closes it.
pub(super) fn replay(open: &mut BTreeMap<String, Decision>, records: Vec<(u8, Decision)>) {
    for (kind, decision) in records {
        match kind {
            COMMIT => {
                open.insert(decision.gtrid.clone(), decision);
            }
            _ => {
                open.remove(&decision.gtrid);
            }
        }
    }
}

/// The segment the writer writes to.
pub(super) struct Segment {
    file: File,
    pub number: u64,
    /// Bytes of records.
    pub len: u64,
    /// Bytes in the file (records, then zeros).
    allocated: u64,
}

impl Segment {
    /// A new segment holding `records`, synced (file and directory).
    pub fn create(dir: &Path, number: u64, records: &[u8]) -> io::Result<Segment> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(dir.join(segment_name(number)))?;
        let mut segment = Segment {
            file,
            number,
            len: 0,
            allocated: 0,
        };
        segment.write(records)?;
        segment.file.sync_all()?;
        sync_dir(dir)?;
        Ok(segment)
    }

    /// Writes `bytes` after the records (not synced), first filling the
    /// file with zeros further ahead if they would not fit.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.len + bytes.len() as u64;
        if end > self.allocated || self.allocated == 0 {
            let target = end.div_ceil(PREALLOCATE).max(1) * PREALLOCATE;
            let zeros = vec![0u8; (target - self.allocated) as usize];
            self.file.write_all_at(&zeros, self.allocated)?;
            self.allocated = target;
        }
        self.file.write_all_at(bytes, self.len)?;
        self.len = end;
        Ok(())
    }

    /// `fdatasync`: the records written are on disk.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Replays the segment at `path` into `open`; returns its bytes and where
/// its valid records end.
fn replay_file(path: &Path, open: &mut BTreeMap<String, Decision>) -> io::Result<(Vec<u8>, usize)> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let (records, valid) = decode_all(&data);
    replay(open, records);
    Ok((data, valid))
}

/// Reads every segment of `dir` into `open` and returns the last one,
/// ready for writing: a torn record at its end zeroed, older segments (a
/// compaction's leftovers) deleted. A bad record in an older segment is an
/// error: only the last one is ever written to.
pub(super) fn read_all(
    dir: &Path,
    open: &mut BTreeMap<String, Decision>,
) -> io::Result<Option<Segment>> {
    let found = segments(dir)?;
    let Some(((last_number, last_path), older)) = found.split_last() else {
        return Ok(None);
    };
    for (_, path) in older {
        let (data, valid) = replay_file(path, open)?;
        if data[valid..].iter().any(|&b| b != 0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "XA decision log {} is damaged at byte {valid}",
                    path.display()
                ),
            ));
        }
    }
    let (data, valid) = replay_file(last_path, open)?;
    let file = OpenOptions::new().write(true).open(last_path)?;
    if data[valid..].iter().any(|&b| b != 0) {
        tracing::warn!(
            "XA decision log {}: an unfinished record at byte {valid} cut off",
            last_path.display()
        );
        file.write_all_at(&vec![0u8; data.len() - valid], valid as u64)?;
        file.sync_all()?;
    }
    for (_, path) in older {
        let _ = fs::remove_file(path);
    }
    Ok(Some(Segment {
        file,
        number: *last_number,
        len: valid as u64,
        allocated: data.len() as u64,
    }))
}

/// A new segment holding only the open decisions, synced (file and
/// directory) before the old one is deleted.
pub(super) fn compact(
    dir: &Path,
    old: &Segment,
    open: &BTreeMap<String, Decision>,
) -> io::Result<Segment> {
    let mut bytes = Vec::new();
    for decision in open.values() {
        bytes.extend(encode(COMMIT, decision));
    }
    let next = Segment::create(dir, old.number + 1, &bytes)?;
    fs::remove_file(dir.join(segment_name(old.number)))?;
    sync_dir(dir)?;
    Ok(next)
}

/// Reads the open decisions of a log directory without opening it for
/// writing (for tests and tools).
pub fn read_open(dir: &Path) -> io::Result<HashMap<String, Decision>> {
    let mut open = BTreeMap::new();
    for (_, path) in segments(dir)? {
        replay_file(&path, &mut open)?;
    }
    Ok(open.into_iter().collect())
}

/// A decision of two data sources, for the tests.
#[cfg(test)]
pub(super) fn test_decision(g: &str) -> Decision {
    Decision {
        gtrid: g.into(),
        data_sources: vec!["ds_0".into(), "ds_1".into()],
        at_ms: 7,
    }
}

#[cfg(test)]
mod tests {
    use super::test_decision as decision;
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_not_read() {
        let mut data = encode(COMMIT, &decision("sg1:a:1:1"));
        data.extend(encode(DONE, &decision("sg1:a:1:1")));
        let whole = data.len();
        data.extend(encode(COMMIT, &decision("sg1:a:1:2")));
        for cut in whole..data.len() {
            let (records, valid) = decode_all(&data[..cut]);
            assert_eq!(records.len(), 2, "cut at {cut}");
            assert_eq!(valid, whole);
        }
        let (records, _) = decode_all(&data);
        assert_eq!(records[2], (COMMIT, decision("sg1:a:1:2")));
        // A flipped bit fails the checksum.
        let mut bad = data.clone();
        bad[whole + 12] ^= 1;
        assert_eq!(decode_all(&bad).0.len(), 2);
    }

    #[test]
    fn zeros_read_as_the_end() {
        let mut data = encode(COMMIT, &decision("sg1:a:1:1"));
        let whole = data.len();
        data.extend([0u8; 64]);
        let (records, valid) = decode_all(&data);
        assert_eq!((records.len(), valid), (1, whole));
    }
}
