//! What the session writes back to its client, independent of the wire: the
//! protocol implements it for text (COM_QUERY) and binary (COM_STMT_EXECUTE)
//! results. Writes are buffered; `flush` is awaited every so often while rows
//! stream, so a slow client slows the backend instead of filling memory.

use crate::error::Error;
use mysql_common::constants::StatusFlags;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::future::Future;
use std::io;

/// An OK packet's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkInfo {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub warnings: u16,
    pub info: String,
}

/// The buffered bytes past which a relay awaits a flush to the client.
pub const FLUSH_THRESHOLD: usize = 64 * 1024;

/// The client's side of a command's answer.
pub trait Reply: Send {
    /// Starts a result set.
    fn columns(&mut self, columns: &[Column]);
    /// Starts a result set whose `n` column definitions follow as a
    /// backend sent them ([`Reply::raw_column`]), then [`Reply::columns_done`].
    fn column_count(&mut self, n: usize);
    /// One column definition packet, relayed as is (with MariaDB's
    /// extended metadata exactly when [`Reply::extended_metadata`]).
    fn raw_column(&mut self, payload: &[u8]);
    /// Whether column definitions carry MariaDB's extended metadata (the
    /// client negotiated MARIADB_CLIENT_EXTENDED_METADATA).
    fn extended_metadata(&self) -> bool;
    /// The column definitions are complete.
    fn columns_done(&mut self);
    /// One row packet (text or binary), relayed as is.
    fn raw_row(&mut self, payload: &[u8]);
    /// One row of the current result set.
    fn row(&mut self, values: &[Value]);
    /// Ends the current result set.
    fn end_rows(&mut self, status: StatusFlags, warnings: u16);
    /// A result with no rows.
    fn ok(&mut self, ok: &OkInfo, status: StatusFlags);
    /// An error; ends the command's answer (MySQL sends no more results after it).
    fn error(&mut self, error: &Error);
    /// Bytes buffered and not yet sent.
    fn pending(&self) -> usize;
    /// Sends what is buffered.
    fn flush(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}
