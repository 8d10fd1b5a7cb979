//! One client's session: its user, schema, backend connections, transaction
//! and prepared statements. It runs each statement: answers it locally,
//! tracks the state it sets, or sends it to the data source that holds its
//! tables, and writes the answer to a [`Reply`].

mod answered_first;
mod characteristics;
pub mod conns;
mod diagnostics;
mod facts;
mod grants;
pub mod health;
mod information_schema;
mod insert_columns;
pub mod local;
mod metadata;
mod metadata_cache;
mod names;
mod observe;
mod observed_reply;
pub mod prepared;
mod redescribed;
pub mod registry;
mod reload;
pub mod reply;
mod routed;
mod scalar_column;
mod sql_prepared;
mod subquery;
mod variables;
mod xa;

use crate::admin::metrics::{Metrics, StatementLabel};
use crate::admin::{self, AdminStatement};
use crate::config::{Config, User};
use crate::error::Error;
use crate::execute::metadata::ColumnKinds;
use crate::execute::rows::fetch_rows;
use crate::execute::{relay_execute, Backends, PooledConn, RawExecute};
use crate::key_service::KeyService;
use crate::keygen::{Clock, KeyGenerator, SystemClock};
use crate::rules::SchemaRules;
use crate::security::Security;
use crate::sql::boundary::{self, Subject, Verdict};
use crate::sql::scan::{ScanText, Scanner, Text, Token};
pub use crate::sql::tables::names_routed_table;
use crate::sql::{classify, split_statements, StatementKind};
use arc_swap::ArcSwap;
use conns::SessionConns;
use local::{LocalResult, SessionFacts};
use mysql_common::constants::{ColumnType, StatusFlags};
use mysql_common::packets::Column;
use mysql_common::value::Value;
use prepared::PreparedStatements;
use reply::{OkInfo, Reply};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What every session shares: the rules and backend pools in force (one
/// [`Generation`], swapped whole by a reload), the sharding columns' types,
/// the key generator and the metrics.
pub struct Shared {
    generation: ArcSwap<Generation>,
    pub column_kinds: ColumnKinds,
    pub keys: KeyGenerator,
    /// Claims segments and leases the worker id for `keys`.
    key_service: KeyService,
    /// Every database the data sources' endpoints name: never a client's.
    pub backend_databases: Vec<String>,
    /// The client sessions, for SHOW PROCESSLIST and KILL.
    pub sessions: registry::Registry,
    pub metrics: Metrics,
    pub audit: observe::AuditLog,
    /// The rule file a reload re-reads; none when started from text.
    config_path: Option<PathBuf>,
    /// Serialises reloads (SIGHUP and RELOAD CONFIG may race).
    reloading: tokio::sync::Mutex<()>,
    /// Told when sessions wait for a backend connection; the same across generations.
    shed: Arc<tokio::sync::Notify>,
    next_connection_id: AtomicU32,
    /// XA transactions: the decision log and what is in flight; none when
    /// the log could not be opened in local mode (`xa_unavailable` says why).
    pub xa: Option<Arc<crate::xa::Coordinator>>,
    pub xa_unavailable: Option<String>,
}

impl Shared {
    pub fn new(config: Config) -> Result<Shared, Error> {
        Self::with_path(config, None)
    }

    /// Shared state whose `RELOAD CONFIG` and SIGHUP re-read `path`.
    pub fn with_path(config: Config, path: Option<PathBuf>) -> Result<Shared, Error> {
        let backends = Backends::new(&config)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let keys = crate::key_service::key_generator(&config, clock.clone())?;
        let owner = format!(
            "{} pid {} {:016x}",
            config.server.listen,
            std::process::id(),
            rand::random::<u64>()
        );
        let key_service = KeyService::start(&keys, &backends, clock, owner)?;
        let backend_databases = config
            .data_sources
            .values()
            .flat_map(|ds| std::iter::once(&ds.primary).chain(&ds.replicas))
            .filter_map(|url| crate::config::backend_database(url))
            .collect();
        let shed = backends.shed_handle();
        let security = Security::load(&config.server, None).map_err(Error::internal)?;
        let metrics = Metrics::new();
        let (xa, xa_unavailable) = match xa::open_coordinator(&config.server, &metrics) {
            Ok(c) => (Some(Arc::new(c)), None),
            Err(e) if config.server.transaction_mode == crate::config::TransactionMode::Xa => {
                return Err(Error::internal(e));
            }
            Err(e) => {
                tracing::warn!("XA transactions unavailable: {e}");
                (None, Some(e))
            }
        };
        Ok(Shared {
            generation: ArcSwap::from_pointee(Generation {
                config: Arc::new(config),
                backends,
                security: Arc::new(security),
                metadata: metadata_cache::MetadataCache::default(),
            }),
            column_kinds: ColumnKinds::default(),
            keys,
            key_service,
            backend_databases,
            sessions: registry::Registry::default(),
            metrics,
            audit: observe::AuditLog::default(),
            config_path: path,
            reloading: tokio::sync::Mutex::new(()),
            shed,
            next_connection_id: AtomicU32::new(1),
            xa,
            xa_unavailable,
        })
    }

    /// Stops the key generators' background work and releases the worker id lease.
    pub fn stop_key_service(&self) {
        self.key_service.stop();
    }

    /// The rules and backends in force now.
    pub fn current(&self) -> Arc<Generation> {
        self.generation.load_full()
    }

    /// Resolves when some session waits for a connection that only an idle
    /// one being closed can free.
    pub fn shed_requested(&self) -> &tokio::sync::Notify {
        &self.shed
    }

    /// Reads the sharding columns' types from the backends; problems are
    /// logged (the proxy runs with backends down and reads them later).
    pub async fn refresh_column_kinds(&self) {
        let generation = self.current();
        for problem in self
            .column_kinds
            .refresh(&generation.config.rules, &generation.backends)
            .await
        {
            tracing::warn!("reading sharding column types: {problem}");
        }
    }

    /// A fresh connection id for the handshake.
    pub fn next_connection_id(&self) -> u32 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// The rules and backend pools one reload put in force. A statement runs
/// wholly on the generation it began with.
pub struct Generation {
    pub config: Arc<Config>,
    pub backends: Backends,
    /// TLS acceptor and RSA key for logins.
    pub security: Arc<Security>,
    /// Table definitions read from the backends (emptied by DDL; a reload starts anew).
    pub metadata: metadata_cache::MetadataCache,
}

/// Parameters of a statement: none for the text protocol, values for COM_STMT_EXECUTE.
pub type Params = Option<Vec<Value>>;

/// A client's COM_STMT_EXECUTE as it came, kept for a statement that passes
/// through to one connection: the backend gets the client's own bytes.
#[derive(Debug, Default)]
pub struct ClientExecute {
    /// The statement's text, as prepared.
    pub sql: Arc<str>,
    /// The packet's body after the statement id.
    pub body: Vec<u8>,
    pub n_params: usize,
    /// Two bytes per parameter, as last bound.
    pub types: Arc<[u8]>,
    pub long_data: Vec<Option<Vec<u8>>>,
}

/// What the prepare of a statement learnt of its text, used by each execute
/// instead of reading the text again.
struct Known {
    kind: StatementKind,
    /// A SELECT that may read from a replica.
    replica_read: bool,
    effects: crate::sql::Effects,
}

/// One client's session.
pub struct Session {
    shared: Arc<Shared>,
    /// The rules and backends this session's current statement runs on.
    generation: Arc<Generation>,
    pub connection_id: u32,
    /// The logged-in user (set by [`Session::login`]).
    user: Option<User>,
    /// The client's address, for `USER()`.
    client_host: String,
    /// The logical schema in use.
    schema: Option<String>,
    /// Whether the client enabled CLIENT_MULTI_STATEMENTS.
    pub multi_statements: bool,
    autocommit: bool,
    /// The session's LAST_INSERT_ID(): the last id a backend generated or
    /// the proxy's key generator produced for this client.
    last_insert_id: u64,
    conns: SessionConns,
    pub statements: PreparedStatements,
    /// The execute being run, while it runs (see [`ClientExecute`]).
    pub client_execute: Option<ClientExecute>,
    /// SQL-level prepared statements on sharded tables, by lower-case
    /// name: their text, planned at each EXECUTE (see `sql_prepared`).
    sql_prepared: crate::hash::HashMap<String, String>,
    /// This session's row in the registry, removed when the session is dropped.
    registered: Option<Registered>,
    /// The data sources the current statement ran on (for the slow log and the audit log).
    touched: observe::Touched,
    /// The last statement's warnings, read when its connection was given
    /// up while the client idled (see `diagnostics`).
    kept_warnings: Option<Vec<diagnostics::Warning>>,
    /// What `ROW_COUNT()` reports: the last statement's affected rows, -1
    /// after a result set or an error.
    row_count: i64,
    /// A statement left state on the session's connections that may change
    /// metadata answers (a temporary table shadows a table): the metadata
    /// cache is bypassed until the session is reset.
    own_session_state: bool,
    /// `SET shardgate_transaction_mode`: the mode of the next transactions
    /// (else `server.transaction_mode`).
    transaction_mode: Option<crate::config::TransactionMode>,
    /// The MySQL 8 collation the client asked for when the backends got a
    /// MariaDB stand-in (sql::collations): what `@@collation_connection` says.
    client_collation: Option<String>,
}

/// A session's registry row; dropping it removes the row.
struct Registered {
    shared: Arc<Shared>,
    entry: Arc<registry::Entry>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shared.sessions.remove(self.entry.id);
    }
}

impl Session {
    /// A session on a thread that kept `idle` connections from its last client.
    pub fn new(shared: Arc<Shared>, connection_id: u32, client_host: String) -> Self {
        Session {
            generation: shared.current(),
            shared,
            connection_id,
            user: None,
            client_host,
            schema: None,
            multi_statements: false,
            autocommit: true,
            last_insert_id: 0,
            conns: SessionConns::new(),
            statements: PreparedStatements::default(),
            client_execute: None,
            sql_prepared: crate::hash::HashMap::default(),
            registered: None,
            touched: observe::Touched::default(),
            kept_warnings: None,
            row_count: -1,
            own_session_state: false,
            transaction_mode: None,
            client_collation: None,
        }
    }

    pub fn config(&self) -> &Config {
        &self.generation.config
    }

    /// The TLS acceptor and RSA key logins use now.
    pub fn security(&self) -> Arc<Security> {
        self.generation.security.clone()
    }

    /// Counts a refused login.
    pub fn login_refused(&self) {
        self.shared.metrics.logins_refused.inc();
    }

    /// Looks up a user by name.
    pub fn find_user(&self, name: &str) -> Option<&User> {
        self.generation.config.users.iter().find(|u| u.name == name)
    }

    /// Logs `user` in, with `schema` from the handshake if given.
    pub fn login(&mut self, user: User, schema: Option<&str>) -> Result<(), Error> {
        if let Some(schema) = schema.filter(|s| !s.is_empty()) {
            self.check_schema(&user, schema)?;
            self.schema = Some(schema.to_string());
        }
        self.registered = None;
        let entry = self.shared.sessions.add(
            self.connection_id,
            &self.client_host,
            &user.name,
            self.schema.as_deref(),
        );
        self.registered = Some(Registered {
            shared: self.shared.clone(),
            entry,
        });
        self.user = Some(user);
        Ok(())
    }

    /// Whether a `KILL` ended this session.
    pub fn is_killed(&self) -> bool {
        self.registered
            .as_ref()
            .is_some_and(|r| r.entry.is_killed())
    }

    fn check_schema(&self, user: &User, schema: &str) -> Result<(), Error> {
        if !self.generation.config.rules.schemas.contains_key(schema) {
            return Err(Error::unknown_database(schema));
        }
        if !user.may_use(schema) {
            return Err(Error::db_access_denied(&user.name, schema));
        }
        Ok(())
    }

    /// The logged-in user's name, empty before login.
    pub fn user_name(&self) -> &str {
        self.user.as_ref().map(|u| u.name.as_str()).unwrap_or("")
    }

    /// `USE schema` / COM_INIT_DB.
    pub fn use_schema(&mut self, schema: &str) -> Result<(), Error> {
        let user = self
            .user
            .clone()
            .ok_or_else(|| Error::internal("not logged in"))?;
        self.check_schema(&user, schema)?;
        self.schema = Some(schema.to_string());
        Ok(())
    }

    /// The status flags of packets ending a command.
    pub fn status(&self) -> StatusFlags {
        let mut status = StatusFlags::empty();
        if self.autocommit {
            status |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        }
        if self.conns.any_in_transaction() {
            status |= StatusFlags::SERVER_STATUS_IN_TRANS;
        }
        status
    }

    /// The schema statements run in: the one in use, else the user's first.
    fn schema_rules(&self) -> Result<&SchemaRules, Error> {
        schema_rules_in(&self.generation, self.schema.as_deref(), self.user.as_ref())
    }

    /// COM_QUERY: runs every statement of `text`, in order, stopping at the
    /// first error as MySQL does.
    pub async fn query<R: Reply>(&mut self, text: &[u8], reply: &mut R) {
        if let Some(lone) = crate::sql::lone_statement(text) {
            // One statement, the common case: no list of them.
            let Some(sql) = lone else {
                reply.error(&Error::empty_query());
                return;
            };
            let sql = Text::new(sql);
            let result = match self.check_boundary(&sql) {
                Ok(verdict) => {
                    self.run_verified(sql, None, reply, false, verdict, None)
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                reply.error(&e);
            }
            return;
        }
        let statements = split_statements(text);
        if statements.is_empty() {
            reply.error(&Error::empty_query());
            return;
        }
        if statements.len() > 1 && !self.multi_statements {
            reply.error(&Error::parse(format!(
                "multi-statements are not enabled by the client, near '{}'",
                String::from_utf8_lossy(statements[1])
            )));
            return;
        }
        // Every statement is checked before the first one runs.
        let statements: Vec<Text<'_>> = statements.into_iter().map(Text::new).collect();
        let mut verdicts = Vec::with_capacity(statements.len());
        for sql in &statements {
            match self.check_boundary(sql) {
                Ok(verdict) => verdicts.push(verdict),
                Err(e) => {
                    reply.error(&e);
                    return;
                }
            }
        }
        let last = statements.len() - 1;
        for (i, (sql, mut verdict)) in statements.into_iter().zip(verdicts).enumerate() {
            if i > 0 {
                // An earlier statement may have changed the schema in use.
                verdict.names_routed = None;
            }
            if let Err(e) = self
                .run_verified(sql, None, reply, i < last, verdict, None)
                .await
            {
                reply.error(&e);
                return;
            }
        }
    }

    /// Checks a statement against the boundary (sql.md, "The logical
    /// database"): its names, the user's privileges, server privileges.
    pub fn check_boundary(&self, sql: &(impl ScanText + ?Sized)) -> Result<Verdict, Error> {
        let user = self
            .user
            .as_ref()
            .ok_or_else(|| Error::internal("not logged in"))?;
        let subject = Subject {
            user: &user.name,
            host: &self.client_host,
            schemas: &user.schemas,
            schema: self.schema.as_deref(),
            privileges: user.privileges,
            backend_databases: &self.shared.backend_databases,
            // A schema with nothing routed needs no look at each word.
            routed: self.schema_rules().ok().filter(|r| r.has_routed_tables()),
            replica_check: self.generation.backends.any_replicas(),
        };
        boundary::check(sql, &subject)
    }

    /// Runs one statement. Errors returned are written by the caller; a
    /// relay that fails midway returns its error the same way. Backend
    /// connections the statement borrowed go back unless it pinned them.
    pub async fn run<R: Reply>(
        &mut self,
        sql: &[u8],
        params: Params,
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        let sql = Text::new(sql);
        match self.check_boundary(&sql) {
            Ok(verdict) => {
                self.run_verified(sql, params, reply, more_after, verdict, None)
                    .await
            }
            Err(e) => {
                self.client_execute = None;
                Err(e)
            }
        }
    }

    /// Runs the execute of prepared statement `id` (text `sql`). The
    /// boundary's verdict on its text is kept with the statement and reused
    /// while the rules and the current schema stay the same.
    pub async fn run_execute<R: Reply>(
        &mut self,
        id: u32,
        sql: &[u8],
        params: Vec<Value>,
        reply: &mut R,
    ) -> Result<(), Error> {
        let generation = Arc::as_ptr(&self.generation);
        let known = self.statements.get(id).map(|s| Known {
            kind: s.kind.clone(),
            replica_read: s.replica_read,
            effects: s.effects,
        });
        let kept = self
            .statements
            .get(id)
            .and_then(|s| s.verdict.as_ref())
            .filter(|(under, _)| {
                std::ptr::eq(under.generation.as_ptr(), generation)
                    && under.schema.as_deref() == self.schema.as_deref()
            })
            .map(|(_, verdict)| verdict.clone());
        let sql = Text::new(sql);
        let verdict = match kept {
            Some(verdict) => verdict,
            None => match self.check_boundary(&sql) {
                Ok(verdict) => {
                    let under = prepared::CheckedUnder {
                        generation: Arc::downgrade(&self.generation),
                        schema: self.schema.clone(),
                    };
                    if let Some(statement) = self.statements.get_mut(id) {
                        statement.verdict = Some((under, verdict.clone()));
                    }
                    verdict
                }
                Err(e) => {
                    self.client_execute = None;
                    return Err(e);
                }
            },
        };
        self.run_verified(sql, Some(params), reply, false, verdict, known)
            .await
    }

    /// Runs one statement the boundary allowed, shown in the session registry
    /// while it runs; then gives back the backend connections it borrowed
    /// unless it pinned them, and counts it. `known`: what its prepare
    /// learnt of the text, for an execute.
    async fn run_verified<R: Reply>(
        &mut self,
        text: Text<'_>,
        params: Params,
        reply: &mut R,
        more_after: bool,
        verdict: Verdict,
        known: Option<Known>,
    ) -> Result<(), Error> {
        let sql = text.bytes();
        if let Some(kept) = self.kept_warnings.take() {
            // Only the diagnostic statements leave the warnings as they are.
            if let Some(diagnostic) = diagnostics::diagnostic(sql) {
                let result = diagnostics::answer(&diagnostic, &kept);
                self.kept_warnings = Some(kept);
                self.row_count = -1;
                return self
                    .send_local(result, reply, more_results(more_after))
                    .await;
            }
        }
        let started = Instant::now();
        let (kind, replica_read, known_effects) = match known {
            Some(known) => (known.kind, Some(known.replica_read), Some(known.effects)),
            None => (classify(&text), None, None),
        };
        let label = StatementLabel::of(&kind, sql);
        if let Some(r) = &self.registered {
            r.entry.running(&text, self.schema.as_deref());
        }
        let changes_definitions = verdict.ddl;
        let intent = self.intent_of(&kind, sql, &verdict, replica_read);
        self.conns.set_intent(intent);
        let mut observed = observed_reply::ObservedReply::new(reply);
        let xa_kind = kind.clone();
        let mut result = match self.xa_before_statement(sql, &kind, verdict.ddl) {
            Ok(()) => self
                .run_statement(sql, kind, params, &mut observed, more_after, verdict)
                .await
                .map_err(|e| self.logical_error(e)),
            Err(e) => Err(e),
        };
        self.xa_after_statement(&xa_kind, &mut result).await;
        if result.as_ref().is_err_and(|e| e.code == READ_ONLY_SERVER) {
            // The believed primary refused a write as read-only: look again now.
            self.generation.backends.probe_now();
        }
        self.row_count = if result.is_ok() {
            observed.row_count
        } else {
            -1
        };
        if let Some(r) = &self.registered {
            r.entry.idle();
        }
        self.client_execute = None;
        // Only checked while something waits for it: most statements skip the scan.
        let diagnostic = self.conns.holds_for_warnings() && diagnostics::diagnostic(sql).is_some();
        let effects = known_effects.unwrap_or_else(|| crate::sql::effects(&text));
        self.own_session_state |= effects.sticky();
        // Failed DDL may still have changed some shards' tables.
        if changes_definitions {
            self.table_definitions_changed();
        }
        self.conns
            .finish_statement(&effects, result.is_err(), diagnostic);
        let elapsed = started.elapsed();
        let error = result.as_ref().err().map(|e| e.code);
        self.shared.metrics.statement(label, error, elapsed);
        self.statement_done(sql, elapsed, observed.rows, result.as_ref().err());
        result
    }

    /// Where a statement may run (sql.md, Replicas): a plain SELECT in
    /// autocommit mode outside a transaction (or in a READ ONLY one), while
    /// the session keeps no state of its own on a backend, may read from a
    /// replica; SET goes where the session is; everything else to the primary.
    fn intent_of(
        &self,
        kind: &StatementKind,
        sql: &[u8],
        verdict: &Verdict,
        replica_read: Option<bool>,
    ) -> conns::Intent {
        if !self.generation.backends.any_replicas() {
            return conns::Intent::Primary;
        }
        match kind {
            StatementKind::Set => conns::Intent::Any,
            // The whole READ ONLY transaction runs where it started.
            StatementKind::Select if self.conns.in_read_only_transaction() => conns::Intent::Read,
            StatementKind::Select
                if !verdict.information_schema
                    && !self.own_session_state
                    && self.autocommit
                    && !self.conns.any_in_transaction()
                    && replica_read.or(verdict.replica_read).unwrap_or_else(|| {
                        crate::sql::replica_read::may_read_from_replica(sql)
                    }) =>
            {
                conns::Intent::Read
            }
            _ => conns::Intent::Primary,
        }
    }

    /// After a command that is not a statement (COM_STMT_PREPARE,
    /// COM_FIELD_LIST, COM_STMT_FETCH): connections it borrowed go back
    /// unless something pins them.
    pub fn finish_command(&mut self) {
        self.conns
            .finish_statement(&crate::sql::Effects::default(), false, false);
    }

    /// Lets backend connections use CLIENT_FOUND_ROWS, as the client asked.
    pub fn set_found_rows(&mut self, on: bool) {
        self.conns.set_found_rows(on);
    }

    /// The logical schemas the logged-in user may use (none before login).
    fn user_schemas(&self) -> Vec<String> {
        self.user
            .as_ref()
            .map(|u| u.schemas.clone())
            .unwrap_or_default()
    }

    /// A backend's error with logical names in place of actual ones.
    fn logical_error(&self, error: Error) -> Error {
        if error.origin != crate::error::Origin::Backend {
            return error;
        }
        let schemas = self.user_schemas();
        names::Renamer::new(&self.generation.config, &schemas).error(error)
    }

    /// Runs one statement, classified once by the caller as `kind`.
    async fn run_statement<R: Reply>(
        &mut self,
        sql: &[u8],
        kind: StatementKind,
        params: Params,
        reply: &mut R,
        more_after: bool,
        verdict: Verdict,
    ) -> Result<(), Error> {
        let more = more_results(more_after);
        let with_values = self.session_values(sql, &verdict);
        let backend_sql = with_values.as_deref().unwrap_or(sql);
        if let Some(target) = crate::sql::replica_read::hint_data_source(sql) {
            if matches!(
                kind,
                StatementKind::Select
                    | StatementKind::Other
                    | StatementKind::Write
                    | StatementKind::Stateful
            ) {
                let target = target.to_string();
                return self
                    .on_hinted_data_source(&target, backend_sql, params, reply, more_after)
                    .await;
            }
        }
        if verdict.information_schema
            && matches!(
                kind,
                StatementKind::Select | StatementKind::Other | StatementKind::Write
            )
        {
            return self
                .information_schema_query(backend_sql, params, reply, more_after)
                .await;
        }
        match kind {
            StatementKind::Empty => Err(Error::empty_query()),
            StatementKind::Use(schema) => {
                self.use_schema(&schema)?;
                reply.ok(&OkInfo::default(), self.status() | more);
                Ok(())
            }
            StatementKind::Begin => {
                if self.conns.any_in_transaction() {
                    // BEGIN inside a transaction commits it first, as in MySQL.
                    self.conns.end_transaction("COMMIT").await?;
                }
                self.begin_transaction(sql, true);
                reply.ok(&OkInfo::default(), self.status() | more);
                Ok(())
            }
            StatementKind::Commit => self.end_transaction("COMMIT", reply, more).await,
            StatementKind::Rollback => self.end_transaction("ROLLBACK", reply, more).await,
            StatementKind::Set => match xa::mode_assignment(sql) {
                Some(mode) => {
                    self.set_transaction_mode(mode?)?;
                    reply.ok(&OkInfo::default(), self.status() | more);
                    Ok(())
                }
                None => self.run_set(sql, params, reply, more_after).await,
            },
            StatementKind::ShowDatabases { like } => {
                let schemas = self.user_schemas();
                let result = local::show_databases(&schemas, like.as_deref());
                self.send_local(result, reply, more).await
            }
            StatementKind::ShowTables { full, from, like } => {
                self.show_tables(full, from, like, reply, more).await
            }
            StatementKind::Kill => {
                self.kill(sql).await?;
                reply.ok(&OkInfo::default(), self.status() | more);
                Ok(())
            }
            StatementKind::ShowGrants { for_user } => {
                let user = self
                    .user
                    .as_ref()
                    .ok_or_else(|| Error::internal("not logged in"))?;
                let result = grants::show_grants(user, &self.client_host, for_user.as_deref())?;
                self.send_local(result, reply, more).await
            }
            StatementKind::ShowProcesslist { full } => {
                let result = facts::processlist(&self.visible_sessions(), full);
                self.send_local(result, reply, more).await
            }
            StatementKind::Metadata => self.metadata(sql, reply, more).await,
            StatementKind::Admin => self.run_admin(sql, reply, more).await,
            StatementKind::Select => {
                let facts = SessionFacts {
                    server_version: &self.generation.config.server.server_version,
                    schema: self.schema.as_deref(),
                    user: self.user_name(),
                    client_host: &self.client_host,
                    connection_id: self.connection_id,
                    last_insert_id: self.last_insert_id,
                    row_count: self.row_count,
                };
                if let Some(select) = local::variable_select(sql, &facts) {
                    if let Some(result) = select.local_result() {
                        return self.send_local(result, reply, more).await;
                    }
                    if select.has_local() {
                        return self.mixed_variable_select(select, reply, more).await;
                    }
                }
                self.pass_through(backend_sql, params, reply, more_after, verdict.names_routed)
                    .await
            }
            StatementKind::Stateful | StatementKind::Other => {
                match crate::sql::prepared::parse(sql).filter(|_| params.is_none()) {
                    Some(command) => self.run_sql_prepared(command, sql, reply, more_after).await,
                    None => {
                        self.pass_through(
                            backend_sql,
                            params,
                            reply,
                            more_after,
                            verdict.names_routed,
                        )
                        .await
                    }
                }
            }
            StatementKind::Write => {
                self.pass_through(backend_sql, params, reply, more_after, verdict.names_routed)
                    .await
            }
        }
    }

    /// `sql` with the session functions a backend would answer from its
    /// own session (`DATABASE()`, `VERSION()`, ...) replaced by the proxy's
    /// values; `None` when it calls none. Definitions (CREATE VIEW,
    /// PROCEDURE, ...) keep their calls: they run later, elsewhere.
    fn session_values(&self, sql: &[u8], verdict: &Verdict) -> Option<Vec<u8>> {
        if !verdict.session_calls {
            return None;
        }
        let first = Scanner::new(sql).next();
        if ["CREATE", "ALTER"]
            .iter()
            .any(|k| matches!(first, Some(Token::Word(w)) if w.eq_ignore_ascii_case(k)))
        {
            return None;
        }
        let values = crate::sql::session_calls::SessionValues {
            schema: self.schema.as_deref(),
            server_version: &self.generation.config.server.server_version,
            connection_id: self.connection_id,
            user: self.user_name(),
            client_host: &self.client_host,
            collation: self.client_collation.as_deref(),
        };
        crate::sql::session_calls::replace_session_calls(sql, &values)
    }

    /// PREVIEW, SHOW SHARDING RULES, SHOW BACKENDS, RELOAD CONFIG.
    async fn run_admin<R: Reply>(
        &mut self,
        sql: &[u8],
        reply: &mut R,
        more: StatusFlags,
    ) -> Result<(), Error> {
        let text = String::from_utf8_lossy(sql);
        let Some(statement) = admin::parse(&text) else {
            return Err(Error::parse(format!("near '{text}'")));
        };
        let user = self
            .user
            .clone()
            .ok_or_else(|| Error::internal("not logged in"))?;
        if !user.admin {
            let first = text.split_whitespace().next().unwrap_or("");
            return Err(Error::admin_required(&first.to_ascii_uppercase()));
        }
        let result = match statement {
            AdminStatement::ShowBackends => admin::backends(&self.generation.backends),
            AdminStatement::ShowShardingRules(from) => {
                let schemas = self.admin_schemas(&user, from.as_deref())?;
                admin::sharding_rules(&self.generation.config.rules, &schemas)
            }
            AdminStatement::ShowKeyGenerators(from) => {
                let schemas = self.admin_schemas(&user, from.as_deref())?;
                let now_ms = SystemClock.now_ms();
                let rules = &self.generation.config.rules;
                admin::key_generators(rules, &self.shared.keys, &schemas, now_ms)
            }
            AdminStatement::Preview(statement) => admin::preview(&self.plan(statement, &[])?),
            AdminStatement::ShowXaTransactions => {
                let result = self.shared.xa_transactions();
                return self.send_local(result, reply, more).await;
            }
            AdminStatement::ReloadConfig => {
                let summary = self.shared.reload().await?;
                let ok = OkInfo {
                    info: summary,
                    ..OkInfo::default()
                };
                reply.ok(&ok, self.status() | more);
                return Ok(());
            }
        };
        self.send_local(
            LocalResult {
                columns: result.columns,
                rows: result.rows,
            },
            reply,
            more,
        )
        .await
    }

    /// The schemas an admin statement covers: `FROM schema`, or all the user's.
    fn admin_schemas<'u>(
        &self,
        user: &'u User,
        from: Option<&'u str>,
    ) -> Result<Vec<&'u str>, Error> {
        match from {
            Some(s) => {
                self.check_schema(user, s)?;
                Ok(vec![s])
            }
            None => Ok(user.schemas.iter().map(String::as_str).collect()),
        }
    }

    async fn end_transaction<R: Reply>(
        &mut self,
        statement: &str,
        reply: &mut R,
        more: StatusFlags,
    ) -> Result<(), Error> {
        let warning = self.end_any(statement == "COMMIT").await?;
        let mut ok = OkInfo::default();
        if let Some(warning) = warning {
            ok.warnings = 1;
            self.kept_warnings = Some(vec![warning]);
        }
        reply.ok(&ok, self.status() | more);
        Ok(())
    }

    /// Ends the open transaction, XA or local: `Some` warning when an XA
    /// commit is decided but a branch is still committing.
    async fn end_any(&mut self, commit: bool) -> Result<Option<diagnostics::Warning>, Error> {
        if self.conns.xa().is_some() {
            return self.xa_end(commit).await;
        }
        let statement = if commit { "COMMIT" } else { "ROLLBACK" };
        self.conns.end_transaction(statement).await?;
        Ok(None)
    }

    async fn send_local<R: Reply>(
        &mut self,
        result: LocalResult,
        reply: &mut R,
        more: StatusFlags,
    ) -> Result<(), Error> {
        reply.columns(&result.columns);
        for row in &result.rows {
            reply.row(row);
        }
        reply.end_rows(self.status() | more, 0);
        Ok(())
    }

    /// A SELECT of variables some of which only the proxy may answer
    /// (`SELECT @@max_allowed_packet, @@socket`, as mysql_async asks): the
    /// others come from the default data source.
    async fn mixed_variable_select<R: Reply>(
        &mut self,
        select: local::VariableSelect,
        reply: &mut R,
        more: StatusFlags,
    ) -> Result<(), Error> {
        let data_source = self.schema_rules()?.default_data_source.clone();
        let exprs: Vec<&str> = select
            .items
            .iter()
            .filter_map(|i| match i {
                local::SelectItem::Backend { expr, .. } => Some(expr.as_str()),
                local::SelectItem::Local(..) => None,
            })
            .collect();
        let query = format!("SELECT {}", exprs.join(", "));
        let conn = self
            .conns
            .conn(&self.generation.backends, &data_source)
            .await?;
        let fetched = match fetch_one_row(conn, &query).await {
            Err(e) if e.code == 1193 => match variables::with_older_names(query.as_bytes()) {
                Some(older) => fetch_one_row(conn, &String::from_utf8_lossy(&older)).await,
                None => Err(e),
            },
            other => other,
        };
        let (columns, mut values) = fetched?;
        let mut backend = columns.into_iter().zip(values.drain(..));
        let mut result = LocalResult {
            columns: Vec::new(),
            rows: Vec::new(),
        };
        let mut row = Vec::new();
        for item in select.items {
            match item {
                local::SelectItem::Local(column, value) => {
                    result.columns.push(column);
                    row.push(value);
                }
                local::SelectItem::Backend { label, .. } => {
                    let (column, value) = backend
                        .next()
                        .ok_or_else(|| Error::internal("backend answered fewer columns"))?;
                    result.columns.push(column.with_name(label.as_bytes()));
                    row.push(value);
                }
            }
        }
        if !select.no_rows {
            result.rows.push(row);
        }
        self.send_local(result, reply, more).await
    }

    /// `SET ...`: runs on the default data source's connection, then is
    /// replayed on every other connection the session holds or will hold.
    async fn run_set<R: Reply>(
        &mut self,
        sql: &[u8],
        params: Params,
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        let data_source = self.schema_rules()?.default_data_source.clone();
        let next_transaction = match crate::sql::set_kind(sql) {
            crate::sql::SetKind::NextTransaction(items) => Some(items),
            _ => None,
        };
        if let Some(items) = next_transaction.clone() {
            if !self.conns.in_active_transaction() {
                // Kept for the next transaction, wherever it runs; inside
                // one the server refuses it (1568), so it goes there instead.
                self.conns.set_next_transaction(items);
                reply.ok(&OkInfo::default(), self.status() | more_results(more_after));
                return Ok(());
            }
        }
        let autocommit = variables::autocommit_assignment(sql);
        if autocommit == Some(true) && self.conns.xa().is_some() {
            // A branch refuses SET autocommit = 1 (1399): the transaction it
            // would commit is committed the XA way first.
            if let Some(warning) = self.xa_end(true).await? {
                self.kept_warnings = Some(vec![warning]);
            }
        }
        // The packets say what holds after the SET.
        let mut status = self.status();
        if let Some(on) = autocommit {
            status.set(StatusFlags::SERVER_STATUS_AUTOCOMMIT, on);
            if on {
                status.remove(StatusFlags::SERVER_STATUS_IN_TRANS);
            }
        }
        let conn = self
            .conns
            .conn(&self.generation.backends, &data_source)
            .await?;
        let sent = match params {
            Some(values) => {
                crate::execute::relay_values(conn, utf8(sql)?, &values, reply, status).await?;
                std::borrow::Cow::Borrowed(sql)
            }
            None => variables::run_with_mysql8_names(conn, sql, reply, status, more_after).await?,
        };
        if next_transaction.is_some() {
            // Accepted where no transaction was open after all: never left for another session.
            conn.stale_characteristics = true;
        }
        // What it set follows the session to other connections; what no
        // replay reproduces pins it instead (sql::effects says so).
        if let crate::sql::SetKind::Session(assignments) = crate::sql::set_kind(&sent) {
            if assignments
                .iter()
                .any(|(key, _)| key == "names" || key == "collation_connection")
            {
                self.client_collation =
                    crate::sql::collations::with_mariadb_collations(sql).map(|(_, asked)| asked);
            }
            for (key, statement) in assignments {
                self.conns
                    .record_state(key, statement, &data_source)
                    .await?;
            }
        }
        if let Some(on) = autocommit {
            if on && !self.autocommit {
                // Turning autocommit on commits the open transaction (the
                // backends did so when they got the SET).
                self.conns.end_transaction("COMMIT").await?;
            }
            self.autocommit = on;
        }
        Ok(())
    }

    /// A statement on unsharded tables: sent as the client wrote it to the
    /// schema's default data source.
    /// `names_routed`: the boundary's finding on that, when it has one.
    async fn pass_through<R: Reply>(
        &mut self,
        sql: &[u8],
        params: Params,
        reply: &mut R,
        more_after: bool,
        names_routed: Option<bool>,
    ) -> Result<(), Error> {
        let rules = self.schema_rules()?;
        let routed = names_routed.unwrap_or_else(|| names_routed_table(rules, sql).is_some());
        if routed {
            // Boxed: the routed path's future is large, and kept inline it
            // would size every client's task, idle or not.
            return Box::pin(self.run_routed(sql, params, reply, more_after)).await;
        }
        if let Some(text) = std::str::from_utf8(sql)
            .ok()
            .filter(|_| sql.contains(&b'.'))
        {
            // `shop.t` names the logical schema; the backend knows it by its database's name.
            let database =
                names::backend_database(&self.generation.config, &rules.default_data_source)
                    .unwrap_or_default();
            let rewritten = names::rewrite_identifiers(text, |word, qualifier| {
                (qualifier && word == rules.name && word != database).then(|| database.clone())
            });
            if rewritten != text {
                return self
                    .pass_through_unsharded(rewritten.as_bytes(), params, reply, more_after)
                    .await;
            }
        }
        self.pass_through_unsharded(sql, params, reply, more_after)
            .await
    }

    /// `/* shardgate: data_source = NAME */ <statement>`: the statement as
    /// written on that data source, bypassing routing (admin users only).
    async fn on_hinted_data_source<R: Reply>(
        &mut self,
        data_source: &str,
        sql: &[u8],
        params: Params,
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        if !self.user.as_ref().is_some_and(|u| u.admin) {
            return Err(Error::admin_required("the shardgate: data_source hint"));
        }
        if self.generation.backends.get(data_source).is_err() {
            return Err(Error::new(
                1105,
                "HY000",
                format!("the hint names data source '{data_source}', which the rule file does not define"),
                crate::error::Origin::Client,
            ));
        }
        self.pass_through_on(data_source, sql, params, reply, more_after)
            .await
    }

    /// A statement on unsharded tables only, as the backend must receive it.
    async fn pass_through_unsharded<R: Reply>(
        &mut self,
        sql: &[u8],
        params: Params,
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        // The generation outlives this statement: its name is borrowed, not copied.
        let generation = Arc::clone(&self.generation);
        let rules = schema_rules_in(&generation, self.schema.as_deref(), self.user.as_ref())?;
        self.pass_through_on(&rules.default_data_source, sql, params, reply, more_after)
            .await
    }

    /// `sql` as it is, on `data_source`.
    async fn pass_through_on<R: Reply>(
        &mut self,
        data_source: &str,
        sql: &[u8],
        params: Params,
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        self.touched.push(data_source);
        if !self.autocommit {
            // With autocommit off every statement runs inside a transaction,
            // which the status below must already show.
            self.conns
                .conn(&self.generation.backends, data_source)
                .await?;
            self.conns.mark_in_transaction(data_source);
        }
        let status = self.status();
        let client_execute = self.client_execute.take();
        let conn = self
            .conns
            .conn(&self.generation.backends, data_source)
            .await?;
        if let Some(r) = &self.registered {
            // The endpoint, not the data source: a read may run on a replica.
            r.entry
                .on_backend(&conn.data_source.address, conn.conn.thread_id);
        }
        let relayed = match (params, client_execute) {
            (Some(_), Some(execute)) => {
                let sql: Arc<str> = if execute.sql.as_bytes() == sql {
                    execute.sql.clone()
                } else {
                    // Rewritten on the way (names, session values).
                    Arc::from(utf8(sql)?)
                };
                let raw = RawExecute {
                    sql: &sql,
                    body: &execute.body,
                    n_params: execute.n_params,
                    types: &execute.types,
                    long_data: &execute.long_data,
                };
                let relayed = relay_execute(conn, &raw, reply, status).await?;
                let cursor = relayed
                    .last
                    .status
                    .contains(StatusFlags::SERVER_STATUS_CURSOR_EXISTS);
                self.conns.note_cursor(data_source, &sql, cursor);
                relayed
            }
            (Some(values), None) => {
                crate::execute::relay_values(conn, utf8(sql)?, &values, reply, status).await?
            }
            (None, _) => {
                let (_, relayed) =
                    variables::run_with_mysql8_names_relayed(conn, sql, reply, status, more_after)
                        .await?;
                relayed
            }
        };
        if relayed.last.last_insert_id > 0 {
            self.last_insert_id = relayed.last.last_insert_id;
        }
        Ok(())
    }

    /// COM_STMT_FETCH: more rows of the cursor an execute opened, from the
    /// connection that holds it.
    pub async fn fetch_cursor<R: Reply>(
        &mut self,
        body: &[u8],
        reply: &mut R,
    ) -> Result<(), Error> {
        let mut r = crate::protocol::wire::Reader::new(body);
        let (Ok(id), Ok(rows)) = (r.u32(), r.u32()) else {
            return Err(Error::wrong_arguments("mysqld_stmt_fetch"));
        };
        let sql = self
            .statements
            .get(id)
            .map(|s| s.sql.clone())
            .ok_or_else(|| Error::unknown_statement(id, "mysqld_stmt_fetch"))?;
        let data_source = self.default_data_source()?;
        let status = self.status();
        let no_cursor = || {
            Error::new(
                1421,
                "HY000",
                "The statement (0) has no open cursor.",
                crate::error::Origin::Client,
            )
        };
        let conn = self.conns.held(&data_source).ok_or_else(no_cursor)?;
        let backend_id = conn
            .statements
            .get(&sql)
            .map(|s| s.id)
            .ok_or_else(no_cursor)?;
        let mut request = Vec::with_capacity(8);
        request.extend_from_slice(&backend_id.to_le_bytes());
        request.extend_from_slice(&rows.to_le_bytes());
        let relayed = crate::execute::relay::relay_fetch(conn, &request, reply, status).await?;
        if relayed
            .last
            .status
            .contains(StatusFlags::SERVER_STATUS_LAST_ROW_SENT)
        {
            self.conns.cursor_exhausted(&data_source, &sql);
        }
        Ok(())
    }

    /// COM_STMT_CLOSE (`reset: false`) or COM_STMT_RESET: a cursor the
    /// statement left open is closed, and the connection it pinned goes back.
    pub fn close_statement(&mut self, id: u32, reset: bool) -> Option<()> {
        let statement = self.statements.get_mut(id)?;
        let sql = statement.sql.clone();
        if reset {
            statement.long_data.iter_mut().for_each(|d| *d = None);
        } else {
            self.statements.remove(id);
        }
        self.conns.close_cursor(&sql);
        self.finish_command();
        Some(())
    }

    /// Resolves when the session holds a connection only for the warnings
    /// of its last statement and another session waits for it.
    pub async fn warnings_hold_wanted(&self) {
        if !self.conns.holds_for_warnings() {
            return std::future::pending().await;
        }
        loop {
            let notified = self.shared.shed_requested().notified();
            tokio::pin!(notified);
            // Registered before the check, so a wait that starts in between is seen.
            notified.as_mut().enable();
            if self.conns.warnings_hold_wanted() {
                return;
            }
            notified.await;
        }
    }

    /// Gives those connections back, keeping a copy of their warnings.
    pub async fn give_up_wanted_holds(&mut self) {
        let warnings = self.conns.give_up_wanted_holds().await;
        self.kept_warnings = Some(warnings);
    }

    /// COM_RESET_CONNECTION: back to a fresh session, keeping user and schema.
    pub async fn reset(&mut self) {
        self.kept_warnings = None;
        self.conns.release_all().await;
        self.statements.clear();
        self.sql_prepared.clear();
        self.autocommit = true;
        self.own_session_state = false;
        // As a server's fresh session: no mode chosen, no id generated.
        self.transaction_mode = None;
        self.last_insert_id = 0;
        self.row_count = -1;
        self.client_collation = None;
    }

    /// COM_CHANGE_USER: a fresh session for another user.
    pub async fn change_user(&mut self, user: User, schema: Option<&str>) -> Result<(), Error> {
        self.reset().await;
        self.schema = None;
        self.user = None;
        self.login(user, schema)
    }

    /// The client left: every backend connection it pinned is reset (which
    /// rolls back an open transaction and frees its locks) and given back.
    pub async fn close(mut self) {
        self.conns.release_all().await;
    }

    /// The data source a prepared statement on unsharded tables runs on.
    pub fn default_data_source(&self) -> Result<String, Error> {
        Ok(self.schema_rules()?.default_data_source.clone())
    }

    /// The session's connection to `data_source`.
    pub async fn backend_conn(
        &mut self,
        data_source: &str,
    ) -> Result<(&mut PooledConn, String), Error> {
        let conn = self
            .conns
            .conn(&self.generation.backends, data_source)
            .await?;
        Ok((conn, data_source.to_string()))
    }

    /// Adopts the character set of the client's handshake collation: backend
    /// connections speak utf8mb4 unless the client asked for another or for
    /// one of MySQL 8's collations.
    pub fn set_client_collation(&mut self, collation: u16) {
        if let Some(name) = crate::sql::collations::mysql8_name(collation) {
            // A MariaDB backend refuses it (1273) and gets the stand-in.
            self.conns
                .add_replay("names", &format!("SET NAMES utf8mb4 COLLATE {name}"));
            self.client_collation = Some(name.to_string());
            return;
        }
        let charset = match collation {
            8 | 5 | 15 | 31 | 47 | 48 | 49 | 94 => Some("latin1"),
            33 | 83 | 192..=215 => Some("utf8mb3"),
            63 => Some("binary"),
            28 | 87 => Some("gbk"),
            24 | 86 => Some("gb2312"),
            _ => None, // utf8mb4 and anything unknown: the backend default.
        };
        if let Some(charset) = charset {
            self.conns
                .add_replay("names", &format!("SET NAMES {charset}"));
        }
    }

    /// The columns of a table (COM_FIELD_LIST), from its data source.
    pub async fn table_columns(&mut self, table: &str) -> Result<Vec<Column>, Error> {
        let rules = self.schema_rules()?;
        let (data_source, table) = match rules.table(table).and_then(|r| r.nodes.first()) {
            Some(node) => (node.data_source.clone(), node.table.clone()),
            None => (rules.default_data_source.clone(), table.to_string()),
        };
        let (conn, _) = self.backend_conn(&data_source).await?;
        let sql = format!("SELECT * FROM `{}` LIMIT 0", table.replace('`', "``"));
        Ok(fetch_rows(conn, &sql).await?.columns)
    }

    /// Prepares a statement for its parameter and column metadata: on the
    /// default data source, or for sharded tables, as its first execution
    /// unit on that unit's data source. Session functions are replaced by
    /// the proxy's values first, as each execute will replace them.
    pub async fn prepare_on_backend(
        &mut self,
        sql: &str,
        verdict: &Verdict,
    ) -> Result<PreparedMetadata, Error> {
        let with_values = self
            .session_values(sql.as_bytes(), verdict)
            .and_then(|v| String::from_utf8(v).ok());
        let client_sql = sql;
        let sql = with_values.as_deref().unwrap_or(sql);
        let routed = names_routed_table(self.schema_rules()?, sql.as_bytes()).is_some();
        let mut merge = None;
        let mut described = Vec::new();
        let (data_source, backend_sql) = if routed {
            let completed = self.with_column_list(sql).await?;
            let text = completed.as_deref().unwrap_or(sql);
            let (unit, whole) = match self.plan(text, &[]) {
                // Derived tables and UNION branches answered first at each
                // execute: the statement as written, on its first node,
                // describes it (all of it, as a UNION's describe does).
                Err(e) if answered_first::is_refusal(&e) => (
                    Some(self.plan_with(text, &[], crate::plan::plan_describe)?),
                    true,
                ),
                planned => {
                    let plan = match planned {
                        // Subqueries answered at each execute: described by stand-ins.
                        Err(e) if subquery::is_subquery_refusal(&e) => {
                            match self.with_subquery_stand_ins(text)? {
                                Some(stand_ins) => {
                                    // Boxed, as a rare path: inline, its future would size every client's task.
                                    described = Box::pin(self.describe_select_items(text)).await?;
                                    self.plan(&stand_ins, &[])?
                                }
                                None => return Err(e),
                            }
                        }
                        planned => planned?,
                    };
                    match plan.merge {
                        crate::plan::MergePlan::Select(spec) => {
                            merge = Some(spec);
                            (plan.units.into_iter().next(), false)
                        }
                        // A UNION's units return derived names: the union itself
                        // (all of it: every branch counts for the types) describes it.
                        crate::plan::MergePlan::Union(union) => (Some(union.describe), true),
                        _ => (plan.units.into_iter().next(), false),
                    }
                }
            };
            let unit = unit.ok_or_else(|| Error::internal("a plan without execution units"))?;
            let sql = match whole {
                true => unit.sql,
                false => crate::sql::first_union_branch(&unit.sql).unwrap_or(unit.sql),
            };
            (unit.data_source, sql)
        } else {
            (self.default_data_source()?, sql.to_string())
        };
        let statement = self.describe_on(&data_source, backend_sql).await?;
        let mut columns = statement.columns.clone();
        let mut extended = statement.extended.clone();
        if let Some(spec) = merge {
            // Derived columns the merge strips are not the client's.
            columns.truncate(spec.visible_in(columns.len()));
            extended.truncate(columns.len());
        }
        for (position, subquery) in &described {
            // A select-list subquery's stand-in is described as the subquery.
            if let Some(column) = columns.get_mut(*position) {
                *column = scalar_column::described_as(column, subquery);
            }
        }
        let params = if routed {
            // The client's statement, not the unit's, decides the parameter count.
            let n = Scanner::new(client_sql)
                .filter(|t| *t == Token::Punct('?'))
                .count();
            (0..n)
                .map(|_| Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(b"?"))
                .collect()
        } else {
            statement.params.clone()
        };
        Ok(PreparedMetadata {
            params,
            columns,
            extended,
        })
    }

    /// The metadata of `sql` prepared on `data_source`: kept from an earlier
    /// prepare of the same text under the same session state, or prepared
    /// there now (the connection keeps the handle, so the first execute
    /// there needs no prepare). A session with state no fingerprint
    /// describes (a temporary table may shadow a table) always prepares.
    async fn describe_on(
        &mut self,
        data_source: &str,
        sql: String,
    ) -> Result<Arc<metadata_cache::Described>, Error> {
        let generation = self.generation.clone();
        let cache = &generation.metadata;
        let shared = !self.own_session_state;
        let (conn, ds) = self.backend_conn(data_source).await?;
        let key = (ds, conn.state, sql);
        if let Some(described) = cache.described(&key).filter(|_| shared) {
            return Ok(described);
        }
        let epoch = cache.epoch();
        let statement = crate::backend::statements::prepare(&mut conn.conn, &key.0, &key.2).await?;
        if let Some(evicted) = conn.statements.insert(
            Arc::from(key.2.as_str()),
            statement.id,
            statement.params.len(),
            statement.columns.len(),
        ) {
            crate::backend::statements::buffer_close(&mut conn.conn, evicted);
        }
        let described = Arc::new(metadata_cache::Described {
            params: statement.params,
            columns: statement.columns,
            extended: statement.extended,
        });
        if shared {
            cache.describe(key, epoch, described.clone());
        }
        Ok(described)
    }
}

