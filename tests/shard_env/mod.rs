//! The sharded shop the sharding end-to-end tests share (`mod shard_env;`
//! after `mod common;`): four data sources on the two [`cluster`] instances,
//! one sharded table per algorithm, a binding group, a broadcast table, key
//! generators; the logical DDL; deterministic rows; and placement computed
//! from algorithms.md alone (murmur3 x86_32 seed 0, `rem_euclid`, range
//! boundaries, the consistent-hash ring), never from the proxy's code.
#![allow(dead_code)]

use crate::common::{cluster, fresh_databases, MariaDb, Proxy, APP_PASSWORD, APP_USER};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use std::io::Cursor;

/// The logical schema.
pub const SCHEMA: &str = "shop";
/// A user with `admin = true`.
pub const ADMIN_USER: &str = "ops";
pub const ADMIN_PASSWORD: &str = "ops_pw";
/// `server.worker_id` of every proxy started here: snowflake ids carry it.
pub const WORKER_ID: u64 = 5;
/// Number of data sources: `ds_0`..`ds_3`.
pub const DATA_SOURCES: usize = 4;
/// `t_event`'s range boundaries (4 nodes).
pub const EVENT_BOUNDARIES: [i64; 3] = [0, 100, 1000];
/// `t_log`'s candidates (one-level sharding: full node names), in node order.
pub const LOG_NODES: [&str; 4] = [
    "ds_0.t_log_a",
    "ds_0.t_log_b",
    "ds_1.t_log_a",
    "ds_1.t_log_b",
];
/// `t_log`'s ring size.
pub const LOG_VIRTUAL_NODES: u32 = 160;

/// Where data source `ds_i` lives: [`cluster`] instance and database.
#[derive(Debug, Clone)]
pub struct DataSource {
    pub name: String,
    pub instance: usize,
    pub db: String,
}

impl DataSource {
    pub fn server(&self) -> &'static MariaDb {
        &cluster()[self.instance]
    }

    /// A connection straight to this data source's database.
    pub async fn direct(&self) -> Conn {
        Conn::new(self.server().opts(&self.db))
            .await
            .unwrap_or_else(|e| panic!("connect to {} directly: {e}", self.name))
    }
}

/// Four fresh databases: `ds_0` and `ds_2` on instance 0, `ds_1` and `ds_3`
/// on instance 1 (so `ds_0`/`ds_1` are on different servers).
pub fn fresh_data_sources(prefix: &str) -> Vec<DataSource> {
    let a = fresh_databases(prefix);
    let b = fresh_databases(prefix);
    let mut out = Vec::new();
    for (i, db) in a.into_iter().chain(b).enumerate() {
        out.push(DataSource {
            name: format!("ds_{i}"),
            instance: i % 2,
            db,
        });
    }
    out
}

/// `[data_sources.*]` for `sources`.
pub fn data_sources_toml(sources: &[DataSource]) -> String {
    sources
        .iter()
        .map(|ds| {
            format!(
                "[data_sources.{}]\nprimary = \"{}\"\n\n",
                ds.name,
                ds.server().data_source_url(&ds.db)
            )
        })
        .collect()
}

/// The users: `app` and the admin `ops`.
pub fn users_toml() -> String {
    format!(
        "[server]\nworker_id = {WORKER_ID}\n\n\
         [[users]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\nschemas = [\"{SCHEMA}\"]\n\n\
         [[users]]\nname = \"{ADMIN_USER}\"\npassword = \"{ADMIN_PASSWORD}\"\nschemas = [\"{SCHEMA}\"]\nadmin = true\n\n"
    )
}

/// The schema: every algorithm, a binding group, a broadcast table, both
/// key generators. `t_note` is unsharded (default data source `ds_0`).
pub const SCHEMA_TOML: &str = r#"
[schemas.shop]
default_data_source = "ds_0"
broadcast_tables = ["t_dict"]
binding_groups = [["t_order", "t_order_item"]]

