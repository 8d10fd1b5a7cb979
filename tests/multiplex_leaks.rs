//! The leak matrix: with `pool_max = 1` every client of the proxy shares one
//! backend connection, so anything the proxy fails to keep per session leaks
//! from one client to the other.
//!
//! Each case names a kind of session state (multiplexing research, §6.1).
//! Client A puts it on its session; client B, interleaved with A on the same
//! single backend connection, must see the default; A must still see its
//! state afterwards. "Default" and "A's state" are not written in the test:
//! they are what MariaDB itself answers on private direct connections (on
//! the second cluster server, with the same tables), so the expectations
//! cannot drift from the server.
//!
//! - `Shared` cases (session variables, character set, isolation...) must
//!   not pin: B's probe is answered while A is connected and keeps its state.
//! - `MayPin` cases (transactions, temporary tables, locks, user variables,
//!   text PREPARE, FOUND_ROWS...) may keep the connection for A. B's probe
//!   is sent while A holds it and must be answered once A releases (the
//!   listed statements, or disconnecting), and see none of A's state: a
//!   connection a leaving client left pinned is reset first (lock free,
//!   temporary table gone, transaction rolled back).
//!
//! The backend's process list is checked after each step: the proxy never
//! holds more than one connection to the data source.

mod common;
mod multiplex_support;

use multiplex_support::{outcome, outcomes, within, MuxEnv, Outcome, STEP};
use mysql_async::prelude::Queryable;
use std::time::Duration;

/// Tables and a procedure of every case, created on both databases.
const SETUP: &str = "\
CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB; \
CREATE TABLE t2 (id INT PRIMARY KEY) ENGINE=InnoDB; \
CREATE TABLE ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB; \
INSERT INTO ai (v) VALUES (1), (2), (3); \
CREATE TABLE five (id INT PRIMARY KEY) ENGINE=InnoDB; \
INSERT INTO five VALUES (1), (2), (3), (4), (5); \
CREATE PROCEDURE p_lock(IN name VARCHAR(64)) BEGIN DO GET_LOCK(name, 0); END";

/// How the proxy may treat A's state.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Pin {
    /// Must follow A's session without keeping the connection.
    Shared,
    /// May keep the connection for A until A releases.
    MayPin,
}

struct Case {
    /// A's statements that set the state (errors are compared too).
    state: &'static [&'static str],
    /// What shows the state; each statement's rows or error are compared.
    probe: &'static [&'static str],
    pin: Pin,
    /// For `MayPin`: A's statements that release the pin; empty: A disconnects.
    release: &'static [&'static str],
    /// False for the cases whose point is that nothing lasts (SET STATEMENT,
    /// an unknown variable): A's probe then equals the default.
    differs: bool,
}

const fn shared(state: &'static [&'static str], probe: &'static [&'static str]) -> Case {
    Case {
        state,
        probe,
        pin: Pin::Shared,
        release: &[],
        differs: true,
    }
}

const fn pinned(state: &'static [&'static str], probe: &'static [&'static str]) -> Case {
    Case {
        state,
        probe,
        pin: Pin::MayPin,
        release: &[],
        differs: true,
    }
}

const fn pinned_until(
    state: &'static [&'static str],
    probe: &'static [&'static str],
    release: &'static [&'static str],
) -> Case {
    Case {
        state,
        probe,
        pin: Pin::MayPin,
        release,
        differs: true,
    }
}

/// How long B's probe is left waiting while A holds a pin.
const B_WAITS: Duration = Duration::from_millis(300);

