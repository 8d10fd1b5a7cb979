//! Prepared statements belong to the client session, not to a backend
//! connection: with multiplexing a statement prepared on one connection is
//! executed on another, re-executed without its parameter types, fetched
//! through a cursor, and prepared by many clients at once; backend
//! connections die under it. Plus CLIENT_FOUND_ROWS and parameter types.
//!
//! The pinned-neighbour trick makes "another connection" certain: at
//! `pool_max = 2`, a neighbour in an open transaction pins one connection,
//! so the client's statement must run on the other one; swapping which one
//! is pinned moves the client's next execution to the connection its
//! statement was never prepared on. Each neighbour reads its backend
//! connection's id from the backend's process list, so the test checks it
//! got the connections it meant to.

mod common;
mod multiplex_support;
mod raw_client;

use common::{APP_PASSWORD, APP_USER};
use multiplex_support::{step, within, MuxEnv, SCHEMA, STEP};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use mysql_common::constants::ColumnType;
use raw_client::*;
use std::time::Duration;

const SETUP: &str = "\
CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
INSERT INTO t VALUES (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (7, 1), (8, 1), (9, 1), (10, 1), (11, 1); \
CREATE TABLE five (id INT PRIMARY KEY) ENGINE=InnoDB; \
INSERT INTO five VALUES (1), (2), (3), (4), (5)";

/// The backend connection's id: CONNECTION_ID() is the proxy's own, but
/// `pseudo_thread_id` starts as the server's id of the connection.
const BACKEND_ID: &str = "SELECT @@pseudo_thread_id";

/// A neighbour opens a transaction (so it pins a backend connection) and
/// returns that connection's backend id.
async fn pin(conn: &mut Conn, who: &str) -> u64 {
    step(&format!("{who} begins"), conn.query_drop("BEGIN")).await;
    let id: Option<u64> = step(
        &format!("{who} reads its backend id"),
        conn.query_first(BACKEND_ID),
    )
    .await;
    id.unwrap_or_else(|| panic!("{who}: no backend id"))
}

async fn unpin(conn: &mut Conn, who: &str) {
    step(&format!("{who} commits"), conn.query_drop("COMMIT")).await;
}

/// Prepared on one connection, executed on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_on_one_connection_execute_on_another() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start("ps_move", 2, SETUP, "");
        let (mut n1, mut n2, mut p) = (env.client().await, env.client().await, env.client().await);
        let first = pin(&mut n1, "N1").await;
        let stmt = step(
            "P prepares (N1 pins the other connection)",
            p.prep(format!("SELECT ? + 1, ({BACKEND_ID})")),
        )
        .await;
        let row: Option<(i64, u64)> = step("P executes", p.exec_first(&stmt, (1,))).await;
        let prepared_on = row.expect("a row").1;
        assert_ne!(
            prepared_on, first,
            "P's statement cannot run on N1's pinned connection"
        );
        let second = pin(&mut n2, "N2").await;
        assert_eq!(second, prepared_on, "N2 pins the connection P prepared on");
        unpin(&mut n1, "N1").await;
        let row: Option<(i64, u64)> = step(
            "P executes on the connection it never prepared on",
            p.exec_first(&stmt, (41,)),
        )
        .await;
        assert_eq!(
            row,
            Some((42, first)),
            "P's statement ran on N1's former connection"
        );
        unpin(&mut n2, "N2").await;
        for i in 0..5i64 {
            let row: Option<(i64, u64)> = step("P executes again", p.exec_first(&stmt, (i,))).await;
            assert_eq!(row.map(|r| r.0), Some(i + 1));
        }
        env.assert_backend_conns_at_most(2, "at the end").await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Raw protocol: long data, new-params-bound flag 0, cursors
// ---------------------------------------------------------------------------

const COM_STMT_FETCH: u8 = 0x1c;
const CURSOR_TYPE_READ_ONLY: u8 = 1;
const SERVER_STATUS_CURSOR_EXISTS: u16 = 0x0040;
const SERVER_STATUS_LAST_ROW_SENT: u16 = 0x0080;

/// A COM_STMT_EXECUTE body with `flags` (cursor type), one iteration.
fn execute_with_flags(id: u32, flags: u8, rest: &[u8]) -> Vec<u8> {
    let mut body = id.to_le_bytes().to_vec();
    body.push(flags);
    body.extend_from_slice(&1u32.to_le_bytes());
    body.extend_from_slice(rest);
    body
}

const VAR_STRING: u8 = ColumnType::MYSQL_TYPE_VAR_STRING as u8;

fn long_data(raw: &mut Raw, id: u32, param: u16, chunk: &[u8]) {
    let mut body = id.to_le_bytes().to_vec();
    body.extend_from_slice(&param.to_le_bytes());
    body.extend_from_slice(chunk);
    raw.command(COM_STMT_SEND_LONG_DATA, &body);
}

/// Rows of a binary result (raw), or the reply when it is not rows.
fn rows(reply: Reply) -> Vec<Vec<u8>> {
    match reply {
        Reply::Rows { rows, .. } => rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

/// One raw client's whole script: prepare, execute with types and long
/// data, then (after `between`) re-execute with new-params-bound flag 0 and
/// long data again; the rows of both executions.
fn long_data_script(raw: &mut Raw, between: &mut dyn FnMut()) -> Vec<Vec<Vec<u8>>> {
    let (id, params, _) = raw
        .prepare("SELECT CONCAT(?, '|', ?), LENGTH(?)")
        .expect("prepare");
    assert_eq!(params, 3);
    let big = vec![b'x'; 3000];
    long_data(raw, id, 0, &big[..1000]);
    long_data(raw, id, 0, &big[1000..]);
    long_data(raw, id, 2, b"abc");
    let mut rest = vec![0u8, 1];
    for _ in 0..3 {
        rest.extend_from_slice(&[VAR_STRING, 0]);
    }
    put_lenenc_bytes(&mut rest, b"first");
    raw.command(COM_STMT_EXECUTE, &execute_with_flags(id, 0, &rest));
    let first = rows(raw.reply());
    between();
    long_data(raw, id, 0, b"again");
    long_data(raw, id, 2, b"defgh");
    let mut rest = vec![0u8, 0];
    put_lenenc_bytes(&mut rest, b"second");
    raw.command(COM_STMT_EXECUTE, &execute_with_flags(id, 0, &rest));
    let second = rows(raw.reply());
    vec![first, second]
}

/// Long data, then a re-execute with new-params-bound flag 0 that lands on
/// a connection where the statement was never prepared (nor its types
/// bound): the answers equal MariaDB's own.
#[test]
fn long_data_and_reexecute_without_types_on_another_connection() {
    let env = MuxEnv::start("ps_longdata", 2, SETUP, "");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut n1, mut n2) = rt.block_on(async { (env.client().await, env.client().await) });
    rt.block_on(pin(&mut n1, "N1"));

    let mut direct = Raw::login(env.server(0).port(), "root", "", Some(&env.dbs[0]));
    let want = long_data_script(&mut direct, &mut || {});

    let mut p = Raw::login(env.proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    let got = long_data_script(&mut p, &mut || {
        // N2 pins the connection P used; N1 frees the other one.
        rt.block_on(async {
            tokio::time::timeout(STEP, async {
                pin(&mut n2, "N2").await;
                unpin(&mut n1, "N1").await;
            })
            .await
            .expect("N2 pins and N1 commits in time")
        });
    });
    assert_eq!(got, want, "through the proxy vs MariaDB directly");
    rt.block_on(unpin(&mut n2, "N2"));
    drop(rt);
    drop(env);
}

/// The column definitions and EOF of a cursor execute; its status flags.
fn cursor_opened(raw: &mut Raw) -> u16 {
    let first = raw.packet();
    assert!(
        first[0] != 0xff && first[0] != 0x00,
        "a result set header: {first:?}"
    );
    let n = first[0] as usize;
    for _ in 0..n {
        raw.packet();
    }
    let eof = raw.packet();
    assert_eq!(eof[0], 0xfe, "EOF after the column definitions: {eof:?}");
    u16::from_le_bytes([eof[3], eof[4]])
}

/// COM_STMT_FETCH of `n` rows: the rows and the EOF's status flags.
fn fetch(raw: &mut Raw, id: u32, n: u32) -> (Vec<Vec<u8>>, u16) {
    let mut body = id.to_le_bytes().to_vec();
    body.extend_from_slice(&n.to_le_bytes());
    raw.command(COM_STMT_FETCH, &body);
    let mut rows = Vec::new();
    loop {
        let p = raw.packet();
        if p[0] == 0xff {
            panic!("COM_STMT_FETCH failed: {:?}", String::from_utf8_lossy(&p));
        }
        if p[0] == 0xfe && p.len() < 9 {
            return (rows, u16::from_le_bytes([p[3], p[4]]));
        }
        rows.push(p);
    }
}

/// A read-only cursor fetched two rows at a time, then closed.
fn cursor_script(raw: &mut Raw, who: &str) -> Vec<(Vec<Vec<u8>>, bool)> {
    let (id, _, _) = raw
        .prepare("SELECT id, id * 10 FROM five ORDER BY id")
        .expect("prepare");
    raw.command(
        COM_STMT_EXECUTE,
        &execute_with_flags(id, CURSOR_TYPE_READ_ONLY, &[]),
    );
    let status = cursor_opened(raw);
    assert_ne!(
        status & SERVER_STATUS_CURSOR_EXISTS,
        0,
        "{who}: a cursor was opened (status {status:#x})"
    );
    let mut fetched = Vec::new();
    for _ in 0..3 {
        let (rows, status) = fetch(raw, id, 2);
        fetched.push((rows, status & SERVER_STATUS_LAST_ROW_SENT != 0));
    }
    raw.command(COM_STMT_CLOSE, &id.to_le_bytes());
    fetched
}

/// Cursor fetches equal MariaDB's own; another client, sent a statement
/// while the cursor is open, is answered (at the latest once the cursor is
/// closed) and does not disturb the fetches.
#[test]
fn cursor_fetch() {
    let env = MuxEnv::start("ps_cursor", 1, SETUP, "");
    let mut direct = Raw::login(env.server(0).port(), "root", "", Some(&env.dbs[0]));
    let want = cursor_script(&mut direct, "directly");
    assert_eq!(want.len(), 3);
    assert!(want[2].1, "MariaDB says the last row was sent");

    let mut p = Raw::login(env.proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    let port = env.proxy.port();
    let other = std::thread::spawn(move || {
        let mut b = Raw::login(port, APP_USER, APP_PASSWORD, Some(SCHEMA));
        b.scalar("SELECT COUNT(*) FROM five")
    });
    let got = cursor_script(&mut p, "through the proxy");
    assert_eq!(got, want, "cursor fetches through the proxy vs directly");
    let count = other.join().expect("the other client");
    assert_eq!(count, Some(b"5".to_vec()), "the other client was answered");
    assert_eq!(
        p.scalar("SELECT 7"),
        Some(b"7".to_vec()),
        "P goes on after the cursor"
    );
}

// ---------------------------------------------------------------------------
// Many clients, parameter types, found rows
// ---------------------------------------------------------------------------

/// The backend's global `Com_stmt_prepare` counter.
async fn backend_prepares(env: &MuxEnv) -> u64 {
    let mut root = multiplex_support::quiet(env.server(0).url("")).await;
    let row: Option<(String, u64)> = root
        .query_first("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")
        .await
        .expect("read Com_stmt_prepare");
    let _ = root.disconnect().await;
    row.expect("Com_stmt_prepare").1
}

/// The same SQL prepared by 100 clients is prepared on the backend at most
/// once per backend connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_sql_from_a_hundred_clients_prepares_once_per_connection() {
    const POOL_MAX: usize = 4;
    within(Duration::from_secs(120), async {
        let env = std::sync::Arc::new(MuxEnv::start_private("ps_many", POOL_MAX as i64, SETUP));
        let before = backend_prepares(&env).await;
        let mut tasks = Vec::new();
        for i in 0..100i64 {
            let env = env.clone();
            tasks.push(tokio::spawn(async move {
                let mut conn = env.client().await;
                let stmt = step("prepare", conn.prep("SELECT v + ? FROM t WHERE id = ?")).await;
                let v: Option<i64> = step("execute", conn.exec_first(&stmt, (i, 1 + i % 11))).await;
                assert_eq!(v, Some(1 + i));
                conn
            }));
        }
        let mut conns = Vec::new();
        for task in tasks {
            conns.push(task.await.expect("a client"));
        }
        let prepares = backend_prepares(&env).await - before;
        println!("100 clients: {prepares} backend prepares at pool_max {POOL_MAX}");
        assert!(
            prepares <= POOL_MAX as u64,
            "100 clients preparing the same SQL cost {prepares} backend prepares; \
             pool_max {POOL_MAX} allows at most one per backend connection"
        );
        env.assert_backend_conns_at_most(POOL_MAX, "at the end")
            .await;
    })
    .await;
}

/// Metadata kept from one client's prepare is not given out after a DDL
/// through the proxy: a later prepare of the same text sees the new column,
/// and a session holding a temporary table that shadows the table gets its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_statement_metadata_follows_ddl_and_temporary_tables() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start_private("ps_kept", 2, SETUP);
        let sql = "SELECT * FROM five WHERE id = ?";
        let mut a = env.client().await;
        let before = step("prepare", a.prep(sql)).await;
        assert_eq!(before.columns().len(), 1);
        step(
            "alter",
            a.query_drop("ALTER TABLE five ADD COLUMN extra INT"),
        )
        .await;
        let mut b = env.client().await;
        let after = step("prepare after DDL", b.prep(sql)).await;
        assert_eq!(
            after.columns().len(),
            2,
            "the prepare after ALTER shows the new column"
        );
        let row: Option<(i64, Option<i64>)> = step("execute", b.exec_first(&after, (3,))).await;
        assert_eq!(row, Some((3, None)));
        let mut c = env.client().await;
        step(
            "temporary",
            c.query_drop("CREATE TEMPORARY TABLE five (id INT, a INT, b INT, d INT)"),
        )
        .await;
        let shadowed = step("prepare on the temporary table", c.prep(sql)).await;
        assert_eq!(shadowed.columns().len(), 4, "the temporary table's columns");
        let mut d = env.client().await;
        let again = step("prepare elsewhere", d.prep(sql)).await;
        assert_eq!(
            again.columns().len(),
            2,
            "another session sees the real table"
        );
    })
    .await;
}

