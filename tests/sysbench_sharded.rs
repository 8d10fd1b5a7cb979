//! sysbench through the proxy with its tables sharded by `id` over two data
//! sources: `prepare` (CREATE TABLE, bulk INSERTs, CREATE INDEX), `run` with
//! prepared statements and with the text protocol, `cleanup`. Every row must
//! sit on the data source `id mod 2` names. Skipped, with a notice, when
//! `sysbench` is not installed (`scripts/test.sh` installs it).
//!
//! `oltp_point_select` reads one node per query; `oltp_read_only` and
//! `oltp_read_write` also read ranges across both data sources inside
//! transactions, with ORDER BY, SUM and DISTINCT that the proxy merges.

mod common;

use common::{cluster, data_sources_toml, fresh_databases, Proxy, APP_PASSWORD, APP_USER};
use std::process::{Command, Output, Stdio};

const SCHEMA: &str = "sbtest";
const TABLES: usize = 2;
const TABLE_SIZE: i64 = 1000;

fn sysbench_installed() -> bool {
    Command::new("sysbench")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The rule file: `sbtest1`..`sbtestN` on `ds_0`/`ds_1`, by `id mod 2`.
fn rules(dbs: &[String]) -> String {
    let mut rules = format!(
        "[[users]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\nschemas = [\"{SCHEMA}\"]\n\n"
    );
    rules.push_str(&data_sources_toml(dbs));
    rules.push_str(&format!(
        "[schemas.{SCHEMA}]\ndefault_data_source = \"ds_0\"\n\n"
    ));
    for t in 1..=TABLES {
        rules.push_str(&format!(
            "[schemas.{SCHEMA}.tables.sbtest{t}]\n\
             nodes = \"ds_${{0..1}}.sbtest{t}\"\n\
             sharding = {{ column = \"id\", algorithm = \"id_mod\" }}\n\n"
        ));
    }
    rules.push_str(&format!(
        "[schemas.{SCHEMA}.algorithms]\nid_mod = {{ type = \"mod\" }}\n"
    ));
    rules
}

fn sysbench(proxy: &Proxy, extra: &[&str], command: &str) -> Output {
    sysbench_test(proxy, "oltp_point_select", extra, command)
}

/// Runs sysbench's `test` (a bundled Lua workload) with `command`.
fn sysbench_test(proxy: &Proxy, test: &str, extra: &[&str], command: &str) -> Output {
    Command::new("sysbench")
        .arg(test)
        .arg("--db-driver=mysql")
        .arg("--mysql-host=127.0.0.1")
        .arg(format!("--mysql-port={}", proxy.port()))
        .arg(format!("--mysql-user={APP_USER}"))
        .arg(format!("--mysql-password={APP_PASSWORD}"))
        .arg(format!("--mysql-db={SCHEMA}"))
        .arg(format!("--tables={TABLES}"))
        .arg(format!("--table-size={TABLE_SIZE}"))
        .arg("--auto_inc=off")
        .args(extra)
        .arg(command)
        .stdin(Stdio::null())
        .output()
        .expect("run sysbench")
}

fn text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The number after `label` on its line of sysbench's report.
fn figure(stdout: &str, label: &str) -> Option<u64> {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Runs the point-select workload for 3 s; asserts queries and no errors.
fn run_workload(proxy: &Proxy, ps_mode: &str) {
    if let Err(e) = run_test(proxy, "oltp_point_select", ps_mode) {
        panic!("{e}");
    }
}

/// Runs workload `test` for 3 s: queries and no errors, or what went wrong.
fn run_test(proxy: &Proxy, test: &str, ps_mode: &str) -> Result<(), String> {
    // Writers on two threads can deadlock across data sources, which no
    // backend sees (each holds half): local-mode transactions then wait for
    // innodb_lock_wait_timeout. One writer thread keeps the run exact.
    let threads = if test == "oltp_read_write" {
        "--threads=1"
    } else {
        "--threads=2"
    };
    let out = sysbench_test(
        proxy,
        test,
        &["--time=3", threads, &format!("--db-ps-mode={ps_mode}")],
        "run",
    );
    let report = || format!("{}\n--- proxy log (tail):\n{}", text(&out), log_tail(proxy));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let queries = figure(&stdout, "queries:").unwrap_or(0);
    let errors = figure(&stdout, "ignored errors:");
    let transactions = figure(&stdout, "transactions:").unwrap_or(0);
    let tolerated = 0;
    let problem = if !out.status.success() {
        Some("failed")
    } else if text(&out).contains("FATAL") {
        Some("reported a fatal error")
    } else if queries == 0 {
        Some("ran no queries")
    } else if errors.is_none_or(|e| e > tolerated) || transactions == 0 {
        Some("reported errors")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(format!(
            "sysbench {test} (db-ps-mode={ps_mode}) {problem}:\n{}",
            report()
        ));
    }
    eprintln!(
        "sysbench {test}, db-ps-mode={ps_mode}: {queries} queries, {transactions} transactions in 3 s"
    );
    Ok(())
}

/// The last lines of the proxy's log, for failure messages.
fn log_tail(proxy: &Proxy) -> String {
    let log = proxy.log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Every row of every table on the data source `id mod 2` names, each id
/// once; returns each table's ids, sorted.
fn assert_placement(dbs: &[String]) -> Vec<Vec<i64>> {
    let mut tables = Vec::new();
    for t in 1..=TABLES {
        let mut all = Vec::new();
        for (i, (server, db)) in cluster().iter().zip(dbs).enumerate() {
            let ids: Vec<i64> = server
                .query(&format!("SELECT id FROM `{db}`.sbtest{t}"))
                .into_iter()
                .map(|r| r[0].as_deref().unwrap().parse().unwrap())
                .collect();
            let misplaced: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|id| id.rem_euclid(2) as usize != i)
                .collect();
            assert!(
                misplaced.is_empty(),
                "sbtest{t} on ds_{i} holds ids of the other data source: {misplaced:?}"
            );
            all.extend(ids);
        }
        all.sort_unstable();
        let n = all.len();
        let mut distinct = all.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), n, "sbtest{t}: an id on both data sources");
        tables.push(all);
    }
    tables
}

