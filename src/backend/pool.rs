//! Lending backend connections. Each endpoint allows `pool_max` open
//! connections from this proxy (one semaphore permit each, idle ones
//! included). A connection is driven by the runtime of the worker thread
//! using it, so idle ones are kept per thread: a session borrows one for a
//! statement, or for as long as something pins it, and gives it back to the
//! session that has waited longest for one (on any worker: the socket moves
//! to that worker's runtime), or else to its thread's idle list. Idle
//! connections of a thread move to sessions of other workers that wait.

use super::conn::{ConnClass, Connection};
use super::endpoint::Endpoint;
use super::health::EndpointHealth;
use super::statements::StatementCache;
use crate::admin::metrics::LatencyHistogram;
use crate::error::Error;
use crate::hash::HashMap;
use mysql_common::constants::Command;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};

/// How long a statement waits for a free backend connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle connections older than this are closed by [`hand_over_wanted_and_close_expired`].
pub const IDLE_LIFETIME: Duration = Duration::from_secs(300);

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// The session state (SET statements by what they set) applied to a connection.
pub type AppliedState = Arc<BTreeMap<String, String>>;

/// One endpoint of a data source (its primary or a replica): where it is,
/// its connection budget and its health.
#[derive(Debug)]
pub struct EndpointPool {
    /// The data source's name (for messages and the session's bookkeeping).
    pub name: String,
    pub endpoint: Endpoint,
    /// `host:port/db` (no password), for messages and SHOW BACKENDS.
    pub address: Arc<str>,
    pub pool_max: usize,
    /// Distinguishes data sources in the per-thread idle lists.
    id: usize,
    /// One permit per open connection.
    permits: Arc<Semaphore>,
    /// Connections open now (in use or idle).
    open: AtomicUsize,
    /// Connections idle on some thread.
    idle: AtomicUsize,
    /// Sessions waiting for a connection, on any thread, oldest first.
    waiters: Mutex<VecDeque<Waiter>>,
    /// How many wait now (read without the lock).
    waiting: AtomicUsize,
    /// Told when a session starts waiting, so threads close idle connections.
    shed: Arc<Notify>,
    /// Health, role and lag as the monitor and statements saw them.
    pub health: EndpointHealth,
    /// Connections report `last_gtid` in their OK packets (read your writes).
    track_gtid: bool,
    /// Sessions that had to wait for a connection, since start.
    waits: AtomicU64,
    /// How long statements used their connection to it.
    pub backend_latency: Arc<LatencyHistogram>,
    /// Its data source was removed by a reload and nothing uses it any
    /// more: its connections are closed instead of pooled.
    retired: AtomicBool,
}

/// A connection lent to a session. Boxed: a connection changes hands
/// several times per statement (idle list, session slot, back), and a
/// pointer moves where the whole [`Lent`] would be copied.
pub struct PooledConn(Box<Lent>);

impl std::ops::Deref for PooledConn {
    type Target = Lent;
    fn deref(&self) -> &Lent {
        &self.0
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut Lent {
        &mut self.0
    }
}

/// A backend connection with what the proxy keeps of it.
pub struct Lent {
    pub conn: Connection,
    pub data_source: Arc<EndpointPool>,
    /// Its place under `pool_max`; `None` for a standalone connection.
    _permit: Option<OwnedSemaphorePermit>,
    _open: Option<OpenCount>,
    /// Statement handles prepared on it.
    pub statements: StatementCache,
    /// Fingerprint of the session state applied to it; 0 = as after connect or reset.
    pub state: u64,
    /// That state's SET statements, so that another session's state can be
    /// reached by setting only what differs.
    pub applied: AppliedState,
    /// A session left state on it that no fingerprint describes (temporary
    /// tables, user variables, locks): reset before anyone else uses it.
    pub dirty: bool,
    /// Its last statements left warnings or an error in the server's
    /// diagnostics area, which only some statements clear: cleared before
    /// the next session uses it.
    pub stale_diagnostics: bool,
    /// A session's `SET TRANSACTION` was applied to it (with the tracking
    /// that reports when it is used up): it may still be waiting for a
    /// transaction, so it is put back before the next session uses it.
    pub stale_characteristics: bool,
    idle_since: Instant,
}

/// Counts an open connection for as long as it lives.
struct OpenCount(Arc<EndpointPool>);

impl Drop for OpenCount {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A session waiting for a connection of this class, on the worker `worker`.
struct Waiter {
    class: ConnClass,
    worker: ThreadId,
    give: oneshot::Sender<PooledConn>,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Waiter({:?} on {:?})", self.class, self.worker)
    }
}

/// A worker thread's idle connections, by data source.
#[derive(Default)]
struct ThreadPool {
    idle: HashMap<usize, Vec<PooledConn>>,
}

thread_local! {
    static POOL: RefCell<ThreadPool> = RefCell::new(ThreadPool::default());
}

impl EndpointPool {
    /// `track_gtid`: its connections report the GTID of each committed write.
    pub fn new(
        name: &str,
        endpoint: Endpoint,
        pool_max: usize,
        shed: Arc<Notify>,
        track_gtid: bool,
    ) -> Self {
        let pool_max = pool_max.max(1);
        EndpointPool {
            name: name.to_string(),
            address: endpoint.address().into(),
            endpoint,
            pool_max,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            permits: Arc::new(Semaphore::new(pool_max)),
            open: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            waiters: Mutex::new(VecDeque::new()),
            waiting: AtomicUsize::new(0),
            shed,
            health: EndpointHealth::default(),
            track_gtid,
            waits: AtomicU64::new(0),
            backend_latency: Arc::default(),
            retired: AtomicBool::new(false),
        }
    }

