//! A zero-work TCP relay: the floor for any proxy's overhead.
//!
//! `relay LISTEN_ADDR TARGET_ADDR` accepts connections on LISTEN_ADDR and
//! copies bytes to and from TARGET_ADDR: two blocking threads per connection,
//! one per direction, TCP_NODELAY on both sockets, nothing parsed.
//! `scripts/bench.sh` measures sysbench through it next to the proxy, so the
//! proxy is judged against what merely forwarding costs on the same machine.
//!
//! Built as a bench target (`harness = false`) so it needs no extra crate;
//! `cargo bench` runs it without addresses, and then it only prints usage.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

fn main() {
    // `cargo bench` passes `--bench`; flags are not addresses.
    let addrs: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let [listen, target] = addrs.as_slice() else {
        eprintln!(
            "usage: relay LISTEN_ADDR TARGET_ADDR   (e.g. relay 127.0.0.1:3318 127.0.0.1:3306)"
        );
        return;
    };
    if let Err(e) = run(listen, target) {
        eprintln!("relay: {e}");
        std::process::exit(1);
    }
}

/// The accept loop: one pair of copying threads per client.
fn run(listen: &str, target: &str) -> io::Result<()> {
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
