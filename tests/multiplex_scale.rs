//! Many clients on few backend connections.
//!
//! - 2,000 concurrent clients × 200 statements at `pool_max = 16`, each
//!   client changing a session variable now and then and checking it reads
//!   its own value back: zero errors, and the backend never sees more than
//!   16 connections from the proxy (sampled from its process list while the
//!   clients run).
//! - 16 clients hold open transactions: every connection is pinned, so the
//!   other clients' statements wait, and after the proxy's acquire timeout
//!   fail with an error naming the data source; once the 16 commit (staying
//!   connected), everyone is served again.
//! - 5,000 idle clients: the proxy's resident memory is printed and must stay
//!   within 100 MB.
//!
//! `MUX_SCALE_CLIENTS` and `MUX_SCALE_STATEMENTS` override the first test's
//! sizes (defaults 2,000 and 200). The test process raises its open-files
//! limit as far as the hard limit allows, and the proxy inherits it.

mod common;
mod multiplex_support;

use multiplex_support::{within, MuxEnv, STEP};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POOL_MAX: i64 = 16;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Raises this process's soft open-files limit to the hard limit; returns it.
fn raise_open_files() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    // rlim_t is not u64 on every target.
    #[allow(clippy::unnecessary_cast)]
    let current = limit.rlim_cur as u64;
    current
}

/// Connects `n` clients, at most 64 logins at a time; panics if one fails.
async fn connect_many(env: &Arc<MuxEnv>, n: usize) -> Vec<Conn> {
    let (conns, failures) = try_connect_many(env, n).await;
    assert!(
        failures.is_empty(),
        "{} of {n} logins failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    conns
}

/// Connects `n` clients, at most 64 logins at a time: the clients that got
/// in, and why the others did not.
async fn try_connect_many(env: &Arc<MuxEnv>, n: usize) -> (Vec<Conn>, Vec<String>) {
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (env, gate) = (env.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            let opts = multiplex_support::quiet_opts(&env.proxy.url(
                common::APP_USER,
                common::APP_PASSWORD,
                multiplex_support::SCHEMA,
            ));
            match tokio::time::timeout(STEP, Conn::new(opts)).await {
                Ok(Ok(conn)) => Ok(conn),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no login within {STEP:?}")),
            }
        }));
    }
    let (mut conns, mut failures) = (Vec::with_capacity(n), Vec::new());
    for task in tasks {
        match task.await.expect("a login task") {
            Ok(conn) => conns.push(conn),
            Err(e) => failures.push(e),
        }
    }
    (conns, failures)
}

