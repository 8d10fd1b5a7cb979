//! Runs execution units on backend connections ([`crate::backend`]): the
//! relay of one backend's answer to the client, the rows a merge reads,
//! the OKs of writes; and every data source of the rule file.

pub mod fetch;
pub mod metadata;
pub mod relay;
mod reload;
pub mod rows;

pub use crate::backend::pool::ACQUIRE_TIMEOUT;
pub use crate::backend::{DataSource, EndpointPool, PooledConn};
pub use fetch::{exec_drop, fetch_rows, Rows};
pub use relay::{
    relay_answer, relay_execute, relay_text, relay_text_opening, relay_values, RawExecute, Relayed,
};
pub use rows::{decode_row, run_ok, stream_rows, UnitRows};

use crate::backend::{BackendTls, Endpoint};
use crate::config::Config;
use crate::error::Error;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Every data source of the rule file.
#[derive(Debug, Default)]
pub struct Backends {
    sources: BTreeMap<String, Arc<DataSource>>,
    shed: Arc<Notify>,
}

impl Backends {
    /// Describes every data source; connections open when first needed.
    pub fn new(config: &Config) -> Result<Backends, Error> {
        let shed = Arc::new(Notify::new());
        let mut sources = BTreeMap::new();
        let interval = health_interval(config);
        for (name, ds) in &config.data_sources {
            let source = Arc::new(data_source(name, ds, shed.clone(), interval)?);
            crate::backend::monitor::start(&source);
            sources.insert(name.clone(), source);
        }
        Ok(Backends { sources, shed })
    }

    /// The data source `name`, which the validated rules guarantee exists.
    pub fn get(&self, name: &str) -> Result<&Arc<DataSource>, Error> {
        self.sources
            .get(name)
            .ok_or_else(|| Error::internal(format!("unknown data source '{name}'")))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<DataSource>> {
        self.sources.values()
    }

    /// Whether some data source has replicas (else no statement needs
    /// judging for a replica read).
    pub fn any_replicas(&self) -> bool {
        self.sources.values().any(|ds| ds.has_replicas())
    }

    /// Has every endpoint of the data sources with replicas probed now: a
    /// write met a read-only server (1290), so the primary may have moved.
    pub fn probe_now(&self) {
        for ds in self.sources.values().filter(|ds| ds.has_replicas()) {
            for e in &ds.endpoints {
                e.health.wake.notify_one();
            }
        }
    }

    /// Resolves when some session starts waiting for a connection, so that
    /// threads close idle ones it could use.
    pub fn shed_requested(&self) -> &Notify {
        &self.shed
    }
}

/// `server.health_check_interval_ms`.
fn health_interval(config: &Config) -> std::time::Duration {
    std::time::Duration::from_millis(config.server.health_check_interval_ms.max(10))
}

/// The data source `name` of the rule file: an endpoint per URL, its
/// connections not opened yet.
fn data_source(
    name: &str,
    config: &crate::config::DataSourceConfig,
    shed: Arc<Notify>,
    interval: std::time::Duration,
) -> Result<DataSource, Error> {
    let tls = BackendTls::new(config.tls, config.tls_ca.as_deref())
        .map_err(|e| Error::internal(format!("data_sources.{name}.tls_ca: {e}")))?;
    // Only where replicas may serve reads does a write's GTID matter.
    let track_gtid = config.read_your_writes && !config.replicas.is_empty();
    let urls = std::iter::once(("primary".to_string(), &config.primary)).chain(
        config
            .replicas
            .iter()
            .enumerate()
            .map(|(i, url)| (format!("replicas[{i}]"), url)),
    );
    let mut endpoints = Vec::new();
    for (key, url) in urls {
        let mut endpoint = Endpoint::parse(url)
            .map_err(|e| Error::internal(format!("data_sources.{name}.{key}: invalid URL: {e}")))?;
        endpoint.tls = tls.clone();
        endpoints.push(Arc::new(EndpointPool::new(
            name,
            endpoint,
            config.pool_max,
            shed.clone(),
            track_gtid,
        )));
    }
    Ok(DataSource::new(
        name,
        endpoints,
        config.read_balance,
        config.max_replica_lag_s,
        config.read_your_writes,
        interval,
    ))
}