[schemas.shop.tables.t_order]
nodes = "ds_${0..1}.t_order_${0..1}"
database_sharding = { column = "user_id", algorithm = "ds_mod" }
table_sharding = { column = "order_id", algorithm = "tbl_mod" }
key_generator = { column = "order_id", type = "snowflake" }

[schemas.shop.tables.t_order_item]
nodes = "ds_${0..1}.t_order_item_${0..1}"
database_sharding = { column = "user_id", algorithm = "ds_mod" }
table_sharding = { column = "order_id", algorithm = "tbl_mod" }
key_generator = { column = "item_id", type = "snowflake" }

[schemas.shop.tables.t_user]
nodes = "ds_${0..3}.t_user"
sharding = { column = "user_id", algorithm = "user_hash" }

[schemas.shop.tables.t_account]
nodes = ["ds_0.t_account", "ds_1.t_account", "ds_2.t_account", "ds_3.t_account"]
sharding = { column = "name", algorithm = "user_hash" }

[schemas.shop.tables.t_event]
nodes = "ds_${0..3}.t_event"
sharding = { column = "event_id", algorithm = "by_range" }

[schemas.shop.tables.t_log]
nodes = "ds_${0..1}.t_log_${[a,b]}"
sharding = { column = "device", algorithm = "ring" }
key_generator = { column = "log_id", type = "uuid" }

[schemas.shop.tables.t_token]
nodes = "ds_${0..1}.t_token"
sharding = { column = "token", algorithm = "token_hash" }
key_generator = { column = "token", type = "uuid" }

[schemas.shop.algorithms]
ds_mod = { type = "mod" }
tbl_mod = { type = "mod" }
user_hash = { type = "hash_mod" }
token_hash = { type = "hash_mod" }
by_range = { type = "range", boundaries = [0, 100, 1000] }
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

/// The logical tables, as an application creates them (through the proxy,
/// or on the unsharded oracle). The sharded string keys are binary-collated,
/// as algorithms.md asks. `t_order` has a CHECK constraint that a write can
/// violate on one node only.
pub const DDL: &[&str] = &[
    "CREATE TABLE t_order (order_id BIGINT NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL, \
     amount DECIMAL(10,2) NOT NULL, status VARCHAR(16) NOT NULL, note VARCHAR(64) NULL, \
     CONSTRAINT amount_not_negative CHECK (amount >= 0))",
    "CREATE TABLE t_order_item (item_id BIGINT NOT NULL PRIMARY KEY, order_id BIGINT NOT NULL, \
     user_id BIGINT NOT NULL, sku VARCHAR(16) NOT NULL, qty INT NOT NULL)",
    "CREATE TABLE t_user (user_id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(32) NOT NULL, age INT NULL)",
    "CREATE TABLE t_account (name VARCHAR(64) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, balance INT NOT NULL)",
    "CREATE TABLE t_event (event_id BIGINT NOT NULL PRIMARY KEY, kind VARCHAR(16) NOT NULL, v INT NOT NULL)",
    "CREATE TABLE t_log (device VARCHAR(64) COLLATE utf8mb4_bin NOT NULL, seq INT NOT NULL, \
     msg VARCHAR(64) NOT NULL, log_id CHAR(36) NULL, PRIMARY KEY (device, seq))",
    "CREATE TABLE t_token (token VARCHAR(36) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL)",
    "CREATE TABLE t_dict (code VARCHAR(16) NOT NULL PRIMARY KEY, label VARCHAR(32) NOT NULL)",
    "CREATE TABLE t_note (id INT NOT NULL PRIMARY KEY, body VARCHAR(64) NOT NULL)",
];

/// Every actual table that [`DDL`] must create, per data source index.
pub fn actual_tables(ds: usize) -> Vec<String> {
    let mut tables = vec!["t_account", "t_dict", "t_event", "t_user"];
    if ds < 2 {
        tables.extend([
            "t_log_a",
            "t_log_b",
            "t_order_0",
            "t_order_1",
            "t_order_item_0",
            "t_order_item_1",
            "t_token",
        ]);
    }
    if ds == 0 {
        tables.push("t_note");
    }
    let mut tables: Vec<String> = tables.into_iter().map(String::from).collect();
    tables.sort();
    tables
}

