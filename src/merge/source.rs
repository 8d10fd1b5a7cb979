//! Where merged rows come from and go to: one [`RowSource`] per execution
//! unit (the executor wraps a backend's result stream; tests and benches use
//! [`MemorySource`]), and one [`RowSink`] for the client ([`ReplySink`] over a
//! session's [`Reply`], or a `Vec` in tests).

use crate::error::{Error, Origin};
use crate::session::reply::{Reply, FLUSH_THRESHOLD};
use mysql_common::value::Value;
use std::future::Future;

/// The rows of one execution unit, in the order the data source sent them.
pub trait RowSource: Send {
    /// The next row (every column of the unit result), `None` at the end.
    fn next_row(&mut self) -> impl Future<Output = Result<Option<Vec<Value>>, Error>> + Send;
}

/// A source lent to a merge stays its owner's, who may finish reading it after.
impl<S: RowSource> RowSource for &mut S {
    fn next_row(&mut self) -> impl Future<Output = Result<Option<Vec<Value>>, Error>> + Send {
        (**self).next_row()
    }
}

/// Where the merged result's rows go, visible columns only.
pub trait RowSink: Send {
    /// Takes one row; awaiting it is how a slow client slows the merge.
    fn row(&mut self, values: &[Value]) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Rows held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    /// The rows not yet read.
    rows: std::vec::IntoIter<Vec<Value>>,
}

impl MemorySource {
    /// A source that yields `rows` in order.
    pub fn new(rows: Vec<Vec<Value>>) -> Self {
        MemorySource {
            rows: rows.into_iter(),
        }
    }
}

impl RowSource for MemorySource {
    async fn next_row(&mut self) -> Result<Option<Vec<Value>>, Error> {
        Ok(self.rows.next())
    }
}

impl RowSink for Vec<Vec<Value>> {
    async fn row(&mut self, values: &[Value]) -> Result<(), Error> {
        self.push(values.to_vec());
        Ok(())
    }
}

/// Writes merged rows to a client's [`Reply`], awaiting a flush whenever
/// [`FLUSH_THRESHOLD`] bytes are buffered, so a slow client slows the reading.
#[derive(Debug)]
pub struct ReplySink<'a, R> {
    /// The client's reply, its result set already started with the visible columns.
    reply: &'a mut R,
    /// Rows sent so far (the rows-merged metric).
    rows: u64,
}

impl<'a, R: Reply> ReplySink<'a, R> {
    /// Rows go to `reply`.
    pub fn new(reply: &'a mut R) -> Self {
        ReplySink { reply, rows: 0 }
    }

    /// Rows sent so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

impl<R: Reply> RowSink for ReplySink<'_, R> {
    async fn row(&mut self, values: &[Value]) -> Result<(), Error> {
        self.reply.row(values);
        self.rows += 1;
        if self.reply.pending() >= FLUSH_THRESHOLD {
            self.reply.flush().await.map_err(|e| {
                Error::new(
                    1160,
                    "08S01",
                    format!("client write failed: {e}"),
                    Origin::Client,
                )
            })?;
        }
        Ok(())
    }
}
