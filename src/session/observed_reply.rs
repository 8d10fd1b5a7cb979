//! A reply that passes everything to the client's and notes what the
//! session must know afterwards: what `ROW_COUNT()` reports next, and
//! optionally an OK's `last_insert_id` replaced by the proxy's generated key.

use super::reply::{OkInfo, Reply};
use crate::error::Error;
use mysql_common::constants::StatusFlags;
use mysql_common::packets::Column;
use mysql_common::value::Value;

pub struct ObservedReply<'r, R> {
    inner: &'r mut R,
    /// Reported as every OK's `last_insert_id` when set.
    insert_id: Option<u64>,
    /// `ROW_COUNT()` after what was answered so far: an OK's affected
    /// rows, -1 after a result set or an error (as MariaDB counts).
    pub row_count: i64,
    /// Rows sent in result sets, plus the OKs' affected rows: the audit
    /// log's `rows`.
    pub rows: u64,
}

impl<'r, R: Reply> ObservedReply<'r, R> {
    pub fn new(inner: &'r mut R) -> Self {
        ObservedReply {
            inner,
            insert_id: None,
            row_count: -1,
            rows: 0,
        }
    }

    /// Every OK reports `insert_id` as its `last_insert_id`.
    pub fn with_insert_id(inner: &'r mut R, insert_id: u64) -> Self {
        ObservedReply {
            insert_id: Some(insert_id),
            ..ObservedReply::new(inner)
        }
    }
}

impl<R: Reply> Reply for ObservedReply<'_, R> {
    fn columns(&mut self, columns: &[Column]) {
        self.inner.columns(columns)
    }
    fn column_count(&mut self, n: usize) {
        self.inner.column_count(n)
    }
    fn raw_column(&mut self, payload: &[u8]) {
        self.inner.raw_column(payload)
    }
    fn extended_metadata(&self) -> bool {
        self.inner.extended_metadata()
    }
    fn columns_done(&mut self) {
        self.inner.columns_done()
    }
    fn raw_row(&mut self, payload: &[u8]) {
        self.rows += 1;
        self.inner.raw_row(payload)
    }
    fn row(&mut self, values: &[Value]) {
        self.rows += 1;
        self.inner.row(values)
    }
    fn end_rows(&mut self, status: StatusFlags, warnings: u16) {
        self.row_count = -1;
        self.inner.end_rows(status, warnings)
    }
    fn ok(&mut self, ok: &OkInfo, status: StatusFlags) {
        self.row_count = i64::try_from(ok.affected_rows).unwrap_or(i64::MAX);
        self.rows = self.rows.saturating_add(ok.affected_rows);
        match self.insert_id {
            Some(last_insert_id) => {
                let ok = OkInfo {
                    last_insert_id,
                    ..ok.clone()
                };
                self.inner.ok(&ok, status)
            }
            None => self.inner.ok(ok, status),
        }
    }
    fn error(&mut self, error: &Error) {
        self.row_count = -1;
        self.inner.error(error)
    }
    fn pending(&self) -> usize {
        self.inner.pending()
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().await
    }
}
