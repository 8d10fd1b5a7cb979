//! The only module that talks to backends: mysql_async connections to each
//! data source's primary, at most `pool_max` open at once, kept between
//! clients on the session thread that opened them; and the relay of a
//! backend's results to a [`Reply`].

pub mod fetch;
pub mod metadata;
mod relay;
mod reload;

pub use fetch::{exec_drop, fetch_rows, Rows};

pub use relay::{
    open_binary_rows, open_text_rows, relay_binary, relay_prepared, relay_text, run_ok,
    stream_rows, UnitRows,
};

use crate::config::{Config, DataSourceConfig};
use crate::error::Error;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// How long a statement waits for a free backend connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements cached per backend connection. Client statements are
/// executed by SQL text, so an evicted one is simply prepared again.
const STATEMENT_CACHE_SIZE: usize = 256;

/// One data source: how to reach its primary, and how many connections
/// to it may be open at once (`pool_max`, counting idle ones).
#[derive(Debug)]
pub struct DataSource {
    pub name: String,
    /// `host:port/db` of the primary, for messages and SHOW BACKENDS (no password).
    pub address: String,
    pub pool_max: usize,
    opts: Opts,
    /// One permit per open connection.
    permits: Arc<Semaphore>,
    /// Connections parked idle on session threads.
    idle: AtomicUsize,
    /// Sessions waiting for a permit: idle connections are closed for them.
    waiting: AtomicUsize,
    /// Told when sessions start waiting, so idle holders give theirs back.
    shed: Arc<Notify>,
    /// Whether the last attempt to connect succeeded.
    healthy: AtomicBool,
}

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
        for (name, ds) in &config.data_sources {
            sources.insert(
                name.clone(),
                Arc::new(DataSource::new(name, ds, shed.clone())?),
            );
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

    /// Resolves when some session waits for a connection that only an
    /// idle one being closed can free (see [`IdleConns::give_back_wanted`]).
    pub fn shed_requested(&self) -> &Notify {
        &self.shed
    }
}

impl DataSource {
    fn new(name: &str, config: &DataSourceConfig, shed: Arc<Notify>) -> Result<DataSource, Error> {
        let opts = Opts::from_url(&config.primary).map_err(|e| {
            Error::internal(format!("data_sources.{name}.primary: invalid URL: {e}"))
        })?;
        let address = format!(
            "{}:{}/{}",
            opts.ip_or_hostname(),
            opts.tcp_port(),
            opts.db_name().unwrap_or_default()
        );
        let opts = OptsBuilder::from_opts(opts)
            .prefer_socket(false)
            .tcp_nodelay(true)
            .stmt_cache_size(STATEMENT_CACHE_SIZE)
            .into();
        let pool_max = config.pool_max.max(1);
        Ok(DataSource {
            name: name.to_string(),
            address,
            pool_max,
            opts,
            permits: Arc::new(Semaphore::new(pool_max)),
            idle: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            shed,
            healthy: AtomicBool::new(true),
        })
    }

    /// A new connection to the primary, counted against `pool_max`. When
    /// every permit is taken, idle connections on other session threads are
    /// asked to close; after [`ACQUIRE_TIMEOUT`] the error names the data source.
    pub async fn acquire(self: &Arc<Self>) -> Result<BackendConn, Error> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.waiting.fetch_add(1, Ordering::SeqCst);
                self.shed.notify_waiters();
                let permit =
                    tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
                        .await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                match permit {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        return Err(Error::data_source_unreachable(
                            &self.name,
                            format!(
                                "no connection free within {}s (pool_max = {})",
                                ACQUIRE_TIMEOUT.as_secs(),
                                self.pool_max
                            ),
                        ))
                    }
                }
            }
        };
        let connected = tokio::time::timeout(ACQUIRE_TIMEOUT, Conn::new(self.opts.clone())).await;
        self.healthy
            .store(matches!(connected, Ok(Ok(_))), Ordering::Relaxed);
        match connected {
            Ok(Ok(conn)) => Ok(BackendConn {
                conn,
                data_source: self.clone(),
                _permit: permit,
                needs_reset: false,
                idle_since: Instant::now(),
                statements: Default::default(),
            }),
            Ok(Err(e)) => Err(backend_error(&self.name, e)),
            Err(_) => Err(Error::data_source_unreachable(
                &self.name,
                format!("no answer within {}s", ACQUIRE_TIMEOUT.as_secs()),
            )),
        }
    }

    /// A connection of its own, outside the pool and `pool_max`, for the
    /// proxy's background work (key-generator tables, probes): the caller
    /// keeps it as long as it likes and it never carries a client's state.
    pub async fn connect_standalone(&self) -> Result<Conn, Error> {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, Conn::new(self.opts.clone())).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(backend_error(&self.name, e)),
            Err(_) => Err(Error::data_source_unreachable(
                &self.name,
                format!("no answer within {}s", ACQUIRE_TIMEOUT.as_secs()),
            )),
        }
    }

    /// Whether the last attempt to connect succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Connections in use and idle.
    pub fn pool_usage(&self) -> (usize, usize) {
        let open = self.pool_max - self.permits.available_permits();
        let idle = self.idle.load(Ordering::Relaxed);
        (open.saturating_sub(idle), idle)
    }
}

