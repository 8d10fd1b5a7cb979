//! `/metrics` per endpoint on a real replication group (a primary and a
//! replica): the role label, health, the replica's lag, and backend time on
//! the endpoint a read went to.

mod common;
mod ops_env;

use common::replica_proxy::*;
use common::replication::ReplicaSet;
use common::{free_port, Proxy};
use mysql_async::prelude::Queryable;
use ops_env::{http_get, metric};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_series_carry_role_health_and_replica_lag() {
    let (set, db) = blocking(|| {
        let set = ReplicaSet::start(1);
        let db = set.fresh_database("ops_metrics", 0);
        set.nodes[0].exec(&format!(
            "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT); \
             INSERT INTO `{db}`.t VALUES (1, 10)"
        ));
        set.wait_replicated();
        (Arc::new(set), db)
    })
    .await;
    let admin_port = free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let rules = rules(&set.data_source_toml("ds_0", &db, 0, "")).replacen(
        "[server]\n",
        &format!("[server]\nadmin_listen = \"{admin}\"\n"),
        1,
    );
    let proxy = Proxy::start(&rules);
    let mut ops = ops(&proxy).await;
    wait_all_healthy(&mut ops).await;

    // A plain read in autocommit goes to the replica.
    let mut app = app(&proxy).await;
    let replica_id = server_id(&mut app, "SELECT @@server_id").await;
    assert_eq!(replica_id, 2, "the read did not go to the replica");
    let v: Option<i64> = app
        .query_first("SELECT v FROM t WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(v, Some(10));

    let (primary, replica) = (set.address(0, &db), set.address(1, &db));
    let series = |name: &str, role: &str, endpoint: &str| {
        format!("{name}{{data_source=\"ds_0\",role=\"{role}\",endpoint=\"{endpoint}\"}}")
    };
    // The lag is known once a health check has read the replica's status.
    let text = wait(
        "the replica's lag in /metrics",
        Duration::from_secs(20),
        || {
            let (_, text) = http_get(&admin, "/metrics");
            metric(
                &text,
                &series("shardgate_endpoint_lag_seconds", "replica", &replica),
            )
            .map(|_| text)
        },
    );
    let value = |s: &str| metric(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    // An idle primary: the replica is at most a moment behind.
    let lag = value(&series(
        "shardgate_endpoint_lag_seconds",
        "replica",
        &replica,
    ));
    assert!((0.0..1.0).contains(&lag), "lag {lag}\n{text}");
    assert_eq!(
        metric(
            &text,
            &series("shardgate_endpoint_lag_seconds", "primary", &primary)
        ),
        None,
        "a primary has no lag\n{text}"
    );
    for (role, endpoint) in [("primary", &primary), ("replica", &replica)] {
        assert_eq!(
            value(&series("shardgate_endpoint_healthy", role, endpoint)),
            1.0
        );
        assert_eq!(value(&series("shardgate_pool_max", role, endpoint)), 64.0);
    }
    let replica_time = format!(
        "shardgate_backend_duration_seconds_count{{data_source=\"ds_0\",endpoint=\"{replica}\"}}"
    );
    assert!(value(&replica_time) >= 2.0, "{text}");

    // Replication stopped on the replica: it gets no reads, and its health
    // and lag say so.
    let stopping = set.clone();
    blocking(move || stopping.nodes[1].exec("STOP SLAVE")).await;
    let text = wait(
        "the stopped replica in /metrics",
        Duration::from_secs(20),
        || {
            let (_, text) = http_get(&admin, "/metrics");
            let healthy = metric(
                &text,
                &series("shardgate_endpoint_healthy", "replica", &replica),
            );
            let lag = metric(
                &text,
                &series("shardgate_endpoint_lag_seconds", "replica", &replica),
            );
            (healthy == Some(0.0) || lag.is_none()).then_some(text)
        },
    );
    let id = server_id(&mut app, "SELECT @@server_id").await;
    assert_eq!(id, 1, "a read went to a stopped replica\n{text}");
}
