//! The only module that talks to backends: one mysql_async pool per data
//! source primary, and the relay of a backend's results to a [`Reply`].

pub mod metadata;
mod relay;

pub use relay::{
    open_binary_rows, open_text_rows, relay_binary, relay_text, run_ok, stream_rows, UnitRows,
};

use crate::config::{Config, DataSourceConfig};
use crate::error::Error;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a statement waits for a free backend connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle backend connection stays in its pool.
const IDLE_TTL: Duration = Duration::from_secs(300);

/// Prepared statements cached per backend connection. Client statements are
/// executed by SQL text, so an evicted one is simply prepared again.
const STATEMENT_CACHE_SIZE: usize = 256;

/// One data source: its primary's pool.
#[derive(Debug)]
pub struct DataSource {
    pub name: String,
    /// `host:port/db` of the primary, for messages and SHOW BACKENDS (no password).
    pub address: String,
    pub pool_max: usize,
    pool: Pool,
    /// Whether the last attempt to get a connection succeeded.
    healthy: AtomicBool,
}

/// Every data source of the rule file.
#[derive(Debug, Default)]
pub struct Backends {
    sources: BTreeMap<String, Arc<DataSource>>,
}

impl Backends {
    /// Builds one pool per data source; connections open lazily.
    pub fn new(config: &Config) -> Result<Backends, Error> {
        let mut sources = BTreeMap::new();
        for (name, ds) in &config.data_sources {
            sources.insert(name.clone(), Arc::new(DataSource::new(name, ds)?));
        }
        Ok(Backends { sources })
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

    /// Closes every pool, waiting for connections in use to come back.
    pub async fn disconnect(&self) {
        for ds in self.sources.values() {
            let _ = ds.pool.clone().disconnect().await;
        }
    }
}

impl DataSource {
    fn new(name: &str, config: &DataSourceConfig) -> Result<DataSource, Error> {
        let opts = Opts::from_url(&config.primary).map_err(|e| {
            Error::internal(format!("data_sources.{name}.primary: invalid URL: {e}"))
        })?;
        let address = format!(
            "{}:{}/{}",
            opts.ip_or_hostname(),
            opts.tcp_port(),
            opts.db_name().unwrap_or_default()
        );
        let constraints = PoolConstraints::new(0, config.pool_max.max(1))
            .ok_or_else(|| Error::internal(format!("data_sources.{name}.pool_max: invalid")))?;
        // Connections are held by one client session at a time and reset
        // (COM_RESET_CONNECTION) when that session ends, so no session state
        // leaks from one client to the next.
        // Idle connections stay in the pool (up to pool_max) for IDLE_TTL;
        // with mysql_async's default ttl of 0 the pool would close every
        // returned connection.
        let pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(IDLE_TTL)
            .with_ttl_check_interval(IDLE_TTL / 4)
            .with_reset_connection(true);
        let builder = OptsBuilder::from_opts(opts)
            .pool_opts(pool_opts)
            .prefer_socket(false)
            .tcp_nodelay(true)
            .stmt_cache_size(STATEMENT_CACHE_SIZE);
        Ok(DataSource {
            name: name.to_string(),
            address,
            pool_max: config.pool_max,
            pool: Pool::new(builder),
            healthy: AtomicBool::new(true),
        })
    }

    /// A connection of this data source's pool, or an error naming it.
    pub async fn acquire(&self) -> Result<Conn, Error> {
        let result = tokio::time::timeout(ACQUIRE_TIMEOUT, self.pool.get_conn()).await;
        self.healthy
            .store(matches!(result, Ok(Ok(_))), Ordering::Relaxed);
        match result {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(backend_error(&self.name, e)),
            Err(_) => Err(Error::data_source_unreachable(
                &self.name,
                format!(
                    "no connection free within {}s (pool_max = {})",
                    ACQUIRE_TIMEOUT.as_secs(),
                    self.pool_max
                ),
            )),
        }
    }

    /// Whether the last attempt to get a connection succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Connections in use and idle, from the pool's own counters.
    pub fn pool_usage(&self) -> (usize, usize) {
        let m = self.pool.metrics();
        (
            m.connections_in_use.load(Ordering::Relaxed),
            m.connections_in_pool.load(Ordering::Relaxed),
        )
    }
}

/// A backend error as the client sees it: a server error keeps its code,
/// SQLSTATE and message; anything else (I/O, protocol) names the data source.
pub fn backend_error(data_source: &str, error: mysql_async::Error) -> Error {
    match error {
        mysql_async::Error::Server(e) => Error::backend(e.code, &e.state, e.message),
        other => Error::data_source_unreachable(data_source, other),
    }
}

/// Whether a connection that gave this error must not be used again.
pub fn is_fatal(error: &mysql_async::Error) -> bool {
    !matches!(error, mysql_async::Error::Server(_))
}
