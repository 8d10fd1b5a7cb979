//! UUIDv7s from the injected clock, ordered within a millisecond by a counter.

use super::{lock, Clock};
use std::sync::{Arc, Mutex};
use uuid::{ContextV7, Timestamp, Uuid};

/// A UUIDv7 generator.
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

    /// The next UUID.
    pub fn next(&self) -> Uuid {
        let ms = self.clock.now_ms();
        let context = lock(&self.context);
        let nanos = u32::try_from(ms % 1000).unwrap_or_default() * 1_000_000;
        let timestamp = Timestamp::from_unix(&*context, ms / 1000, nanos);
        Uuid::new_v7(timestamp)
    }

    /// The next UUID in its 36-character text form.
    pub fn next_uuid(&self) -> String {
        self.next().hyphenated().to_string()
    }
}
