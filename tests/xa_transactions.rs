//! XA mode end to end on the shared servers: a transaction that wrote on
//! two data sources commits in two phases (the backends' Com_xa_prepare
//! counts say so), one that wrote on one commits in one phase, a rollback
//! or a disconnect leaves nothing, a deadlock rolls everything back, what
//! a branch would refuse is refused by the proxy first, and
//! `SET shardgate_transaction_mode` switches a session's next transaction.

mod common;
mod xa_env;

use common::{cluster, fresh_databases, MariaDb, Proxy};
use mysql_async::prelude::*;
use std::time::Duration;
use xa_env::*;

/// Held by every test of this file: some count the servers' XA prepares
/// (a global status counter), which another test's transactions would move.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Bank {
    proxy: Proxy,
    dbs: Vec<String>,
    instance: String,
}

impl Bank {
    fn start(prefix: &str, mode: &str) -> Bank {
        let dbs = fresh_databases(prefix);
        let servers = servers();
        create_bank(&servers, &dbs);
        let instance = instance_name();
        let proxy = Proxy::start(&rules(&servers, &dbs, mode, &instance));
        Bank {
            proxy,
            dbs,
            instance,
        }
    }
    fn total(&self) -> i64 {
        total(&servers(), &self.dbs)
    }
    fn balances(&self) -> Vec<(i64, i64)> {
        balances(&servers(), &self.dbs)
    }
}

fn servers() -> Vec<&'static MariaDb> {
    cluster().iter().collect()
}

/// Com_xa_prepare of both servers.
fn prepares() -> (u64, u64) {
    let s = servers();
    (xa_count(s[0], "prepare"), xa_count(s[1], "prepare"))
}