/// Column definitions (type, charset, length, decimals, flags) and binary
/// rows of `SELECT ? AS x, ? AS y` executed with ('héllo', 5) bound as the
/// given types.
fn typed_select(raw: &mut Raw, types: [ColumnType; 2]) -> Reply {
    let (id, params, _) = raw.prepare("SELECT ? AS x, ? AS y").expect("prepare");
    assert_eq!(params, 2);
    let mut rest = vec![0u8, 1];
    for t in types {
        rest.extend_from_slice(&[t as u8, 0]);
    }
    put_lenenc_bytes(&mut rest, "héllo".as_bytes());
    match types[1] {
        ColumnType::MYSQL_TYPE_TINY => rest.push(5),
        ColumnType::MYSQL_TYPE_SHORT => rest.extend_from_slice(&5i16.to_le_bytes()),
        ColumnType::MYSQL_TYPE_LONG => rest.extend_from_slice(&5i32.to_le_bytes()),
        _ => rest.extend_from_slice(&5i64.to_le_bytes()),
    }
    raw.command(COM_STMT_EXECUTE, &execute_with_flags(id, 0, &rest));
    let reply = raw.reply();
    raw.command(COM_STMT_CLOSE, &id.to_le_bytes());
    reply
}

/// `SELECT ? AS x, ? AS y` with ('héllo', 5), bound as several types: the
/// same column definitions and row bytes as MariaDB gives directly.
#[test]
fn parameter_types_give_the_backends_column_types() {
    let env = MuxEnv::start("ps_types", 2, SETUP, "");
    let mut proxy = Raw::login(env.proxy.port(), APP_USER, APP_PASSWORD, Some(SCHEMA));
    let mut direct = Raw::login(env.server(0).port(), "root", "", Some(&env.dbs[0]));
    for types in [
        [ColumnType::MYSQL_TYPE_STRING, ColumnType::MYSQL_TYPE_TINY],
        [
            ColumnType::MYSQL_TYPE_VAR_STRING,
            ColumnType::MYSQL_TYPE_LONGLONG,
        ],
        [ColumnType::MYSQL_TYPE_BLOB, ColumnType::MYSQL_TYPE_SHORT],
        [ColumnType::MYSQL_TYPE_VARCHAR, ColumnType::MYSQL_TYPE_LONG],
    ] {
        let shape = |reply: Reply| match reply {
            Reply::Rows { columns, rows } => {
                let columns: Vec<_> = columns
                    .iter()
                    .map(|c| column_def(c))
                    .map(|c| {
                        (
                            c.name,
                            c.column_type,
                            c.charset,
                            c.length,
                            c.decimals,
                            c.flags,
                        )
                    })
                    .collect();
                (columns, rows)
            }
            other => panic!("{types:?}: expected rows, got {other:?}"),
        };
        let got = shape(typed_select(&mut proxy, types));
        let want = shape(typed_select(&mut direct, types));
        assert_eq!(
            got, want,
            "parameters bound as {types:?}: through the proxy vs directly"
        );
    }
}