async fn run(name: &str, case: Case) {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start(name, 1, SETUP, "");

        // The oracle: MariaDB itself, on private direct connections.
        let mut fresh = env.direct(1).await;
        let default = outcomes(&mut fresh, "direct default", case.probe).await;
        let mut oracle = env.direct(1).await;
        let oracle_state = outcomes(&mut oracle, "direct A", case.state).await;
        let oracle_a1 = outcomes(&mut oracle, "direct A", case.probe).await;
        let oracle_a2 = outcomes(&mut oracle, "direct A", case.probe).await;
        let _ = oracle.disconnect().await;
        let _ = fresh.disconnect().await;
        if case.differs {
            assert_ne!(
                oracle_a1, default,
                "{name}: the probe does not show the state even directly"
            );
        }

        let mut a = env.client().await;
        let mut b = env.client().await;
        let a_state = outcomes(&mut a, "A", case.state).await;
        assert_eq!(a_state, oracle_state, "{name}: A setting the state");
        let a1 = outcomes(&mut a, "A", case.probe).await;
        assert_eq!(a1, oracle_a1, "{name}: A sees its state");
        env.assert_backend_conns_at_most(1, "after A set its state")
            .await;

        match case.pin {
            Pin::Shared => {
                let b1 = outcomes(&mut b, "B (while A keeps its state)", case.probe).await;
                assert_eq!(b1, default, "{name}: B sees the default, none of A's state");
                env.assert_backend_conns_at_most(1, "after B's probe").await;
                let a2 = outcomes(&mut a, "A (after B)", case.probe).await;
                assert_eq!(a2, oracle_a2, "{name}: A still sees its state after B");
            }
            Pin::MayPin => {
                let probe = case.probe;
                let b_probe = tokio::spawn(async move {
                    let result: Vec<Outcome> = outcomes(&mut b, "B", probe).await;
                    (result, b)
                });
                tokio::time::sleep(B_WAITS).await;
                let a2 = outcomes(&mut a, "A (B waiting)", case.probe).await;
                assert_eq!(a2, oracle_a2, "{name}: A still sees its state");
                env.assert_backend_conns_at_most(1, "while B waits").await;
                if case.release.is_empty() {
                    a.disconnect().await.expect("A disconnects");
                } else {
                    for outcome in outcomes(&mut a, "A releasing", case.release).await {
                        assert!(outcome.is_ok(), "{name}: A's release: {outcome:?}");
                    }
                }
                let (b1, b) = tokio::time::timeout(STEP, b_probe)
                    .await
                    .unwrap_or_else(|_| {
                        panic!("{name}: B not answered within {STEP:?} after A released")
                    })
                    .expect("B's task");
                assert_eq!(
                    b1, default,
                    "{name}: B, served after A released, sees the default"
                );
                env.assert_backend_conns_at_most(1, "after B's probe").await;
                drop(b);
            }
        }
    })
    .await;
}

macro_rules! leak_cases {
    ($($(#[$attr:meta])* $name:ident: $case:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            run(stringify!($name), $case).await;
        }
    )*};
}

