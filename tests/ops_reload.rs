//! Hot reload through the running proxy: `RELOAD CONFIG` (admin only) and
//! SIGHUP; invalid files refused with key-path errors while the running rules
//! stay; new tables, data sources and users in force at once; 50 reloads
//! under 32 busy clients without an error or a dropped connection.

mod common;
mod ops_env;

use common::{free_port, Proxy, APP_PASSWORD, APP_USER};
use mysql_async::prelude::*;
use ops_env::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `t_extra` (on both data sources) and the user `late`, for the second file.
const EXTRA: &str = "[schemas.app.tables.t_extra]\nnodes = \"ds_${0..1}.t_extra\"\n\
                     sharding = { column = \"id\", algorithm = \"m\" }\n\n\
                     [[users]]\nname = \"late\"\npassword = \"late_pw\"\nschemas = [\"app\"]\n";

async fn tables_in_rules(admin: &mut mysql_async::Conn) -> Vec<String> {
    let rows: Vec<mysql_async::Row> = admin.query("SHOW SHARDING RULES").await.unwrap();
    rows.into_iter()
        .map(|r| r.get::<String, _>("table").unwrap())
        .collect()
}

fn server_code(e: &mysql_async::Error) -> u16 {
    match e {
        mysql_async::Error::Server(s) => s.code,
        other => panic!("not a server error: {other}"),
    }
}

