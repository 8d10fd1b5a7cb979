//! Who is the primary of a data source, and how far behind each replica
//! is, from the endpoints' last probes (sql.md, Replicas). Pure: the
//! monitor feeds it views and applies its answers.
//!
//! - The primary is the reachable endpoint that is writable and replicates
//!   from no other. The choice is sticky: an old primary that comes back
//!   writable is not taken back while the one chosen since serves; two new
//!   claimants, or a second one beside the primary, are a conflict, and
//!   writes are refused until only one claims the role.
//! - Lag: the primary's GTID positions are sampled with the time the monitor
//!   first saw each one; a replica is as far behind as the oldest sample it
//!   has not applied (so an idle primary is no lag), or as old as the
//!   primary's last answer when it has applied them all (so a frozen primary
//!   is not zero lag); `Seconds_Behind_Master` counts when larger.

use super::gtid::GtidPos;
use super::health::{ProbeAnswer, Replication};
use std::collections::VecDeque;
use std::time::Instant;

/// Primary samples kept; older ones only matter to a replica that far behind.
const MAX_SAMPLES: usize = 512;

/// Who takes the writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// The endpoint at this index.
    One(usize),
    /// No endpoint is writable and reachable.
    None,
    /// These endpoints all claim the role: writes are refused.
    Conflict(Vec<usize>),
}

/// One endpoint as the evaluation sees it.
#[derive(Debug, Clone)]
pub struct View<'a> {
    pub host: &'a str,
    pub port: u16,
    pub up: bool,
    pub answer: Option<&'a ProbeAnswer>,
    pub answered_at: Option<Instant>,
}

impl View<'_> {
    /// Writable, reachable, replicating from nobody.
    fn claims_primary(&self) -> bool {
        self.up
            && self
                .answer
                .is_some_and(|a| !a.read_only && !matches!(a.replication, Replication::Replica(_)))
    }

    /// Read-only and replicating: a proper replica.
    fn is_replica(&self) -> bool {
        self.answer
            .is_some_and(|a| a.read_only && !matches!(a.replication, Replication::None))
    }
}

/// A position of the primary and when the monitor saw it.
#[derive(Debug, Clone)]
struct Sample {
    pos: GtidPos,
    first_seen: Instant,
    last_seen: Instant,
}

/// A replica's read eligibility after one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eligibility {
    pub lag_s: Option<f64>,
    pub eligible: bool,
    pub good_checks: u32,
}

/// The evaluation's memory across rounds.
#[derive(Debug)]
pub struct Topology {
    pub writer: Writer,
    /// Endpoints that lost the primary role and have not rejoined as replicas.
    retired: Vec<bool>,
    samples: VecDeque<Sample>,
    /// The writer the samples belong to.
    sampled: Option<usize>,
    /// Each endpoint's answer time at its last eligibility check.
    checked: Vec<Option<Instant>>,
}

impl Topology {
    /// The rule file's primary (index 0) is assumed until probes say otherwise.
    pub fn new(endpoints: usize) -> Topology {
        Topology {
            writer: Writer::One(0),
            retired: vec![false; endpoints],
            samples: VecDeque::new(),
            sampled: None,
            checked: vec![None; endpoints],
        }
    }

