//! The data the merge end-to-end tests share (`mod merge_env;` after `mod
//! common;` and `mod shard_env;`): a schema with one sharded table per
//! algorithm, a binding group and a broadcast table over four data sources;
//! a few thousand deterministic rows with the values a merge must compare as
//! MySQL does (NULLs, negative and unsigned 64-bit integers, decimals of
//! several scales, doubles, dates, datetimes with fractions, strings of
//! case- and accent-insensitive, unicode and binary collations, emoji); and
//! the same rows in one unsharded oracle database.
//!
//! Doubles that are summed or averaged are multiples of 1/4 or 1/8, so that
//! sums are exact whatever order the nodes add them in; the doubles of
//! `m_user.score` (wide magnitudes) are only compared and ordered.
#![allow(dead_code)]

use crate::common::{cluster, fresh_databases};
use crate::shard_env::{data_sources_toml, fresh_data_sources, quote, users_toml, DataSource};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// The schema: `m_order` by database (`user_id mod 2`) and table
/// (`order_id mod 2`), `m_order_item` bound to it, `m_user` by `hash_mod`
/// over four data sources, `m_event` by range, `m_tag` on a consistent-hash
/// ring, `m_dict` broadcast. The logical schema is `shop` (users from
/// [`users_toml`]).
pub const SCHEMA_TOML: &str = r#"
[schemas.shop]
default_data_source = "ds_0"
broadcast_tables = ["m_dict"]
binding_groups = [["m_order", "m_order_item"]]

[schemas.shop.tables.m_order]
nodes = "ds_${0..1}.m_order_${0..1}"
database_sharding = { column = "user_id", algorithm = "ds_mod" }
table_sharding = { column = "order_id", algorithm = "tbl_mod" }

[schemas.shop.tables.m_order_item]
nodes = "ds_${0..1}.m_order_item_${0..1}"
database_sharding = { column = "user_id", algorithm = "ds_mod" }
table_sharding = { column = "order_id", algorithm = "tbl_mod" }

[schemas.shop.tables.m_user]
nodes = "ds_${0..3}.m_user"
sharding = { column = "user_id", algorithm = "user_hash" }

[schemas.shop.tables.m_event]
nodes = "ds_${0..3}.m_event"
sharding = { column = "event_id", algorithm = "by_range" }

[schemas.shop.tables.m_tag]
nodes = "ds_${0..1}.m_tag_${[a,b]}"
sharding = { column = "tag", algorithm = "ring" }

[schemas.shop.algorithms]
ds_mod = { type = "mod" }
tbl_mod = { type = "mod" }
user_hash = { type = "hash_mod" }
by_range = { type = "range", boundaries = [0, 500, 1000] }
ring = { type = "consistent_hash", virtual_nodes = 160 }
"#;

/// The whole rule file for `sources`.
pub fn rules(sources: &[DataSource]) -> String {
    format!(
        "{}{}{SCHEMA_TOML}",
        users_toml(),
        data_sources_toml(sources)
    )
}

