//! A data source removed by a reload is drained: a statement running on it
//! when the reload comes finishes with its answer, and then the proxy's
//! connections to it (pooled and health checks) are closed, as the backend
//! itself counts them.

mod common;
mod ops_env;

use common::free_port;
use common::Proxy;
use mysql_async::prelude::*;
use ops_env::*;
use std::time::{Duration, Instant};

/// Connections the backend of `db` (on instance 0) has open to it.
fn connections_to(db: &str) -> usize {
    let rows = common::cluster()[0].query(&format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{db}'"
    ));
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_data_source_is_drained_then_closed() {
    let dbs = common::fresh_databases("ops_drain");
    let far = common::fresh_databases("ops_drain_far").remove(0);
    let admin_port = free_port();
    let base = kv_rules(&dbs[..2], admin_port, "");
    let far_url = common::cluster()[0].data_source_url(&far);
    let with_far = with_far_source(&base, &far_url);
    let proxy = Proxy::start(&with_far);
    let mut admin = admin_conn(&proxy).await;
    create_far(&mut admin).await;
    // Several sessions leave pooled connections to ds_2 behind.
    let mut apps = Vec::new();
    for _ in 0..4 {
        let mut app = app_conn(&proxy).await;
        let n: Option<i64> = app.query_first("SELECT COUNT(*) FROM t_far").await.unwrap();
        assert_eq!(n, Some(1));
        apps.push(app);
    }
    assert!(connections_to(&far) >= 1, "no pooled connection to {far}");

    // A statement on ds_2 runs while the reload removes ds_2.
    let mut busy = app_conn(&proxy).await;
    let running = tokio::spawn(async move {
        let row: Option<(i64, i64)> = busy
            .query_first("SELECT id, SLEEP(2) FROM t_far WHERE id = 5")
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((row, busy))
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.rewrite_config(&base);
    admin.query_drop("RELOAD CONFIG").await.unwrap();
    let e = admin.query_drop("SELECT * FROM t_far").await.unwrap_err();
    assert!(e.to_string().contains("t_far"), "{e}");
    let (row, mut busy) = running
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}\n{}", proxy.log()));
    assert_eq!(row, Some((5, 0)), "the statement in flight did not finish");

    // Every session moves to the new rules at its next statement; then
    // nothing uses ds_2 and its connections go.
    busy.query_drop("SELECT 1").await.unwrap();
    for app in &mut apps {
        app.query_drop("SELECT 1").await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let open = connections_to(&far);
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} connections to the removed data source still open\n{}",
            proxy.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sessions are fine on the rules in force.
    for app in &mut apps {
        app.query_drop("SELECT 1").await.unwrap();
    }
}
