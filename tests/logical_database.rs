//! The logical database, sealed (sql.md, "The logical database"): a user
//! whose backend account holds ALL PRIVILEGES still cannot reach past its
//! logical schema, its `privileges` hold, and metadata shows logical names.

mod common;
mod logical_boundary;
mod logical_metadata;

use common::{cluster, data_sources_toml, fresh_databases, Proxy};
use logical_boundary::REFUSED;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row};
use std::time::Duration;

const TEST_TIMEOUT: Duration = Duration::from_secs(180);

struct Env {
    proxy: Proxy,
    dbs: Vec<String>,
}

fn start(prefix: &str) -> Env {
    start_with(prefix, "")
}

/// [`start`] with `extra` (more users and tables) in the rule file.
fn start_with(prefix: &str, extra: &str) -> Env {
    let dbs = fresh_databases(prefix);
    let mut rules = String::from(
        "[[users]]\nname = \"app\"\npassword = \"app_pw\"\nschemas = [\"shop\"]\n\n\
         [[users]]\nname = \"report\"\npassword = \"report_pw\"\nschemas = [\"shop\"]\nprivileges = [\"select\"]\n\n",
    );
    rules.push_str(&data_sources_toml(&dbs));
    rules.push_str(
        "[schemas.shop]\ndefault_data_source = \"ds_0\"\n\
         [schemas.shop.tables.t_order]\nnodes = \"ds_${0..1}.t_order_${0..1}\"\n\
         database_sharding = { column = \"user_id\", algorithm = \"m\" }\n\
         table_sharding = { column = \"order_id\", algorithm = \"m\" }\n\
         [schemas.shop.algorithms]\nm = { type = \"mod\" }\n",
    );
    rules.push_str(extra);
    Env {
        proxy: Proxy::start(&rules),
        dbs,
    }
}

impl Env {
    async fn conn(&self, user: &str, password: &str) -> Conn {
        Conn::from_url(self.proxy.url(user, password, "shop"))
            .await
            .unwrap_or_else(|e| panic!("{user} connects: {e}"))
    }

    async fn direct(&self, i: usize) -> Conn {
        let opts = mysql_async::Opts::from_url(&cluster()[i].url(&self.dbs[i])).unwrap();
        Conn::new(opts).await.expect("direct connection")
    }

    async fn create_tables(&self, app: &mut Conn) {
        for ddl in [
            "CREATE TABLE t_user (id BIGINT PRIMARY KEY, name VARCHAR(32))",
            "CREATE TABLE t_order (order_id BIGINT NOT NULL, user_id BIGINT NOT NULL, amount INT, \
             PRIMARY KEY (order_id), KEY idx_user (user_id))",
        ] {
            app.query_drop(ddl)
                .await
                .unwrap_or_else(|e| panic!("{ddl}: {e}"));
        }
        app.query_drop("INSERT INTO t_user VALUES (1, 'ann'), (2, 'bob')")
            .await
            .unwrap();
        for (order, user) in [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3)] {
            app.query_drop(format!(
                "INSERT INTO t_order (order_id, user_id, amount) VALUES ({order}, {user}, 10)"
            ))
            .await
            .unwrap();
        }
    }
}

/// Every backend logs each statement it gets (to a table), for the tests
/// that check what reached it. Left on: the servers are this process's alone.
fn log_backend_statements() {
    for server in cluster() {
        server.exec("SET GLOBAL log_output = 'TABLE'");
        server.exec("SET GLOBAL general_log = 1");
    }
}

/// The refused statements (or anything naming `sg_evil`) a backend logged.
async fn reached_backend(d: &mut Conn, refused: &[(String, u16)]) -> Vec<String> {
    let mut reached: Vec<String> = d
        .query(
            "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log \
             WHERE argument LIKE '%sg\\_evil%'",
        )
        .await
        .unwrap();
    for (sql, _) in refused {
        let n: Option<u64> = d
            .exec_first(
                "SELECT COUNT(*) FROM mysql.general_log WHERE CONVERT(argument USING utf8mb4) = ?",
                (sql,),
            )
            .await
            .unwrap();
        if n != Some(0) {
            reached.push(sql.clone());
        }
    }
    reached
}

async fn code_of(conn: &mut Conn, sql: &str) -> u16 {
    match conn.query_drop(sql).await {
        Ok(()) => 0,
        Err(mysql_async::Error::Server(e)) => e.code,
        Err(e) => panic!("{sql}: not a server error: {e}"),
    }
}

async fn rows(conn: &mut Conn, sql: &str) -> Vec<Vec<Option<String>>> {
    let rows: Vec<Row> = conn
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(common::row_text).collect()
}

