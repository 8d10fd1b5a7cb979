//! The handshake and each command of the text and binary protocol.

use super::login::{plugin_name, reauthenticate};
use super::packets;
use super::values::read_binary_param;
use super::wire::{Reader, Truncated};
use super::ClientConn;
use crate::error::{Error, Origin};
use crate::session::prepared::PreparedStatement;
use crate::session::reply::{OkInfo, Reply};
use crate::session::Session;
use crate::sql::{classify, StatementKind};
use mysql_common::constants::{ColumnType, Command};
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::io;

/// Runs one command. `Ok(false)` closes the connection.
pub async fn dispatch(
    conn: &mut ClientConn,
    session: &mut Session,
    packet: &[u8],
) -> io::Result<bool> {
    let Some((&command, body)) = packet.split_first() else {
        conn.error(&Error::unknown_command(0));
        return Ok(true);
    };
    conn.binary = false;
    if session.is_killed() {
        conn.error(&Error::new(
            1927,
            "70100",
            "Connection was killed",
            Origin::Client,
        ));
        return Ok(false);
    }
    if let Err(e) = session.begin_command() {
        conn.error(&e);
        return Ok(false);
    }
    const QUIT: u8 = Command::COM_QUIT as u8;
    const INIT_DB: u8 = Command::COM_INIT_DB as u8;
    const QUERY: u8 = Command::COM_QUERY as u8;
    const FIELD_LIST: u8 = Command::COM_FIELD_LIST as u8;
    const STATISTICS: u8 = Command::COM_STATISTICS as u8;
    const PING: u8 = Command::COM_PING as u8;
    const CHANGE_USER: u8 = Command::COM_CHANGE_USER as u8;
    const PREPARE: u8 = Command::COM_STMT_PREPARE as u8;
    const EXECUTE: u8 = Command::COM_STMT_EXECUTE as u8;
    const LONG_DATA: u8 = Command::COM_STMT_SEND_LONG_DATA as u8;
    const CLOSE: u8 = Command::COM_STMT_CLOSE as u8;
    const RESET: u8 = Command::COM_STMT_RESET as u8;
    const FETCH: u8 = Command::COM_STMT_FETCH as u8;
    const SET_OPTION: u8 = Command::COM_SET_OPTION as u8;
    const RESET_CONNECTION: u8 = Command::COM_RESET_CONNECTION as u8;
    match command {
        QUIT => return Ok(false),
        PING => conn.ok(&OkInfo::default(), session.status()),
        INIT_DB => match std::str::from_utf8(body) {
            Ok(schema) => match session.use_schema(schema) {
                Ok(()) => conn.ok(&OkInfo::default(), session.status()),
                Err(e) => conn.error(&e),
            },
            Err(_) => conn.error(&Error::unknown_database(&String::from_utf8_lossy(body))),
        },
        QUERY => session.query(body, conn).await,
        FIELD_LIST => {
            field_list(conn, session, body).await;
            session.finish_command();
        }
        STATISTICS => {
            let text = format!(
                "Uptime: {}  Threads: 1  Questions: 0  Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: 0.000",
                crate::server::uptime_seconds()
            );
            conn.write_packet(text.as_bytes());
        }
        CHANGE_USER => return change_user(conn, session, body).await,
        PREPARE => match std::str::from_utf8(body) {
            Ok(sql) => {
                prepare(conn, session, sql).await;
                session.finish_command();
            }
            Err(_) => conn.error(&not_utf8()),
        },
        EXECUTE => execute(conn, session, body).await,
        FETCH => {
            conn.binary = true;
            if let Err(e) = session.fetch_cursor(body, conn).await {
                conn.error(&e);
            }
            session.finish_command();
        }
        LONG_DATA => {
            // No reply, even on error, as the protocol says.
            let _ = long_data(session, body);
        }
        CLOSE => {
            if let Ok(id) = Reader::new(body).u32() {
                session.close_statement(id, false);
            }
        }
        RESET => match Reader::new(body).u32() {
            Ok(id) => match session.close_statement(id, true) {
                Some(()) => conn.ok(&OkInfo::default(), session.status()),
                None => conn.error(&Error::unknown_statement(id, "mysqld_stmt_reset")),
            },
            Err(_) => conn.error(&Error::wrong_arguments("COM_STMT_RESET")),
        },
        SET_OPTION => match Reader::new(body).u16() {
            Ok(0) => {
                session.multi_statements = true;
                conn.write_packet(&packets::eof(session.status(), 0));
            }
            Ok(1) => {
                session.multi_statements = false;
                conn.write_packet(&packets::eof(session.status(), 0));
            }
            _ => conn.error(&Error::unknown_command(command)),
        },
        RESET_CONNECTION => {
            session.reset().await;
            conn.ok(&OkInfo::default(), session.status());
        }
        other => conn.error(&Error::unknown_command(other)),
    }
    Ok(true)
}

