//! Local-mode transactions across data sources: what a transaction wrote is
//! visible to itself through the proxy, to nobody else until COMMIT, and
//! gone everywhere after ROLLBACK or a disconnect, whose locks are released.
//! A write spanning data sources outside a transaction is all or nothing.
//! Every check of what is stored reads the backends directly.

mod common;
mod shard_env;

use mysql_async::prelude::*;
use mysql_async::{Conn, TxOpts};
use shard_env::*;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

const TEST_TIMEOUT: Duration = Duration::from_secs(120);

async fn within_timeout<F: Future>(body: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("test timed out: a connection hung")
}

/// `t_order` as stored: order_id → (data node, amount as text, note).
async fn orders_stored(shop: &Shop) -> BTreeMap<i64, (String, String, Option<String>)> {
    shop.stored("t_order", "order_id, CAST(amount AS CHAR), note")
        .await
        .into_iter()
        .map(|(node, row)| {
            let (id, amount, note): (i64, String, Option<String>) = mysql_async::from_row(row);
            (id, (node, amount, note))
        })
        .collect()
}

async fn ids_stored(shop: &Shop) -> Vec<i64> {
    orders_stored(shop).await.into_keys().collect()
}

/// order_ids visible to `conn` among `ids`.
async fn ids_seen(conn: &mut Conn, ids: &[i64]) -> Vec<i64> {
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let mut seen: Vec<i64> = conn
        .query(format!(
            "SELECT order_id FROM t_order WHERE order_id IN ({})",
            list.join(", ")
        ))
        .await
        .unwrap();
    seen.sort_unstable();
    seen
}

/// Rows on both data sources: user 0 → ds_0, user 1 → ds_1.
fn two_rows(first_id: i64) -> String {
    format!(
        "INSERT INTO t_order (order_id, user_id, amount, status) VALUES ({first_id}, 0, 1, 'new'), ({}, 1, 1, 'new')",
        first_id + 1
    )
}

async fn shop_with_tables(prefix: &str) -> Shop {
    let shop = Shop::start(prefix);
    shop.create_tables().await;
    shop
}

#[tokio::test]
async fn begin_rollback_and_commit_span_data_sources() {
    within_timeout(async {
        let shop = shop_with_tables("tx_begin").await;
        let mut conn = shop.client().await;
        let mut other = shop.client().await;

        // ROLLBACK: gone on both.
        conn.query_drop("BEGIN").await.unwrap();
        conn.query_drop(two_rows(10)).await.unwrap();
        conn.query_drop(
            "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (12, 0, 1, 'new')",
        )
        .await
        .unwrap();
        conn.exec_drop(
            "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (?, ?, 1, 'new')",
            (13, 1),
        )
        .await
        .unwrap();
        assert_eq!(
            ids_seen(&mut conn, &[10, 11, 12, 13]).await,
            vec![10, 11, 12, 13],
            "own writes"
        );
        let own: Option<i64> = conn
            .exec_first(
                "SELECT order_id FROM t_order WHERE user_id = ? AND order_id = ?",
                (1, 13),
            )
            .await
            .unwrap();
        assert_eq!(own, Some(13), "own write, prepared read");
        assert!(
            ids_stored(&shop).await.is_empty(),
            "uncommitted rows visible outside"
        );
        assert!(
            ids_seen(&mut other, &[10, 11, 12, 13]).await.is_empty(),
            "uncommitted rows visible to another client"
        );
        conn.query_drop("ROLLBACK").await.unwrap();
        assert!(ids_seen(&mut conn, &[10, 11, 12, 13]).await.is_empty());
        assert!(
            ids_stored(&shop).await.is_empty(),
            "rows left after ROLLBACK"
        );

        // COMMIT: present on both.
        conn.query_drop("START TRANSACTION").await.unwrap();
        conn.query_drop(two_rows(20)).await.unwrap();
        conn.query_drop("UPDATE t_order SET note = 'in tx' WHERE order_id IN (20, 21)")
            .await
            .unwrap();
        assert!(
            ids_stored(&shop).await.is_empty(),
            "uncommitted rows visible outside"
        );
        conn.query_drop("COMMIT").await.unwrap();
        let stored = orders_stored(&shop).await;
        assert_eq!(stored.len(), 2, "{stored:?}");
        assert_eq!(stored[&20].0, "ds_0.t_order_0");
        assert_eq!(stored[&21].0, "ds_1.t_order_1");
        assert!(stored
            .values()
            .all(|(_, _, n)| n.as_deref() == Some("in tx")));
        assert_eq!(ids_seen(&mut other, &[20, 21]).await, vec![20, 21]);

        // mysql_async's transaction API.
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.query_drop(two_rows(30)).await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
        tx.query_drop(two_rows(40)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(ids_stored(&shop).await, vec![20, 21, 40, 41]);
        conn.disconnect().await.unwrap();
        other.disconnect().await.unwrap();
    })
    .await
}

#[tokio::test]
async fn autocommit_off_commits_and_rolls_back_across_data_sources() {
    within_timeout(async {
        let shop = shop_with_tables("tx_autocommit").await;
        let mut conn = shop.client().await;
        conn.query_drop("SET autocommit = 0").await.unwrap();
        conn.query_drop(two_rows(1)).await.unwrap();
        assert_eq!(ids_seen(&mut conn, &[1, 2]).await, vec![1, 2]);
        assert!(ids_stored(&shop).await.is_empty(), "visible before COMMIT");
        conn.query_drop("COMMIT").await.unwrap();
        assert_eq!(ids_stored(&shop).await, vec![1, 2]);

        // The next statement opens the next transaction.
        conn.query_drop(two_rows(3)).await.unwrap();
        conn.query_drop("DELETE FROM t_order WHERE order_id IN (1, 2)")
            .await
            .unwrap();
        assert_eq!(ids_stored(&shop).await, vec![1, 2], "visible before COMMIT");
        conn.query_drop("ROLLBACK").await.unwrap();
        assert_eq!(
            ids_stored(&shop).await,
            vec![1, 2],
            "ROLLBACK undid both data sources"
        );

        // Back to autocommit: each statement commits by itself.
        conn.query_drop("SET autocommit = 1").await.unwrap();
        conn.query_drop(two_rows(5)).await.unwrap();
        assert_eq!(ids_stored(&shop).await, vec![1, 2, 5, 6]);
        conn.disconnect().await.unwrap();
    })
    .await
}

/// Rows 100 (ds_0) and 101 (ds_1), committed, for clients to lock.
async fn committed_rows(shop: &Shop) {
    let mut conn = shop.client().await;
    conn.query_drop(two_rows(100)).await.unwrap();
    conn.disconnect().await.unwrap();
}

/// Another client updates rows 100 and 101 (one per data source); it must
/// not wait for locks of a client that is gone.
async fn update_unlocked(shop: &Shop) {
    let mut conn = shop.client().await;
    conn.query_drop("SET innodb_lock_wait_timeout = 20")
        .await
        .unwrap();
    let started = Instant::now();
    conn.query_drop("UPDATE t_order SET note = 'second client' WHERE order_id IN (100, 101)")
        .await
        .unwrap_or_else(|e| panic!("update after the first client left: {e}"));
    assert_eq!(conn.affected_rows(), 2);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the second client waited {took:?}: the first client's locks were kept"
    );
    conn.disconnect().await.unwrap();
}