    /// Its data source is gone: connections given back are closed, and
    /// every worker is told to close the idle ones it holds now.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.shed.notify_waiters();
    }

    /// A connection for a session whose state has fingerprint `state`:
    /// an idle one in that state if this thread has one, else a clean one,
    /// else any (the caller resets it), else a new one under `pool_max`,
    /// else the first one given back, waiting at most [`ACQUIRE_TIMEOUT`].
    pub async fn acquire(
        self: &Arc<Self>,
        class: ConnClass,
        state: u64,
    ) -> Result<PooledConn, Error> {
        loop {
            let Some(conn) = self.take_idle(class, state) else {
                break;
            };
            if !conn.conn.broken {
                return Ok(conn);
            }
        }
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return self.connect(permit, class).await;
        }
        // A connection of another class idle here is closed to make room.
        if self.close_one_idle() {
            if let Ok(permit) = self.permits.clone().try_acquire_owned() {
                return self.connect(permit, class).await;
            }
        }
        self.wait(class).await
    }

    async fn wait(self: &Arc<Self>, class: ConnClass) -> Result<PooledConn, Error> {
        let (give, take) = oneshot::channel();
        self.lock_waiters().push_back(Waiter {
            class,
            worker: std::thread::current().id(),
            give,
        });
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.shed.notify_waiters();
        let waited = tokio::time::timeout(ACQUIRE_TIMEOUT, async {
            tokio::select! {
                given = take => given.map_err(|_| ()).map(Ok),
                permit = self.permits.clone().acquire_owned() => permit.map_err(|_| ()).map(Err),
            }
        })
        .await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match waited {
            Ok(Ok(Ok(conn))) => Ok(conn),
            Ok(Ok(Err(permit))) => self.connect(permit, class).await,
            _ => Err(Error::data_source_unreachable(
                &self.name,
                format!(
                    "no connection free within {}s (pool_max = {})",
                    ACQUIRE_TIMEOUT.as_secs(),
                    self.pool_max
                ),
            )),
        }
    }

    async fn connect(
        self: &Arc<Self>,
        permit: OwnedSemaphorePermit,
        class: ConnClass,
    ) -> Result<PooledConn, Error> {
        match Connection::open(&self.endpoint, class).await {
            Ok(conn) => {
                self.open.fetch_add(1, Ordering::Relaxed);
                let mut conn = PooledConn(Box::new(Lent {
                    conn,
                    data_source: self.clone(),
                    _permit: Some(permit),
                    _open: Some(OpenCount(self.clone())),
                    statements: StatementCache::default(),
                    state: 0,
                    applied: AppliedState::default(),
                    dirty: false,
                    stale_diagnostics: false,
                    stale_characteristics: false,
                    idle_since: Instant::now(),
                }));
                conn.track_gtid().await?;
                Ok(conn)
            }
            Err(message) => {
                self.health.connection_broke();
                tracing::warn!(data_source = %self.name, endpoint = %self.address, "cannot open a backend connection: {message}");
                Err(Error::data_source_unreachable(&self.name, message))
            }
        }
    }

    /// A connection of its own, outside the pool and `pool_max`, for the
    /// proxy's background work (key-generator tables, probes): the caller
    /// keeps it as long as it likes and it never carries a client's state.
    /// It must stay on the runtime that opened it.
    pub async fn connect_standalone(self: &Arc<Self>) -> Result<PooledConn, Error> {
        self.standalone(&self.endpoint).await
    }

    /// As [`Self::connect_standalone`], in no database (see
    /// [`Endpoint::without_database`]): for XA RECOVER and COMMIT, KILL, probes.
    pub async fn connect_control(self: &Arc<Self>) -> Result<PooledConn, Error> {
        self.standalone(&self.endpoint.without_database()).await
    }

    async fn standalone(self: &Arc<Self>, target: &Endpoint) -> Result<PooledConn, Error> {
        match Connection::open(target, ConnClass::default()).await {
            Ok(conn) => Ok(PooledConn(Box::new(Lent {
                conn,
                data_source: self.clone(),
                _permit: None,
                _open: None,
                statements: StatementCache::default(),
                state: 0,
                applied: AppliedState::default(),
                dirty: false,
                stale_diagnostics: false,
                stale_characteristics: false,
                idle_since: Instant::now(),
            }))),
            Err(message) => Err(Error::data_source_unreachable(&self.name, message)),
        }
    }

    /// Best idle connection of this thread: same state, then clean, then any
    /// of the class. One the backend closed meanwhile is dropped.
    fn take_idle(&self, class: ConnClass, state: u64) -> Option<PooledConn> {
        POOL.with(|p| {
            let mut pool = p.borrow_mut();
            let idle = pool.idle.get_mut(&self.id)?;
            loop {
                let pick = idle
                    .iter()
                    .rposition(|c| c.conn.class == class && c.state == state && !c.dirty)
                    .or_else(|| {
                        idle.iter()
                            .rposition(|c| c.conn.class == class && c.state == 0 && !c.dirty)
                    })
                    .or_else(|| idle.iter().rposition(|c| c.conn.class == class))?;
                let mut conn = idle.swap_remove(pick);
                self.idle.fetch_sub(1, Ordering::Relaxed);
                if conn.conn.closed_while_idle() {
                    continue; // Dropped: its permit is free again.
                }
                return Some(conn);
            }
        })
    }

    fn close_one_idle(&self) -> bool {
        POOL.with(|p| {
            let mut pool = p.borrow_mut();
            match pool.idle.get_mut(&self.id).and_then(|idle| idle.pop()) {
                Some(_) => {
                    self.idle.fetch_sub(1, Ordering::Relaxed);
                    true
                }
                None => false,
            }
        })
    }

    /// The waiting sessions; a poisoned lock is taken over (the queue
    /// stays consistent: every change to it is one push or remove).
    fn lock_waiters(&self) -> MutexGuard<'_, VecDeque<Waiter>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the endpoint is up (see [`EndpointHealth`]).
    pub fn is_healthy(&self) -> bool {
        self.health.is_up()
    }

    /// Connections in use and idle.
    pub fn pool_usage(&self) -> (usize, usize) {
        let open = self.open.load(Ordering::Relaxed);
        let idle = self.idle.load(Ordering::Relaxed);
        (open.saturating_sub(idle), idle)
    }

    /// Sessions that had to wait for a connection, since start.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    /// Sessions waiting for a connection now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

