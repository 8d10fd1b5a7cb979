//! The metadata cache: structural answers (SHOW COLUMNS, SHOW INDEX, SHOW
//! CREATE TABLE, the column order of INSERT without a column list) are read
//! from a backend once, and read again after DDL through the proxy or
//! `RELOAD CONFIG`. The backend's general log (a table here) tells which
//! statements reached it; the tables' names are this test's alone.

use super::{code_of, rows, start_with};
use crate::common::cluster;
use mysql_async::prelude::*;

const EXTRA: &str = "[schemas.shop.tables.t_cached]\nnodes = \"ds_${0..1}.t_cached_${0..1}\"\n\
                     database_sharding = { column = \"id\", algorithm = \"m\" }\n\
                     table_sharding = { column = \"id\", algorithm = \"m\" }\n\n\
                     [[users]]\nname = \"ops\"\npassword = \"ops_pw\"\nschemas = [\"shop\"]\nadmin = true\n";

/// How many statements that start with `start` and name `table` reached
/// the first backend since the log was switched on.
async fn logged(start: &str, table: &str) -> usize {
    let sql = format!(
        "SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE '{start}%' \
         AND argument LIKE '%{table}%'"
    );
    cluster()[0].query(&sql)[0][0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap()
}

fn names(rows: &[Vec<Option<String>>]) -> Vec<String> {
    rows.iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn metadata_is_read_once_until_ddl_or_reload() {
    tokio::time::timeout(super::TEST_TIMEOUT, async {
        let env = start_with("metacache", EXTRA);
        let mut app = env.conn("app", "app_pw").await;
        for ddl in [
            "CREATE TABLE t_cached (id BIGINT PRIMARY KEY, a INT)",
            "CREATE TABLE t_cached_plain (id INT PRIMARY KEY)",
        ] {
            app.query_drop(ddl)
                .await
                .unwrap_or_else(|e| panic!("{ddl}: {e}"));
        }
        super::log_backend_statements();
        // The counter counts the proxy's own statement: the first answer is read.
        let first = rows(&mut app, "SHOW COLUMNS FROM t_cached").await;
        assert_eq!(names(&first), ["id", "a"]);
        assert_eq!(logged("SHOW COLUMNS", "t\\_cached\\_0").await, 1);
        assert_eq!(rows(&mut app, "SHOW COLUMNS FROM t_cached").await, first);
        let create = rows(&mut app, "SHOW CREATE TABLE t_cached").await;
        assert_eq!(rows(&mut app, "SHOW CREATE TABLE t_cached").await, create);
        let index = rows(&mut app, "SHOW INDEX FROM t_cached").await;
        assert_eq!(rows(&mut app, "SHOW INDEX FROM t_cached").await, index);
        // Another session (same state) is answered from the cache too.
        let mut other = env.conn("app", "app_pw").await;
        assert_eq!(rows(&mut other, "SHOW COLUMNS FROM t_cached").await, first);
        assert_eq!(logged("SHOW COLUMNS", "t\\_cached\\_0").await, 1);
        assert_eq!(logged("SHOW CREATE TABLE", "t\\_cached\\_0").await, 1);
        assert_eq!(logged("SHOW INDEX", "t\\_cached\\_0").await, 1);
        // INSERT without a column list: its column order is read once too.
        app.query_drop("INSERT INTO t_cached VALUES (1, 10)")
            .await
            .unwrap();
        app.query_drop("INSERT INTO t_cached VALUES (2, 20)")
            .await
            .unwrap();
        let column_reads = logged("SHOW COLUMNS", "t\\_cached\\_0").await;
        assert!(column_reads <= 2, "{column_reads} column reads");
        // Row counts follow the data: never cached.
        let status = |n: &str| format!("SHOW TABLE STATUS LIKE '{n}'");
        rows(&mut app, &status("t_cached")).await;
        assert_eq!(logged("SHOW TABLE STATUS", "t\\_cached\\_0").await, 1);
        rows(&mut app, &status("t_cached")).await;
        assert_eq!(logged("SHOW TABLE STATUS", "t\\_cached\\_0").await, 2);

        // DDL through the proxy (sharded table): the next answers are read again.
        app.query_drop("ALTER TABLE t_cached ADD COLUMN b INT")
            .await
            .unwrap();
        assert_eq!(
            names(&rows(&mut app, "SHOW COLUMNS FROM t_cached").await),
            ["id", "a", "b"]
        );
        assert_eq!(
            names(&rows(&mut other, "DESCRIBE t_cached").await),
            ["id", "a", "b"]
        );
        app.query_drop("INSERT INTO t_cached VALUES (4, 40, 400)")
            .await
            .expect("INSERT after ADD COLUMN");
        assert_eq!(
            rows(&mut app, "SELECT a, b FROM t_cached WHERE id = 4").await,
            vec![vec![Some("40".into()), Some("400".into())]]
        );
        // DDL on an unsharded table passes through, and clears the cache too.
        assert_eq!(
            names(&rows(&mut app, "SHOW COLUMNS FROM t_cached_plain").await),
            ["id"]
        );
        app.query_drop("ALTER TABLE t_cached_plain ADD COLUMN p INT")
            .await
            .unwrap();
        assert_eq!(
            names(&rows(&mut other, "SHOW COLUMNS FROM t_cached_plain").await),
            ["id", "p"]
        );

        // A temporary table shadows the table in its session only; its
        // answer is not given to another session.
        let mut shadow = env.conn("app", "app_pw").await;
        shadow
            .query_drop("CREATE TEMPORARY TABLE t_cached_plain (z INT)")
            .await
            .unwrap();
        assert_eq!(
            names(&rows(&mut shadow, "SHOW COLUMNS FROM t_cached_plain").await),
            ["z"]
        );
        assert_eq!(
            names(&rows(&mut app, "SHOW COLUMNS FROM t_cached_plain").await),
            ["id", "p"]
        );
        drop(shadow);

        // A change made on the backends directly is seen after RELOAD CONFIG
        // (until then the proxy answers what it read).
        assert_eq!(
            names(&rows(&mut app, "SHOW COLUMNS FROM t_cached").await),
            ["id", "a", "b"]
        );
        for (i, server) in cluster().iter().enumerate() {
            for t in ["t_cached_0", "t_cached_1"] {
                server.exec(&format!(
                    "ALTER TABLE `{}`.`{t}` ADD COLUMN c INT",
                    env.dbs[i]
                ));
            }
        }
        assert_eq!(
            names(&rows(&mut app, "SHOW COLUMNS FROM t_cached").await),
            ["id", "a", "b"]
        );
        assert_eq!(code_of(&mut app, "RELOAD CONFIG").await, 1227);
        let mut ops = env.conn("ops", "ops_pw").await;
        ops.query_drop("RELOAD CONFIG")
            .await
            .expect("RELOAD CONFIG");
        assert_eq!(
            names(&rows(&mut app, "SHOW COLUMNS FROM t_cached").await),
            ["id", "a", "b", "c"]
        );
        app.query_drop("INSERT INTO t_cached VALUES (5, 50, 500, 5000)")
            .await
            .expect("INSERT after reload");
        assert_eq!(
            rows(&mut app, "SELECT c FROM t_cached WHERE id = 5").await,
            vec![vec![Some("5000".into())]]
        );
    })
    .await
    .expect("timed out");
}
