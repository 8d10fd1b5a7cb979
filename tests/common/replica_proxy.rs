//! A proxy in front of [`ReplicaSet`]s, and the client calls the replica
//! tests make through it.

use super::replication::{wait_for, ReplicaSet};
use super::{Proxy, APP_PASSWORD, APP_USER};
use mysql_async::prelude::Queryable;
use std::time::Duration;

/// The admin login of [`rules`].
pub const OPS_USER: &str = "ops";
pub const OPS_PASSWORD: &str = "ops_pw";

/// Health checks every 100 ms in the tests.
pub const INTERVAL_MS: u64 = 100;

/// A rule file: users `app` and `ops` (admin) on schema `shop`, whose
/// tables live on `ds_0`; `data_sources` is the `[data_sources...]` text.
pub fn rules(data_sources: &str) -> String {
    format!(
        "[server]\nhealth_check_interval_ms = {INTERVAL_MS}\n\n\
         [[users]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\nschemas = [\"shop\"]\n\n\
         [[users]]\nname = \"{OPS_USER}\"\npassword = \"{OPS_PASSWORD}\"\nschemas = [\"shop\"]\nadmin = true\n\n\
         {data_sources}\n[schemas.shop]\ndefault_data_source = \"ds_0\"\n"
    )
}

/// A client of the proxy as `user` on `shop`.
pub async fn client(proxy: &Proxy, user: &str, password: &str) -> mysql_async::Conn {
    let opts = mysql_async::Opts::from_url(&proxy.url(user, password, "shop")).expect("url");
    mysql_async::Conn::new(opts)
        .await
        .expect("connect to the proxy")
}

pub async fn app(proxy: &Proxy) -> mysql_async::Conn {
    client(proxy, APP_USER, APP_PASSWORD).await
}

pub async fn ops(proxy: &Proxy) -> mysql_async::Conn {
    client(proxy, OPS_USER, OPS_PASSWORD).await
}

/// One row of SHOW BACKENDS.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub data_source: String,
    pub role: String,
    pub address: String,
    pub healthy: i64,
    pub lag_s: Option<i64>,
    pub pool_in_use: i64,
    pub pool_idle: i64,
    pub pool_max: i64,
}

pub async fn show_backends(conn: &mut mysql_async::Conn) -> Vec<Backend> {
    let rows: Vec<mysql_async::Row> = conn.query("SHOW BACKENDS").await.expect("SHOW BACKENDS");
    rows.into_iter()
        .map(|mut r| Backend {
            data_source: r.take(0).unwrap(),
            role: r.take(1).unwrap(),
            address: r.take(2).unwrap(),
            healthy: r.take(3).unwrap(),
            lag_s: r.take(4).unwrap(),
            pool_in_use: r.take(5).unwrap(),
            pool_idle: r.take(6).unwrap(),
            pool_max: r.take(7).unwrap(),
        })
        .collect()
}

/// The row of `address` in SHOW BACKENDS.
pub async fn backend(conn: &mut mysql_async::Conn, address: &str) -> Backend {
    show_backends(conn)
        .await
        .into_iter()
        .find(|b| b.address == address)
        .unwrap_or_else(|| panic!("{address} is not in SHOW BACKENDS"))
}

/// Polls SHOW BACKENDS until `ok` holds for the row of `address`.
pub async fn wait_backend(
    conn: &mut mysql_async::Conn,
    address: &str,
    what: &str,
    limit: Duration,
    ok: impl Fn(&Backend) -> bool,
) -> Backend {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let b = backend(conn, address).await;
        if ok(&b) {
            return b;
        }
        if std::time::Instant::now() >= deadline {
            panic!(
                "{address} not {what} after {limit:?}: {b:?}\n{:#?}",
                show_backends(conn).await
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every endpoint is healthy (replicas serving reads).
pub async fn wait_all_healthy(conn: &mut mysql_async::Conn) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let all = show_backends(conn).await;
        if all.iter().all(|b| b.healthy == 1) {
            return;
        }
        if std::time::Instant::now() >= deadline {
            panic!("not every endpoint became healthy: {all:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The server id that answers `sql` (which must select `@@server_id` first).
pub async fn server_id(conn: &mut mysql_async::Conn, sql: &str) -> u32 {
    let row: Option<mysql_async::Row> = conn
        .query_first(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut row = row.unwrap_or_else(|| panic!("{sql}: no row"));
    row.take(0).unwrap_or_else(|| panic!("{sql}: no server id"))
}

/// Runs a blocking harness call without holding up the test's runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking step")
}

/// Re-exported so tests need one import.
pub fn wait<T>(what: &str, limit: Duration, check: impl FnMut() -> Option<T>) -> T {
    wait_for(what, limit, check)
}

/// A replica set shared as `'static` by the tests of one binary.
pub type Shared = &'static ReplicaSet;