leak_cases! {
    sql_mode: shared(&["SET sql_mode = 'ANSI_QUOTES'"], &["SELECT @@sql_mode"]);
    time_zone: shared(
        &["SET time_zone = '+02:00'"],
        &["SELECT @@time_zone, DATE_FORMAT(CONVERT_TZ('2020-01-01 00:00:00', @@time_zone, '+00:00'), '%H')"],
    );
    set_names_collate: shared(
        &["SET NAMES latin1 COLLATE latin1_german2_ci"],
        &["SELECT @@character_set_client, @@character_set_connection, @@character_set_results, @@collation_connection"],
    );
    set_character_set: shared(
        &["SET CHARACTER SET latin1"],
        &["SELECT @@character_set_client, @@character_set_connection, @@character_set_results, @@collation_connection"],
    );
    autocommit_off: pinned(&["SET autocommit = 0"], &["SELECT @@autocommit"]);
    isolation_session: shared(
        &["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"],
        &["SELECT @@tx_isolation"],
    );
    isolation_next_transaction: shared(
        &["SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"],
        &[
            "START TRANSACTION",
            "SELECT COUNT(*) FROM t",
            "DO SLEEP(0.15)",
            "SELECT trx_isolation_level FROM information_schema.INNODB_TRX WHERE trx_query LIKE '%iso_probe%'",
            "COMMIT",
        ],
    );
    set_statement_leaves_nothing: Case {
        differs: false,
        ..shared(
            &["SET STATEMENT max_statement_time = 1 FOR SELECT 1"],
            &["SELECT @@max_statement_time"],
        )
    };
    max_statement_time: shared(&["SET max_statement_time = 7"], &["SELECT @@max_statement_time"]);
    foreign_key_checks: shared(&["SET foreign_key_checks = 0"], &["SELECT @@foreign_key_checks"]);
    optimizer_switch: shared(
        &["SET optimizer_switch = 'index_merge=off'"],
        &["SELECT @@optimizer_switch"],
    );
    rarely_used_variable: shared(
        &["SET SESSION div_precision_increment = 9"],
        &["SELECT @@div_precision_increment, 1 / 3"],
    );
    unknown_variable_is_an_error: Case {
        differs: false,
        ..shared(
            &["SET @@session.shardgate_no_such_variable = 1", "SET SESSION sql_mode = 'NO_SUCH_MODE'"],
            &["SELECT @@sql_mode"],
        )
    };
    user_variable_set: pinned(&["SET @v = 42"], &["SELECT @v"]);
    user_variable_assign_in_select: pinned(&["SELECT @v := 42"], &["SELECT @v"]);
    user_variable_select_into: pinned(&["SELECT 42 INTO @v"], &["SELECT @v"]);
    temporary_table: pinned(
        &["CREATE TEMPORARY TABLE tmp (x INT)", "INSERT INTO tmp VALUES (1), (2)"],
        &["SELECT COUNT(*) FROM tmp"],
    );
    temporary_table_shadowing_a_table: pinned(
        &["CREATE TEMPORARY TABLE five (x INT)"],
        &["SELECT COUNT(*) FROM five"],
    );
    get_lock: pinned(&["SELECT GET_LOCK('leak_get_lock', 0)"], &["SELECT IS_FREE_LOCK('leak_get_lock')"]);
    get_lock_in_do: pinned(&["DO GET_LOCK('leak_get_lock_do', 0)"], &["SELECT IS_FREE_LOCK('leak_get_lock_do')"]);
    get_lock_inside_call: pinned(
        &["CALL p_lock('leak_get_lock_call')"],
        &["SELECT IS_FREE_LOCK('leak_get_lock_call')"],
    );
    lock_tables: pinned_until(&["LOCK TABLES t WRITE"], &["SELECT COUNT(*) FROM five"], &["UNLOCK TABLES"]);
    xa_transaction: pinned_until(
        &["XA START 'leak_xa'", "INSERT INTO t VALUES (1)"],
        &["SELECT COUNT(*) FROM t"],
        &["XA END 'leak_xa'", "XA ROLLBACK 'leak_xa'"],
    );
    xa_transaction_committed_in_one_phase: pinned_until(
        &["XA START 'leak_xa1'", "INSERT INTO t VALUES (1)", "XA END 'leak_xa1'"],
        &["SELECT @@in_transaction"],
        &["XA COMMIT 'leak_xa1' ONE PHASE"],
    );
    savepoint: pinned_until(
        &["BEGIN", "INSERT INTO t VALUES (1)", "SAVEPOINT s1", "INSERT INTO t VALUES (2)", "ROLLBACK TO SAVEPOINT s1"],
        &["SELECT COUNT(*) FROM t"],
        &["ROLLBACK"],
    );
    text_prepared_statement: pinned(
        &["PREPARE s1 FROM 'SELECT 42'"],
        &["EXECUTE s1"],
    );
    found_rows: pinned(
        &["SELECT SQL_CALC_FOUND_ROWS id FROM five LIMIT 1"],
        &["SELECT FOUND_ROWS()"],
    );
    last_insert_id: pinned(&["INSERT INTO ai (v) VALUES (9)"], &["SELECT LAST_INSERT_ID()"]);
    open_transaction: pinned(&["BEGIN", "INSERT INTO t VALUES (1)"], &["SELECT COUNT(*) FROM t"]);
    open_transaction_ended_by_commit_is_committed: pinned_until(
        &["START TRANSACTION", "INSERT INTO t2 VALUES (1)"],
        &["SELECT COUNT(*) FROM t2 WHERE id = 1 AND @@in_transaction = 1"],
        &["COMMIT"],
    );
    implicit_transaction_of_autocommit_off: pinned(
        &["SET autocommit = 0", "INSERT INTO t VALUES (1)"],
        &["SELECT COUNT(*), @@autocommit FROM t"],
    );
    error_inside_a_transaction: pinned(
        &["BEGIN", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)"],
        &["SELECT COUNT(*), @@in_transaction FROM t"],
    );
}

