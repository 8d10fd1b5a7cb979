//! XA crash tests: the proxy (a child process) is killed with SIGKILL at
//! each step of a two-phase commit (crash points of the `failpoints`
//! feature, configured through FAILPOINTS), a backend is killed before and
//! after its PREPARE, and a bank-transfer workload runs while the proxy and
//! the backends are killed at random. After restart and recovery every
//! transfer is all or nothing, no branch of ours is left prepared, the
//! total balance never changed, and foreign XA transactions are untouched.
//!
//! Two private servers with durable InnoDB settings (a prepared branch must
//! survive `kill -9`), shared by the tests here, which take turns.
#![cfg(feature = "failpoints")]
// The servers' lock is held through a whole test on purpose (one test at a
// time kills them); every #[tokio::test] has a runtime and thread of its own.
#![allow(clippy::await_holding_lock)]

mod common;
mod xa_env;

use common::{MariaDb, Proxy};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use xa_env::*;

/// Durable redo for prepared branches; short lock waits behind in-doubt rows.
fn server_args() -> Vec<String> {
    [
        "--innodb-flush-log-at-trx-commit=1",
        "--innodb-lock-wait-timeout=3",
    ]
    .map(String::from)
    .to_vec()
}

struct Servers {
    servers: Vec<MariaDb>,
    next_db: usize,
}

