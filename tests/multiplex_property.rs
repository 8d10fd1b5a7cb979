//! Differential test of multiplexing: 32 clients change their session state
//! at random and probe it, through the proxy at `pool_max = 2..4`, while
//! each client's twin runs the same statements on a private direct MariaDB
//! connection (the oracle). Every answer must be identical.
//!
//! The clients go in lockstep rounds (a barrier after each operation), so
//! all 32 sessions are alive at once and share the 2 to 4 backend
//! connections: session state must follow each session to whatever
//! connection it gets. The operations are the state a proxy must carry
//! without pinning (system variables, character set, isolation) plus short
//! transactions, inserts with `LAST_INSERT_ID()`/`ROW_COUNT()` and warnings
//! with `SHOW WARNINGS`, each complete within one operation. State that may
//! pin until the client leaves (user variables, temporary tables, locks) is
//! left out here: 32 clients pinning 4 connections at a barrier would wait
//! for each other forever; the leak matrix covers those kinds.
//!
//! `PROPTEST_CASES` overrides the number of cases (default 6, ~30 s).

mod common;
mod multiplex_support;

use multiplex_support::{outcomes, within, MuxEnv, Outcome, STEP};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Clients per case.
const CLIENTS: usize = 32;

/// One client operation: statements run back to back on one session.
#[derive(Clone, Debug)]
enum Op {
    SqlMode(&'static str),
    TimeZone(&'static str),
    DivPrecision(u8),
    Names(&'static str),
    Isolation(&'static str),
    MaxStatementTime(u8),
    /// BEGIN, one insert per value, then COMMIT (true) or ROLLBACK.
    Transaction(Vec<i32>, bool),
    /// An insert and what the client asks right after it.
    InsertThenIds(i32),
    /// A statement with a warning, then SHOW WARNINGS.
    Warning(u8),
    /// A probe of everything above.
    Probe(u8),
}

impl Op {
    /// The statements of this operation for client `i` (table `c{i}`).
    fn sql(&self, i: usize) -> Vec<String> {
        match self {
            Op::SqlMode(m) => vec![format!("SET sql_mode = '{m}'")],
            Op::TimeZone(z) => vec![format!("SET time_zone = '{z}'")],
            Op::DivPrecision(n) => vec![format!("SET div_precision_increment = {n}")],
            Op::Names(c) => vec![format!("SET NAMES {c}")],
            Op::Isolation(l) => vec![format!("SET SESSION TRANSACTION ISOLATION LEVEL {l}")],
            Op::MaxStatementTime(n) => vec![format!("SET max_statement_time = {n}")],
            Op::Transaction(values, commit) => {
                let mut sql = vec!["BEGIN".to_string()];
                sql.extend(
                    values
                        .iter()
                        .map(|v| format!("INSERT INTO c{i} (v) VALUES ({v})")),
                );
                sql.push("SELECT COUNT(*), SUM(v), @@in_transaction FROM c".to_string() + &i.to_string());
                sql.push(if *commit { "COMMIT" } else { "ROLLBACK" }.to_string());
                sql
            }
            Op::InsertThenIds(v) => vec![
                format!("INSERT INTO c{i} (v) VALUES ({v})"),
                "SELECT LAST_INSERT_ID(), ROW_COUNT()".to_string(),
            ],
            Op::Warning(n) => vec![
                format!("SELECT CAST('{n}x' AS SIGNED)"),
                "SHOW WARNINGS".to_string(),
                "SELECT @@warning_count".to_string(),
            ],
            Op::Probe(which) => vec![match which % 4 {
                0 => "SELECT @@sql_mode, @@time_zone, \
                      DATE_FORMAT(CONVERT_TZ('2020-06-01 12:00:00', @@time_zone, '+00:00'), '%H:%i')"
                    .to_string(),
                1 => "SELECT @@div_precision_increment, 1 / 7, @@max_statement_time".to_string(),
                2 => "SELECT @@character_set_client, @@character_set_results, \
                      @@collation_connection, @@tx_isolation"
                    .to_string(),
                _ => format!("SELECT COUNT(*), SUM(v), @@autocommit, @@in_transaction FROM c{i}"),
            }],
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => prop::sample::select(vec!["", "ANSI_QUOTES", "TRADITIONAL", "NO_ZERO_DATE,PIPES_AS_CONCAT"])
            .prop_map(Op::SqlMode),
        1 => prop::sample::select(vec!["+00:00", "+02:00", "-05:30", "SYSTEM"]).prop_map(Op::TimeZone),
        1 => (0u8..=12).prop_map(Op::DivPrecision),
        1 => prop::sample::select(vec!["utf8mb4", "latin1", "utf8mb3", "binary"]).prop_map(Op::Names),
        1 => prop::sample::select(vec!["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
            .prop_map(Op::Isolation),
        1 => (0u8..=9).prop_map(Op::MaxStatementTime),
        1 => (prop::collection::vec(-50i32..50, 1..4), any::<bool>())
            .prop_map(|(v, c)| Op::Transaction(v, c)),
        1 => (-50i32..50).prop_map(Op::InsertThenIds),
        1 => any::<u8>().prop_map(Op::Warning),
        3 => any::<u8>().prop_map(Op::Probe),
    ]
}

/// One proxy per `pool_max`, kept for the whole test process.
fn env(pool_max: i64) -> Arc<MuxEnv> {
    static ENVS: OnceLock<Mutex<HashMap<i64, Arc<MuxEnv>>>> = OnceLock::new();
    let envs = ENVS.get_or_init(Default::default);
    let mut envs = envs.lock().expect("env cache");
    envs.entry(pool_max)
        .or_insert_with(|| {
            let setup: String = (0..CLIENTS)
                .map(|i| {
                    format!(
                        "CREATE TABLE c{i} (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB; "
                    )
                })
                .collect();
            Arc::new(MuxEnv::start(&format!("prop_{pool_max}"), pool_max, &setup, ""))
        })
        .clone()
}

/// Waits for every client to finish the round; a client stuck for longer
/// than two statement steps fails the case instead of hanging it.
async fn meet(barrier: &tokio::sync::Barrier, i: usize, round: usize) -> Option<String> {
    match tokio::time::timeout(2 * STEP, barrier.wait()).await {
        Ok(_) => None,
        Err(_) => Some(format!(
            "client {i}: the other clients did not finish round {round} within {:?} \
             (a client waits for a backend connection: expected per-statement multiplexing)",
            2 * STEP
        )),
    }
}

/// Runs one case; the first client whose answers differ, with its history.
async fn run_case(env: Arc<MuxEnv>, pool_max: i64, plans: Vec<Vec<Op>>) -> Result<(), String> {
    // Same starting rows on both sides.
    let empty: String = (0..CLIENTS)
        .map(|i| format!("TRUNCATE TABLE c{i}; "))
        .collect();
    for (db, server) in env.dbs.iter().zip(common::cluster()) {
        server.exec(&format!("USE `{db}`; {empty}"));
    }
    let rounds = plans.iter().map(Vec::len).max().unwrap_or(0);
    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for (i, plan) in plans.into_iter().enumerate() {
        let (env, barrier) = (env.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut proxy = env.client().await;
            let mut direct = env.direct(1).await;
            let mut mismatch = meet(&barrier, i, 0).await;
            let mut history = Vec::new();
            for round in 0..rounds {
                if let (Some(op), None) = (plan.get(round), &mismatch) {
                    let sql = op.sql(i);
                    let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
                    let got: Vec<Outcome> =
                        outcomes(&mut proxy, &format!("client {i}"), &sql).await;
                    let want = outcomes(&mut direct, &format!("oracle {i}"), &sql).await;
                    history.push(format!("{op:?}"));
                    if got != want {
                        mismatch = Some(format!(
                            "client {i} at pool_max {pool_max}, after {history:?}:\n  \
                             proxy:  {got:?}\n  direct: {want:?}"
                        ));
                    }
                }
                if mismatch.is_none() {
                    mismatch = meet(&barrier, i, round + 1).await;
                } else if round + 1 < rounds {
                    // Failed: stop waiting for the others; they time out at
                    // their next meeting.
                    break;
                }
            }
            let _ = proxy.disconnect().await;
            let _ = direct.disconnect().await;
            mismatch
        }));
    }
    // A client that saw a wrong answer stops, and the others then time out
    // at the barrier: the wrong answer is the failure to report.
    let mut first = None;
    let mut first_timeout = None;
    for task in tasks {
        match task.await {
            Ok(None) => {}
            Ok(Some(m)) if m.contains("did not finish round") => {
                first_timeout.get_or_insert(m);
            }
            Ok(Some(m)) => {
                first.get_or_insert(m);
            }
            Err(e) => {
                first.get_or_insert(format!("a client task failed: {e}"));
            }
        }
    }
    let first = first.or(first_timeout);
    env.assert_backend_conns_at_most(pool_max as usize, "after the case")
        .await;
    match first {
        Some(m) => Err(m),
        None => Ok(()),
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Each case runs hundreds of statements: shrink briefly.
        max_shrink_iters: 8,
        max_shrink_time: 30_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn sessions_through_the_proxy_answer_as_private_connections(
        pool_max in 2i64..=4,
        plans in prop::collection::vec(prop::collection::vec(op(), 4..10), CLIENTS),
    ) {
        let env = env(pool_max);
        let result = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(async move {
                let mut outcome = Err("did not finish".to_string());
                within(Duration::from_secs(90), async {
                    outcome = run_case(env, pool_max, plans).await;
                })
                .await;
                outcome
            });
        if let Err(m) = result {
            return Err(TestCaseError::fail(m));
        }
    }
}