/// What the backends would show if a refused statement had run.
async fn backend_facts(env: &Env) -> Vec<Vec<Vec<Option<String>>>> {
    let mut facts = Vec::new();
    for i in 0..env.dbs.len() {
        let mut d = env.direct(i).await;
        facts.push(rows(&mut d, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'sg\\_evil%'").await);
        facts.push(
            rows(
                &mut d,
                "SELECT @@global.max_connections, @@global.max_user_connections",
            )
            .await,
        );
        facts.push(
            rows(
                &mut d,
                "SELECT User, Host FROM mysql.user ORDER BY User, Host",
            )
            .await,
        );
        facts.push(
            rows(
                &mut d,
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            )
            .await,
        );
    }
    facts
}

#[tokio::test]
async fn refused_statements_leave_every_backend_unchanged() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let env = start("boundary");
        log_backend_statements();
        let mut app = env.conn("app", "app_pw").await;
        env.create_tables(&mut app).await;
        let before = backend_facts(&env).await;
        let backend_db = env.dbs[0].clone();
        let mut wrong = Vec::new();
        let mut refused: Vec<(String, u16)> =
            REFUSED.iter().map(|(s, c)| (s.to_string(), *c)).collect();
        refused.push((format!("SELECT * FROM `{backend_db}`.t_user"), 1044));
        for (sql, code) in &refused {
            let (sql, code) = (sql.as_str(), *code);
            let got = code_of(&mut app, sql).await;
            if got != code {
                wrong.push(format!("{sql}: expected {code}, got {got}"));
            }
            // The binary protocol is checked the same way.
            match app.exec_drop(sql, ()).await {
                Err(mysql_async::Error::Server(e)) if e.code == code => {}
                other => wrong.push(format!("prepared {sql}: {:?}", other.map(|_| ()))),
            }
        }
        // A multi-statement is checked whole before its first statement runs.
        let got = code_of(
            &mut app,
            "INSERT INTO t_user VALUES (9, 'eve'); CREATE DATABASE sg_evil",
        )
        .await;
        assert_eq!(got, 1044);
        assert_eq!(
            rows(&mut app, "SELECT COUNT(*) FROM t_user WHERE id = 9").await,
            vec![vec![Some("0".into())]]
        );
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // Nothing of them was sent to a backend, not even to be prepared.
        for i in 0..env.dbs.len() {
            let reached = reached_backend(&mut env.direct(i).await, &refused).await;
            assert!(reached.is_empty(), "backend {i} got: {reached:#?}");
        }
        assert_eq!(
            backend_facts(&env).await,
            before,
            "a refused statement changed a backend"
        );
        assert!(!std::path::Path::new("/tmp/sg_evil_outfile").exists());
        // SHOW DATABASES and SCHEMATA show the logical schema only (and
        // information_schema, as MariaDB shows every user).
        assert_eq!(
            rows(
                &mut app,
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1"
            )
            .await,
            vec![
                vec![Some("information_schema".into())],
                vec![Some("shop".into())]
            ]
        );
        assert_eq!(
            rows(&mut app, "SHOW DATABASES").await,
            vec![
                vec![Some("information_schema".into())],
                vec![Some("shop".into())]
            ]
        );
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn privileges_limit_commands_and_show_grants_tells_them() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let env = start("privileges");
        let mut app = env.conn("app", "app_pw").await;
        env.create_tables(&mut app).await;
        let mut report = env.conn("report", "report_pw").await;
        assert_eq!(
            rows(&mut report, "SELECT COUNT(*) FROM t_order").await,
            vec![vec![Some("5".into())]]
        );
        match report
            .query_drop("INSERT INTO t_order (order_id, user_id) VALUES (10, 1)")
            .await
        {
            Err(mysql_async::Error::Server(e)) => {
                assert_eq!(e.code, 1142);
                assert!(
                    e.message
                        .starts_with("INSERT command denied to user 'report'@"),
                    "{}",
                    e.message
                );
                assert!(
                    e.message.ends_with("for table `shop`.`t_order`"),
                    "{}",
                    e.message
                );
            }
            other => panic!("insert by a read-only user: {other:?}"),
        }
        assert_eq!(code_of(&mut report, "DELETE FROM t_user").await, 1142);
        assert_eq!(code_of(&mut report, "DROP TABLE t_user").await, 1142);
        assert_eq!(
            rows(&mut app, "SELECT COUNT(*) FROM t_user").await,
            vec![vec![Some("2".into())]]
        );
        assert_eq!(
            rows(&mut report, "SHOW GRANTS").await,
            vec![
                vec![Some("GRANT USAGE ON *.* TO `report`@`%`".into())],
                vec![Some("GRANT SELECT ON `shop`.* TO `report`@`%`".into())],
            ]
        );
        assert_eq!(
            rows(&mut app, "SHOW GRANTS FOR CURRENT_USER").await[1],
            vec![Some("GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`".into())]
        );
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn metadata_shows_logical_tables_only() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let env = start("metadata");
        let mut app = env.conn("app", "app_pw").await;
        env.create_tables(&mut app).await;
        let columns = rows(&mut app, "SHOW COLUMNS FROM t_order").await;
        let names: Vec<_> = columns.iter().map(|r| r[0].clone().unwrap()).collect();
        assert_eq!(names, ["order_id", "user_id", "amount"]);
        assert_eq!(rows(&mut app, "DESCRIBE t_order").await, columns);
        let full = rows(&mut app, "SHOW FULL COLUMNS FROM t_order FROM shop").await;
        assert_eq!(full.len(), 3);
        let create = rows(&mut app, "SHOW CREATE TABLE t_order").await;
        assert_eq!(create[0][0].as_deref(), Some("t_order"));
        assert!(create[0][1].as_deref().unwrap().starts_with("CREATE TABLE `t_order` ("), "{create:?}");
        let index = rows(&mut app, "SHOW INDEX FROM t_order").await;
        assert!(index.len() >= 2 && index.iter().all(|r| r[0].as_deref() == Some("t_order")), "{index:?}");
        assert_eq!(rows(&mut app, "SHOW KEYS FROM shop.t_order").await, index);
        let status = rows(&mut app, "SHOW TABLE STATUS").await;
        let names: Vec<_> = status.iter().map(|r| r[0].clone().unwrap()).collect();
        assert_eq!(names, ["t_order", "t_user"]);
        let tables = rows(
            &mut app,
            "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME",
        )
        .await;
        assert_eq!(
            tables,
            vec![
                vec![Some("shop".into()), Some("t_order".into()), Some("BASE TABLE".into())],
                vec![Some("shop".into()), Some("t_user".into()), Some("BASE TABLE".into())],
            ]
        );
        let cols = rows(
            &mut app,
            "SELECT c.COLUMN_NAME, c.DATA_TYPE FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
             ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
             WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = 't_order' ORDER BY c.ORDINAL_POSITION",
        )
        .await;
        assert_eq!(cols.len(), 3, "{cols:?}");
        let explain = rows(&mut app, "EXPLAIN SELECT * FROM t_order WHERE user_id = 1").await;
        assert_eq!(explain.len(), 2, "one plan per execution unit: {explain:?}");
        assert!(explain.iter().all(|r| r.last().unwrap().as_deref() == Some("ds_1")), "{explain:?}");
        // Backend errors name logical tables and schemas.
        match app.query_drop("SELECT nosuch FROM t_order WHERE user_id = 1 AND order_id = 1").await {
            Err(mysql_async::Error::Server(e)) => {
                assert!(!e.message.contains("t_order_") && !e.message.contains(&env.dbs[1]), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
        let version = rows(&mut app, "SHOW VARIABLES LIKE 'version'").await;
        assert_eq!(version, vec![vec![Some("version".into()), Some("8.0.36-shardgate".into())]]);
        assert_eq!(rows(&mut app, "SELECT COUNT(*) FROM shop.t_user").await, vec![vec![Some("2".into())]]);
        // INSERT without a column list, by the column order of the actual table.
        app.query_drop("INSERT INTO t_order VALUES (21, 3, 7), (22, 3, 8)").await.expect("INSERT without columns");
        app.exec_drop("INSERT INTO t_order VALUES (?, ?, ?)", (23, 4, 9)).await.expect("prepared INSERT without columns");
        assert_eq!(
            rows(&mut app, "SELECT order_id, amount FROM t_order WHERE user_id IN (3, 4) AND order_id > 20 ORDER BY order_id").await,
            vec![
                vec![Some("21".into()), Some("7".into())],
                vec![Some("22".into()), Some("8".into())],
                vec![Some("23".into()), Some("9".into())],
            ]
        );
        let mut d = env.direct(1).await;
        assert_eq!(rows(&mut d, "SELECT amount FROM t_order_1 WHERE order_id = 21").await, vec![vec![Some("7".into())]]);
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn sessions_are_the_proxys_and_kill_acts_on_them() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let env = start("sessions");
        let mut app = env.conn("app", "app_pw").await;
        env.create_tables(&mut app).await;
        let mut victim = env.conn("app", "app_pw").await;
        let mut report = env.conn("report", "report_pw").await;
        let victim_id = victim.id();
        assert_eq!(
            rows(&mut victim, "SELECT CONNECTION_ID()").await,
            vec![vec![Some(victim_id.to_string())]]
        );
        let list = rows(&mut app, "SHOW FULL PROCESSLIST").await;
        let ids: Vec<String> = list.iter().map(|r| r[0].clone().unwrap()).collect();
        assert!(ids.contains(&victim_id.to_string()), "{list:?}");
        assert!(ids.contains(&app.id().to_string()), "{list:?}");
        assert!(!ids.contains(&report.id().to_string()), "another user's session shown: {list:?}");
        let me = list.iter().find(|r| r[0] == Some(app.id().to_string())).unwrap();
        assert_eq!(me[1].as_deref(), Some("app"));
        assert_eq!(me[3].as_deref(), Some("shop"));
        assert_eq!(me[7].as_deref(), Some("SHOW FULL PROCESSLIST"));
        let view = rows(
            &mut app,
            "SELECT ID, USER, DB FROM information_schema.PROCESSLIST WHERE USER = 'app' ORDER BY ID",
        )
        .await;
        assert_eq!(view.len(), 2, "{view:?}");
        // Another user's session may not be killed; an unknown id is 1094.
        assert_eq!(code_of(&mut report, &format!("KILL {victim_id}")).await, 1095);
        assert_eq!(code_of(&mut app, "KILL 999999").await, 1094);
        // KILL QUERY cancels the running statement on its backend: 1317.
        let sleeper = tokio::spawn(async move {
            let result = victim.query_drop("SELECT SLEEP(30) FROM t_user").await;
            (victim, result)
        });
        tokio::time::sleep(Duration::from_millis(700)).await;
        let started = std::time::Instant::now();
        app.query_drop(format!("KILL QUERY {victim_id}")).await.expect("KILL QUERY");
        let (mut victim, result) = sleeper.await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        match result {
            Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1317, "{}", e.message),
            // MariaDB may end SLEEP early with a result instead of an error.
            Ok(()) => {}
            Err(e) => panic!("{e}"),
        }
        assert_eq!(rows(&mut victim, "SELECT 1").await, vec![vec![Some("1".into())]]);
        // KILL ends the session.
        app.query_drop(format!("KILL {victim_id}")).await.expect("KILL");
        assert!(victim.query_drop("SELECT 1").await.is_err());
        // The backend's version is never shown.
        let version = rows(&mut app, "SELECT VERSION(), @@version").await;
        assert_eq!(version, vec![vec![Some("8.0.36-shardgate".into()), Some("8.0.36-shardgate".into())]]);
        // Prepared (COM_STMT_PREPARE) the same, on unsharded and sharded tables;
        // no backend gets the calls, not even to prepare them.
        log_backend_statements();
        let id = app.id().to_string();
        for sql in [
            "SELECT DATABASE(), ? AS sg_marker, VERSION(), CONNECTION_ID() FROM t_user WHERE id = 1",
            "SELECT DATABASE(), ? AS sg_marker, VERSION(), CONNECTION_ID() FROM t_order WHERE user_id = 1 AND order_id = 1",
            "SELECT DATABASE(), ? AS sg_marker, VERSION(), CONNECTION_ID() FROM t_order WHERE order_id < ? ORDER BY order_id LIMIT 1",
        ] {
            let n = sql.matches('?').count();
            for _ in 0..2 {
                let params: Vec<mysql_async::Value> = (0..n).map(|_| 7.into()).collect();
                let got: Vec<Row> = app.exec(sql, params).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                assert_eq!(got.len(), 1, "{sql}");
                assert_eq!(got[0].columns_ref()[0].name_str(), "DATABASE()", "{sql}");
                assert_eq!(
                    common::row_text(got[0].clone()),
                    vec![Some("shop".into()), Some("7".into()), Some("8.0.36-shardgate".into()), Some(id.clone())],
                    "{sql}"
                );
            }
        }
        for server in cluster() {
            let count = |pattern: &str| {
                let sql = format!(
                    "SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE '%sg\\_marker%' {pattern}"
                );
                server.query(&sql)[0][0].clone().unwrap_or_default()
            };
            assert_eq!(count("AND argument LIKE 'SELECT DATABASE()%'"), "0");
        }
        assert_ne!(cluster()[0].query("SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE '%sg\\_marker%'")[0][0].as_deref(), Some("0"));
    })
    .await
    .expect("timed out");
}