/// The servers, for one test at a time.
fn servers() -> MutexGuard<'static, Servers> {
    static SERVERS: OnceLock<Mutex<Servers>> = OnceLock::new();
    SERVERS
        .get_or_init(|| {
            let servers: Vec<MariaDb> = (0..2)
                .map(|_| MariaDb::start_with(&server_args()))
                .collect();
            servers[0].exec("CREATE DATABASE foreign_db");
            plant_foreign(&servers[0], "foreign_db");
            Mutex::new(Servers {
                servers,
                next_db: 0,
            })
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

impl Servers {
    fn refs(&self) -> Vec<&MariaDb> {
        self.servers.iter().collect()
    }

    /// New bank databases, one per server.
    fn bank(&mut self) -> Vec<String> {
        self.next_db += 1;
        let dbs: Vec<String> = (0..2)
            .map(|i| format!("bank{}_{i}", self.next_db))
            .collect();
        for (server, db) in self.servers.iter().zip(&dbs) {
            server.exec(&format!("CREATE DATABASE {db}"));
        }
        create_bank(&self.refs(), &dbs);
        dbs
    }

    /// Nothing of `instance` prepared anywhere; the foreign branches still there.
    fn assert_clean(&self, instance: &str) {
        for s in &self.servers {
            assert!(
                ours(s, instance).is_empty(),
                "left prepared: {:?}",
                ours(s, instance)
            );
        }
        let foreign: Vec<String> = prepared(&self.servers[0])
            .into_iter()
            .map(|p| p.1)
            .collect();
        assert!(
            foreign.contains(&"app-xid-1".to_string())
                && foreign.contains(&"sg1:other:1:1".to_string()),
            "foreign branches touched: {foreign:?}"
        );
    }
}

fn env(failpoints: &str) -> Vec<(String, String)> {
    vec![("FAILPOINTS".to_string(), failpoints.to_string())]
}

/// Polls `check` for up to `within`.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The transfer 0 -> 1 of 10 is wholly there (`Some(true)`), wholly absent
/// (`Some(false)`), or half (`None`).
fn applied(s: &Servers, dbs: &[String]) -> Option<bool> {
    let b = balances(&s.refs(), dbs);
    let rows = ledger(&s.refs(), dbs).len();
    match (b[0].1, b[1].1, rows) {
        (990, 1010, 2) => Some(true),
        (1000, 1000, 0) => Some(false),
        _ => None,
    }
}

/// The decision log holds no open decision.
fn log_settled(proxy: &Proxy) -> bool {
    shardgate::xa::log::read_open(&proxy.data_dir().join("xa"))
        .map(|open| open.is_empty())
        .unwrap_or(false)
}

/// One row of the crash table: the proxy dies at `failpoints` during the
/// transfer; restarted, it must leave the transfer `expected` (all or none).
async fn proxy_crash(failpoints: &str, expected: Option<bool>) {
    let mut s = servers();
    let dbs = s.bank();
    let instance = instance_name();
    let mut proxy =
        Proxy::start_with_env(&rules(&s.refs(), &dbs, "xa", &instance), &env(failpoints));
    let mut c = client(proxy.port()).await;
    let result = transfer(&mut c, "x", 0, 1, 10).await;
    if failpoints.is_empty() {
        result.expect("a transfer without crash points");
    } else {
        assert!(
            result.is_err(),
            "the proxy should have died at {failpoints}"
        );
        assert!(
            proxy.wait_exit(Duration::from_secs(10)).is_some(),
            "the proxy is still running"
        );
    }
    let before = applied(&s, &dbs);
    proxy.restart_with_env(&[]);
    // Start-up recovery ran before the proxy listened.
    let after = applied(&s, &dbs);
    println!("{failpoints:?}: before recovery {before:?}, after {after:?}");
    assert!(
        after.is_some(),
        "half applied after recovery: {:?}",
        balances(&s.refs(), &dbs)
    );
    if expected.is_some() {
        assert_eq!(after, expected, "{failpoints}");
    }
    s.assert_clean(&instance);
    assert!(
        eventually(Duration::from_secs(5), || log_settled(&proxy)),
        "decisions left open"
    );
    assert_eq!(total(&s.refs(), &dbs), ACCOUNTS * START_BALANCE);
}

#[tokio::test]
async fn row1_no_crash_commits_both() {
    proxy_crash("", Some(true)).await;
}

#[tokio::test]
async fn row2_killed_after_preparing_one_branch_rolls_back() {
    proxy_crash(
        "xa-delay-later-prepares=return(3000);xa-after-first-prepare=return",
        Some(false),
    )
    .await;
}

#[tokio::test]
async fn row3_killed_after_all_prepares_rolls_back() {
    proxy_crash("xa-after-prepares=return", Some(false)).await;
}

#[tokio::test]
async fn row4_killed_after_the_decision_commits_both() {
    proxy_crash("xa-after-decision=return", Some(true)).await;
}

#[tokio::test]
async fn row5_killed_between_the_commits_commits_the_rest() {
    proxy_crash(
        "xa-delay-later-commits=return(3000);xa-after-first-commit=return",
        Some(true),
    )
    .await;
}

#[tokio::test]
async fn row6_killed_after_the_commits_writes_done() {
    proxy_crash("xa-after-commits=return", Some(true)).await;
}

#[tokio::test]
async fn killed_during_the_decision_fsync_is_all_or_nothing() {
    proxy_crash("xa-log-before-sync=return", None).await;
}

/// A backend dies during the commit; the client's answer and, after the
/// backend is back and recovery ran, the transfer's outcome.
async fn backend_crash(failpoints: &str) -> (Result<(), mysql_async::Error>, Option<bool>) {
    let mut s = servers();
    let dbs = s.bank();
    let instance = instance_name();
    let proxy = Proxy::start_with_env(&rules(&s.refs(), &dbs, "xa", &instance), &env(failpoints));
    let mut c = client(proxy.port()).await;
    let task = tokio::spawn(async move {
        let r = transfer(&mut c, "x", 0, 1, 10).await;
        (c, r)
    });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    s.servers[1].crash();
    let (_c, result) = task.await.unwrap();
    s.servers[1].restart();
    // Recovery retries every second while a primary is unreachable.
    let settled = eventually(Duration::from_secs(20), || {
        s.servers.iter().all(|srv| ours(srv, &instance).is_empty()) && applied(&s, &dbs).is_some()
    });
    assert!(settled, "not settled: {:?}", balances(&s.refs(), &dbs));
    s.assert_clean(&instance);
    assert!(
        eventually(Duration::from_secs(15), || log_settled(&proxy)),
        "decisions left open"
    );
    (result, applied(&s, &dbs))
}

#[tokio::test]
async fn row7_backend_killed_before_its_prepare_rolls_back() {
    let (result, outcome) = backend_crash("xa-delay-later-prepares=return(3000)").await;
    println!("backend killed before its prepare: client {result:?}, applied {outcome:?}");
    assert!(result.is_err(), "the client must get an error");
    assert_eq!(outcome, Some(false));
}

#[tokio::test]
async fn row8_backend_killed_after_its_prepare_commits_after_it_returns() {
    let (result, outcome) = backend_crash("xa-delay-before-decision=return(3000)").await;
    println!("backend killed after its prepare: client {result:?}, applied {outcome:?}");
    // Decided before the backend came back: OK (with a warning), never an error.
    result.expect("the decision was made: the client gets OK");
    assert_eq!(outcome, Some(true));
}

#[tokio::test]
async fn bank_transfers_survive_random_proxy_and_backend_kills() {
    use rand::Rng;
    let mut s = servers();
    let dbs = s.bank();
    let instance = instance_name();
    let mut proxy = Proxy::start_with_env(&rules(&s.refs(), &dbs, "xa", &instance), &[]);
    let port = proxy.port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for i in 0..8 {
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let mut committed = Vec::new();
            let mut attempts = 0u64;
            let mut conn: Option<mysql_async::Conn> = None;
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let c = match conn.take() {
                    Some(c) => c,
                    None => {
                        let url =
                            format!("mysql://app:app_pw@127.0.0.1:{port}/bank?prefer_socket=false");
                        match mysql_async::Conn::new(mysql_async::Opts::from_url(&url).unwrap())
                            .await
                        {
                            Ok(c) => c,
                            Err(_) => {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            }
                        }
                    }
                };
                let mut c = c;
                n += 1;
                attempts += 1;
                let (from, to, amount) = {
                    let mut rng = rand::rng();
                    let from = rng.random_range(0..ACCOUNTS);
                    // Always across data sources: the other parity.
                    let mut to = rng.random_range(0..ACCOUNTS);
                    if to % 2 == from % 2 {
                        to = (to + 1) % ACCOUNTS;
                    }
                    (from, to, rng.random_range(1..20))
                };
                let name = format!("c{i}-{n}");
                let outcome = tokio::time::timeout(
                    Duration::from_secs(15),
                    transfer(&mut c, &name, from, to, amount),
                )
                .await;
                match outcome {
                    Ok(Ok(())) => {
                        committed.push(name);
                        conn = Some(c);
                    }
                    // A statement error (deadlock, lock wait, a backend down): the session goes on.
                    Ok(Err(mysql_async::Error::Server(_))) => conn = Some(c),
                    // The proxy died: in doubt, like any lost COMMIT; reconnect.
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            (committed, attempts)
        }));
    }
    let mut backend_kills = 0;
    for round in 0..20 {
        let pause = rand::rng().random_range(200..900);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if round % 4 == 1 {
            let which = rand::rng().random_range(0..2);
            s.servers[which].crash();
            backend_kills += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
            s.servers[which].restart();
        }
        proxy.restart_with_env(&[]);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut committed = Vec::new();
    let mut attempts = 0;
    for c in clients {
        let (mine, tried) = c.await.unwrap();
        committed.extend(mine);
        attempts += tried;
    }
    // A last restart: recovery at start-up settles whatever the last kill left.
    proxy.restart_with_env(&[]);
    let settled = eventually(Duration::from_secs(20), || {
        s.servers.iter().all(|srv| ours(srv, &instance).is_empty())
    });
    assert!(settled, "branches left prepared");
    s.assert_clean(&instance);
    let refs = s.refs();
    assert_eq!(
        total(&refs, &dbs),
        ACCOUNTS * START_BALANCE,
        "money appeared or vanished"
    );
    let rows = ledger(&refs, &dbs);
    let mut by_transfer: std::collections::BTreeMap<&str, (usize, i64)> = Default::default();
    for (name, _, delta) in &rows {
        let e = by_transfer.entry(name.as_str()).or_default();
        e.0 += 1;
        e.1 += delta;
    }
    for (name, (n, sum)) in &by_transfer {
        assert!(
            *n == 2 && *sum == 0,
            "transfer {name} half applied: {n} rows, sum {sum}"
        );
    }
    for name in &committed {
        assert!(
            by_transfer.contains_key(name.as_str()),
            "{name} was acknowledged but is not stored"
        );
    }
    for (id, balance) in balances(&refs, &dbs) {
        let moved: i64 = rows.iter().filter(|r| r.1 == id).map(|r| r.2).sum();
        assert_eq!(balance, START_BALANCE + moved, "account {id}");
    }
    println!(
        "bank: {attempts} attempts, {} acknowledged, {} stored, 20 proxy kills, {backend_kills} backend kills",
        committed.len(),
        by_transfer.len()
    );
    assert!(
        committed.len() > 20,
        "too few transfers got through: {}",
        committed.len()
    );
}
