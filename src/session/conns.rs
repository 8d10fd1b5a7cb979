//! The backend connections one client session holds. A session keeps the
//! connection it got from a data source's pool until the client leaves, so
//! everything the client set on it (variables, transactions, temporary
//! tables, LAST_INSERT_ID, SHOW WARNINGS) stays where the client expects it.
//! Connections it gives back are parked on the session thread and reset
//! before anyone uses them again.

use crate::error::Error;
use crate::execute::{BackendConn, Backends, IdleConns};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// One held backend connection.
struct Held {
    conn: BackendConn,
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
    /// Connections of this thread that no client holds now.
    idle: IdleConns,
}

impl SessionConns {
    /// The session's connection to `data_source`, acquiring it (and
    /// replaying session state and an open transaction) on first use.
    pub async fn conn(
        &mut self,
        backends: &Backends,
        data_source: &str,
    ) -> Result<(&mut Conn, &str), Error> {
        let (name, conn) = self.backend(backends, data_source).await?.named();
        Ok((conn, name))
    }

    /// As [`SessionConns::conn`], the connection with what the proxy keeps of it.
    pub async fn backend(
        &mut self,
        backends: &Backends,
        data_source: &str,
    ) -> Result<&mut BackendConn, Error> {
        let index = match self
            .held
            .iter()
            .position(|h| h.conn.data_source.name == data_source)
        {
            Some(i) => i,
            None => {
                let mut conn = match self.idle.take(data_source).await {
                    Some(conn) => conn,
                    None => backends.get(data_source)?.acquire().await?,
                };
                for statement in &self.replay {
                    conn.query_drop(statement.as_slice())
                        .await
                        .map_err(|e| crate::execute::backend_error(data_source, e))?;
                }
                self.held.push(Held {
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
                    .map_err(|e| crate::execute::backend_error(&held.conn.data_source.name, e))?;
                held.in_transaction = true;
            }
        }
        Ok(&mut held.conn)
    }

    /// The held connections of `data_sources` (each acquired before with
    /// [`SessionConns::conn`]), borrowed together so units can run on them concurrently.
    pub fn held_mut(&mut self, data_sources: &[&str]) -> Vec<(&str, &mut Conn)> {
        self.held
            .iter_mut()
            .filter(|h| data_sources.contains(&h.conn.data_source.name.as_str()))
            .map(|h| h.conn.named())
            .collect()
    }

    /// Records a session-state statement that succeeded on one connection
    /// and sends it to every other held connection.
    pub async fn record_state(&mut self, statement: &[u8], already_on: &str) -> Result<(), Error> {
        for held in &mut self.held {
            if held.conn.data_source.name != already_on {
                held.conn
                    .query_drop(statement)
                    .await
                    .map_err(|e| crate::execute::backend_error(&held.conn.data_source.name, e))?;
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
            .find(|h| h.conn.data_source.name == data_source)
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
                Ok(()) => done.push(held.conn.data_source.name.clone()),
                Err(e) => {
                    let name = held.conn.data_source.name.clone();
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

    /// A session's connections, starting from those its thread kept.
    pub fn new(idle: IdleConns) -> Self {
        SessionConns {
            held: Vec::new(),
            replay: Vec::new(),
            transaction: None,
            idle,
        }
    }

    /// Gives every connection back and resets it (which rolls back an open
    /// transaction and frees its locks) before anyone uses it again.
    pub async fn release_all(&mut self) {
        for held in self.held.drain(..) {
            self.idle.park(held.conn);
        }
        self.replay.clear();
        self.transaction = None;
        self.idle.reset_all().await;
    }

    /// Releases everything and hands the thread's connections on to its next client.
    pub async fn into_idle(mut self) -> IdleConns {
        self.release_all().await;
        std::mem::take(&mut self.idle)
    }

    /// Data sources currently held, in acquisition order.
    pub fn held_data_sources(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|h| h.conn.data_source.name.as_str())
    }
}