// ---------------------------------------------------------------------------
// Placement, from algorithms.md
// ---------------------------------------------------------------------------

/// MurmurHash3 x86_32, seed 0, as an unsigned 32-bit integer.
pub fn murmur3(bytes: &[u8]) -> u32 {
    murmur3::murmur3_32(&mut Cursor::new(bytes), 0).expect("hash a byte slice")
}

/// `mod`: `value.rem_euclid(n)`.
pub fn mod_index(value: i64, n: usize) -> usize {
    value.rem_euclid(n as i64) as usize
}

/// `hash_mod` of an integer: murmur3 of its decimal text.
pub fn hash_mod_int(value: i64, n: usize) -> usize {
    murmur3(value.to_string().as_bytes()) as usize % n
}

/// `hash_mod` of a string: murmur3 of its bytes.
pub fn hash_mod_str(value: &str, n: usize) -> usize {
    murmur3(value.as_bytes()) as usize % n
}

/// `range`: the number of boundaries `<= value`.
pub fn range_index(value: i64, boundaries: &[i64]) -> usize {
    boundaries.iter().filter(|b| **b <= value).count()
}

/// A consistent-hash ring, built from the spec.
pub struct Ring {
    /// (point, candidate index), sorted.
    points: Vec<(u32, usize)>,
}

impl Ring {
    pub fn new(candidates: &[&str], virtual_nodes: u32) -> Ring {
        let mut points: Vec<(u32, usize)> = candidates
            .iter()
            .enumerate()
            .flat_map(|(c, name)| {
                (0..virtual_nodes).map(move |i| (murmur3(format!("{name}#{i}").as_bytes()), c))
            })
            .collect();
        points.sort_unstable();
        Ring { points }
    }

    /// The owner of canonical bytes `value`.
    pub fn index(&self, value: &[u8]) -> usize {
        let key = murmur3(value);
        let at = self.points.partition_point(|(p, _)| *p < key);
        self.points.get(at).unwrap_or(&self.points[0]).1
    }
}

/// The data node (`ds_i.actual`) of a `t_order` / `t_order_item` row.
pub fn order_node(table: &str, user_id: i64, order_id: i64) -> String {
    format!(
        "ds_{}.{table}_{}",
        mod_index(user_id, 2),
        mod_index(order_id, 2)
    )
}

pub fn user_node(user_id: i64) -> String {
    format!("ds_{}.t_user", hash_mod_int(user_id, 4))
}

pub fn account_node(name: &str) -> String {
    format!("ds_{}.t_account", hash_mod_str(name, 4))
}

pub fn event_node(event_id: i64) -> String {
    format!("ds_{}.t_event", range_index(event_id, &EVENT_BOUNDARIES))
}

pub fn log_node(ring: &Ring, device: &str) -> String {
    LOG_NODES[ring.index(device.as_bytes())].to_string()
}

