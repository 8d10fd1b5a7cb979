//! A zero-work TCP relay: the floor for any proxy's overhead.
//!
//! `relay [--mode MODE] LISTEN_ADDR TARGET_ADDR` accepts connections on
//! LISTEN_ADDR and copies bytes to and from TARGET_ADDR, TCP_NODELAY on both
//! sockets, nothing parsed. MODE says how the bytes are copied:
//!
//! - `blocking` (the default): two blocking threads per connection, one per
//!   direction.
//! - `tokio`: one task per connection doing `tokio::io::copy_bidirectional`
//!   on a multi-thread runtime built as shardgate builds its own, so it is
//!   the ceiling for any proxy hop on that runtime.
//! - `tokio-tpc`: the same copy, but a thread per connection, each with a
//!   current-thread runtime of its own: tokio's I/O without its scheduler.
//!
//! `scripts/bench.sh` measures sysbench through it next to the proxy, so the
//! proxy is judged against what merely forwarding costs on the same machine.
//!
//! Built as a bench target (`harness = false`) so it needs no extra crate;
//! `cargo bench` runs it without addresses, and then it only prints usage.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

const USAGE: &str = "usage: relay [--mode blocking|tokio|tokio-tpc] LISTEN_ADDR TARGET_ADDR   \
                     (e.g. relay 127.0.0.1:3318 127.0.0.1:3306)";

fn main() {
    // `cargo bench` passes `--bench`; flags other than --mode are ignored.
    let mut mode = String::from("blocking");
    let mut addrs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--mode" {
            mode = args.next().unwrap_or_default();
        } else if let Some(m) = arg.strip_prefix("--mode=") {
            mode = m.to_string();
        } else if !arg.starts_with('-') {
            addrs.push(arg);
        }
    }
    let [listen, target] = addrs.as_slice() else {
        eprintln!("{USAGE}");
        return;
    };
    let result = match mode.as_str() {
        "blocking" => run(listen, target, serve),
        "tokio" => run_tokio(listen, target),
        "tokio-tpc" => run(listen, target, serve_tpc),
        _ => {
            eprintln!("relay: unknown mode {mode:?}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("relay: {e}");
        std::process::exit(1);
    }
}

/// The blocking accept loop: one thread per client, running `serve`.
fn run(listen: &str, target: &str, serve: fn(TcpStream, &str) -> io::Result<()>) -> io::Result<()> {
    let listener = TcpListener::bind(listen)?;
    eprintln!("relay: {} -> {target}", listener.local_addr()?);
    for client in listener.incoming() {
        match client {
            Ok(client) => {
                let target = target.to_string();
                thread::spawn(move || {
                    if let Err(e) = serve(client, &target) {
                        eprintln!("relay: connection to {target}: {e}");
                    }
                });
            }
            Err(e) => eprintln!("relay: accept: {e}"),
        }
    }
    Ok(())
}

/// Connects to the target and copies both ways until both sides are done.
fn serve(client: TcpStream, target: &str) -> io::Result<()> {
    let server = TcpStream::connect(target)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_in, server_out) = (client.try_clone()?, server.try_clone()?);
    let upstream = thread::spawn(move || pipe(client_in, server_out));
    pipe(server, client);
    let _ = upstream.join();
    Ok(())
}

/// Copies `from` to `to` until EOF or an error, then passes the EOF on.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// The tokio accept loop: one task per client on a multi-thread runtime.
fn run_tokio(listen: &str, target: &str) -> io::Result<()> {
    // As in src/main.rs: the defaults, i.e. one worker per core (or
    // TOKIO_WORKER_THREADS), so the relay gets the proxy's parallelism.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        eprintln!("relay: {} -> {target}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((client, _)) => {
                    let target = target.to_string();
                    tokio::spawn(async move {
                        if let Err(e) = copy_async(client, &target).await {
                            eprintln!("relay: connection to {target}: {e}");
                        }
                    });
                }
                Err(e) => eprintln!("relay: accept: {e}"),
            }
        }
    })
}

/// `serve` for `tokio-tpc`: the copy of `tokio` on this thread's own runtime.
fn serve_tpc(client: TcpStream, target: &str) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        // Tokio wants a non-blocking socket registered with its reactor.
        client.set_nonblocking(true)?;
        copy_async(tokio::net::TcpStream::from_std(client)?, target).await
    })
}

/// Connects to the target and copies both ways until both sides are done.
/// As in `pipe`, an error while copying just ends the connection.
async fn copy_async(mut client: tokio::net::TcpStream, target: &str) -> io::Result<()> {
    let mut server = tokio::net::TcpStream::connect(target).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    Ok(())
}
