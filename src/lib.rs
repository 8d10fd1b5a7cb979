//! # shardgate
//!
//! A sharding proxy for MySQL. Clients speak the MySQL protocol to it as to one
//! server; behind it the rows live in many MySQL/MariaDB data sources.
//!
//! Every statement runs through one pipeline:
//!
//! ```text
//!  client ─► protocol ─► session ─► plan ( sql::parse ─► route ─► rewrite ) ─► execute ─► merge ─► client
//! ```
//!
//! ## Module map (dependencies point downward only)
//! - [`server`]: listener, connection limit, graceful shutdown.
//! - [`security`]: the TLS acceptor and the RSA key of caching_sha2_password.
//! - [`protocol`]: the MySQL server protocol on mysql_common's codec; wire ⇄ session.
//! - [`admin`]: admin SQL (PREVIEW, SHOW ...) and the HTTP endpoints.
//! - [`session`]: per-client state; runs plan → execute → merge; local commands.
//! - [`execute`]: the only module that talks to backends: pools, fan-out, transactions.
//! - [`merge`]: pure, over row streams: one result from many data nodes.
//! - [`plan`]: pure kernel: sql + params + rules → execution plan (which
//!   carries a merged SELECT's [`merge::SelectMerge`] description as data).
//! - [`route`], [`rewrite`]: pure: which data nodes, and the SQL each receives.
//! - [`sql`]: pure: parsing and statement classification.
//! - [`rules`], [`keygen`]: pure model: sharding rules, algorithms, key generators.
//! - [`config`]: the TOML rule file → validated [`config::Config`].
//! - [`error`]: one [`error::Error`] carrying a MySQL code and SQLSTATE.
//!
//! ## Glossary
//! data source (one primary + replicas), logical table, actual table, data
//! node (`data_source.actual_table`), sharding column, sharding algorithm,
//! route unit, execution unit, binding group, broadcast table, merged result.
#![forbid(unsafe_code)]

pub mod admin;
pub mod config;
pub mod error;
pub mod execute;
pub mod keygen;
pub mod merge;
pub mod plan;
pub mod protocol;
pub mod rewrite;
pub mod route;
pub mod rules;
pub mod security;
pub mod server;
pub mod session;
pub mod sql;
