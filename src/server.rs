//! The listener: accepts clients up to `max_connections`, serves each on a
//! session thread of its own (a panic or protocol error ends only that
//! connection), and shuts down gracefully on SIGTERM/SIGINT.

use crate::error::Error;
use crate::execute::IdleConns;
use crate::protocol;
use crate::session::Shared;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

/// How long running statements may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Seconds since the server started (COM_STATISTICS).
pub fn uptime_seconds() -> u64 {
    STARTED.get().map(|t| t.elapsed().as_secs()).unwrap_or(0)
}

/// How long a session thread waits for its next client before it closes
/// its backend connections and ends.
const THREAD_IDLE_TTL: Duration = Duration::from_secs(300);

/// A client handed to a session thread, with its place under `max_connections`.
struct Client {
    stream: std::net::TcpStream,
    permit: OwnedSemaphorePermit,
}

/// The session threads. Each client is served on a thread of its own, on a
/// single-threaded tokio runtime: on two cores a zero-work relay built that
/// way keeps up with one of plain blocking threads, while one task per
/// client on the multi-threaded runtime loses about a quarter of the
/// throughput to cross-thread wake-ups (scripts/bench.sh measures both).
/// A thread outlives its client and serves the next one, keeping the
/// backend connections it opened: they belong to its runtime.
struct SessionThreads {
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    /// Threads waiting for a client, most recently idle last.
    idle: Mutex<Vec<mpsc::UnboundedSender<Client>>>,
    /// Clients being served.
    busy: AtomicUsize,
    /// Threads alive.
    alive: AtomicUsize,
}

impl SessionThreads {
    /// Serves `client` on an idle thread, or on a new one.
    fn serve(self: &Arc<Self>, mut client: Client) {
        loop {
            let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(thread) = next else { break };
            match thread.send(client) {
                Ok(()) => return,
                // That thread ended meanwhile: try another.
                Err(mpsc::error::SendError(back)) => client = back,
            }
        }
        let threads = self.clone();
        self.alive.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("session".into())
            .spawn(move || threads.run_thread(client));
        if let Err(e) = spawned {
            self.alive.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!("cannot start a session thread: {e}");
        }
    }

    fn run_thread(self: Arc<Self>, first: Client) {
        // Counted down however the thread ends, a panic included.
        let _alive = CountedDown(&self.alive);
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::warn!("cannot start a session runtime: {e}");
                return;
            }
        };
        runtime.block_on(self.clone().thread_loop(first));
    }

    async fn thread_loop(self: Arc<Self>, first: Client) {
        let mut idle = IdleConns::default();
        let mut next = Some(first);
        let (sender, mut clients) = mpsc::unbounded_channel();
        let mut shutdown = self.shutdown.clone();
        while let Some(client) = next.take() {
            self.busy.fetch_add(1, Ordering::SeqCst);
            let busy = CountedDown(&self.busy);
            idle = match TcpStream::from_std(client.stream) {
                Ok(stream) => {
                    protocol::serve(stream, self.shared.clone(), shutdown.clone(), idle).await
                }
                Err(e) => {
                    tracing::debug!("cannot adopt a client socket: {e}");
                    idle
                }
            };
            drop(client.permit);
            drop(busy);
            if *shutdown.borrow() {
                break;
            }
            {
                let mut idle_threads = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                // Threads that ended while idle leave a closed sender behind.
                idle_threads.retain(|thread| !thread.is_closed());
                idle_threads.push(sender.clone());
            }
            next = loop {
                let shed = self.shared.shed_requested().notified();
                tokio::pin!(shed);
                shed.as_mut().enable();
                // Sessions elsewhere may be waiting for a connection this thread parks.
                idle.give_back_wanted();
                tokio::select! {
                    client = clients.recv() => break client,
                    _ = &mut shed => continue,
                    _ = shutdown.changed() => break None,
                    _ = tokio::time::sleep(THREAD_IDLE_TTL) => break None,
                }
            };
            if next.is_none() {
                // Leaving: refuse new clients, but serve one handed over meanwhile.
                clients.close();
                next = clients.try_recv().ok();
            }
        }
        idle.close().await;
    }
}

/// Takes one off a counter when dropped.
struct CountedDown<'a>(&'a AtomicUsize);

impl Drop for CountedDown<'_> {
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
    let threads = Arc::new(SessionThreads {
        shared: shared.clone(),
        shutdown: shutdown_rx,
        idle: Mutex::new(Vec::new()),
        busy: AtomicUsize::new(0),
        alive: AtomicUsize::new(0),
    });
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
            Ok(stream) => threads.serve(Client { stream, permit }),
            Err(e) => tracing::debug!("cannot hand a client over: {e}"),
        }
    }
    tracing::info!(
        "shutting down: no new connections; waiting up to {}s for running statements",
        SHUTDOWN_GRACE.as_secs()
    );
    drop(listener);
    let _ = shutdown_tx.send(true);
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while threads.busy.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let busy = threads.busy.load(Ordering::SeqCst);
    if busy > 0 {
        tracing::warn!("{busy} connections still busy; closing them");
    }
    // Idle threads close their backend connections (COM_QUIT) and end.
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads.alive.load(Ordering::SeqCst) > busy && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
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
