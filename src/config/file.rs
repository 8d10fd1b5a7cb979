//! The rule file as written (config.md): plain serde types, no validation.
//! `deny_unknown_fields` everywhere so a typo is an error, not a silent default.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub data_sources: BTreeMap<String, DataSourceConfig>,
    #[serde(default)]
    pub schemas: BTreeMap<String, SchemaConfig>,
}

/// `[server]`: every field has a default so the table may be left out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub admin_listen: Option<String>,
    pub max_connections: u32,
    pub worker_id: u16,
    pub transaction_mode: TransactionMode,
    pub data_dir: PathBuf,
    pub server_version: String,
    pub max_allowed_packet: usize,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:3307".into(),
            admin_listen: None,
            max_connections: 4096,
            worker_id: 0,
            transaction_mode: TransactionMode::Local,
            data_dir: PathBuf::from("./data"),
            server_version: "8.0.36-shardgate".into(),
            max_allowed_packet: 64 * 1024 * 1024,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// How a transaction that touched several data sources commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    #[default]
    Local,
    Xa,
}

/// `[[users]]`: one login.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    pub password: Option<String>,
    /// Hex of SHA1(SHA1(password)), as mysql.user stores it (with or without a leading `*`).
    pub password_sha1: Option<String>,
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default)]
    pub admin: bool,
}

/// `[data_sources.NAME]`: one replication group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSourceConfig {
    pub primary: String,
    #[serde(default)]
    pub replicas: Vec<String>,
    #[serde(default = "default_pool_max")]
    pub pool_max: usize,
    #[serde(default)]
    pub read_balance: ReadBalance,
    #[serde(default = "default_max_replica_lag_s")]
    pub max_replica_lag_s: u64,
}

fn default_pool_max() -> usize {
    64
}

fn default_max_replica_lag_s() -> u64 {
    5
}

/// How reads are spread over replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReadBalance {
    #[default]
    RoundRobin,
    Random,
}

/// `[schemas.NAME]`: one logical database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    pub default_data_source: String,
    #[serde(default)]
    pub broadcast_tables: Vec<String>,
    #[serde(default)]
    pub binding_groups: Vec<Vec<String>>,
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
    #[serde(default)]
    pub algorithms: BTreeMap<String, AlgorithmConfig>,
}

/// `[schemas.S.tables.T]`: one sharded logical table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub nodes: NodesConfig,
    pub sharding: Option<StrategyConfig>,
    pub database_sharding: Option<StrategyConfig>,
    pub table_sharding: Option<StrategyConfig>,
    pub key_generator: Option<KeyGeneratorConfig>,
}

/// `nodes`: an inline expression or an explicit list.
#[derive(Debug, Clone)]
pub enum NodesConfig {
    /// `"ds_${0..1}.t_order_${0..1}"`.
    Inline(String),
    /// `["ds_0.t_user", "ds_1.t_user"]` (each item may be an expression too).
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for NodesConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodesVisitor)
    }
}

/// Reads `nodes` as a string or a list of strings, with a message that says so.
struct NodesVisitor;

impl<'de> serde::de::Visitor<'de> for NodesVisitor {
    type Value = NodesConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an inline expression like \"ds_${0..1}.t_order_${0..1}\" or a list of \"data_source.actual_table\" strings")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<NodesConfig, E> {
        Ok(NodesConfig::Inline(value.to_string()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NodesConfig, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(NodesConfig::List(items))
    }
}

/// `{ column = "...", algorithm = "..." }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    pub column: String,
    pub algorithm: String,
}

/// `{ column = "...", type = "snowflake" | "uuid" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGeneratorConfig {
    pub column: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `[schemas.S.algorithms] NAME = { type = "...", ... }`: the type's own
/// properties are checked by the algorithm registry, so they stay a table here.
#[derive(Debug, Clone, Deserialize)]
pub struct AlgorithmConfig {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub properties: BTreeMap<String, toml::Value>,
}
