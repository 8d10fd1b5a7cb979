//! The rule file as written (config.md): plain serde types, no validation.
//! `deny_unknown_fields` everywhere so a typo is an error, not a silent default.

pub use crate::backend::TlsMode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[server]`.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[[users]]`: the logins.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// `[data_sources.NAME]`.
    #[serde(default)]
    pub data_sources: BTreeMap<String, DataSourceConfig>,
    /// `[schemas.NAME]`: the logical databases.
    #[serde(default)]
    pub schemas: BTreeMap<String, SchemaConfig>,
}

/// `[server]`: every field has a default so the table may be left out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The MySQL protocol address clients connect to.
    pub listen: String,
    /// The HTTP address of /metrics, /healthz and /readyz; none when absent.
    pub admin_listen: Option<String>,
    /// Client connections beyond this get ER_CON_COUNT_ERROR (1040).
    pub max_connections: u32,
    /// The snowflake worker id of this proxy instance, 0..=1023, or leased (`"auto"`).
    pub worker_id: WorkerIdConfig,
    /// How multi-data-source transactions commit.
    pub transaction_mode: TransactionMode,
    /// Where the XA decision log lives.
    pub data_dir: PathBuf,
    /// Names this instance in its XA transaction ids (`[A-Za-z0-9_-]`, at
    /// most 24); `w<worker_id>` when absent.
    pub instance_name: Option<String>,
    /// The version string the handshake reports.
    pub server_version: String,
    /// Larger client packets get 1153.
    pub max_allowed_packet: usize,
    /// TLS certificate (PEM); TLS is offered when both cert and key are set.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// Refuse logins that did not start TLS (3159).
    pub require_secure_transport: bool,
    /// RSA private key (PEM) for caching_sha2_password over plain TCP; a
    /// key is generated at start-up when absent.
    pub rsa_private_key: Option<PathBuf>,
    /// Statements slower than this many milliseconds are logged at WARN.
    pub slow_query_ms: u64,
    /// One JSON line per statement is appended here; none when absent.
    pub audit_log: Option<PathBuf>,
    /// How often every endpoint's health, role and lag are checked.
    pub health_check_interval_ms: u64,
    /// The most rows one window partition of a SELECT over several data
    /// nodes may hold (the merge buffers one partition); past it, 1235.
    pub max_window_partition_rows: u64,
    /// The most rows an uncorrelated subquery on sharded tables may return
    /// before its result is substituted into the outer statement; past it 1235.
    pub max_subquery_rows: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:3307".into(),
            admin_listen: None,
            max_connections: 4096,
            worker_id: WorkerIdConfig::Fixed(0),
            transaction_mode: TransactionMode::Local,
            data_dir: PathBuf::from("./data"),
            instance_name: None,
            server_version: "8.0.36-shardgate".into(),
            max_allowed_packet: 64 * 1024 * 1024,
            tls_cert: None,
            tls_key: None,
            require_secure_transport: false,
            rsa_private_key: None,
            slow_query_ms: 1000,
            audit_log: None,
            health_check_interval_ms: 500,
            max_window_partition_rows: 100_000,
            max_subquery_rows: 10_000,
        }
    }
}

/// `server.worker_id`: a number, or `"auto"` to lease a free one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerIdConfig {
    /// A hand-set id, different for each proxy instance.
    Fixed(u16),
    /// Leased from a table on the first schema's default data source.
    Auto,
}

impl<'de> Deserialize<'de> for WorkerIdConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WorkerIdVisitor)
    }
}

/// Reads `worker_id` as a number or `"auto"`, with a message that says so.
struct WorkerIdVisitor;

impl serde::de::Visitor<'_> for WorkerIdVisitor {
    type Value = WorkerIdConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number 0..=1023 or \"auto\"")
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<WorkerIdConfig, E> {
        u16::try_from(value)
            .map(WorkerIdConfig::Fixed)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<WorkerIdConfig, E> {
        match value {
            "auto" => Ok(WorkerIdConfig::Auto),
            _ => Err(E::invalid_value(serde::de::Unexpected::Str(value), &self)),
        }
    }
}

/// How a transaction that touched several data sources commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    /// Commit node by node.
    #[default]
    Local,
    /// XA two-phase commit across data sources.
    Xa,
}

