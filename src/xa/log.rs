//! The XA decision log in `data_dir/xa/`: the commit point of every
//! two-phase commit. Presumed abort: only COMMIT decisions are written
//! (durably, before any branch commits) and DONE marks (lazily, once every
//! branch committed); a transaction with no COMMIT record was aborted.
//!
//! Record: `[u32 len][u32 crc32][u8 kind][u64 ms][u16 n][gtrid][u16 n]{[u16 n][ds]}`
//! (little endian; `len` and the crc cover everything after the crc). One
//! writer thread takes what is queued, writes it with one `write` and one
//! `fdatasync` (group commit), then wakes the waiting commits; a commit's
//! DONE mark waits for the next batch, so it costs no wake-up. A record
//! cut short by a crash was never acknowledged: the tail from the first bad
//! record on is cut off when the log is opened. When the segment grows past
//! [`COMPACT_AT`], the open decisions go into a new segment and the old one
//! is deleted. A write or sync that fails stops the process: the record may
//! be on disk or not, and only recovery after a restart can tell.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// A segment this large is compacted at the next write.
pub const COMPACT_AT: u64 = 4 << 20;

const COMMIT: u8 = b'C';
const DONE: u8 = b'D';

/// A COMMIT decision whose branches are not all known to be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub gtrid: String,
    /// The data sources of its writing branches.
    pub data_sources: Vec<String>,
    /// When it was decided (ms since the epoch).
    pub at_ms: u64,
}

/// Decisions not yet done, by gtrid; shared by the writer and recovery.
pub type Open = Arc<Mutex<BTreeMap<String, Decision>>>;

enum Request {
    Commit(Decision, oneshot::Sender<()>),
    Done(String),
}

/// DONE marks of committed transactions not written yet: the writer takes
/// them with its next batch, or after [`DONE_WAIT`] at the latest.
type Lazy = Arc<Mutex<Vec<String>>>;

/// How long a lazy DONE mark may wait for a batch to go with.
pub const DONE_WAIT: Duration = Duration::from_secs(1);

/// The open log: a queue to its writer thread.
pub struct DecisionLog {
    queue: Mutex<mpsc::Sender<Request>>,
    open: Open,
    lazy: Lazy,
    dir: PathBuf,
}