/// The logical tables. Strings without a COLLATE clause are
/// `utf8mb4_general_ci` (the servers' default); the sharding string key is
/// binary, as algorithms.md asks.
pub const DDL: &[&str] = &[
    "CREATE TABLE m_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL, \
     status VARCHAR(16) NOT NULL, qty INT NULL, big BIGINT UNSIGNED NULL, \
     amount DECIMAL(12,2) NULL, rate DECIMAL(9,4) NULL, weight DOUBLE NULL, \
     title VARCHAR(64) NULL, created DATE NULL, updated DATETIME NULL)",
    "CREATE TABLE m_order_item (item_id BIGINT NOT NULL PRIMARY KEY, order_id BIGINT NOT NULL, \
     user_id BIGINT NOT NULL, sku VARCHAR(16) NOT NULL, price DECIMAL(8,3) NOT NULL, qty INT NULL)",
    "CREATE TABLE m_user (user_id BIGINT NOT NULL PRIMARY KEY, \
     name VARCHAR(32) COLLATE utf8mb4_unicode_ci NOT NULL, city VARCHAR(32) NULL, \
     score DOUBLE NULL, balance DECIMAL(14,4) NULL, born DATE NULL, age TINYINT NULL)",
    "CREATE TABLE m_event (event_id BIGINT NOT NULL PRIMARY KEY, \
     kind VARCHAR(16) COLLATE utf8mb4_bin NOT NULL, v INT NULL, ratio DOUBLE NOT NULL, \
     at DATETIME(3) NOT NULL)",
    "CREATE TABLE m_tag (tag VARCHAR(64) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, \
     label VARCHAR(32) NOT NULL, hits INT NULL, price DECIMAL(6,1) NOT NULL)",
    "CREATE TABLE m_dict (code VARCHAR(16) NOT NULL PRIMARY KEY, label VARCHAR(32) NOT NULL, \
     lvl INT NOT NULL)",
];

/// Every actual table, per data source index.
pub fn actual_tables(ds: usize) -> Vec<&'static str> {
    let mut tables = vec!["m_user", "m_event", "m_dict"];
    if ds < 2 {
        tables.extend([
            "m_order_0",
            "m_order_1",
            "m_order_item_0",
            "m_order_item_1",
            "m_tag_a",
            "m_tag_b",
        ]);
    }
    tables
}

// ---------------------------------------------------------------------------
// Value helpers
// ---------------------------------------------------------------------------

/// An integer `units` scaled by 10^-scale as DECIMAL text: `fixed(-5, 2)` is
/// `-0.05`.
pub fn fixed(units: i64, scale: u32) -> String {
    let p = 10i64.pow(scale);
    let sign = if units < 0 { "-" } else { "" };
    let a = units.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{a}");
    }
    format!(
        "{sign}{}.{:0width$}",
        a / p as u64,
        a % p as u64,
        width = scale as usize
    )
}

/// The civil date `days` after 1970-01-01 (H. Hinnant's algorithm).
pub fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days from 1970-01-01 to 2020-01-01, 2019-06-01, 1950-01-01, 2022-01-01.
const D2020: i64 = 18_262;
const D2019_06: i64 = 18_048;
const D1950: i64 = -7_305;
const D2022: i64 = 18_993;

/// `HH:MM:SS` of a second of the day.
fn clock(second: i64) -> String {
    let s = second.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or("NULL".into(), |v| v.to_string())
}

