//! Streams a backend's answer (every result set of it) to the client as the
//! backend sent it: column definitions, rows, OK contents, errors.

use super::{backend_error, BackendConn};
use crate::error::Error;
use crate::session::reply::{OkInfo, Reply, FLUSH_THRESHOLD};
use mysql_async::prelude::{Protocol, Queryable};
use mysql_async::{Conn, Params, QueryResult, Statement, Value};
use mysql_common::constants::StatusFlags;
use std::collections::HashMap;
use std::sync::Arc;

/// What a relayed statement left behind, for the session's bookkeeping.
#[derive(Debug, Default, Clone, Copy)]
pub struct Relayed {
    /// The backend's status flags after the statement (IN_TRANS, ...).
    pub backend_status: Option<StatusFlags>,
}

/// Runs `sql` as a text query on `conn` and relays every result set.
/// `status` is the session's status for the packets it writes; `more_after`
/// says whether more client statements follow (SERVER_MORE_RESULTS_EXISTS).
pub async fn relay_text<R: Reply>(
    conn: &mut Conn,
    data_source: &str,
    sql: &[u8],
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<Relayed, Error> {
    let result = conn
        .query_iter(sql)
        .await
        .map_err(|e| backend_error(data_source, e))?;
    relay_all(result, data_source, reply, status, more_after).await?;
    Ok(Relayed {
        backend_status: conn.last_ok_packet().map(|ok| ok.status_flags()),
    })
}

/// Executes `sql` as a prepared statement with `params` and relays the
/// binary-protocol results. The statement is looked up (or prepared again)
/// in the connection's statement cache by its text.
pub async fn relay_binary<R: Reply>(
    conn: &mut Conn,
    data_source: &str,
    sql: &str,
    params: Vec<Value>,
    reply: &mut R,
    status: StatusFlags,
) -> Result<Relayed, Error> {
    let params = positional(params);
    let result = conn
        .exec_iter(sql, params)
        .await
        .map_err(|e| backend_error(data_source, e))?;
    relay_all(result, data_source, reply, status, false).await?;
    Ok(Relayed {
        backend_status: conn.last_ok_packet().map(|ok| ok.status_flags()),
    })
}

/// Handles of the statements a connection prepared for [`relay_prepared`],
/// by SQL text. They spare each execute mysql_async's lookup by text (which
/// parses the text for named parameters every time).
#[derive(Default)]
pub struct StatementHandles {
    by_sql: HashMap<Arc<str>, Statement>,
}

/// Handles kept per connection; past this many they are dropped and
/// fetched again (mysql_async's own cache still holds the statements).
const MAX_HANDLES: usize = 64;

/// Parameters past this many bytes are not copied for a retry: such
/// executes go by text through mysql_async's cache instead.
const RETRY_COPY_LIMIT: usize = 64 * 1024;

/// As [`relay_binary`], through the connection's statement handles. A
/// handle whose statement mysql_async evicted (and closed) from its cache
/// fails with 1243 before anything runs; the execute is then retried by
/// text, which prepares the statement again.
pub async fn relay_prepared<R: Reply>(
    backend: &mut BackendConn,
    sql: &str,
    params: Vec<Value>,
    reply: &mut R,
    status: StatusFlags,
) -> Result<Relayed, Error> {
    let BackendConn {
        conn,
        data_source,
        statements,
        ..
    } = backend;
    let data_source = data_source.name.as_str();
    let size: usize = params.iter().map(value_size).sum();
    if size > RETRY_COPY_LIMIT {
        return relay_binary(conn, data_source, sql, params, reply, status).await;
    }
    let statement = match statements.by_sql.get(sql) {
        Some(statement) => statement.clone(),
        None => {
            let statement = conn
                .prep(sql)
                .await
                .map_err(|e| backend_error(data_source, e))?;
            if statements.by_sql.len() >= MAX_HANDLES {
                statements.by_sql.clear();
            }
            statements.by_sql.insert(sql.into(), statement.clone());
            statement
        }
    };
    match conn.exec_iter(&statement, positional(params.clone())).await {
        Ok(result) => {
            relay_all(result, data_source, reply, status, false).await?;
            Ok(Relayed {
                backend_status: conn.last_ok_packet().map(|ok| ok.status_flags()),
            })
        }
        Err(mysql_async::Error::Server(e)) if e.code == UNKNOWN_STATEMENT_HANDLER => {
            statements.by_sql.remove(sql);
            relay_binary(conn, data_source, sql, params, reply, status).await
        }
        Err(e) => Err(backend_error(data_source, e)),
    }
}

/// ER_UNKNOWN_STMT_HANDLER.
const UNKNOWN_STATEMENT_HANDLER: u16 = 1243;

/// Roughly the heap bytes a parameter value holds.
fn value_size(value: &Value) -> usize {
    match value {
        Value::Bytes(bytes) => bytes.len(),
        _ => 0,
    }
}

async fn relay_all<R: Reply, P: Protocol>(
    mut result: QueryResult<'_, '_, P>,
    data_source: &str,
    reply: &mut R,
    status: StatusFlags,
    more_after: bool,
) -> Result<(), Error> {
    loop {
        let columns = result.columns();
        match columns {
            Some(columns) if !columns.is_empty() => {
                reply.columns(&columns);
                send_rows(&mut result, data_source, reply).await?;
                let warnings = result.warnings();
                let next = next_result(&mut result, data_source).await;
                let more = !matches!(next, Next::Done);
                reply.end_rows(with_more(status, more || more_after), warnings);
                match next {
                    Next::Done => return Ok(()),
                    Next::Error(e) => return Err(e),
                    Next::Result => {}
                }
            }
            _ => {
                let ok = ok_of(&result);
                // Moves past this OK result to the next one, if any.
                result
                    .next()
                    .await
                    .map_err(|e| backend_error(data_source, e))?;
                let next = next_result(&mut result, data_source).await;
                let more = !matches!(next, Next::Done);
                reply.ok(&ok, with_more(status, more || more_after));
                match next {
                    Next::Done => return Ok(()),
                    Next::Error(e) => return Err(e),
                    Next::Result => {}
                }
            }
        }
    }
}

/// Sends the rows of the current result set, flushing every so often so
/// that a slow client slows the backend instead of filling memory.
async fn send_rows<R: Reply, P: Protocol>(
    result: &mut QueryResult<'_, '_, P>,
    data_source: &str,
    reply: &mut R,
) -> Result<(), Error> {
    while let Some(row) = result
        .next()
        .await
        .map_err(|e| backend_error(data_source, e))?
    {
        reply.row(&row.unwrap());
        if reply.pending() >= FLUSH_THRESHOLD {
            reply.flush().await.map_err(client_gone)?;
        }
    }
    Ok(())
}

/// What follows a finished result of a multi-result answer.
enum Next {
    /// Another result set or OK result.
    Result,
    /// The backend's error in place of the next result (MySQL sends no more after it).
    Error(Error),
    Done,
}

/// Looks at what follows the current result without consuming a row: a
/// pending result shows in `columns()` (empty for an OK result); a pending
/// error only surfaces from `next()`, which is safe to call when nothing
/// else is pending.
async fn next_result<P: Protocol>(result: &mut QueryResult<'_, '_, P>, data_source: &str) -> Next {
    if result.columns().is_some() {
        return Next::Result;
    }
    match result.next().await {
        Ok(_) => Next::Done,
        Err(e) => Next::Error(backend_error(data_source, e)),
    }
}

fn with_more(status: StatusFlags, more: bool) -> StatusFlags {
    if more {
        status | StatusFlags::SERVER_MORE_RESULTS_EXISTS
    } else {
        status
    }
}

fn client_gone(e: std::io::Error) -> Error {
    Error::new(
        1160,
        "08S01",
        format!("client write failed: {e}"),
        crate::error::Origin::Client,
    )
}

/// Runs one statement (text, or prepared with `params`) and streams only the
/// rows of its first result set; the column definitions too when
/// `send_columns`. Returns the backend's warning count. For concatenating
/// the rows of several execution units into one result.
pub async fn stream_rows<R: Reply>(
    conn: &mut Conn,
    data_source: &str,
    sql: &str,
    params: Option<Vec<Value>>,
    reply: &mut R,
    send_columns: bool,
) -> Result<u16, Error> {
    match params {
        None => {
            let result = conn
                .query_iter(sql)
                .await
                .map_err(|e| backend_error(data_source, e))?;
            rows_only(result, data_source, reply, send_columns).await
        }
        Some(params) => {
            let params = positional(params);
            let result = conn
                .exec_iter(sql, params)
                .await
                .map_err(|e| backend_error(data_source, e))?;
            rows_only(result, data_source, reply, send_columns).await
        }
    }
}

async fn rows_only<R: Reply, P: Protocol>(
    mut result: QueryResult<'_, '_, P>,
    data_source: &str,
    reply: &mut R,
    send_columns: bool,
) -> Result<u16, Error> {
    let columns = result.columns().unwrap_or_else(|| Vec::new().into());
    if send_columns {
        reply.columns(&columns);
    }
    send_rows(&mut result, data_source, reply).await?;
    let warnings = result.warnings();
    // Drains any further result sets so the connection is ready for the next statement.
    result
        .drop_result()
        .await
        .map_err(|e| backend_error(data_source, e))?;
    Ok(warnings)
}

/// Runs one statement that returns no rows (a write or DDL) and returns its OK.
pub async fn run_ok(
    conn: &mut Conn,
    data_source: &str,
    sql: &str,
    params: Option<Vec<Value>>,
) -> Result<OkInfo, Error> {
    match params {
        None => {
            let result = conn
                .query_iter(sql)
                .await
                .map_err(|e| backend_error(data_source, e))?;
            ok_and_drop(result, data_source).await
        }
        Some(params) => {
            let result = conn
                .exec_iter(sql, positional(params))
                .await
                .map_err(|e| backend_error(data_source, e))?;
            ok_and_drop(result, data_source).await
        }
    }
}

/// The OK of a result, the rest of it read and dropped.
async fn ok_and_drop<P: Protocol>(
    result: QueryResult<'_, '_, P>,
    data_source: &str,
) -> Result<OkInfo, Error> {
    let info = ok_of(&result);
    result
        .drop_result()
        .await
        .map_err(|e| backend_error(data_source, e))?;
    Ok(info)
}

/// COM_STMT_EXECUTE parameters in `?` order.
fn positional(params: Vec<Value>) -> Params {
    if params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(params)
    }
}

