//! The backend connection pool and the session threads that keep it.
//!
//! Each client is served on a session thread of its own; when the client
//! leaves, its backend connections are reset (COM_RESET_CONNECTION) and
//! parked on that thread, at most one per data source, for the thread's next
//! client. At most `pool_max` connections per data source are open, parked
//! ones included; a session that finds every permit taken makes idle threads
//! close their parked connections, and gives up after about 10 s with an
//! error naming the data source. `SHOW BACKENDS` reports the counts.
//!
//! What is tested, and why:
//!
//! - Nothing a client leaves on its backend connection (user variables,
//!   session variables, temporary tables, an open transaction and its row
//!   locks) is seen by the next client that gets the same connection: reuse
//!   across clients is only safe if the reset really happens, every time.
//! - Parked connections do not starve clients: with `pool_max = 1`, the one
//!   connection parked on an idle thread is closed when another thread's
//!   client needs one, long before the 10 s acquire timeout.
//! - `pool_max` is a hard cap: a second concurrent client fails with a
//!   MySQL error naming the data source instead of hanging or opening more,
//!   and its session (and the pool) recover once the first client leaves.
//! - `SHOW BACKENDS` counts parked connections as idle, held ones as in use.
//!
//! Two kinds of client connections are used. [`app`] connects the way
//! applications do; mysql_async then reads `@@max_allowed_packet` and
//! `@@wait_timeout`, which the proxy answers from the backend, so the
//! connection takes a backend connection right away. [`quiet`] gives
//! mysql_async those values up front, so logging in needs no backend: that
//! is how a client that holds no backend connection (and the admin user
//! polling `SHOW BACKENDS`) is made.
//!
//! Session threads serve clients in LIFO order, so an admin connection that
//! came and went would itself become the most recently idle thread and
//! take the next client; the tests keep one admin connection open instead.

mod common;

use common::{cluster, fresh_databases, passthrough_rules, Proxy, APP_PASSWORD, APP_USER};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row};
use std::future::Future;
use std::time::{Duration, Instant};

/// The logical schema of every test.
const SCHEMA: &str = "shop";
/// A user with `admin = true`, added to the rule file by [`start`].
const ADMIN_USER: &str = "ops";
const ADMIN_PASSWORD: &str = "ops_pw";
/// The data source every unsharded statement runs on.
const DS: &str = "ds_0";

/// Bound on each test: a hang (a lock that is never released, a pool that
/// never frees a permit) fails the test instead of blocking CI.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long to poll for something the proxy does after a client leaves.
const SETTLE: Duration = Duration::from_secs(10);
/// The proxy's acquire timeout (`ACQUIRE_TIMEOUT`): 10 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Well under [`ACQUIRE_TIMEOUT`]: an acquire faster than this did not wait
/// for the timeout, so an idle connection was given back for it.
const PROMPT: Duration = Duration::from_secs(5);

async fn within_timeout<F: Future>(body: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out: a connection hung")
}

/// Fresh databases and a proxy over them: the passthrough rules plus the
/// admin user, and `pool_max` for [`DS`] when given (the default is 64).
fn start(prefix: &str, pool_max: Option<i64>) -> (Proxy, Vec<String>) {
    let dbs = fresh_databases(prefix);
    let mut rules: toml::Table = passthrough_rules(SCHEMA, &dbs)
        .parse()
        .expect("passthrough rules are TOML");
    let admin: toml::Table = format!(
        "name = \"{ADMIN_USER}\"\npassword = \"{ADMIN_PASSWORD}\"\n\
         schemas = [\"{SCHEMA}\"]\nadmin = true\n"
    )
    .parse()
    .expect("admin user is TOML");
    rules["users"]
        .as_array_mut()
        .expect("[[users]] is an array")
        .push(toml::Value::Table(admin));
    if let Some(max) = pool_max {
        rules["data_sources"][DS]
            .as_table_mut()
            .expect("a data source is a table")
            .insert("pool_max".into(), toml::Value::Integer(max));
    }
    let rules = toml::to_string(&rules).expect("serialize the rules");
    (Proxy::start(&rules), dbs)
}

