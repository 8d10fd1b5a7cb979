//! The research's fault table on real GTID replication groups, one group
//! per test (the faults change it): replica lag by a held LOCK TABLES,
//! stopped SQL and IO threads, MASTER_DELAY, a replica killed and
//! restarted, the primary killed and a replica promoted, the old primary
//! returning writable, two writable endpoints, the primary frozen with
//! SIGSTOP, FLUSH TABLES WITH READ LOCK (no failover); a backend account
//! without SLAVE MONITOR; and after each, that nothing wrote on a replica.

mod common;

use common::replica_proxy::*;
use common::replication::{ReplicaSet, NO_MONITOR_USER};
use common::Proxy;
use mysql_async::prelude::Queryable;
use std::time::{Duration, Instant};

/// A group with database `db` and table `t`, and a proxy in front of it.
async fn setup(extra: &str) -> (ReplicaSet, String, Proxy) {
    let extra = extra.to_string();
    let (set, db, rules) = blocking(move || {
        let set = ReplicaSet::start(2);
        let db = set.fresh_database("faults", 0);
        set.nodes[0].exec(&format!(
            "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT)"
        ));
        set.wait_replicated();
        let rules = rules(&set.data_source_toml("ds_0", &db, 0, &extra));
        (set, db, rules)
    })
    .await;
    let proxy = Proxy::start(&rules);
    let mut ops = ops(&proxy).await;
    wait_all_healthy(&mut ops).await;
    (set, db, proxy)
}

/// The server ids that answer `n` autocommit reads.
async fn readers(c: &mut mysql_async::Conn, n: usize) -> Vec<u32> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(server_id(c, "SELECT @@server_id").await);
    }
    ids
}

/// Waits until a replica is out of the reads (healthy 0), then checks that
/// reads go only to `others`; returns how long it took.
async fn wait_out(
    ops: &mut mysql_async::Conn,
    app: &mut mysql_async::Conn,
    address: &str,
    others: u32,
    what: &str,
) -> Duration {
    let started = Instant::now();
    let b = wait_backend(
        ops,
        address,
        "out of the reads",
        Duration::from_secs(8),
        |b| b.healthy == 0,
    )
    .await;
    let took = started.elapsed();
    println!("{what}: {address} out after {took:?} ({b:?})");
    let ids = readers(app, 4).await;
    assert!(
        ids.iter().all(|&id| id == others),
        "{what}: reads went to {ids:?}"
    );
    took
}

