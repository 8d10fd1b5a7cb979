//! The test harness itself, without the proxy: the shared MariaDB cluster,
//! fresh databases, mysql_async and the mariadb CLI against it, a private
//! server's cleanup, and the guard that kills children of a dead process.

mod common;

use common::{
    cluster, fresh_databases, mariadb_cli, passthrough_rules, with_server, Guarded, MariaDb,
    CLUSTER_SIZE,
};
use mysql_async::prelude::Queryable;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn cluster_serves_mysql_async_and_the_cli() {
    let servers = cluster();
    assert_eq!(servers.len(), CLUSTER_SIZE);
    assert_ne!(servers[0].port(), servers[1].port());

    let dbs = fresh_databases("smoke");
    assert_eq!(dbs.len(), CLUSTER_SIZE);
    assert_ne!(dbs[0], dbs[1], "each instance gets its own database name");
    for (i, (server, db)) in servers.iter().zip(&dbs).enumerate() {
        server.exec(&format!(
            "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20)); \
             INSERT INTO `{db}`.t VALUES (1, 'on_{i}'), (2, NULL)"
        ));
    }

    // mysql_async, straight to each server.
    for (i, (server, db)) in servers.iter().zip(&dbs).enumerate() {
        let mut conn = mysql_async::Conn::new(server.opts(db)).await.unwrap();
        let rows: Vec<(i32, Option<String>)> =
            conn.query("SELECT id, v FROM t ORDER BY id").await.unwrap();
        assert_eq!(rows, vec![(1, Some(format!("on_{i}"))), (2, None)]);
        let unicode: String = conn
            .query_first("SELECT _utf8mb4'ü 张三 😀'")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unicode, "ü 张三 😀");
        conn.disconnect().await.unwrap();
    }

    // The synchronous helper.
    let rows = servers[1].query(&format!("SELECT v FROM `{}`.t ORDER BY id", dbs[1]));
    assert_eq!(rows, vec![vec![Some("on_1".to_string())], vec![None]]);

    // The mariadb CLI, as a user would run it.
    let (status, stdout, stderr) = mariadb_cli(
        servers[0].port(),
        "root",
        "",
        &dbs[0],
        "SELECT id, v FROM t ORDER BY id",
    );
    assert!(status.success(), "mariadb failed: {stderr}");
    assert_eq!(stdout, "id\tv\n1\ton_0\n2\tNULL\n");

    let (status, _, stderr) = mariadb_cli(servers[0].port(), "root", "", "", "SELEKT 1");
    assert!(!status.success());
    assert!(stderr.contains("ERROR 1064"), "unexpected stderr: {stderr}");
}

#[test]
fn fresh_databases_are_unique() {
    let a = fresh_databases("uniq");
    let b = fresh_databases("uniq");
    assert!(a.iter().all(|name| !b.contains(name)), "{a:?} vs {b:?}");
    let names = cluster()[0].query("SHOW DATABASES LIKE 't\\_uniq\\_%'");
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn private_server_is_gone_after_drop() {
    let server = MariaDb::start();
    let (port, dir) = (server.port(), server.dir().to_path_buf());
    assert_eq!(server.query("SELECT 1"), vec![vec![Some("1".to_string())]]);
    // No anonymous users left to shadow 'app'@'%'.
    assert!(server
        .query("SELECT user FROM mysql.user WHERE user = ''")
        .is_empty());
    drop(server);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections"
    );
}

#[test]
fn guarded_child_dies_with_the_watched_process() {
    let mut parent = Command::new("sleep").arg("30").spawn().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Guarded::spawn_watching(
        parent.id(),
        Path::new("sleep"),
        &["300".to_string()],
        log.path(),
    )
    .unwrap();
    assert!(child.wait_timeout(Duration::from_millis(500)).is_none());
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert!(
        child.wait_timeout(Duration::from_secs(5)).is_some(),
        "guarded child outlived the process it watched"
    );
}

#[test]
fn generated_rule_file_loads() {
    let dbs = fresh_databases("rules");
    let text = with_server(
        &passthrough_rules("demo", &dbs),
        "127.0.0.1:3307",
        Path::new("/nonexistent/data"),
    );
    if let Err(e) = shardgate::config::parse(&text) {
        panic!("rule file written by the harness is refused: {e}\n{text}");
    }
    assert!(text.contains("listen = \"127.0.0.1:3307\""), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{}/{}", cluster()[1].port(), dbs[1])));
}
