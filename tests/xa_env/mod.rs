//! A bank on two data sources for the XA tests (`mod xa_env;`): `account`
//! sharded by `id % 2` (even ids on ds_0, odd on ds_1), `ledger` rows
//! placed with their account. Checks read the backends directly.
#![allow(dead_code)]

use crate::common::{MariaDb, APP_PASSWORD, APP_USER};
use mysql_async::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Accounts 0..ACCOUNTS, each starting with [`START_BALANCE`].
pub const ACCOUNTS: i64 = 8;
pub const START_BALANCE: i64 = 1000;

static INSTANCE: AtomicUsize = AtomicUsize::new(0);

/// A unique XA instance name, so proxies sharing servers never take each
/// other's branches for their own.
pub fn instance_name() -> String {
    format!(
        "t{}n{}",
        std::process::id(),
        INSTANCE.fetch_add(1, Ordering::Relaxed)
    )
}

/// The rule file: the bank on `servers[i]`'s database `dbs[i]`.
pub fn rules(servers: &[&MariaDb], dbs: &[String], mode: &str, instance: &str) -> String {
    let mut text = format!(
        "[server]\ntransaction_mode = \"{mode}\"\ninstance_name = \"{instance}\"\n\n\
         [[users]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\nschemas = [\"bank\"]\n\n\
         [[users]]\nname = \"ops\"\npassword = \"ops_pw\"\nschemas = [\"bank\"]\nadmin = true\n\n"
    );
    for (i, (server, db)) in servers.iter().zip(dbs).enumerate() {
        text.push_str(&format!(
            "[data_sources.ds_{i}]\nprimary = \"{}\"\n\n",
            server.data_source_url(db)
        ));
    }
    text.push_str(
        "[schemas.bank]\ndefault_data_source = \"ds_0\"\nbroadcast_tables = [\"branch\"]\n\n\
         [schemas.bank.tables.account]\nnodes = \"ds_${0..1}.account\"\n\
         sharding = { column = \"id\", algorithm = \"by_mod\" }\n\n\
         [schemas.bank.tables.ledger]\nnodes = \"ds_${0..1}.ledger\"\n\
         sharding = { column = \"account_id\", algorithm = \"by_mod\" }\n\n\
         [schemas.bank.algorithms]\nby_mod = { type = \"mod\" }\n",
    );
    text
}

/// Creates the tables on each backend database and the starting balances.
pub fn create_bank(servers: &[&MariaDb], dbs: &[String]) {
    for (i, (server, db)) in servers.iter().zip(dbs).enumerate() {
        let mut sql = format!(
            "CREATE TABLE `{db}`.account (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;\
             CREATE TABLE `{db}`.ledger (transfer VARCHAR(64) NOT NULL, account_id BIGINT NOT NULL, \
             delta BIGINT NOT NULL, PRIMARY KEY (transfer, account_id)) ENGINE=InnoDB;\
             CREATE TABLE `{db}`.branch (id INT PRIMARY KEY, name VARCHAR(32)) ENGINE=InnoDB;"
        );
        for id in (0..ACCOUNTS).filter(|id| id % 2 == i as i64) {
            sql.push_str(&format!(
                "INSERT INTO `{db}`.account VALUES ({id}, {START_BALANCE});"
            ));
        }
        server.exec(&sql);
    }
}

/// Balances as stored, by account id.
pub fn balances(servers: &[&MariaDb], dbs: &[String]) -> Vec<(i64, i64)> {
    let mut all = Vec::new();
    for (server, db) in servers.iter().zip(dbs) {
        for row in server.query(&format!("SELECT id, balance FROM `{db}`.account")) {
            let id = row[0].as_deref().unwrap_or("0").parse().unwrap_or(0);
            let balance = row[1].as_deref().unwrap_or("0").parse().unwrap_or(0);
            all.push((id, balance));
        }
    }
    all.sort();
    all
}

pub fn total(servers: &[&MariaDb], dbs: &[String]) -> i64 {
    balances(servers, dbs).iter().map(|(_, b)| b).sum()
}

