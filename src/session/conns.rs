//! The backend connections one client session borrows. A session takes a
//! connection per statement and gives it back when the statement is done,
//! unless something pins it there: an open transaction, LOCK TABLES, state
//! the server cannot replay elsewhere (temporary tables, user variables,
//! locks, SQL-level prepared statements), or warnings the next statement
//! may ask for. The session state it set with SET follows it to whatever
//! connection it gets next (an idle one already in that state is preferred).

use super::characteristics;
use super::diagnostics::Warning;
use crate::backend::conn::ConnClass;
use crate::backend::pool::AppliedState;
use crate::backend::{DataSource, PooledConn};
use crate::error::Error;
use crate::execute::rows::fetch_rows;
use crate::execute::{run_ok, Backends};
use crate::sql::Effects;
use mysql_common::constants::StatusFlags;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

/// A connection the session holds now.
struct Held {
    conn: PooledConn,
    /// A transaction is open on it (the session's BEGIN was sent, or the
    /// backend reports one: autocommit off, XA).
    in_transaction: bool,
    /// State no replay reproduces was left on it: held until the session ends.
    sticky: bool,
    /// LOCK TABLES is in force on it.
    locked: bool,
    /// The client's own `XA PREPARE` ran on it and its transaction is not
    /// over: it may hold a prepared branch, which a reset would leave
    /// unfinishable (committing it then commits nothing), so it is closed instead.
    xa_prepared: bool,
    /// Held through the next statement (warnings, errors, FOUND_ROWS).
    next: bool,
    /// ... because the next statement may ask FOUND_ROWS(), which no copy answers.
    next_found_rows: bool,
    /// Statements (by text) with a cursor open on it: COM_STMT_FETCH follows.
    cursors: Vec<Arc<str>>,
    /// Used by the statement running now, since then (backend time per data source).
    used: bool,
    used_since: Instant,
    /// Borrowed from a replica for a read: never given a write.
    on_replica: bool,
}

impl Held {
    fn pinned(&self) -> bool {
        self.in_transaction || self.sticky || self.locked || self.next || !self.cursors.is_empty()
    }

    /// Held only so that the client's next statement can read its warnings.
    fn held_for_warnings(&self) -> bool {
        self.next
            && !self.next_found_rows
            && !(self.in_transaction || self.sticky || self.locked || !self.cursors.is_empty())
    }
}

/// The session state that follows a session from connection to connection.
#[derive(Default, Clone)]
struct SessionState {
    /// SET statements by what they set, replayed on a connection in another state.
    sets: AppliedState,
    /// Hash of `sets`; 0 when empty (the state of a new or reset connection).
    fingerprint: u64,
}

impl SessionState {
    fn record(&mut self, key: String, statement: String) {
        Arc::make_mut(&mut self.sets).insert(key, statement);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.sets.hash(&mut hasher);
        self.fingerprint = hasher.finish().max(1);
    }

    /// The statements that bring a connection from the reset state to this one.
    fn replay(&self) -> String {
        let texts: Vec<&str> = self.sets.values().map(String::as_str).collect();
        texts.join(";\n")
    }

    /// The statements that bring a connection from the state `applied` to
    /// this one: what this state sets differently, and what only `applied`
    /// set put back to its default (the global value, as on a new connection).
    fn diff(&self, applied: &BTreeMap<String, String>) -> String {
        let mut texts: Vec<String> = Vec::new();
        for (key, statement) in self.sets.iter() {
            if applied.get(key) != Some(statement) {
                texts.push(statement.clone());
            }
        }
        for key in applied.keys() {
            if !self.sets.contains_key(key) {
                texts.push(revert(key));
            }
        }
        texts.join(";\n")
    }
}

/// Empties the server's diagnostics area, which MariaDB clears only for
/// statements that use a table (a derived one will do); no result, no locks.
const CLEAR_DIAGNOSTICS: &str = "DO (SELECT 1 FROM (SELECT 1) AS t)";

/// ER_UNKNOWN_COLLATION.
const UNKNOWN_COLLATION: u16 = 1273;