#[tokio::test]
async fn reload_refuses_bad_files_and_applies_good_ones() {
    let dbs = common::fresh_databases("ops_reload");
    let admin_port = free_port();
    let base = kv_rules(&dbs, admin_port, "");
    let mut proxy = Proxy::start(&base);
    let mut app = app_conn(&proxy).await;
    create_kv(&mut app, "(1, 'one'), (2, 'two')").await;

    // Not an admin: 1227.
    let e = app.query_drop("RELOAD CONFIG").await.unwrap_err();
    assert_eq!(server_code(&e), 1227, "{e}");

    // An invalid file: refused with the key path; the running rules stay.
    let mut admin = admin_conn(&proxy).await;
    proxy.rewrite_config(&base.replace("type = \"mod\"", "type = \"modulo\""));
    let e = admin.query_drop("RELOAD CONFIG").await.unwrap_err();
    let message = e.to_string();
    assert!(message.contains("schemas.app.algorithms.m"), "{message}");
    assert!(message.contains("running rules stay"), "{message}");
    let v: Option<String> = app
        .query_first("SELECT v FROM t_kv WHERE id = 2")
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("two"));
    assert!(proxy.log().contains("reload refused"), "{}", proxy.log());

    // A valid file with a new table and a new user.
    proxy.rewrite_config(&kv_rules(&dbs, admin_port, EXTRA));
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    assert!(tables_in_rules(&mut admin)
        .await
        .contains(&"t_extra".to_string()));
    let mut late = connect(&proxy, "late", "late_pw").await;
    late.query_drop("CREATE TABLE t_extra (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    late.query_drop("INSERT INTO t_extra (id) VALUES (7)")
        .await
        .unwrap();
    // Routed by the new rule: 7 mod 2 = 1, so the row is on ds_1 only.
    let on_ds_1 = common::cluster()[1].query(&format!("SELECT id FROM `{}`.t_extra", dbs[1]));
    assert_eq!(on_ds_1, vec![vec![Some("7".to_string())]]);
    let on_ds_0 = common::cluster()[0].query(&format!("SELECT id FROM `{}`.t_extra", dbs[0]));
    assert!(on_ds_0.is_empty());

    // SIGHUP: a new password for `app` and `late` removed.
    let changed = kv_rules(&dbs, admin_port, "").replacen(
        &format!("password = \"{APP_PASSWORD}\""),
        "password = \"new_pw\"",
        1,
    );
    proxy.rewrite_config(&changed);
    proxy.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let opts = mysql_async::Opts::from_url(&proxy.url(APP_USER, "new_pw", "app")).unwrap();
        if mysql_async::Conn::new(opts).await.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SIGHUP not applied:\n{}",
            proxy.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let old = mysql_async::Opts::from_url(&proxy.url(APP_USER, APP_PASSWORD, "app")).unwrap();
    let e = mysql_async::Conn::new(old).await.unwrap_err();
    assert_eq!(server_code(&e), 1045, "{e}");
    // The session that logged in before keeps working: its user still exists.
    let v: Option<String> = app
        .query_first("SELECT v FROM t_kv WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("one"));
    // A removed user's session ends at its next statement.
    let e = late.query_drop("SELECT 1").await.unwrap_err();
    assert_eq!(server_code(&e), 1045, "{e}");

    let (_, text) = http_get(&format!("127.0.0.1:{admin_port}"), "/metrics");
    assert_eq!(
        metric(&text, "shardgate_reloads_total{outcome=\"ok\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "shardgate_reloads_total{outcome=\"refused\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(proxy.log().contains("SIGHUP"), "{}", proxy.log());
}

#[tokio::test]
async fn a_new_data_source_gets_a_pool_and_a_removed_one_goes() {
    let mut dbs = common::fresh_databases("ops_ds");
    let admin_port = free_port();
    let base = kv_rules(&dbs[..2], admin_port, "");
    let proxy = Proxy::start(&base);
    let mut admin = admin_conn(&proxy).await;
    let backends = |rows: Vec<mysql_async::Row>| -> Vec<String> {
        rows.into_iter()
            .map(|r| r.get::<String, _>("data_source").unwrap())
            .collect()
    };
    // A third data source (a fresh database on instance 0) holding t_far.
    dbs.push(common::fresh_databases("ops_ds_more").remove(0));
    let far_url = common::cluster()[0].data_source_url(&dbs[2]);
    let with_far = with_far_source(&base, &far_url);
    proxy.rewrite_config(&with_far);
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    let names = backends(admin.query("SHOW BACKENDS").await.unwrap());
    assert_eq!(names, ["ds_0", "ds_1", "ds_2"]);
    create_far(&mut admin).await;
    let direct = common::cluster()[0].query(&format!("SELECT id FROM `{}`.t_far", dbs[2]));
    assert_eq!(direct, vec![vec![Some("5".to_string())]]);

    proxy.rewrite_config(&base);
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    let names = backends(admin.query("SHOW BACKENDS").await.unwrap());
    assert_eq!(names, ["ds_0", "ds_1"]);
    let e = admin.query_drop("SELECT * FROM t_far").await.unwrap_err();
    assert!(e.to_string().contains("t_far"), "{e}");
}

/// One client's loop: insert its own rows, read each back by its sharding
/// column, now and then inside a transaction; counts errors and statements.
async fn client_loop(
    proxy_url: String,
    client: u64,
    stop: Arc<AtomicBool>,
    statements: Arc<AtomicU64>,
) -> Result<(), String> {
    let opts = mysql_async::Opts::from_url(&proxy_url).unwrap();
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(|e| format!("client {client}: login: {e}"))?;
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let id = client * 1_000_000 + k;
        let value = format!("c{client}k{k}");
        let in_transaction = k % 5 == 0;
        if in_transaction {
            conn.query_drop("BEGIN")
                .await
                .map_err(|e| format!("client {client}: BEGIN: {e}"))?;
        }
        conn.exec_drop("INSERT INTO t_kv (id, v) VALUES (?, ?)", (id, &value))
            .await
            .map_err(|e| format!("client {client}: insert {id}: {e}"))?;
        if in_transaction {
            conn.query_drop("COMMIT")
                .await
                .map_err(|e| format!("client {client}: COMMIT: {e}"))?;
        }
        let got: Option<String> = conn
            .exec_first("SELECT v FROM t_kv WHERE id = ?", (id,))
            .await
            .map_err(|e| format!("client {client}: select {id}: {e}"))?;
        if got.as_deref() != Some(value.as_str()) {
            return Err(format!(
                "client {client}: id {id} read {got:?}, wrote {value}"
            ));
        }
        if k % 7 == 0 {
            let n: Option<i64> = conn
                .query_first(format!(
                    "SELECT COUNT(*) FROM t_kv WHERE id >= {} AND id <= {id}",
                    client * 1_000_000
                ))
                .await
                .map_err(|e| format!("client {client}: count: {e}"))?;
            if n != Some(k as i64 + 1) {
                return Err(format!("client {client}: count {n:?}, expected {}", k + 1));
            }
        }
        statements.fetch_add(4, Ordering::Relaxed);
        k += 1;
    }
    conn.ping()
        .await
        .map_err(|e| format!("client {client}: connection dropped: {e}"))?;
    conn.disconnect().await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_reloads_while_32_clients_run() {
    let dbs = common::fresh_databases("ops_reload_load");
    let admin_port = free_port();
    let plain = kv_rules(&dbs, admin_port, "");
    let extra = kv_rules(&dbs, admin_port, EXTRA);
    let proxy = Proxy::start(&plain);
    let mut admin = admin_conn(&proxy).await;
    admin
        .query_drop("CREATE TABLE t_kv (id BIGINT PRIMARY KEY, v VARCHAR(40))")
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let statements = Arc::new(AtomicU64::new(0));
    let url = proxy.url(APP_USER, APP_PASSWORD, "app");
    let clients: Vec<_> = (0..32)
        .map(|i| {
            tokio::spawn(client_loop(
                url.clone(),
                i,
                stop.clone(),
                statements.clone(),
            ))
        })
        .collect();
    // Let every client get going.
    tokio::time::sleep(Duration::from_millis(500)).await;

    for round in 0..50 {
        let with_extra = round % 2 == 0;
        proxy.rewrite_config(if with_extra { &extra } else { &plain });
        admin
            .query_drop("RELOAD CONFIG")
            .await
            .unwrap_or_else(|e| panic!("reload {round}: {e}"));
        // The admin's next statement runs on the rules just installed.
        let has_extra = tables_in_rules(&mut admin)
            .await
            .contains(&"t_extra".to_string());
        assert_eq!(has_extra, with_extra, "reload {round}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for client in clients {
        if let Err(e) = client.await.unwrap() {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}\n{}", proxy.log());
    let ran = statements.load(Ordering::Relaxed);
    assert!(ran > 32 * 4, "the clients barely ran: {ran} statements");
    let (_, text) = http_get(&format!("127.0.0.1:{admin_port}"), "/metrics");
    assert_eq!(
        metric(&text, "shardgate_reloads_total{outcome=\"ok\"}"),
        Some(50.0)
    );
    assert!(
        proxy.log().contains("reloaded"),
        "no reload was logged:\n{}",
        proxy.log()
    );
    println!("{ran} client statements ran during 50 reloads with 0 errors");
}

/// A prepared statement's boundary check is kept with it, but only for the
/// rules it was made under: after a reload that takes the user's `select`
/// away, the next execute of a statement prepared before is refused (1142),
/// and a reload that gives it back lets it run again.
#[tokio::test]
async fn a_prepared_statement_follows_privileges_changed_by_reload() {
    let dbs = common::fresh_databases("ops_reload_ps");
    let admin_port = free_port();
    let base = kv_rules(&dbs, admin_port, "");
    let proxy = Proxy::start(&base);
    let mut app = app_conn(&proxy).await;
    create_kv(&mut app, "(1, 'one')").await;
    let select = app.prep("SELECT v FROM t_kv WHERE id = ?").await.unwrap();
    let read = |v: Option<String>| assert_eq!(v.as_deref(), Some("one"));
    read(app.exec_first(&select, (1,)).await.unwrap());
    read(app.exec_first(&select, (1,)).await.unwrap());

    let mut admin = admin_conn(&proxy).await;
    let insert_only = base.replacen(
        "schemas = [\"app\"]\n",
        "schemas = [\"app\"]\nprivileges = [\"insert\"]\n",
        1,
    );
    assert_ne!(insert_only, base, "the app user's entry is found");
    proxy.rewrite_config(&insert_only);
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    let e = app
        .exec_first::<String, _, _>(&select, (1,))
        .await
        .unwrap_err();
    assert_eq!(server_code(&e), 1142, "{e}");

    proxy.rewrite_config(&base);
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    read(app.exec_first(&select, (1,)).await.unwrap());
}

/// Executes and text statements planned from templates before a reload
/// place by the new rules after it: `t_kv` moved from both data sources
/// (by `id` mod 2) to `ds_1` alone, so its node 0 is now on `ds_1`: the
/// row with id 2 left behind on `ds_0` is no longer found, the row on
/// `ds_1` still is.
#[tokio::test]
async fn plans_kept_before_a_reload_follow_the_new_rules() {
    let dbs = common::fresh_databases("ops_reload_plan");
    let admin_port = free_port();
    let base = kv_rules(&dbs, admin_port, "");
    let proxy = Proxy::start(&base);
    let mut app = app_conn(&proxy).await;
    create_kv(&mut app, "(1, 'one'), (2, 'two')").await;
    let select = app.prep("SELECT v FROM t_kv WHERE id = ?").await.unwrap();
    for _ in 0..3 {
        for (id, v) in [(1, "one"), (2, "two")] {
            let got: Option<String> = app.exec_first(&select, (id,)).await.unwrap();
            assert_eq!(got.as_deref(), Some(v));
            let sql = format!("SELECT v FROM t_kv WHERE id = {id}");
            let got: Option<String> = app.query_first(sql).await.unwrap();
            assert_eq!(got.as_deref(), Some(v));
        }
    }

    let moved = base.replace("nodes = \"ds_${0..1}.t_kv\"", "nodes = \"ds_1.t_kv\"");
    assert_ne!(moved, base, "t_kv's nodes are found");
    proxy.rewrite_config(&moved);
    let mut admin = admin_conn(&proxy).await;
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    let got: Option<String> = app.exec_first(&select, (2,)).await.unwrap();
    assert_eq!(got, None, "id 2 is looked for on ds_1 only");
    let got: Option<String> = app
        .query_first("SELECT v FROM t_kv WHERE id = 2")
        .await
        .unwrap();
    assert_eq!(got, None, "id 2 is looked for on ds_1 only");
    let got: Option<String> = app.exec_first(&select, (1,)).await.unwrap();
    assert_eq!(got.as_deref(), Some("one"));
}

/// Latencies (start, took) of `SELECT v FROM t_kv WHERE id = 1` in a loop.
async fn latency_loop(
    proxy_url: String,
    stop: Arc<AtomicBool>,
) -> Result<Vec<(Instant, Duration)>, String> {
    let opts = mysql_async::Opts::from_url(&proxy_url).unwrap();
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(|e| format!("login: {e}"))?;
    let mut took = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let v: Option<String> = conn
            .query_first("SELECT v FROM t_kv WHERE id = 1")
            .await
            .map_err(|e| format!("select: {e}"))?;
        took.push((started, started.elapsed()));
        if v.as_deref() != Some("one") {
            return Err(format!("read {v:?}"));
        }
    }
    Ok(took)
}

/// A reload does its reading and validating off the worker threads: the
/// statements of sessions on the reloading session's worker (and on the
/// others) run on while a rule file of 3,000 tables is read, checked and
/// swapped in. Every client gets one connection per worker thread at
/// least, so one of them shares the admin's worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statements_are_not_paused_by_a_reload() {
    let dbs = common::fresh_databases("ops_reload_pause");
    let base = kv_rules(&dbs, free_port(), "");
    let mut big = base.clone();
    for i in 0..3000 {
        big.push_str(&format!(
            "[schemas.app.tables.t_big_{i}]\nnodes = \"ds_${{0..1}}.t_big_{i}_${{0..1}}\"\n\
             database_sharding = {{ column = \"user_id\", algorithm = \"m\" }}\n\
             table_sharding = {{ column = \"order_id\", algorithm = \"m\" }}\n\n"
        ));
    }
    let proxy = Proxy::start(&base);
    let mut app = app_conn(&proxy).await;
    create_kv(&mut app, "(1, 'one')").await;
    proxy.rewrite_config(&big);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let loops: Vec<_> = (0..2 * workers)
        .map(|_| {
            tokio::spawn(latency_loop(
                proxy.url(APP_USER, APP_PASSWORD, "app"),
                stop.clone(),
            ))
        })
        .collect();
    let mut admin = admin_conn(&proxy).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut windows = Vec::new();
    for i in 0..2 {
        // The big file, then back: each reload changes the rules.
        proxy.rewrite_config(if i % 2 == 0 { &big } else { &base });
        let started = Instant::now();
        admin.query_drop("RELOAD CONFIG").await.unwrap();
        windows.push((started, started.elapsed()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut worst_in_reload = Duration::ZERO;
    let mut worst_outside = Duration::ZERO;
    let mut statements = 0;
    for handle in loops {
        let took = handle
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}\n{}", proxy.log()));
        statements += took.len();
        for (start, latency) in took {
            let end = start + latency;
            let overlaps = windows
                .iter()
                .any(|(from, length)| start < *from + *length && end > *from);
            let worst = if overlaps {
                &mut worst_in_reload
            } else {
                &mut worst_outside
            };
            *worst = (*worst).max(latency);
        }
    }
    let reload_ms: Vec<String> = windows
        .iter()
        .map(|(_, d)| format!("{:.0}", d.as_secs_f64() * 1e3))
        .collect();
    // The log's "reloaded ... in X ms": reading, validating and swapping
    // (RELOAD CONFIG then reads the new tables' column types, without
    // holding anything).
    let log = proxy.log();
    let swap_ms: Vec<f64> = log
        .lines()
        .filter_map(|l| l.split(" in ").nth(1)?.split(" ms").next()?.parse().ok())
        .collect();
    assert_eq!(swap_ms.len(), 2, "{log}");
    println!(
        "RELOAD CONFIG took [{}] ms (3,000 tables, then 1), of which read, validate and swap \
         {swap_ms:?} ms; {statements} statements; the slowest overlapping a reload {:.1} ms, \
         the slowest otherwise {:.1} ms",
        reload_ms.join(", "),
        worst_in_reload.as_secs_f64() * 1e3,
        worst_outside.as_secs_f64() * 1e3,
    );
    // A paused statement would wait the whole swap; one that runs on waits
    // for its share of a busy machine.
    let swap = Duration::from_secs_f64(swap_ms[0] / 1e3);
    assert!(
        worst_in_reload < swap / 2,
        "a statement waited {worst_in_reload:?} during a reload whose swap took {swap:?}"
    );
}
