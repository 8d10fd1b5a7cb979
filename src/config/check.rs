//! Checks of `[server]`, `[[users]]` and `[data_sources.*]` (config.md). The
//! schemas are checked by `ShardingRules::build`.

use super::file::{
    DataSourceConfig, SchemaConfig, ServerConfig, TlsMode, UserConfig, WorkerIdConfig,
};
use super::{double_sha1, double_sha256, Privileges, User};
use crate::backend::Endpoint;
use crate::keygen::MAX_WORKER_ID;
use crate::rules::is_identifier;
use std::collections::BTreeMap;

/// The database an endpoint URL names (`shop_0` of `mysql://u:p@h:3306/shop_0`).
pub fn backend_database(url: &str) -> Option<String> {
    endpoint(url)
        .ok()
        .map(|o| o.database)
        .filter(|d| !d.is_empty())
}

/// The largest window partition cap: a partition's rows are held in memory.
const MAX_WINDOW_PARTITION_ROWS: u64 = 100_000_000;

/// Checks `[server]`.
pub(super) fn server(server: &ServerConfig, problems: &mut Vec<String>) {
    if let WorkerIdConfig::Fixed(id) = server.worker_id {
        if id > MAX_WORKER_ID {
            problems.push(format!(
                "server.worker_id: {id} is out of range; give 0..={MAX_WORKER_ID}, different for each proxy instance, or \"auto\""
            ));
        }
    }
    if server.max_connections < 1 {
        problems.push("server.max_connections: must be at least 1".to_string());
    }
    if !(1..=MAX_WINDOW_PARTITION_ROWS).contains(&server.max_window_partition_rows) {
        problems.push(format!(
            "server.max_window_partition_rows: must be 1..={MAX_WINDOW_PARTITION_ROWS} (the merge holds one window partition in memory)"
        ));
    }
    for (key, address) in [
        ("listen", Some(&server.listen)),
        ("admin_listen", server.admin_listen.as_ref()),
    ] {
        if let Some(address) = address {
            if !is_host_port(address) {
                problems.push(format!(
                    "server.{key}: `{address}` is not `host:port`, e.g. `0.0.0.0:3307`"
                ));
            }
        }
    }
    if server.tls_cert.is_some() != server.tls_key.is_some() {
        problems.push("server: give both `tls_cert` and `tls_key`, or neither".to_string());
    }
    if !(10..=3_600_000).contains(&server.health_check_interval_ms) {
        problems.push(format!(
            "server.health_check_interval_ms: {} is out of range; give 10..=3600000 (milliseconds)",
            server.health_check_interval_ms
        ));
    }
    if !(1..=1_000_000).contains(&server.max_subquery_rows) {
        problems.push(format!(
            "server.max_subquery_rows: {} is out of range; give 1..=1000000",
            server.max_subquery_rows
        ));
    }
}

/// `host:port` with a numeric port.
fn is_host_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

/// Checks every `[data_sources.NAME]`.
pub(super) fn data_sources(
    data_sources: &BTreeMap<String, DataSourceConfig>,
    problems: &mut Vec<String>,
) {
    for (name, ds) in data_sources {
        let path = format!("data_sources.{name}");
        if !is_identifier(name) {
            problems.push(format!(
                "{path}: data source name `{name}` must match [A-Za-z0-9_]+"
            ));
        }
        if let Err(e) = endpoint(&ds.primary) {
            problems.push(format!("{path}.primary: {e}"));
        }
        for (i, replica) in ds.replicas.iter().enumerate() {
            if let Err(e) = endpoint(replica) {
                problems.push(format!("{path}.replicas[{i}]: {e}"));
            }
        }
        if ds.pool_max < 1 {
            problems.push(format!("{path}.pool_max: must be at least 1"));
        }
        if ds.max_replica_lag_s < 1 && !ds.replicas.is_empty() {
            problems.push(format!(
                "{path}.max_replica_lag_s: must be at least 1 (seconds)"
            ));
        }
        match &ds.tls_ca {
            Some(ca) if ca.as_os_str().is_empty() => {
                problems.push(format!("{path}.tls_ca: must name a PEM file"));
            }
            Some(_) if ds.tls == TlsMode::Disabled => problems.push(format!(
                "{path}.tls_ca: given, but `tls = \"disabled\"`: nothing would be verified; \
                 set `tls = \"required\"` (or \"preferred\") or remove `tls_ca`"
            )),
            _ => {}
        }
    }
}