fn encode(kind: u8, decision: &Decision) -> Vec<u8> {
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
fn decode_all(data: &[u8]) -> (Vec<(u8, Decision)>, usize) {
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

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn segment_name(n: u64) -> String {
    format!("decisions-{n:06}.log")
}

/// Segments in `dir`, by number.
fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
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
fn replay(open: &mut BTreeMap<String, Decision>, records: Vec<(u8, Decision)>) {
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

/// The writer's file.
struct Segment {
    file: File,
    number: u64,
    len: u64,
}

impl DecisionLog {
    /// Opens (or creates) the log in `dir`, which the caller holds the lock
    /// of: reads every segment, cuts off a torn tail, and starts the writer.
    pub fn open(dir: &Path) -> io::Result<DecisionLog> {
        DecisionLog::open_compacting_at(dir, COMPACT_AT)
    }

    /// [`DecisionLog::open`] with segments compacted past `compact_at` bytes.
    pub fn open_compacting_at(dir: &Path, compact_at: u64) -> io::Result<DecisionLog> {
        fs::create_dir_all(dir)?;
        let mut open = BTreeMap::new();
        let found = segments(dir)?;
        let mut last: Option<(u64, PathBuf, u64)> = None;
        for (i, (number, path)) in found.iter().enumerate() {
            let mut data = Vec::new();
            File::open(path)?.read_to_end(&mut data)?;
            let (records, valid) = decode_all(&data);
            replay(&mut open, records);
            if valid < data.len() {
                if i + 1 == found.len() {
                    tracing::warn!(
                        "XA decision log {}: {} bytes of an unfinished record cut off",
                        path.display(),
                        data.len() - valid
                    );
                    let file = OpenOptions::new().write(true).open(path)?;
                    file.set_len(valid as u64)?;
                    file.sync_all()?;
                } else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "XA decision log {} is damaged at byte {valid}",
                            path.display()
                        ),
                    ));
                }
            }
            last = Some((*number, path.clone(), valid as u64));
        }
        let segment = match last {
            Some((number, path, len)) => Segment {
                file: OpenOptions::new().append(true).open(path)?,
                number,
                len,
            },
            None => {
                let path = dir.join(segment_name(1));
                let file = OpenOptions::new().create(true).append(true).open(&path)?;
                file.sync_all()?;
                sync_dir(dir)?;
                Segment {
                    file,
                    number: 1,
                    len: 0,
                }
            }
        };
        // Older segments than the one written to are left by a compaction
        // that stopped before deleting them: everything is in the last one.
        for (number, path) in &found {
            if *number < segment.number {
                let _ = fs::remove_file(path);
            }
        }
        let open: Open = Arc::new(Mutex::new(open));
        let lazy: Lazy = Arc::default();
        let (queue, requests) = mpsc::channel();
        let log = Log {
            segment,
            open: open.clone(),
            lazy: lazy.clone(),
            dir: dir.to_path_buf(),
            compact_at,
        };
        std::thread::Builder::new()
            .name("xa-log".into())
            .spawn(move || writer(requests, log))?;
        Ok(DecisionLog {
            queue: Mutex::new(queue),
            open,
            lazy,
            dir: dir.to_path_buf(),
        })
    }

    /// Writes the COMMIT decision durably; returns once it is on disk.
    pub async fn commit(&self, gtrid: &str, data_sources: &[String]) {
        let decision = Decision {
            gtrid: gtrid.to_string(),
            data_sources: data_sources.to_vec(),
            at_ms: now_ms(),
        };
        let (done, wait) = oneshot::channel();
        self.send(Request::Commit(decision, done));
        if wait.await.is_err() {
            // The writer stops only by stopping the process.
            fatal("the XA decision log writer is gone");
        }
    }

    /// Marks `gtrid` done: every branch committed. Not waited for.
    pub fn done(&self, gtrid: &str) {
        self.send(Request::Done(gtrid.to_string()));
    }

    /// [`DecisionLog::done`] without waking the writer: the mark goes with
    /// its next batch (a commit's), within [`DONE_WAIT`]. The decision is
    /// closed in memory now. A crash before the mark is written leaves a
    /// decision whose branches are all committed: recovery finds none of
    /// them prepared and marks it done then.
    pub fn done_lazily(&self, gtrid: &str) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(gtrid);
        self.lazy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(gtrid.to_string());
    }

    fn send(&self, request: Request) {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.send(request).is_err() {
            fatal("the XA decision log writer is gone");
        }
    }

    /// The COMMIT decisions not yet done.
    pub fn open_decisions(&self) -> BTreeMap<String, Decision> {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_open(&self, gtrid: &str) -> bool {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(gtrid)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The log cannot be trusted to say what is on disk: stop.
fn fatal(what: &str) -> ! {
    tracing::error!("{what}; stopping (recovery at the next start decides)");
    eprintln!("shardgate: {what}; stopping");
    std::process::abort()
}

/// What the writer thread owns.
struct Log {
    segment: Segment,
    open: Open,
    lazy: Lazy,
    dir: PathBuf,
    compact_at: u64,
}

fn writer(requests: mpsc::Receiver<Request>, mut log: Log) {
    loop {
        let mut batch = Vec::new();
        match requests.recv_timeout(DONE_WAIT) {
            Ok(first) => batch.push(first),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                write_batch(&mut log, Vec::new());
                return;
            }
        }
        while let Ok(more) = requests.try_recv() {
            batch.push(more);
        }
        write_batch(&mut log, batch);
    }
}

/// Writes one batch and the lazy DONE marks with one `write`, syncs it
/// when it holds a COMMIT, then wakes the commits waiting for it.
fn write_batch(log: &mut Log, batch: Vec<Request>) {
    let lazy = std::mem::take(&mut *log.lazy.lock().unwrap_or_else(|e| e.into_inner()));
    if batch.is_empty() && lazy.is_empty() {
        return;
    }
    let mut bytes = Vec::new();
    let mut sync = false;
    let done_record = |gtrid: &str| {
        let decision = Decision {
            gtrid: gtrid.to_string(),
            data_sources: Vec::new(),
            at_ms: now_ms(),
        };
        encode(DONE, &decision)
    };
    for request in &batch {
        match request {
            Request::Commit(decision, _) => {
                bytes.extend(encode(COMMIT, decision));
                sync = true;
            }
            Request::Done(gtrid) => bytes.extend(done_record(gtrid)),
        }
    }
    // Each was committed (its COMMIT record synced) before it was marked.
    for gtrid in &lazy {
        bytes.extend(done_record(gtrid));
    }
    let segment = &mut log.segment;
    if let Err(e) = segment.file.write_all(&bytes) {
        fatal(&format!("writing the XA decision log failed: {e}"));
    }
    segment.len += bytes.len() as u64;
    if sync {
        crate::xa::crash_point("xa-log-before-sync");
        if let Err(e) = segment.file.sync_data() {
            fatal(&format!("fdatasync of the XA decision log failed: {e}"));
        }
    }
    let mut waiting = Vec::new();
    {
        let mut open = log.open.lock().unwrap_or_else(|e| e.into_inner());
        for request in batch {
            match request {
                Request::Commit(decision, done) => {
                    open.insert(decision.gtrid.clone(), decision);
                    waiting.push(done);
                }
                Request::Done(gtrid) => {
                    open.remove(&gtrid);
                }
            }
        }
    }
    for done in waiting {
        let _ = done.send(());
    }
    if segment.len >= log.compact_at {
        let open = log.open.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match compact(&log.dir, segment, &open) {
            Ok(next) => log.segment = next,
            Err(e) => fatal(&format!("compacting the XA decision log failed: {e}")),
        }
    }
}

/// A new segment holding only the open decisions, synced (file and
/// directory) before the old one is deleted.
fn compact(dir: &Path, old: &Segment, open: &BTreeMap<String, Decision>) -> io::Result<Segment> {
    let number = old.number + 1;
    let path = dir.join(segment_name(number));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)?;
    let mut bytes = Vec::new();
    for decision in open.values() {
        bytes.extend(encode(COMMIT, decision));
    }
    file.write_all(&bytes)?;
    file.sync_all()?;
    sync_dir(dir)?;
    fs::remove_file(dir.join(segment_name(old.number)))?;
    sync_dir(dir)?;
    let file = OpenOptions::new().append(true).open(&path)?;
    Ok(Segment {
        file,
        number,
        len: bytes.len() as u64,
    })
}