pub fn token_node(token: &str) -> String {
    format!("ds_{}.t_token", hash_mod_str(token, 2))
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

pub const STATUSES: [&str; 4] = ["new", "paid", "shipped", "cancelled"];

/// A `t_order` row.
#[derive(Debug, Clone)]
pub struct Order {
    pub order_id: i64,
    pub user_id: i64,
    /// DECIMAL(10,2) as text.
    pub amount: String,
    pub status: &'static str,
    pub note: Option<String>,
}

pub fn orders() -> Vec<Order> {
    (1..=200)
        .map(|id: i64| Order {
            order_id: id,
            user_id: (id * 13) % 41 - 5,
            amount: format!("{}.{:02}", (id * 37) % 500, (id * 7) % 100),
            status: STATUSES[(id % 4) as usize],
            note: (id % 5 != 0).then(|| format!("note {id}")),
        })
        .collect()
}

/// A `t_order_item` row: same user_id and order_id as its order (the
/// binding group's promise).
#[derive(Debug, Clone)]
pub struct Item {
    pub item_id: i64,
    pub order_id: i64,
    pub user_id: i64,
    pub sku: String,
    pub qty: i64,
}

pub fn items() -> Vec<Item> {
    let orders = orders();
    let mut out = Vec::new();
    for o in orders.iter().take(120) {
        for k in 0..o.order_id % 3 {
            out.push(Item {
                item_id: o.order_id * 10 + k,
                order_id: o.order_id,
                user_id: o.user_id,
                sku: format!("sku{}", (o.order_id + k) % 17),
                qty: k + 1,
            });
        }
    }
    out
}

/// `t_user`: ids -10..=90 and 10086; `age` NULL for some.
pub fn users() -> Vec<(i64, String, Option<i64>)> {
    (-10..=90)
        .chain([10086])
        .map(|id: i64| {
            let age = (id.rem_euclid(10) != 3).then(|| (id * 7).rem_euclid(60) + 18);
            (id, format!("user{id}"), age)
        })
        .collect()
}

/// `t_account` names (string hash_mod), with the spec's test-vector values.
pub fn accounts() -> Vec<(String, i64)> {
    let mut names: Vec<String> = ["alice", "张三", "bob", "Bob", "carol", "😀 emoji", ""]
        .into_iter()
        .map(String::from)
        .collect();
    names.extend((0..40).map(|i| format!("acct-{i}")));
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, (i as i64 * 17) % 90))
        .collect()
}

/// `t_event` ids on every side of every boundary.
pub fn event_ids() -> Vec<i64> {
    let mut ids: Vec<i64> = (-30..0).step_by(3).collect();
    ids.extend((0..100).step_by(4));
    ids.extend([99, 100, 101, 999, 1000, 1001, -1]);
    ids.extend((102..999).step_by(37));
    ids.extend((1002..1300).step_by(29));
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub fn events() -> Vec<(i64, &'static str, i64)> {
    event_ids()
        .into_iter()
        .map(|id| {
            let kind = ["click", "view", "buy"][id.rem_euclid(3) as usize];
            (id, kind, (id * 11).rem_euclid(97))
        })
        .collect()
}

/// `t_log` devices (consistent hash on a string).
pub fn devices() -> Vec<String> {
    let mut d: Vec<String> = (0..30).map(|i| format!("dev-{i}")).collect();
    d.extend(["alice", "张三", "hello", "Dev-0"].map(String::from));
    d
}

/// `t_log` rows: (device, seq, msg); `log_id` is left to the uuid generator.
pub fn logs() -> Vec<(String, i64, String)> {
    devices()
        .into_iter()
        .flat_map(|d| (1..=3).map(move |s| (d.clone(), s, format!("{d} says {s}"))))
        .collect()
}

pub fn dict() -> Vec<(&'static str, &'static str)> {
    vec![
        ("new", "New order"),
        ("paid", "Paid"),
        ("shipped", "Shipped"),
        ("cancelled", "Cancelled"),
        ("returned", "Returned"),
        ("lost", "Lost in transit"),
    ]
}

/// A SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn opt_int(v: Option<i64>) -> String {
    v.map_or("NULL".into(), |v| v.to_string())
}

fn opt_str(v: &Option<String>) -> String {
    v.as_deref().map_or("NULL".into(), quote)
}

/// Multi-row INSERTs of `rows` values lists, `chunk` rows each.
fn chunked(head: &str, rows: Vec<String>, chunk: usize) -> Vec<String> {
    rows.chunks(chunk)
        .map(|c| format!("{head} VALUES {}", c.join(", ")))
        .collect()
}

