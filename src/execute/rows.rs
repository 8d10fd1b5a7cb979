//! Answers the proxy reads itself: rows decoded for a merge, rows passed on
//! for a concatenation, OKs of writes, and whole small results.

use super::relay::{self, client_gone};
use crate::backend::response::{self, Frame, OkSummary};
use crate::backend::{statements, PooledConn};
use crate::error::Error;
use crate::session::reply::{Reply, FLUSH_THRESHOLD};
use mysql_common::constants::StatusFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;
use mysql_common::row::RowDeserializer;
use mysql_common::value::{ServerSide, Value};
use std::sync::Arc;

/// The first frame of the answer to the command just sent.
async fn first_frame(conn: &mut PooledConn) -> Result<Frame, Error> {
    let caps = conn.conn.capabilities;
    let ds = conn.data_source.clone();
    let packet = conn.read().await?;
    Ok(response::frame(packet, caps, &ds.name))
}

/// Reads and drops the rest of an answer whose status says more results follow.
async fn drain_more(conn: &mut PooledConn, mut status: StatusFlags) -> Result<OkSummary, Error> {
    let mut last = OkSummary {
        status,
        ..Default::default()
    };
    while status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS) {
        last = drain_one(conn).await?;
        status = last.status;
    }
    Ok(last)
}

/// Reads one result (OK, or a whole result set) and returns its end.
async fn drain_one(conn: &mut PooledConn) -> Result<OkSummary, Error> {
    match first_frame(conn).await? {
        Frame::Ok(ok) => {
            conn.conn.note(&ok);
            Ok(ok)
        }
        Frame::Err(e) => Err(e),
        Frame::Columns(n) => {
            for _ in 0..n {
                conn.read().await?;
            }
            skip_rows(conn).await
        }
        Frame::LocalInfile => {
            conn.conn.broken = true;
            Err(Error::not_supported("LOAD DATA LOCAL INFILE"))
        }
    }
}

async fn skip_rows(conn: &mut PooledConn) -> Result<OkSummary, Error> {
    let ds = conn.data_source.clone();
    loop {
        let caps = conn.conn.capabilities;
        let packet = conn.read().await?;
        if response::is_terminator(packet) {
            let end = response::parse_terminator(packet, caps)
                .ok_or_else(|| response::malformed(&ds.name))?;
            conn.conn.note(&end);
            return Ok(end);
        }
        if response::is_error(packet) {
            return Err(response::server_error(packet, caps, &ds.name));
        }
    }
}

/// Runs a statement that answers with OK (a write, DDL, SET) and returns
/// the last OK; result sets, if any, are read and dropped.
pub async fn run_ok(
    conn: &mut PooledConn,
    sql: &str,
    params: Option<&[Value]>,
) -> Result<OkSummary, Error> {
    relay::send_statement(conn, sql, params).await?;
    let first = drain_one(conn).await?;
    drain_more(conn, first.status).await.map(|last| {
        if first
            .status
            .contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS)
        {
            last
        } else {
            first
        }
    })
}

/// Runs `sql` (text, possibly several statements) and returns the last OK.
pub async fn exec_drop(conn: &mut PooledConn, sql: &str) -> Result<OkSummary, Error> {
    run_ok(conn, sql, None).await
}

/// Runs one statement and passes on only the rows of its first result set
/// (and the column definitions when `send_columns`); returns its warnings.
/// For concatenating the rows of several execution units into one result.
pub async fn stream_rows<R: Reply>(
    conn: &mut PooledConn,
    sql: &str,
    params: Option<&[Value]>,
    reply: &mut R,
    send_columns: bool,
) -> Result<u16, Error> {
    relay::send_statement(conn, sql, params).await?;
    let n = match first_frame(conn).await? {
        Frame::Columns(n) => n,
        Frame::Err(e) => return Err(e),
        Frame::Ok(ok) => {
            conn.conn.note(&ok);
            drain_more(conn, ok.status).await?;
            return Err(Error::internal("a unit answered without a result set"));
        }
        Frame::LocalInfile => {
            conn.conn.broken = true;
            return Err(Error::not_supported("LOAD DATA LOCAL INFILE"));
        }
    };
    if send_columns {
        reply.column_count(n);
    }
    let relayed = send_columns.then_some(&mut *reply);
    relay::relay_columns(conn, n, relayed).await?;
    if send_columns {
        reply.columns_done();
    }
    let ds = conn.data_source.clone();
    let end = loop {
        let caps = conn.conn.capabilities;
        let packet = conn.read().await?;
        if response::is_terminator(packet) {
            let end = response::parse_terminator(packet, caps)
                .ok_or_else(|| response::malformed(&ds.name))?;
            conn.conn.note(&end);
            break end;
        }
        if response::is_error(packet) {
            return Err(response::server_error(packet, caps, &ds.name));
        }
        reply.raw_row(packet);
        if reply.pending() >= FLUSH_THRESHOLD {
            if let Err(e) = reply.flush().await {
                conn.conn.broken = true;
                return Err(client_gone(e));
            }
        }
    };
    drain_more(conn, end.status).await?;
    Ok(end.warnings)
}

