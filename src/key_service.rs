//! The key service: the key generators' database work, outside any client
//! session. One background thread with a tokio runtime of its own owns every
//! connection it opens (`DataSource::connect_standalone`), so no connection
//! is ever driven by another runtime. It claims segments for the segment
//! generators ([`segment`]) and leases the snowflake worker id for
//! `server.worker_id = "auto"` ([`lease`]); sessions only touch the
//! in-memory [`SegmentBuffer`]s and the [`WorkerLease`].

mod lease;
mod segment;

use crate::config::{Config, WorkerIdConfig};
use crate::error::Error;
use crate::execute::{Backends, DataSource};
use crate::keygen::{Clock, KeyGenerator, SegmentBuffer, WorkerLease, WorkerSource};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How long start-up waits for the first worker id lease.
const FIRST_LEASE_WAIT: Duration = Duration::from_secs(5);
/// How long shutdown waits for the lease to be released.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// The running service; [`KeyService::stop`] releases the lease.
#[derive(Debug, Default)]
pub struct KeyService {
    /// Tells the thread to stop; `None` when no thread runs.
    stop: Mutex<Option<(watch::Sender<bool>, mpsc::Receiver<()>)>>,
}

impl KeyService {
    /// Starts the thread if `keys` has work for it: segment generators or a
    /// leased worker id. `owner` names this proxy instance in the lease table.
    /// Waits a few seconds for the first lease, so the first INSERTs find it.
    pub fn start(
        keys: &KeyGenerator,
        backends: &Backends,
        clock: Arc<dyn Clock>,
        owner: String,
    ) -> Result<KeyService, Error> {
        let segments: Vec<(Arc<SegmentBuffer>, Arc<DataSource>)> = keys
            .segments()
            .map(|buffer| {
                let ds = backends.get(&buffer.spec().data_source)?;
                Ok((buffer.clone(), ds.clone()))
            })
            .collect::<Result<_, Error>>()?;
        let lease: Option<(Arc<WorkerLease>, Arc<DataSource>)> = match keys.worker() {
            WorkerSource::Leased(lease) => {
                Some((lease.clone(), backends.get(lease.data_source())?.clone()))
            }
            WorkerSource::Fixed(_) => None,
        };
        if segments.is_empty() && lease.is_none() {
            return Ok(KeyService::default());
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = mpsc::channel();
        let (leased_tx, leased_rx) = mpsc::channel();
        let has_lease = lease.is_some();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("cannot start the key service: {e}")))?;
        std::thread::Builder::new()
            .name("key-service".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut tasks = Vec::new();
                    for (buffer, ds) in segments {
                        tasks.push(tokio::spawn(segment::serve(buffer, ds, stop_rx.clone())));
                    }
                    if let Some((lease, ds)) = lease {
                        let task = lease::serve(lease, ds, clock, owner, stop_rx, leased_tx);
                        tasks.push(tokio::spawn(task));
                    }
                    for task in tasks {
                        let _ = task.await;
                    }
                });
                let _ = done_tx.send(());
            })
            .map_err(|e| Error::internal(format!("cannot start the key service: {e}")))?;
        if has_lease && leased_rx.recv_timeout(FIRST_LEASE_WAIT).is_err() {
            tracing::warn!("no worker id leased yet; snowflake keys wait for it");
        }
        Ok(KeyService {
            stop: Mutex::new(Some((stop_tx, done_rx))),
        })
    }

    /// Stops the thread, releasing the worker id lease; waits a few seconds.
    pub fn stop(&self) {
        let taken = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((stop, done)) = taken {
            let _ = stop.send(true);
            if done.recv_timeout(RELEASE_WAIT).is_err() {
                tracing::warn!("the key service did not stop in time");
            }
        }
    }
}

/// The proxy's key generators as the rule file sets them up: the worker id
/// fixed or leased (from the first schema's default data source), and one
/// segment generator per table that has one.
pub fn key_generator(config: &Config, clock: Arc<dyn Clock>) -> Result<KeyGenerator, Error> {
    let worker = match config.server.worker_id {
        WorkerIdConfig::Fixed(id) => {
            KeyGenerator::new(id, clock.clone())
                .map_err(|e| Error::internal(format!("server.worker_id: {e}")))?;
            WorkerSource::Fixed(id)
        }
        WorkerIdConfig::Auto => {
            let schema = config.rules.schemas.values().next().ok_or_else(|| {
                Error::internal("server.worker_id = \"auto\" needs a schema's default data source")
            })?;
            WorkerSource::Leased(Arc::new(WorkerLease::new(&schema.default_data_source)))
        }
    };
    let mut keys = KeyGenerator::with_worker(worker, clock);
    for schema in config.rules.schemas.values() {
        for table in schema.tables.values() {
            if let Some(spec) = table.key_generator.as_ref().and_then(|k| k.segment.clone()) {
                keys.add_segment(spec);
            }
        }
    }
    Ok(keys)
}

/// `text` as a single-quoted SQL string literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// A value read by `fetch_rows` as an i64.
fn int_value(rows: &crate::execute::Rows, what: &str) -> Result<i64, Error> {
    rows.rows
        .first()
        .and_then(|row| row.first())
        .and_then(|v| mysql_common::value::convert::from_value_opt::<i64>(v.clone()).ok())
        .ok_or_else(|| Error::internal(format!("{what}: no integer in the answer")))
}
