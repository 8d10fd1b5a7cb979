//! A data source: one replication group of endpoints, each with its own
//! pool. Which endpoint takes the writes and which replicas may serve reads
//! is the monitor's latest verdict ([`super::monitor`]); statements only
//! read it.

use super::conn::ConnClass;
use super::pool::{EndpointPool, PooledConn};
use super::topology::Writer;
use crate::config::file::ReadBalance;
use crate::error::Error;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// What a data source's endpoints are, and how reads are spread.
#[derive(Debug)]
pub struct DataSource {
    pub name: String,
    /// The primary of the rule file first, then its replicas in order.
    pub endpoints: Vec<Arc<EndpointPool>>,
    pub read_balance: ReadBalance,
    pub max_replica_lag_s: u64,
    pub read_your_writes: bool,
    /// How long a read waits on a replica for the session's last write.
    pub gtid_wait: Duration,
    pub health_interval: Duration,
    /// The monitor's verdict on who takes the writes.
    writer: Mutex<Writer>,
    /// Round-robin position.
    turn: AtomicUsize,
    /// Tells the monitor to stop once the data source is gone.
    pub(super) stop: Arc<AtomicBool>,
    /// Wakes the monitor's evaluation (a probe finished, or stop).
    pub(super) evaluate: Arc<Notify>,
}

impl Drop for DataSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.evaluate.notify_one();
        for e in &self.endpoints {
            e.health.wake.notify_one();
            // Removed by a reload and no longer held by any session.
            e.retire();
        }
    }
}

impl DataSource {
    pub fn new(
        name: &str,
        endpoints: Vec<Arc<EndpointPool>>,
        read_balance: ReadBalance,
        max_replica_lag_s: u64,
        read_your_writes: bool,
        health_interval: Duration,
    ) -> DataSource {
        let gtid_wait = Duration::from_secs(max_replica_lag_s.max(1)).min(Duration::from_secs(1));
        DataSource {
            name: name.to_string(),
            endpoints,
            read_balance,
            max_replica_lag_s,
            read_your_writes,
            gtid_wait,
            health_interval,
            writer: Mutex::new(Writer::One(0)),
            turn: AtomicUsize::new(0),
            stop: Arc::new(AtomicBool::new(false)),
            evaluate: Arc::new(Notify::new()),
        }
    }

    /// Whether it has replicas (only then do health and role steer statements).
    pub fn has_replicas(&self) -> bool {
        self.endpoints.len() > 1
    }

    pub fn writer(&self) -> Writer {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn set_writer(&self, writer: Writer) {
        *self.writer.lock().unwrap_or_else(|e| e.into_inner()) = writer;
    }

    /// The endpoint that takes writes now, or why there is none: 1105
    /// naming the data source, at once.
    pub fn primary(&self) -> Result<&Arc<EndpointPool>, Error> {
        if !self.has_replicas() {
            // Alone, it is tried whatever the monitor thinks.
            return Ok(&self.endpoints[0]);
        }
        match self.writer() {
            Writer::One(i) => Ok(&self.endpoints[i]),
            Writer::None => Err(Error::data_source_unreachable(
                &self.name,
                format!(
                    "no endpoint is a reachable writable primary ({})",
                    self.addresses()
                ),
            )),
            Writer::Conflict(all) => Err(Error::data_source_unreachable(
                &self.name,
                format!(
                    "writes are refused: several endpoints claim the primary role ({})",
                    all.iter()
                        .map(|&i| self.endpoints[i].address.as_ref())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    fn addresses(&self) -> String {
        self.endpoints
            .iter()
            .map(|e| e.address.as_ref())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The endpoint a read that may use a replica goes to: an eligible
    /// replica by `read_balance`; else the primary; with no primary, any
    /// replica that is up (reads go on).
    pub fn read_endpoint(&self) -> Result<&Arc<EndpointPool>, Error> {
        if !self.has_replicas() {
            return Ok(&self.endpoints[0]);
        }
        let writer = self.writer();
        let eligible =
            |i: usize, e: &EndpointPool| writer != Writer::One(i) && e.health.lock().eligible;
        if let Some(e) = self.choose(eligible) {
            return Ok(e);
        }
        if let Ok(primary) = self.primary() {
            return Ok(primary);
        }
        let up = |_: usize, e: &EndpointPool| {
            let h = e.health.lock();
            h.up && h.answer.as_ref().is_some_and(|a| a.read_only)
        };
        self.choose(up).ok_or_else(|| {
            Error::data_source_unreachable(
                &self.name,
                format!("no endpoint is reachable ({})", self.addresses()),
            )
        })
    }

    /// One of the endpoints `fits` accepts, by `read_balance`. Two passes
    /// over the few endpoints instead of a list: this runs on every replica
    /// read. Should an endpoint change state between them, the first that
    /// still fits is taken.
    fn choose(&self, fits: impl Fn(usize, &EndpointPool) -> bool) -> Option<&Arc<EndpointPool>> {
        let fitting = || {
            self.endpoints
                .iter()
                .enumerate()
                .filter(|(i, e)| fits(*i, e))
                .map(|(_, e)| e)
        };
        let count = fitting().count();
        if count == 0 {
            return None;
        }
        let at = match self.read_balance {
            ReadBalance::RoundRobin => self.turn.fetch_add(1, Ordering::Relaxed) % count,
            ReadBalance::Random => rand::random::<u32>() as usize % count,
        };
        fitting().nth(at).or_else(|| fitting().next())
    }

    /// Whether `endpoint` is the writer now.
    pub fn is_primary(&self, endpoint: &EndpointPool) -> bool {
        match self.writer() {
            Writer::One(i) => std::ptr::eq(&*self.endpoints[i], endpoint),
            _ => !self.has_replicas(),
        }
    }

    /// A connection to the primary (writes, and reads that must see them).
    pub async fn acquire(&self, class: ConnClass, state: u64) -> Result<PooledConn, Error> {
        self.primary()?.acquire(class, state).await
    }

    /// A connection of its own to the primary, outside the pool (see
    /// [`EndpointPool::connect_standalone`]).
    pub async fn connect_standalone(&self) -> Result<PooledConn, Error> {
        self.primary()?.connect_standalone().await
    }

    /// A connection of its own to the primary in no database (see
    /// [`EndpointPool::connect_control`]).
    pub async fn connect_control(&self) -> Result<PooledConn, Error> {
        self.primary()?.connect_control().await
    }
}