fn ok_of<P: Protocol>(result: &QueryResult<'_, '_, P>) -> OkInfo {
    OkInfo {
        affected_rows: result.affected_rows(),
        last_insert_id: result.last_insert_id().unwrap_or(0),
        warnings: result.warnings(),
        info: result.info().into_owned(),
    }
}

/// One execution unit's rows as a merge source.
pub struct UnitRows<'a, P: Protocol> {
    result: QueryResult<'a, 'static, P>,
    data_source: String,
}

impl<'a, P: Protocol> UnitRows<'a, P> {
    /// The unit's columns (visible, then derived).
    pub fn columns(&self) -> Vec<mysql_common::packets::Column> {
        self.result
            .columns()
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }
}

impl<P: Protocol + Send> crate::merge::RowSource for UnitRows<'_, P> {
    async fn next_row(&mut self) -> Result<Option<Vec<Value>>, Error> {
        match self.result.next().await {
            Ok(row) => Ok(row.map(|r| r.unwrap())),
            Err(e) => Err(backend_error(&self.data_source, e).on_data_source(&self.data_source)),
        }
    }
}

/// Starts a unit's statement on `conn` (text, or prepared with `params`) and
/// returns its rows as a merge source, once the backend has sent its column
/// definitions.
pub async fn open_text_rows<'a>(
    conn: &'a mut Conn,
    data_source: &str,
    sql: String,
) -> Result<UnitRows<'a, mysql_async::TextProtocol>, Error> {
    let result = conn
        .query_iter(sql)
        .await
        .map_err(|e| backend_error(data_source, e).on_data_source(data_source))?;
    Ok(UnitRows {
        result,
        data_source: data_source.to_string(),
    })
}

/// As [`open_text_rows`], as a prepared statement with `params`.
pub async fn open_binary_rows<'a>(
    conn: &'a mut Conn,
    data_source: &str,
    sql: String,
    params: Vec<Value>,
) -> Result<UnitRows<'a, mysql_async::BinaryProtocol>, Error> {
    let params = positional(params);
    let result = conn
        .exec_iter(sql, params)
        .await
        .map_err(|e| backend_error(data_source, e).on_data_source(data_source))?;
    Ok(UnitRows {
        result,
        data_source: data_source.to_string(),
    })
}
