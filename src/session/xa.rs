//! The session's side of XA transactions: which mode the next transaction
//! uses (`SET shardgate_transaction_mode`), starting one, refusing what a
//! branch cannot run, noting where it wrote, and ending it (crate::xa does
//! the two-phase commit).

use super::diagnostics::Warning;
use super::Session;
use crate::config::TransactionMode;
use crate::error::{Error, Origin};
use crate::sql::scan::{is_keyword, Scanner, Token};
use crate::sql::StatementKind;
use crate::xa::commit::{self, Branch, Committed};

/// The session variable that picks the next transaction's mode.
const MODE_VARIABLE: &str = "shardgate_transaction_mode";

/// `SET [SESSION] shardgate_transaction_mode = 'local' | 'xa' | DEFAULT`:
/// `Some(None)` for DEFAULT, `None` when `sql` is not that statement.
pub fn mode_assignment(sql: &[u8]) -> Option<Result<Option<TransactionMode>, Error>> {
    let mut tokens = Scanner::new(sql).filter(|t| *t != Token::Punct(';'));
    if !tokens.next().is_some_and(|t| is_keyword(&t, "SET")) {
        return None;
    }
    let mut name = tokens.next()?;
    if is_keyword(&name, "SESSION") || is_keyword(&name, "LOCAL") {
        name = tokens.next()?;
    }
    let named = match name {
        Token::Word(w) => w.eq_ignore_ascii_case(MODE_VARIABLE),
        Token::Variable(v) => {
            crate::sql::scan::unscoped_variable(v).eq_ignore_ascii_case(MODE_VARIABLE)
        }
        _ => false,
    };
    if !named || tokens.next() != Some(Token::Punct('=')) {
        return None;
    }
    let value = match tokens.next() {
        Some(Token::Str(s)) => crate::sql::classify::unquote_string(s),
        Some(Token::Word(w)) => w.to_string(),
        _ => String::new(),
    };
    if tokens.next().is_some() {
        return Some(Err(Error::not_supported(format!(
            "{MODE_VARIABLE} set together with other variables"
        ))));
    }
    Some(match value.to_ascii_lowercase().as_str() {
        "local" => Ok(Some(TransactionMode::Local)),
        "xa" => Ok(Some(TransactionMode::Xa)),
        "default" => Ok(None),
        _ => Err(Error::new(
            1231,
            "42000",
            format!("Variable '{MODE_VARIABLE}' can't be set to the value of '{value}' (use 'local' or 'xa')"),
            Origin::Client,
        )),
    })
}

/// The coordinator of `server.data_dir`, named by `server.instance_name`
/// or the worker id.
pub fn open_coordinator(
    server: &crate::config::ServerConfig,
    metrics: &crate::admin::metrics::Metrics,
) -> Result<crate::xa::Coordinator, String> {
    let id = crate::xa::proxy_id(server)?;
    crate::xa::Coordinator::open(&server.data_dir, &id, metrics.xa.clone())
}

impl super::Shared {
    /// A recovery pass over every primary; run at start-up before clients
    /// are accepted.
    pub async fn recover_xa(&self) -> Option<crate::xa::recovery::Pass> {
        let coordinator = self.xa.as_ref()?;
        let generation = self.current();
        Some(crate::xa::recovery::pass(coordinator, &generation.backends).await)
    }