/// Reads the open decisions of a log directory without opening it for
/// writing (for tests and tools).
pub fn read_open(dir: &Path) -> io::Result<HashMap<String, Decision>> {
    let mut open = BTreeMap::new();
    for (_, path) in segments(dir)? {
        let mut data = Vec::new();
        File::open(&path)?.read_to_end(&mut data)?;
        replay(&mut open, decode_all(&data).0);
    }
    Ok(open.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(g: &str) -> Decision {
        Decision {
            gtrid: g.into(),
            data_sources: vec!["ds_0".into(), "ds_1".into()],
            at_ms: 7,
        }
    }

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

    #[tokio::test]
    async fn a_lazy_done_closes_at_once_and_reaches_the_file_with_the_next_batch_or_soon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xa");
        let log = DecisionLog::open(&path).unwrap();
        log.commit("sg1:a:1:1", &["ds_0".into()]).await;
        log.commit("sg1:a:1:2", &["ds_0".into()]).await;
        log.done_lazily("sg1:a:1:1");
        assert!(!log.is_open("sg1:a:1:1"));
        assert!(log.is_open("sg1:a:1:2"));
        // The next commit's write carries the mark.
        log.commit("sg1:a:1:3", &["ds_0".into()]).await;
        let on_disk = read_open(&path).unwrap();
        assert!(!on_disk.contains_key("sg1:a:1:1"), "{on_disk:?}");
        assert!(on_disk.contains_key("sg1:a:1:2"));
        // With no commit after it, it is written within DONE_WAIT.
        log.done_lazily("sg1:a:1:2");
        let deadline = std::time::Instant::now() + DONE_WAIT * 3;
        while read_open(&path).unwrap().contains_key("sg1:a:1:2") {
            assert!(
                std::time::Instant::now() < deadline,
                "the mark was never written"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(read_open(&path).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn decisions_survive_reopening_and_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xa");
        {
            let log = DecisionLog::open(&path).unwrap();
            log.commit("sg1:a:1:1", &["ds_0".into()]).await;
            log.commit("sg1:a:1:2", &["ds_1".into()]).await;
            log.done("sg1:a:1:1");
            // A commit after the done: the writer has handled the done by then.
            log.commit("sg1:a:1:3", &["ds_1".into()]).await;
            assert!(!log.is_open("sg1:a:1:1"));
        }
        // A torn record at the end, as a crash mid-write leaves it.
        let segment = path.join(segment_name(1));
        let mut torn = encode(COMMIT, &decision("sg1:a:1:9"));
        torn.truncate(torn.len() - 3);
        OpenOptions::new()
            .append(true)
            .open(&segment)
            .unwrap()
            .write_all(&torn)
            .unwrap();
        let log = DecisionLog::open_compacting_at(&path, 4096).unwrap();
        let open: Vec<String> = log.open_decisions().into_keys().collect();
        assert_eq!(open, vec!["sg1:a:1:2", "sg1:a:1:3"]);
        // Enough records to pass COMPACT_AT: the old segment goes.
        let many: Vec<String> = (0..200).map(|i| format!("sg1:a:2:{i}")).collect();
        for g in &many {
            log.commit(g, &["ds_0".into(), "ds_1".into()]).await;
            log.done(g);
        }
        log.commit("sg1:a:2:last", &["ds_0".into()]).await;
        let names: Vec<u64> = segments(&path).unwrap().into_iter().map(|s| s.0).collect();
        assert!(names.len() == 1 && names[0] > 1, "{names:?}");
        let reread = read_open(&path).unwrap();
        let mut keys: Vec<&String> = reread.keys().collect();
        keys.sort();
        assert_eq!(keys, vec!["sg1:a:1:2", "sg1:a:1:3", "sg1:a:2:last"]);
    }
}
