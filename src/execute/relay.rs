//! Running one statement on a backend connection and relaying its answer:
//! packets go to the client as the backend sent them (column definitions and
//! rows untouched, only the sequence ids renumbered and the OK and EOF
//! contents re-encoded with the session's status), and no row is decoded.

use crate::backend::response::{self, Frame, OkSummary};
use crate::backend::{statements, PooledConn};
use crate::error::Error;
use crate::session::reply::{OkInfo, Reply, FLUSH_THRESHOLD};
use mysql_common::constants::{Command, StatusFlags};
use mysql_common::value::Value;
use std::sync::Arc;

const QUERY: u8 = Command::COM_QUERY as u8;
const EXECUTE: u8 = Command::COM_STMT_EXECUTE as u8;

/// ER_UNKNOWN_STMT_HANDLER: the backend no longer has the statement.
const UNKNOWN_STATEMENT_HANDLER: u16 = 1243;

/// Backend status bits that belong in the client's packets as they are.
const PASSED_ON: StatusFlags =
    StatusFlags::SERVER_STATUS_CURSOR_EXISTS.union(StatusFlags::SERVER_STATUS_LAST_ROW_SENT);

/// What a relayed answer left behind, for the session's bookkeeping.
#[derive(Debug, Default, Clone)]
pub struct Relayed {
    /// The last OK (or result-set end) of the answer.
    pub last: OkSummary,
    /// Whether the answer held a result set.
    pub had_rows: bool,
}

/// Sends `sql` as COM_QUERY and relays every result of the answer.
pub async fn relay_text<R: Reply>(
    conn: &mut PooledConn,
    sql: &[u8],
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<Relayed, Error> {
    let name = conn.data_source.clone();
    conn.conn
        .send_command(QUERY, sql)
        .await
        .map_err(|e| crate::backend::conn::io_error(&name.name, &e))?;
    relay_answer(conn, reply, status, more_after).await
}

/// Sends `opening` (what opens the transaction on this connection: `XA
/// START`, `BEGIN`) and `sql` as one COM_QUERY, `opening; sql`, and relays
/// the answer of `sql` alone, as [`relay_text`] would. The server stops a
/// multi-statement at its first error, so `sql` runs only inside the
/// transaction. `Err`: the opening failed (or the connection broke before
/// its answer) and `sql` never ran; `Ok`: the transaction is open there,
/// with `sql`'s own outcome inside.
pub async fn relay_text_opening<R: Reply>(
    conn: &mut PooledConn,
    opening: &str,
    sql: &[u8],
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<Result<Relayed, Error>, Error> {
    let mut text = Vec::with_capacity(opening.len() + 2 + sql.len());
    text.extend_from_slice(opening.as_bytes());
    text.extend_from_slice(b"; ");
    text.extend_from_slice(sql);
    conn.send(QUERY, &text).await?;
    let data_source = conn.data_source.clone();
    let caps = conn.conn.capabilities;
    let packet = conn.read().await?;
    match response::frame(packet, caps, &data_source.name) {
        Frame::Ok(ok) if ok.status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS) => {
            conn.conn.note(&ok);
        }
        Frame::Err(e) => return Err(e),
        _ => {
            // Not the opening's OK with the statement's answer after it:
            // closing the connection ends whatever it opened.
            conn.conn.broken = true;
            return Err(response::malformed(&data_source.name));
        }
    }
    Ok(relay_answer(conn, reply, status, more_after).await)
}

/// A client's COM_STMT_EXECUTE as it came, for a statement that runs on one
/// backend connection: its parameters reach the backend byte for byte.
pub struct RawExecute<'a> {
    pub sql: &'a Arc<str>,
    /// The execute packet's body after the statement id.
    pub body: &'a [u8],
    pub n_params: usize,
    /// The parameter types (two bytes each) the client bound last, for a
    /// connection that has not seen them yet.
    pub types: &'a [u8],
    /// Long data sent for parameters (COM_STMT_SEND_LONG_DATA).
    pub long_data: &'a [Option<Vec<u8>>],
}