async fn wait_back(ops: &mut mysql_async::Conn, address: &str, what: &str) -> Duration {
    let started = Instant::now();
    wait_backend(ops, address, "back", Duration::from_secs(8), |b| {
        b.healthy == 1
    })
    .await;
    let took = started.elapsed();
    println!("{what}: {address} back after {took:?}");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_stopped_and_killed_replicas_get_no_reads_until_back() {
    let (mut set, db, proxy) = setup("max_replica_lag_s = 1").await;
    let (r1, r2) = (set.address(1, &db), set.address(2, &db));
    let mut ops = ops(&proxy).await;
    let mut app = app(&proxy).await;
    app.query_drop("INSERT INTO t VALUES (1, 1)").await.unwrap();

    for thread in ["SQL_THREAD", "IO_THREAD"] {
        set.nodes[1].exec(&format!("STOP SLAVE {thread}"));
        wait_out(&mut ops, &mut app, &r1, 3, &format!("STOP SLAVE {thread}")).await;
        set.nodes[1].exec(&format!("START SLAVE {thread}"));
        wait_back(&mut ops, &r1, &format!("START SLAVE {thread}")).await;
    }

    // A held LOCK TABLES on the replica blocks its SQL thread at the next write.
    let mut lock = mysql_async::Conn::new(set.nodes[1].opts(&db))
        .await
        .unwrap();
    lock.query_drop("LOCK TABLES t WRITE").await.unwrap();
    app.query_drop("INSERT INTO t VALUES (2, 2)").await.unwrap();
    let took = wait_out(&mut ops, &mut app, &r1, 3, "LOCK TABLES held").await;
    assert!(
        took >= Duration::from_millis(700),
        "out only once over the 1 s limit: {took:?}"
    );
    lock.query_drop("UNLOCK TABLES").await.unwrap();
    wait_back(&mut ops, &r1, "UNLOCK TABLES").await;
    drop(lock);

    // MASTER_DELAY: no lag while the primary is idle, lag after a write.
    set.nodes[2].exec("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 3; START SLAVE");
    tokio::time::sleep(Duration::from_millis(5 * INTERVAL_MS)).await;
    wait_back(&mut ops, &r2, "MASTER_DELAY = 3 set").await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let b = backend(&mut ops, &r2).await;
        assert_eq!(
            b.healthy, 1,
            "MASTER_DELAY with an idle primary is no lag: {b:?}"
        );
    }
    app.query_drop("INSERT INTO t VALUES (3, 3)").await.unwrap();
    wait_out(&mut ops, &mut app, &r2, 2, "MASTER_DELAY = 3 after a write").await;
    wait_back(&mut ops, &r2, "MASTER_DELAY applied").await;
    set.nodes[2].exec("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE");
    // Its IO thread reconnects first: give the checks a few rounds to see it.
    tokio::time::sleep(Duration::from_millis(5 * INTERVAL_MS)).await;
    wait_back(&mut ops, &r2, "MASTER_DELAY = 0 set").await;

    // A replica killed: reads go on from the other; back once restarted.
    set.nodes[1].kill_hard();
    wait_out(&mut ops, &mut app, &r1, 3, "replica kill -9").await;
    let n: Option<i64> = app.query_first("SELECT COUNT(*) FROM t").await.unwrap();
    assert_eq!(n, Some(3));
    blocking_restart(&mut set, 1).await;
    wait_back(&mut ops, &r1, "replica restarted").await;
    let ids = readers(&mut app, 4).await;
    assert!(
        ids.contains(&2) && ids.contains(&3),
        "both replicas read again: {ids:?}"
    );

    // An account without SLAVE MONITOR: lag from GTID positions, one warning per endpoint.
    let rules =
        rules(&set.data_source_toml_as(NO_MONITOR_USER, "ds_0", &db, 0, "max_replica_lag_s = 1"));
    let nomon = Proxy::start(&rules);
    let mut nomon_ops = common::replica_proxy::ops(&nomon).await;
    wait_all_healthy(&mut nomon_ops).await;
    let mut nomon_app = common::replica_proxy::app(&nomon).await;
    let ids = readers(&mut nomon_app, 4).await;
    assert!(ids.iter().all(|&id| id == 2 || id == 3), "{ids:?}");
    let mut lock = mysql_async::Conn::new(set.nodes[1].opts(&db))
        .await
        .unwrap();
    lock.query_drop("LOCK TABLES t WRITE").await.unwrap();
    nomon_app
        .query_drop("INSERT INTO t VALUES (4, 4)")
        .await
        .unwrap();
    wait_out(
        &mut nomon_ops,
        &mut nomon_app,
        &r1,
        3,
        "LOCK TABLES, GTID-only lag",
    )
    .await;
    lock.query_drop("UNLOCK TABLES").await.unwrap();
    wait_back(&mut nomon_ops, &r1, "UNLOCK TABLES, GTID-only lag").await;
    let warnings = nomon
        .log()
        .matches("may not read SHOW SLAVE STATUS")
        .count();
    assert_eq!(warnings, 3, "one warning per endpoint:\n{}", nomon.log());

    set.wait_replicated();
    set.assert_no_writes_on_replicas(0);
}

async fn blocking_restart(set: &mut ReplicaSet, i: usize) {
    // The restart blocks for a moment; nothing else runs on this test's runtime meanwhile.
    tokio::task::block_in_place(|| set.nodes[i].restart());
}