/// The app user, connected the usual way: logging in already runs a
/// statement on the backend, so this client holds a backend connection.
async fn app(proxy: &Proxy) -> Conn {
    Conn::from_url(proxy.url(APP_USER, APP_PASSWORD, SCHEMA))
        .await
        .expect("connect through the proxy")
}

/// A client whose login sends no statement, so it holds no backend
/// connection until it runs one that needs the backend.
async fn quiet(proxy: &Proxy, user: &str, password: &str) -> Conn {
    let opts = Opts::from_url(&proxy.url(user, password, SCHEMA)).expect("valid url");
    let opts = OptsBuilder::from_opts(opts)
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .wait_timeout(Some(28_800));
    Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("connect as {user} through the proxy: {e}"))
}

/// The admin user, holding no backend connection (see [`quiet`]).
async fn admin(proxy: &Proxy) -> Conn {
    quiet(proxy, ADMIN_USER, ADMIN_PASSWORD).await
}

/// A direct connection to the backend database of [`DS`].
async fn direct(dbs: &[String]) -> Conn {
    Conn::new(cluster()[0].opts(&dbs[0]))
        .await
        .expect("connect to the backend directly")
}

/// `(pool_in_use, pool_idle, pool_max)` of `data_source` from SHOW BACKENDS.
/// Checks on every read that the pool never exceeds its `pool_max`.
async fn pool(admin: &mut Conn, data_source: &str) -> (i64, i64, i64) {
    let rows: Vec<Row> = admin.query("SHOW BACKENDS").await.expect("SHOW BACKENDS");
    let rows: Vec<Vec<Option<String>>> = rows.into_iter().map(common::row_text).collect();
    let row = rows
        .iter()
        .find(|r| r[0].as_deref() == Some(data_source))
        .unwrap_or_else(|| panic!("no {data_source} in SHOW BACKENDS: {rows:?}"));
    let number = |i: usize| -> i64 {
        row[i]
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("SHOW BACKENDS column {i} of {data_source}: {row:?}"))
    };
    let (in_use, idle, max) = (number(5), number(6), number(7));
    assert!(
        in_use + idle <= max,
        "{data_source}: {in_use} in use + {idle} idle exceeds pool_max {max}"
    );
    (in_use, idle, max)
}

