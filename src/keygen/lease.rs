//! The worker id of `server.worker_id = "auto"`: leased from a table by the
//! key service, valid until the lease's deadline on the injected clock.
//! Past it the snowflake generator refuses rather than risk a duplicate.

use super::{lock, KeygenError};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

/// No worker id held.
const NONE: u32 = u32::MAX;

/// A leased worker id, shared by the snowflake generator (reads) and the
/// key service (grants, renews, revokes).
#[derive(Debug)]
pub struct WorkerLease {
    /// The data source holding the lease table, for messages.
    data_source: String,
    /// The worker id held, or [`NONE`].
    worker_id: AtomicU32,
    /// Until when (ms since the Unix epoch, on the generator's clock) the id may be used.
    valid_until_ms: AtomicU64,
    /// Why the last acquire or renew failed, for errors and SHOW KEY GENERATORS.
    last_error: Mutex<Option<String>>,
}

/// What SHOW KEY GENERATORS shows of a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseStatus {
    /// The worker id held (possibly expired).
    pub worker_id: Option<u16>,
    /// The deadline, ms since the Unix epoch.
    pub valid_until_ms: u64,
    /// The last failure to acquire or renew.
    pub last_error: Option<String>,
}

impl WorkerLease {
    /// A lease not yet acquired, kept in a table on `data_source`.
    pub fn new(data_source: &str) -> WorkerLease {
        WorkerLease {
            data_source: data_source.to_string(),
            worker_id: AtomicU32::new(NONE),
            valid_until_ms: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// The data source holding the lease table.
    pub fn data_source(&self) -> &str {
        &self.data_source
    }

    /// Records a granted or renewed lease of `worker_id` until `valid_until_ms`.
    pub fn grant(&self, worker_id: u16, valid_until_ms: u64) {
        let held = self.worker_id.load(Ordering::Acquire);
        if held != u32::from(worker_id) {
            // Invalidate first so no reader pairs the new id with the old deadline.
            self.valid_until_ms.store(0, Ordering::Release);
            self.worker_id
                .store(u32::from(worker_id), Ordering::Release);
        }
        self.valid_until_ms.store(valid_until_ms, Ordering::Release);
        *lock(&self.last_error) = None;
    }

    /// Stops using the worker id (lost, or released on shutdown).
    pub fn revoke(&self) {
        self.valid_until_ms.store(0, Ordering::Release);
    }

    /// Records why acquiring or renewing failed; the lease runs on until its deadline.
    pub fn failed(&self, cause: String) {
        *lock(&self.last_error) = Some(cause);
    }

    /// The worker id, if the lease is valid at `now_ms`.
    pub fn worker_id_at(&self, now_ms: u64) -> Result<u16, KeygenError> {
        let until = self.valid_until_ms.load(Ordering::Acquire);
        let id = self.worker_id.load(Ordering::Acquire);
        match u16::try_from(id) {
            Ok(id) if now_ms < until => Ok(id),
            _ => Err(KeygenError::NoWorkerId {
                data_source: self.data_source.clone(),
                cause: lock(&self.last_error).clone().unwrap_or_else(|| match id {
                    NONE => "not leased yet".to_string(),
                    _ => "the lease expired before it could be renewed".to_string(),
                }),
            }),
        }
    }

    /// The worker id held, valid or not.
    pub fn held(&self) -> Option<u16> {
        u16::try_from(self.worker_id.load(Ordering::Acquire)).ok()
    }

    /// The lease as SHOW KEY GENERATORS shows it.
    pub fn status(&self) -> LeaseStatus {
        LeaseStatus {
            worker_id: self.held(),
            valid_until_ms: self.valid_until_ms.load(Ordering::Acquire),
            last_error: lock(&self.last_error).clone(),
        }
    }
}