    /// Recovery passes from now on, on the caller's runtime.
    pub fn spawn_xa_recovery(self: &std::sync::Arc<Self>) {
        let Some(coordinator) = self.xa.clone() else {
            return;
        };
        let shared = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            let current = move || shared.upgrade().map(|s| s.current());
            crate::xa::recovery::run_periodically(coordinator, current).await;
        });
    }

    /// `SHOW XA TRANSACTIONS`: in flight, decided but not done, and the
    /// branches recovery could not finish yet.
    pub fn xa_transactions(&self) -> super::local::LocalResult {
        use super::local::{integer_column, text, text_column};
        use mysql_common::value::Value;
        let columns = vec![
            text_column("Gtrid"),
            text_column("State"),
            text_column("Data_sources"),
            integer_column("Age_s"),
        ];
        let mut rows = Vec::new();
        let Some(coordinator) = &self.xa else {
            return super::local::LocalResult { columns, rows };
        };
        let in_flight = coordinator.in_flight();
        for (gtrid, f) in &in_flight {
            rows.push(vec![
                text(gtrid),
                text(f.phase.name()),
                text(&f.data_sources.join(",")),
                Value::Int(f.since.elapsed().as_secs() as i64),
            ]);
        }
        let now = crate::xa::log::now_ms();
        for (gtrid, d) in coordinator.log.open_decisions() {
            if in_flight.iter().any(|(g, _)| *g == gtrid) {
                continue;
            }
            rows.push(vec![
                text(&gtrid),
                text("COMMITTING (recovery)"),
                text(&d.data_sources.join(",")),
                Value::Int((now.saturating_sub(d.at_ms) / 1000) as i64),
            ]);
        }
        let in_doubt = coordinator
            .in_doubt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut in_doubt: Vec<_> = in_doubt.into_iter().collect();
        in_doubt.sort();
        for ((gtrid, ds), since) in in_doubt {
            rows.push(vec![
                text(&gtrid),
                text("IN DOUBT"),
                text(&ds),
                Value::Int(since.elapsed().as_secs() as i64),
            ]);
        }
        super::local::LocalResult { columns, rows }
    }
}

/// 1399/XAE07 from the proxy: the statement cannot run inside a branch.
fn refused(what: &str) -> Error {
    Error::new(
        1399,
        "XAE07",
        format!("{what} cannot run inside an XA transaction (shardgate_transaction_mode = 'xa'); COMMIT or ROLLBACK it first"),
        Origin::Client,
    )
}

impl Session {
    /// Whether the next transaction uses XA.
    pub(super) fn xa_mode(&self) -> bool {
        let mode = self
            .transaction_mode
            .unwrap_or(self.generation.config.server.transaction_mode);
        mode == TransactionMode::Xa && self.shared.xa.is_some()
    }

    /// Opens a transaction: XA in xa mode, else as the client wrote it.
    pub(super) fn begin_transaction(&mut self, begin: &[u8], explicit: bool) {
        match self.shared.xa.as_ref().filter(|_| self.xa_mode()) {
            Some(coordinator) => {
                let gtrid = coordinator.next_gtrid();
                self.conns.begin_xa(gtrid, explicit);
            }
            None => self.conns.begin(begin),
        }
    }

    /// `SET shardgate_transaction_mode = ...`, answered by the proxy.
    pub(super) fn set_transaction_mode(
        &mut self,
        mode: Option<TransactionMode>,
    ) -> Result<(), Error> {
        if mode == Some(TransactionMode::Xa) && self.shared.xa.is_none() {
            return Err(Error::new(
                1105,
                "HY000",
                format!(
                    "XA transactions are unavailable: {}",
                    self.shared
                        .xa_unavailable
                        .as_deref()
                        .unwrap_or("no decision log")
                ),
                Origin::Internal,
            ));
        }
        self.transaction_mode = mode;
        Ok(())
    }