/// Runs a client's execute on `conn` (preparing the statement there first if
/// it lacks it) and relays the answer.
pub async fn relay_execute<R: Reply>(
    conn: &mut PooledConn,
    execute: &RawExecute<'_>,
    reply: &mut R,
    status: StatusFlags,
) -> Result<Relayed, Error> {
    for attempt in 0..2 {
        let id = statement_id(conn, execute.sql).await?;
        let mut body = Vec::with_capacity(4 + execute.body.len() + execute.types.len());
        body.extend_from_slice(&id.to_le_bytes());
        let types_sent = conn
            .statements
            .get(execute.sql)
            .is_some_and(|s| s.types_sent);
        bind_types(&mut body, execute, types_sent);
        for (i, data) in execute.long_data.iter().enumerate() {
            if let Some(data) = data {
                statements::buffer_long_data(&mut conn.conn, id, i as u16, data);
            }
        }
        conn.conn.buffer_command(EXECUTE, &body);
        conn.flush().await?;
        if let Some(s) = conn.statements.get(execute.sql) {
            s.types_sent = true;
        }
        match relay_answer(conn, reply, status, false).await {
            Err(e) if e.code == UNKNOWN_STATEMENT_HANDLER && attempt == 0 => {
                conn.statements.remove(execute.sql);
            }
            other => return other,
        }
    }
    Err(Error::internal("unreachable: execute retried"))
}

/// Appends the execute body, with the parameter types bound when this
/// connection has not seen them yet.
fn bind_types(body: &mut Vec<u8>, execute: &RawExecute<'_>, types_sent: bool) {
    let rest = execute.body;
    // flags (1) + iteration count (4), then the NULL bitmap and the bound flag.
    let bitmap_end = 5 + execute.n_params.div_ceil(8);
    if execute.n_params == 0 || rest.len() <= bitmap_end || rest[bitmap_end] == 1 || types_sent {
        body.extend_from_slice(rest);
        return;
    }
    body.extend_from_slice(&rest[..bitmap_end]);
    body.push(1);
    body.extend_from_slice(execute.types);
    body.extend_from_slice(&rest[bitmap_end + 1..]);
}

/// The backend id of `sql` on `conn`, preparing it there if needed.
async fn statement_id(conn: &mut PooledConn, sql: &str) -> Result<u32, Error> {
    if let Some(s) = conn.statements.get(sql) {
        return Ok(s.id);
    }
    let sql: Arc<str> = Arc::from(sql);
    let name = conn.data_source.name.clone();
    let prepared = statements::prepare(&mut conn.conn, &name, &sql).await?;
    if let Some(evicted) = conn.statements.insert(
        sql,
        prepared.id,
        prepared.params.len(),
        prepared.columns.len(),
    ) {
        statements::buffer_close(&mut conn.conn, evicted);
    }
    Ok(prepared.id)
}

/// Sends an execute of `sql` with `params` (the proxy's own values: for a
/// routed statement's unit), preparing it on `conn` first if needed.
pub async fn send_execute(conn: &mut PooledConn, sql: &str, params: &[Value]) -> Result<(), Error> {
    let id = statement_id(conn, sql).await?;
    let (request, as_long_data) =
        mysql_common::packets::ComStmtExecuteRequestBuilder::new(id).build(params);
    if as_long_data {
        return Err(Error::not_supported(
            "parameters of a statement on sharded tables larger than 16 MB in all",
        ));
    }
    conn.conn.start_command();
    EXECUTE_SCRATCH.with_borrow_mut(|body| {
        body.clear();
        mysql_common::proto::MySerialize::serialize(&request, body);
        conn.conn.buffer_packet(body.as_slice());
        if body.capacity() > SCRATCH_KEPT {
            *body = Vec::new();
        }
    });
    conn.flush().await
}

