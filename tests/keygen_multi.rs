//! Key generation across several proxies sharing the same tables: segment
//! ids from one sequence table and snowflake ids from leased worker ids
//! (`server.worker_id = "auto"`). Rows are inserted through the proxies
//! concurrently and then read from every backend database directly.

mod common;

use common::*;
use mysql_async::prelude::*;
use mysql_async::Conn;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Ids per claimed segment in these tests.
const STEP: i64 = 500;
/// Rows per multi-row INSERT.
const BATCH: usize = 100;

/// Two sharded tables over four data nodes, one per key generator, on a
/// leased worker id.
fn rules(dbs: &[String], extra_sources: &str, seq_ds: &str, step: i64) -> String {
    format!(
        r#"[server]
worker_id = "auto"

[[users]]
name = "{APP_USER}"
password = "{APP_PASSWORD}"
schemas = ["shop"]
admin = true

{sources}{extra_sources}
[schemas.shop]
default_data_source = "ds_0"

[schemas.shop.tables.t_seg]
nodes = "ds_${{0..1}}.t_seg_${{0..1}}"
sharding = {{ column = "id", algorithm = "by_mod" }}
key_generator = {{ column = "id", type = "segment", data_source = "{seq_ds}", step = {step} }}

[schemas.shop.tables.t_snow]
nodes = "ds_${{0..1}}.t_snow_${{0..1}}"
sharding = {{ column = "id", algorithm = "by_mod" }}
key_generator = {{ column = "id", type = "snowflake" }}

[schemas.shop.tables.t_uc]
nodes = "ds_${{0..1}}.t_uc"
sharding = {{ column = "id", algorithm = "by_hash" }}
key_generator = {{ column = "id", type = "uuid" }}

[schemas.shop.tables.t_ub]
nodes = "ds_${{0..1}}.t_ub"
sharding = {{ column = "id", algorithm = "by_hash" }}
key_generator = {{ column = "id", type = "uuid" }}

[schemas.shop.algorithms]
by_mod = {{ type = "mod" }}
by_hash = {{ type = "hash_mod" }}
"#,
        sources = data_sources_toml(dbs),
    )
}

/// Creates the integer-key tables on every backend database.
fn create_tables(dbs: &[String]) {
    for (server, db) in cluster().iter().zip(dbs) {
        for table in ["t_seg", "t_snow"] {
            for i in 0..2 {
                server.exec(&format!(
                    "CREATE TABLE `{db}`.{table}_{i} (id BIGINT PRIMARY KEY, proxy INT NOT NULL, \
                     seq INT NOT NULL)"
                ));
            }
        }
    }
}

/// Every row of `table` (over its four actual tables): (id, proxy, seq).
fn read_rows(dbs: &[String], table: &str) -> Vec<(i64, i64, i64)> {
    let mut rows = Vec::new();
    for (server, db) in cluster().iter().zip(dbs) {
        for i in 0..2 {
            for row in server.query(&format!("SELECT id, proxy, seq FROM `{db}`.{table}_{i}")) {
                let int = |c: &Option<String>| {
                    c.as_deref().expect("not null").parse::<i64>().expect("int")
                };
                rows.push((int(&row[0]), int(&row[1]), int(&row[2])));
            }
        }
    }
    rows
}

async fn connect(proxy: &Proxy) -> Conn {
    Conn::from_url(proxy.url(APP_USER, APP_PASSWORD, "shop"))
        .await
        .unwrap_or_else(|e| panic!("connect to the proxy: {e}\n{}", proxy.log()))
}

/// Inserts `rows` rows into `table` through `proxy` (tagged `tag`), in
/// multi-row INSERTs that omit the key; each statement's OK reports its
/// first id, which must increase from statement to statement.
async fn insert_rows(proxy: &Proxy, tag: i64, table: &str, first_seq: usize, rows: usize) {
    let mut conn = connect(proxy).await;
    let mut last = 0;
    let mut seq = first_seq;
    while seq < first_seq + rows {
        let n = BATCH.min(first_seq + rows - seq);
        let values: Vec<String> = (seq..seq + n).map(|s| format!("({tag}, {s})")).collect();
        let sql = format!(
            "INSERT INTO {table} (proxy, seq) VALUES {}",
            values.join(", ")
        );
        conn.query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{table} via proxy {tag}: {e}\n{}", proxy.log()));
        let id = conn
            .last_insert_id()
            .expect("the OK packet reports the generated id");
        assert!(id > last, "{table} proxy {tag}: first id {id} after {last}");
        last = id;
        seq += n;
    }
    let reported: Option<u64> = conn
        .query_first("SELECT LAST_INSERT_ID()")
        .await
        .expect("LAST_INSERT_ID()");
    assert_eq!(reported, Some(last), "LAST_INSERT_ID() of {table}");
    conn.disconnect().await.expect("disconnect");
}

