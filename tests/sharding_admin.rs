//! Admin SQL on the sharded shop (PREVIEW, SHOW SHARDING RULES, SHOW
//! BACKENDS; 1227 for other users) and the offline `shardgate preview`,
//! which needs no backend.

mod common;
mod shard_env;

use common::free_port;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row};
use shard_env::*;
use std::collections::BTreeMap;
use std::future::Future;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TEST_TIMEOUT: Duration = Duration::from_secs(120);

async fn within_timeout<F: Future>(body: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out: a connection hung")
}

/// Column names and rows as text (`None` for NULL).
async fn table(conn: &mut Conn, sql: &str) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let mut result = conn
        .query_iter(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let names = result
        .columns_ref()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    let rows: Vec<Row> = result.collect().await.unwrap();
    (names, rows.into_iter().map(common::row_text).collect())
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// A comma separated list, items trimmed.
fn list(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .unwrap_or("")
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

#[tokio::test]
async fn preview_shows_the_execution_units_without_running_them() {
    within_timeout(async {
        let shop = Shop::start("admin_preview");
        shop.create_tables().await;
        let mut admin = shop.admin().await;

        let (names, rows) = table(&mut admin, "PREVIEW SELECT * FROM t_order WHERE user_id = 3").await;
        assert_eq!(names, ["data_source", "actual_sql"]);
        assert_eq!(
            rows,
            vec![
                vec![s("ds_1"), s("SELECT * FROM t_order_0 AS t_order WHERE user_id = 3")],
                vec![s("ds_1"), s("SELECT * FROM t_order_1 AS t_order WHERE user_id = 3")],
            ]
        );
        let (_, rows) = table(
            &mut admin,
            "PREVIEW SELECT * FROM t_order WHERE user_id = 3 AND order_id = 8",
        )
        .await;
        assert_eq!(
            rows,
            vec![vec![
                s("ds_1"),
                s("SELECT * FROM t_order_0 AS t_order WHERE user_id = 3 AND order_id = 8")
            ]]
        );
        // A binding join, shard by shard; a parameter stays `?`.
        let (_, rows) = table(
            &mut admin,
            "PREVIEW SELECT o.order_id, i.sku FROM t_order o JOIN t_order_item i ON o.user_id = i.user_id AND o.order_id = i.order_id WHERE o.user_id = ?",
        )
        .await;
        let units: Vec<(String, String)> = rows
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
            .collect();
        assert_eq!(units.len(), 4, "{units:?}");
        for (i, (ds, sql)) in units.iter().enumerate() {
            assert_eq!(ds, &format!("ds_{}", i / 2), "{units:?}");
            let t = i % 2;
            assert!(
                sql.contains(&format!("t_order_{t} ")) && sql.contains(&format!("t_order_item_{t} ")) && sql.contains('?'),
                "unit {i}: {sql}"
            );
        }
        // A multi-row INSERT splits by node; PREVIEW runs nothing.
        let (_, rows) = table(
            &mut admin,
            "PREVIEW INSERT INTO t_order (order_id, user_id, amount, status) VALUES (1, 2, 1, 'a'), (2, 3, 2, 'b'), (3, 2, 3, 'c')",
        )
        .await;
        assert_eq!(
            rows,
            vec![
                vec![
                    s("ds_0"),
                    s("INSERT INTO t_order_1 (order_id, user_id, amount, status) VALUES (1, 2, 1, 'a'), (3, 2, 3, 'c')")
                ],
                vec![
                    s("ds_1"),
                    s("INSERT INTO t_order_0 (order_id, user_id, amount, status) VALUES (2, 3, 2, 'b')")
                ],
            ]
        );
        // Broadcast: every data source.
        let (_, rows) = table(&mut admin, "PREVIEW DELETE FROM t_dict WHERE code = 'x'").await;
        let ds: Vec<_> = rows.iter().map(|r| r[0].clone().unwrap()).collect();
        assert_eq!(ds, ["ds_0", "ds_1", "ds_2", "ds_3"]);
        // Refused statements are refused by PREVIEW too.
        let e = server_error(
            admin
                .query_drop("PREVIEW UPDATE t_order SET user_id = 9 WHERE order_id = 1")
                .await,
        );
        assert_eq!((e.0, e.1.as_str()), (1235, "42000"), "{e:?}");
        assert!(shop.stored("t_order", "order_id").await.is_empty(), "PREVIEW ran the INSERT");
        admin.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn show_sharding_rules_lists_every_sharded_and_broadcast_table() {
    within_timeout(async {
        let shop = Shop::start("admin_rules");
        let mut admin = shop.admin().await;
        let (names, rows) = table(&mut admin, "SHOW SHARDING RULES").await;
        assert_eq!(
            names,
            [
                "schema",
                "table",
                "nodes",
                "sharding",
                "key_generator",
                "binding_group"
            ]
        );
        let by_table: BTreeMap<String, Vec<Option<String>>> = rows
            .iter()
            .map(|r| (r[1].clone().unwrap(), r.clone()))
            .collect();
        assert_eq!(rows.len(), by_table.len(), "one row per table: {rows:?}");
        assert_eq!(
            by_table.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "t_account",
                "t_dict",
                "t_event",
                "t_log",
                "t_order",
                "t_order_item",
                "t_token",
                "t_user"
            ],
            "unsharded t_note is not listed"
        );
        let expect = |table: &str, nodes: &[&str], sharding: &str, key: &str, group: &[&str]| {
            let row = &by_table[table];
            assert_eq!(row[0], s(SCHEMA), "{table} schema");
            assert_eq!(list(&row[2]), nodes, "{table} nodes");
            assert_eq!(row[3], s(sharding), "{table} sharding");
            assert_eq!(row[4], s(key), "{table} key_generator");
            assert_eq!(list(&row[5]), group, "{table} binding_group");
        };
        expect(
            "t_order",
            &[
                "ds_0.t_order_0",
                "ds_0.t_order_1",
                "ds_1.t_order_0",
                "ds_1.t_order_1",
            ],
            "database: user_id ds_mod(mod); table: order_id tbl_mod(mod)",
            "order_id snowflake",
            &["t_order", "t_order_item"],
        );
        expect(
            "t_order_item",
            &[
                "ds_0.t_order_item_0",
                "ds_0.t_order_item_1",
                "ds_1.t_order_item_0",
                "ds_1.t_order_item_1",
            ],
            "database: user_id ds_mod(mod); table: order_id tbl_mod(mod)",
            "item_id snowflake",
            &["t_order", "t_order_item"],
        );
        expect(
            "t_user",
            &["ds_0.t_user", "ds_1.t_user", "ds_2.t_user", "ds_3.t_user"],
            "user_id user_hash(hash_mod)",
            "",
            &[],
        );
        expect(
            "t_log",
            &[
                "ds_0.t_log_a",
                "ds_0.t_log_b",
                "ds_1.t_log_a",
                "ds_1.t_log_b",
            ],
            "device ring(consistent_hash)",
            "log_id uuid",
            &[],
        );
        expect(
            "t_event",
            &[
                "ds_0.t_event",
                "ds_1.t_event",
                "ds_2.t_event",
                "ds_3.t_event",
            ],
            "event_id by_range(range)",
            "",
            &[],
        );
        expect(
            "t_dict",
            &["ds_0.t_dict", "ds_1.t_dict", "ds_2.t_dict", "ds_3.t_dict"],
            "broadcast",
            "",
            &[],
        );
        let (_, from) = table(&mut admin, "SHOW SHARDING RULES FROM shop").await;
        assert_eq!(from.len(), rows.len());
        admin.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn show_backends_lists_every_primary() {
    within_timeout(async {
        let shop = Shop::start("admin_backends");
        let mut admin = shop.admin().await;
        // Reach the default data source once (there is no table: only the
        // connection matters).
        admin.query_drop("SELECT * FROM t_note").await.ok();
        let (names, rows) = table(&mut admin, "SHOW BACKENDS").await;
        assert_eq!(
            names,
            [
                "data_source",
                "role",
                "address",
                "healthy",
                "lag_s",
                "pool_in_use",
                "pool_idle",
                "pool_max"
            ]
        );
        assert_eq!(rows.len(), DATA_SOURCES, "{rows:?}");
        for (row, ds) in rows.iter().zip(&shop.sources) {
            assert_eq!(row[0].as_deref(), Some(ds.name.as_str()));
            assert_eq!(row[1], s("primary"));
            let address = row[2].clone().unwrap();
            assert!(
                address.contains(&ds.server().port().to_string()),
                "{}: {address}",
                ds.name
            );
            assert_eq!(row[3], s("1"), "{} healthy", ds.name);
            assert_eq!(row[4], None, "lag_s of a primary");
            for (i, v) in row[5..].iter().enumerate() {
                let n: i64 = v
                    .as_deref()
                    .unwrap_or("x")
                    .parse()
                    .unwrap_or_else(|_| panic!("pool column {i}: {v:?}"));
                assert!(n >= 0);
            }
            let max: i64 = row[7].as_deref().unwrap().parse().unwrap();
            assert!(max > 0, "pool_max of {}", ds.name);
        }
        admin.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn admin_statements_need_an_admin() {
    within_timeout(async {
        let shop = Shop::start("admin_denied");
        let mut app = shop.client().await;
        for sql in [
            "PREVIEW SELECT * FROM t_order WHERE user_id = 3",
            "SHOW SHARDING RULES",
            "SHOW BACKENDS",
            "RELOAD CONFIG",
        ] {
            let e = server_error(app.query_drop(sql).await);
            assert_eq!((e.0, e.1.as_str()), (1227, "42000"), "{sql}: {e:?}");
        }
        // The connection is still fine.
        let one: Option<i64> = app.query_first("SELECT 1").await.unwrap();
        assert_eq!(one, Some(1));
        app.disconnect().await.unwrap();
    })
    .await
}

/// Runs `shardgate preview --config FILE SQL`: (success, stdout, stderr).
fn cli_preview(config: &std::path::Path, sql: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shardgate"))
        .arg("preview")
        .arg("--config")
        .arg(config)
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .expect("run shardgate preview");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_preview_needs_no_backend() {
    // Data sources on ports nobody listens on.
    let sources: String = (0..DATA_SOURCES)
        .map(|i| {
            format!(
                "[data_sources.ds_{i}]\nprimary = \"mysql://root:@127.0.0.1:{}/shop_{i}\"\n\n",
                free_port()
            )
        })
        .collect();
    let rules = format!("{}{sources}{SCHEMA_TOML}", users_toml());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shardgate.toml");
    std::fs::write(&config, rules).unwrap();

    let started = Instant::now();
    let (ok, stdout, stderr) = cli_preview(&config, "SELECT * FROM t_order WHERE user_id = 3");
    assert!(ok, "shardgate preview failed: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "preview waited for backends"
    );
    let units: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ds_")).collect();
    assert_eq!(
        units,
        [
            "ds_1\tSELECT * FROM t_order_0 AS t_order WHERE user_id = 3",
            "ds_1\tSELECT * FROM t_order_1 AS t_order WHERE user_id = 3"
        ],
        "stdout: {stdout}"
    );

    let (ok, stdout, stderr) =
        cli_preview(&config, "SELECT * FROM t_user WHERE user_id IN (42, -7)");
    assert!(ok, "{stderr}");
    let units: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ds_")).collect();
    // hash_mod over 4: 42 → ds_2, -7 → ds_0 (algorithms.md vectors).
    assert_eq!(units.len(), 2, "stdout: {stdout}");
    assert!(
        units[0].starts_with("ds_0\t") && units[0].contains("t_user"),
        "{stdout}"
    );
    assert!(
        units[1].starts_with("ds_2\t") && units[1].contains("t_user"),
        "{stdout}"
    );

    // A refused statement: a non-zero exit and the reason.
    let (ok, _, stderr) = cli_preview(
        &config,
        "SELECT o.order_id, u.name FROM t_order o JOIN t_user u ON o.user_id = u.user_id",
    );
    assert!(!ok, "a cross-node join must be refused");
    assert!(stderr.to_lowercase().contains("join"), "stderr: {stderr}");
}