fn not_utf8() -> Error {
    Error::new(
        1300,
        "HY000",
        "shardgate reads statements as UTF-8; this one is not valid UTF-8 (use a utf8mb4 connection)",
        Origin::Client,
    )
}

/// COM_FIELD_LIST: the columns of a table, with a NULL default each.
async fn field_list(conn: &mut ClientConn, session: &mut Session, body: &[u8]) {
    let mut r = Reader::new(body);
    let table = String::from_utf8_lossy(r.nul_bytes()).into_owned();
    match session.table_columns(&table).await {
        Ok(columns) => {
            for column in &columns {
                conn.payload.clear();
                packets::column_definition(column, conn.extended_metadata, &mut conn.payload);
                conn.payload.push(0xfb);
                conn.write_scratch();
            }
            let status = session.status();
            conn.write_terminator(status, 0);
        }
        Err(e) => conn.error(&e),
    }
}

/// The fields of COM_CHANGE_USER the proxy uses (mysql_common parses it
/// but exposes no accessors).
struct ChangeUserRequest {
    user: String,
    auth_data: Vec<u8>,
    schema: String,
    charset: Option<u16>,
    /// The plugin named after the character set (CLIENT_PLUGIN_AUTH).
    plugin: Option<Vec<u8>>,
}

impl ChangeUserRequest {
    fn parse(body: &[u8]) -> Result<Self, Truncated> {
        let mut r = Reader::new(body);
        let user = String::from_utf8_lossy(r.nul_bytes()).into_owned();
        let auth_len = r.u8()? as usize;
        let auth_data = r.take(auth_len)?.to_vec();
        let schema = String::from_utf8_lossy(r.nul_bytes()).into_owned();
        let charset = if r.is_empty() { None } else { Some(r.u16()?) };
        let plugin = (!r.is_empty()).then(|| r.nul_bytes().to_vec());
        Ok(ChangeUserRequest {
            user,
            auth_data,
            schema,
            charset,
            plugin,
        })
    }
}

/// COM_CHANGE_USER: logs in again as another user (or the same one),
/// dropping all session state; a failed login closes the connection.
async fn change_user(
    conn: &mut ClientConn,
    session: &mut Session,
    body: &[u8],
) -> io::Result<bool> {
    let Ok(request) = ChangeUserRequest::parse(body) else {
        conn.error(&Error::wrong_arguments("COM_CHANGE_USER"));
        return Ok(false);
    };
    let named = request
        .plugin
        .as_deref()
        .map(mysql_common::packets::AuthPlugin::from_bytes);
    let plugin = plugin_name(named.as_ref());
    let user = match reauthenticate(conn, session, &request.user, plugin, request.auth_data).await?
    {
        Ok(user) => user,
        Err(e) => {
            tracing::info!("change user refused: {e}");
            session.login_refused();
            conn.error(&e);
            return Ok(false);
        }
    };
    let schema = Some(request.schema.as_str()).filter(|s| !s.is_empty());
    match session.change_user(user, schema).await {
        Ok(()) => {
            if let Some(collation) = request.charset {
                session.set_client_collation(collation);
            }
            conn.ok(&OkInfo::default(), session.status());
            Ok(true)
        }
        Err(e) => {
            conn.error(&e);
            Ok(false)
        }
    }
}

/// COM_STMT_PREPARE: statements that pass through are prepared on their
/// data source for their metadata; statements the session answers itself
/// are registered with their `?` count.
async fn prepare(conn: &mut ClientConn, session: &mut Session, sql: &str) {
    let verdict = match session.check_boundary(sql.as_bytes()) {
        Ok(verdict) => verdict,
        Err(e) => return conn.error(&e),
    };
    let kind = classify(sql);
    let result = match kind {
        StatementKind::Empty => Err(Error::empty_query()),
        StatementKind::Write
        | StatementKind::Other
        | StatementKind::Stateful
        | StatementKind::Select
        | StatementKind::Set => session.prepare_on_backend(sql, &verdict).await,
        _ => Ok(crate::session::PreparedMetadata {
            params: generic_params(param_count(sql)),
            columns: Vec::new(),
            extended: Vec::new(),
        }),
    };
    let (params, columns, extended) = match result {
        Ok(meta) => (meta.params, meta.columns, meta.extended),
        Err(e) => return conn.error(&e),
    };
    let statement = PreparedStatement {
        sql: sql.into(),
        replica_read: kind == StatementKind::Select
            && crate::sql::replica_read::may_read_from_replica(sql.as_bytes()),
        effects: crate::sql::effects(sql.as_bytes()),
        kind,
        long_data: vec![None; params.len()],
        param_types: Vec::new(),
        raw_param_types: std::sync::Arc::from([]),
        params,
        columns,
        verdict: None,
    };
    let (n_params, n_columns) = (statement.params.len(), statement.columns.len());
    let columns = statement.columns.clone();
    let params = statement.params.clone();
    let id = session.statements.add(statement);
    conn.write_packet(&packets::prepare_ok(
        id,
        n_columns as u16,
        n_params as u16,
        0,
    ));
    let status = session.status();
    if n_params > 0 {
        conn.write_columns(&params, &[], status);
    }
    if n_columns > 0 {
        conn.write_columns(&columns, &extended, status);
    }
}