/// An open connection to a data source's primary; closing it (dropping)
/// frees its place under `pool_max`.
pub struct BackendConn {
    conn: Conn,
    pub data_source: Arc<DataSource>,
    _permit: OwnedSemaphorePermit,
    /// A client used it: COM_RESET_CONNECTION before anyone uses it again.
    needs_reset: bool,
    idle_since: Instant,
    /// Statement handles of client prepared statements run on it (see [`relay_prepared`]).
    statements: relay::StatementHandles,
}

impl BackendConn {
    /// The data source's name and the connection, borrowed together.
    pub fn named(&mut self) -> (&str, &mut Conn) {
        (self.data_source.name.as_str(), &mut self.conn)
    }
}

impl std::ops::Deref for BackendConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for BackendConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// How long a parked connection may sit unused before it is pinged on reuse.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(30);

/// The backend connections a session thread keeps between its clients, at
/// most one per data source: the next client on the thread reuses them
/// after COM_RESET_CONNECTION, so no session state leaks from one client to
/// the next. Connections belong to the tokio runtime they were opened on,
/// which is why they stay on their thread.
#[derive(Default)]
pub struct IdleConns {
    conns: Vec<BackendConn>,
}

impl IdleConns {
    /// Parks a connection a client is done with; it is reset by
    /// [`IdleConns::reset_all`] or before its next use.
    pub fn park(&mut self, mut conn: BackendConn) {
        if self
            .conns
            .iter()
            .any(|c| c.data_source.name == conn.data_source.name)
        {
            return; // One per data source is all a session uses; close the other.
        }
        conn.needs_reset = true;
        conn.idle_since = Instant::now();
        // The reset closes them on the backend.
        conn.statements = Default::default();
        conn.data_source.idle.fetch_add(1, Ordering::Relaxed);
        self.conns.push(conn);
    }

    /// A parked connection to `data_source`, reset and checked, if one is
    /// parked and still works.
    pub async fn take(&mut self, data_source: &str) -> Option<BackendConn> {
        let i = self
            .conns
            .iter()
            .position(|c| c.data_source.name == data_source)?;
        let mut conn = self.conns.swap_remove(i);
        conn.data_source.idle.fetch_sub(1, Ordering::Relaxed);
        let works = if conn.needs_reset {
            conn.conn.reset().await.is_ok()
        } else if conn.idle_since.elapsed() > CHECK_AFTER_IDLE {
            conn.conn.ping().await.is_ok()
        } else {
            true
        };
        conn.needs_reset = false;
        works.then_some(conn)
    }

    /// Resets every parked connection now, so that nothing a client left
    /// (an open transaction and its locks, temporary tables, variables)
    /// outlives its session; a connection that fails to reset is closed.
    pub async fn reset_all(&mut self) {
        let mut kept = Vec::with_capacity(self.conns.len());
        for mut conn in self.conns.drain(..) {
            if !conn.needs_reset || conn.conn.reset().await.is_ok() {
                conn.needs_reset = false;
                kept.push(conn);
            } else {
                conn.data_source.idle.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.conns = kept;
    }

    /// Closes the parked connections of data sources that sessions are waiting for.
    pub fn give_back_wanted(&mut self) {
        self.conns.retain(|c| {
            let wanted = c.data_source.waiting.load(Ordering::SeqCst) > 0;
            if wanted {
                c.data_source.idle.fetch_sub(1, Ordering::Relaxed);
            }
            !wanted
        });
    }

    /// Closes every parked connection (COM_QUIT).
    pub async fn close(&mut self) {
        for conn in self.conns.drain(..) {
            conn.data_source.idle.fetch_sub(1, Ordering::Relaxed);
            let _ = conn.conn.disconnect().await;
        }
    }
}

impl Drop for IdleConns {
    fn drop(&mut self) {
        for conn in &self.conns {
            conn.data_source.idle.fetch_sub(1, Ordering::Relaxed);
        }
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