/// Parses an endpoint URL, `mysql://user:pass@host:port/db`; the error never
/// shows the password.
pub fn endpoint(url: &str) -> Result<Endpoint, String> {
    let shown = redact(url);
    let expected = "expected `mysql://user:pass@host:port/db`";
    let opts = Endpoint::parse(url).map_err(|e| format!("`{shown}`: {e}; {expected}"))?;
    if opts.database.is_empty() {
        return Err(format!("`{shown}` names no database; {expected}"));
    }
    Ok(opts)
}

/// The URL with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// Checks `[[users]]` and turns them into [`User`]s.
pub(super) fn users(
    users: &[UserConfig],
    schemas: &BTreeMap<String, SchemaConfig>,
    problems: &mut Vec<String>,
) -> Vec<User> {
    let mut out: Vec<User> = Vec::new();
    for (i, user) in users.iter().enumerate() {
        let path = format!("users[{i}]");
        if user.name.is_empty() {
            problems.push(format!("{path}.name: must not be empty"));
        }
        if let Some(first) = users[..i].iter().position(|u| u.name == user.name) {
            problems.push(format!(
                "{path}.name: user `{}` is already defined in users[{first}]; user names must be unique",
                user.name
            ));
        }
        for (j, schema) in user.schemas.iter().enumerate() {
            if !schemas.contains_key(schema) {
                let known: Vec<&str> = schemas.keys().map(String::as_str).collect();
                problems.push(format!(
                    "{path}.schemas[{j}]: unknown schema `{schema}`; known: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        let hashes = match (&user.password, &user.password_sha1, &user.password_sha2) {
            (Some(password), None, None) => Some((
                Some(double_sha1(password.as_bytes())),
                Some(double_sha256(password.as_bytes())),
            )),
            (None, sha1, sha2) if sha1.is_some() || sha2.is_some() => {
                let sha1 = sha1.as_ref().map(|hex| {
                    let hash = parse_hex::<20>(hex.strip_prefix('*').unwrap_or(hex));
                    if hash.is_none() {
                        problems.push(format!(
                            "{path}.password_sha1: must be 40 hex digits (optionally after `*`), the SHA1(SHA1(password)) that mysql.user stores"
                        ));
                    }
                    hash
                });
                let sha2 = sha2.as_ref().map(|hex| {
                    let hash = parse_hex::<32>(hex);
                    if hash.is_none() {
                        problems.push(format!(
                            "{path}.password_sha2: must be 64 hex digits, the SHA256(SHA256(password)) caching_sha2_password checks"
                        ));
                    }
                    hash
                });
                match (sha1, sha2) {
                    (Some(None), _) | (_, Some(None)) => None,
                    (sha1, sha2) => Some((sha1.flatten(), sha2.flatten())),
                }
            }
            (Some(_), _, _) => {
                problems.push(format!(
                    "{path} (`{}`): give `password` or `password_sha1`/`password_sha2`, not both",
                    user.name
                ));
                None
            }
            (None, _, _) => {
                problems.push(format!(
                    "{path} (`{}`): no password; give `password`, `password_sha1` or `password_sha2`",
                    user.name
                ));
                None
            }
        };
        let mut privileges = Privileges::ALL;
        if let Some(names) = &user.privileges {
            privileges = Privileges::NONE;
            for (j, name) in names.iter().enumerate() {
                match Privileges::named(name) {
                    Some(p) => privileges = privileges.with(p),
                    None => problems.push(format!(
                        "{path}.privileges[{j}]: unknown privilege `{name}`; known: select, insert, update, delete, ddl"
                    )),
                }
            }
        }
        if let Some((password_sha1, password_sha2)) = hashes {
            out.push(User {
                name: user.name.clone(),
                password_sha1,
                password_sha2,
                schemas: user.schemas.clone(),
                admin: user.admin,
                privileges,
            });
        }
    }
    out
}

/// `N` bytes written as `2N` hex digits.
fn parse_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != 2 * N || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