/// Runs SET statements of the session state; a backend without MySQL 8's
/// utf8mb4_0900 collations (MariaDB: 1273) gets their stand-ins instead.
async fn run_state(conn: &mut PooledConn, text: &str) -> Result<(), Error> {
    match run_ok(conn, text, None).await {
        Err(e) if e.code == UNKNOWN_COLLATION => {
            match crate::sql::collations::with_mariadb_collations(text.as_bytes()) {
                Some((mapped, _)) => {
                    let mapped = String::from_utf8_lossy(&mapped);
                    run_ok(conn, &mapped, None).await.map(drop)
                }
                None => Err(e),
            }
        }
        other => other.map(drop),
    }
}

/// Whether the client's BEGIN may go in one round trip before a
/// statement: words only (`BEGIN`, `START TRANSACTION READ ONLY, WITH
/// CONSISTENT SNAPSHOT`), so no comment, quote or `;` of the client's can
/// swallow or split what follows; and the server, which stops a
/// multi-statement at its first error, never runs the statement outside
/// the transaction when the BEGIN fails.
fn plain_words(begin: &[u8]) -> bool {
    begin
        .iter()
        .all(|&b| b.is_ascii_alphabetic() || matches!(b, b' ' | b'_' | b','))
}

/// The statement that puts what `key` names back as a new connection has it.
fn revert(key: &str) -> String {
    match key {
        // Backend connections log in with utf8mb4 (see backend::auth).
        "names" => "SET NAMES utf8mb4".to_string(),
        variable => format!("SET SESSION {variable} = DEFAULT"),
    }
}

/// An open XA transaction of the session.
#[derive(Debug, Clone)]
pub struct XaOpen {
    pub gtrid: String,
    /// Begun by the client (BEGIN), not for one statement or autocommit off.
    pub explicit: bool,
    /// The data sources where a statement that may write ran.
    pub wrote: Vec<String>,
}

/// Where the statement running now may run (sql.md, Replicas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Intent {
    /// On the primary: writes, and everything not known to be a plain read.
    #[default]
    Primary,
    /// A read that may go to a replica.
    Read,
    /// Session statements (SET): wherever the session holds a connection, else the primary.
    Any,
}

/// The connections of one session, and what follows the session to new ones.
#[derive(Default)]
pub struct SessionConns {
    held: Vec<Held>,
    state: SessionState,
    /// The client's `BEGIN`/`START TRANSACTION` text while a transaction is open.
    transaction: Option<Vec<u8>>,
    /// `SET TRANSACTION` characteristics waiting for the session's next
    /// transaction, by what they set ("tx_isolation", "tx_read_only"):
    /// applied to each connection a statement runs on until the server
    /// reports them used (or a BEGIN takes them).
    next_transaction: BTreeMap<String, String>,
    /// The characteristics the open transaction took at its BEGIN: sent
    /// before its BEGIN on each data source it reaches.
    transaction_characteristics: Option<String>,
    /// The open transaction is an XA one: its branches start with `XA START`.
    xa: Option<XaOpen>,
    /// That transaction is `READ ONLY`: it may run on one replica per data source.
    read_only_transaction: bool,
    /// The capabilities the session's connections need (CLIENT_FOUND_ROWS).
    class: ConnClass,
    /// Where the statement running now may run.
    intent: Intent,
    /// The GTID of the session's last committed write, per data source
    /// (read your writes).
    gtids: BTreeMap<String, String>,
}

/// ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, as the server says it.
fn read_only_transaction_error() -> Error {
    Error::new(
        1792,
        "25006",
        "Cannot execute statement in a READ ONLY transaction",
        crate::error::Origin::Client,
    )
}

impl SessionConns {
    pub fn new() -> Self {
        SessionConns::default()
    }

    /// Connections negotiate CLIENT_FOUND_ROWS when the client asked for it.
    pub fn set_found_rows(&mut self, on: bool) {
        self.class.found_rows = on;
    }

    /// Sets where the statement about to run may run.
    pub fn set_intent(&mut self, intent: Intent) {
        self.intent = intent;
    }

    /// Whether the open transaction is `READ ONLY`.
    pub fn in_read_only_transaction(&self) -> bool {
        self.transaction.is_some() && self.read_only_transaction
    }

