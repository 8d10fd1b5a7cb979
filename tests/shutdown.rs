//! Graceful shutdown: on SIGTERM/SIGINT the proxy stops accepting clients,
//! lets running statements finish (up to a grace period of about 10 s),
//! closes idle connections, and exits with status 0.

mod common;

use common::{cluster, fresh_databases, passthrough_rules, Proxy, APP_PASSWORD, APP_USER};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const SCHEMA: &str = "shop";

fn start(prefix: &str) -> (Proxy, Vec<String>) {
    let dbs = fresh_databases(prefix);
    (Proxy::start(&passthrough_rules(SCHEMA, &dbs)), dbs)
}

async fn client(proxy: &Proxy) -> Conn {
    Conn::from_url(proxy.url(APP_USER, APP_PASSWORD, SCHEMA))
        .await
        .expect("connect through the proxy")
}

/// Waits until the backend runs a statement containing `needle`.
async fn wait_running_on_backend(needle: &str) {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{needle}%' \
         AND INFO NOT LIKE '%PROCESSLIST%'"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sql = sql.clone();
        let rows = tokio::task::spawn_blocking(move || cluster()[0].query(&sql))
            .await
            .unwrap();
        if rows[0][0].as_deref() != Some("0") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{needle} never reached the backend"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a TCP connection to the proxy's port is refused now.
fn refused(proxy: &Proxy) -> bool {
    TcpStream::connect_timeout(&proxy.addr().parse().unwrap(), Duration::from_millis(200)).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_statement_finish_then_exits() {
    let (mut proxy, _) = start("sigterm");
    let mut idle = client(&proxy).await;
    assert_eq!(
        idle.query_first::<i64, _>("SELECT 1").await.unwrap(),
        Some(1)
    );
    let mut busy = client(&proxy).await;
    let started = Instant::now();
    let running = tokio::spawn(async move {
        let v: Option<i64> = busy.query_first("SELECT SLEEP(2) AS slept").await?;
        Ok::<_, mysql_async::Error>((v, started.elapsed()))
    });
    wait_running_on_backend("SLEEP(2)").await;

    proxy.signal("TERM");
    let signalled = Instant::now();

    // New clients are refused at once, while the statement still runs.
    let deadline = Instant::now() + Duration::from_secs(1);
    while !refused(&proxy) {
        assert!(
            Instant::now() < deadline,
            "still accepting connections 1 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!running.is_finished(), "the statement ended early");

    // The running statement completes normally (SLEEP returns 1 when interrupted).
    let (value, took) = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the running statement never finished")
        .unwrap()
        .expect("the running statement failed");
    assert_eq!(value, Some(0), "SLEEP was interrupted");
    assert!(took >= Duration::from_millis(1900), "{took:?}");

    // The idle client was disconnected.
    let after = tokio::time::timeout(
        Duration::from_secs(5),
        idle.query_first::<i64, _>("SELECT 2"),
    )
    .await
    .expect("an idle client hung after shutdown");
    assert!(
        after.is_err(),
        "an idle client still got answers: {after:?}"
    );

    // And the proxy exits, well within the grace period, with status 0.
    let status = tokio::task::spawn_blocking(move || {
        let status = proxy.wait_exit(Duration::from_secs(12));
        (status, proxy.log())
    })
    .await
    .unwrap();
    let (status, log) = status;
    let status = status.unwrap_or_else(|| panic!("the proxy did not exit:\n{log}"));
    assert!(status.success(), "exit status {status}:\n{log}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "took {:?} to exit",
        signalled.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_on_an_idle_proxy_exits_at_once() {
    let (mut proxy, _) = start("sigint");
    let mut idle = client(&proxy).await;
    assert_eq!(
        idle.query_first::<i64, _>("SELECT 1").await.unwrap(),
        Some(1)
    );
    proxy.signal("INT");
    let started = Instant::now();
    let (status, log) = tokio::task::spawn_blocking(move || {
        let status = proxy.wait_exit(Duration::from_secs(12));
        (status, proxy.log())
    })
    .await
    .unwrap();
    let status = status.unwrap_or_else(|| panic!("the proxy did not exit:\n{log}"));
    assert!(status.success(), "exit status {status}:\n{log}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "an idle proxy took {:?} to exit",
        started.elapsed()
    );
    drop(idle);
}

/// A client in the middle of a transaction when the proxy stops: its
/// uncommitted work is rolled back, not committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_transactions_are_rolled_back_at_shutdown() {
    let (mut proxy, dbs) = start("sigterm_tx");
    let mut conn = client(&proxy).await;
    conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY)")
        .await
        .unwrap();
    conn.query_drop("BEGIN").await.unwrap();
    conn.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
    proxy.signal("TERM");
    let (status, log) = tokio::task::spawn_blocking(move || {
        let status = proxy.wait_exit(Duration::from_secs(12));
        (status, proxy.log())
    })
    .await
    .unwrap();
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
    let db = dbs[0].clone();
    let rows = tokio::task::spawn_blocking(move || {
        cluster()[0].query(&format!("SELECT COUNT(*) FROM `{db}`.t"))
    })
    .await
    .unwrap();
    assert_eq!(rows, vec![vec![Some("0".to_string())]]);
    drop(conn);
}

/// A statement that outlasts the grace period does not keep the proxy
/// alive: the proxy gives up on it and exits; the client gets an error,
/// not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_longer_than_the_grace_period_does_not_block_exit() {
    let (mut proxy, _) = start("sigterm_long");
    let mut busy = client(&proxy).await;
    let running = tokio::spawn(async move {
        busy.query_first::<i64, _>("SELECT SLEEP(25) AS long_sleep")
            .await
    });
    wait_running_on_backend("SLEEP(25)").await;
    proxy.signal("TERM");
    let started = Instant::now();
    let (status, log) = tokio::task::spawn_blocking(move || {
        let status = proxy.wait_exit(Duration::from_secs(20));
        (status, proxy.log())
    })
    .await
    .unwrap();
    let status = status.unwrap_or_else(|| panic!("the proxy did not exit:\n{log}"));
    assert!(
        started.elapsed() < Duration::from_secs(17),
        "took {:?} to exit",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "exited after {:?}, before the grace period",
        started.elapsed()
    );
    assert!(status.success(), "exit status {status}:\n{log}");
    let result = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the client hung after the proxy exited")
        .unwrap();
    assert!(result.is_err(), "{result:?}");
}