/// Polls the backend's process list until `stop`; the largest count seen.
fn watch_backend(env: Arc<MuxEnv>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut most = 0;
        while !stop.load(Ordering::Relaxed) {
            most = most.max(env.backend_conns().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        most.max(env.backend_conns().await)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_clients_on_sixteen_connections() {
    let limit = raise_open_files();
    let clients = env_number("MUX_SCALE_CLIENTS", 2000);
    let statements = env_number("MUX_SCALE_STATEMENTS", 200);
    assert!(
        limit as usize > 2 * clients + 100,
        "open-files limit {limit} is too low for {clients} clients (and the proxy's side)"
    );
    within(Duration::from_secs(600), async {
        let env = Arc::new(MuxEnv::start("scale", POOL_MAX, "", ""));
        let conns = connect_many(&env, clients).await;
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = watch_backend(env.clone(), stop.clone());
        let errors = Arc::new(AtomicUsize::new(0));
        let first_errors = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (i, mut conn) in conns.into_iter().enumerate() {
            let (errors, first_errors) = (errors.clone(), first_errors.clone());
            tasks.push(tokio::spawn(async move {
                let mut precision = 4;
                for n in 0..statements {
                    let sql = if n % 20 == 7 {
                        precision = (i + n) % 10;
                        format!("SET div_precision_increment = {precision}")
                    } else {
                        format!("SELECT {i}, {n}, @@div_precision_increment")
                    };
                    let result =
                        tokio::time::timeout(STEP, conn.query::<(i64, i64, i64), _>(&sql)).await;
                    let failure = match result {
                        Ok(Ok(rows)) if sql.starts_with("SET") && rows.is_empty() => None,
                        Ok(Ok(rows)) if rows == [(i as i64, n as i64, precision as i64)] => None,
                        Ok(Ok(rows)) => Some(format!("client {i}: {sql}: got {rows:?}")),
                        Ok(Err(e)) => Some(format!("client {i}: {sql}: {e}")),
                        Err(_) => Some(format!("client {i}: {sql}: no answer within {STEP:?}")),
                    };
                    if let Some(failure) = failure {
                        errors.fetch_add(1, Ordering::Relaxed);
                        let mut first = first_errors.lock().await;
                        if first.len() < 5 {
                            first.push(failure);
                        }
                        // One failure is enough: stop this client.
                        break;
                    }
                }
                let _ = conn.disconnect().await;
            }));
        }
        for task in tasks {
            task.await.expect("a client task");
        }
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let most = watcher.await.expect("the watcher");
        println!(
            "{clients} clients x {statements} statements at pool_max {POOL_MAX}: {elapsed:?}, \
             at most {most} backend connections"
        );
        let errors = errors.load(Ordering::Relaxed);
        assert_eq!(
            errors,
            0,
            "{errors} of {clients} clients failed; the first: {:#?}",
            first_errors.lock().await
        );
        assert!(
            most <= POOL_MAX as usize,
            "the backend saw {most} connections from the proxy, pool_max is {POOL_MAX}"
        );
    })
    .await;
}

/// The proxy's acquire timeout: a statement waiting longer for a backend
/// connection gets an error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_pool_makes_others_wait_time_out_and_recover() {
    raise_open_files();
    within(Duration::from_secs(120), async {
        let env = Arc::new(MuxEnv::start(
            "scale_pinned",
            POOL_MAX,
            "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB",
            "",
        ));
        let mut holders = connect_many(&env, POOL_MAX as usize).await;
        for (i, conn) in holders.iter_mut().enumerate() {
            multiplex_support::step("a holder begins", conn.query_drop("BEGIN")).await;
            multiplex_support::step(
                "a holder writes",
                conn.query_drop(format!("INSERT INTO t VALUES ({i})")),
            )
            .await;
        }
        env.assert_backend_conns_at_most(POOL_MAX as usize, "16 transactions open")
            .await;

        // Every connection is pinned: the others wait, then fail.
        let waiters = connect_many(&env, 8).await;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for mut conn in waiters {
            tasks.push(tokio::spawn(async move {
                let result = tokio::time::timeout(
                    ACQUIRE_TIMEOUT + STEP,
                    conn.query_first::<i64, _>("SELECT COUNT(*) FROM t"),
                )
                .await;
                (result, conn)
            }));
        }
        let mut waiters = Vec::new();
        for task in tasks {
            let (result, conn) = task.await.expect("a waiter");
            match result {
                Err(_) => panic!(
                    "a waiter got no answer within {:?}: expected an error once the acquire \
                     timeout ({ACQUIRE_TIMEOUT:?}) passed",
                    ACQUIRE_TIMEOUT + STEP
                ),
                Ok(Ok(n)) => panic!(
                    "a waiter was answered ({n:?}) while all {POOL_MAX} connections were pinned by \
                     open transactions"
                ),
                Ok(Err(mysql_async::Error::Server(e))) => {
                    assert!(
                        e.message.contains("ds_0"),
                        "the error names the data source: {} {} {}",
                        e.code,
                        e.state,
                        e.message
                    );
                    assert!(
                        e.code == 1105 || e.code == 1040 || e.code == 1205,
                        "a MySQL error for a pool exhausted: {} {} {}",
                        e.code,
                        e.state,
                        e.message
                    );
                }
                Ok(Err(e)) => panic!("a waiter lost its connection instead of an error: {e}"),
            }
            waiters.push(conn);
        }
        println!("waiters failed after {:?}", started.elapsed());
        env.assert_backend_conns_at_most(POOL_MAX as usize, "while waiters waited")
            .await;

        // The holders commit and stay connected: the waiters are served.
        for conn in holders.iter_mut() {
            multiplex_support::step("a holder commits", conn.query_drop("COMMIT")).await;
        }
        for conn in waiters.iter_mut() {
            let n: Option<i64> = multiplex_support::step(
                "a waiter after the holders committed (still connected)",
                conn.query_first("SELECT COUNT(*) FROM t"),
            )
            .await;
            assert_eq!(n, Some(POOL_MAX), "a waiter sees the committed rows");
        }
        for conn in holders.iter_mut() {
            let n: Option<i64> = multiplex_support::step(
                "a holder again",
                conn.query_first("SELECT COUNT(*) FROM t"),
            )
            .await;
            assert_eq!(n, Some(POOL_MAX));
        }
        env.assert_backend_conns_at_most(POOL_MAX as usize, "at the end")
            .await;
    })
    .await;
}

/// The proxy's resident memory, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proxy status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_idle_clients_memory() {
    const IDLE: usize = 5000;
    let limit = raise_open_files();
    assert!(
        limit as usize > 2 * IDLE + 100,
        "open-files limit {limit} is too low for {IDLE} clients (and the proxy's side)"
    );
    within(Duration::from_secs(300), async {
        let env = Arc::new(MuxEnv::start_with("scale_idle", 32, "", "", |rules| {
            let server = rules
                .entry("server")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            server.as_table_mut().expect("[server] is a table").insert(
                "max_connections".into(),
                toml::Value::Integer(IDLE as i64 + 100),
            );
        }));
        let before = rss_kib(env.proxy.pid());
        let (mut conns, login_failures) = try_connect_many(&env, IDLE).await;
        // Each client has been served once, then stays idle.
        let gate = Arc::new(tokio::sync::Semaphore::new(64));
        let mut tasks = Vec::new();
        for mut conn in conns.drain(..) {
            let gate = gate.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("semaphore");
                multiplex_support::step("an idle client pings", conn.ping()).await;
                conn
            }));
        }
        for task in tasks {
            conns.push(task.await.expect("a ping task"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib(env.proxy.pid());
        let connected = conns.len().max(1);
        let per_client = (after.saturating_sub(before) * 1024) / connected as u64;
        println!(
            "proxy RSS: {before} KiB before, {after} KiB with {connected} idle clients \
             ({per_client} bytes per client)"
        );
        assert!(
            login_failures.is_empty(),
            "{} of {IDLE} logins failed: {:?}",
            login_failures.len(),
            &login_failures[..login_failures.len().min(3)]
        );
        assert!(
            after <= 100 * 1024,
            "proxy RSS with {IDLE} idle clients is {after} KiB, more than 100 MB"
        );
        for conn in conns {
            drop(conn);
        }
    })
    .await;
}