/// An UPDATE that changes nothing reports the matched rows when the client
/// asked for CLIENT_FOUND_ROWS, and 0 when it did not: as MariaDB does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_found_rows_is_honoured() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start("ps_found_rows", 2, SETUP, "");
        for found_rows in [false, true] {
            let mut proxy = env.client_with(|o| o.client_found_rows(found_rows)).await;
            let url = env.server(0).url(&env.dbs[0]);
            let mut direct = step(
                "connect directly",
                Conn::new(multiplex_support::quiet_opts(&url).client_found_rows(found_rows)),
            )
            .await;
            let mut affected = Vec::new();
            for conn in [&mut proxy, &mut direct] {
                step("UPDATE", conn.query_drop("UPDATE t SET v = 1")).await;
                affected.push(conn.affected_rows());
            }
            assert_eq!(
                affected[0], affected[1],
                "affected rows of an UPDATE changing nothing, client_found_rows={found_rows}: \
                 proxy vs direct"
            );
            assert_eq!(
                affected[1],
                if found_rows { 11 } else { 0 },
                "MariaDB's own answer"
            );
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Backend connections killed under the proxy
// ---------------------------------------------------------------------------

/// KILLs every backend connection of the proxy (they are idle).
async fn kill_all(env: &MuxEnv) -> usize {
    let mut root = multiplex_support::quiet(env.server(0).url("")).await;
    let ids: Vec<u64> = root
        .exec(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?",
            (env.backend_user.as_str(),),
        )
        .await
        .expect("process list");
    for id in &ids {
        let _ = root.query_drop(format!("KILL {id}")).await;
    }
    let _ = root.disconnect().await;
    ids.len()
}

/// A backend connection killed while idle: nobody notices, prepared
/// statements included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_idle_connection_is_transparent() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start("ps_kill_idle", 2, SETUP, "");
        let mut p = env.client().await;
        let stmt = step("prepare", p.prep("SELECT v + ? FROM t WHERE id = 1")).await;
        let v: Option<i64> = step("execute", p.exec_first(&stmt, (1,))).await;
        assert_eq!(v, Some(2));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let killed = kill_all(&env).await;
        assert!(killed >= 1, "the proxy had a backend connection to kill");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let v: Option<i64> = step(
            "a text statement after the idle backend connection was killed",
            p.query_first("SELECT v FROM t WHERE id = 2"),
        )
        .await;
        assert_eq!(v, Some(1));
        kill_all(&env).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let v: Option<i64> = step(
            "the prepared statement after its backend connection was killed",
            p.exec_first(&stmt, (5,)),
        )
        .await;
        assert_eq!(v, Some(6));
    })
    .await;
}