/// Polls SHOW BACKENDS until `data_source` has `(in_use, idle)`.
async fn wait_pool(admin: &mut Conn, data_source: &str, want: (i64, i64)) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let (in_use, idle, _) = pool(admin, data_source).await;
        if (in_use, idle) == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{data_source}: (pool_in_use, pool_idle) stayed ({in_use}, {idle}), \
             expected {want:?} within {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server error's (code, SQLSTATE, message); panics on anything else.
fn server_error<T: std::fmt::Debug>(
    result: Result<T, mysql_async::Error>,
) -> (u16, String, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// The id of the backend connection the client's statements run on.
/// (`CONNECTION_ID()` is the proxy's own client connection id; the server's
/// `pseudo_thread_id` starts as its id of the connection.)
async fn backend_id(conn: &mut Conn) -> u64 {
    conn.query_first("SELECT @@pseudo_thread_id")
        .await
        .expect("read the backend connection id")
        .expect("the backend connection is in its own process list")
}

/// Whether another connection holds a lock on row `id` of `t`: `conn` (a
/// direct backend connection) tries to lock it without waiting, and lets
/// go at once. (Polling `information_schema.INNODB_TRX` instead would not
/// do: InnoDB refreshes that table's cache only when it has not been read
/// for 0.1 s, so a fast poll keeps seeing a finished transaction.)
async fn row_locked(conn: &mut Conn, id: i64) -> bool {
    conn.query_drop("START TRANSACTION").await.unwrap();
    let result = conn
        .query_drop(format!("SELECT v FROM t WHERE id = {id} FOR UPDATE NOWAIT"))
        .await;
    conn.query_drop("ROLLBACK").await.unwrap();
    match result {
        Ok(()) => false,
        // ER_LOCK_WAIT_TIMEOUT, at once with NOWAIT.
        Err(mysql_async::Error::Server(e)) if e.code == 1205 => true,
        Err(e) => panic!("probing the lock on row {id}: {e}"),
    }
}

/// A new client that opens a transaction, which pins the only connection
/// `pool_max = 1` allows to it (a statement alone gives it back at its end).
async fn take_the_only_connection(proxy: &Proxy, admin: &mut Conn) -> Conn {
    let mut a = app(proxy).await;
    a.query_drop("BEGIN").await.unwrap();
    let one: Option<i64> = a.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    assert_eq!(pool(admin, DS).await, (1, 0, 1), "A holds the connection");
    a
}

/// Runs `SELECT 1` on `conn` and checks it answers within [`PROMPT`].
async fn select_one_promptly(conn: &mut Conn, who: &str) {
    let started = Instant::now();
    let one: Option<i64> = conn
        .query_first("SELECT 1")
        .await
        .unwrap_or_else(|e| panic!("{who} got no connection after {:?}: {e}", started.elapsed()));
    assert_eq!(one, Some(1));
    assert!(
        started.elapsed() < PROMPT,
        "{who} waited {:?} for a connection",
        started.elapsed()
    );
}

/// Client A leaves a little of everything on its backend connection and
/// disconnects without committing; client B, served next on A's session
/// thread with A's connection, must find none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_does_not_leak_to_the_next_client_on_the_thread() {
    within_timeout(async {
        // pool_max = 1: B's backend connection is A's, reset; or, if B
        // lands on another thread, a new one opened once A's was closed.
        let (proxy, dbs) = start("pool_leak", Some(1));
        let db = &dbs[0];
        cluster()[0].exec(&format!(
            "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
             INSERT INTO `{db}`.t VALUES (1, 10)"
        ));
        let mut backend = direct(&dbs).await;
        let default_sql_mode: String = backend
            .query_first("SELECT @@SESSION.sql_mode")
            .await
            .unwrap()
            .unwrap();
        assert!(
            !default_sql_mode.contains("ANSI_QUOTES"),
            "the backend's default sql_mode already has ANSI_QUOTES: {default_sql_mode}"
        );

        // B only lands on A's thread (and so gets A's connection back) if
        // A's thread has finished with A and is idle by the time B arrives,
        // which the test cannot observe exactly. So the scenario repeats
        // until a B got A's very connection; every B, reuse or not, must
        // find nothing A left.
        let mut reused = false;
        for attempt in 1..=5 {
            let mut a = app(&proxy).await;
            let a_id = backend_id(&mut a).await;
            for sql in [
                "SET @leak = 42",
                "SET SESSION sql_mode = 'ANSI_QUOTES'",
                "CREATE TEMPORARY TABLE tmp_leak (i INT)",
                "INSERT INTO tmp_leak VALUES (1)",
                "START TRANSACTION",
                "INSERT INTO t VALUES (2, 20)",
            ] {
                a.query_drop(sql)
                    .await
                    .unwrap_or_else(|e| panic!("A: {sql}: {e}"));
            }
            let locked: Option<i64> = a
                .query_first("SELECT v FROM t WHERE id = 1 FOR UPDATE")
                .await
                .expect("A: SELECT ... FOR UPDATE");
            assert_eq!(locked, Some(10));
            // The state is really there, on the backend connection A used.
            let leak: Option<i64> = a.query_first("SELECT @leak").await.unwrap();
            assert_eq!(leak, Some(42), "A's own @leak");
            let mode: String = a
                .query_first("SELECT @@SESSION.sql_mode")
                .await
                .unwrap()
                .unwrap();
            assert!(mode.contains("ANSI_QUOTES"), "A's own sql_mode: {mode}");
            assert!(
                row_locked(&mut backend, 1).await,
                "A's lock on row 1 is not visible from another connection"
            );
            assert_eq!(
                backend_id(&mut a).await,
                a_id,
                "A kept its backend connection"
            );

            // A leaves without COMMIT.
            a.disconnect().await.expect("A disconnects");

            // The proxy ends A's transaction (and frees its locks) as A
            // leaves, not only when a next client happens to come.
            let deadline = Instant::now() + SETTLE;
            while row_locked(&mut backend, 1).await {
                assert!(
                    Instant::now() < deadline,
                    "row 1 still locked {SETTLE:?} after A left: A's transaction \
                     on backend connection {a_id} was not rolled back"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let gone: Option<i64> = backend
                .query_first("SELECT COUNT(*) FROM t WHERE id = 2")
                .await
                .unwrap();
            assert_eq!(gone, Some(0), "A's uncommitted row was rolled back");

            // B, sequentially after A. Each check runs once: B must never
            // see any of A's state, not even briefly.
            let mut b = app(&proxy).await;
            let b_id = backend_id(&mut b).await;
            let leak: Option<Option<i64>> = b.query_first("SELECT @leak").await.unwrap();
            assert_eq!(
                leak,
                Some(None),
                "B sees A's @leak (backend connection {b_id})"
            );
            let mode: String = b
                .query_first("SELECT @@SESSION.sql_mode")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                mode, default_sql_mode,
                "B's sql_mode (backend connection {b_id})"
            );
            let (code, _, message) = server_error(b.query_drop("SELECT * FROM tmp_leak").await);
            assert_eq!(code, 1146, "B sees A's temporary table: {message}");
            let row: Option<i64> = b
                .query_first("SELECT COUNT(*) FROM t WHERE id = 2")
                .await
                .unwrap();
            assert_eq!(row, Some(0), "B sees A's uncommitted row");
            // A leaked lock would make these wait 2 s and fail with 1205.
            b.query_drop("SET SESSION innodb_lock_wait_timeout = 2")
                .await
                .unwrap();
            b.query_drop("START TRANSACTION").await.unwrap();
            let started = Instant::now();
            let locked: Option<i64> = b
                .query_first("SELECT v FROM t WHERE id = 1 FOR UPDATE")
                .await
                .unwrap_or_else(|e| panic!("B cannot lock the row A had locked: {e}"));
            assert_eq!(locked, Some(10));
            // The key A inserted is free too (an insert waits on a leaked one).
            b.query_drop("INSERT INTO t VALUES (2, 20)")
                .await
                .unwrap_or_else(|e| panic!("B cannot insert the key A had inserted: {e}"));
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "B waited {:?} for locks",
                started.elapsed()
            );
            b.query_drop("ROLLBACK").await.unwrap();
            b.disconnect().await.expect("B disconnects");

            if b_id == a_id {
                reused = true;
                break;
            }
            eprintln!("attempt {attempt}: B got backend connection {b_id}, not A's {a_id}; again");
        }
        assert!(
            reused,
            "no client ever got the previous client's backend connection back: \
             connections are not kept on the session thread"
        );
        backend.disconnect().await.unwrap();
    })
    .await
}

/// With `pool_max = 1`, the only connection is parked on an idle thread;
/// a client on another thread must still get one promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_make_room_under_pool_max() {
    within_timeout(async {
        let (proxy, _dbs) = start("pool_room", Some(1));
        let mut admin = admin(&proxy).await;
        assert_eq!(pool(&mut admin, DS).await, (0, 0, 1));

        // X: on a thread of its own, holding no backend connection.
        let mut x = quiet(&proxy, APP_USER, APP_PASSWORD).await;
        let comment: Option<String> = x.query_first("SELECT @@version_comment").await.unwrap();
        assert_eq!(
            comment.as_deref(),
            Some("shardgate"),
            "answered by the proxy"
        );
        assert_eq!(
            pool(&mut admin, DS).await,
            (0, 0, 1),
            "X holds no connection"
        );

        // A takes the only connection, then leaves it parked on its thread.
        let a = take_the_only_connection(&proxy, &mut admin).await;
        a.disconnect().await.expect("A disconnects");
        wait_pool(&mut admin, DS, (0, 1)).await;

        // X needs one now: A's former thread must close its parked one.
        select_one_promptly(&mut x, "X (the connection was parked on an idle thread)").await;
        assert_eq!(
            pool(&mut admin, DS).await,
            (0, 1, 1),
            "X gave the only connection back after its statement"
        );

        x.disconnect().await.unwrap();
        wait_pool(&mut admin, DS, (0, 1)).await;
        admin.disconnect().await.unwrap();
    })
    .await
}

