//! Small whole-result helpers for the proxy's own queries on a backend
//! (metadata, key-generator tables, health probes): the rows are read into
//! memory, so use them only where the result is known to be small.

use super::backend_error;
use crate::error::Error;
use crate::session::reply::OkInfo;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// A whole result set.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// Runs `sql` (text protocol) and reads its first result set whole; any
/// further results are drained.
pub async fn fetch_rows(conn: &mut Conn, data_source: &str, sql: &str) -> Result<Rows, Error> {
    let mut result = conn
        .query_iter(sql)
        .await
        .map_err(|e| backend_error(data_source, e))?;
    let columns = result.columns().map(|c| c.to_vec()).unwrap_or_default();
    let mut rows = Vec::new();
    while let Some(row) = result
        .next()
        .await
        .map_err(|e| backend_error(data_source, e))?
    {
        rows.push(row.unwrap());
    }
    result
        .drop_result()
        .await
        .map_err(|e| backend_error(data_source, e))?;
    Ok(Rows { columns, rows })
}

/// Runs `sql` (text protocol, possibly several statements) and returns the
/// last OK; result rows, if any, are dropped.
pub async fn exec_drop(conn: &mut Conn, data_source: &str, sql: &str) -> Result<OkInfo, Error> {
    super::run_ok(conn, data_source, sql, None).await
}
