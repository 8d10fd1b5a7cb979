//! Backends that misbehave, and clients that leave at the worst moment.
//!
//! A fake backend (a small TCP server in this test) sends a proper
//! handshake and then: a malformed packet, a result cut off mid-row, no
//! answer at all, an auth switch to a plugin nobody knows, or no handshake.
//! The statement sent to it gets an error naming its data source (1105 or
//! the backend's own), the proxy does not panic, and a session on the real
//! data source goes on meanwhile.
//!
//! Against a real MariaDB at `pool_max = 1`: a client that disconnects in
//! the middle of a result or of a transaction gives its backend connection
//! back rolled back and reset, so the next client is served at once and
//! finds no lock, no row and no variable of the one that left.

mod common;
mod multiplex_support;
mod raw_client;

use common::{APP_PASSWORD, APP_USER};
use multiplex_support::{outcome, step, within, MuxEnv, SCHEMA, STEP};
use mysql_async::prelude::Queryable;
use raw_client::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How a fake backend misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// Logs in, then answers every statement with a column definition that
    /// is not one.
    Malformed,
    /// Logs in, then sends a result header, a column, half a row, and closes.
    ClosesMidResult,
    /// Logs in, then never answers a statement.
    StallsOnStatement,
    /// Sends no handshake at all.
    StallsInHandshake,
    /// Answers the handshake response with a switch to an unknown plugin.
    UnknownAuthPlugin,
}

fn write_packet(stream: &mut TcpStream, seq: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut out = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    out.push(seq);
    out.extend_from_slice(payload);
    stream.write_all(&out)
}

fn read_packet(stream: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    Ok((header[3], payload))
}

/// A protocol-10 handshake offering mysql_native_password, no DEPRECATE_EOF.
fn handshake() -> Vec<u8> {
    let capabilities: u32 = 0x0000_0001 // LONG_PASSWORD
        | 0x0000_0004 // LONG_FLAG
        | 0x0000_0008 // CONNECT_WITH_DB
        | 0x0000_0200 // PROTOCOL_41
        | 0x0000_2000 // TRANSACTIONS
        | 0x0000_8000 // SECURE_CONNECTION
        | 0x0001_0000 // MULTI_STATEMENTS
        | 0x0002_0000 // MULTI_RESULTS
        | 0x0008_0000 // PLUGIN_AUTH
        | 0x0020_0000; // PLUGIN_AUTH_LENENC_CLIENT_DATA
    let mut p = vec![10u8];
    p.extend_from_slice(b"5.5.5-10.11.19-MariaDB-fake\0");
    p.extend_from_slice(&7u32.to_le_bytes());
    p.extend_from_slice(b"abcdefgh");
    p.push(0);
    p.extend_from_slice(&(capabilities as u16).to_le_bytes());
    p.push(45);
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&((capabilities >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0u8; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0");
    p.extend_from_slice(b"mysql_native_password\0");
    p
}

const OK: &[u8] = &[0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00];

/// The statement the victim sends to the fake backend.
const VICTIM_STATEMENT: &str = "SELECT COUNT(*) FROM t";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Serves one connection of the fake backend.
fn serve(mut stream: TcpStream, fault: Fault) -> std::io::Result<()> {
    if fault == Fault::StallsInHandshake {
        std::thread::sleep(Duration::from_secs(120));
        return Ok(());
    }
    write_packet(&mut stream, 0, &handshake())?;
    let (seq, _response) = read_packet(&mut stream)?;
    if fault == Fault::UnknownAuthPlugin {
        let mut switch = vec![0xfe];
        switch.extend_from_slice(b"shardgate_no_such_plugin\0");
        switch.extend_from_slice(b"01234567890123456789\0");
        write_packet(&mut stream, seq.wrapping_add(1), &switch)?;
        // Whatever comes back, nothing more is sent.
        let _ = read_packet(&mut stream);
        std::thread::sleep(Duration::from_secs(2));
        return Ok(());
    }
    write_packet(&mut stream, seq.wrapping_add(1), OK)?;
    loop {
        let (_, command) = read_packet(&mut stream)?;
        match command.first() {
            Some(0x01) | None => return Ok(()),              // COM_QUIT
            Some(0x0e) => write_packet(&mut stream, 1, OK)?, // COM_PING
            // What the proxy sends of its own (session set-up) gets an OK;
            // the client's statement gets the fault.
            Some(_) if !contains(&command, VICTIM_STATEMENT.as_bytes()) => {
                eprintln!(
                    "fake backend: OK to {:?}",
                    String::from_utf8_lossy(&command)
                );
                write_packet(&mut stream, 1, OK)?
            }
            Some(_) => match fault {
                Fault::Malformed => {
                    write_packet(&mut stream, 1, &[1])?;
                    write_packet(&mut stream, 2, &[0xfc, 0xff, 0x7f, b'x'])?;
                    write_packet(&mut stream, 3, &[0xfe, 0, 0, 2, 0])?;
                }
                Fault::ClosesMidResult => {
                    write_packet(&mut stream, 1, &[1])?;
                    let mut column = Vec::new();
                    for part in [&b"def"[..], b"", b"", b"", b"x", b""] {
                        put_lenenc_bytes(&mut column, part);
                    }
                    column.extend_from_slice(&[0x0c, 45, 0, 10, 0, 0, 0, 253, 0, 0, 0, 0, 0]);
                    write_packet(&mut stream, 2, &column)?;
                    write_packet(&mut stream, 3, &[0xfe, 0, 0, 2, 0])?;
                    // A row header promising 100 bytes, then 3 of them.
                    stream.write_all(&[100, 0, 0, 4, 99, b'a', b'b'])?;
                    stream.shutdown(Shutdown::Both)?;
                    return Ok(());
                }
                Fault::StallsOnStatement => {
                    std::thread::sleep(Duration::from_secs(120));
                    return Ok(());
                }
                Fault::StallsInHandshake | Fault::UnknownAuthPlugin => unreachable!(),
            },
        }
    }
}

/// Starts a fake backend on a free port; serves every connection the same way.
fn fake_backend(fault: Fault) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake backend");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve(stream, fault);
            });
        }
    });
    port
}

