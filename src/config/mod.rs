//! The rule file: read (file.rs), validated, and turned into the runtime
//! model (`Config` with its `ShardingRules`). Every problem is reported, one
//! line each, naming its key path, what is wrong and what would be right.

mod check;
pub mod file;
mod summary;
mod toml_error;

pub use check::{backend_database, endpoint, redact};
pub use file::{
    ConfigFile, DataSourceConfig, ServerConfig, TlsMode, TransactionMode, WorkerIdConfig,
};
pub use summary::summary;

use crate::rules::ShardingRules;
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A validated rule file.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[server]`, with defaults filled in.
    pub server: ServerConfig,
    /// The logins.
    pub users: Vec<User>,
    /// Every data source by name (URLs checked).
    pub data_sources: BTreeMap<String, DataSourceConfig>,
    /// The sharding model of every schema.
    pub rules: ShardingRules,
}

/// A login, with the password kept only as stored hashes: at least one of them.
#[derive(Debug, Clone)]
pub struct User {
    /// The login name.
    pub name: String,
    /// SHA1(SHA1(password)), for mysql_native_password.
    pub password_sha1: Option<[u8; 20]>,
    /// SHA256(SHA256(password)), for caching_sha2_password's fast path.
    pub password_sha2: Option<[u8; 32]>,
    /// The schemas this user may see and use.
    pub schemas: Vec<String>,
    /// May run admin statements.
    pub admin: bool,
    /// What its statements may do on the tables of its schemas.
    pub privileges: Privileges,
}

/// The commands a user may run on the tables of its schemas (`privileges`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privileges(u8);

impl Privileges {
    pub const SELECT: Privileges = Privileges(1);
    pub const INSERT: Privileges = Privileges(2);
    pub const UPDATE: Privileges = Privileges(4);
    pub const DELETE: Privileges = Privileges(8);
    pub const DDL: Privileges = Privileges(16);
    pub const NONE: Privileges = Privileges(0);
    pub const ALL: Privileges = Privileges(31);
    /// Every privilege by its name in the rule file, in the order SHOW GRANTS prints them.
    pub const NAMES: [(&'static str, Privileges); 5] = [
        ("select", Privileges::SELECT),
        ("insert", Privileges::INSERT),
        ("update", Privileges::UPDATE),
        ("delete", Privileges::DELETE),
        ("ddl", Privileges::DDL),
    ];

    /// The privilege named `name` in the rule file.
    pub fn named(name: &str) -> Option<Privileges> {
        Self::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, p)| p)
    }

    /// Whether every privilege of `needed` is held.
    pub fn contains(self, needed: Privileges) -> bool {
        self.0 & needed.0 == needed.0
    }

    /// Both sets together.
    pub fn with(self, other: Privileges) -> Privileges {
        Privileges(self.0 | other.0)
    }

    /// The privileges of `needed` not held.
    pub fn missing(self, needed: Privileges) -> Privileges {
        Privileges(needed.0 & !self.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl User {
    /// Whether this user may use `schema`.
    pub fn may_use(&self, schema: &str) -> bool {
        self.schemas.iter().any(|s| s == schema)
    }
}

/// Everything wrong with a rule file, one line per problem, each naming its key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// One line per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error of one problem.
    fn one(problem: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![problem.into()],
        }
    }
}

/// Reads and validates the rule file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one(format!("{}: cannot read: {e}", path.display())))?;
    parse(&text)
}

/// Parses and validates a rule file's text.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let file: ConfigFile =
        toml::from_str(text).map_err(|e| ConfigError::one(toml_error::describe(text, &e)))?;
    let mut problems = Vec::new();
    check::server(&file.server, &mut problems);
    check::data_sources(&file.data_sources, &mut problems);
    let users = check::users(&file.users, &file.schemas, &mut problems);
    let rules = ShardingRules::build(&file, &mut problems);
    if file.server.worker_id == WorkerIdConfig::Auto && file.schemas.is_empty() {
        problems.push(
            "server.worker_id: \"auto\" leases the id from a table on the first schema's default data source, but no schema is defined; give a number or define a schema".to_string(),
        );
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    Ok(Config {
        server: file.server,
        users,
        data_sources: file.data_sources,
        rules,
    })
}

/// SHA256(SHA256(x)): what caching_sha2_password's fast path checks against.
pub fn double_sha256(password: &[u8]) -> [u8; 32] {
    use sha2::Sha256;
    let once = Sha256::digest(password);
    Sha256::digest(once).into()
}

/// SHA1(SHA1(x)): what mysql.user stores for mysql_native_password.
pub fn double_sha1(password: &[u8]) -> [u8; 20] {
    let once = Sha1::digest(password);
    Sha1::digest(once).into()
}

#[cfg(test)]
mod tests;
