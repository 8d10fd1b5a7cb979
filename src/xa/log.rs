//! The XA decision log in `data_dir/xa/`: the commit point of every
//! two-phase commit. Presumed abort: only COMMIT decisions are written
//! (durably, before any branch commits) and DONE marks (lazily, once every
//! branch committed); a transaction with no COMMIT record was aborted.
//!
//! One writer thread takes what is queued, writes it with one `write` and
//! one `fdatasync` (group commit), then wakes the waiting commits; a
//! commit's DONE mark waits for the next batch, so it costs no wake-up.
//! While other transactions are still preparing ([`Coming`]), the writer
//! waits for their COMMITs a little before it syncs, at most as long as
//! its last sync took: at 8 concurrent transfers that leaves a third of the
//! syncs. When the segment grows past [`COMPACT_AT`], the open decisions go
//! into a new segment and the old one is deleted (files: [`super::segment`]).
//! A write or sync that fails stops the process: the record may be on disk
//! or not, and only recovery after a restart can tell.

use super::segment::{self, encode, Segment, COMMIT, DONE};
pub use super::segment::{read_open, sync_dir, Decision};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// A segment this large is compacted at the next write.
pub const COMPACT_AT: u64 = 4 << 20;

/// The longest the writer waits for the COMMITs of transactions still
/// preparing before it syncs the ones it has.
pub const GROUP_WAIT_MAX: Duration = Duration::from_micros(500);

/// Decisions not yet done, by gtrid; shared by the writer and recovery.
pub type Open = Arc<Mutex<BTreeMap<String, Decision>>>;

enum Request {
    Commit(Decision, oneshot::Sender<()>, Option<Coming>),
    Done(String),
}

/// A transaction that will ask for a COMMIT record soon (it is preparing):
/// counted until the writer has its request, or it gives up.
pub struct Coming(Arc<AtomicUsize>);

impl Drop for Coming {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
    coming: Arc<AtomicUsize>,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl DecisionLog {
    /// Opens (or creates) the log in `dir`, which the caller holds the lock
    /// of: reads every segment, cuts off a torn tail, and starts the writer.
    pub fn open(dir: &Path) -> io::Result<DecisionLog> {
        DecisionLog::open_compacting_at(dir, COMPACT_AT)
    }

    /// [`DecisionLog::open`] with segments compacted past `compact_at` bytes.
    pub fn open_compacting_at(dir: &Path, compact_at: u64) -> io::Result<DecisionLog> {
        std::fs::create_dir_all(dir)?;
        let mut open = BTreeMap::new();
        let segment = match segment::read_all(dir, &mut open)? {
            Some(segment) => segment,
            None => Segment::create(dir, 1, &[])?,
        };
        let open: Open = Arc::new(Mutex::new(open));
        let lazy: Lazy = Arc::default();
        let coming = Arc::new(AtomicUsize::new(0));
        let (queue, requests) = mpsc::channel();
        let log = Log {
            segment,
            open: open.clone(),
            lazy: lazy.clone(),
            dir: dir.to_path_buf(),
            compact_at,
            coming: coming.clone(),
        };
        std::thread::Builder::new()
            .name("xa-log".into())
            .spawn(move || writer(requests, log))?;
        Ok(DecisionLog {
            queue: Mutex::new(queue),
            open,
            lazy,
            dir: dir.to_path_buf(),
            coming,
        })
    }

    /// Announces a transaction that starts preparing: the writer may wait
    /// for its COMMIT to sync it with others.
    pub fn coming(&self) -> Coming {
        self.coming.fetch_add(1, Ordering::SeqCst);
        Coming(self.coming.clone())
    }

    /// Writes the COMMIT decision of the transaction announced by `coming`
    /// durably; returns once it is on disk.
    pub async fn commit(&self, coming: Coming, gtrid: &str, data_sources: &[String]) {
        let decision = Decision {
            gtrid: gtrid.to_string(),
            data_sources: data_sources.to_vec(),
            at_ms: now_ms(),
        };
        let (done, wait) = oneshot::channel();
        self.send(Request::Commit(decision, done, Some(coming)));
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
    /// Transactions preparing that have not sent their COMMIT yet.
    coming: Arc<AtomicUsize>,
}

fn writer(requests: mpsc::Receiver<Request>, mut log: Log) {
    let mut last_sync = Duration::ZERO;
    loop {
        let mut batch = Vec::new();
        match requests.recv_timeout(DONE_WAIT) {
            Ok(first) => batch.push(arrived(first)),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                write_batch(&mut log, Vec::new());
                return;
            }
        }
        batch.extend(requests.try_iter().map(arrived));
        let commits = |batch: &[Request]| batch.iter().any(|r| matches!(r, Request::Commit(..)));
        if commits(&batch) && log.coming.load(Ordering::SeqCst) > 0 {
            let deadline = Instant::now() + last_sync.min(GROUP_WAIT_MAX);
            while log.coming.load(Ordering::SeqCst) > 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match requests.recv_timeout(left) {
                    Ok(more) => {
                        batch.push(arrived(more));
                        batch.extend(requests.try_iter().map(arrived));
                    }
                    Err(_) => break,
                }
            }
        }
        let started = Instant::now();
        if write_batch(&mut log, batch) {
            last_sync = started.elapsed();
        }
    }
}

/// A request the writer now holds: its transaction no longer counts as coming.
fn arrived(mut request: Request) -> Request {
    if let Request::Commit(_, _, coming) = &mut request {
        coming.take();
    }
    request
}