/// A backend connection killed while its client is in a transaction: that
/// client gets an error (its transaction is gone), then works again; the
/// other clients never notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_pinned_connection_errors_for_its_client_only() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start("ps_kill_pinned", 2, SETUP, "");
        let (mut p, mut q) = (env.client().await, env.client().await);
        let q_stmt = step("Q prepares", q.prep("SELECT COUNT(*) + ? FROM five")).await;
        let pinned = pin(&mut p, "P").await;
        step("P writes", p.query_drop("UPDATE t SET v = 2 WHERE id = 1")).await;
        let mut root = multiplex_support::quiet(env.server(0).url("")).await;
        step("KILL", root.query_drop(format!("KILL {pinned}"))).await;
        let _ = root.disconnect().await;
        let result =
            tokio::time::timeout(STEP, p.query_drop("UPDATE t SET v = 3 WHERE id = 2")).await;
        let p_still_connected = match result {
            Err(_) => panic!("P hung after its pinned backend connection was killed"),
            Ok(Ok(())) => panic!("P's transaction lost its connection but the statement succeeded"),
            Ok(Err(mysql_async::Error::Server(e))) => {
                println!("P got {} ({}): {}", e.code, e.state, e.message);
                true
            }
            // The proxy may also close P's connection.
            Ok(Err(e)) => {
                println!("P lost its connection: {e}");
                false
            }
        };
        let n: Option<i64> = step(
            "Q after P's connection was killed",
            q.exec_first(&q_stmt, (1,)),
        )
        .await;
        assert_eq!(n, Some(6));
        let v: Option<i64> = step("Q reads", q.query_first("SELECT v FROM t WHERE id = 1")).await;
        assert_eq!(v, Some(1), "P's transaction was rolled back");
        if p_still_connected {
            let one: Option<i64> = step("P after the error", p.query_first("SELECT 1")).await;
            assert_eq!(one, Some(1), "P's session goes on after the error");
        }
        let mut again = env.client().await;
        let one: Option<i64> = step("a new client", again.query_first("SELECT 1")).await;
        assert_eq!(one, Some(1));
    })
    .await;
}