/// The logical schema is session state too: A switches to a second schema
/// (another data source), B stays on its own, A keeps the one it chose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema() {
    within(Duration::from_secs(60), async {
        let extra = "\n[schemas.other]\ndefault_data_source = \"ds_1\"\n\n\
                     [[users]]\nname = \"app2\"\npassword = \"app2_pw\"\n\
                     schemas = [\"shop\", \"other\"]\n";
        let setup = "CREATE TABLE marker (n INT)";
        let env = MuxEnv::start("leak_schema", 1, setup, extra);
        // Each database says which it is.
        common::cluster()[0].exec(&format!("INSERT INTO `{}`.marker VALUES (0)", env.dbs[0]));
        common::cluster()[1].exec(&format!("INSERT INTO `{}`.marker VALUES (1)", env.dbs[1]));
        let mut a = env.client_as("app2", "app2_pw").await;
        let mut b = env.client_as("app2", "app2_pw").await;
        let probe: &[&str] = &["SELECT DATABASE()", "SELECT n FROM marker"];
        let outcome = outcomes(&mut a, "A", &["USE other"]).await;
        assert_eq!(outcome[0], Ok(vec![]), "A: USE other");
        let text = |v: &str| Ok(vec![vec![Some(v.to_string())]]);
        let mine = vec![text("other"), text("1")];
        let default = vec![text("shop"), text("0")];
        assert_eq!(outcomes(&mut a, "A", probe).await, mine, "A on `other`");
        assert_eq!(outcomes(&mut b, "B", probe).await, default, "B on `shop`");
        env.assert_backend_conns_at_most(1, "after B").await;
        assert_eq!(
            outcomes(&mut a, "A", probe).await,
            mine,
            "A still on `other`"
        );
    })
    .await;
}

/// Binary prepared statements belong to the session, not to the backend
/// connection: A's and B's statements, prepared and executed interleaved on
/// the one backend connection, each run their own SQL; closing A's leaves
/// B's working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prepared_statements() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start("leak_binary_ps", 1, SETUP, "");
        let mut a = env.client().await;
        let mut b = env.client().await;
        let sa = multiplex_support::step("A prepares", a.prep("SELECT ? + 1")).await;
        let sb = multiplex_support::step("B prepares", b.prep("SELECT ? * 10")).await;
        for i in 0..3i64 {
            let x: Option<i64> =
                multiplex_support::step("A executes", a.exec_first(&sa, (i,))).await;
            assert_eq!(x, Some(i + 1), "A's statement");
            let y: Option<i64> =
                multiplex_support::step("B executes", b.exec_first(&sb, (i,))).await;
            assert_eq!(y, Some(i * 10), "B's statement");
        }
        env.assert_backend_conns_at_most(1, "after both executed")
            .await;
        multiplex_support::step("A closes", a.close(sa)).await;
        let y: Option<i64> = multiplex_support::step("B executes", b.exec_first(&sb, (7,))).await;
        assert_eq!(y, Some(70), "B's statement after A closed its own");
    })
    .await;
}