/// A proxy with the real `ds_0` (schema `shop`) and `ds_1` on a fake
/// backend (schema `broken`).
fn start(name: &str, fault: Fault) -> MuxEnv {
    let port = fake_backend(fault);
    let extra = "\n[schemas.broken]\ndefault_data_source = \"ds_1\"\n\n\
         [[users]]\nname = \"both\"\npassword = \"both_pw\"\nschemas = [\"shop\", \"broken\"]\n";
    MuxEnv::start_with(
        name,
        4,
        "CREATE TABLE t (id INT PRIMARY KEY)",
        extra,
        |rules| {
            rules["data_sources"]["ds_1"]
                .as_table_mut()
                .expect("ds_1 is a table")
                .insert(
                    "primary".into(),
                    toml::Value::String(format!("mysql://fake:fake_pw@127.0.0.1:{port}/fake")),
                );
        },
    )
}

/// The victim's statement on the broken data source fails within `limit`
/// with an error naming it; then the victim goes on on `shop`.
async fn victim_gets_an_error(victim: &mut mysql_async::Conn, fault: Fault, limit: Duration) {
    let started = Instant::now();
    let result = tokio::time::timeout(limit, victim.query_drop(VICTIM_STATEMENT)).await;
    match result {
        Err(_) => panic!("{fault:?}: no answer within {limit:?}; expected an error naming ds_1"),
        Ok(Ok(())) => panic!("{fault:?}: a statement on a broken backend succeeded"),
        Ok(Err(mysql_async::Error::Server(e))) => {
            println!(
                "{fault:?}: {} ({}) after {:?}: {}",
                e.code,
                e.state,
                started.elapsed(),
                e.message
            );
            assert!(
                e.message.contains("ds_1"),
                "{fault:?}: the error names the data source: {}",
                e.message
            );
        }
        Ok(Err(e)) => panic!("{fault:?}: the client lost its connection instead of an error: {e}"),
    }
    // The session survives its error and still works on ds_0.
    step("USE shop", victim.query_drop("USE shop")).await;
    let n: Option<i64> = step(
        "the victim on ds_0",
        victim.query_first("SELECT COUNT(*) FROM t"),
    )
    .await;
    assert_eq!(
        n,
        Some(0),
        "the victim does not see the other session's open transaction"
    );
}