/// Each proxy (tagged by its index) inserts `rows` rows into both tables at once.
async fn insert_everywhere(proxies: &[(i64, &Proxy)], rows: usize, first_seq: usize) {
    let mut runs = Vec::new();
    for (tag, proxy) in proxies {
        for table in ["t_seg", "t_snow"] {
            runs.push(insert_rows(proxy, *tag, table, first_seq, rows));
        }
    }
    futures_util::future::join_all(runs).await;
}

/// No id twice; per proxy, ids increase in the order that proxy inserted.
fn check_unique_and_increasing(table: &str, rows: &[(i64, i64, i64)]) {
    let ids: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(ids.len(), rows.len(), "{table}: duplicate ids");
    let mut by_proxy: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for &(id, proxy, seq) in rows {
        by_proxy.entry(proxy).or_default().push((seq, id));
    }
    for (proxy, mut ids) in by_proxy {
        ids.sort_unstable();
        for pair in ids.windows(2) {
            assert!(
                pair[0].1 < pair[1].1,
                "{table} proxy {proxy}: seq {} got id {} but seq {} got {}",
                pair[0].0,
                pair[0].1,
                pair[1].0,
                pair[1].1
            );
        }
    }
}

/// Segment ids: every claimed segment (`[start + k·STEP, +STEP)`) serves one
/// proxy only, and the ids used from it are dense from its first id.
fn check_dense_segments(rows: &[(i64, i64, i64)], step: i64) {
    let mut segments: BTreeMap<i64, (BTreeSet<i64>, Vec<i64>)> = BTreeMap::new();
    for &(id, proxy, _) in rows {
        let entry = segments.entry((id - 1) / step).or_default();
        entry.0.insert(proxy);
        entry.1.push(id);
    }
    for (k, (proxies, mut ids)) in segments {
        assert_eq!(proxies.len(), 1, "segment {k} served proxies {proxies:?}");
        ids.sort_unstable();
        let first = 1 + k * step;
        let expected: Vec<i64> = (first..first + ids.len() as i64).collect();
        assert_eq!(ids, expected, "segment {k} is not dense from {first}");
    }
}

/// Snowflake ids: one worker id per proxy, a different one for each.
fn check_worker_ids(rows: &[(i64, i64, i64)]) -> BTreeMap<i64, i64> {
    let mut workers: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for &(id, proxy, _) in rows {
        workers.entry(proxy).or_default().insert((id >> 12) & 1023);
    }
    let mut one: BTreeMap<i64, i64> = BTreeMap::new();
    for (proxy, ids) in workers {
        assert_eq!(ids.len(), 1, "proxy {proxy} used worker ids {ids:?}");
        one.insert(proxy, *ids.first().expect("one"));
    }
    let distinct: BTreeSet<i64> = one.values().copied().collect();
    assert_eq!(distinct.len(), one.len(), "worker ids shared: {one:?}");
    one
}