fn opt_quoted(v: Option<&str>) -> String {
    v.map_or("NULL".into(), quote)
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// `m_order.title` (utf8mb4_general_ci): case, accent and emoji variants
/// that compare equal ('apple' = 'APPLE' = 'àpple'; every emoji is U+FFFD
/// there, so 'cherry 🍒' = 'CHERRY 🍓'), and some that do not.
pub const TITLES: &[&str] = &[
    "apple",
    "Apple",
    "APPLE",
    "àpple",
    "banana",
    "Banana",
    "bänana",
    "cherry 🍒",
    "Cherry 🍒",
    "CHERRY 🍓",
    "éclair",
    "Eclair",
    "ECLAIR",
    "naïve",
    "Naive",
    "zebra",
    "Zèbra",
    "日本語",
    "中文",
    "Ωmega",
    "ωmega",
    "Ärger",
    "arger",
];

/// `m_order.status`, unevenly spread.
pub const STATUSES: &[&str] = &["new", "new", "paid", "paid", "paid", "shipped", "cancelled"];

/// Number of `m_order` rows (`order_id` 1..=ORDERS).
pub const ORDERS: i64 = 1500;

/// The INSERT values of `m_order` row `id`, and its `user_id`.
fn order(id: i64) -> (i64, String) {
    let user_id = (id * 7919) % 211 - 20;
    let status = if id % 50 == 0 {
        "returned"
    } else {
        STATUSES[(id % 7) as usize]
    };
    let qty = (id % 8 != 3).then(|| (id * 31) % 50 - 10);
    // Odd multiplier: a bijection on u64, so every value is distinct and
    // about half are above i64::MAX.
    let big = (id % 11 != 0).then(|| (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let amount = (id % 13 != 0).then(|| fixed((id * 37) % 100_000 - 20_000, 2));
    let rate = (id % 10 != 7).then(|| fixed((id * 97) % 200_000 - 50_000, 4));
    let weight = (id % 9 != 0).then(|| (((id * 53) % 4001 - 2000) as f64 / 4.0).to_string());
    let title = (id % 17 != 0).then(|| TITLES[((id * 5) % TITLES.len() as i64) as usize]);
    let created = (id % 19 != 0).then(|| quote(&date(D2020 + (id * 7) % 1500)));
    let updated = (id % 23 != 0).then(|| {
        quote(&format!(
            "{} {}",
            date(D2019_06 + (id * 11) % 2000),
            clock(id * 3607)
        ))
    });
    let values = format!(
        "({id}, {user_id}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        quote(status),
        opt(qty),
        opt(big),
        opt(amount),
        opt(rate),
        opt(weight),
        opt_quoted(title),
        opt(created),
        opt(updated)
    );
    (user_id, values)
}

/// `m_order_item.sku` (general_ci): 'sku-a' = 'SKU-A'.
pub const SKUS: &[&str] = &[
    "sku-a", "SKU-A", "sku-b", "Sku-B", "sku-c", "sku-ç", "sku-d",
];

/// The items of order `id` (none when `id % 4 == 0`), with its sharding
/// values: the binding group's promise.
fn items(id: i64, user_id: i64) -> Vec<String> {
    if id % 4 == 0 {
        return Vec::new();
    }
    (0..id % 3 + 1)
        .map(|k| {
            let qty = ((id + k) % 10 != 0).then_some(k + 1);
            format!(
                "({}, {id}, {user_id}, {}, {}, {})",
                id * 10 + k,
                quote(SKUS[((id + k * 7) % SKUS.len() as i64) as usize]),
                fixed((id * 13 + k * 101) % 1_000_000, 3),
                opt(qty)
            )
        })
        .collect()
}

/// `m_user.name` (utf8mb4_unicode_ci).
pub const NAMES: &[&str] = &[
    "alice",
    "Alice",
    "ALICE",
    "Álvaro",
    "alvaro",
    "bob",
    "Bob",
    "Zoë",
    "zoe",
    "Émile",
    "emile",
    "李",
    "😀 smile",
    "😃 smile",
    "Ñandú",
    "nandu",
    "o'brien",
];

/// `m_user.city` (general_ci), `None` for NULL.
pub const CITIES: &[Option<&str>] = &[
    Some("Paris"),
    Some("paris"),
    Some("PARIS"),
    Some("São Paulo"),
    Some("sao paulo"),
    Some("Zürich"),
    Some("zurich"),
    Some("東京"),
    None,
];

/// `m_user.score`: doubles of very different magnitudes (ordered and
/// compared, never summed).
pub const SCORES: &[&str] = &[
    "1.5e-7",
    "-2.25",
    "3.14159",
    "2.5e15",
    "0",
    "-0.001",
    "123456.789",
    "1e300",
    "-7.5e-300",
];

/// `m_user` ids: every `m_order.user_id` and 400 more.
pub fn user_ids() -> Vec<i64> {
    (-20..=190).chain(1000..1400).collect()
}

fn user(id: i64) -> String {
    let n = id.rem_euclid(1000);
    format!(
        "({id}, {}, {}, {}, {}, {}, {})",
        quote(NAMES[(n * 7 % NAMES.len() as i64) as usize]),
        opt_quoted(CITIES[(n % CITIES.len() as i64) as usize]),
        opt((id % 6 != 0).then(|| SCORES[(n * 5 % SCORES.len() as i64) as usize])),
        opt((id % 7 != 2).then(|| fixed((id * 7777) % 10_000_000 - 3_000_000, 4))),
        opt((id % 8 != 0).then(|| quote(&date(D1950 + (n * 97) % 20_000)))),
        opt((id % 10 != 3).then(|| (n * 3) % 60 + 18)),
    )
}

/// `m_event.kind` (utf8mb4_bin: 'Click' < 'buy' < 'click' < 'ä-kind').
pub const KINDS: &[&str] = &["click", "Click", "view", "VIEW", "buy", "Buy", "ä-kind"];

/// `m_event` ids: every side of the boundaries 0, 500 and 1000.
pub fn event_ids() -> Vec<i64> {
    (-200..1800).step_by(2).collect()
}

fn event(id: i64) -> String {
    let at = format!(
        "{} {}.{:03}",
        date(D2022 + id.rem_euclid(700)),
        clock(id * 4099),
        (id * 37).rem_euclid(1000)
    );
    format!(
        "({id}, {}, {}, {}, {})",
        quote(KINDS[id.rem_euclid(KINDS.len() as i64) as usize]),
        opt((id % 14 != 0).then(|| (id * 11).rem_euclid(97) - 30)),
        ((id * 3).rem_euclid(1000) - 500) as f64 / 8.0,
        quote(&at)
    )
}

/// `m_tag.label` (general_ci).
pub const LABELS: &[&str] = &["red", "Red", "RED", "green", "Grün", "grun", "blué", "blue"];

/// `m_tag.tag` of row `i` (binary; consistent hash): ASCII, accented, emoji.
pub fn tag(i: i64) -> String {
    match i {
        0..300 => format!("tag-{i:03}"),
        300..350 => format!("Ünï-{i}"),
        _ => format!("😀-{i}"),
    }
}

/// Number of `m_tag` rows.
pub const TAGS: i64 = 400;

fn tag_row(i: i64) -> String {
    format!(
        "({}, {}, {}, {})",
        quote(&tag(i)),
        quote(LABELS[((i * 7) % LABELS.len() as i64) as usize]),
        opt((i % 9 != 0).then(|| (i * i) % 1000)),
        fixed((i * 17) % 20_000 - 5_000, 1)
    )
}

/// `m_dict` (broadcast): status codes and one title.
pub const DICT: &[(&str, &str, i64)] = &[
    ("new", "New", 1),
    ("paid", "Paid", 2),
    ("shipped", "Shipped", 3),
    ("cancelled", "Cancelled", 4),
    ("returned", "Returned", 5),
    ("apple", "An apple", 0),
    ("lost", "Lost", 6),
];

/// Multi-row INSERTs of `rows`, `chunk` rows each.
fn chunked(head: &str, rows: Vec<String>, chunk: usize) -> Vec<String> {
    rows.chunks(chunk)
        .map(|c| format!("{head} VALUES {}", c.join(", ")))
        .collect()
}

/// Every row, as multi-row INSERTs that run unchanged through the proxy and
/// on the oracle.
pub fn load_statements() -> Vec<String> {
    load_statements_in(Order::AsGenerated)
}

/// The order rows are inserted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    AsGenerated,
    /// Last row first: a heap table then scans them the other way round,
    /// which shows an ORDER BY that leaves ties.
    Reversed,
}

/// [`load_statements`], rows in `order`.
pub fn load_statements_in(row_order: Order) -> Vec<String> {
    let chunked = |head: &str, mut rows: Vec<String>, chunk: usize| {
        if row_order == Order::Reversed {
            rows.reverse();
        }
        chunked(head, rows, chunk)
    };
    let mut orders = Vec::new();
    let mut order_items = Vec::new();
    for id in 1..=ORDERS {
        let (user_id, values) = order(id);
        orders.push(values);
        order_items.extend(items(id, user_id));
    }
    let mut out = chunked(
        "INSERT INTO m_order (order_id, user_id, status, qty, big, amount, rate, weight, title, created, updated)",
        orders,
        100,
    );
    out.extend(chunked(
        "INSERT INTO m_order_item (item_id, order_id, user_id, sku, price, qty)",
        order_items,
        150,
    ));
    out.extend(chunked(
        "INSERT INTO m_user (user_id, name, city, score, balance, born, age)",
        user_ids().into_iter().map(user).collect(),
        100,
    ));
    out.extend(chunked(
        "INSERT INTO m_event (event_id, kind, v, ratio, at)",
        event_ids().into_iter().map(event).collect(),
        100,
    ));
    out.extend(chunked(
        "INSERT INTO m_tag (tag, label, hits, price)",
        (0..TAGS).map(tag_row).collect(),
        100,
    ));
    out.extend(chunked(
        "INSERT INTO m_dict (code, label, lvl)",
        DICT.iter()
            .map(|(c, l, r)| format!("({}, {}, {r})", quote(c), quote(l)))
            .collect(),
        10,
    ));
    out
}

/// Runs `statements` on `conn`, naming `where_` in a panic.
async fn run_all(conn: &mut Conn, statements: &[String], where_: &str) {
    for sql in statements {
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{where_}: {sql}\n  failed: {e}"));
    }
}

/// Four fresh data sources with the schema created and loaded through a
/// proxy `client`; every actual table must hold rows.
pub async fn load_sharded(client: &mut Conn, sources: &[DataSource]) {
    let ddl: Vec<String> = DDL.iter().map(|s| s.to_string()).collect();
    run_all(client, &ddl, "through the proxy").await;
    run_all(client, &load_statements(), "through the proxy").await;
    for (i, ds) in sources.iter().enumerate() {
        let mut conn = ds.direct().await;
        for table in actual_tables(i) {
            let n: Option<i64> = conn
                .query_first(format!("SELECT COUNT(*) FROM `{table}`"))
                .await
                .unwrap_or_else(|e| panic!("count {}.{table}: {e}", ds.name));
            assert!(
                n.unwrap_or(0) > 0,
                "test data: {}.{table} holds no rows, so it tests no merge",
                ds.name
            );
        }
        conn.disconnect().await.ok();
    }
}

/// Four fresh data sources: see [`fresh_data_sources`].
pub fn sources(prefix: &str) -> Vec<DataSource> {
    fresh_data_sources(prefix)
}

/// A fresh unsharded database on instance 0 holding every row: the oracle.
pub async fn oracle(prefix: &str) -> Conn {
    unsharded(prefix, "", Order::AsGenerated).await
}

/// A fresh unsharded database on instance 0 holding every row, its tables
/// created with `table_options` (e.g. `ENGINE=MyISAM`), rows inserted in
/// `order`.
pub async fn unsharded(prefix: &str, table_options: &str, row_order: Order) -> Conn {
    let db = fresh_databases(&format!("{prefix}_oracle")).swap_remove(0);
    let mut conn = Conn::new(cluster()[0].opts(&db))
        .await
        .expect("connect to the oracle");
    let ddl: Vec<String> = DDL.iter().map(|s| format!("{s} {table_options}")).collect();
    run_all(&mut conn, &ddl, "on the oracle").await;
    run_all(&mut conn, &load_statements_in(row_order), "on the oracle").await;
    conn
}

/// What utf8mb4_general_ci / utf8mb4_unicode_ci make of the strings above:
/// lower case, Latin accents dropped, characters beyond the BMP all U+FFFD.
/// Used to compare the representative a merged group or MIN/MAX shows,
/// which MySQL itself picks arbitrarily among equal strings.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c if u32::from(c) > 0xFFFF => '\u{FFFD}',
            c => c,
        })
        .collect()
}
