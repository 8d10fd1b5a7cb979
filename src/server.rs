//! The listener: accepts clients up to `max_connections`, serves each on
//! its own task (a panic or protocol error ends only that connection), and
//! shuts down gracefully on SIGTERM/SIGINT.

use crate::error::Error;
use crate::protocol;
use crate::session::Shared;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// How long running statements may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Seconds since the server started (COM_STATISTICS).
pub fn uptime_seconds() -> u64 {
    STARTED.get().map(|t| t.elapsed().as_secs()).unwrap_or(0)
}

/// Runs the proxy until `stop` resolves.
pub async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    STARTED.get_or_init(Instant::now);
    let limit = Arc::new(Semaphore::new(
        shared.config.server.max_connections as usize,
    ));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
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
            Some(_) = connections.join_next() => continue,
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            connections.spawn(refuse_too_many(stream));
            continue;
        };
        let shared = shared.clone();
        let shutdown = shutdown_rx.clone();
        connections.spawn(async move {
            if let Err(e) = protocol::serve(stream, shared, shutdown).await {
                tracing::debug!("connection ended: {e}");
            }
            drop(permit);
        });
    }
    tracing::info!(
        "shutting down: no new connections; waiting up to {}s for running statements",
        SHUTDOWN_GRACE.as_secs()
    );
    drop(listener);
    let _ = shutdown_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("{} connections still busy; closing them", connections.len());
        connections.abort_all();
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), shared.backends.disconnect()).await;
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