/// With `pool_max = 1` and the connection held by a connected client, a
/// second client cannot get one: it fails after the acquire timeout with
/// an error naming the data source, and recovers once the first leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_max_caps_concurrent_clients_with_an_error_naming_the_data_source() {
    within_timeout(async {
        let (proxy, _dbs) = start("pool_cap", Some(1));
        let mut admin = admin(&proxy).await;

        let a = take_the_only_connection(&proxy, &mut admin).await;

        // B logs in without the backend, then needs it.
        let mut b = quiet(&proxy, APP_USER, APP_PASSWORD).await;
        let started = Instant::now();
        let result = b.query_first::<i64, _>("SELECT 1").await;
        let waited = started.elapsed();
        let (code, state, message) = server_error(result);
        // Error::data_source_unreachable: 1105/HY000, naming the data source.
        assert_eq!((code, state.as_str()), (1105, "HY000"), "{message}");
        assert!(
            message.contains(&format!("'{DS}'")),
            "the error does not name {DS}: {message}"
        );
        assert!(
            waited >= ACQUIRE_TIMEOUT - Duration::from_secs(1),
            "B gave up after {waited:?}, before the acquire timeout: {message}"
        );
        assert!(
            waited < ACQUIRE_TIMEOUT + PROMPT,
            "B gave up only after {waited:?}: {message}"
        );
        assert_eq!(
            pool(&mut admin, DS).await,
            (1, 0, 1),
            "A still holds the connection"
        );

        // A leaves: a new client gets the connection promptly.
        a.disconnect().await.expect("A disconnects");
        let mut c = app(&proxy).await;
        select_one_promptly(&mut c, "C (after A left)").await;
        assert_eq!(
            pool(&mut admin, DS).await,
            (0, 1, 1),
            "C gave the connection back after its statement"
        );
        c.disconnect().await.expect("C disconnects");

        // B's session survived its error: it gets the connection C parked.
        select_one_promptly(&mut b, "B (after C left)").await;
        b.disconnect().await.unwrap();
        admin.disconnect().await.unwrap();
    })
    .await
}

