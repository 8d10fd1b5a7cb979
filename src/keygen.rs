//! Key generators (algorithms.md): an INSERT that omits a table's generated
//! column gets a snowflake id or a UUIDv7 before it is routed. The clock is
//! injected ([`Clock`]) so tests control time.

use crate::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::{ContextV7, Timestamp, Uuid};

/// 2024-01-01T00:00:00Z in milliseconds since the Unix epoch: snowflake time zero.
pub const SNOWFLAKE_EPOCH_MS: u64 = 1_704_067_200_000;

/// The largest clock step back the snowflake generator waits out.
pub const MAX_BACKWARD_MS: u64 = 10;

/// The largest `server.worker_id`.
pub const MAX_WORKER_ID: u16 = 1023;

/// Bits of the millisecond sequence.
const SEQUENCE_BITS: u32 = 12;
/// Bits of the worker id.
const WORKER_BITS: u32 = 10;
/// Bits of the timestamp.
const TIME_BITS: u32 = 41;
/// The largest sequence number within one millisecond.
const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;
/// The longest the generator waits for the clock in one call.
const MAX_WAIT_MS: u64 = 1000;

/// Which generator a table's `key_generator` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyGeneratorKind {
    /// 64-bit time-ordered integer ids.
    Snowflake,
    /// UUIDv7 text, 36 characters.
    Uuid,
}

impl KeyGeneratorKind {
    /// Every kind's name, for error messages.
    pub const NAMES: &'static str = "snowflake, uuid";

    /// The kind named `name` in the rule file.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "snowflake" => Some(KeyGeneratorKind::Snowflake),
            "uuid" => Some(KeyGeneratorKind::Uuid),
            _ => None,
        }
    }

    /// The name as written in the rule file.
    pub fn name(self) -> &'static str {
        match self {
            KeyGeneratorKind::Snowflake => "snowflake",
            KeyGeneratorKind::Uuid => "uuid",
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
        }
    }
}

impl std::error::Error for KeygenError {}

impl From<KeygenError> for Error {
    fn from(e: KeygenError) -> Error {
        Error::internal(e.to_string())
    }
}

/// The last id's time (ms since [`SNOWFLAKE_EPOCH_MS`]) and sequence; `None` before the first.
type SnowflakeState = Option<(u64, u64)>;

/// Snowflake ids: sign bit 0, 41 bits of ms since 2024-01-01, 10 bits of
/// worker id, 12 bits of sequence. Ids from one generator increase strictly.
#[derive(Debug)]
pub struct Snowflake {
    /// `server.worker_id`, already shifted into place.
    worker_bits: u64,
    /// Where time comes from.
    clock: Arc<dyn Clock>,
    /// Held while an id is made (and while waiting for the clock), so ids are unique.
    state: Mutex<SnowflakeState>,
}

impl Snowflake {
    /// A generator for `worker_id` (0..=1023).
    pub fn new(worker_id: u16, clock: Arc<dyn Clock>) -> Result<Snowflake, KeygenError> {
        if worker_id > MAX_WORKER_ID {
            return Err(KeygenError::WorkerIdOutOfRange(worker_id));
        }
        Ok(Snowflake {
            worker_bits: u64::from(worker_id) << SEQUENCE_BITS,
            clock,
            state: Mutex::new(None),
        })
    }

    /// The next id. Waits out a clock step back of up to 10 ms and a
    /// sequence exhausted within one millisecond; blocks at most that long.
    pub fn next_id(&self) -> Result<i64, KeygenError> {
        let mut state = lock(&self.state);
        let mut waited = 0;
        loop {
            let now = self.clock.now_ms();
            let ms = now
                .checked_sub(SNOWFLAKE_EPOCH_MS)
                .filter(|ms| *ms < 1 << TIME_BITS)
                .ok_or(KeygenError::ClockOutOfRange { now_ms: now })?;
            let (wait, last) = match *state {
                None => (0, (ms, 0)),
                Some((last, _)) if ms > last => (0, (ms, 0)),
                Some((last, sequence)) if ms == last && sequence < MAX_SEQUENCE => {
                    (0, (ms, sequence + 1))
                }
                // The sequence is used up: wait for the next millisecond.
                Some(last) if ms == last.0 => (1, last),
                Some(last) if last.0 - ms <= MAX_BACKWARD_MS => (last.0 - ms, last),
                Some((last, _)) => return Err(KeygenError::ClockMovedBack { by_ms: last - ms }),
            };
            if wait == 0 {
                *state = Some(last);
                let (ms, sequence) = last;
                let id = (ms << (WORKER_BITS + SEQUENCE_BITS)) | self.worker_bits | sequence;
                // 41 + 10 + 12 = 63 bits: always a positive i64.
                return i64::try_from(id).map_err(|_| KeygenError::ClockOutOfRange { now_ms: now });
            }
            waited += wait;
            if waited > MAX_WAIT_MS {
                return Err(KeygenError::ClockStuck);
            }
            self.clock.sleep_ms(wait);
        }
    }
}

/// UUIDv7s from the injected clock, ordered within a millisecond by a counter.
#[derive(Debug)]
pub struct UuidV7 {
    /// Where time comes from.
    clock: Arc<dyn Clock>,
    /// The v7 counter state (not `Sync` itself).
    context: Mutex<ContextV7>,
}

impl UuidV7 {
    /// A generator on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> UuidV7 {
        UuidV7 {
            clock,
            context: Mutex::new(ContextV7::new()),
        }
    }

    /// The next UUID in its 36-character text form.
    pub fn next_uuid(&self) -> String {
        let ms = self.clock.now_ms();
        let context = lock(&self.context);
        let nanos = u32::try_from(ms % 1000).unwrap_or_default() * 1_000_000;
        let timestamp = Timestamp::from_unix(&*context, ms / 1000, nanos);
        Uuid::new_v7(timestamp).hyphenated().to_string()
    }
}

/// A generated key value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeneratedKey {
    /// A snowflake id.
    Int(i64),
    /// A UUID's text.
    Text(String),
}

/// Both generators of one proxy instance, sharing a clock.
#[derive(Debug)]
pub struct KeyGenerator {
    /// Snowflake ids for this worker.
    snowflake: Snowflake,
    /// UUIDv7 text.
    uuid: UuidV7,
}

impl KeyGenerator {
    /// Generators for `worker_id` on `clock`.
    pub fn new(worker_id: u16, clock: Arc<dyn Clock>) -> Result<KeyGenerator, KeygenError> {
        Ok(KeyGenerator {
            snowflake: Snowflake::new(worker_id, clock.clone())?,
            uuid: UuidV7::new(clock),
        })
    }

    /// The next key of `kind`.
    pub fn generate(&self, kind: KeyGeneratorKind) -> Result<GeneratedKey, KeygenError> {
        match kind {
            KeyGeneratorKind::Snowflake => self.snowflake.next_id().map(GeneratedKey::Int),
            KeyGeneratorKind::Uuid => Ok(GeneratedKey::Text(self.uuid.next_uuid())),
        }
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
