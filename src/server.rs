//! The listener: accepts clients up to `max_connections` and serves them on
//! a fixed set of worker threads, one per core, each a single-threaded
//! tokio runtime running one task per client. A worker owns the backend
//! connections it opened (its runtime drives their sockets), so a session
//! borrows connections from its own worker's idle list. A panic or protocol
//! error ends only that client's task. SIGTERM/SIGINT shut down gracefully.

use crate::error::Error;
use crate::protocol;
use crate::session::Shared;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

/// How long running statements may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often a worker closes idle backend connections it no longer needs.
const HOUSEKEEPING: Duration = Duration::from_secs(5);

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Seconds since the server started (COM_STATISTICS).
pub fn uptime_seconds() -> u64 {
    STARTED.get().map(|t| t.elapsed().as_secs()).unwrap_or(0)
}

/// A client handed to a worker, with its place under `max_connections`.
struct Client {
    stream: std::net::TcpStream,
    permit: OwnedSemaphorePermit,
    /// Counts the client on its worker until the session ends.
    load: Option<CountedDown>,
}

/// The worker threads and what they count.
struct Workers {
    senders: Vec<mpsc::UnboundedSender<Client>>,
    /// Clients being served, per worker.
    loads: Vec<Arc<AtomicUsize>>,
    /// Workers still running.
    alive: Arc<AtomicUsize>,
}

impl Workers {
    /// One worker per core: on two cores, a zero-work relay built this way
    /// keeps up with one of plain blocking threads (scripts/bench.sh), and
    /// an idle client costs a task, not a thread.
    fn start(shared: &Arc<Shared>, shutdown: &watch::Receiver<bool>) -> Workers {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        let alive = Arc::new(AtomicUsize::new(0));
        let mut senders = Vec::with_capacity(count);
        let mut loads = Vec::with_capacity(count);
        for i in 0..count {
            let busy = Arc::new(AtomicUsize::new(0));
            let (sender, clients) = mpsc::unbounded_channel();
            let worker = Worker {
                shared: shared.clone(),
                shutdown: shutdown.clone(),
                busy: busy.clone(),
            };
            let load = busy.clone();
            alive.fetch_add(1, Ordering::SeqCst);
            let alive_count = alive.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    let _alive = CountedDown(alive_count);
                    worker.run(clients)
                });
            match spawned {
                Ok(_) => {
                    senders.push(sender);
                    loads.push(load);
                }
                Err(e) => {
                    alive.fetch_sub(1, Ordering::SeqCst);
                    tracing::warn!("cannot start worker thread {i}: {e}");
                }
            }
        }
        Workers {
            senders,
            loads,
            alive,
        }
    }

    /// Clients being served.
    fn busy(&self) -> usize {
        self.loads.iter().map(|l| l.load(Ordering::SeqCst)).sum()
    }

    /// Hands a client to the least busy worker (the first of equals), so
    /// that one after another they land where idle connections wait.
    fn serve(&self, client: Client) {
        let Some(i) = (0..self.loads.len()).min_by_key(|&i| self.loads[i].load(Ordering::SeqCst))
        else {
            return;
        };
        let mut client = client;
        self.loads[i].fetch_add(1, Ordering::SeqCst);
        client.load = Some(CountedDown(self.loads[i].clone()));
        if self.senders[i].send(client).is_err() {
            tracing::warn!("worker {i} has ended; a client was dropped");
        }
    }
}

struct Worker {
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    busy: Arc<AtomicUsize>,
}

impl Worker {
    fn run(self, clients: mpsc::UnboundedReceiver<Client>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::warn!("cannot start a worker runtime: {e}");
                return;
            }
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, self.serve_clients(clients));
        // Sessions still running when the worker ends lose their connections here.
        drop(local);
        crate::backend::pool::close_all_idle();
    }

    async fn serve_clients(self, mut clients: mpsc::UnboundedReceiver<Client>) {
        let mut shutdown = self.shutdown.clone();
        let shed_shared = self.shared.clone();
        tokio::task::spawn_local(async move {
            // Idle connections move to sessions of other workers that wait
            // for their data source, and go when idle too long.
            loop {
                let shed = shed_shared.shed_requested().notified();
                tokio::select! {
                    _ = shed => {}
                    _ = tokio::time::sleep(HOUSEKEEPING) => {}
                }
                crate::backend::pool::hand_over_wanted_and_close_expired();
            }
        });
        loop {
            let client = tokio::select! {
                client = clients.recv() => client,
                _ = shutdown.changed() => None,
            };
            let Some(client) = client else { break };
            let stream = match TcpStream::from_std(client.stream) {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::debug!("cannot adopt a client socket: {e}");
                    continue;
                }
            };
            let busy = client.load;
            let shared = self.shared.clone();
            let shutdown = self.shutdown.clone();
            let permit = client.permit;
            tokio::task::spawn_local(async move {
                // Counted down however the session ends, a panic included.
                let _busy = busy;
                let _permit = permit;
                protocol::serve(stream, shared, shutdown).await;
            });
        }
        // Running sessions finish (they watch the shutdown signal too).
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while self.busy.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Takes one off a counter when dropped.
struct CountedDown(Arc<AtomicUsize>);

impl Drop for CountedDown {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs the proxy until `stop` resolves.
pub async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    STARTED.get_or_init(Instant::now);
    let limit = Arc::new(Semaphore::new(
        shared.current().config.server.max_connections as usize,
    ));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let workers = Workers::start(&shared, &shutdown_rx);
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            shared.metrics.connections_refused.inc();
            tracing::warn!(peer = ?stream.peer_addr().ok(), "connection refused: max_connections reached");
            tokio::spawn(refuse_too_many(stream));
            continue;
        };
        match stream.into_std() {
            Ok(stream) => workers.serve(Client {
                stream,
                permit,
                load: None,
            }),
            Err(e) => tracing::debug!("cannot hand a client over: {e}"),
        }
    }
    tracing::info!(
        "shutting down: no new connections; waiting up to {}s for running statements",
        SHUTDOWN_GRACE.as_secs()
    );
    drop(listener);
    let _ = shutdown_tx.send(true);
    let deadline = Instant::now() + SHUTDOWN_GRACE + Duration::from_secs(2);
    while workers.alive.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let busy = workers.busy();
    if busy > 0 {
        tracing::warn!("{busy} connections still busy; closing them");
    }
    Ok(())
}

/// Over `max_connections`: the client gets ER_CON_COUNT_ERROR instead of a handshake.
async fn refuse_too_many(mut stream: TcpStream) {
    let payload = protocol::packets::err(&Error::too_many_connections());
    let mut packet = Vec::with_capacity(payload.len() + 4);
    packet.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
    packet.push(0);
    packet.extend_from_slice(&payload);
    let _ = stream.write_all(&packet).await;
    let _ = stream.shutdown().await;
}