fn param_count(sql: &str) -> usize {
    crate::sql::Scanner::new(sql)
        .filter(|t| *t == crate::sql::Token::Punct('?'))
        .count()
}

fn generic_params(n: usize) -> Vec<Column> {
    (0..n)
        .map(|_| Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(b"?"))
        .collect()
}

/// COM_STMT_EXECUTE: decodes the parameters (types remembered from the last
/// execute that sent them) and runs the statement.
async fn execute(conn: &mut ClientConn, session: &mut Session, body: &[u8]) {
    let (sql, params, raw) = match decode_execute(session, body) {
        Ok(decoded) => decoded,
        Err(e) => return conn.error(&e),
    };
    conn.binary = true;
    session.client_execute = raw;
    let id = Reader::new(body).u32().unwrap_or_default();
    if let Err(e) = session.run_execute(id, sql.as_bytes(), params, conn).await {
        conn.error(&e);
    }
}

/// The statement's text, its parameters as values, and the execute as the
/// client sent it (for a statement that passes through).
type DecodedExecute = (
    std::sync::Arc<str>,
    Vec<Value>,
    Option<crate::session::ClientExecute>,
);

fn decode_execute(session: &mut Session, body: &[u8]) -> Result<DecodedExecute, Error> {
    let malformed = |_: Truncated| Error::wrong_arguments("mysqld_stmt_execute");
    let mut r = Reader::new(body);
    let id = r.u32().map_err(malformed)?;
    let statement = session
        .statements
        .get_mut(id)
        .ok_or_else(|| Error::unknown_statement(id, "mysqld_stmt_execute"))?;
    let _flags = r.u8().map_err(malformed)?;
    let _iterations = r.u32().map_err(malformed)?;
    let n = statement.params.len();
    let mut values = Vec::with_capacity(n);
    let after_id = &body[4.min(body.len())..];
    if n > 0 {
        let null_bitmap = r.take(n.div_ceil(8)).map_err(malformed)?;
        if r.u8().map_err(malformed)? == 1 {
            statement.param_types.clear();
            for _ in 0..n {
                let t = r.u8().map_err(malformed)?;
                let f = r.u8().map_err(malformed)?;
                let column_type = ColumnType::try_from(t)
                    .map_err(|_| Error::wrong_arguments("mysqld_stmt_execute"))?;
                statement.param_types.push((column_type, f & 0x80 != 0));
            }
            statement.raw_param_types = statement
                .param_types
                .iter()
                .flat_map(|(t, unsigned)| [*t as u8, if *unsigned { 0x80 } else { 0 }])
                .collect();
        }
        if statement.param_types.len() != n {
            return Err(Error::wrong_arguments("mysqld_stmt_execute"));
        }
        for i in 0..n {
            let value = if null_bitmap[i / 8] & (1 << (i % 8)) != 0 {
                Value::NULL
            } else if let Some(data) = statement.long_data[i].clone() {
                Value::Bytes(data)
            } else {
                let (t, unsigned) = statement.param_types[i];
                read_binary_param(&mut r, t, unsigned).map_err(malformed)?
            };
            values.push(value);
        }
    }
    // Most executes send no long data: nothing to hand over or renew.
    let long_data = if statement.long_data.iter().any(Option::is_some) {
        std::mem::replace(&mut statement.long_data, vec![None; n])
    } else {
        Vec::new()
    };
    let raw = crate::session::ClientExecute {
        sql: statement.sql.clone(),
        body: after_id.to_vec(),
        n_params: n,
        types: statement.raw_param_types.clone(),
        long_data,
    };
    Ok((statement.sql.clone(), values, Some(raw)))
}

/// COM_STMT_SEND_LONG_DATA: appends a chunk to a parameter.
fn long_data(session: &mut Session, body: &[u8]) -> Result<(), Truncated> {
    let mut r = Reader::new(body);
    let id = r.u32()?;
    let param = r.u16()? as usize;
    let data = r.rest();
    if let Some(slot) = session
        .statements
        .get_mut(id)
        .and_then(|s| s.long_data.get_mut(param))
    {
        slot.get_or_insert_with(Vec::new).extend_from_slice(data);
    }
    Ok(())
}