/// One execution unit's rows, decoded, as a merge source.
pub struct UnitRows<'a> {
    conn: &'a mut PooledConn,
    columns: Arc<[Column]>,
    binary: bool,
    done: bool,
}

impl<'a> UnitRows<'a> {
    /// Starts a unit's statement (text, or prepared with `params`) and returns
    /// its rows once the backend has sent its column definitions.
    pub async fn open(
        conn: &'a mut PooledConn,
        sql: &str,
        params: Option<&[Value]>,
    ) -> Result<UnitRows<'a>, Error> {
        let name = conn.data_source.name.clone();
        let on = |e: Error| e.on_data_source(&name);
        relay::send_statement(conn, sql, params).await.map_err(on)?;
        let n = match first_frame(conn).await.map_err(on)? {
            Frame::Columns(n) => n,
            Frame::Err(e) => return Err(on(e)),
            _ => {
                conn.conn.broken = true;
                return Err(on(Error::internal("a merged unit answered without rows")));
            }
        };
        let columns = statements::read_columns(&mut conn.conn, &name, n).await?;
        Ok(UnitRows {
            conn,
            columns: columns.into(),
            binary: params.is_some(),
            done: false,
        })
    }

    /// Reads and drops the rows the merge did not need (its LIMIT was
    /// reached first), so the connection stays usable: a session in a
    /// transaction keeps its branch on this data source, and any other
    /// session saves a new connection.
    pub async fn finish(&mut self) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        let name = self.conn.data_source.name.clone();
        let end = skip_rows(self.conn)
            .await
            .map_err(|e| e.on_data_source(&name))?;
        self.done = true;
        drain_more(self.conn, end.status).await?;
        Ok(())
    }

    /// The unit's columns (visible, then derived).
    pub fn columns(&self) -> Vec<Column> {
        self.columns.to_vec()
    }
}

impl Drop for UnitRows<'_> {
    fn drop(&mut self) {
        // Rows left unread (LIMIT reached, a refused merge, an error
        // elsewhere) would be the next statement's answer: never reuse it.
        if !self.done {
            self.conn.conn.broken = true;
        }
    }
}

impl crate::merge::RowSource for UnitRows<'_> {
    async fn next_row(&mut self) -> Result<Option<Vec<Value>>, Error> {
        if self.done {
            return Ok(None);
        }
        let name = self.conn.data_source.name.clone();
        let caps = self.conn.conn.capabilities;
        let packet = self
            .conn
            .read()
            .await
            .map_err(|e| e.on_data_source(&name))?;
        if response::is_terminator(packet) {
            let end = response::parse_terminator(packet, caps)
                .ok_or_else(|| response::malformed(&name))?;
            self.conn.conn.note(&end);
            self.done = true;
            drain_more(self.conn, end.status).await?;
            return Ok(None);
        }
        if response::is_error(packet) {
            return Err(response::server_error(packet, caps, &name).on_data_source(&name));
        }
        let row = decode_row(packet, &self.columns, self.binary).ok_or_else(|| {
            self.conn.conn.broken = true;
            response::malformed(&name)
        })?;
        Ok(Some(row))
    }
}

/// A row packet as values, by its columns.
pub fn decode_row(packet: &[u8], columns: &Arc<[Column]>, binary: bool) -> Option<Vec<Value>> {
    let row = if binary {
        ParseBuf(packet)
            .parse::<RowDeserializer<ServerSide, mysql_common::proto::Binary>>(columns.clone())
            .ok()?
            .into_inner()
    } else {
        ParseBuf(packet)
            .parse::<RowDeserializer<(), mysql_common::proto::Text>>(columns.clone())
            .ok()?
            .into_inner()
    };
    Some(row.unwrap())
}

/// A whole result set.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// Runs `sql` (text protocol) and reads its first result set whole; any
/// further results are drained. Only for results known to be small.
pub async fn fetch_rows(conn: &mut PooledConn, sql: &str) -> Result<Rows, Error> {
    let mut unit = UnitRows::open(conn, sql, None).await?;
    let columns = unit.columns();
    let mut rows = Vec::new();
    while let Some(row) = crate::merge::RowSource::next_row(&mut unit).await? {
        rows.push(row);
    }
    Ok(Rows { columns, rows })
}
