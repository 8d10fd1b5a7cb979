//! Snowflake ids: sign bit 0, 41 bits of ms since 2024-01-01, 10 bits of
//! worker id, 12 bits of sequence. The worker id is fixed
//! (`server.worker_id = N`) or leased ([`WorkerLease`], `"auto"`).

use super::lease::WorkerLease;
use super::{lock, Clock, KeygenError};
use std::sync::{Arc, Mutex};

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
pub(super) const MAX_WAIT_MS: u64 = 1000;

/// Where the worker id comes from.
#[derive(Debug, Clone)]
pub enum WorkerSource {
    /// `server.worker_id = N`.
    Fixed(u16),
    /// `server.worker_id = "auto"`: valid only while the lease is.
    Leased(Arc<WorkerLease>),
}

/// The last id's time (ms since [`SNOWFLAKE_EPOCH_MS`]), sequence and worker id.
#[derive(Debug, Clone, Copy)]
struct Last {
    ms: u64,
    sequence: u64,
    worker: u16,
}

/// A snowflake generator. Ids from one generator increase strictly, also
/// when a leased worker id changes (a new id waits for the next millisecond).
#[derive(Debug)]
pub struct Snowflake {
    /// The worker id, or the lease that holds it.
    worker: WorkerSource,
    /// Where time comes from.
    clock: Arc<dyn Clock>,
    /// Held while an id is made (and while waiting for the clock), so ids are unique.
    state: Mutex<Option<Last>>,
}

impl Snowflake {
    /// A generator for `worker_id` (0..=1023).
    pub fn new(worker_id: u16, clock: Arc<dyn Clock>) -> Result<Snowflake, KeygenError> {
        if worker_id > MAX_WORKER_ID {
            return Err(KeygenError::WorkerIdOutOfRange(worker_id));
        }
        Ok(Snowflake::with_worker(
            WorkerSource::Fixed(worker_id),
            clock,
        ))
    }

    /// A generator whose worker id comes from `worker` (a fixed one must be in range).
    pub fn with_worker(worker: WorkerSource, clock: Arc<dyn Clock>) -> Snowflake {
        Snowflake {
            worker,
            clock,
            state: Mutex::new(None),
        }
    }

    /// Where the worker id comes from.
    pub fn worker(&self) -> &WorkerSource {
        &self.worker
    }

    /// The next id. Waits out a clock step back of up to 10 ms and a
    /// sequence exhausted within one millisecond; blocks at most that long.
    pub fn next_id(&self) -> Result<i64, KeygenError> {
        let mut state = lock(&self.state);
        let mut waited = 0;
        loop {
            let now = self.clock.now_ms();
            let worker = match &self.worker {
                WorkerSource::Fixed(id) => *id,
                WorkerSource::Leased(lease) => lease.worker_id_at(now)?,
            };
            let ms = now
                .checked_sub(SNOWFLAKE_EPOCH_MS)
                .filter(|ms| *ms < 1 << TIME_BITS)
                .ok_or(KeygenError::ClockOutOfRange { now_ms: now })?;
            let fresh = Last {
                ms,
                sequence: 0,
                worker,
            };
            let (wait, next) = match *state {
                None => (0, fresh),
                Some(last) if ms > last.ms => (0, fresh),
                Some(last) if ms == last.ms && last.worker == worker => {
                    if last.sequence < MAX_SEQUENCE {
                        let next = Last {
                            sequence: last.sequence + 1,
                            ..last
                        };
                        (0, next)
                    } else {
                        // The sequence is used up: wait for the next millisecond.
                        (1, last)
                    }
                }
                // A new worker id in the same millisecond could sort lower.
                Some(last) if ms == last.ms => (1, last),
                Some(last) if last.ms - ms <= MAX_BACKWARD_MS => (last.ms - ms, last),
                Some(last) => {
                    return Err(KeygenError::ClockMovedBack {
                        by_ms: last.ms - ms,
                    })
                }
            };
            if wait == 0 {
                *state = Some(next);
                let id = (next.ms << (WORKER_BITS + SEQUENCE_BITS))
                    | (u64::from(next.worker) << SEQUENCE_BITS)
                    | next.sequence;
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