    /// The session's connection to `data_source` for the statement running
    /// now: the one it holds, or one borrowed and brought to the session's
    /// state (and into its open transaction). A read may get a replica's
    /// connection; nothing else ever does.
    pub async fn conn(
        &mut self,
        backends: &Backends,
        data_source: &str,
    ) -> Result<&mut PooledConn, Error> {
        let index = self.ready_conn(backends, data_source).await?;
        if let Some((opening, _)) = self.opening_statement(index, data_source) {
            let held = &mut self.held[index];
            run_ok(&mut held.conn, &opening, None).await?;
            held.in_transaction = true;
        }
        Ok(&mut self.held[index].conn)
    }

    /// [`SessionConns::conn`] for one text statement: when the connection
    /// has not joined the open transaction yet and the statement opening it
    /// there (`XA START`, a plain `BEGIN`) can go in the same round trip,
    /// that statement is returned instead of run, for the caller to send as
    /// `opening; statement` and to report with
    /// [`SessionConns::mark_in_transaction`] once its OK came.
    pub async fn conn_with_opening(
        &mut self,
        backends: &Backends,
        data_source: &str,
    ) -> Result<(&mut PooledConn, Option<String>), Error> {
        let index = self.ready_conn(backends, data_source).await?;
        let opening = self.opening_statement(index, data_source);
        let held = &mut self.held[index];
        match opening {
            Some((opening, true)) => Ok((&mut held.conn, Some(opening))),
            Some((opening, false)) => {
                run_ok(&mut held.conn, &opening, None).await?;
                held.in_transaction = true;
                Ok((&mut held.conn, None))
            }
            None => Ok((&mut held.conn, None)),
        }
    }

    /// The index of the session's connection to `data_source` for the
    /// statement running now, in the session's state; not yet in its
    /// open transaction.
    async fn ready_conn(&mut self, backends: &Backends, data_source: &str) -> Result<usize, Error> {
        let mut found = self
            .held
            .iter()
            .position(|h| h.conn.data_source.name == data_source);
        if let Some(i) = found.filter(|&i| self.held[i].on_replica) {
            if self.intent == Intent::Primary {
                if self.held[i].in_transaction {
                    return Err(read_only_transaction_error());
                }
                // Held only for its warnings or a cursor: the write goes to the primary.
                let mut held = self.held.swap_remove(i);
                held.conn.dirty |= held.sticky || held.locked || !held.cursors.is_empty();
                held.conn.release();
                found = None;
            }
        }
        let index = match found {
            Some(i) => i,
            None => {
                let ds = backends.get(data_source)?;
                let (mut conn, on_replica) = self.borrow(ds).await?;
                if let Err(e) = self.bring_to_state(&mut conn).await {
                    if !conn.conn.broken {
                        conn.dirty = true; // Half-applied state: reset or close.
                    }
                    return Err(e);
                }
                self.held.push(Held {
                    conn,
                    in_transaction: false,
                    sticky: false,
                    locked: false,
                    xa_prepared: false,
                    next: false,
                    next_found_rows: false,
                    cursors: Vec::new(),
                    used: false,
                    used_since: Instant::now(),
                    on_replica,
                });
                self.held.len() - 1
            }
        };
        let held = &mut self.held[index];
        if !held.used {
            held.used = true;
            held.used_since = Instant::now();
        }
        let in_backend_transaction = held
            .conn
            .conn
            .status
            .contains(StatusFlags::SERVER_STATUS_IN_TRANS);
        if self.transaction.is_none()
            && !self.next_transaction.is_empty()
            && !in_backend_transaction
        {
            characteristics::apply(&mut held.conn, &self.next_transaction).await?;
        }
        Ok(index)
    }

    /// What brings the connection at `index` into the open transaction,
    /// when it is not in it yet: `XA START` of its branch (pinned from
    /// there to its COMMIT or ROLLBACK) or the client's BEGIN, after the
    /// characteristics that transaction took. True when it may go in one
    /// round trip before a statement (see [`plain_words`]); with those
    /// characteristics it is several statements and goes alone.
    fn opening_statement(&self, index: usize, data_source: &str) -> Option<(String, bool)> {
        let begin = self.transaction.as_ref()?;
        if self.held[index].in_transaction {
            return None;
        }
        let (opening, joins) = match &self.xa {
            Some(xa) => {
                let xid = crate::xa::xid::sql(xa.gtrid.as_bytes(), data_source.as_bytes());
                (["XA START ", &xid].concat(), true)
            }
            None => (
                String::from_utf8_lossy(begin).into_owned(),
                plain_words(begin),
            ),
        };
        match &self.transaction_characteristics {
            Some(characteristics) => Some((format!("{characteristics};\n{opening}"), false)),
            None => Some((opening, joins)),
        }
    }