/// Sends `sql` as text, or as an execute with `params` when given.
pub async fn send_statement(
    conn: &mut PooledConn,
    sql: &str,
    params: Option<&[Value]>,
) -> Result<(), Error> {
    match params {
        Some(params) => send_execute(conn, sql, params).await,
        None => conn.send(QUERY, sql.as_bytes()).await,
    }
}

/// Runs a unit with the proxy's values and relays its answer.
pub async fn relay_values<R: Reply>(
    conn: &mut PooledConn,
    sql: &str,
    params: &[Value],
    reply: &mut R,
    status: StatusFlags,
) -> Result<Relayed, Error> {
    send_execute(conn, sql, params).await?;
    relay_answer(conn, reply, status, false).await
}

/// Relays the answer to a command already sent: every result of it.
pub async fn relay_answer<R: Reply>(
    conn: &mut PooledConn,
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<Relayed, Error> {
    let data_source = conn.data_source.clone();
    let name = data_source.name.as_str();
    let mut relayed = Relayed::default();
    loop {
        let caps = conn.conn.capabilities;
        let packet = conn.read().await?;
        match response::frame(packet, caps, name) {
            Frame::Ok(ok) => {
                conn.conn.note(&ok);
                let more = ok.status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS);
                reply.ok(&ok_info(&ok), with_more(status, more || more_after));
                relayed.last = ok;
                if !more {
                    return Ok(relayed);
                }
            }
            Frame::Err(e) => return Err(e),
            Frame::Columns(n) => {
                reply.column_count(n);
                relay_columns(conn, n, Some(&mut *reply)).await?;
                let end = relay_rows(conn, reply, true).await?;
                let more = end.status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS);
                let passed = end.status & PASSED_ON;
                reply.end_rows(with_more(status | passed, more || more_after), end.warnings);
                relayed.last = end;
                relayed.had_rows = true;
                if !more {
                    return Ok(relayed);
                }
            }
            Frame::LocalInfile => {
                conn.conn.broken = true;
                return Err(Error::not_supported("LOAD DATA LOCAL INFILE"));
            }
        }
    }
}

/// Reads a result set's `n` column definitions and relays them to `reply`
/// (`None`: read past), each as [`relay_column`] does; a malformed one
/// breaks the connection.
pub(crate) async fn relay_columns<R: Reply>(
    conn: &mut PooledConn,
    n: usize,
    mut reply: Option<&mut R>,
) -> Result<(), Error> {
    let backend_extended = conn.conn.extended_metadata;
    let client_extended = reply.as_ref().is_some_and(|r| r.extended_metadata());
    for _ in 0..n {
        let packet = conn.read().await?;
        if let Some(reply) = reply.as_deref_mut() {
            if !relay_column(packet, backend_extended, client_extended, reply) {
                conn.conn.broken = true;
                return Err(response::malformed(&conn.data_source.name));
            }
        }
    }
    Ok(())
}

/// Relays one column definition as the client reads it: with MariaDB's
/// extended metadata if it negotiated it (empty when the backend sent
/// none), else without. Checked, not kept: false when malformed, which
/// must not reach the client.
pub(crate) fn relay_column<R: Reply>(
    packet: &[u8],
    backend_extended: bool,
    client_extended: bool,
    reply: &mut R,
) -> bool {
    if !backend_extended && !client_extended {
        return response::is_column_definition(packet) && {
            reply.raw_column(packet);
            true
        };
    }
    COLUMN_SCRATCH.with_borrow_mut(|scratch| {
        let fits = relay_changed_column(packet, backend_extended, client_extended, reply, scratch);
        if scratch.capacity() > SCRATCH_KEPT {
            *scratch = Vec::new();
        }
        fits
    })
}