/// `SHOW KEY GENERATORS` through `proxy`: table → its row as text.
async fn key_generators(proxy: &Proxy) -> BTreeMap<String, Vec<Option<String>>> {
    let mut conn = connect(proxy).await;
    let rows: Vec<mysql_async::Row> = conn.query("SHOW KEY GENERATORS").await.expect("admin");
    conn.disconnect().await.expect("disconnect");
    rows.into_iter()
        .map(row_text)
        .map(|row| (row[1].clone().expect("table"), row))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_then_four_proxies_never_share_an_id() {
    let dbs = fresh_databases("keygen_multi");
    create_tables(&dbs);
    let rules = rules(&dbs, "", "ds_0", STEP);
    let first: Vec<Proxy> = (0..2).map(|_| Proxy::start(&rules)).collect();
    let two: Vec<(i64, &Proxy)> = first
        .iter()
        .enumerate()
        .map(|(i, p)| (i as i64, p))
        .collect();
    insert_everywhere(&two, 10_000, 0).await;

    let more: Vec<Proxy> = (0..2).map(|_| Proxy::start(&rules)).collect();
    let four: Vec<(i64, &Proxy)> = first
        .iter()
        .chain(&more)
        .enumerate()
        .map(|(i, p)| (i as i64, p))
        .collect();
    insert_everywhere(&four, 10_000, 10_000).await;

    let seg = read_rows(&dbs, "t_seg");
    let snow = read_rows(&dbs, "t_snow");
    assert_eq!(seg.len(), 60_000);
    assert_eq!(snow.len(), 60_000);
    check_unique_and_increasing("t_seg", &seg);
    check_unique_and_increasing("t_snow", &snow);
    check_dense_segments(&seg, STEP);
    let workers = check_worker_ids(&snow);

    // SHOW KEY GENERATORS agrees with the ids stored.
    for (tag, proxy) in &four {
        let shown = key_generators(proxy).await;
        let snow_row = &shown["t_snow"];
        assert_eq!(snow_row[3].as_deref(), Some("snowflake"));
        assert_eq!(snow_row[4], Some(workers[tag].to_string()), "{snow_row:?}");
        let left: i64 = snow_row[5]
            .as_deref()
            .expect("lease left")
            .parse()
            .expect("ms");
        assert!(left > 10_000, "lease left {left} ms");
        assert_eq!(snow_row[10].as_deref(), Some("ok (leased)"));
        let seg_row = &shown["t_seg"];
        assert_eq!(seg_row[3].as_deref(), Some("segment"));
        assert_eq!(seg_row[6].as_deref(), Some("ds_0"));
        let remaining: i64 = seg_row[8]
            .as_deref()
            .expect("remaining")
            .parse()
            .expect("int");
        assert!((0..=STEP).contains(&remaining), "{seg_row:?}");
        assert!(seg_row[7].is_some(), "current segment shown: {seg_row:?}");
    }
    // The sequence table holds the high-water mark of every claim.
    let next: i64 = cluster()[0].query(&format!(
        "SELECT next_id FROM `{}`.shardgate_sequence WHERE name = 'shop.t_seg'",
        dbs[0]
    ))[0][0]
        .as_deref()
        .expect("row")
        .parse()
        .expect("int");
    assert!(
        seg.iter().all(|r| r.0 < next),
        "an id at or past next_id {next}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_proxy_restarted_never_reissues_an_id() {
    let dbs = fresh_databases("keygen_kill");
    create_tables(&dbs);
    let rules = rules(&dbs, "", "ds_0", STEP);
    let mut killed = Proxy::start(&rules);
    insert_everywhere(&[(0, &killed)], 1_200, 0).await;
    killed.signal("KILL");
    killed.wait_exit(Duration::from_secs(10)).expect("killed");
    let restarted = Proxy::start(&rules);
    insert_everywhere(&[(1, &restarted)], 1_200, 1_200).await;

    let seg = read_rows(&dbs, "t_seg");
    let snow = read_rows(&dbs, "t_snow");
    assert_eq!(seg.len(), 2_400);
    check_unique_and_increasing("t_seg", &seg);
    check_unique_and_increasing("t_snow", &snow);
    check_dense_segments(&seg, STEP);
    // The restart skips the rest of the killed proxy's segments.
    let before = seg
        .iter()
        .filter(|r| r.1 == 0)
        .map(|r| r.0)
        .max()
        .expect("rows");
    let after = seg
        .iter()
        .filter(|r| r.1 == 1)
        .map(|r| r.0)
        .min()
        .expect("rows");
    assert!(after > before, "restarted at {after}, killed at {before}");
    assert_eq!((after - 1) % STEP, 0, "a fresh segment's first id: {after}");
    // The killed proxy's lease is still held: the restart leases another id.
    let workers = check_worker_ids(&snow);
    assert_ne!(workers[&0], workers[&1]);
    drop(restarted);
    drop(killed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_id_is_released_on_shutdown() {
    let dbs = fresh_databases("keygen_release");
    create_tables(&dbs);
    let rules = rules(&dbs, "", "ds_0", STEP);
    let mut proxy = Proxy::start(&rules);
    let worker = key_generators(&proxy).await["t_snow"][4]
        .clone()
        .expect("leased");
    let owner_of = |id: &str| {
        cluster()[0].query(&format!(
            "SELECT owner, lease_expires > UTC_TIMESTAMP(3) FROM `{}`.shardgate_worker_id \
             WHERE worker_id = {id}",
            dbs[0]
        ))[0]
            .clone()
    };
    let held = owner_of(&worker);
    assert!(
        held[0].as_deref().is_some_and(|o| !o.is_empty()),
        "{held:?}"
    );
    assert_eq!(held[1].as_deref(), Some("1"));
    proxy.signal("TERM");
    proxy.wait_exit(Duration::from_secs(20)).expect("stopped");
    assert_eq!(owner_of(&worker), [Some(String::new()), Some("0".into())]);
    // The next proxy gets the lowest free id: the one just released.
    let next = Proxy::start(&rules);
    assert_eq!(key_generators(&next).await["t_snow"][4], Some(worker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_ids_go_on_from_the_buffer_while_the_sequence_data_source_is_down() {
    let dbs = fresh_databases("keygen_down");
    create_tables(&dbs);
    let sequence_server = MariaDb::start();
    sequence_server.exec("CREATE DATABASE seq");
    let extra = format!(
        "[data_sources.seq_ds]\nprimary = \"{}\"\n\n",
        sequence_server.data_source_url("seq")
    );
    let proxy = Proxy::start(&rules(&dbs, &extra, "seq_ds", 10));
    let mut conn = connect(&proxy).await;
    let insert = |seq: usize| format!("INSERT INTO t_seg (proxy, seq) VALUES (0, {seq})");
    for seq in 1..=3 {
        conn.query_drop(insert(seq)).await.expect("insert");
        assert_eq!(conn.last_insert_id(), Some(seq as u64));
    }
    let shown = key_generators(&proxy).await;
    assert_eq!(
        shown["t_seg"][7].as_deref(),
        Some("1..=10"),
        "{:?}",
        shown["t_seg"]
    );
    assert_eq!(shown["t_seg"][8].as_deref(), Some("7"));
    drop(sequence_server);
    // The buffer still holds 4..=10.
    for seq in 4..=10 {
        conn.query_drop(insert(seq))
            .await
            .expect("served from the buffer");
        assert_eq!(conn.last_insert_id(), Some(seq as u64));
    }
    let error = conn
        .query_drop(insert(11))
        .await
        .expect_err("needs a new segment");
    match error {
        mysql_async::Error::Server(e) => {
            assert_eq!(e.code, 1105, "{e:?}");
            assert!(e.message.contains("seq_ds"), "{}", e.message);
            assert!(e.message.contains("shop.t_seg"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    let shown = key_generators(&proxy).await;
    let state = shown["t_seg"][10].clone().unwrap_or_default();
    assert!(state.starts_with("claim failed"), "{state}");
    let ids: Vec<i64> = read_rows(&dbs, "t_seg").iter().map(|r| r.0).collect();
    assert_eq!(
        ids.iter().copied().collect::<BTreeSet<_>>(),
        (1..=10).collect()
    );
    // Other keys are not affected.
    conn.query_drop("INSERT INTO t_snow (proxy, seq) VALUES (0, 1)")
        .await
        .expect("snowflake keys go on");
    conn.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uuid_keys_are_text_in_char_columns_and_bytes_in_binary_ones() {
    let dbs = fresh_databases("keygen_uuid");
    let proxy = Proxy::start(&rules(&dbs, "", "ds_0", STEP));
    let mut conn = connect(&proxy).await;
    // Through the proxy, so it reads the key columns' types right after.
    conn.query_drop("CREATE TABLE t_uc (id CHAR(36) PRIMARY KEY, n INT)")
        .await
        .expect("create");
    conn.query_drop("CREATE TABLE t_ub (id BINARY(16) PRIMARY KEY, n INT)")
        .await
        .expect("create");
    let values: Vec<String> = (0..40).map(|n| format!("({n})")).collect();
    for table in ["t_uc", "t_ub"] {
        conn.query_drop(format!(
            "INSERT INTO {table} (n) VALUES {}",
            values.join(", ")
        ))
        .await
        .expect("insert");
        conn.query_drop(format!("INSERT INTO {table} SET n = 40"))
            .await
            .expect("insert");
    }
    let mut text_ids = Vec::new();
    let mut byte_ids = Vec::new();
    let mut placed = BTreeSet::new();
    for (server, db) in cluster().iter().zip(&dbs) {
        let mut direct = Conn::new(server.opts(db)).await.expect("backend");
        let rows: Vec<(String, i64)> = direct.query("SELECT id, n FROM t_uc").await.expect("read");
        placed.insert(("t_uc", !rows.is_empty()));
        text_ids.extend(rows);
        let rows: Vec<(Vec<u8>, i64)> = direct.query("SELECT id, n FROM t_ub").await.expect("read");
        placed.insert(("t_ub", !rows.is_empty()));
        byte_ids.extend(rows);
        direct.disconnect().await.expect("disconnect");
    }
    assert_eq!(text_ids.len(), 41);
    assert_eq!(byte_ids.len(), 41);
    for (id, n) in &text_ids {
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(&id[14..15], "7", "a UUIDv7: {id}");
        // Routed by the value generated: the proxy finds it where it put it.
        let found: Option<i64> = conn
            .query_first(format!("SELECT n FROM t_uc WHERE id = '{id}'"))
            .await
            .expect("point select");
        assert_eq!(found, Some(*n), "{id}");
    }
    for (id, n) in &byte_ids {
        assert_eq!(id.len(), 16, "{id:?}");
        assert_eq!(id[6] >> 4, 7, "a UUIDv7: {id:?}");
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let found: Option<i64> = conn
            .query_first(format!("SELECT n FROM t_ub WHERE id = X'{hex}'"))
            .await
            .expect("point select");
        assert_eq!(found, Some(*n), "{hex}");
    }
    assert!(
        !placed.contains(&("t_uc", false)),
        "41 keys all on one data source"
    );
    conn.disconnect().await.expect("disconnect");
}
