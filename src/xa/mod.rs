//! XA two-phase commit across data sources (sql.md, "Transactions").
//!
//! - [`xid`]: the transaction ids this instance writes and recognises.
//! - [`log`]: the durable, group-committed decision log in `data_dir/xa/`.
//! - [`commit`]: one transaction's branches prepared, decided, committed.
//! - [`recovery`]: prepared branches left by a crash finished as the log says.
//!
//! The [`Coordinator`] is shared by every session: it names the instance,
//! numbers transactions, holds the log and the transactions in flight.

pub mod commit;
pub mod log;
pub mod recovery;
pub mod segment;
pub mod xid;

use crate::admin::metrics::XaMetrics;
use crate::hash::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Where a transaction in flight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Preparing,
    Committing,
    Aborting,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Preparing => "PREPARING",
            Phase::Committing => "COMMITTING",
            Phase::Aborting => "ABORTING",
        }
    }
}

/// A transaction between its first PREPARE and its last COMMIT or ROLLBACK:
/// recovery leaves its branches alone.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub phase: Phase,
    pub data_sources: Vec<String>,
    pub since: Instant,
}

/// This instance's XA state.
pub struct Coordinator {
    proxy_id: String,
    epoch: u64,
    seq: AtomicU64,
    pub log: log::DecisionLog,
    /// Held for the process's life: two processes never share the log.
    _lock: File,
    in_flight: Mutex<HashMap<String, InFlight>>,
    /// Counted for the metrics.
    pub counts: XaMetrics,
    /// Prepared branches of ours the last recovery pass saw and could not
    /// finish, with when it first saw them: (gtrid, data source) -> since.
    pub in_doubt: Mutex<HashMap<(String, String), Instant>>,
    /// One recovery pass at a time.
    pub recovering: tokio::sync::Mutex<()>,
    /// Wakes the periodic recovery early (a commit left a branch to it).
    pub wake: tokio::sync::Notify,
}

impl Coordinator {
    /// Opens `data_dir/xa`: takes its lock, advances the epoch (so that
    /// sequence numbers may start at 1 again), opens the decision log.
    pub fn open(data_dir: &Path, proxy_id: &str, counts: XaMetrics) -> Result<Coordinator, String> {
        if !xid::valid_proxy_id(proxy_id) {
            return Err(format!(
                "the XA instance id {proxy_id:?} must be 1 to {} characters of A-Z, a-z, 0-9, _ and -",
                xid::MAX_PROXY_ID
            ));
        }
        let dir = data_dir.join("xa");
        let context = |what: &str, e: io::Error| format!("{what} {}: {e}", dir.display());
        fs::create_dir_all(&dir).map_err(|e| context("cannot create", e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(|e| context("cannot open the lock file in", e))?;
        if !try_lock(&lock).map_err(|e| context("cannot lock", e))? {
            return Err(format!(
                "another shardgate process uses the XA decision log in {} (server.data_dir)",
                dir.display()
            ));
        }
        let epoch = next_epoch(&dir).map_err(|e| context("cannot advance the epoch in", e))?;
        let log = log::DecisionLog::open(&dir).map_err(|e| context("cannot open the log in", e))?;
        Ok(Coordinator {
            proxy_id: proxy_id.to_string(),
            epoch,
            seq: AtomicU64::new(1),
            log,
            _lock: lock,
            in_flight: Mutex::new(HashMap::default()),
            counts,
            in_doubt: Mutex::new(HashMap::default()),
            recovering: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn proxy_id(&self) -> &str {
        &self.proxy_id
    }

    /// A new transaction's gtrid.
    pub fn next_gtrid(&self) -> String {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        xid::gtrid(&self.proxy_id, self.epoch, seq)
    }

    pub fn set_phase(&self, gtrid: &str, phase: Phase, data_sources: &[String]) {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(gtrid) {
            entry.phase = phase;
            return;
        }
        map.insert(
            gtrid.to_string(),
            InFlight {
                phase,
                data_sources: data_sources.to_vec(),
                since: Instant::now(),
            },
        );
    }

    pub fn finished(&self, gtrid: &str) {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(gtrid);
    }

    pub fn is_in_flight(&self, gtrid: &str) -> bool {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(gtrid)
    }

    pub fn in_flight(&self) -> Vec<(String, InFlight)> {
        let map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<_> = map.iter().map(|(g, f)| (g.clone(), f.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Seconds since recovery first saw the oldest branch it could not finish.
    pub fn oldest_in_doubt_secs(&self) -> u64 {
        self.in_doubt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|since| since.elapsed().as_secs())
            .max()
            .unwrap_or(0)
    }
}

/// The id this instance's gtrids carry: `server.instance_name`, else
/// `w<worker_id>`; a leased worker id changes, so it needs a name.
pub fn proxy_id(server: &crate::config::ServerConfig) -> Result<String, String> {
    match (&server.instance_name, server.worker_id) {
        (Some(name), _) => Ok(name.clone()),
        (None, crate::config::WorkerIdConfig::Fixed(id)) => Ok(format!("w{id}")),
        (None, crate::config::WorkerIdConfig::Auto) => {
            Err("server.instance_name is needed for XA when server.worker_id is \"auto\"".into())
        }
    }
}

/// flock(2) without waiting: false when another process holds it.
fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Reads, increments and durably writes `dir/epoch`.
fn next_epoch(dir: &Path) -> io::Result<u64> {
    let path = dir.join("epoch");
    let mut text = String::new();
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_string(&mut text)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let current: u64 = match text.trim() {
        "" => 0,
        t => t.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("epoch file holds {t:?}"),
            )
        })?,
    };
    let next = current + 1;
    let tmp = dir.join("epoch.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(format!("{next}\n").as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    log::sync_dir(dir)?;
    Ok(next)
}

/// A crash point for the crash tests: with the `failpoints` feature, the
/// action `return` configured for `name` (FAILPOINTS=name=return) kills
/// the process with SIGKILL right there; other actions (sleep, ...) work
/// as fail-rs defines them. Without the feature it is nothing.
pub fn crash_point(name: &str) {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |_| {
        eprintln!("crash point {name}: SIGKILL");
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    });
    let _ = name;
}

/// A pause for the crash tests: with the `failpoints` feature, the action
/// `return(MS)` configured for `name` waits MS milliseconds there (without
/// blocking the worker thread, as fail-rs's own `sleep` would).
pub async fn delay_point(name: &str) {
    #[cfg(feature = "failpoints")]
    if let Some(Some(ms)) = fail::eval(name, |arg| arg.and_then(|a| a.parse::<u64>().ok())) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let _ = name;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_locked_and_the_epoch_advances() {
        let dir = tempfile::tempdir().unwrap();
        let first = Coordinator::open(dir.path(), "w1", XaMetrics::default()).unwrap();
        let again = Coordinator::open(dir.path(), "w1", XaMetrics::default());
        assert!(
            again
                .as_ref()
                .err()
                .is_some_and(|e| e.contains("another shardgate")),
            "{:?}",
            again.err()
        );
        let g1 = first.next_gtrid();
        drop(first);
        let second = Coordinator::open(dir.path(), "w1", XaMetrics::default()).unwrap();
        let g2 = second.next_gtrid();
        assert_eq!(g1, "sg1:w1:1:1");
        assert_eq!(g2, "sg1:w1:2:1");
        assert!(Coordinator::open(dir.path(), "bad id", XaMetrics::default()).is_err());
    }
}
