//! Small whole-result helpers for the proxy's own queries on a backend
//! (metadata, key-generator tables, probes): the rows are read into memory,
//! so use them only where the result is known to be small.

use super::rows;
use crate::backend::PooledConn;
use crate::error::Error;
use crate::session::reply::OkInfo;

pub use rows::Rows;

/// Runs `sql` (text protocol) and reads its first result set whole; any
/// further results are drained. `data_source` names it in errors.
pub async fn fetch_rows(
    conn: &mut PooledConn,
    data_source: &str,
    sql: &str,
) -> Result<Rows, Error> {
    debug_assert_eq!(conn.data_source.name, data_source);
    rows::fetch_rows(conn, sql).await
}

/// Runs `sql` (text protocol, possibly several statements) and returns the
/// last OK; result rows, if any, are dropped.
pub async fn exec_drop(
    conn: &mut PooledConn,
    data_source: &str,
    sql: &str,
) -> Result<OkInfo, Error> {
    debug_assert_eq!(conn.data_source.name, data_source);
    rows::exec_drop(conn, sql)
        .await
        .map(|ok| super::relay::ok_info(&ok))
}
