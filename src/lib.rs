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
//! - [`execute`]: runs execution units on backend connections: relay, fan-out, transactions.
//! - [`backend`]: our MySQL client side, the only code with sockets to backends: connections, pools.
//! - [`key_service`]: the key generators' background database work (segments,
//!   worker id lease) on a thread of its own.
//! - [`merge`]: pure, over row streams: one result from many data nodes.
//! - [`plan`]: pure kernel: sql + params + rules → execution plan (which
//!   carries a merged SELECT's [`merge::SelectMerge`] description as data);
//!   per worker thread, plan templates of executes and text shapes seen before.
//! - [`rewrite`]: pure: the SQL each route unit's data source receives.
//! - [`route`]: pure: which data nodes a statement runs on.
//! - [`plan_model`]: the plan as data ([`plan_model::ExecutionPlan`],
//!   [`plan_model::MergePlan`], ...), shared by plan, rewrite and route.
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
pub mod backend;
pub mod config;
pub mod error;
pub mod execute;
pub mod hash;
pub mod key_service;
pub mod keygen;
pub mod merge;
pub mod plan;
pub mod plan_model;
pub mod protocol;
pub mod rewrite;
pub mod route;
pub mod rules;
pub mod security;
pub mod server;
pub mod session;
pub mod sql;
pub mod xa;
