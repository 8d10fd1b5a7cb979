//! Key generators (algorithms.md): an INSERT that omits a table's generated
//! column gets a snowflake id, a UUIDv7 or a segment id before it is routed.
//! The clock is injected ([`Clock`]) so tests control time. Nothing here
//! does I/O: the key service (`crate::key_service`) claims segments and
//! leases worker ids, and hands them over through [`SegmentBuffer`] and
//! [`WorkerLease`].

mod lease;
mod segment;
mod snowflake;
mod uuid;

pub use lease::{LeaseStatus, WorkerLease};
pub use segment::{SegmentBuffer, SegmentSpec, SegmentStatus};
pub use snowflake::{Snowflake, WorkerSource, MAX_BACKWARD_MS, MAX_WORKER_ID, SNOWFLAKE_EPOCH_MS};
pub use uuid::UuidV7;

use crate::error::Error;
use crate::hash::HashMap;
use snowflake::MAX_WAIT_MS;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which generator a table's `key_generator` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyGeneratorKind {
    /// 64-bit time-ordered integer ids.
    Snowflake,
    /// UUIDv7: text (36 characters), or 16 bytes in a BINARY(16) column.
    Uuid,
    /// Dense integers from segments of a sequence table.
    Segment,
}

impl KeyGeneratorKind {
    /// Every kind's name, for error messages.
    pub const NAMES: &'static str = "snowflake, uuid, segment";

    /// The kind named `name` in the rule file.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "snowflake" => Some(KeyGeneratorKind::Snowflake),
            "uuid" => Some(KeyGeneratorKind::Uuid),
            "segment" => Some(KeyGeneratorKind::Segment),
            _ => None,
        }
    }

    /// The name as written in the rule file.
    pub fn name(self) -> &'static str {
        match self {
            KeyGeneratorKind::Snowflake => "snowflake",
            KeyGeneratorKind::Uuid => "uuid",
            KeyGeneratorKind::Segment => "segment",
        }
    }
}

/// A source of wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Waits about `ms` milliseconds (a test clock just moves forward).
    fn sleep_ms(&self, ms: u64);
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Why no key could be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeygenError {
    /// The clock stepped back by more than [`MAX_BACKWARD_MS`].
    ClockMovedBack {
        /// How far back, in milliseconds.
        by_ms: u64,
    },
    /// The clock reads before 2024-01-01 or past the 41-bit range (year 2093).
    ClockOutOfRange {
        /// The reading, in milliseconds since the Unix epoch.
        now_ms: u64,
    },
    /// The clock did not advance while the generator waited for it.
    ClockStuck,
    /// `worker_id` above [`MAX_WORKER_ID`].
    WorkerIdOutOfRange(u16),
    /// `worker_id = "auto"` and no valid lease: refusing rather than risking a duplicate.
    NoWorkerId {
        /// The data source holding the lease table.
        data_source: String,
        /// Why there is no valid lease.
        cause: String,
    },
    /// A segment generator ran out and could not claim a new segment.
    SegmentUnavailable {
        /// The sequence's name.
        sequence: String,
        /// The data source holding the sequence table.
        data_source: String,
        /// Why the claim failed.
        cause: String,
    },
}

impl fmt::Display for KeygenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeygenError::ClockMovedBack { by_ms } => write!(
                f,
                "cannot generate a snowflake id: the clock moved back by {by_ms} ms (more than {MAX_BACKWARD_MS} ms); refusing rather than repeating an id"
            ),
            KeygenError::ClockOutOfRange { now_ms } => write!(
                f,
                "cannot generate a snowflake id: the clock reads {now_ms} ms since 1970, outside 2024-01-01 .. +2^41 ms"
            ),
            KeygenError::ClockStuck => {
                write!(f, "cannot generate a snowflake id: the clock did not advance for {MAX_WAIT_MS} ms")
            }
            KeygenError::WorkerIdOutOfRange(id) => {
                write!(f, "worker_id {id} is out of range; give 0..={MAX_WORKER_ID}")
            }
            KeygenError::NoWorkerId { data_source, cause } => write!(
                f,
                "cannot generate a snowflake id: no valid worker id lease from data source '{data_source}' ({cause}); refusing rather than risking a duplicate"
            ),
            KeygenError::SegmentUnavailable {
                sequence,
                data_source,
                cause,
            } => write!(
                f,
                "cannot generate a segment id for '{sequence}': no new segment from data source '{data_source}' ({cause})"
            ),
        }
    }
}

impl std::error::Error for KeygenError {}

impl From<KeygenError> for Error {
    fn from(e: KeygenError) -> Error {
        Error::internal(e.to_string())
    }
}