/// A write through the proxy: Ok, or the server error's code and message.
async fn write(c: &mut mysql_async::Conn, id: i32) -> Result<(), (u16, String)> {
    match c.exec_drop("INSERT INTO t VALUES (?, ?)", (id, id)).await {
        Ok(()) => Ok(()),
        Err(mysql_async::Error::Server(e)) => Err((e.code, e.message)),
        Err(e) => panic!("the client lost its connection: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_follow_a_promotion_and_never_go_back_or_split() {
    let (mut set, db, proxy) = setup("").await;
    let addresses: Vec<String> = (0..3).map(|i| set.address(i, &db)).collect();
    let mut ops = ops(&proxy).await;
    let mut app = app(&proxy).await;
    write(&mut app, 1).await.unwrap();

    // The primary crashes: writes fail at once naming ds_0, reads go on.
    set.nodes[0].kill_hard();
    wait_backend(
        &mut ops,
        &addresses[0],
        "down",
        Duration::from_secs(5),
        |b| b.healthy == 0,
    )
    .await;
    let started = Instant::now();
    let (code, message) = write(&mut app, 2).await.unwrap_err();
    let took = started.elapsed();
    println!("no primary: {code} after {took:?}: {message}");
    assert_eq!(code, 1105);
    assert!(message.contains("ds_0"), "{message}");
    assert!(took < Duration::from_millis(500), "at once: {took:?}");
    let n: Option<i64> = app.query_first("SELECT COUNT(*) FROM t").await.unwrap();
    assert_eq!(n, Some(1), "reads go on from the replicas");

    // An operator promotes node 1 and points node 2 at it.
    set.promote(1);
    let promoted = Instant::now();
    set.follow(2, 1);
    let mut id = 10;
    loop {
        id += 1;
        match write(&mut app, id).await {
            Ok(()) => break,
            Err(e) if promoted.elapsed() < Duration::from_secs(5) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("no write reached the new primary within 5 s: {e:?}"),
        }
    }
    let took = promoted.elapsed();
    println!(
        "writes reach the promoted node {took:?} after its promotion ({INTERVAL_MS} ms interval)"
    );
    assert!(took < Duration::from_millis(10 * INTERVAL_MS), "{took:?}");
    assert_eq!(
        server_id(&mut app, "/* shardgate: primary */ SELECT @@server_id").await,
        2
    );
    let rows = show_backends(&mut ops).await;
    println!("after the promotion: {rows:#?}");
    assert_eq!(rows[1].role, "primary");

    // The old primary comes back writable, as configured: not used again.
    blocking_restart(&mut set, 0).await;
    wait_backend(&mut ops, &addresses[0], "up", Duration::from_secs(5), |b| {
        b.healthy == 1 || b.role == "replica"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(5 * INTERVAL_MS)).await;
    write(&mut app, 100).await.unwrap();
    assert_eq!(
        server_id(&mut app, "/* shardgate: primary */ SELECT @@server_id").await,
        2
    );
    let on_old = set.nodes[0].query(&format!("SELECT COUNT(*) FROM `{db}`.t WHERE id = 100"));
    assert_eq!(
        on_old[0][0].as_deref(),
        Some("0"),
        "the returning old primary got a write"
    );
    let rows = show_backends(&mut ops).await;
    assert_eq!(
        (rows[0].role.as_str(), rows[1].role.as_str()),
        ("replica", "primary"),
        "{rows:#?}"
    );

    // A second writable endpoint beside the primary: writes refused, logged.
    set.promote(2);
    let refused = Instant::now();
    let message = loop {
        match write(&mut app, 200).await {
            Err((1105, m)) => break m,
            Ok(()) if refused.elapsed() < Duration::from_secs(5) => {
                // The conflict may be noticed between the write and its clean-up.
                match app.query_drop("DELETE FROM t WHERE id = 200").await {
                    Ok(()) => {}
                    Err(mysql_async::Error::Server(e)) if e.code == 1105 => break e.message,
                    Err(e) => panic!("clean-up of the probe write: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("two writable endpoints, yet: {other:?}"),
        }
    };
    println!(
        "two writable endpoints, after {:?}: {message}",
        refused.elapsed()
    );
    assert!(message.contains("several endpoints claim"), "{message}");
    assert!(
        proxy
            .log()
            .contains("several endpoints claim the primary role"),
        "{}",
        proxy.log()
    );
    // One of them steps down: writes go on on the other.
    set.nodes[2].exec("SET GLOBAL read_only = 1");
    set.follow(2, 1);
    let resumed = Instant::now();
    while write(&mut app, 300).await.is_err() {
        assert!(
            resumed.elapsed() < Duration::from_secs(5),
            "writes did not resume"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server_id(&mut app, "/* shardgate: primary */ SELECT @@server_id").await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_primary_hangs_nothing_and_a_read_lock_is_no_failover() {
    let (mut set, db, proxy) = setup("").await;
    let (p, r1) = (set.address(0, &db), set.address(1, &db));
    let mut ops = ops(&proxy).await;
    let mut app = app(&proxy).await;
    write(&mut app, 1).await.unwrap();

    set.nodes[0].signal("STOP");
    let frozen = Instant::now();
    let b = wait_backend(&mut ops, &p, "down", Duration::from_secs(6), |b| {
        b.healthy == 0
    })
    .await;
    println!("SIGSTOP: primary down after {:?} ({b:?})", frozen.elapsed());
    let lag = backend(&mut ops, &r1).await.lag_s;
    println!("replica lag while the primary is frozen: {lag:?}");
    assert!(
        lag.is_some_and(|l| l >= 1),
        "a frozen primary is not zero lag: {lag:?}"
    );
    let started = Instant::now();
    let (code, message) = write(&mut app, 2).await.unwrap_err();
    println!(
        "write on a frozen primary: {code} after {:?}: {message}",
        started.elapsed()
    );
    assert_eq!(code, 1105);
    assert!(started.elapsed() < Duration::from_millis(500));
    let n: Option<i64> = app.query_first("SELECT COUNT(*) FROM t").await.unwrap();
    assert_eq!(n, Some(1), "reads go on");

    set.nodes[0].signal("CONT");
    wait_backend(&mut ops, &p, "up", Duration::from_secs(6), |b| {
        b.healthy == 1
    })
    .await;
    let thawed = Instant::now();
    while write(&mut app, 3).await.is_err() {
        assert!(thawed.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // FLUSH TABLES WITH READ LOCK: writes wait, but the primary stays the primary.
    let mut lock = mysql_async::Conn::new(set.nodes[0].opts(&db))
        .await
        .unwrap();
    lock.query_drop("FLUSH TABLES WITH READ LOCK")
        .await
        .unwrap();
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(INTERVAL_MS)).await;
        let b = backend(&mut ops, &p).await;
        assert_eq!(
            (b.role.as_str(), b.healthy),
            ("primary", 1),
            "under FTWRL: {b:?}"
        );
    }
    lock.query_drop("UNLOCK TABLES").await.unwrap();
    write(&mut app, 4).await.unwrap();
    set.wait_replicated();
    set.assert_no_writes_on_replicas(0);
}
