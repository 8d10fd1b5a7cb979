//! The backend connections one client session holds. A session keeps the
//! connection it got from a data source's pool until the client leaves, so
//! everything the client set on it (variables, transactions, temporary
//! tables, LAST_INSERT_ID, SHOW WARNINGS) stays where the client expects it.
//! The pool resets a connection when the session gives it back.

use crate::error::Error;
use crate::execute::{Backends, DataSource};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::sync::Arc;

/// One held backend connection.
struct Held {
    data_source: Arc<DataSource>,
    conn: Conn,
    /// A transaction was started on it and not yet ended.
    in_transaction: bool,
}

/// The connections of one session, and what must be replayed on a new one.
#[derive(Default)]
pub struct SessionConns {
    held: Vec<Held>,
    /// Session-state statements (SET ...) in the order the client sent them,
    /// replayed on a data source's connection when the session first uses it.
    replay: Vec<Vec<u8>>,
    /// The client's `BEGIN`/`START TRANSACTION` text while a transaction is open.
    transaction: Option<Vec<u8>>,
}

impl SessionConns {
    /// The session's connection to `data_source`, acquiring it (and
    /// replaying session state and an open transaction) on first use.
    pub async fn conn(
        &mut self,
        backends: &Backends,
        data_source: &str,
    ) -> Result<(&mut Conn, &str), Error> {
        let index = match self
            .held
            .iter()
            .position(|h| h.data_source.name == data_source)
        {
            Some(i) => i,
            None => {
                let ds = backends.get(data_source)?.clone();
                let mut conn = ds.acquire().await?;
                for statement in &self.replay {
                    conn.query_drop(statement.as_slice())
                        .await
                        .map_err(|e| crate::execute::backend_error(&ds.name, e))?;
                }
                self.held.push(Held {
                    data_source: ds,
                    conn,
                    in_transaction: false,
                });
                self.held.len() - 1
            }
        };
        let held = &mut self.held[index];
        if let Some(begin) = &self.transaction {
            if !held.in_transaction {
                held.conn
                    .query_drop(begin.as_slice())
                    .await
                    .map_err(|e| crate::execute::backend_error(&held.data_source.name, e))?;
                held.in_transaction = true;
            }
        }
        Ok((&mut held.conn, held.data_source.name.as_str()))
    }

    /// The held connections of `data_sources` (each acquired before with
    /// [`SessionConns::conn`]), borrowed together so units can run on them concurrently.
    pub fn held_mut(&mut self, data_sources: &[&str]) -> Vec<(&str, &mut Conn)> {
        self.held
            .iter_mut()
            .filter(|h| data_sources.contains(&h.data_source.name.as_str()))
            .map(|h| (h.data_source.name.as_str(), &mut h.conn))
            .collect()
    }

    /// Records a session-state statement that succeeded on one connection
    /// and sends it to every other held connection.
    pub async fn record_state(&mut self, statement: &[u8], already_on: &str) -> Result<(), Error> {
        for held in &mut self.held {
            if held.data_source.name != already_on {
                held.conn
                    .query_drop(statement)
                    .await
                    .map_err(|e| crate::execute::backend_error(&held.data_source.name, e))?;
            }
        }
        self.replay.push(statement.to_vec());
        Ok(())
    }

    /// Adds a session-state statement to replay on every connection acquired from now on.
    pub fn add_replay(&mut self, statement: &str) {
        self.replay.push(statement.as_bytes().to_vec());
    }

    /// Opens a transaction lazily: each data source gets `begin` when the
    /// session first uses it inside the transaction.
    pub fn begin(&mut self, begin: &[u8]) {
        self.transaction = Some(begin.to_vec());
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
            .find(|h| h.data_source.name == data_source)
        {
            h.in_transaction = true;
        }
    }

    pub fn any_in_transaction(&self) -> bool {
        self.transaction.is_some() || self.held.iter().any(|h| h.in_transaction)
    }

    /// Ends the transaction on every data source with `COMMIT` or
    /// `ROLLBACK`, in order. On a failure the error names the data sources
    /// that did and did not finish; every connection leaves the transaction.
    pub async fn end_transaction(&mut self, statement: &str) -> Result<(), Error> {
        self.transaction = None;
        let mut done: Vec<String> = Vec::new();
        let mut failure: Option<(String, Error)> = None;
        for held in &mut self.held {
            if !held.in_transaction {
                continue;
            }
            held.in_transaction = false;
            if failure.is_some() {
                // After a failed COMMIT the rest are rolled back, never half-committed silently.
                let _ = held.conn.query_drop("ROLLBACK").await;
                continue;
            }
            match held.conn.query_drop(statement).await {
                Ok(()) => done.push(held.data_source.name.clone()),
                Err(e) => {
                    let name = held.data_source.name.clone();
                    failure = Some((name.clone(), crate::execute::backend_error(&name, e)));
                }
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

    /// Gives every connection back; each is reset by the pool before reuse.
    pub fn release_all(&mut self) {
        self.held.clear();
        self.replay.clear();
        self.transaction = None;
    }

    /// Data sources currently held, in acquisition order.
    pub fn held_data_sources(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|h| h.data_source.name.as_str())
    }
}