/// Waits until a backend reports an open InnoDB transaction holding locks
/// on each of the two data sources' servers.
async fn wait_for_locks(shop: &Shop) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut locked = 0;
        for ds in &shop.sources[..2] {
            // Transactions of connections in this data source's database
            // only: other tests share the servers.
            let rows = shop
                .direct_rows(
                    ds.name[3..].parse().unwrap(),
                    &format!(
                        "SELECT COUNT(*) FROM information_schema.innodb_trx t \
                         JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id \
                         WHERE p.db = '{}' AND t.trx_rows_locked > 0",
                        ds.db
                    ),
                )
                .await;
            if rows[0].get::<i64, _>(0).unwrap_or(0) > 0 {
                locked += 1;
            }
        }
        if locked == 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the first client's transaction never took its locks"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_client_that_quits_mid_transaction_leaves_nothing_and_no_locks() {
    within_timeout(async {
        let shop = shop_with_tables("tx_quit").await;
        committed_rows(&shop).await;
        let mut conn = shop.client().await;
        conn.query_drop("BEGIN").await.unwrap();
        conn.query_drop(two_rows(200)).await.unwrap();
        conn.query_drop("UPDATE t_order SET note = 'first client' WHERE order_id IN (100, 101)")
            .await
            .unwrap();
        assert_eq!(conn.affected_rows(), 2);
        // COM_QUIT without COMMIT.
        conn.disconnect().await.unwrap();
        update_unlocked(&shop).await;
        let stored = orders_stored(&shop).await;
        assert_eq!(
            stored.keys().copied().collect::<Vec<_>>(),
            vec![100, 101],
            "rows of the quit client"
        );
        assert!(stored
            .values()
            .all(|(_, _, n)| n.as_deref() == Some("second client")));
    })
    .await
}

/// A TCP relay between one client and the proxy that the test can cut: the
/// proxy then sees its client vanish without COM_QUIT, as when a client
/// process dies or its network goes away.
struct Cuttable {
    port: u16,
    relay: tokio::task::JoinHandle<()>,
}

impl Cuttable {
    async fn to(proxy_port: u16) -> Cuttable {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = tokio::spawn(async move {
            let (mut client, _) = listener.accept().await.unwrap();
            let mut proxy = tokio::net::TcpStream::connect(("127.0.0.1", proxy_port))
                .await
                .unwrap();
            let _ = tokio::io::copy_bidirectional(&mut client, &mut proxy).await;
        });
        Cuttable { port, relay }
    }

