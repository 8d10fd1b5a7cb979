//! Shared pieces of the multiplexing tests (`mod multiplex_support;`).
//!
//! - [`MuxEnv`]: fresh databases and a proxy whose data source `ds_0` logs
//!   in to the backend as a user of its own, so the backend's process list
//!   tells exactly how many connections the proxy holds
//!   ([`MuxEnv::backend_conns`]); `CONNECTION_ID()` cannot tell, as the
//!   proxy may answer it with its own client connection id.
//! - [`quiet`]: a client whose login runs no statement, so logging in
//!   borrows no backend connection.
//! - [`step`]: every client step is bounded, so a proxy that makes a client
//!   wait for a connection someone else keeps fails the test in seconds
//!   (with what was expected), not after the proxy's 10 s acquire timeout.
#![allow(dead_code)]

use crate::common::{
    cluster, fresh_databases, passthrough_rules, MariaDb, Proxy, APP_PASSWORD, APP_USER,
};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The logical schema of every multiplexing test.
pub const SCHEMA: &str = "shop";
/// How long one client statement may take. Far above what a statement on an
/// idle loopback backend needs, far below the proxy's 10 s acquire timeout.
pub const STEP: Duration = Duration::from_secs(4);

/// Fresh databases and a proxy over them, `ds_0` logging in as
/// [`MuxEnv::backend_user`].
pub struct MuxEnv {
    pub proxy: Proxy,
    /// `dbs[i]` lives on `cluster()[i]`; `ds_0` is `dbs[0]`.
    pub dbs: Vec<String>,
    /// The backend login of `ds_0`, used by nobody else.
    pub backend_user: String,
    /// `ds_0`'s server when it is private to the test (its global status
    /// counters then count only this test's work); else `cluster()[0]`.
    pub private: Option<MariaDb>,
}

static USER_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl MuxEnv {
    /// Passthrough rules with `pool_max` for `ds_0`; `extra` is appended to
    /// the rule file (more schemas, users). `setup` runs as root on both
    /// databases before the proxy starts.
    pub fn start(prefix: &str, pool_max: i64, setup: &str, extra: &str) -> MuxEnv {
        MuxEnv::start_with(prefix, pool_max, setup, extra, |_| {})
    }

    /// As [`MuxEnv::start`], with `ds_0` on a MariaDB server of its own.
    pub fn start_private(prefix: &str, pool_max: i64, setup: &str) -> MuxEnv {
        MuxEnv::build(prefix, pool_max, setup, "", |_| {}, Some(MariaDb::start()))
    }

    /// As [`MuxEnv::start`]; `edit` changes the rule file before it is
    /// written (e.g. `server.max_connections`).
    pub fn start_with(
        prefix: &str,
        pool_max: i64,
        setup: &str,
        extra: &str,
        edit: impl FnOnce(&mut toml::Table),
    ) -> MuxEnv {
        MuxEnv::build(prefix, pool_max, setup, extra, edit, None)
    }

    fn build(
        prefix: &str,
        pool_max: i64,
        setup: &str,
        extra: &str,
        edit: impl FnOnce(&mut toml::Table),
        private: Option<MariaDb>,
    ) -> MuxEnv {
        let dbs = fresh_databases(prefix);
        if let Some(server) = &private {
            server.exec(&format!(
                "CREATE DATABASE `{}` CHARACTER SET utf8mb4",
                dbs[0]
            ));
        }
        let backend_user = format!(
            "sg{}_{}",
            std::process::id(),
            USER_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let server = private.as_ref().unwrap_or(&cluster()[0]);
        server.exec(&format!(
            "CREATE USER '{backend_user}'@'%' IDENTIFIED BY 'pw'; \
             GRANT ALL ON `{}`.* TO '{backend_user}'@'%'; \
             GRANT PROCESS ON *.* TO '{backend_user}'@'%'",
            dbs[0]
        ));
        if !setup.trim().is_empty() {
            server.exec(&format!("USE `{}`; {setup}", dbs[0]));
            cluster()[1].exec(&format!("USE `{}`; {setup}", dbs[1]));
        }
        let mut rules: toml::Table = passthrough_rules(SCHEMA, &dbs)
            .parse()
            .expect("passthrough rules are TOML");
        let ds0 = rules["data_sources"]["ds_0"]
            .as_table_mut()
            .expect("a data source is a table");
        ds0.insert(
            "primary".into(),
            toml::Value::String(format!(
                "mysql://{backend_user}:pw@127.0.0.1:{}/{}",
                server.port(),
                dbs[0]
            )),
        );
        ds0.insert("pool_max".into(), toml::Value::Integer(pool_max));
        edit(&mut rules);
        let mut text = toml::to_string(&rules).expect("serialize the rules");
        text.push_str(extra);
        MuxEnv {
            proxy: Proxy::start(&text),
            dbs,
            backend_user,
            private,
        }
    }

    /// A client of the proxy as `app` on [`SCHEMA`] (see [`quiet`]).
    pub async fn client(&self) -> Conn {
        quiet(self.proxy.url(APP_USER, APP_PASSWORD, SCHEMA)).await
    }

    /// A client of the proxy as `user` on [`SCHEMA`] (see [`quiet`]).
    pub async fn client_as(&self, user: &str, password: &str) -> Conn {
        quiet(self.proxy.url(user, password, SCHEMA)).await
    }

    /// As [`MuxEnv::client`] with more options (e.g. `client_found_rows`).
    pub async fn client_with(&self, options: impl FnOnce(OptsBuilder) -> OptsBuilder) -> Conn {
        let opts = quiet_opts(&self.proxy.url(APP_USER, APP_PASSWORD, SCHEMA));
        step("connect to the proxy", Conn::new(options(opts))).await
    }

    /// The server `dbs[i]` lives on.
    pub fn server(&self, i: usize) -> &MariaDb {
        match (i, &self.private) {
            (0, Some(server)) => server,
            _ => &cluster()[i],
        }
    }

    /// A root connection to database `dbs[i]`, the way [`quiet`] connects.
    pub async fn direct(&self, i: usize) -> Conn {
        quiet(self.server(i).url(&self.dbs[i])).await
    }

    /// How many pool connections the proxy holds to `ds_0` now, from the
    /// backend's process list (read as root on a connection of the
    /// harness); the health check's own connection names no database.
    pub async fn backend_conns(&self) -> usize {
        let mut root = quiet(self.server(0).url("")).await;
        let n: Option<usize> = root
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND DB IS NOT NULL",
                (self.backend_user.as_str(),),
            )
            .await
            .expect("read the backend's process list");
        let _ = root.disconnect().await;
        n.unwrap_or(0)
    }

    /// Asserts the proxy holds at most `max` connections to `ds_0`.
    pub async fn assert_backend_conns_at_most(&self, max: usize, when: &str) {
        let n = self.backend_conns().await;
        assert!(
            n <= max,
            "{when}: the proxy holds {n} backend connections to ds_0, pool_max allows {max}"
        );
    }
}