impl PooledConn {
    /// The next packet of the answer; an I/O failure names the data source.
    pub async fn read(&mut self) -> Result<&[u8], Error> {
        let Lent {
            conn, data_source, ..
        } = &mut *self.0;
        match conn.read_packet().await {
            Ok(packet) => Ok(packet),
            Err(e) => {
                data_source.health.connection_broke();
                Err(super::conn::io_error(&data_source.name, &e))
            }
        }
    }

    /// Sends a command packet; an I/O failure names the data source.
    pub async fn send(&mut self, command: u8, body: &[u8]) -> Result<(), Error> {
        let Lent {
            conn, data_source, ..
        } = &mut *self.0;
        conn.send_command(command, body).await.map_err(|e| {
            data_source.health.connection_broke();
            super::conn::io_error(&data_source.name, &e)
        })
    }

    /// Sends what is buffered.
    pub async fn flush(&mut self) -> Result<(), Error> {
        let Lent {
            conn, data_source, ..
        } = &mut *self.0;
        conn.flush().await.map_err(|e| {
            data_source.health.connection_broke();
            super::conn::io_error(&data_source.name, &e)
        })
    }
    /// Gives the connection back: to the session that has waited longest
    /// for one of its class (moving it to that session's worker), or to
    /// this thread's idle list. A broken or dirty one is closed (a dirty one
    /// should have been reset), and so is one that only sessions wanting
    /// another class wait for, so that its permit goes to them.
    pub fn release(mut self) {
        if self.conn.broken
            || self.dirty
            || self._permit.is_none()
            || self.data_source.retired.load(Ordering::SeqCst)
        {
            return;
        }
        self.conn.shrink_buffers();
        let ds = self.data_source.clone();
        let mut conn = self;
        if ds.waiting.load(Ordering::SeqCst) > 0 {
            let here = std::thread::current().id();
            let mut waiters = ds.lock_waiters();
            waiters.retain(|w| !w.give.is_closed());
            while let Some(at) = waiters.iter().position(|w| w.class == conn.conn.class) {
                let Some(waiter) = waiters.remove(at) else {
                    break;
                };
                if waiter.worker != here && !conn.conn.unregister() {
                    // The connection is dropped, which frees its permit for this waiter.
                    waiters.insert(at, waiter);
                    return;
                }
                match waiter.give.send(conn) {
                    Ok(()) => return,
                    Err(back) => conn = back,
                }
            }
            if !waiters.is_empty() {
                return;
            }
        }
        conn.idle_since = Instant::now();
        ds.idle.fetch_add(1, Ordering::Relaxed);
        POOL.with(|p| p.borrow_mut().idle.entry(ds.id).or_default().push(conn));
    }