/// SHOW BACKENDS: a held connection is in use, a parked one is idle, and a
/// data source nobody used has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_backends_counts_parked_connections() {
    within_timeout(async {
        let (proxy, _dbs) = start("pool_show", None);
        let mut admin = admin(&proxy).await;
        assert_eq!(pool(&mut admin, DS).await, (0, 0, 64), "nothing open yet");
        assert_eq!(pool(&mut admin, "ds_1").await, (0, 0, 64), "ds_1 unused");

        let mut client = app(&proxy).await;
        let one: Option<i64> = client.query_first("SELECT 1").await.unwrap();
        assert_eq!(one, Some(1));
        assert_eq!(
            pool(&mut admin, DS).await,
            (0, 1, 64),
            "given back after the statement"
        );
        client.query_drop("BEGIN").await.unwrap();
        let one: Option<i64> = client.query_first("SELECT 1").await.unwrap();
        assert_eq!(one, Some(1));
        assert_eq!(
            pool(&mut admin, DS).await,
            (1, 0, 64),
            "held in the client's transaction"
        );

        client.disconnect().await.expect("the client disconnects");
        wait_pool(&mut admin, DS, (0, 1)).await;
        assert_eq!(
            pool(&mut admin, "ds_1").await,
            (0, 0, 64),
            "ds_1 still unused"
        );
        admin.disconnect().await.unwrap();
    })
    .await
}
