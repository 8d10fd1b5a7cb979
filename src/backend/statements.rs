//! Prepared statements on one backend connection. Clients' statements are
//! the session's; a connection prepares one the first time a session runs it
//! there and keeps its handle, up to [`MAX_STATEMENTS`].

use super::conn::Connection;
use super::response::{self, Frame};
use crate::error::Error;
use crate::hash::HashMap;
use mysql_common::constants::Command;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{Column, StmtPacket};
use std::sync::Arc;

/// Handles kept per connection; past this many the least recently used is closed.
pub const MAX_STATEMENTS: usize = 64;

/// One statement prepared on a backend connection.
#[derive(Debug, Clone)]
pub struct BackendStatement {
    pub id: u32,
    pub params: usize,
    pub columns: usize,
    /// Whether an execute on this connection already sent the parameter types
    /// (later executes may then send the new-params-bound flag 0).
    pub types_sent: bool,
    last_use: u64,
}

/// The statements a connection holds, by SQL text.
#[derive(Default)]
pub struct StatementCache {
    by_sql: HashMap<Arc<str>, BackendStatement>,
    uses: u64,
}

impl StatementCache {
    pub fn get(&mut self, sql: &str) -> Option<&mut BackendStatement> {
        self.uses += 1;
        let uses = self.uses;
        let statement = self.by_sql.get_mut(sql)?;
        statement.last_use = uses;
        Some(statement)
    }

    /// Keeps a new handle; returns the id of one to close: the handle it
    /// replaces for the same text, or the least recently used when full.
    pub fn insert(&mut self, sql: Arc<str>, id: u32, params: usize, columns: usize) -> Option<u32> {
        let mut evicted = self.by_sql.remove(&sql).map(|s| s.id);
        if evicted.is_none() && self.by_sql.len() >= MAX_STATEMENTS {
            if let Some(oldest) = self
                .by_sql
                .iter()
                .min_by_key(|(_, s)| s.last_use)
                .map(|(k, _)| k.clone())
            {
                evicted = self.by_sql.remove(&oldest).map(|s| s.id);
            }
        }
        self.uses += 1;
        self.by_sql.insert(
            sql,
            BackendStatement {
                id,
                params,
                columns,
                types_sent: false,
                last_use: self.uses,
            },
        );
        evicted
    }

    pub fn remove(&mut self, sql: &str) {
        self.by_sql.remove(sql);
    }

    /// After a reset the backend forgot every statement.
    pub fn clear(&mut self) {
        self.by_sql.clear();
    }
}

/// What COM_STMT_PREPARE answered.
pub struct Prepared {
    pub id: u32,
    pub params: Vec<Column>,
    pub columns: Vec<Column>,
    /// Each column's MariaDB extended metadata field as the backend sent
    /// it (length-encoded); none on a connection without extended metadata.
    pub extended: Vec<Vec<u8>>,
}

/// Prepares `sql` on `conn` (COM_STMT_PREPARE) and reads its metadata.
pub async fn prepare(
    conn: &mut Connection,
    data_source: &str,
    sql: &str,
) -> Result<Prepared, Error> {
    const PREPARE: u8 = Command::COM_STMT_PREPARE as u8;
    let io = |e: std::io::Error| super::conn::io_error(data_source, &e);
    conn.send_command(PREPARE, sql.as_bytes())
        .await
        .map_err(io)?;
    let caps = conn.capabilities;
    let packet = conn.read_packet().await.map_err(io)?;
    if response::is_error(packet) {
        return Err(response::server_error(packet, caps, data_source));
    }
    let ok: StmtPacket = ParseBuf(packet)
        .parse(())
        .map_err(|_| response::malformed(data_source))?;
    let (id, n_params, n_columns) = (
        ok.statement_id(),
        ok.num_params() as usize,
        ok.num_columns() as usize,
    );
    let params = read_columns(conn, data_source, n_params).await?;
    let mut extended = Vec::new();
    let columns = read_definitions(conn, data_source, n_columns, Some(&mut extended)).await?;
    Ok(Prepared {
        id,
        params,
        columns,
        extended,
    })
}

/// Reads `n` column definitions (and, without DEPRECATE_EOF, their EOF).
pub async fn read_columns(
    conn: &mut Connection,
    data_source: &str,
    n: usize,
) -> Result<Vec<Column>, Error> {
    read_definitions(conn, data_source, n, None).await
}

/// [`read_columns`], keeping each extended metadata field in `extended`
/// when asked to (and the connection has them).
async fn read_definitions(
    conn: &mut Connection,
    data_source: &str,
    n: usize,
    mut extended_fields: Option<&mut Vec<Vec<u8>>>,
) -> Result<Vec<Column>, Error> {
    let mut columns = Vec::with_capacity(n);
    let extended = conn.extended_metadata;
    let mut plain = Vec::new();
    for _ in 0..n {
        let packet = conn
            .read_packet()
            .await
            .map_err(|e| super::conn::io_error(data_source, &e))?;
        // mysql_common's column has no extended metadata: read without it.
        let definition = if extended {
            match response::extended_metadata(packet) {
                Some(field) => {
                    if let Some(fields) = extended_fields.as_deref_mut() {
                        fields.push(field.to_vec());
                    }
                    if !response::without_extended_metadata(packet, &mut plain) {
                        plain.clear();
                    }
                }
                None => plain.clear(),
            }
            plain.as_slice()
        } else {
            packet
        };
        let column: Column = ParseBuf(definition).parse(()).map_err(|_| {
            conn.broken = true;
            response::malformed(data_source)
        })?;
        columns.push(column);
    }
    Ok(columns)
}

/// Buffers COM_STMT_CLOSE (it has no answer), sent with the next command.
pub fn buffer_close(conn: &mut Connection, id: u32) {
    const CLOSE: u8 = Command::COM_STMT_CLOSE as u8;
    conn.buffer_command(CLOSE, &id.to_le_bytes());
}

/// Sends one COM_STMT_SEND_LONG_DATA chunk (no answer).
pub fn buffer_long_data(conn: &mut Connection, id: u32, param: u16, data: &[u8]) {
    const LONG_DATA: u8 = Command::COM_STMT_SEND_LONG_DATA as u8;
    let mut body = Vec::with_capacity(6 + data.len());
    body.extend_from_slice(&id.to_le_bytes());
    body.extend_from_slice(&param.to_le_bytes());
    body.extend_from_slice(data);
    conn.buffer_command(LONG_DATA, &body);
}

/// Checks that the first packet of an answer is not an error and returns it.
pub fn first_frame(conn: &Connection, data_source: &str) -> Frame {
    response::frame(conn.last_packet(), conn.capabilities, data_source)
}