/// A generated key value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeneratedKey {
    /// A snowflake or segment id.
    Int(i64),
    /// A UUID's text.
    Text(String),
    /// A UUID's 16 bytes, for a BINARY(16) column.
    Bytes([u8; 16]),
}

/// What one INSERT asks for.
#[derive(Debug, Clone, Copy)]
pub struct KeyRequest<'a> {
    /// The generator type.
    pub kind: KeyGeneratorKind,
    /// A segment generator's sequence name.
    pub sequence: Option<&'a str>,
    /// A UUID goes into a binary column: its 16 bytes rather than its text.
    pub binary: bool,
}

/// Every generator of one proxy instance, sharing a clock.
#[derive(Debug)]
pub struct KeyGenerator {
    /// Snowflake ids for this worker.
    snowflake: Snowflake,
    /// UUIDv7s.
    uuid: UuidV7,
    /// Segment generators by sequence name.
    segments: HashMap<String, Arc<SegmentBuffer>>,
}

impl KeyGenerator {
    /// Generators for a fixed `worker_id` on `clock`, without segment generators.
    pub fn new(worker_id: u16, clock: Arc<dyn Clock>) -> Result<KeyGenerator, KeygenError> {
        Ok(KeyGenerator {
            snowflake: Snowflake::new(worker_id, clock.clone())?,
            uuid: UuidV7::new(clock),
            segments: HashMap::default(),
        })
    }

    /// Generators whose worker id comes from `worker` (a fixed one must be in range).
    pub fn with_worker(worker: WorkerSource, clock: Arc<dyn Clock>) -> KeyGenerator {
        KeyGenerator {
            snowflake: Snowflake::with_worker(worker, clock.clone()),
            uuid: UuidV7::new(clock),
            segments: HashMap::default(),
        }
    }

    /// Adds a segment generator (one per sequence name; the first one stays).
    pub fn add_segment(&mut self, spec: SegmentSpec) -> Arc<SegmentBuffer> {
        self.segments
            .entry(spec.sequence.clone())
            .or_insert_with(|| Arc::new(SegmentBuffer::new(spec)))
            .clone()
    }

    /// The segment generators.
    pub fn segments(&self) -> impl Iterator<Item = &Arc<SegmentBuffer>> {
        self.segments.values()
    }

    /// The segment generator of `sequence`.
    pub fn segment(&self, sequence: &str) -> Option<&Arc<SegmentBuffer>> {
        self.segments.get(sequence)
    }

    /// Where the snowflake worker id comes from.
    pub fn worker(&self) -> &WorkerSource {
        self.snowflake.worker()
    }

    /// The next snowflake id or UUID text; `None` for a segment generator,
    /// which needs its sequence ([`Self::generate_many`]).
    pub fn generate(&self, kind: KeyGeneratorKind) -> Result<Option<GeneratedKey>, KeygenError> {
        match kind {
            KeyGeneratorKind::Snowflake => self
                .snowflake
                .next_id()
                .map(|id| Some(GeneratedKey::Int(id))),
            KeyGeneratorKind::Uuid => Ok(Some(GeneratedKey::Text(self.uuid.next_uuid()))),
            KeyGeneratorKind::Segment => Ok(None),
        }
    }

    /// Appends `n` keys for `request` to `out`, in increasing order. `false`
    /// when no generator here serves the request's sequence (the offline preview).
    pub fn generate_many(
        &self,
        request: &KeyRequest<'_>,
        n: usize,
        out: &mut Vec<GeneratedKey>,
    ) -> Result<bool, KeygenError> {
        out.reserve(n);
        match request.kind {
            KeyGeneratorKind::Snowflake => {
                for _ in 0..n {
                    out.push(GeneratedKey::Int(self.snowflake.next_id()?));
                }
            }
            KeyGeneratorKind::Uuid => {
                for _ in 0..n {
                    let uuid = self.uuid.next();
                    out.push(match request.binary {
                        true => GeneratedKey::Bytes(uuid.into_bytes()),
                        false => GeneratedKey::Text(uuid.hyphenated().to_string()),
                    });
                }
            }
            KeyGeneratorKind::Segment => {
                let Some(buffer) = request.sequence.and_then(|s| self.segments.get(s)) else {
                    return Ok(false);
                };
                let mut ids = Vec::with_capacity(n);
                buffer.take(n, &mut ids)?;
                out.extend(ids.into_iter().map(GeneratedKey::Int));
            }
        }
        Ok(true)
    }
}

/// Locks a mutex; a panic elsewhere while holding it leaves the state valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