/// A statement with warnings holds its connection for the client's next
/// statement, so that SHOW WARNINGS reads them; while that client idles,
/// another one waiting for the only connection gets it (promptly, not after
/// the acquire timeout), and the first still reads its warnings, as MariaDB
/// answers on a private connection, until its next statement clears them.
/// B must not see A's warnings on the connection it got from A.
/// `ROW_COUNT()` and `LAST_INSERT_ID()` stay the client's own throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_of_an_idle_client_do_not_hold_the_connection() {
    within(Duration::from_secs(60), async {
        let setup = "CREATE TABLE w (id INT AUTO_INCREMENT PRIMARY KEY, v INT)";
        let env = MuxEnv::start("leak_warnings", 1, setup, "");
        let mut a = env.client().await;
        let mut b = env.client().await;
        let mut oracle = env.direct(1).await;
        let first: &[&str] = &[
            "INSERT INTO w (v) VALUES (1), (2)",
            "SELECT CAST('7x' AS SIGNED)",
        ];
        let then: &[&str] = &[
            "SHOW WARNINGS",
            "SHOW COUNT(*) WARNINGS",
            "SELECT @@warning_count",
            "SHOW ERRORS",
            // A statement on a table clears them. (One on no table does
            // not, in MariaDB; the proxy's copy goes at any statement.)
            "UPDATE w SET v = v WHERE id = 0",
            "SHOW WARNINGS",
        ];
        let want_first = outcomes(&mut oracle, "oracle", first).await;
        let want_then = outcomes(&mut oracle, "oracle", then).await;
        assert_eq!(
            outcomes(&mut a, "A", first).await,
            want_first,
            "A's statements"
        );
        // B needs the one connection A holds for its warnings.
        let started = std::time::Instant::now();
        let answer = outcomes(&mut b, "B", &["SELECT 2", "SHOW WARNINGS"]).await;
        let two = Ok(vec![vec![Some("2".to_string())]]);
        assert_eq!(answer, vec![two, Ok(vec![])], "B sees none of A's warnings");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B waited {:?} for the connection A kept for its warnings",
            started.elapsed()
        );
        assert_eq!(outcomes(&mut a, "A", then).await, want_then, "A's warnings");
        let ids: &[&str] = &[
            "INSERT INTO w (v) VALUES (3)",
            "SELECT ROW_COUNT(), LAST_INSERT_ID()",
            "SELECT ROW_COUNT()",
        ];
        let want_ids = outcomes(&mut oracle, "oracle", ids).await;
        let _ = outcomes(&mut b, "B", &["INSERT INTO w (v) VALUES (9), (9), (9)"]).await;
        let got_ids = outcomes(&mut a, "A", ids).await;
        // Each side has its own table rows: only the counts are compared.
        assert_eq!(
            got_ids[1].as_ref().map(|r| r[0][0].clone()),
            want_ids[1].as_ref().map(|r| r[0][0].clone())
        );
        assert_eq!(got_ids[2], want_ids[2], "ROW_COUNT() after a SELECT");
        env.assert_backend_conns_at_most(1, "after the warnings")
            .await;
    })
    .await;
}

/// A client's prepared XA branch keeps its connection until the client
/// commits it; then the connection serves others again. A client that
/// leaves with a prepared branch leaves it prepared on the server (the
/// connection is closed, never reset: a reset branch can no longer be
/// committed), and another client commits it from a connection of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xa_prepared_branch_is_kept_then_released() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start("leak_xa_prepared", 1, SETUP, "");
        let mut a = env.client().await;
        let b = env.client().await;
        let prepare = |xid: &str, id: i32| {
            [
                format!("XA START '{xid}'"),
                format!("INSERT INTO t VALUES ({id})"),
                format!("XA END '{xid}'"),
                format!("XA PREPARE '{xid}'"),
            ]
        };
        let ok: Vec<Outcome> = vec![Ok(vec![]); 4];
        let first = prepare("leak_p1", 7);
        let first: Vec<&str> = first.iter().map(String::as_str).collect();
        assert_eq!(outcomes(&mut a, "A", &first).await, ok, "A prepares");
        let b_probe = tokio::spawn(async move {
            let mut b = b;
            let seen = outcomes(&mut b, "B", &["SELECT COUNT(*) FROM t WHERE id = 7"]).await;
            (seen, b)
        });
        tokio::time::sleep(B_WAITS).await;
        assert!(
            !b_probe.is_finished(),
            "B got the connection of A's prepared branch"
        );
        assert_eq!(
            outcomes(&mut a, "A", &["XA COMMIT 'leak_p1'"]).await,
            vec![Ok(vec![])],
            "A commits its prepared branch"
        );
        let (seen, mut b) = tokio::time::timeout(STEP, b_probe)
            .await
            .expect("B answered once A's branch was committed")
            .expect("B's task");
        let one = Ok(vec![vec![Some("1".to_string())]]);
        assert_eq!(seen, vec![one.clone()], "B sees the committed row");

        let second = prepare("leak_p2", 8);
        let second: Vec<&str> = second.iter().map(String::as_str).collect();
        assert_eq!(outcomes(&mut a, "A", &second).await, ok, "A prepares again");
        a.disconnect().await.expect("A disconnects");
        // The server notices the closed connection a moment later; until
        // then the branch counts as attached (1397).
        let started = std::time::Instant::now();
        loop {
            match outcome(&mut b, "B", "XA COMMIT 'leak_p2'").await {
                Ok(_) => break,
                Err(1397) if started.elapsed() < STEP => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(code) => panic!("B's XA COMMIT of A's prepared branch: error {code}"),
            }
        }
        assert_eq!(
            outcomes(&mut b, "B", &["SELECT COUNT(*) FROM t WHERE id = 8"]).await,
            vec![one],
            "the branch A left was committed for real"
        );
        env.assert_backend_conns_at_most(1, "after the prepared branches")
            .await;
    })
    .await;
}