/// What COM_STMT_PREPARE answers: the parameters' and columns' definitions.
pub struct PreparedMetadata {
    pub params: Vec<Column>,
    pub columns: Vec<Column>,
    /// The columns' MariaDB extended metadata fields, as the backend sent
    /// them (none when it sent none).
    pub extended: Vec<Vec<u8>>,
}

/// Runs a one-row query and returns its columns and values.
async fn fetch_one_row(
    conn: &mut PooledConn,
    query: &str,
) -> Result<(Vec<Column>, Vec<Value>), Error> {
    let rows = fetch_rows(conn, query).await?;
    let values = rows.rows.into_iter().next().unwrap_or_default();
    Ok((rows.columns, values))
}

/// SERVER_MORE_RESULTS_EXISTS when more client statements follow.
fn more_results(more_after: bool) -> StatusFlags {
    if more_after {
        StatusFlags::SERVER_MORE_RESULTS_EXISTS
    } else {
        StatusFlags::empty()
    }
}

/// ER_OPTION_PREVENTS_STATEMENT: the server runs with --read-only.
const READ_ONLY_SERVER: u16 = 1290;

/// Prepared statements are UTF-8 text (COM_STMT_PREPARE checks it).
/// The rules of the schema in use (`schema`), else of `user`'s first, in `generation`.
fn schema_rules_in<'g>(
    generation: &'g Generation,
    schema: Option<&str>,
    user: Option<&User>,
) -> Result<&'g SchemaRules, Error> {
    let name = match schema {
        Some(s) => s,
        None => user
            .and_then(|u| u.schemas.first())
            .map(String::as_str)
            .ok_or_else(Error::no_database)?,
    };
    generation
        .config
        .rules
        .schemas
        .get(name)
        .ok_or_else(|| Error::unknown_database(name))
}

fn utf8(sql: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(sql).map_err(|_| Error::internal("prepared statement text is not UTF-8"))
}
