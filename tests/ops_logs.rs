//! The proxy's logs through the running binary: `--log-format json` (every
//! line a JSON object), one line per connection opened / closed / refused
//! and per reload, slow statements at WARN with user, schema, data sources,
//! time and the statement cut short, the `RUST_LOG` filter, the endpoint
//! state changes of the health checks, and `server.audit_log` (JSON lines,
//! appended to, reopened on SIGHUP for log rotation).

mod common;
mod ops_env;

use common::{free_port, MariaDb, Proxy, APP_PASSWORD, APP_USER};
use mysql_async::prelude::*;
use ops_env::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every line of the proxy's log as JSON; panics on a line that is not.
fn json_lines(proxy: &Proxy) -> Vec<Value> {
    proxy
        .log()
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
        })
        .collect()
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or("")
}

/// The JSON lines whose message starts with `prefix`.
fn with_message(proxy: &Proxy, prefix: &str) -> Vec<Value> {
    json_lines(proxy)
        .into_iter()
        .filter(|l| message(l).starts_with(prefix))
        .collect()
}

/// Waits until `enough` holds for the lines starting with `prefix`.
fn wait_for_lines(proxy: &Proxy, prefix: &str, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines = with_message(proxy, prefix);
        if enough(&lines) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "no such lines {prefix:?}:\n{}",
            proxy.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The audit log's lines after `skip` as JSON.
fn audit_lines(path: &Path, skip: usize) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .skip(skip)
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line ({e}): {l}")))
        .collect()
}

fn with_statement<'a>(lines: &'a [Value], sql: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["statement"] == sql)
        .unwrap_or_else(|| panic!("no audit line for {sql:?} in {lines:#?}"))
}

