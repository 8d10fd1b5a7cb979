//! The rule file: read (file.rs), validated, and turned into the runtime
//! model (`Config` with its `ShardingRules`). Every error names its key path.

pub mod file;

use crate::rules::ShardingRules;
pub use file::{ConfigFile, DataSourceConfig, ServerConfig, TransactionMode};
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A validated rule file.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub users: Vec<User>,
    pub data_sources: BTreeMap<String, DataSourceConfig>,
    pub rules: ShardingRules,
}

/// A login, with the password kept only as mysql_native_password's stored hash.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// SHA1(SHA1(password)).
    pub password_sha1: [u8; 20],
    pub schemas: Vec<String>,
    pub admin: bool,
}

impl User {
    pub fn may_use(&self, schema: &str) -> bool {
        self.schemas.iter().any(|s| s == schema)
    }
}

/// Everything wrong with a rule file, one line per problem, each naming its key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
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
    let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::one(e.to_string()))?;
    let mut problems = Vec::new();
    let users = file
        .users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            let hash = match (&u.password, &u.password_sha1) {
                (Some(pw), None) => Some(double_sha1(pw.as_bytes())),
                (None, Some(hex)) => parse_sha1_hex(hex),
                _ => None,
            };
            if hash.is_none() {
                problems.push(format!(
                    "users[{i}] ({}): give exactly one of `password` or `password_sha1` (40 hex digits)",
                    u.name
                ));
            }
            hash.map(|password_sha1| User {
                name: u.name.clone(),
                password_sha1,
                schemas: u.schemas.clone(),
                admin: u.admin,
            })
        })
        .collect();
    let rules = ShardingRules::build(&file, &mut problems);
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

/// SHA1(SHA1(x)): what mysql.user stores for mysql_native_password.
pub fn double_sha1(password: &[u8]) -> [u8; 20] {
    let once = Sha1::digest(password);
    Sha1::digest(once).into()
}

fn parse_sha1_hex(hex: &str) -> Option<[u8; 20]> {
    let hex = hex.strip_prefix('*').unwrap_or(hex);
    if hex.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