/// `[[users]]`: one login.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The login name.
    pub name: String,
    /// The plain password.
    pub password: Option<String>,
    /// Hex of SHA1(SHA1(password)), as mysql.user stores it (with or without a leading `*`).
    pub password_sha1: Option<String>,
    /// Hex of SHA256(SHA256(password)), for caching_sha2_password.
    pub password_sha2: Option<String>,
    /// The logical databases this user may see and use.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// May run admin statements (SHOW BACKENDS, RELOAD CONFIG, ...).
    #[serde(default)]
    pub admin: bool,
    /// What the user's statements may do on its tables: of `select`,
    /// `insert`, `update`, `delete`, `ddl`; absent: all five.
    pub privileges: Option<Vec<String>>,
}

/// `[data_sources.NAME]`: one replication group.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSourceConfig {
    /// `mysql://user:pass@host:port/db` of the primary.
    pub primary: String,
    /// The replicas' URLs, same form.
    #[serde(default)]
    pub replicas: Vec<String>,
    /// Backend connections per endpoint.
    #[serde(default = "default_pool_max")]
    pub pool_max: usize,
    /// How reads that may go to a replica pick one.
    #[serde(default)]
    pub read_balance: ReadBalance,
    /// A replica further behind than this many seconds gets no reads.
    #[serde(default = "default_max_replica_lag_s")]
    pub max_replica_lag_s: u64,
    /// A session's reads see its own committed writes (sql.md, Replicas).
    #[serde(default = "default_read_your_writes")]
    pub read_your_writes: bool,
    /// TLS to this data source's servers: `disabled`, `preferred` (the
    /// default: when the server offers it) or `required`.
    #[serde(default)]
    pub tls: TlsMode,
    /// PEM file of the CA the servers' certificates must chain to; absent:
    /// certificates are not checked.
    pub tls_ca: Option<PathBuf>,
}

fn default_pool_max() -> usize {
    64
}

fn default_max_replica_lag_s() -> u64 {
    5
}

fn default_read_your_writes() -> bool {
    true
}

/// How reads are spread over replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReadBalance {
    /// In turn.
    #[default]
    RoundRobin,
    /// At random.
    Random,
}

/// `[schemas.NAME]`: one logical database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    /// Where unsharded tables live.
    pub default_data_source: String,
    /// Tables with a full copy in every data source of the schema.
    #[serde(default)]
    pub broadcast_tables: Vec<String>,
    /// Groups of sharded tables placed alike, joined node by node.
    #[serde(default)]
    pub binding_groups: Vec<Vec<String>>,
    /// Sharded tables by logical name.
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
    /// Sharding algorithms by name.
    #[serde(default)]
    pub algorithms: BTreeMap<String, AlgorithmConfig>,
}

/// `[schemas.S.tables.T]`: one sharded logical table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The data nodes: an inline expression or a list.
    pub nodes: NodesConfig,
    /// One level: the algorithm picks one of all nodes.
    pub sharding: Option<StrategyConfig>,
    /// Picks one of the table's data sources.
    pub database_sharding: Option<StrategyConfig>,
    /// Picks one of the chosen data source's tables.
    pub table_sharding: Option<StrategyConfig>,
    /// The column an INSERT gets a generated value for.
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
    /// The sharding column.
    pub column: String,
    /// The algorithm's name in `schemas.S.algorithms`.
    pub algorithm: String,
}

/// `{ column = "...", type = "snowflake" | "uuid" | "segment", ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGeneratorConfig {
    /// The generated column.
    pub column: String,
    /// `snowflake`, `uuid` or `segment`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `segment`: the data source holding the sequence table.
    pub data_source: Option<String>,
    /// `segment`: ids per claimed segment (default 1000).
    pub step: Option<i64>,
    /// `segment`: the first id of a new sequence (default 1).
    pub start: Option<i64>,
}

/// `[schemas.S.algorithms] NAME = { type = "...", ... }`: the type's own
/// properties are checked by the algorithm registry, so they stay a table here.
#[derive(Debug, Clone, Deserialize)]
pub struct AlgorithmConfig {
    /// The algorithm type (`mod`, `hash_mod`, `range`, `consistent_hash`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Everything else: the type's own properties.
    #[serde(flatten)]
    pub properties: BTreeMap<String, toml::Value>,
}