    /// A connection of `ds` for the statement running now: a replica's for
    /// a read outside a transaction (or in a READ ONLY one) when one is
    /// eligible and has applied the session's last write there (waiting
    /// for it a bounded time), else the primary's. True when a replica's.
    async fn borrow(&self, ds: &Arc<DataSource>) -> Result<(PooledConn, bool), Error> {
        let fingerprint = self.state.fingerprint;
        let may_use_replica = self.intent == Intent::Read
            && ds.has_replicas()
            && (self.transaction.is_none() || self.read_only_transaction)
            && !self.held.iter().any(|h| h.in_transaction && !h.on_replica);
        if may_use_replica {
            let endpoint = ds.read_endpoint()?;
            if !ds.is_primary(endpoint) {
                let mut conn = endpoint.acquire(self.class, fingerprint).await?;
                match self.gtids.get(&ds.name).filter(|_| ds.read_your_writes) {
                    None => return Ok((conn, true)),
                    Some(gtid) => {
                        if caught_up(&mut conn, gtid, ds.gtid_wait).await {
                            return Ok((conn, true));
                        }
                        // Not there in time: the primary has it.
                        conn.release();
                    }
                }
            }
        }
        Ok((ds.acquire(self.class, fingerprint).await?, false))
    }

    /// Applies the session state to a borrowed connection: nothing when it
    /// is in that state already; else only what differs, in one round trip
    /// (with the clearing of warnings another session left); a reset and
    /// the whole state when that fails or the connection holds state no SET
    /// describes.
    async fn bring_to_state(&self, conn: &mut PooledConn) -> Result<(), Error> {
        conn.conn.characteristics = None;
        let same = conn.state == self.state.fingerprint && !conn.dirty;
        if same && !conn.stale_diagnostics && !conn.stale_characteristics {
            return Ok(());
        }
        if !conn.dirty {
            let mut texts = Vec::with_capacity(3);
            if conn.stale_diagnostics {
                texts.push(CLEAR_DIAGNOSTICS.to_string());
            }
            if conn.stale_characteristics {
                texts.push(characteristics::forget(&conn.applied));
            }
            if !same {
                texts.push(self.state.diff(&conn.applied));
            }
            texts.retain(|t| !t.is_empty());
            let statements = texts.join(";\n");
            let applied = statements.is_empty() || run_state(conn, &statements).await.is_ok();
            if applied {
                conn.state = self.state.fingerprint;
                conn.applied = self.state.sets.clone();
                conn.stale_diagnostics = false;
                conn.stale_characteristics = false;
                return Ok(());
            }
            if conn.conn.broken {
                return Err(Error::data_source_unreachable(
                    &conn.data_source.name,
                    "the connection broke while its session state was applied",
                ));
            }
        }
        conn.reset().await?;
        if self.state.fingerprint != 0 {
            run_state(conn, &self.state.replay()).await?;
            conn.state = self.state.fingerprint;
            conn.applied = self.state.sets.clone();
        }
        Ok(())
    }

    /// The held connections of `data_sources` (each taken before with
    /// [`SessionConns::conn`]), borrowed together so units can run on them concurrently.
    pub fn held_mut(&mut self, data_sources: &[&str]) -> Vec<&mut PooledConn> {
        self.held
            .iter_mut()
            .filter(|h| data_sources.contains(&h.conn.data_source.name.as_str()))
            .map(|h| &mut h.conn)
            .collect()
    }

    /// Records a SET that succeeded on `already_on`'s connection: it becomes
    /// part of the session state, and is sent to every other held connection.
    pub async fn record_state(
        &mut self,
        key: String,
        statement: String,
        already_on: &str,
    ) -> Result<(), Error> {
        // As in the server, the session's value replaces the next transaction's.
        self.next_transaction.remove(&key);
        self.state.record(key, statement.clone());
        let fingerprint = self.state.fingerprint;
        for held in &mut self.held {
            if held.conn.data_source.name != already_on {
                run_state(&mut held.conn, &statement).await?;
            }
            held.conn.state = fingerprint;
            held.conn.applied = self.state.sets.clone();
        }
        Ok(())
    }

