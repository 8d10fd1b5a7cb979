//! What the proxy knows of one endpoint: the last probe's answer (role,
//! replication threads, GTID positions) and its health with hysteresis:
//! down after [`FAILS_TO_DOWN`] failed probes, or at once when a
//! statement's connection breaks; up again after [`GOODS_TO_UP`] good ones.

use super::gtid::GtidPos;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::Notify;

/// Failed probes in a row that take an endpoint down.
pub const FAILS_TO_DOWN: u32 = 2;
/// Good probes in a row that bring it back.
pub const GOODS_TO_UP: u32 = 2;

/// The replication side of a probe (`SHOW SLAVE STATUS`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Replication {
    /// The account may not ask (1227): judged by GTID positions alone.
    #[default]
    Unknown,
    /// Replicates from no server.
    None,
    /// A replica of `master_host:master_port`.
    Replica(SlaveStatus),
}

/// The columns of `SHOW SLAVE STATUS` the proxy uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaveStatus {
    pub io_running: bool,
    pub sql_running: bool,
    pub master_host: String,
    pub master_port: u16,
    /// `Seconds_Behind_Master`; NULL whenever a thread is stopped.
    pub seconds_behind: Option<u64>,
}

/// One good probe's answer.
#[derive(Debug, Clone, Default)]
pub struct ProbeAnswer {
    pub read_only: bool,
    pub server_id: u64,
    pub binlog_pos: GtidPos,
    pub slave_pos: GtidPos,
    pub replication: Replication,
}

/// The endpoint's state as the monitor and the statements saw it.
#[derive(Debug, Clone)]
pub struct HealthState {
    /// Reachable: statements may use it.
    pub up: bool,
    fails: u32,
    goods: u32,
    /// The last good probe's answer; `None` before the first.
    pub answer: Option<ProbeAnswer>,
    /// When that answer was read.
    pub answered_at: Option<Instant>,
    /// Why the last probe failed.
    pub last_error: Option<String>,
    /// Seconds behind the primary, by the last evaluation; `None` when unknown.
    pub lag_s: Option<f64>,
    /// May serve reads (replicas; set by the evaluation, with hysteresis).
    pub eligible: bool,
    /// Evaluations in a row within half the lag limit while not eligible.
    pub good_checks: u32,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            // Assumed up until probes say otherwise, as before any probe ran.
            up: true,
            fails: 0,
            goods: 0,
            answer: None,
            answered_at: None,
            last_error: None,
            lag_s: None,
            eligible: false,
            good_checks: 0,
        }
    }
}

/// Shared between the endpoint's monitor, its pool and the statements.
#[derive(Debug, Default)]
pub struct EndpointHealth {
    state: Mutex<HealthState>,
    /// Wakes the monitor for a probe now (a statement's connection broke).
    pub wake: Notify,
}

impl EndpointHealth {
    /// The state; a poisoned lock is taken over (every change is a few
    /// field stores).
    pub fn lock(&self) -> MutexGuard<'_, HealthState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_up(&self) -> bool {
        self.lock().up
    }

    /// A probe answered. Returns true when this brought the endpoint up.
    pub fn probe_ok(&self, answer: ProbeAnswer) -> bool {
        let mut s = self.lock();
        s.fails = 0;
        s.goods += 1;
        s.answer = Some(answer);
        s.answered_at = Some(Instant::now());
        s.last_error = None;
        if !s.up && s.goods >= GOODS_TO_UP {
            s.up = true;
            return true;
        }
        false
    }

    /// A probe failed or timed out. Returns true when this took it down.
    pub fn probe_failed(&self, why: String) -> bool {
        let mut s = self.lock();
        s.goods = 0;
        s.fails += 1;
        s.last_error = Some(why);
        if s.up && s.fails >= FAILS_TO_DOWN {
            s.up = false;
            s.eligible = false;
            return true;
        }
        false
    }

    /// A statement's connection broke: down now, and probed at once.
    pub fn connection_broke(&self) {
        {
            let mut s = self.lock();
            s.goods = 0;
            s.up = false;
            s.eligible = false;
        }
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_after_two_failures_up_after_two_successes() {
        let h = EndpointHealth::default();
        assert!(h.is_up());
        assert!(!h.probe_failed("x".into()));
        assert!(h.is_up(), "one failure is not enough");
        assert!(!h.probe_ok(ProbeAnswer::default()) && h.is_up());
        assert!(!h.probe_failed("x".into()));
        assert!(h.probe_failed("x".into()));
        assert!(!h.is_up());
        assert!(!h.probe_ok(ProbeAnswer::default()));
        assert!(!h.is_up(), "one success is not enough");
        assert!(h.probe_ok(ProbeAnswer::default()));
        assert!(h.is_up());
        h.connection_broke();
        assert!(
            !h.is_up(),
            "a broken statement connection takes it down at once"
        );
    }
}