    /// Closes both connections.
    async fn cut(self) {
        self.relay.abort();
        let _ = self.relay.await;
    }
}

#[tokio::test]
async fn a_client_cut_off_mid_transaction_leaves_nothing_and_no_locks() {
    within_timeout(async {
        let shop = shop_with_tables("tx_cut").await;
        committed_rows(&shop).await;
        let relay = Cuttable::to(shop.proxy.port()).await;
        let opts = shop.opts().ip_or_hostname("127.0.0.1").tcp_port(relay.port);
        let mut conn = Conn::new(opts).await.unwrap();
        conn.query_drop("BEGIN").await.unwrap();
        conn.query_drop(two_rows(300)).await.unwrap();
        conn.query_drop("UPDATE t_order SET note = 'first client' WHERE order_id IN (100, 101)")
            .await
            .unwrap();
        assert_eq!(conn.affected_rows(), 2);
        wait_for_locks(&shop).await;
        relay.cut().await;
        // The client is gone; its connection object must not say goodbye.
        std::mem::forget(conn);
        update_unlocked(&shop).await;
        let stored = orders_stored(&shop).await;
        assert_eq!(
            stored.keys().copied().collect::<Vec<_>>(),
            vec![100, 101],
            "rows of the client that was cut off"
        );
        assert!(stored
            .values()
            .all(|(_, _, n)| n.as_deref() == Some("second client")));
    })
    .await
}

#[tokio::test]
async fn a_write_failing_on_one_data_source_changes_no_data_source() {
    within_timeout(async {
        let shop = shop_with_tables("tx_atomic").await;
        let mut conn = shop.client().await;
        // ds_0 holds 1 and 3 (t_order_1), 2 (t_order_0); ds_1 holds 4 and 5.
        conn.query_drop(
            "INSERT INTO t_order (order_id, user_id, amount, status) VALUES \
             (1, 0, 100, 'new'), (2, 0, 200, 'new'), (3, 2, 300, 'new'), (4, 1, 10, 'new'), (5, 3, 500, 'new')",
        )
        .await
        .unwrap();
        let before = orders_stored(&shop).await;
        assert_eq!(before.len(), 5);

        // Only row 4 (ds_1) violates the CHECK constraint.
        let e = server_error(
            conn.query_drop("UPDATE t_order SET amount = amount - 50 WHERE status = 'new'")
                .await,
        );
        assert_eq!((e.0, e.1.as_str()), (4025, "23000"), "the backend's error: {e:?}");
        assert!(e.2.contains("ds_1"), "the message names the data source: {e:?}");
        assert_eq!(orders_stored(&shop).await, before, "a node changed");

        // The same as a prepared statement.
        let e = server_error(
            conn.exec_drop("UPDATE t_order SET amount = amount - ? WHERE status = ?", (50, "new"))
                .await,
        );
        assert_eq!(e.0, 4025, "{e:?}");
        assert_eq!(orders_stored(&shop).await, before, "a node changed");

        // A multi-row INSERT whose row on ds_1 is a duplicate key.
        let e = server_error(
            conn.query_drop(
                "INSERT INTO t_order (order_id, user_id, amount, status) VALUES (6, 0, 1, 'new'), (7, 2, 1, 'new'), (5, 3, 1, 'new')",
            )
            .await,
        );
        assert_eq!((e.0, e.1.as_str()), (1062, "23000"), "{e:?}");
        assert_eq!(orders_stored(&shop).await, before, "a node changed");

        // A multi-row DELETE where one node fails? Broadcast: a duplicate on
        // one copy only.
        shop.direct_rows(3, "INSERT INTO t_dict (code, label) VALUES ('dup', 'only on ds_3')")
            .await;
        let e = server_error(
            conn.query_drop("INSERT INTO t_dict (code, label) VALUES ('dup', 'everywhere')")
                .await,
        );
        assert_eq!(e.0, 1062, "{e:?}");
        for i in 0..3 {
            let n = shop.direct_rows(i, "SELECT COUNT(*) FROM t_dict WHERE code = 'dup'").await;
            assert_eq!(n[0].get::<i64, _>(0), Some(0), "ds_{i} kept a broadcast row whose write failed elsewhere");
        }

        // The session is still usable, not left in a transaction.
        conn.query_drop("UPDATE t_order SET amount = amount + 1 WHERE status = 'new'")
            .await
            .unwrap();
        assert_eq!(conn.affected_rows(), 5);
        let after = orders_stored(&shop).await;
        assert!(after.values().all(|(_, a, _)| a.ends_with(".00") && a != "100.00"), "{after:?}");
        let mut other = shop.client().await;
        assert_eq!(ids_seen(&mut other, &[1, 2, 3, 4, 5]).await.len(), 5);
        conn.disconnect().await.unwrap();
        other.disconnect().await.unwrap();
    })
    .await
}