#[test]
fn sysbench_prepares_and_runs_through_the_proxy_on_sharded_tables() {
    if !sysbench_installed() {
        eprintln!("NOTICE: sysbench is not installed; skipping (scripts/test.sh installs it)");
        return;
    }
    let dbs = fresh_databases("sysbench");
    let proxy = Proxy::start(&rules(&dbs));
    let servers = cluster();

    let out = sysbench(&proxy, &["--threads=2"], "prepare");
    assert!(
        out.status.success(),
        "sysbench prepare:\n{}\n--- proxy log:\n{}",
        text(&out),
        proxy.log()
    );

    // Every row on the data source id mod 2 names, each id once.
    for (t, ids) in (1..=TABLES).zip(assert_placement(&dbs)) {
        assert_eq!(
            ids,
            (1..=TABLE_SIZE).collect::<Vec<_>>(),
            "sbtest{t}: every id exactly once"
        );
    }
    // The secondary index on every actual table.
    for t in 1..=TABLES {
        for (i, (server, db)) in servers.iter().zip(&dbs).enumerate() {
            let indexes = server.query(&format!(
                "SELECT DISTINCT index_name FROM information_schema.statistics \
                 WHERE table_schema = '{db}' AND table_name = 'sbtest{t}' AND index_name <> 'PRIMARY'"
            ));
            assert_eq!(
                indexes,
                vec![vec![Some(format!("k_{t}"))]],
                "CREATE INDEX on sbtest{t} reached ds_{i}"
            );
        }
    }

    run_workload(&proxy, "auto");
    run_workload(&proxy, "disable");

    let out = sysbench(&proxy, &[], "cleanup");
    assert!(out.status.success(), "sysbench cleanup:\n{}", text(&out));
    for (i, (server, db)) in servers.iter().zip(&dbs).enumerate() {
        let left = server.query(&format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '{db}'"
        ));
        assert!(
            left.is_empty(),
            "tables left on ds_{i} after cleanup: {left:?}"
        );
    }
}

/// `oltp_read_only` and `oltp_read_write` (ranges across both data sources
/// with ORDER BY, SUM, DISTINCT, inside transactions; writes by id), each
/// with prepared statements and with the text protocol.
#[test]
fn sysbench_read_only_and_read_write_run_through_the_proxy() {
    if !sysbench_installed() {
        eprintln!("NOTICE: sysbench is not installed; skipping (scripts/test.sh installs it)");
        return;
    }
    let dbs = fresh_databases("sysbench_rw");
    let proxy = Proxy::start(&rules(&dbs));
    let out = sysbench(&proxy, &["--threads=2"], "prepare");
    assert!(
        out.status.success(),
        "sysbench prepare:\n{}\n--- proxy log:\n{}",
        text(&out),
        proxy.log()
    );
    let mut failures = Vec::new();
    for test in ["oltp_read_only", "oltp_read_write"] {
        for ps_mode in ["auto", "disable"] {
            if let Err(e) = run_test(&proxy, test, ps_mode) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} sysbench runs failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert_placement(&dbs);
    let out = sysbench(&proxy, &[], "cleanup");
    assert!(out.status.success(), "sysbench cleanup:\n{}", text(&out));
}