    /// Chooses the writer from the views; returns a message when it changed.
    pub fn choose_writer(&mut self, views: &[View<'_>]) -> Option<String> {
        for (i, v) in views.iter().enumerate() {
            if v.up && v.is_replica() {
                self.retired[i] = false;
            }
        }
        let claimants: Vec<usize> = (0..views.len())
            .filter(|&i| views[i].claims_primary())
            .collect();
        let next = match &self.writer {
            Writer::One(c) if claimants.contains(c) => {
                let mut others: Vec<usize> = claimants
                    .iter()
                    .copied()
                    .filter(|&i| i != *c && !self.retired[i])
                    .collect();
                if others.is_empty() {
                    Writer::One(*c)
                } else {
                    others.insert(0, *c);
                    Writer::Conflict(others)
                }
            }
            Writer::One(c) => {
                self.retired[*c] = true;
                self.pick(&claimants, views)
            }
            Writer::None => self.pick(&claimants, views),
            // Resolved only when a single claimant is left (returning old
            // primaries aside), never by a tie-break.
            Writer::Conflict(_) => {
                let fresh = self.fresh(&claimants);
                match (fresh.len(), claimants.len()) {
                    (1, _) => Writer::One(fresh[0]),
                    (0, 0) => Writer::None,
                    (0, 1) => Writer::One(claimants[0]),
                    (0, _) => Writer::Conflict(claimants),
                    _ => Writer::Conflict(fresh),
                }
            }
        };
        if next == self.writer {
            return None;
        }
        let message = match &next {
            Writer::One(i) => format!(
                "the primary is now {}:{}",
                views[*i].host, views[*i].port
            ),
            Writer::None => "no endpoint is a reachable writable primary now; writes are refused".to_string(),
            Writer::Conflict(all) => format!(
                "several endpoints claim the primary role ({}); writes are refused until only one is writable",
                all.iter()
                    .map(|&i| format!("{}:{}", views[i].host, views[i].port))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.writer = next;
        Some(message)
    }

    /// The claimants that are no retired old primary.
    fn fresh(&self, claimants: &[usize]) -> Vec<usize> {
        claimants
            .iter()
            .copied()
            .filter(|&i| !self.retired[i])
            .collect()
    }

    /// A writer among new claimants: one not retired; among several, the one
    /// the replicas replicate from; else a conflict.
    fn pick(&self, claimants: &[usize], views: &[View<'_>]) -> Writer {
        let fresh = self.fresh(claimants);
        match (fresh.len(), claimants.len()) {
            (1, _) => Writer::One(fresh[0]),
            (0, 0) => Writer::None,
            (0, 1) => Writer::One(claimants[0]),
            (0, _) => Writer::Conflict(claimants.to_vec()),
            _ => {
                let followers = |c: usize| {
                    views
                        .iter()
                        .filter(|v| match v.answer.map(|a| &a.replication) {
                            Some(Replication::Replica(s)) => {
                                s.master_host == views[c].host && s.master_port == views[c].port
                            }
                            _ => false,
                        })
                        .count()
                };
                let counts: Vec<(usize, usize)> =
                    fresh.iter().map(|&c| (c, followers(c))).collect();
                let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
                let leaders: Vec<usize> = counts
                    .iter()
                    .filter(|(_, n)| *n == best)
                    .map(|(c, _)| *c)
                    .collect();
                if best > 0 && leaders.len() == 1 {
                    Writer::One(leaders[0])
                } else {
                    Writer::Conflict(fresh)
                }
            }
        }
    }

    /// Records the writer's latest position (call after [`Topology::choose_writer`]).
    pub fn sample_writer(&mut self, views: &[View<'_>]) {
        let Writer::One(w) = self.writer else {
            return;
        };
        if self.sampled != Some(w) {
            self.samples.clear();
            self.sampled = Some(w);
        }
        let (Some(answer), Some(at)) = (views[w].answer, views[w].answered_at) else {
            return;
        };
        if !views[w].up {
            return;
        }
        match self.samples.back_mut() {
            Some(last) if last.pos == answer.binlog_pos => last.last_seen = last.last_seen.max(at),
            Some(last) if last.last_seen >= at => {}
            _ => {
                self.samples.push_back(Sample {
                    pos: answer.binlog_pos.clone(),
                    first_seen: at,
                    last_seen: at,
                });
                if self.samples.len() > MAX_SAMPLES {
                    self.samples.pop_front();
                }
            }
        }
    }

    /// Seconds replica `i` is behind the writer; `None` when unknown.
    pub fn lag(&self, views: &[View<'_>], i: usize, now: Instant) -> Option<f64> {
        let answer = views[i].answer?;
        let newest = self.samples.back()?;
        let behind_since = match self
            .samples
            .iter()
            .find(|s| !answer.slave_pos.covers(&s.pos))
        {
            Some(s) => s.first_seen,
            None => newest.last_seen,
        };
        let by_gtid = now.saturating_duration_since(behind_since).as_secs_f64();
        let by_server = match &answer.replication {
            Replication::Replica(s) => s.seconds_behind.unwrap_or(0) as f64,
            _ => 0.0,
        };
        Some(by_gtid.max(by_server))
    }

    /// Replica `i`'s eligibility: out at once when a condition fails, back
    /// after two of its own checks within half of `max_lag_s`.
    pub fn eligibility(
        &mut self,
        views: &[View<'_>],
        i: usize,
        before: (bool, u32),
        max_lag_s: f64,
        now: Instant,
    ) -> Eligibility {
        let (eligible, good_checks) = before;
        // With no writer now, lag still counts from the last one seen: a
        // frozen primary is no lag of zero.
        let lag_s = match self.writer {
            Writer::One(w) if w == i => None,
            _ if self.sampled == Some(i) => None,
            _ => self.lag(views, i, now),
        };
        let v = &views[i];
        let replicating = v.answer.is_some_and(|a| match &a.replication {
            Replication::Replica(s) => s.io_running && s.sql_running,
            Replication::Unknown => true,
            Replication::None => false,
        });
        let sound = v.up
            && replicating
            && v.answer.is_some_and(|a| a.read_only)
            && !matches!(self.writer, Writer::One(w) if w == i);
        let within = |limit: f64| sound && lag_s.is_some_and(|l| l <= limit);
        let new_check = v.answered_at.is_some() && self.checked[i] != v.answered_at;
        if new_check {
            self.checked[i] = v.answered_at;
        }
        let (eligible, good_checks) = if eligible {
            if within(max_lag_s) {
                (true, 0)
            } else {
                (false, 0)
            }
        } else if !within(max_lag_s / 2.0) {
            (false, 0)
        } else if new_check {
            let n = good_checks + 1;
            (n >= 2, if n >= 2 { 0 } else { n })
        } else {
            (false, good_checks)
        };
        Eligibility {
            lag_s,
            eligible,
            good_checks,
        }
    }
}

#[cfg(test)]
mod tests;