    /// COM_RESET_CONNECTION: drops the session state a client left
    /// (transaction, locks, temporary tables, variables, statements).
    pub async fn reset(&mut self) -> Result<(), Error> {
        const RESET: u8 = Command::COM_RESET_CONNECTION as u8;
        let name = self.data_source.name.clone();
        let io = |e: std::io::Error| super::conn::io_error(&name, &e);
        self.conn.send_command(RESET, &[]).await.map_err(io)?;
        let caps = self.conn.capabilities;
        let packet = self.conn.read_packet().await.map_err(io)?;
        match super::response::frame(packet, caps, &name) {
            super::Frame::Ok(ok) => {
                self.conn.note(&ok);
                self.statements.clear();
                self.state = 0;
                self.applied = AppliedState::default();
                self.dirty = false;
                self.stale_diagnostics = false;
                self.stale_characteristics = false;
                self.conn.characteristics = None;
                // The reset put session_track_system_variables back too.
                self.track_gtid().await
            }
            super::Frame::Err(e) => {
                self.conn.broken = true;
                Err(e)
            }
            _ => {
                self.conn.broken = true;
                Err(super::response::malformed(&name))
            }
        }
    }
}

impl PooledConn {
    /// Asks the server to report `last_gtid` in the OK packets of
    /// committed writes, on endpoints that serve read-your-writes.
    async fn track_gtid(&mut self) -> Result<(), Error> {
        if !self.data_source.track_gtid {
            return Ok(());
        }
        const QUERY: u8 = Command::COM_QUERY as u8;
        const SQL: &[u8] = b"SET SESSION session_track_system_variables = 'last_gtid'";
        self.send(QUERY, SQL).await?;
        let caps = self.conn.capabilities;
        let name = self.data_source.name.clone();
        let packet = self.read().await?;
        match super::response::frame(packet, caps, &name) {
            super::Frame::Ok(ok) => {
                self.conn.note(&ok);
                Ok(())
            }
            super::Frame::Err(e) => {
                self.conn.broken = true;
                Err(e)
            }
            _ => {
                self.conn.broken = true;
                Err(super::response::malformed(&name))
            }
        }
    }
}

/// Hands this thread's idle connections of data sources that sessions
/// wait for to those sessions, and closes those idle longer than
/// [`IDLE_LIFETIME`] and those of retired data sources.
pub fn hand_over_wanted_and_close_expired() {
    let wanted: Vec<PooledConn> = POOL.with(|p| {
        let mut pool = p.borrow_mut();
        let mut wanted = Vec::new();
        for idle in pool.idle.values_mut() {
            let mut i = 0;
            while i < idle.len() {
                let expired = idle[i].idle_since.elapsed() >= IDLE_LIFETIME
                    || idle[i].data_source.retired.load(Ordering::SeqCst);
                let asked = idle[i].data_source.waiting.load(Ordering::SeqCst) > 0;
                if !expired && !asked {
                    i += 1;
                    continue;
                }
                let conn = idle.swap_remove(i);
                conn.data_source.idle.fetch_sub(1, Ordering::Relaxed);
                if !expired {
                    wanted.push(conn);
                }
            }
        }
        wanted
    });
    // Released outside the borrow: what no one takes comes back to the idle list.
    for mut conn in wanted {
        if !conn.conn.closed_while_idle() {
            conn.release();
        }
    }
}

/// Closes every idle connection of this thread (shutdown).
pub fn close_all_idle() {
    POOL.with(|p| {
        let mut pool = p.borrow_mut();
        for (_, idle) in pool.idle.drain() {
            for c in idle {
                c.data_source.idle.fetch_sub(1, Ordering::Relaxed);
            }
        }
    });
}
