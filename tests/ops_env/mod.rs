//! What the operations tests share (`mod ops_env;` after `mod common;`): a
//! small sharded rule file with an admin user, plain-HTTP GETs against the
//! admin endpoints, and reading one series out of the metrics text.
#![allow(dead_code)]

use crate::common::{Proxy, APP_PASSWORD, APP_USER};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub const ADMIN_USER: &str = "ops";
pub const ADMIN_PASSWORD: &str = "ops_pw";

/// Schema `app` on `dbs` (ds_0, ds_1): `t_kv` sharded by `id` mod 2 over
/// `ds_${0..1}.t_kv`, the rest on ds_0; users `app` and admin `ops`;
/// `server.admin_listen` on `admin_port`. `extra` is appended as is.
pub fn kv_rules(dbs: &[String], admin_port: u16, extra: &str) -> String {
    let data_sources = crate::common::data_sources_toml(dbs);
    format!(
        "[server]\nadmin_listen = \"127.0.0.1:{admin_port}\"\n\n\
         [[users]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\nschemas = [\"app\"]\n\n\
         [[users]]\nname = \"{ADMIN_USER}\"\npassword = \"{ADMIN_PASSWORD}\"\nschemas = [\"app\"]\nadmin = true\n\n\
         {data_sources}\
         [schemas.app]\ndefault_data_source = \"ds_0\"\n\n\
         [schemas.app.tables.t_kv]\nnodes = \"ds_${{0..1}}.t_kv\"\n\
         sharding = {{ column = \"id\", algorithm = \"m\" }}\n\n\
         [schemas.app.algorithms]\nm = {{ type = \"mod\" }}\n\n{extra}"
    )
}

/// A client of `app` on the schema `app`.
pub async fn app_conn(proxy: &Proxy) -> mysql_async::Conn {
    connect(proxy, APP_USER, APP_PASSWORD).await
}

/// A client of the admin `ops` on the schema `app`.
pub async fn admin_conn(proxy: &Proxy) -> mysql_async::Conn {
    connect(proxy, ADMIN_USER, ADMIN_PASSWORD).await
}

pub async fn connect(proxy: &Proxy, user: &str, password: &str) -> mysql_async::Conn {
    let opts = mysql_async::Opts::from_url(&proxy.url(user, password, "app")).unwrap();
    mysql_async::Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("login as {user}: {e}\n{}", proxy.log()))
}

/// GET `path` from `addr` over HTTP/1.0: (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of the series named exactly `series` (name and labels).
/// A series matches a line with the same name whose labels include the
/// series' labels (an endpoint's series also carry `endpoint=`).
pub fn metric(text: &str, series: &str) -> Option<f64> {
    let split = |s: &str| -> (String, Vec<String>) {
        match s.split_once('{') {
            Some((name, labels)) => (
                name.to_string(),
                labels
                    .trim_end_matches('}')
                    .split("\",")
                    .map(|l| l.trim_end_matches('"').to_string())
                    .filter(|l| !l.is_empty())
                    .collect(),
            ),
            None => (s.to_string(), Vec::new()),
        }
    };
    let (name, labels) = split(series);
    text.lines().find_map(|line| {
        let (head, value) = line.rsplit_once(' ')?;
        let (line_name, line_labels) = split(head);
        if line_name != name || !labels.iter().all(|l| line_labels.contains(l)) {
            return None;
        }
        value.parse().ok()
    })
}

/// Creates `t_kv` through `conn` and inserts `rows` (`"(1, 'one')"`, ...).
pub async fn create_kv(conn: &mut mysql_async::Conn, rows: &str) {
    use mysql_async::prelude::Queryable;
    conn.query_drop("CREATE TABLE t_kv (id BIGINT PRIMARY KEY, v VARCHAR(20))")
        .await
        .unwrap();
    conn.query_drop(format!("INSERT INTO t_kv (id, v) VALUES {rows}"))
        .await
        .unwrap();
}

/// `base` with a third data source `ds_2` at `far_url` holding table `t_far`.
pub fn with_far_source(base: &str, far_url: &str) -> String {
    format!(
        "{base}\n[data_sources.ds_2]\nprimary = \"{far_url}\"\n\n\
         [schemas.app.tables.t_far]\nnodes = [\"ds_2.t_far\"]\n\
         sharding = {{ column = \"id\", algorithm = \"m\" }}\n"
    )
}

/// Creates `t_far` through `conn` with the row 5.
pub async fn create_far(conn: &mut mysql_async::Conn) {
    use mysql_async::prelude::Queryable;
    conn.query_drop("CREATE TABLE t_far (id BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    conn.query_drop("INSERT INTO t_far (id) VALUES (5)")
        .await
        .unwrap();
}