    /// Before a statement: with autocommit off in xa mode every statement
    /// runs in a transaction, which is an XA one; and what a branch would
    /// refuse (DDL, LOCK TABLES, BEGIN, the client's own XA) is refused first.
    pub(super) fn xa_before_statement(
        &mut self,
        sql: &[u8],
        kind: &StatementKind,
        ddl: bool,
    ) -> Result<(), Error> {
        let in_branch = self
            .conns
            .xa()
            .is_some_and(|xa| xa.explicit || self.conns.xa_branches_started());
        if in_branch {
            let first = Scanner::new(sql).next();
            let first_is = |kw: &str| first.as_ref().is_some_and(|t| is_keyword(t, kw));
            if *kind == StatementKind::Begin {
                return Err(refused("BEGIN (a nested transaction)"));
            }
            if ddl {
                return Err(refused("DDL (it would commit the transaction implicitly)"));
            }
            if crate::sql::effects(sql).locks_tables() || first_is("LOCK") {
                return Err(refused("LOCK TABLES"));
            }
            if first_is("XA") {
                return Err(refused("A client's own XA statement"));
            }
        } else if self.conns.xa().is_some() && ddl {
            // Autocommit off, nothing run yet: the DDL runs on its own.
            self.conns.take_xa();
        }
        let uses_backends = !matches!(
            kind,
            StatementKind::Begin
                | StatementKind::Commit
                | StatementKind::Rollback
                | StatementKind::Set
                | StatementKind::Empty
                | StatementKind::Use(_)
                | StatementKind::Admin
        );
        if !self.autocommit
            && uses_backends
            && !ddl
            && !self.conns.in_explicit_transaction()
            && self.xa_mode()
        {
            self.begin_transaction(b"", false);
        }
        Ok(())
    }

    /// After a statement in an XA transaction: where it may have written is
    /// noted; a deadlock on any branch rolls the whole transaction back.
    pub(super) async fn xa_after_statement(
        &mut self,
        kind: &StatementKind,
        result: &mut Result<(), Error>,
    ) {
        if self.conns.xa().is_none() {
            return;
        }
        let reads = matches!(kind, StatementKind::Select | StatementKind::Metadata);
        if !reads {
            for ds in self.touched.as_slice().to_vec() {
                self.conns.note_xa_write(&ds);
            }
        }
        if let Err(e) = result {
            if e.code == 1213 {
                self.xa_end(false).await.ok();
                e.message = format!(
                    "{}; the whole XA transaction was rolled back on every data source",
                    e.message
                );
            }
        }
    }

    /// Ends the open XA transaction: COMMIT (two-phase when it wrote on
    /// several data sources) or ROLLBACK. `Ok(Some(w))`: committed, with a
    /// warning about branches still committing.
    pub(super) async fn xa_end(&mut self, commit: bool) -> Result<Option<Warning>, Error> {
        let Some(coordinator) = self.shared.xa.clone() else {
            return Ok(None);
        };
        let Some((open, conns)) = self.conns.take_xa() else {
            return Ok(None);
        };
        let branches: Vec<Branch<'_>> = conns
            .into_iter()
            .map(|(conn, wrote)| Branch { conn, wrote })
            .collect();
        if branches.is_empty() {
            return Ok(None);
        }
        if !commit {
            commit::rollback(&coordinator, &open.gtrid, branches).await;
            return Ok(None);
        }
        match commit::commit(&coordinator, &open.gtrid, branches).await? {
            Committed::All => Ok(None),
            Committed::Pending(data_sources) => Ok(Some(Warning {
                level: "Warning".into(),
                code: 1105,
                message: format!(
                    "XA transaction {} is committed; its branches on [{}] are still committing and finish in the background",
                    open.gtrid,
                    data_sources.join(", ")
                ),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_variable_is_recognised() {
        let mode = |s: &str| mode_assignment(s.as_bytes()).map(|r| r.ok());
        assert_eq!(
            mode("SET shardgate_transaction_mode = 'xa'"),
            Some(Some(Some(TransactionMode::Xa)))
        );
        assert_eq!(
            mode("set session shardgate_transaction_mode='LOCAL'"),
            Some(Some(Some(TransactionMode::Local)))
        );
        assert_eq!(
            mode("SET @@session.shardgate_transaction_mode = xa"),
            Some(Some(Some(TransactionMode::Xa)))
        );
        assert_eq!(
            mode("SET shardgate_transaction_mode = DEFAULT"),
            Some(Some(None))
        );
        assert_eq!(mode("SET shardgate_transaction_mode = '2pc'"), Some(None));
        assert_eq!(mode("SET autocommit = 0"), None);
        assert_eq!(mode("SELECT 1"), None);
    }
}