async fn fault_case(name: &str, fault: Fault, limit: Duration) {
    within(limit + Duration::from_secs(30), async {
        let env = start(name, fault);
        let mut good = env.client_as("both", "both_pw").await;
        step("a session on ds_0", good.query_drop("BEGIN")).await;
        step(
            "a session on ds_0",
            good.query_drop("INSERT INTO t VALUES (1)"),
        )
        .await;

        let mut victim = env.client_as("both", "both_pw").await;
        step("USE broken", victim.query_drop("USE broken")).await;
        if fault == Fault::StallsOnStatement {
            // A backend that is merely slow looks the same: the proxy may
            // wait as long as the client does. The client gives up; nobody
            // else is held up meanwhile.
            let waiting = tokio::spawn(async move {
                let result = victim.query_drop(VICTIM_STATEMENT).await;
                (result, victim)
            });
            tokio::time::sleep(Duration::from_secs(2)).await;
            let n: Option<i64> = step(
                "the good session while a statement stalls on ds_1",
                good.query_first("SELECT COUNT(*) FROM t"),
            )
            .await;
            assert_eq!(n, Some(1));
            assert!(!waiting.is_finished(), "the stalled statement was answered");
            waiting.abort();
        } else {
            victim_gets_an_error(&mut victim, fault, limit).await;
        }
        // The other session went on through all of it.
        let n: Option<i64> = step(
            "the good session",
            good.query_first("SELECT COUNT(*) FROM t"),
        )
        .await;
        assert_eq!(n, Some(1));
        step("the good session commits", good.query_drop("COMMIT")).await;
        assert!(
            !env.proxy.log().contains("panicked"),
            "the proxy panicked:\n{}",
            env.proxy.log()
        );
        let mut fresh = env.client().await;
        let one: Option<i64> = step("a new client", fresh.query_first("SELECT 1")).await;
        assert_eq!(one, Some(1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packet() {
    fault_case("fault_malformed", Fault::Malformed, STEP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_closes_mid_result() {
    fault_case("fault_mid_result", Fault::ClosesMidResult, STEP).await;
}

/// No handshake: the proxy's connect timeout (10 s) applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_stalls_in_the_handshake() {
    fault_case(
        "fault_stall_handshake",
        Fault::StallsInHandshake,
        Duration::from_secs(15),
    )
    .await;
}

/// A statement that gets no answer must not hang its client for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_stalls_on_a_statement() {
    fault_case(
        "fault_stall_statement",
        Fault::StallsOnStatement,
        Duration::from_secs(40),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_auth_plugin() {
    fault_case("fault_auth_plugin", Fault::UnknownAuthPlugin, STEP).await;
}

// ---------------------------------------------------------------------------
// Clients that leave at the worst moment (real MariaDB, pool_max = 1)
// ---------------------------------------------------------------------------

const LEAVERS_SETUP: &str = "CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
INSERT INTO t VALUES (1, 10), (2, 20)";

/// The next client after a leaver: served at once; no row lock, no row,
/// no user variable, no open transaction of the one that left.
async fn next_client_finds_a_clean_connection(env: &MuxEnv, what: &str) {
    let mut b = env.client().await;
    let started = Instant::now();
    let v = outcome(
        &mut b,
        "B",
        "SELECT @leaver, @@in_transaction, (SELECT COUNT(*) FROM t)",
    )
    .await;
    assert_eq!(
        v,
        Ok(vec![vec![None, Some("0".into()), Some("2".into())]]),
        "{what}: B sees none of the leaver's state"
    );
    // The leaver's row lock is gone: B updates the row at once.
    step(
        &format!("{what}: B updates the row the leaver had locked"),
        b.query_drop(
            "SET STATEMENT innodb_lock_wait_timeout = 1 FOR UPDATE t SET v = v + 1 WHERE id = 1",
        ),
    )
    .await;
    let v: Option<i64> = step("B reads", b.query_first("SELECT v FROM t WHERE id = 1")).await;
    assert_eq!(v, Some(11), "{what}: the leaver's update was rolled back");
    println!("{what}: B served after {:?}", started.elapsed());
    env.assert_backend_conns_at_most(1, what).await;
}

#[test]
fn client_disconnecting_mid_transaction_releases_a_clean_connection() {
    let env = MuxEnv::start("leaver_trx", 1, LEAVERS_SETUP, "");
    let mut a = Raw::login(env.proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    for sql in [
        "SET @leaver = 1",
        "BEGIN",
        "UPDATE t SET v = 99 WHERE id = 1",
        "INSERT INTO t VALUES (3, 30)",
    ] {
        let reply = a.query(sql);
        assert!(matches!(reply, Reply::Ok { .. }), "A: {sql}: {reply:?}");
    }
    // Gone without COM_QUIT.
    a.stream.shutdown(Shutdown::Both).expect("close A's socket");
    drop(a);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(within(
            Duration::from_secs(30),
            next_client_finds_a_clean_connection(&env, "after a disconnect mid-transaction"),
        ));
}

#[test]
fn client_disconnecting_mid_result_releases_a_clean_connection() {
    let env = MuxEnv::start("leaver_result", 1, LEAVERS_SETUP, "");
    let mut a = Raw::login(env.proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    for sql in [
        "SET @leaver = 1",
        "BEGIN",
        "UPDATE t SET v = 99 WHERE id = 1",
    ] {
        let reply = a.query(sql);
        assert!(matches!(reply, Reply::Ok { .. }), "A: {sql}: {reply:?}");
    }
    // A result far larger than the socket buffers, read only a little.
    a.command(
        COM_QUERY,
        b"SELECT seq, REPEAT('x', 1000) FROM seq_1_to_200000",
    );
    let header = a.packet();
    assert_eq!(header, vec![2], "a two-column result starts");
    a.stream.shutdown(Shutdown::Both).expect("close A's socket");
    drop(a);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(within(
            Duration::from_secs(30),
            next_client_finds_a_clean_connection(&env, "after a disconnect mid-result"),
        ));
}