#[tokio::test]
async fn json_lines_for_connections_reloads_slow_statements_and_the_audit_log() {
    let dbs = common::fresh_databases("ops_logs");
    let admin_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    // The audit log is appended to: what is there stays.
    std::fs::write(&audit, "{\"earlier\":true}\n").unwrap();
    let server = format!(
        "[server]\nslow_query_ms = 300\nmax_connections = 2\naudit_log = \"{}\"\n",
        audit.display()
    );
    let rules = kv_rules(&dbs, admin_port, "").replacen("[server]\n", &server, 1);
    let mut proxy = Proxy::start_with_args(&rules, &["--log-format", "json"], &[]);

    let mut app = app_conn(&proxy).await;
    create_kv(&mut app, "(1, 'one')").await;
    let fast = "SELECT v FROM t_kv WHERE id = 1";
    let v: Option<String> = app.query_first(fast).await.unwrap();
    assert_eq!(v.as_deref(), Some("one"));
    // Slow, on ds_1 only (1 mod 2).
    let slow = "SELECT v, SLEEP(0.4) FROM t_kv WHERE id = 1";
    app.query_drop(slow).await.unwrap();
    // Slow and longer than the 1,024 characters a log line keeps.
    let long = format!("SELECT SLEEP(0.4), '{}'", "x".repeat(2000));
    app.query_drop(&long).await.unwrap();
    let e = app.query_drop("SELEC oops").await.unwrap_err();
    assert!(e.to_string().contains("1064"), "{e}");

    let slow_lines = with_message(&proxy, "slow statement");
    assert_eq!(slow_lines.len(), 2, "{slow_lines:#?}");
    let first = &slow_lines[0];
    assert_eq!(first["level"], "WARN", "{first}");
    let fields = &first["fields"];
    assert_eq!(fields["user"], APP_USER, "{first}");
    assert_eq!(fields["schema"], "app", "{first}");
    assert_eq!(fields["data_sources"], "ds_1", "{first}");
    assert_eq!(fields["statement"], slow, "{first}");
    assert!(fields["ms"].as_u64().unwrap() >= 400, "{first}");
    let cut = slow_lines[1]["fields"]["statement"].as_str().unwrap();
    assert_eq!(cut, format!("{}...", &long[..1024]));

    // A refused login, and a connection past max_connections (2: app and
    // admin). The refused login's slot is given back just after it closes,
    // so the admin's login may be refused too; each refusal is counted.
    let opts = mysql_async::Opts::from_url(&proxy.url(APP_USER, "wrong", "app")).unwrap();
    let e = mysql_async::Conn::new(opts).await.unwrap_err();
    assert!(e.to_string().contains("1045"), "{e}");
    let mut too_many = 0;
    let admin_opts =
        mysql_async::Opts::from_url(&proxy.url(ADMIN_USER, ADMIN_PASSWORD, "app")).unwrap();
    let mut admin = loop {
        match mysql_async::Conn::new(admin_opts.clone()).await {
            Ok(conn) => break conn,
            Err(e) if e.to_string().contains("1040") && too_many < 20 => too_many += 1,
            Err(e) => panic!("admin login: {e}\n{}", proxy.log()),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let opts = mysql_async::Opts::from_url(&proxy.url(APP_USER, APP_PASSWORD, "app")).unwrap();
    let e = mysql_async::Conn::new(opts).await.unwrap_err();
    assert!(e.to_string().contains("1040"), "{e}");
    too_many += 1;
    let refused = with_message(&proxy, "connection refused");
    assert_eq!(refused.len(), too_many, "{refused:#?}");
    assert!(message(&refused[0]).contains("max_connections"));
    assert_eq!(with_message(&proxy, "login refused").len(), 1);
    let (_, text) = http_get(&format!("127.0.0.1:{admin_port}"), "/metrics");
    assert_eq!(
        metric(&text, "shardgate_client_connections_refused_total"),
        Some(too_many as f64),
        "{text}"
    );

    // Reloads: a refused one and a good one, each a line.
    proxy.rewrite_config(&rules.replace("type = \"mod\"", "type = \"modulo\""));
    admin.query_drop("RELOAD CONFIG").await.unwrap_err();
    let line = &with_message(&proxy, "reload refused")[0];
    assert_eq!(line["level"], "WARN", "{line}");
    assert!(message(line).contains("schemas.app.algorithms.m"), "{line}");
    proxy.rewrite_config(&rules);
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    assert_eq!(with_message(&proxy, "reloaded").len(), 1);

    // The audit log: the earlier line kept, then one line per statement.
    let earlier = std::fs::read_to_string(&audit).unwrap();
    assert!(earlier.starts_with("{\"earlier\":true}\n"), "{earlier}");
    let lines = audit_lines(&audit, 1);
    let insert = with_statement(&lines, "INSERT INTO t_kv (id, v) VALUES (1, 'one')");
    assert_eq!(insert["user"], APP_USER, "{insert}");
    assert_eq!(insert["schema"], "app", "{insert}");
    assert_eq!(insert["client"], "127.0.0.1", "{insert}");
    assert_eq!(
        insert["data_sources"],
        serde_json::json!(["ds_1"]),
        "{insert}"
    );
    assert_eq!(insert["rows"], 1, "{insert}");
    assert!(insert["error"].is_null(), "{insert}");
    let read = with_statement(&lines, fast);
    assert_eq!(read["rows"], 1, "{read}");
    assert!(read["duration_ms"].as_f64().unwrap() >= 0.0, "{read}");
    let slow_audit = with_statement(&lines, slow);
    assert!(slow_audit["duration_ms"].as_f64().unwrap() >= 400.0);
    let bad = with_statement(&lines, "SELEC oops");
    assert!(bad["error"].as_str().unwrap().contains("1064"), "{bad}");
    assert!(with_statement(&lines, "RELOAD CONFIG")["user"] == ADMIN_USER);

    // Rotation: the file is moved away, SIGHUP reopens the path.
    let rotated = dir.path().join("audit.jsonl.1");
    std::fs::rename(&audit, &rotated).unwrap();
    let before = std::fs::read_to_string(&rotated).unwrap();
    proxy.signal("HUP");
    wait_for_lines(&proxy, "reloaded", |l| l.len() == 2);
    // The path is reopened just after the reload's line.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !audit.exists() {
        assert!(Instant::now() < deadline, "audit log not reopened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = "SELECT v FROM t_kv WHERE id = 1 AND v = 'one'";
    let v: Option<String> = app.query_first(after).await.unwrap();
    assert_eq!(v.as_deref(), Some("one"));
    let fresh = audit_lines(&audit, 0);
    with_statement(&fresh, after);
    assert_eq!(std::fs::read_to_string(&rotated).unwrap(), before);

    // One line per connection opened and closed, in the connection's span.
    drop(app.disconnect().await);
    drop(admin.disconnect().await);
    // The harness's probe that the port listens, app, the refused login,
    // admin; the connections past the limit never opened.
    let opened = with_message(&proxy, "connection opened");
    assert_eq!(opened.len(), 4, "{}", proxy.log());
    let span = &opened[0]["span"];
    assert_eq!(span["name"], "conn", "{}", opened[0]);
    assert!(span["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    let closed = wait_for_lines(&proxy, "connection closed", |l| l.len() >= 4);
    assert_eq!(closed.len(), 4, "{closed:#?}");
    let mut ids: Vec<_> = opened.iter().map(|l| l["span"]["id"].clone()).collect();
    let mut closed_ids: Vec<_> = closed.iter().map(|l| l["span"]["id"].clone()).collect();
    ids.sort_by_key(|v| v.to_string());
    closed_ids.sort_by_key(|v| v.to_string());
    assert_eq!(ids, closed_ids);
}

/// `RUST_LOG` filters: at `warn` the per-connection INFO lines go, the
/// slow statement's WARN stays.
#[tokio::test]
async fn rust_log_filters_the_lines() {
    let dbs = common::fresh_databases("ops_logs_filter");
    let rules = kv_rules(&dbs, free_port(), "").replacen(
        "[server]\n",
        "[server]\nslow_query_ms = 200\n",
        1,
    );
    let env = [("RUST_LOG".to_string(), "warn".to_string())];
    let proxy = Proxy::start_with_args(&rules, &[], &env);
    let mut app = app_conn(&proxy).await;
    app.query_drop("SELECT SLEEP(0.3)").await.unwrap();
    drop(app.disconnect().await);
    let log = proxy.log();
    assert!(log.contains("slow statement"), "{log}");
    assert!(log.contains("WARN"), "{log}");
    assert!(!log.contains("connection opened"), "{log}");
    assert!(!log.contains("INFO"), "{log}");
}

/// The health checks log an endpoint that goes down and comes back, each
/// once, naming the data source and the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_going_down_and_up_is_logged() {
    let mut server = MariaDb::start();
    server.exec("CREATE DATABASE far");
    let admin_port = free_port();
    let dbs = common::fresh_databases("ops_logs_down");
    let rules = format!(
        "{}\n[data_sources.ds_far]\nprimary = \"{}\"\n",
        kv_rules(&dbs, admin_port, "").replacen(
            "[server]\n",
            "[server]\nhealth_check_interval_ms = 100\n",
            1
        ),
        server.data_source_url("far")
    );
    let proxy = Proxy::start_with_args(&rules, &["--log-format", "json"], &[]);
    let endpoint = format!("127.0.0.1:{}", server.port());
    let healthy = || {
        let (_, text) = http_get(&format!("127.0.0.1:{admin_port}"), "/metrics");
        metric(&text, "shardgate_endpoint_healthy{data_source=\"ds_far\"}")
    };
    assert_eq!(healthy(), Some(1.0));

    tokio::task::block_in_place(|| server.kill_hard());
    let down = wait_for_lines(&proxy, "endpoint is down", |l| !l.is_empty());
    assert_eq!(down[0]["level"], "WARN", "{}", down[0]);
    assert_eq!(down[0]["fields"]["data_source"], "ds_far", "{}", down[0]);
    let address = down[0]["fields"]["endpoint"].as_str().unwrap();
    assert!(address.contains(&endpoint), "{address}");
    assert_eq!(healthy(), Some(0.0));

    tokio::task::block_in_place(|| server.restart());
    let up = wait_for_lines(&proxy, "endpoint is up again", |l| !l.is_empty());
    assert_eq!(up[0]["fields"]["data_source"], "ds_far", "{}", up[0]);
    // Let a few more checks pass: a state change is one line, not one per check.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(with_message(&proxy, "endpoint is down").len(), 1);
    assert_eq!(with_message(&proxy, "endpoint is up again").len(), 1);
    assert_eq!(healthy(), Some(1.0));
    // Only ds_far changed state.
    assert!(json_lines(&proxy)
        .iter()
        .filter(|l| message(l).starts_with("endpoint is"))
        .all(|l| l["fields"]["data_source"] == "ds_far"));
}