/// Ledger rows as stored: (transfer, account, delta).
pub fn ledger(servers: &[&MariaDb], dbs: &[String]) -> Vec<(String, i64, i64)> {
    let mut all = Vec::new();
    for (server, db) in servers.iter().zip(dbs) {
        for row in server.query(&format!(
            "SELECT transfer, account_id, delta FROM `{db}`.ledger"
        )) {
            all.push((
                row[0].clone().unwrap_or_default(),
                row[1].as_deref().unwrap_or("0").parse().unwrap_or(0),
                row[2].as_deref().unwrap_or("0").parse().unwrap_or(0),
            ));
        }
    }
    all.sort();
    all
}

/// Prepared XA branches on `server`: (formatID, gtrid, bqual).
pub fn prepared(server: &MariaDb) -> Vec<(String, String, String)> {
    server
        .query("XA RECOVER")
        .into_iter()
        .map(|row| {
            let gl: usize = row[1].as_deref().unwrap_or("0").parse().unwrap_or(0);
            let data = row[3].clone().unwrap_or_default();
            let (g, b) = data.split_at(gl.min(data.len()));
            (
                row[0].clone().unwrap_or_default(),
                g.to_string(),
                b.to_string(),
            )
        })
        .collect()
}

/// Prepared branches of the instance `instance`.
pub fn ours(server: &MariaDb, instance: &str) -> Vec<String> {
    let prefix = format!("sg1:{instance}:");
    prepared(server)
        .into_iter()
        .filter(|(f, g, _)| f == "21319" && g.starts_with(&prefix))
        .map(|(_, g, b)| format!("{g}/{b}"))
        .collect()
}

/// `Com_xa_<what>` of a server, e.g. "prepare", "commit".
pub fn xa_count(server: &MariaDb, what: &str) -> u64 {
    let rows = server.query(&format!("SHOW GLOBAL STATUS LIKE 'Com_xa_{what}'"));
    rows.first()
        .and_then(|r| r[1].as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A client of the proxy on `bank`.
pub async fn client(port: u16) -> mysql_async::Conn {
    let url =
        format!("mysql://{APP_USER}:{APP_PASSWORD}@127.0.0.1:{port}/bank?prefer_socket=false");
    mysql_async::Conn::new(mysql_async::Opts::from_url(&url).expect("url"))
        .await
        .expect("connect to the proxy")
}

/// One transfer of `amount` from `from` to `to`, with its ledger rows, as
/// one explicit transaction.
pub async fn transfer(
    conn: &mut mysql_async::Conn,
    name: &str,
    from: i64,
    to: i64,
    amount: i64,
) -> Result<(), mysql_async::Error> {
    conn.query_drop("BEGIN").await?;
    let statements = [
        format!("UPDATE account SET balance = balance - {amount} WHERE id = {from}"),
        format!("UPDATE account SET balance = balance + {amount} WHERE id = {to}"),
        format!(
            "INSERT INTO ledger VALUES ('{name}', {from}, -{amount}), ('{name}', {to}, {amount})"
        ),
    ];
    for sql in statements {
        if let Err(e) = conn.query_drop(sql).await {
            let _ = conn.query_drop("ROLLBACK").await;
            return Err(e);
        }
    }
    conn.query_drop("COMMIT").await
}

/// Plants prepared branches that are not ours on `server`: an
/// application's xid, and one of another instance in our format. Their
/// connections go, the branches stay.
pub fn plant_foreign(server: &MariaDb, db: &str) {
    server.exec(&format!(
        "CREATE TABLE IF NOT EXISTS `{db}`.foreign_rows (id INT PRIMARY KEY) ENGINE=InnoDB"
    ));
    server.exec(&format!(
        "XA START 'app-xid-1'; INSERT INTO `{db}`.foreign_rows VALUES (1); XA END 'app-xid-1'; XA PREPARE 'app-xid-1'"
    ));
    server.exec(&format!(
        "XA START 'sg1:other:1:1','ds_0',21319; INSERT INTO `{db}`.foreign_rows VALUES (2); \
         XA END 'sg1:other:1:1','ds_0',21319; XA PREPARE 'sg1:other:1:1','ds_0',21319"
    ));
}

/// Finishes the planted branches (end of a test).
pub fn remove_foreign(server: &MariaDb) {
    server.exec("XA ROLLBACK 'app-xid-1'; XA ROLLBACK 'sg1:other:1:1','ds_0',21319");
}