/// More statements than a backend connection keeps (the research suggests
/// an LRU of about 32 per connection): each still runs its own SQL, also
/// after another client's work in between, in any order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_statements_than_a_connection_keeps() {
    within(Duration::from_secs(90), async {
        let env = MuxEnv::start("ps_evict", 2, SETUP, "");
        // mysql_async closes what its own statement cache (32) evicts, and a
        // handle it closed fails with 1243 on MariaDB too: P's cache holds all 80.
        let mut p = env.client_with(|o| o.stmt_cache_size(100)).await;
        let mut q = env.client().await;
        let mut statements = Vec::new();
        for i in 0..80i64 {
            let sql = format!("SELECT ? + {i}");
            statements.push((i, step("P prepares", p.prep(sql)).await));
        }
        let q_stmt = step("Q prepares", q.prep("SELECT ? * 2")).await;
        for (n, (i, stmt)) in statements.iter().rev().enumerate() {
            let v: Option<i64> = step("P executes", p.exec_first(stmt, (1000,))).await;
            assert_eq!(v, Some(1000 + i), "P's statement {i}");
            if n % 7 == 0 {
                let w: Option<i64> = step("Q executes", q.exec_first(&q_stmt, (n as i64,))).await;
                assert_eq!(w, Some(2 * n as i64));
            }
        }
        env.assert_backend_conns_at_most(2, "at the end").await;
    })
    .await;
}