/// `SET TRANSACTION` (no scope) waits for the session's next transaction
/// without pinning: between A's statements B gets the one connection, sees
/// none of it, and A's characteristics are used up exactly when MariaDB
/// itself uses them up (a statement on a table, COMMIT, a BEGIN), as a
/// private direct connection answers the same statements. A session-scope
/// `SET ... TRANSACTION` replaces the waiting one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_transaction_characteristics_follow_the_session() {
    within(Duration::from_secs(60), async {
        let env = MuxEnv::start("leak_next_trx", 1, SETUP, "");
        // A write that writes nothing: refused only in a READ ONLY transaction.
        const WRITE: &str = "INSERT INTO t SELECT 6 FROM DUAL WHERE 0";
        let a_statements: &[&str] = &[
            "SET TRANSACTION READ ONLY",
            "SELECT 1",
            WRITE,
            WRITE,
            "SELECT COUNT(*) FROM t",
            WRITE,
            "SET TRANSACTION READ ONLY",
            "COMMIT",
            WRITE,
            "SET TRANSACTION READ ONLY",
            "SET SESSION TRANSACTION READ WRITE",
            WRITE,
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY",
            "START TRANSACTION",
            WRITE,
            "SELECT COUNT(*) FROM t LOCK IN SHARE MODE",
            "DO SLEEP(0.15)",
            // Its own marker: other tests' transactions on the server must not match.
            "SELECT trx_isolation_level FROM information_schema.INNODB_TRX WHERE trx_query LIKE '%next_trx_probe%'",
            "COMMIT",
            WRITE,
            "SET TRANSACTION READ ONLY",
            "SET TRANSACTION READ ONLY",
            "DO 1",
            "BEGIN",
            "ROLLBACK",
            WRITE,
        ];
        let mut oracle = env.direct(1).await;
        let want = outcomes(&mut oracle, "direct A", a_statements).await;
        assert!(
            want.contains(&Err(1792)) && want.iter().filter(|o| o.is_ok()).count() > 10,
            "the oracle shows the characteristics: {want:?}"
        );
        let mut a = env.client().await;
        let mut b = env.client().await;
        let mut got = Vec::new();
        // Inside A's transactions B would wait for the connection: not asked then.
        let mut a_in_transaction = false;
        for sql in a_statements {
            got.push(outcome(&mut a, "A", sql).await);
            match *sql {
                "START TRANSACTION" | "BEGIN" => a_in_transaction = true,
                "COMMIT" | "ROLLBACK" => a_in_transaction = false,
                _ => {}
            }
            if !a_in_transaction {
                assert_eq!(
                    outcome(&mut b, "B", WRITE).await,
                    Ok(vec![]),
                    "B, after A's {sql:?}, sees none of A's characteristics"
                );
            }
        }
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "A's {:?} (#{i})", a_statements[i]);
        }
        // The same as a prepared statement (the binary protocol).
        let prepared = async |conn: &mut mysql_async::Conn, who: &str| {
            multiplex_support::step(who, conn.exec_drop("SET TRANSACTION READ ONLY", ())).await;
        };
        prepared(&mut oracle, "direct A prepares SET TRANSACTION").await;
        let want = outcome(&mut oracle, "direct A", WRITE).await;
        assert_eq!(want, Err(1792), "a prepared SET TRANSACTION, directly");
        prepared(&mut a, "A prepares SET TRANSACTION").await;
        assert_eq!(outcome(&mut b, "B", WRITE).await, Ok(vec![]), "B after A's prepared SET");
        assert_eq!(outcome(&mut a, "A", WRITE).await, want, "A after its prepared SET");
        env.assert_backend_conns_at_most(1, "after the characteristics")
            .await;
    })
    .await;
}