/// The deterministic rows of every table except `t_token` (generated keys)
/// and `t_log`'s `log_id`, as multi-row INSERTs that run unchanged through
/// the proxy and on the oracle.
pub fn load_statements() -> Vec<String> {
    let mut out = Vec::new();
    out.extend(chunked(
        "INSERT INTO t_order (order_id, user_id, amount, status, note)",
        orders()
            .iter()
            .map(|o| {
                format!(
                    "({}, {}, {}, {}, {})",
                    o.order_id,
                    o.user_id,
                    o.amount,
                    quote(o.status),
                    opt_str(&o.note)
                )
            })
            .collect(),
        25,
    ));
    out.extend(chunked(
        "INSERT INTO t_order_item (item_id, order_id, user_id, sku, qty)",
        items()
            .iter()
            .map(|i| {
                format!(
                    "({}, {}, {}, {}, {})",
                    i.item_id,
                    i.order_id,
                    i.user_id,
                    quote(&i.sku),
                    i.qty
                )
            })
            .collect(),
        30,
    ));
    out.extend(chunked(
        "INSERT INTO t_user (user_id, name, age)",
        users()
            .iter()
            .map(|(id, n, a)| format!("({id}, {}, {})", quote(n), opt_int(*a)))
            .collect(),
        20,
    ));
    out.extend(chunked(
        "INSERT INTO t_account (name, balance)",
        accounts()
            .iter()
            .map(|(n, b)| format!("({}, {b})", quote(n)))
            .collect(),
        10,
    ));
    out.extend(chunked(
        "INSERT INTO t_event (event_id, kind, v)",
        events()
            .iter()
            .map(|(id, k, v)| format!("({id}, {}, {v})", quote(k)))
            .collect(),
        15,
    ));
    out.extend(chunked(
        "INSERT INTO t_log (device, seq, msg, log_id)",
        logs()
            .iter()
            .map(|(d, s, m)| {
                format!(
                    "({}, {s}, {}, {})",
                    quote(d),
                    quote(m),
                    quote(&log_id(d, *s))
                )
            })
            .collect(),
        20,
    ));
    out.extend(chunked(
        "INSERT INTO t_dict (code, label)",
        dict()
            .iter()
            .map(|(c, l)| format!("({}, {})", quote(c), quote(l)))
            .collect(),
        10,
    ));
    out.push(
        "INSERT INTO t_note (id, body) VALUES (1, 'unsharded'), (2, 'default data source')".into(),
    );
    out
}

/// A fixed `log_id` for the oracle load (the generator is tested elsewhere).
pub fn log_id(device: &str, seq: i64) -> String {
    format!(
        "{:08x}-0000-7000-8000-{:012x}",
        murmur3(device.as_bytes()),
        seq
    )
}

// ---------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------

/// A proxy over four fresh data sources with the shop's rules.
pub struct Shop {
    pub proxy: Proxy,
    pub sources: Vec<DataSource>,
}

impl Shop {
    /// Fresh databases and a proxy; no tables yet.
    pub fn start(prefix: &str) -> Shop {
        let sources = fresh_data_sources(prefix);
        let proxy = Proxy::start(&rules(&sources));
        Shop { proxy, sources }
    }

    /// Options for `app` on `shop` through the proxy.
    pub fn opts(&self) -> OptsBuilder {
        OptsBuilder::from_opts(
            Opts::from_url(&self.proxy.url(APP_USER, APP_PASSWORD, SCHEMA)).expect("valid url"),
        )
    }

    /// `app` on `shop` through the proxy.
    pub async fn client(&self) -> Conn {
        Conn::new(self.opts())
            .await
            .unwrap_or_else(|e| panic!("connect through the proxy: {e}\n{}", self.proxy.log()))
    }

    /// The admin user through the proxy.
    pub async fn admin(&self) -> Conn {
        let opts =
            Opts::from_url(&self.proxy.url(ADMIN_USER, ADMIN_PASSWORD, SCHEMA)).expect("valid url");
        Conn::new(opts)
            .await
            .unwrap_or_else(|e| panic!("connect as admin: {e}"))
    }