thread_local! {
    /// A column definition with its extended metadata added or taken
    /// out, reused: a relayed result would otherwise allocate for it.
    static COLUMN_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

thread_local! {
    /// An execute's body before it is framed, reused: each execute of a
    /// routed statement's unit would otherwise allocate it.
    static EXECUTE_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What [`COLUMN_SCRATCH`] and [`EXECUTE_SCRATCH`] keep between uses.
const SCRATCH_KEPT: usize = 4096;

/// [`relay_column`] where the client's form differs from the backend's.
fn relay_changed_column<R: Reply>(
    packet: &[u8],
    backend_extended: bool,
    client_extended: bool,
    reply: &mut R,
    scratch: &mut Vec<u8>,
) -> bool {
    let plain = if backend_extended {
        if !response::without_extended_metadata(packet, scratch) {
            return false;
        }
        scratch.as_slice()
    } else {
        packet
    };
    if !response::is_column_definition(plain) {
        return false;
    }
    match (backend_extended, client_extended) {
        (true, false) => reply.raw_column(scratch),
        (false, true) => {
            if !response::with_empty_extended_metadata(packet, scratch) {
                return false;
            }
            reply.raw_column(scratch)
        }
        _ => reply.raw_column(packet),
    }
    true
}

/// Relays rows up to the result set's end and returns that end.
/// `columns_pending`: the column definitions still need their end, which
/// waits for the first packet: an execute that opened a cursor ends its
/// columns with the one packet that says so, and sends no rows.
async fn relay_rows<R: Reply>(
    conn: &mut PooledConn,
    reply: &mut R,
    mut columns_pending: bool,
) -> Result<OkSummary, Error> {
    let data_source = conn.data_source.clone();
    let name = data_source.name.as_str();
    loop {
        let caps = conn.conn.capabilities;
        let packet = conn.read().await?;
        if response::is_terminator(packet) {
            let end = response::parse_terminator(packet, caps).ok_or_else(|| {
                conn.conn.broken = true;
                response::malformed(name)
            })?;
            conn.conn.note(&end);
            let cursor = end
                .status
                .contains(StatusFlags::SERVER_STATUS_CURSOR_EXISTS);
            if columns_pending && !cursor {
                reply.columns_done();
            }
            return Ok(end);
        }
        if columns_pending {
            reply.columns_done();
            columns_pending = false;
        }
        if response::is_error(packet) {
            return Err(response::server_error(packet, caps, name));
        }
        reply.raw_row(packet);
        if reply.pending() >= FLUSH_THRESHOLD {
            if let Err(e) = reply.flush().await {
                // The rest of the answer is still coming: the connection is unusable.
                conn.conn.broken = true;
                return Err(client_gone(e));
            }
        }
    }
}

/// Relays a COM_STMT_FETCH answer (rows of an open cursor, then its end).
pub async fn relay_fetch<R: Reply>(
    conn: &mut PooledConn,
    body: &[u8],
    reply: &mut R,
    status: StatusFlags,
) -> Result<Relayed, Error> {
    const FETCH: u8 = Command::COM_STMT_FETCH as u8;
    conn.send(FETCH, body).await?;
    let end = relay_rows(conn, reply, false).await?;
    reply.end_rows(status | (end.status & PASSED_ON), end.warnings);
    Ok(Relayed {
        last: end,
        had_rows: true,
    })
}

pub fn ok_info(ok: &OkSummary) -> OkInfo {
    OkInfo {
        affected_rows: ok.affected_rows,
        last_insert_id: ok.last_insert_id,
        warnings: ok.warnings,
        info: ok.info.clone(),
    }
}

pub fn with_more(status: StatusFlags, more: bool) -> StatusFlags {
    if more {
        status | StatusFlags::SERVER_MORE_RESULTS_EXISTS
    } else {
        status
    }
}

pub fn client_gone(e: std::io::Error) -> Error {
    Error::new(
        1160,
        "08S01",
        format!("client write failed: {e}"),
        crate::error::Origin::Client,
    )
}