    /// A SET the handshake implies (the client's character set).
    pub fn add_replay(&mut self, key: &str, statement: &str) {
        self.state.record(key.to_string(), statement.to_string());
    }

    /// Opens a transaction lazily: each data source gets `begin` when the
    /// session first uses it inside the transaction.
    pub fn begin(&mut self, begin: &[u8]) {
        self.take_characteristics();
        self.transaction = Some(begin.to_vec());
        self.read_only_transaction = crate::sql::replica_read::is_read_only_begin(begin);
    }

    /// Opens an XA transaction lazily: each data source gets `XA START` with
    /// its branch of `gtrid` when the session first uses it.
    pub fn begin_xa(&mut self, gtrid: String, explicit: bool) {
        self.take_characteristics();
        self.transaction = Some(b"XA START".to_vec());
        self.xa = Some(XaOpen {
            gtrid,
            explicit,
            wrote: Vec::new(),
        });
    }

    /// The transaction being opened takes the waiting `SET TRANSACTION`
    /// characteristics, for every data source it reaches.
    fn take_characteristics(&mut self) {
        let texts: Vec<&str> = self.next_transaction.values().map(String::as_str).collect();
        self.transaction_characteristics = (!texts.is_empty()).then(|| texts.join(";\n"));
        self.next_transaction.clear();
    }

    /// Whether a transaction is open: begun by the session, or reported by
    /// a backend (autocommit off after a statement, the client's XA).
    /// `SET TRANSACTION` then goes to the server, which refuses it.
    pub fn in_active_transaction(&self) -> bool {
        self.transaction.is_some()
            || self.held.iter().any(|h| {
                h.conn
                    .conn
                    .status
                    .contains(StatusFlags::SERVER_STATUS_IN_TRANS)
            })
    }

    /// `SET TRANSACTION ...` (no scope): its characteristics wait for the
    /// session's next transaction, on whatever connection runs it.
    pub fn set_next_transaction(&mut self, items: Vec<(String, String)>) {
        self.next_transaction.extend(items);
    }

    /// The open XA transaction, if any.
    pub fn xa(&self) -> Option<&XaOpen> {
        self.xa.as_ref()
    }

    /// A statement that may have written ran on `data_source`.
    pub fn note_xa_write(&mut self, data_source: &str) {
        if let Some(xa) = &mut self.xa {
            if !xa.wrote.iter().any(|d| d == data_source) {
                xa.wrote.push(data_source.to_string());
            }
        }
    }

    /// Whether an XA branch was started on any data source.
    pub fn xa_branches_started(&self) -> bool {
        self.xa.is_some() && self.held.iter().any(|h| h.in_transaction)
    }

    /// Ends the open XA transaction as far as the session is concerned:
    /// its branches' connections (each with whether it was written), for
    /// the caller to commit or roll back. They stay held until the
    /// statement ends; one the caller marks broken is then closed.
    pub fn take_xa(&mut self) -> Option<(XaOpen, Vec<(&mut PooledConn, bool)>)> {
        let xa = self.xa.take()?;
        self.transaction = None;
        self.transaction_characteristics = None;
        let branches = self
            .held
            .iter_mut()
            .filter(|h| h.in_transaction)
            .map(|h| {
                h.in_transaction = false;
                h.used = true;
                let wrote = xa.wrote.contains(&h.conn.data_source.name);
                (&mut h.conn, wrote)
            })
            .collect();
        Some((xa, branches))
    }

    pub fn in_explicit_transaction(&self) -> bool {
        self.transaction.is_some()
    }

    /// Marks `data_source`'s connection as inside a transaction that the
    /// backend opened itself (autocommit off).
    pub fn mark_in_transaction(&mut self, data_source: &str) {
        if let Some(h) = self
            .held
            .iter_mut()
            .find(|h| h.conn.data_source.name == data_source)
        {
            h.in_transaction = true;
        }
    }

    pub fn any_in_transaction(&self) -> bool {
        self.transaction.is_some() || self.held.iter().any(|h| h.in_transaction)
    }