    /// Creates every logical table through the proxy.
    pub async fn create_tables(&self) {
        let mut conn = self.client().await;
        for ddl in DDL {
            conn.query_drop(*ddl)
                .await
                .unwrap_or_else(|e| panic!("through the proxy: {ddl}\n  failed: {e}"));
        }
        conn.disconnect().await.ok();
    }

    /// Creates the tables and loads [`load_statements`] through the proxy.
    pub async fn create_and_load(&self) {
        self.create_tables().await;
        let mut conn = self.client().await;
        for sql in load_statements() {
            conn.query_drop(&sql)
                .await
                .unwrap_or_else(|e| panic!("through the proxy: {sql}\n  failed: {e}"));
        }
        conn.disconnect().await.ok();
    }

    /// Every row of logical table `table` as stored: (data node, row), read
    /// directly from each data source's actual tables of `table`.
    pub async fn stored(&self, table: &str, columns: &str) -> Vec<(String, mysql_async::Row)> {
        let mut out = Vec::new();
        for (i, ds) in self.sources.iter().enumerate() {
            for actual in actual_tables(i) {
                let is_table = actual == table
                    || actual
                        .strip_prefix(table)
                        .and_then(|rest| rest.strip_prefix('_'))
                        .is_some_and(|suffix| suffix.len() == 1);
                if !is_table {
                    continue;
                }
                for row in self
                    .direct_rows(i, &format!("SELECT {columns} FROM `{actual}`"))
                    .await
                {
                    out.push((format!("{}.{actual}", ds.name), row));
                }
            }
        }
        out
    }

    /// Rows of `sql` run directly on data source `ds` (index).
    pub async fn direct_rows(&self, ds: usize, sql: &str) -> Vec<mysql_async::Row> {
        let mut conn = self.sources[ds].direct().await;
        let rows = conn.query(sql).await.unwrap_or_else(|e| {
            panic!(
                "on {} directly: {sql}\n  failed: {e}",
                self.sources[ds].name
            )
        });
        conn.disconnect().await.ok();
        rows
    }
}

/// A fresh unsharded database on instance 0 holding the logical tables: the
/// oracle.
pub struct Oracle {
    pub db: String,
}

impl Oracle {
    pub fn create(prefix: &str) -> Oracle {
        let db = fresh_databases(&format!("{prefix}_oracle")).swap_remove(0);
        Oracle { db }
    }

    pub async fn conn(&self) -> Conn {
        Conn::new(cluster()[0].opts(&self.db))
            .await
            .expect("connect to the oracle")
    }

    /// Creates the logical tables and loads the same rows as the proxy.
    pub async fn create_and_load(&self) {
        let mut conn = self.conn().await;
        for sql in DDL.iter().map(|s| s.to_string()).chain(load_statements()) {
            conn.query_drop(&sql)
                .await
                .unwrap_or_else(|e| panic!("on the oracle: {sql}\n  failed: {e}"));
        }
        conn.disconnect().await.ok();
    }
}

/// The server error of a failed statement: (code, SQLSTATE, message).
pub fn server_error(
    result: Result<impl std::fmt::Debug, mysql_async::Error>,
) -> (u16, String, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// What a client relies on in a column definition. The table names are
/// left out (the actual table differs by design; tests that care compare
/// them separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    pub org_name: String,
    pub column_type: mysql_async::consts::ColumnType,
    pub flags: mysql_async::consts::ColumnFlags,
    pub decimals: u8,
    pub charset: u16,
    pub length: u32,
}

/// The [`ColumnMeta`] of each column.
pub fn meta(columns: &[mysql_async::Column]) -> Vec<ColumnMeta> {
    columns
        .iter()
        .map(|c| ColumnMeta {
            name: c.name_str().into_owned(),
            org_name: c.org_name_str().into_owned(),
            column_type: c.column_type(),
            flags: c.flags(),
            decimals: c.decimals(),
            charset: c.character_set(),
            length: c.column_length(),
        })
        .collect()
}