/// Writes one batch and the lazy DONE marks with one `write`, syncs it
/// when it holds a COMMIT (then returns true), then wakes the commits
/// waiting for it.
fn write_batch(log: &mut Log, batch: Vec<Request>) -> bool {
    let lazy = std::mem::take(&mut *log.lazy.lock().unwrap_or_else(|e| e.into_inner()));
    if batch.is_empty() && lazy.is_empty() {
        return false;
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
            Request::Commit(decision, ..) => {
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
    if let Err(e) = segment.write(&bytes) {
        fatal(&format!("writing the XA decision log failed: {e}"));
    }
    if sync {
        crate::xa::crash_point("xa-log-before-sync");
        if let Err(e) = segment.sync() {
            fatal(&format!("fdatasync of the XA decision log failed: {e}"));
        }
    }
    let mut waiting = Vec::new();
    {
        let mut open = log.open.lock().unwrap_or_else(|e| e.into_inner());
        for request in batch {
            match request {
                Request::Commit(decision, done, _) => {
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
        match segment::compact(&log.dir, segment, &open) {
            Ok(next) => log.segment = next,
            Err(e) => fatal(&format!("compacting the XA decision log failed: {e}")),
        }
    }
    sync
}

#[cfg(test)]
mod tests {
    use super::segment::test_decision as decision;
    use super::segment::{decode_all, segment_name, segments, PREALLOCATE};
    use super::*;
    use std::os::unix::fs::FileExt;

    async fn commit(log: &DecisionLog, gtrid: &str, data_sources: &[String]) {
        log.commit(log.coming(), gtrid, data_sources).await
    }

    #[tokio::test]
    async fn a_lazy_done_closes_at_once_and_reaches_the_file_with_the_next_batch_or_soon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xa");
        let log = DecisionLog::open(&path).unwrap();
        commit(&log, "sg1:a:1:1", &["ds_0".into()]).await;
        commit(&log, "sg1:a:1:2", &["ds_0".into()]).await;
        log.done_lazily("sg1:a:1:1");
        assert!(!log.is_open("sg1:a:1:1"));
        assert!(log.is_open("sg1:a:1:2"));
        // The next commit's write carries the mark.
        commit(&log, "sg1:a:1:3", &["ds_0".into()]).await;
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
            commit(&log, "sg1:a:1:1", &["ds_0".into()]).await;
            commit(&log, "sg1:a:1:2", &["ds_1".into()]).await;
            log.done("sg1:a:1:1");
            // A commit after the done: the writer has handled the done by then.
            commit(&log, "sg1:a:1:3", &["ds_1".into()]).await;
            assert!(!log.is_open("sg1:a:1:1"));
        }
        // A torn record after the others, as a crash mid-write leaves it.
        let segment = path.join(segment_name(1));
        let data = std::fs::read(&segment).unwrap();
        assert_eq!(data.len() as u64, PREALLOCATE, "filled ahead with zeros");
        let records_end = decode_all(&data).1;
        let mut torn = encode(COMMIT, &decision("sg1:a:1:9"));
        torn.truncate(torn.len() - 3);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap();
        file.write_all_at(&torn, records_end as u64).unwrap();
        drop(file);
        let log = DecisionLog::open_compacting_at(&path, 4096).unwrap();
        let open: Vec<String> = log.open_decisions().into_keys().collect();
        assert_eq!(open, vec!["sg1:a:1:2", "sg1:a:1:3"]);
        // Enough records to pass COMPACT_AT: the old segment goes.
        let many: Vec<String> = (0..200).map(|i| format!("sg1:a:2:{i}")).collect();
        for g in &many {
            commit(&log, g, &["ds_0".into(), "ds_1".into()]).await;
            log.done(g);
        }
        commit(&log, "sg1:a:2:last", &["ds_0".into()]).await;
        let names: Vec<u64> = segments(&path).unwrap().into_iter().map(|s| s.0).collect();
        assert!(names.len() == 1 && names[0] > 1, "{names:?}");
        let reread = read_open(&path).unwrap();
        let mut keys: Vec<&String> = reread.keys().collect();
        keys.sort();
        assert_eq!(keys, vec!["sg1:a:1:2", "sg1:a:1:3", "sg1:a:2:last"]);
    }

    #[tokio::test]
    async fn records_overwrite_zeros_so_the_file_keeps_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xa");
        let log = DecisionLog::open(&path).unwrap();
        let size = || std::fs::metadata(path.join(segment_name(1))).unwrap().len();
        assert_eq!(size(), PREALLOCATE);
        for i in 0..100 {
            commit(&log, &format!("sg1:a:1:{i}"), &["ds_0".into()]).await;
        }
        assert_eq!(size(), PREALLOCATE);
        assert_eq!(read_open(&path).unwrap().len(), 100);
    }

    #[tokio::test]
    async fn a_commit_waits_for_a_preparing_transaction_only_briefly() {
        let dir = tempfile::tempdir().unwrap();
        let log = DecisionLog::open(&dir.path().join("xa")).unwrap();
        // A first sync, so that the writer knows how long one takes.
        commit(&log, "sg1:a:1:1", &["ds_0".into()]).await;
        let preparing = log.coming();
        let started = Instant::now();
        commit(&log, "sg1:a:1:2", &["ds_0".into()]).await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        drop(preparing);
        commit(&log, "sg1:a:1:3", &["ds_0".into()]).await;
        assert_eq!(log.open_decisions().len(), 3);
    }
}