    /// After a statement: updates what pins each connection it used (from
    /// the backend's status and the statement's effects) and gives back
    /// every connection nothing pins any more.
    /// `diagnostic`: the statement only read the diagnostics area (SHOW
    /// WARNINGS and the like), which it leaves as it was: what held a
    /// connection for the next statement holds it still.
    pub fn finish_statement(&mut self, effects: &Effects, failed: bool, diagnostic: bool) {
        let explicit = self.transaction.is_some();
        self.intent = Intent::Primary;
        let mut characteristics_used = false;
        for held in &mut self.held {
            // Reported only where `SET TRANSACTION` was applied: empty once
            // a transaction used them (and ended), or naming the transaction
            // they started.
            if let Some(reported) = held.conn.conn.characteristics.take() {
                characteristics_used |= characteristics::used_up(&reported);
            }
            if let Some(gtid) = held.conn.conn.last_gtid.take() {
                if !held.on_replica {
                    self.gtids.insert(held.conn.data_source.name.clone(), gtid);
                }
            }
            if diagnostic && held.next {
                held.used = false;
            } else if held.used {
                let backend = &held.conn.data_source.backend_latency;
                backend.observe(held.used_since.elapsed());
                let status = held.conn.conn.status;
                let backend_in_trans = status.contains(StatusFlags::SERVER_STATUS_IN_TRANS);
                held.in_transaction = backend_in_trans || (explicit && held.in_transaction);
                held.xa_prepared = backend_in_trans && (held.xa_prepared || effects.prepares_xa());
                held.sticky |= effects.sticky();
                if effects.locks_tables() {
                    held.locked = true;
                }
                if effects.unlocks_tables() {
                    held.locked = false;
                }
                held.next_found_rows = effects.holds_next();
                if failed || held.conn.conn.warnings > 0 {
                    held.conn.stale_diagnostics = true;
                }
                held.next = failed || held.next_found_rows || held.conn.conn.warnings > 0;
                held.used = false;
            } else {
                held.next = false;
                held.next_found_rows = false;
            }
        }
        if characteristics_used {
            self.next_transaction.clear();
        }
        self.release_unpinned();
    }

