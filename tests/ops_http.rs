//! The admin HTTP endpoints through the running proxy: `/healthz`,
//! `/readyz` (503 naming what is not ready, then 200) and `/metrics` counting
//! what real clients did.

mod common;
mod ops_env;

use common::{free_port, Proxy};
use mysql_async::prelude::*;
use ops_env::*;

#[tokio::test]
async fn healthz_readyz_and_metrics_follow_what_clients_do() {
    let dbs = common::fresh_databases("ops_http");
    let admin_port = free_port();
    let proxy = Proxy::start(&kv_rules(&dbs, admin_port, ""));
    let admin = format!("127.0.0.1:{admin_port}");

    let (status, body) = http_get(&admin, "/healthz");
    assert_eq!(status, 200, "{body}");

    // The sharded table does not exist yet: not ready, and the body says why.
    let (status, body) = http_get(&admin, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("sharding column type not loaded: app.t_kv.id"),
        "{body}"
    );

    let mut conn = app_conn(&proxy).await;
    conn.query_drop("CREATE TABLE t_kv (id BIGINT PRIMARY KEY, v VARCHAR(20))")
        .await
        .unwrap();
    let (status, body) = http_get(&admin, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ready\":true"), "{body}");

    for id in 0..6 {
        conn.exec_drop("INSERT INTO t_kv (id, v) VALUES (?, ?)", (id, "x"))
            .await
            .unwrap();
    }
    let rows: Vec<(i64, String)> = conn
        .query("SELECT id, v FROM t_kv ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows.len(), 6);
    let one: Vec<i64> = conn
        .query("SELECT id FROM t_kv WHERE id = 3")
        .await
        .unwrap();
    assert_eq!(one, vec![3]);
    let err = conn.query_drop("SELEC oops").await.unwrap_err();
    assert!(err.to_string().contains("1064"), "{err}");

    let (status, text) = http_get(&admin, "/metrics");
    assert_eq!(status, 200);
    assert!(text.ends_with("# EOF\n"), "not OpenMetrics text:\n{text}");
    let at_least = |series: &str, min: f64| {
        let value =
            metric(&text, series).unwrap_or_else(|| panic!("no series {series} in\n{text}"));
        assert!(
            value >= min,
            "{series} = {value}, expected >= {min}\n{text}"
        );
    };
    at_least(
        "shardgate_statements_total{kind=\"insert\",outcome=\"ok\"}",
        6.0,
    );
    at_least(
        "shardgate_statements_total{kind=\"select\",outcome=\"ok\"}",
        2.0,
    );
    at_least(
        "shardgate_statements_total{kind=\"ddl\",outcome=\"ok\"}",
        1.0,
    );
    at_least("shardgate_errors_total{code=\"1064\"}", 1.0);
    at_least("shardgate_routed_statements_total{fanout=\"single\"}", 7.0);
    at_least("shardgate_routed_statements_total{fanout=\"scatter\"}", 1.0);
    at_least("shardgate_rows_merged_total", 6.0);
    at_least("shardgate_statement_duration_seconds_count", 9.0);
    at_least("shardgate_client_connections", 1.0);
    at_least("shardgate_client_connections_opened_total", 1.0);
    at_least(
        "shardgate_pool_max{data_source=\"ds_0\",role=\"primary\"}",
        64.0,
    );
    at_least(
        "shardgate_pool_in_use{data_source=\"ds_1\",role=\"primary\"}",
        0.0,
    );
    at_least(
        "shardgate_endpoint_healthy{data_source=\"ds_0\",role=\"primary\"}",
        1.0,
    );
    at_least("shardgate_ready", 1.0);
    at_least("shardgate_reloads_total{outcome=\"ok\"}", 0.0);
    // Both data sources ran statements (the scatter select at least).
    for ds in ["ds_0", "ds_1"] {
        at_least(
            &format!("shardgate_backend_duration_seconds_count{{data_source=\"{ds}\"}}"),
            1.0,
        );
        at_least(
            &format!("shardgate_pool_waits_total{{data_source=\"{ds}\"}}"),
            0.0,
        );
    }

    let (status, _) = http_get(&admin, "/nope");
    assert_eq!(status, 404);
    drop(conn);
}

#[tokio::test]
async fn readyz_names_an_unreachable_primary() {
    let dbs = common::fresh_databases("ops_down");
    let admin_port = free_port();
    let dead = free_port();
    let mut rules = common::passthrough_rules("app", &dbs);
    rules.push_str(&format!(
        "\n[data_sources.ds_down]\nprimary = \"mysql://root:@127.0.0.1:{dead}/nothing\"\n"
    ));
    rules = format!("[server]\nadmin_listen = \"127.0.0.1:{admin_port}\"\n\n{rules}");
    let _proxy = Proxy::start(&rules);
    let admin = format!("127.0.0.1:{admin_port}");
    let (status, body) = http_get(&admin, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("data source ds_down"), "{body}");
    assert!(!body.contains("data source ds_0"), "{body}");
    let (status, _) = http_get(&admin, "/healthz");
    assert_eq!(status, 200);
}