async fn err_code(result: Result<(), mysql_async::Error>) -> (u16, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[tokio::test]
async fn two_data_sources_commit_in_two_phases_one_in_one_phase() {
    let _serial = SERIAL.lock().await;
    let bank = Bank::start("xa_2pc", "xa");
    let mut c = client(bank.proxy.port()).await;
    let before = prepares();
    transfer(&mut c, "t1", 0, 1, 10).await.unwrap();
    let after = prepares();
    // The servers are shared with other tests: at least one prepare each.
    assert!(
        after.0 > before.0 && after.1 > before.1,
        "{before:?} -> {after:?}"
    );
    assert_eq!(bank.balances()[..2], [(0, 990), (1, 1010)]);
    assert_eq!(bank.total(), ACCOUNTS * START_BALANCE);
    println!("two-branch transfer: prepares {before:?} -> {after:?}");

    // Written on ds_0 only, read on ds_1: ONE PHASE, no prepare on ds_0 for it.
    let s = servers();
    let commits_one = xa_count(s[0], "commit");
    c.query_drop("BEGIN").await.unwrap();
    let _: Vec<i64> = c
        .query("SELECT balance FROM account WHERE id = 1")
        .await
        .unwrap();
    c.query_drop("UPDATE account SET balance = balance + 1 WHERE id = 2")
        .await
        .unwrap();
    c.query_drop("COMMIT").await.unwrap();
    assert!(xa_count(s[0], "commit") > commits_one);
    assert_eq!(bank.balances()[2], (2, 1001));

    // Nothing of ours is left prepared; the decision log has nothing open.
    assert!(ours(s[0], &bank.instance).is_empty());
    assert!(ours(s[1], &bank.instance).is_empty());
    let mut admin = mysql_async::Conn::new(
        mysql_async::Opts::from_url(&bank.proxy.url("ops", "ops_pw", "bank")).unwrap(),
    )
    .await
    .unwrap();
    let rows: Vec<mysql_async::Row> = admin.query("SHOW XA TRANSACTIONS").await.unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}

#[tokio::test]
async fn implicit_and_autocommit_off_writes_are_atomic() {
    let _serial = SERIAL.lock().await;
    let bank = Bank::start("xa_implicit", "xa");
    let mut c = client(bank.proxy.port()).await;
    let before = prepares();
    // One statement on both data sources, outside a transaction.
    c.query_drop("UPDATE account SET balance = balance + 5 WHERE id IN (0, 1)")
        .await
        .unwrap();
    // A broadcast write.
    c.query_drop("INSERT INTO branch VALUES (1, 'main')")
        .await
        .unwrap();
    let after = prepares();
    assert!(
        after.0 >= before.0 + 2 && after.1 >= before.1 + 2,
        "{before:?} -> {after:?}"
    );
    assert_eq!(bank.balances()[..2], [(0, 1005), (1, 1005)]);

    // autocommit = 0: every statement is in an XA transaction until COMMIT.
    c.query_drop("SET autocommit = 0").await.unwrap();
    c.query_drop("UPDATE account SET balance = balance - 5 WHERE id = 0")
        .await
        .unwrap();
    c.query_drop("UPDATE account SET balance = balance - 5 WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(bank.balances()[..2], [(0, 1005), (1, 1005)]);
    c.query_drop("COMMIT").await.unwrap();
    assert_eq!(bank.balances()[..2], [(0, 1000), (1, 1000)]);
    c.query_drop("UPDATE account SET balance = 0 WHERE id IN (0, 1)")
        .await
        .unwrap();
    c.query_drop("ROLLBACK").await.unwrap();
    // SET autocommit = 1 commits the open transaction (a branch would refuse it).
    c.query_drop("UPDATE account SET balance = balance + 1 WHERE id IN (0, 1)")
        .await
        .unwrap();
    c.query_drop("SET autocommit = 1").await.unwrap();
    assert_eq!(bank.balances()[..2], [(0, 1001), (1, 1001)]);
}

#[tokio::test]
async fn rollback_and_disconnect_leave_nothing_and_free_the_locks() {
    let _serial = SERIAL.lock().await;
    let bank = Bank::start("xa_rollback", "xa");
    let mut c = client(bank.proxy.port()).await;
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE account SET balance = 0 WHERE id IN (0, 1)")
        .await
        .unwrap();
    c.query_drop("ROLLBACK").await.unwrap();
    assert_eq!(bank.total(), ACCOUNTS * START_BALANCE);

    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE account SET balance = 0 WHERE id IN (0, 1)")
        .await
        .unwrap();
    drop(c);
    // Another client gets the rows (the locks went with the branches).
    let mut other = client(bank.proxy.port()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    other
        .query_drop("UPDATE account SET balance = balance + 0 WHERE id IN (0, 1)")
        .await
        .unwrap();
    assert_eq!(bank.total(), ACCOUNTS * START_BALANCE);
}

#[tokio::test]
async fn what_a_branch_refuses_is_refused_first_and_a_deadlock_rolls_back_all() {
    let _serial = SERIAL.lock().await;
    let bank = Bank::start("xa_refuse", "xa");
    let mut c = client(bank.proxy.port()).await;
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE account SET balance = balance + 1 WHERE id IN (0, 1)")
        .await
        .unwrap();
    for sql in [
        "CREATE TABLE t_new (id INT)",
        "LOCK TABLES account WRITE",
        "BEGIN",
        "XA START 'mine'",
    ] {
        let (code, message) = err_code(c.query_drop(sql).await).await;
        assert_eq!(code, 1399, "{sql}: {message}");
        assert!(message.contains("XA transaction"), "{sql}: {message}");
    }
    c.query_drop("COMMIT").await.unwrap();
    assert_eq!(bank.balances()[..2], [(0, 1001), (1, 1001)]);

    // A deadlock on ds_1 between two transactions that also span ds_0.
    let mut a = client(bank.proxy.port()).await;
    let mut b = client(bank.proxy.port()).await;
    let up = |id: i64| format!("UPDATE account SET balance = balance + 100 WHERE id = {id}");
    a.query_drop("BEGIN").await.unwrap();
    b.query_drop("BEGIN").await.unwrap();
    a.query_drop(up(0)).await.unwrap();
    a.query_drop(up(1)).await.unwrap();
    b.query_drop(up(3)).await.unwrap();
    let a_task = tokio::spawn(async move {
        let r = a.query_drop(up(3)).await;
        (a, r)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rb = b
        .query_drop("UPDATE account SET balance = balance + 100 WHERE id = 1")
        .await;
    let (mut a, ra) = a_task.await.unwrap();
    let a_lost = ra.is_err();
    let loser = if a_lost { ra } else { rb };
    let (code, message) = err_code(loser).await;
    assert_eq!(code, 1213, "{message}");
    assert!(
        message.contains("rolled back on every data source"),
        "{message}"
    );
    println!("deadlock: {code} {message}");
    if a_lost {
        b.query_drop("COMMIT").await.unwrap();
        // The loser's transaction is over: its COMMIT commits nothing.
        a.query_drop("COMMIT").await.unwrap();
    } else {
        a.query_drop("COMMIT").await.unwrap();
        b.query_drop("COMMIT").await.unwrap();
    }
    let balances = bank.balances();
    let expected_0 = if a_lost { 1001 } else { 1101 };
    assert_eq!(balances[0], (0, expected_0), "{balances:?}");
    assert_eq!(balances[1], (1, 1101), "{balances:?}");
    assert_eq!(balances[3], (3, 1100), "{balances:?}");
    for s in servers() {
        assert!(ours(s, &bank.instance).is_empty());
    }
}

#[tokio::test]
async fn the_session_variable_picks_the_next_transactions_mode() {
    let _serial = SERIAL.lock().await;
    let bank = Bank::start("xa_mode", "local");
    let mut c = client(bank.proxy.port()).await;
    let before = prepares();
    transfer(&mut c, "local1", 0, 1, 1).await.unwrap();
    assert_eq!(prepares(), before, "local mode prepared something");
    c.query_drop("SET shardgate_transaction_mode = 'xa'")
        .await
        .unwrap();
    transfer(&mut c, "xa1", 0, 1, 1).await.unwrap();
    let after = prepares();
    assert!(after.0 > before.0 && after.1 > before.1);
    c.query_drop("SET shardgate_transaction_mode = 'local'")
        .await
        .unwrap();
    let (code, _) = err_code(
        c.query_drop("SET shardgate_transaction_mode = 'both'")
            .await,
    )
    .await;
    assert_eq!(code, 1231);
    assert_eq!(bank.total(), ACCOUNTS * START_BALANCE);
    assert_eq!(bank.balances()[..2], [(0, 998), (1, 1002)]);
}

#[tokio::test]
async fn a_second_process_on_the_same_decision_log_refuses_to_start() {
    let _serial = SERIAL.lock().await;
    let bank = Bank::start("xa_lock", "xa");
    let dir = bank.proxy.data_dir();
    let rules = rules(&servers(), &bank.dbs, "xa", &bank.instance).replacen(
        "[server]\n",
        &format!("[server]\ndata_dir = \"{}\"\n", dir.display()),
        1,
    );
    let second = Proxy::try_start(&rules);
    let error = second
        .err()
        .expect("a second proxy on the same data_dir started");
    assert!(error.contains("another shardgate process"), "{error}");
    // The first one still serves.
    let mut c = client(bank.proxy.port()).await;
    transfer(&mut c, "after", 0, 1, 1).await.unwrap();
}

/// The hex xid of `gtrid`'s branch on `data_source`, as the proxy writes it.
fn xid_sql(gtrid: &str, data_source: &str) -> String {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    format!("X'{}',X'{}',21319", hex(gtrid), hex(data_source))
}

/// A branch's `XA START` goes in one round trip with its first statement:
/// when it fails (here the xid is taken already), that statement never
/// runs, not even in autocommit, and the client gets the XA error.
#[tokio::test]
async fn a_failed_xa_start_sent_with_the_first_statement_changes_nothing() {
    let _serial = SERIAL.lock().await;
    let bank = Bank::start("xa_start_fails", "xa");
    let s = servers();
    // The proxy's first transaction is sg1:<instance>:1:1 (a new data_dir: epoch 1).
    let taken = xid_sql(&format!("sg1:{}:1:1", bank.instance), "ds_1");
    let mut squatter = mysql_async::Conn::new(s[1].opts(&bank.dbs[1]))
        .await
        .unwrap();
    squatter
        .query_drop(format!("XA START {taken}"))
        .await
        .unwrap();

    let mut c = client(bank.proxy.port()).await;
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE account SET balance = balance + 7 WHERE id = 0")
        .await
        .unwrap();
    let (code, message) = err_code(
        c.query_drop("UPDATE account SET balance = balance + 7 WHERE id = 1")
            .await,
    )
    .await;
    assert_eq!(code, 1440, "{message}");
    // Read while the proxy's transaction is still open: the UPDATE did not
    // run on its own.
    assert_eq!(bank.balances()[1], (1, START_BALANCE));
    c.query_drop("ROLLBACK").await.unwrap();
    squatter
        .query_drop(format!("XA END {taken}; XA ROLLBACK {taken}"))
        .await
        .unwrap();
    assert_eq!(bank.balances()[..2], [(0, 1000), (1, 1000)]);
    for server in servers() {
        assert!(ours(server, &bank.instance).is_empty());
    }
    // The session goes on: the next transaction gets a new xid.
    transfer(&mut c, "after", 0, 1, 3).await.unwrap();
    assert_eq!(bank.balances()[..2], [(0, 997), (1, 1003)]);
}

/// The first statement on a data source inside a transaction (sent with
/// its `XA START` or `BEGIN`) answers as it would alone: its affected rows,
/// info and warnings, no trailing result; an error is its own, and the
/// transaction still holds that data source.
#[tokio::test]
async fn the_statement_sent_with_the_opening_answers_as_its_own() {
    let _serial = SERIAL.lock().await;
    for mode in ["xa", "local"] {
        let bank = Bank::start(&format!("xa_opening_{mode}"), mode);
        let mut c = client(bank.proxy.port()).await;
        c.query_drop("INSERT INTO ledger VALUES ('dup', 0, 5)")
            .await
            .unwrap();

        // Each the first statement on its data source.
        c.query_drop("BEGIN").await.unwrap();
        c.query_drop("INSERT IGNORE INTO ledger VALUES ('dup', 0, 5)")
            .await
            .unwrap();
        assert_eq!((c.affected_rows(), c.get_warnings()), (0, 1), "{mode}");
        let warnings: Vec<(String, u16, String)> = c.query("SHOW WARNINGS").await.unwrap();
        assert_eq!(warnings.len(), 1, "{mode}: {warnings:?}");
        assert_eq!(warnings[0].1, 1062, "{mode}: {warnings:?}");
        c.query_drop("UPDATE account SET balance = balance WHERE id = 1")
            .await
            .unwrap();
        assert_eq!((c.affected_rows(), c.get_warnings()), (0, 0), "{mode}");
        assert_eq!(
            c.info(),
            "Rows matched: 1  Changed: 0  Warnings: 0",
            "{mode}"
        );
        c.query_drop("UPDATE account SET balance = balance + 1 WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(c.affected_rows(), 1, "{mode}");
        c.query_drop("ROLLBACK").await.unwrap();
        assert_eq!(bank.balances()[..2], [(0, 1000), (1, 1000)], "{mode}");

        // The first statement on ds_1 fails: its error, and the transaction
        // goes on there (a later write on ds_1 is not autocommitted).
        c.query_drop("BEGIN").await.unwrap();
        c.query_drop("UPDATE account SET balance = balance + 1 WHERE id = 0")
            .await
            .unwrap();
        let (code, message) = err_code(
            c.query_drop("UPDATE account SET no_such_column = 1 WHERE id = 1")
                .await,
        )
        .await;
        assert_eq!(code, 1054, "{mode}: {message}");
        c.query_drop("UPDATE account SET balance = balance + 1 WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(bank.balances()[..2], [(0, 1000), (1, 1000)], "{mode}");
        c.query_drop("ROLLBACK").await.unwrap();
        assert_eq!(bank.balances()[..2], [(0, 1000), (1, 1000)], "{mode}");

        // The same failure, then COMMIT: what the transaction did commits.
        c.query_drop("BEGIN").await.unwrap();
        let failed = c
            .query_drop("UPDATE account SET no_such_column = 1 WHERE id = 1")
            .await;
        assert_eq!(err_code(failed).await.0, 1054, "{mode}");
        transfer_in_open(&mut c).await;
        c.query_drop("COMMIT").await.unwrap();
        assert_eq!(bank.balances()[..2], [(0, 998), (1, 1002)], "{mode}");
        for server in servers() {
            assert!(ours(server, &bank.instance).is_empty(), "{mode}");
        }
    }
}

/// Moves 2 from account 0 to account 1 inside the open transaction.
async fn transfer_in_open(c: &mut mysql_async::Conn) {
    c.query_drop("UPDATE account SET balance = balance - 2 WHERE id = 0")
        .await
        .unwrap();
    c.query_drop("UPDATE account SET balance = balance + 2 WHERE id = 1")
        .await
        .unwrap();
}