    fn release_unpinned(&mut self) {
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].pinned() && !self.held[i].conn.conn.broken {
                i += 1;
            } else {
                self.held.swap_remove(i).conn.release();
            }
        }
    }

    /// Whether a connection is held only for the warnings of the last
    /// statement (see [`SessionConns::give_up_wanted_holds`]).
    pub fn holds_for_warnings(&self) -> bool {
        self.held.iter().any(Held::held_for_warnings)
    }

    /// Whether such a connection is one that a session elsewhere waits for.
    pub fn warnings_hold_wanted(&self) -> bool {
        self.held
            .iter()
            .any(|h| h.held_for_warnings() && h.conn.data_source.waiting() > 0)
    }

    /// Gives back the connections held only for warnings that other
    /// sessions wait for, reading their warnings first: those are returned.
    pub async fn give_up_wanted_holds(&mut self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        for held in &mut self.held {
            if !held.held_for_warnings() || held.conn.data_source.waiting() == 0 {
                continue;
            }
            held.next = false;
            match fetch_rows(&mut held.conn, "SHOW WARNINGS").await {
                Ok(rows) => warnings.extend(rows.rows.iter().filter_map(|r| Warning::from_row(r))),
                Err(_) => held.conn.dirty = true,
            }
        }
        self.release_unpinned();
        warnings
    }

    /// Ends the transaction on every data source with `COMMIT` or
    /// `ROLLBACK`, in order. On a failure the error names the data sources
    /// that did and did not finish; every connection leaves the transaction.
    pub async fn end_transaction(&mut self, statement: &str) -> Result<(), Error> {
        self.transaction = None;
        // COMMIT and ROLLBACK use up `SET TRANSACTION`, with or without a transaction.
        self.transaction_characteristics = None;
        self.next_transaction.clear();
        self.xa = None;
        self.read_only_transaction = false;
        let mut done: Vec<String> = Vec::new();
        let mut failure: Option<(String, Error)> = None;
        for held in &mut self.held {
            if !held.in_transaction {
                continue;
            }
            held.in_transaction = false;
            held.used = true;
            if failure.is_some() {
                // After a failed COMMIT the rest are rolled back, never half-committed silently.
                let _ = run_ok(&mut held.conn, "ROLLBACK", None).await;
                continue;
            }
            match run_ok(&mut held.conn, statement, None).await {
                Ok(_) => done.push(held.conn.data_source.name.clone()),
                Err(e) => failure = Some((held.conn.data_source.name.clone(), e)),
            }
        }
        match failure {
            None => Ok(()),
            Some((failed, error)) if done.is_empty() => Err(error.on_data_source(&failed)),
            Some((failed, mut error)) => {
                error.message = format!(
                    "{} finished on data sources [{}] but failed on '{failed}' ({}); the others were rolled back",
                    statement,
                    done.join(", "),
                    error.message
                );
                Err(error)
            }
        }
    }

    /// Gives every connection back; those left with session state (an open
    /// transaction and its locks, temporary tables, variables) are reset
    /// first, and closed if the reset fails. One that may hold the client's
    /// prepared XA branch is closed: the branch stays prepared on the server
    /// for the client to finish from another connection, as on a direct
    /// disconnect. The session state is forgotten.
    pub async fn release_all(&mut self) {
        for mut held in self.held.drain(..) {
            if held.xa_prepared {
                continue;
            }
            if held.pinned() && !held.conn.conn.broken && held.conn.reset().await.is_err() {
                continue;
            }
            held.conn.release();
        }
        self.state = SessionState::default();
        self.transaction = None;
        self.transaction_characteristics = None;
        self.next_transaction.clear();
        self.xa = None;
        self.read_only_transaction = false;
        self.gtids.clear();
    }

    /// Records whether the execute of `sql` just run on `data_source` left
    /// a cursor open there (a new execute closes the statement's old one).
    pub fn note_cursor(&mut self, data_source: &str, sql: &Arc<str>, open: bool) {
        if let Some(h) = self.find(data_source) {
            h.cursors.retain(|c| c != sql);
            if open {
                h.cursors.push(sql.clone());
            }
        }
    }

    /// The cursor of `sql` on `data_source` was read to its end, which
    /// closes it on the server.
    pub fn cursor_exhausted(&mut self, data_source: &str, sql: &str) {
        if let Some(h) = self.find(data_source) {
            h.cursors.retain(|c| &**c != sql);
        }
    }

    /// The client closed or reset a statement: a cursor it left open is
    /// closed on the backend too (with its statement, prepared again when
    /// needed), so the connection can go back to the pool.
    pub fn close_cursor(&mut self, sql: &str) {
        for h in &mut self.held {
            if let Some(at) = h.cursors.iter().position(|c| &**c == sql) {
                h.cursors.swap_remove(at);
                if let Some(id) = h.conn.statements.get(sql).map(|s| s.id) {
                    h.conn.statements.remove(sql);
                    crate::backend::statements::buffer_close(&mut h.conn.conn, id);
                }
            }
        }
    }

    fn find(&mut self, data_source: &str) -> Option<&mut Held> {
        self.held
            .iter_mut()
            .find(|h| h.conn.data_source.name == data_source)
    }

    /// The connection the session holds on `data_source`, if any.
    pub fn held(&mut self, data_source: &str) -> Option<&mut PooledConn> {
        self.held
            .iter_mut()
            .find(|h| h.conn.data_source.name == data_source)
            .map(|h| &mut h.conn)
    }

    /// Data sources currently held.
    pub fn held_data_sources(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|h| h.conn.data_source.name.as_str())
    }
}

/// Whether the replica behind `conn` has applied `gtid`: by the monitor's
/// last look, or else by `MASTER_GTID_WAIT` for at most `wait` (one round
/// trip, only after a write). Never asked of a primary, where it waits in vain.
async fn caught_up(conn: &mut PooledConn, gtid: &str, wait: std::time::Duration) -> bool {
    let Some(wanted) = crate::backend::gtid::GtidPos::parse(gtid) else {
        return false;
    };
    let seen = conn
        .data_source
        .health
        .lock()
        .answer
        .as_ref()
        .map(|a| a.slave_pos.covers(&wanted));
    if seen == Some(true) {
        return true;
    }
    // The text came from the server and parsed as a GTID list: digits, dashes, commas.
    let sql = format!(
        "SELECT MASTER_GTID_WAIT('{gtid}', {:.3})",
        wait.as_secs_f64()
    );
    match fetch_rows(conn, &sql).await {
        Ok(rows) => rows
            .rows
            .first()
            .and_then(|r| r.first())
            .is_some_and(|v| matches!(v, mysql_common::value::Value::Bytes(b) if b == b"0")),
        Err(_) => false,
    }
}