/// mysql_async options that make logging in run no statement: the values
/// it would otherwise read from the server are given up front.
pub fn quiet_opts(url: &str) -> OptsBuilder {
    let opts = Opts::from_url(url).expect("valid url");
    OptsBuilder::from_opts(opts)
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .wait_timeout(Some(28_800))
}

/// Connects with [`quiet_opts`], within [`STEP`].
pub async fn quiet(url: String) -> Conn {
    step(&format!("connect to {url}"), Conn::new(quiet_opts(&url))).await
}

/// Awaits `future` for at most [`STEP`]; panics naming `what` on a timeout
/// or an error.
pub async fn step<T, E: std::fmt::Display>(
    what: &str,
    future: impl Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(STEP, future).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!(
            "{what}: no answer within {STEP:?}. A client must not wait for a backend \
             connection another client keeps without a pin (expected per-statement \
             multiplexing)"
        ),
    }
}

/// What one statement gave: its rows as text, or the server's error code.
pub type Outcome = Result<Vec<Vec<Option<String>>>, u16>;

/// Runs `sql` and keeps rows or the error code; other errors (a lost
/// connection) and a timeout panic naming `who`.
pub async fn outcome(conn: &mut Conn, who: &str, sql: &str) -> Outcome {
    match tokio::time::timeout(STEP, conn.query::<Row, _>(sql)).await {
        Ok(Ok(rows)) => Ok(rows.into_iter().map(crate::common::row_text).collect()),
        Ok(Err(mysql_async::Error::Server(e))) => Err(e.code),
        Ok(Err(e)) => panic!("{who}: {sql}: {e}"),
        Err(_) => panic!(
            "{who}: {sql}: no answer within {STEP:?} (expected per-statement multiplexing to \
             lend the backend connection)"
        ),
    }
}

/// [`outcome`] of each statement in turn.
pub async fn outcomes(conn: &mut Conn, who: &str, sqls: &[&str]) -> Vec<Outcome> {
    let mut all = Vec::with_capacity(sqls.len());
    for sql in sqls {
        all.push(outcome(conn, who, sql).await);
    }
    all
}

/// Bounds a whole test: a hang fails it instead of blocking CI.
pub async fn within(limit: Duration, body: impl Future<Output = ()>) {
    tokio::time::timeout(limit, body)
        .await
        .unwrap_or_else(|_| panic!("test did not finish within {limit:?}"));
}
