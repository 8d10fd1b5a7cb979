//! sysbench through the proxy with its tables sharded by `id` over two data
//! sources: `prepare` (CREATE TABLE, bulk INSERTs, CREATE INDEX), `run` with
//! prepared statements and with the text protocol, `cleanup`. Every row must
//! sit on the data source `id mod 2` names. Skipped, with a notice, when
//! `sysbench` is not installed (`scripts/test.sh` installs it).

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
    Command::new("sysbench")
        .arg("oltp_point_select")
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
    let out = sysbench(
        proxy,
        &[
            "--time=3",
            "--threads=2",
            &format!("--db-ps-mode={ps_mode}"),
        ],
        "run",
    );
    let report = text(&out);
    assert!(out.status.success(), "sysbench run ({ps_mode}):\n{report}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let queries = figure(&stdout, "queries:").unwrap_or(0);
    assert!(queries > 0, "no queries ({ps_mode}):\n{report}");
    assert_eq!(
        figure(&stdout, "ignored errors:"),
        Some(0),
        "errors ({ps_mode}):\n{report}"
    );
    assert!(
        !report.contains("FATAL"),
        "sysbench reported a fatal error ({ps_mode}):\n{report}"
    );
    eprintln!("sysbench oltp_point_select, db-ps-mode={ps_mode}: {queries} queries in 3 s");
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

    // Every row on the data source id mod 2 names, each id once; the
    // secondary index on every actual table.
    for t in 1..=TABLES {
        let mut all = Vec::new();
        for (i, (server, db)) in servers.iter().zip(&dbs).enumerate() {
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
            let indexes = server.query(&format!(
                "SELECT DISTINCT index_name FROM information_schema.statistics \
                 WHERE table_schema = '{db}' AND table_name = 'sbtest{t}' AND index_name <> 'PRIMARY'"
            ));
            assert_eq!(
                indexes,
                vec![vec![Some(format!("k_{t}"))]],
                "CREATE INDEX on sbtest{t} reached ds_{i}"
            );
            all.extend(ids);
        }
        all.sort_unstable();
        assert_eq!(
            all,
            (1..=TABLE_SIZE).collect::<Vec<_>>(),
            "sbtest{t}: every id exactly once"
        );
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
