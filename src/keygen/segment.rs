//! Segment ids (Leaf-segment style, algorithms.md): dense integers served
//! from memory out of segments that the key service claims from a sequence
//! table. The next segment is claimed in the background when a tenth of the
//! current one is left (double buffer); an INSERT waits only when both are
//! used up, and fails when the claim it waited for failed.

use super::{lock, KeygenError};
use std::ops::Range;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long an INSERT waits for a segment being claimed.
const CLAIM_WAIT: Duration = Duration::from_secs(15);

/// A segment generator's properties (config.md, `type = "segment"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpec {
    /// The sequence table's row: `schema.table`.
    pub sequence: String,
    /// The data source holding `shardgate_sequence`.
    pub data_source: String,
    /// The first id of a new sequence.
    pub start: i64,
    /// Ids per claimed segment.
    pub step: i64,
}

/// What is held in memory.
#[derive(Debug, Default)]
struct Buffers {
    /// The first id of the segment in use (for SHOW KEY GENERATORS).
    current_start: i64,
    /// The ids left of the segment in use.
    current: Range<i64>,
    /// The segment claimed ahead.
    next: Option<Range<i64>>,
    /// A claim was asked for and has not finished.
    claiming: bool,
    /// Claims finished, successful or not: waiters watch it move.
    finished: u64,
    /// Why the last claim failed; cleared by a successful one.
    failure: Option<String>,
}

/// One segment generator's ids in memory.
#[derive(Debug)]
pub struct SegmentBuffer {
    /// Its properties.
    spec: SegmentSpec,
    /// The segments; held only to take or supply ids.
    buffers: Mutex<Buffers>,
    /// Wakes INSERTs waiting for a claim to finish.
    claimed: Condvar,
    /// Wakes the key service when a claim is wanted.
    wanted: Notify,
}

/// What SHOW KEY GENERATORS shows of a segment generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentStatus {
    /// The segment in use, `first..end` (end exclusive); `None` before the first claim.
    pub current: Option<Range<i64>>,
    /// Ids left in it.
    pub remaining: i64,
    /// The segment claimed ahead.
    pub next: Option<Range<i64>>,
    /// A claim is under way.
    pub claiming: bool,
    /// The last claim's failure.
    pub failure: Option<String>,
}

impl SegmentBuffer {
    /// An empty buffer; the first claim is wanted at once.
    pub fn new(spec: SegmentSpec) -> SegmentBuffer {
        let buffer = SegmentBuffer {
            spec,
            buffers: Mutex::new(Buffers {
                claiming: true,
                ..Buffers::default()
            }),
            claimed: Condvar::new(),
            wanted: Notify::new(),
        };
        buffer.wanted.notify_one();
        buffer
    }

    /// Its properties.
    pub fn spec(&self) -> &SegmentSpec {
        &self.spec
    }

    /// Appends `n` ids to `out`, in increasing order. Waits for a claim
    /// only when both segments are used up.
    pub fn take(&self, n: usize, out: &mut Vec<i64>) -> Result<(), KeygenError> {
        let mut buffers = lock(&self.buffers);
        let mut deadline = None;
        let mut need = n;
        while need > 0 {
            let left = usize::try_from(buffers.current.end - buffers.current.start).unwrap_or(0);
            if left > 0 {
                let count = left.min(need);
                let first = buffers.current.start;
                // `count` ≤ `left`, which came from an i64 range.
                let end = first + count as i64;
                out.extend(first..end);
                buffers.current.start = end;
                need -= count;
                continue;
            }
            if let Some(next) = buffers.next.take() {
                buffers.current_start = next.start;
                buffers.current = next;
                continue;
            }
            // Both used up: wait for the claim under way, or ask for one.
            let finished = buffers.finished;
            self.want(&mut buffers);
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + CLAIM_WAIT);
            loop {
                let now = Instant::now();
                if now >= deadline {
                    return Err(
                        self.unavailable(buffers.failure.clone(), "no segment claimed in time")
                    );
                }
                buffers = self
                    .claimed
                    .wait_timeout(buffers, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                if buffers.next.is_some() || buffers.current.start < buffers.current.end {
                    break;
                }
                if buffers.finished != finished {
                    return Err(self.unavailable(buffers.failure.clone(), "the claim failed"));
                }
            }
        }
        self.want_if_low(&mut buffers);
        Ok(())
    }

    /// Asks for the next segment when a tenth of the current one is left.
    fn want_if_low(&self, buffers: &mut Buffers) {
        let left = buffers.current.end - buffers.current.start;
        if buffers.next.is_none() && left <= self.spec.step / 10 {
            self.want(buffers);
        }
    }

    /// Asks the key service for a claim, unless one is under way.
    fn want(&self, buffers: &mut Buffers) {
        if !buffers.claiming {
            buffers.claiming = true;
            self.wanted.notify_one();
        }
    }

    fn unavailable(&self, failure: Option<String>, fallback: &str) -> KeygenError {
        KeygenError::SegmentUnavailable {
            sequence: self.spec.sequence.clone(),
            data_source: self.spec.data_source.clone(),
            cause: failure.unwrap_or_else(|| fallback.to_string()),
        }
    }

    /// Waits until a claim is wanted (the key service's side).
    pub async fn claim_wanted(&self) {
        self.wanted.notified().await
    }

    /// A claimed segment: used next, after the one in memory.
    pub fn supply(&self, segment: Range<i64>) {
        let mut buffers = lock(&self.buffers);
        if buffers.current.start >= buffers.current.end && buffers.next.is_none() {
            buffers.current_start = segment.start;
            buffers.current = segment;
        } else {
            buffers.next = Some(segment);
        }
        buffers.claiming = false;
        buffers.finished += 1;
        buffers.failure = None;
        // A tiny step may leave the new segment low already.
        self.want_if_low(&mut buffers);
        self.claimed.notify_all();
    }

    /// A claim failed; INSERTs waiting for it fail, buffered ids go on.
    pub fn fail(&self, cause: String) {
        let mut buffers = lock(&self.buffers);
        buffers.claiming = false;
        buffers.finished += 1;
        buffers.failure = Some(cause);
        self.claimed.notify_all();
    }

    /// The buffers as SHOW KEY GENERATORS shows them.
    pub fn status(&self) -> SegmentStatus {
        let buffers = lock(&self.buffers);
        let started = buffers.current.end > 0 || buffers.current_start > 0;
        SegmentStatus {
            current: started.then(|| buffers.current_start..buffers.current.end),
            remaining: buffers.current.end - buffers.current.start,
            next: buffers.next.clone(),
            claiming: buffers.claiming,
            failure: buffers.failure.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
