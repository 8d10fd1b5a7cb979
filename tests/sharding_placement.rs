//! Where rows go: tables created through the proxy, rows loaded through it
//! (text and prepared, single- and multi-row), then every backend database
//! read directly. Each row must sit exactly on the data node algorithms.md
//! gives for it, computed here from the spec (murmur3, `rem_euclid`, range
//! boundaries, the consistent-hash ring), not by the proxy's routing code.

mod common;
mod shard_env;

use mysql_async::prelude::*;
use mysql_async::Conn;
use shard_env::*;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TEST_TIMEOUT: Duration = Duration::from_secs(120);

async fn within_timeout<F: Future>(body: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out: a connection hung")
}

/// Collects every misplaced row instead of stopping at the first one.
#[derive(Default)]
struct Misplaced(Vec<String>);

impl Misplaced {
    fn check(&mut self, table: &str, key: impl std::fmt::Debug, stored: &str, expected: &str) {
        if stored != expected {
            self.0.push(format!(
                "{table} {key:?}: stored on {stored}, algorithms.md places it on {expected}"
            ));
        }
    }

    fn assert_none(&self) {
        assert!(
            self.0.is_empty(),
            "{} misplaced rows:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// Milliseconds of 2024-01-01T00:00:00Z since the Unix epoch.
const SNOWFLAKE_EPOCH_MS: u64 = 1_704_067_200_000;

/// Checks a snowflake id's layout: positive, this proxy's worker id, a
/// timestamp within the last minute.
fn check_snowflake(id: u64) {
    assert!(
        id > 0 && id < (1 << 63),
        "snowflake id {id} is not positive"
    );
    assert_eq!((id >> 12) & 1023, WORKER_ID, "worker bits of {id}");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let at = (id >> 22) + SNOWFLAKE_EPOCH_MS;
    assert!(
        at <= now + 1000 && now - at < 60_000,
        "snowflake id {id} has timestamp {at}, now is {now}"
    );
}

/// A UUIDv7 in its 36-character text form.
fn check_uuid_v7(text: &str) {
    let parsed = uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(text.len(), 36, "{text:?} is not the 36-character form");
    assert_eq!(parsed.get_version_num(), 7, "{text:?} is not a UUIDv7");
}

#[test]
fn this_tests_placement_matches_the_spec_vectors() {
    // murmur3 of canonical bytes.
    for (bytes, hash) in [
        (&b""[..], 0u32),
        (b"hello", 613153351),
        (b"1", 2484513939),
        (b"42", 3159925814),
        (b"-7", 1918780564),
        (b"10086", 3669758210),
        (b"alice", 1280413405),
        ("张三".as_bytes(), 1597942192),
    ] {
        assert_eq!(murmur3(bytes), hash, "{bytes:?}");
    }
    // n = 4.
    for (v, m, h) in [
        (0, 0, 3),
        (1, 1, 3),
        (2, 2, 3),
        (42, 2, 2),
        (-7, 1, 0),
        (10086, 2, 2),
    ] {
        assert_eq!(mod_index(v, 4), m, "mod {v}");
        assert_eq!(hash_mod_int(v, 4), h, "hash_mod {v}");
    }
    assert_eq!(hash_mod_str("alice", 4), 1);
    assert_eq!(hash_mod_str("张三", 4), 0);
    // range, boundaries [100, 1000].
    for (v, i) in [(-5, 0), (99, 0), (100, 1), (999, 1), (1000, 2)] {
        assert_eq!(range_index(v, &[100, 1000]), i, "range {v}");
    }
    // The ring.
    let ring = Ring::new(&["ds_0.t_log", "ds_1.t_log", "ds_2.t_log"], 160);
    for (v, i) in [
        ("0", 1),
        ("1", 2),
        ("2", 2),
        ("42", 1),
        ("-7", 1),
        ("10086", 0),
        ("alice", 2),
        ("张三", 1),
        ("123456789", 1),
    ] {
        assert_eq!(ring.index(v.as_bytes()), i, "ring {v}");
    }
    let mut counts = [0usize; 3];
    for k in 0..100_000 {
        counts[ring.index(k.to_string().as_bytes())] += 1;
    }
    assert_eq!(counts, [35622, 33913, 30465]);
    let grown = Ring::new(
        &["ds_0.t_log", "ds_1.t_log", "ds_2.t_log", "ds_3.t_log"],
        160,
    );
    let moved: Vec<usize> = (0..100_000)
        .map(|k| k.to_string())
        .filter(|k| ring.index(k.as_bytes()) != grown.index(k.as_bytes()))
        .map(|k| grown.index(k.as_bytes()))
        .collect();
    assert_eq!(moved.len(), 25114);
    assert!(moved.iter().all(|i| *i == 3));
}

/// Single-row text INSERTs of `rows`.
async fn single_rows(conn: &mut Conn, head: &str, rows: &[String]) {
    for values in rows {
        let sql = format!("{head} VALUES {values}");
        conn.query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[tokio::test]
async fn create_table_makes_every_actual_table_and_rows_land_on_their_nodes() {
    within_timeout(async {
        let shop = Shop::start("placement");
        shop.create_tables().await;

        // CREATE TABLE on a logical table created every actual table, and
        // nothing else; the unsharded t_note only on the default data source.
        for i in 0..DATA_SOURCES {
            let tables: Vec<String> = shop
                .direct_rows(i, "SHOW TABLES")
                .await
                .into_iter()
                .map(|r| r.get::<String, _>(0).unwrap())
                .collect();
            let mut tables = tables;
            tables.sort();
            assert_eq!(tables, actual_tables(i), "tables on ds_{i}");
        }

        let mut conn = shop.client().await;
        let orders = orders();
        let fmt_order = |o: &Order| {
            format!(
                "({}, {}, {}, {}, {})",
                o.order_id,
                o.user_id,
                o.amount,
                quote(o.status),
                o.note.as_deref().map_or("NULL".into(), quote)
            )
        };
        let head = "INSERT INTO t_order (order_id, user_id, amount, status, note)";
        // 1..=100: multi-row text; 101..=150: single-row text; 151..=200: prepared.
        for chunk in orders[..100].chunks(25) {
            let values: Vec<String> = chunk.iter().map(fmt_order).collect();
            conn.query_drop(format!("{head} VALUES {}", values.join(", ")))
                .await
                .unwrap();
        }
        let singles: Vec<String> = orders[100..150].iter().map(fmt_order).collect();
        single_rows(&mut conn, head, &singles).await;
        conn.exec_batch(
            format!("{head} VALUES (?, ?, ?, ?, ?)"),
            orders[150..].iter().map(|o| {
                (
                    o.order_id,
                    o.user_id,
                    o.amount.clone(),
                    o.status,
                    o.note.clone(),
                )
            }),
        )
        .await
        .unwrap();

        // Items: prepared, one row per execution.
        let items = items();
        conn.exec_batch(
            "INSERT INTO t_order_item (item_id, order_id, user_id, sku, qty) VALUES (?, ?, ?, ?, ?)",
            items
                .iter()
                .map(|i| (i.item_id, i.order_id, i.user_id, i.sku.clone(), i.qty)),
        )
        .await
        .unwrap();

        // Users: multi-row text for the first half, prepared for the rest.
        let users = users();
        let (text_users, prep_users) = users.split_at(users.len() / 2);
        let values: Vec<String> = text_users
            .iter()
            .map(|(id, n, a)| {
                format!(
                    "({id}, {}, {})",
                    quote(n),
                    a.map_or("NULL".into(), |a| a.to_string())
                )
            })
            .collect();
        conn.query_drop(format!(
            "INSERT INTO t_user (user_id, name, age) VALUES {}",
            values.join(", ")
        ))
        .await
        .unwrap();
        conn.exec_batch(
            "INSERT INTO t_user (user_id, name, age) VALUES (?, ?, ?)",
            prep_users.iter().cloned(),
        )
        .await
        .unwrap();

        // Accounts (string hash_mod): prepared with string parameters.
        let accounts = accounts();
        conn.exec_batch(
            "INSERT INTO t_account (name, balance) VALUES (?, ?)",
            accounts.iter().cloned(),
        )
        .await
        .unwrap();

        // Events (range): single-row text and multi-row prepared.
        let events = events();
        let (text_events, prep_events) = events.split_at(events.len() / 2);
        let singles: Vec<String> = text_events
            .iter()
            .map(|(id, k, v)| format!("({id}, {}, {v})", quote(k)))
            .collect();
        single_rows(&mut conn, "INSERT INTO t_event (event_id, kind, v)", &singles).await;
        for chunk in prep_events.chunks(4) {
            let marks = vec!["(?, ?, ?)"; chunk.len()].join(", ");
            let params: Vec<mysql_async::Value> = chunk
                .iter()
                .flat_map(|(id, k, v)| [(*id).into(), (*k).into(), (*v).into()])
                .collect();
            conn.exec_drop(
                format!("INSERT INTO t_event (event_id, kind, v) VALUES {marks}"),
                params,
            )
            .await
            .unwrap();
        }

        // Logs (consistent hash on a string): multi-row text, log_id generated.
        let logs = logs();
        for chunk in logs.chunks(17) {
            let values: Vec<String> = chunk
                .iter()
                .map(|(d, s, m)| format!("({}, {s}, {})", quote(d), quote(m)))
                .collect();
            conn.query_drop(format!(
                "INSERT INTO t_log (device, seq, msg) VALUES {}",
                values.join(", ")
            ))
            .await
            .unwrap();
        }

        // The broadcast table and the unsharded one.
        let values: Vec<String> = dict()
            .iter()
            .map(|(c, l)| format!("({}, {})", quote(c), quote(l)))
            .collect();
        conn.query_drop(format!(
            "INSERT INTO t_dict (code, label) VALUES {}",
            values.join(", ")
        ))
        .await
        .unwrap();
        conn.query_drop("INSERT INTO t_note (id, body) VALUES (1, 'a'), (2, 'b')")
            .await
            .unwrap();
        conn.disconnect().await.unwrap();

        let mut misplaced = Misplaced::default();

        // t_order: database by user_id mod 2, table by order_id mod 2.
        let rows = shop.stored("t_order", "order_id, user_id, CAST(amount AS CHAR), status, note").await;
        let mut seen = BTreeMap::new();
        for (node, row) in rows {
            let (order_id, user_id, amount, status, note): (i64, i64, String, String, Option<String>) =
                mysql_async::from_row(row);
            misplaced.check("t_order", order_id, &node, &order_node("t_order", user_id, order_id));
            seen.insert(order_id, (user_id, amount, status, note));
        }
        let expected: BTreeMap<i64, (i64, String, String, Option<String>)> = orders
            .iter()
            .map(|o| {
                (
                    o.order_id,
                    (o.user_id, o.amount.clone(), o.status.to_string(), o.note.clone()),
                )
            })
            .collect();
        assert_eq!(seen, expected, "t_order rows as stored");

        let rows = shop.stored("t_order_item", "item_id, order_id, user_id").await;
        assert_eq!(rows.len(), items.len(), "t_order_item row count");
        for (node, row) in rows {
            let (item_id, order_id, user_id): (i64, i64, i64) = mysql_async::from_row(row);
            misplaced.check(
                "t_order_item",
                item_id,
                &node,
                &order_node("t_order_item", user_id, order_id),
            );
        }

        let rows = shop.stored("t_user", "user_id, name").await;
        assert_eq!(rows.len(), users.len(), "t_user row count");
        for (node, row) in rows {
            let (user_id, name): (i64, String) = mysql_async::from_row(row);
            assert_eq!(name, format!("user{user_id}"));
            misplaced.check("t_user", user_id, &node, &user_node(user_id));
        }

        let rows = shop.stored("t_account", "name, balance").await;
        let names: BTreeSet<String> = rows
            .iter()
            .map(|(_, r)| r.get::<String, _>(0).unwrap())
            .collect();
        let expected: BTreeSet<String> = accounts.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, expected, "t_account names as stored");
        for (node, row) in rows {
            let (name, _): (String, i64) = mysql_async::from_row(row);
            misplaced.check("t_account", &name, &node, &account_node(&name));
        }

        let rows = shop.stored("t_event", "event_id").await;
        assert_eq!(rows.len(), events.len(), "t_event row count");
        for (node, row) in rows {
            let (event_id,): (i64,) = mysql_async::from_row(row);
            misplaced.check("t_event", event_id, &node, &event_node(event_id));
        }

        let ring = Ring::new(&LOG_NODES, LOG_VIRTUAL_NODES);
        let rows = shop.stored("t_log", "device, seq, log_id").await;
        assert_eq!(rows.len(), logs.len(), "t_log row count");
        let mut log_ids = BTreeSet::new();
        for (node, row) in rows {
            let (device, seq, log_id): (String, i64, Option<String>) = mysql_async::from_row(row);
            misplaced.check("t_log", (&device, seq), &node, &log_node(&ring, &device));
            let log_id = log_id.unwrap_or_else(|| panic!("t_log ({device}, {seq}): no log_id generated"));
            check_uuid_v7(&log_id);
            log_ids.insert(log_id);
        }
        assert_eq!(log_ids.len(), logs.len(), "generated log_ids are distinct");

        misplaced.assert_none();

        // Broadcast: every data source holds every row.
        for i in 0..DATA_SOURCES {
            let rows: Vec<(String, String)> = shop
                .direct_rows(i, "SELECT code, label FROM t_dict ORDER BY code")
                .await
                .into_iter()
                .map(mysql_async::from_row)
                .collect();
            let mut expected: Vec<(String, String)> = dict()
                .into_iter()
                .map(|(c, l)| (c.to_string(), l.to_string()))
                .collect();
            expected.sort();
            assert_eq!(rows, expected, "t_dict on ds_{i}");
        }
        // Unsharded: the default data source only.
        let notes = shop.direct_rows(0, "SELECT COUNT(*) FROM t_note").await;
        assert_eq!(notes[0].get::<i64, _>(0), Some(2));
    })
    .await
}

#[tokio::test]
async fn quoted_and_decimal_integers_place_like_the_integer() {
    within_timeout(async {
        let shop = Shop::start("placement_quoted");
        shop.create_tables().await;
        let mut conn = shop.client().await;
        // hash_mod over 4 nodes: 42 → 2 (spec vector); '042' must hash "42".
        for (literal, value) in [
            ("'042'", 42i64),
            ("' 43'", 43),
            ("44.0", 44),
            ("'-7'", -7),
            ("'10086'", 10086),
            ("'0'", 0),
        ] {
            conn.query_drop(format!(
                "INSERT INTO t_user (user_id, name, age) VALUES ({literal}, 'user{value}', NULL)"
            ))
            .await
            .unwrap_or_else(|e| panic!("user_id {literal}: {e}"));
        }
        // A bound string parameter on an integer column.
        conn.exec_drop(
            "INSERT INTO t_user (user_id, name, age) VALUES (?, ?, NULL)",
            ("045", "user45"),
        )
        .await
        .unwrap();
        // mod on both levels, quoted.
        conn.query_drop(
            "INSERT INTO t_order (order_id, user_id, amount, status) VALUES ('0203', '042', '1.00', 'new')",
        )
        .await
        .unwrap();
        // range, quoted: '0999' is 999 → node 2, not 0 (string '0999' < '100').
        conn.query_drop("INSERT INTO t_event (event_id, kind, v) VALUES ('0999', 'q', 1)")
            .await
            .unwrap();

        let mut misplaced = Misplaced::default();
        let rows = shop.stored("t_user", "user_id").await;
        let ids: BTreeSet<i64> = rows.iter().map(|(_, r)| r.get(0).unwrap()).collect();
        assert_eq!(ids, BTreeSet::from([42, 43, 44, -7, 10086, 0, 45]));
        for (node, row) in &rows {
            let id: i64 = row.get(0).unwrap();
            misplaced.check("t_user", id, node, &user_node(id));
        }
        // Pinned by the spec's vectors: 42 → 2, -7 → 0, 10086 → 2, 0 → 3.
        for (id, ds) in [(42, 2), (-7, 0), (10086, 2), (0, 3)] {
            let node = rows
                .iter()
                .find(|(_, r)| r.get::<i64, _>(0) == Some(id))
                .map(|(n, _)| n.clone())
                .unwrap();
            misplaced.check("t_user", id, &node, &format!("ds_{ds}.t_user"));
        }
        let rows = shop.stored("t_order", "order_id").await;
        assert_eq!(rows.len(), 1);
        misplaced.check("t_order", 203, &rows[0].0, "ds_0.t_order_1");
        let rows = shop.stored("t_event", "event_id").await;
        assert_eq!(rows.len(), 1);
        misplaced.check("t_event", 999, &rows[0].0, &event_node(999));
        misplaced.assert_none();

        // Reads with quoted values find the rows (one node, or all: either
        // way the answer is the row).
        let name: Option<String> = conn
            .query_first("SELECT name FROM t_user WHERE user_id = '042'")
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("user42"));
        let name: Option<String> = conn
            .exec_first("SELECT name FROM t_user WHERE user_id = ?", ("045",))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("user45"));
        let n: Option<i64> = conn
            .query_first("SELECT order_id FROM t_order WHERE user_id = '42' AND order_id = '203'")
            .await
            .unwrap();
        assert_eq!(n, Some(203));
        conn.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn generated_keys_are_reported_stored_and_placed_by_their_value() {
    within_timeout(async {
        let shop = Shop::start("placement_keys");
        shop.create_tables().await;
        let mut conn = shop.client().await;

        // Snowflake on t_order.order_id: the OK packet's last insert id.
        let mut reported = Vec::new();
        for user_id in [7i64, 8, -3] {
            conn.query_drop(format!(
                "INSERT INTO t_order (user_id, amount, status) VALUES ({user_id}, 10.50, 'new')"
            ))
            .await
            .unwrap();
            let id = conn.last_insert_id().expect("a last insert id in the OK packet");
            check_snowflake(id);
            reported.push((id as i64, user_id));
        }
        for user_id in [9i64, 10] {
            conn.exec_drop(
                "INSERT INTO t_order (user_id, amount, status) VALUES (?, ?, ?)",
                (user_id, "3.25", "paid"),
            )
            .await
            .unwrap();
            let id = conn.last_insert_id().expect("a last insert id in the OK packet");
            check_snowflake(id);
            reported.push((id as i64, user_id));
        }
        let ids: Vec<i64> = reported.iter().map(|(id, _)| *id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids from one proxy increase: {ids:?}"
        );
        // A multi-row INSERT without the key: every row gets its own id.
        conn.query_drop(
            "INSERT INTO t_order (user_id, amount, status) VALUES (1, 1, 'new'), (2, 2, 'new'), (3, 3, 'new'), (4, 4, 'new')",
        )
        .await
        .unwrap();
        // The item of the first order, item_id generated.
        let (order_id, user_id) = reported[0];
        conn.exec_drop(
            "INSERT INTO t_order_item (order_id, user_id, sku, qty) VALUES (?, ?, 'sku', 1)",
            (order_id, user_id),
        )
        .await
        .unwrap();
        let item_id = conn.last_insert_id().expect("item_id reported");
        check_snowflake(item_id);

        let mut misplaced = Misplaced::default();
        let rows = shop.stored("t_order", "order_id, user_id").await;
        assert_eq!(rows.len(), 9, "t_order rows");
        let stored_ids: BTreeMap<i64, (String, i64)> = rows
            .into_iter()
            .map(|(node, r)| {
                let (id, user): (i64, i64) = mysql_async::from_row(r);
                (id, (node, user))
            })
            .collect();
        for (id, user) in &reported {
            let (_, stored_user) = stored_ids
                .get(id)
                .unwrap_or_else(|| panic!("reported id {id} not stored; stored: {stored_ids:?}"));
            assert_eq!(stored_user, user, "row of id {id}");
        }
        for (id, (node, user)) in &stored_ids {
            assert!(*id > 0, "generated order_id {id}");
            check_snowflake(*id as u64);
            misplaced.check("t_order", id, node, &order_node("t_order", *user, *id));
        }
        let items = shop.stored("t_order_item", "item_id, order_id, user_id").await;
        assert_eq!(items.len(), 1);
        let (node, row) = &items[0];
        let (stored_item, o, u): (i64, i64, i64) = mysql_async::from_row(row.clone());
        assert_eq!(stored_item as u64, item_id, "the reported item_id is stored");
        misplaced.check("t_order_item", stored_item, node, &order_node("t_order_item", u, o));

        // uuid on a string sharding column: placed by the generated value.
        conn.query_drop("INSERT INTO t_token (user_id) VALUES (1)")
            .await
            .unwrap();
        let values: Vec<String> = (2..=40).map(|u| format!("({u})")).collect();
        conn.query_drop(format!(
            "INSERT INTO t_token (user_id) VALUES {}",
            values.join(", ")
        ))
        .await
        .unwrap();
        conn.exec_drop("INSERT INTO t_token (user_id) VALUES (?)", (41,))
            .await
            .unwrap();
        let tokens = shop.stored("t_token", "token, user_id").await;
        assert_eq!(tokens.len(), 41, "t_token rows");
        let mut users = BTreeSet::new();
        for (node, row) in tokens {
            let (token, user): (String, i64) = mysql_async::from_row(row);
            check_uuid_v7(&token);
            misplaced.check("t_token", &token, &node, &token_node(&token));
            users.insert(user);
        }
        assert_eq!(users, (1..=41).collect::<BTreeSet<i64>>());
        misplaced.assert_none();
        conn.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn last_insert_id_reports_the_snowflake_key() {
    within_timeout(async {
        let shop = Shop::start("placement_lastid");
        shop.create_tables().await;
        let mut conn = shop.client().await;
        conn.query_drop("INSERT INTO t_order (user_id, amount, status) VALUES (5, 1, 'new')")
            .await
            .unwrap();
        let id = conn.last_insert_id().expect("a last insert id");
        check_snowflake(id);
        let last: Option<u64> = conn.query_first("SELECT LAST_INSERT_ID()").await.unwrap();
        assert_eq!(
            last,
            Some(id),
            "LAST_INSERT_ID() after a generated snowflake key"
        );
        conn.disconnect().await.unwrap();
    })
    .await
}
