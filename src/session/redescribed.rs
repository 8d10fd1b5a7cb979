//! A result passed on to the client under other column definitions of the
//! same width: a statement answered in parts runs over literal rows, and
//! the client sees the columns of the statement as written
//! ([`super::answered_first`]). Rows are decoded by the columns they came
//! with and encoded by the client's; a binary row's temporal value that
//! came as text is parsed, so it is encoded as the client's column says.

use super::reply::{OkInfo, Reply};
use crate::error::Error;
use crate::execute::decode_row;
use mysql_common::constants::{ColumnType, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

/// [`Reply`] as an object: what [`Redescribed`] passes rows on to (a reply
/// of its own type, so the statements answered first inside a statement
/// answered first need no new type).
pub(super) trait DynReply: Send {
    fn columns(&mut self, columns: &[Column]);
    fn row(&mut self, values: &[Value]);
    fn end_rows(&mut self, status: StatusFlags, warnings: u16);
    fn ok(&mut self, ok: &OkInfo, status: StatusFlags);
    fn error(&mut self, error: &Error);
    fn pending(&self) -> usize;
    fn flush(&mut self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>>;
}

impl<R: Reply> DynReply for R {
    fn columns(&mut self, columns: &[Column]) {
        Reply::columns(self, columns)
    }
    fn row(&mut self, values: &[Value]) {
        Reply::row(self, values)
    }
    fn end_rows(&mut self, status: StatusFlags, warnings: u16) {
        Reply::end_rows(self, status, warnings)
    }
    fn ok(&mut self, ok: &OkInfo, status: StatusFlags) {
        Reply::ok(self, ok, status)
    }
    fn error(&mut self, error: &Error) {
        Reply::error(self, error)
    }
    fn pending(&self) -> usize {
        Reply::pending(self)
    }
    fn flush(&mut self) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> {
        Box::pin(Reply::flush(self))
    }
}

/// A result passed on under other column definitions (of the same width):
/// rows decoded by the columns they came with, encoded by the client's.
pub(super) struct Redescribed<'a> {
    inner: &'a mut dyn DynReply,
    /// The client's columns.
    described: Vec<Column>,
    /// Whether rows come in the binary protocol's encoding.
    binary: bool,
    /// The columns the rows come with.
    own: Vec<Column>,
    shared: Option<Arc<[Column]>>,
    pub(super) failed: Option<Error>,
}

impl<'a> Redescribed<'a> {
    pub(super) fn new(inner: &'a mut dyn DynReply, described: Vec<Column>, binary: bool) -> Self {
        Redescribed {
            inner,
            described,
            binary,
            own: Vec::new(),
            shared: None,
            failed: None,
        }
    }

    /// Sends one row under the client's columns.
    fn pass(&mut self, mut row: Vec<Value>) {
        if self.binary {
            for (value, column) in row.iter_mut().zip(&self.described) {
                if let Value::Bytes(text) = value {
                    match temporal(column.column_type(), text) {
                        Ok(Some(parsed)) => *value = parsed,
                        Ok(None) => {}
                        Err(()) => {
                            self.failed = Some(Error::internal(format!(
                                "a {:?} value that is no temporal value",
                                column.column_type()
                            )));
                            return;
                        }
                    }
                }
            }
        }
        self.inner.row(&row);
    }

    /// The rows' own columns are known: the client gets its own.
    fn start(&mut self) {
        if self.own.len() == self.described.len() {
            self.shared = Some(self.own.as_slice().into());
            self.inner.columns(&self.described);
        } else {
            self.shared = None;
            self.failed = Some(Error::internal(
                "a statement answered in parts returned another number of columns",
            ));
        }
    }
}

impl Reply for Redescribed<'_> {
    fn extended_metadata(&self) -> bool {
        false // read with mysql_common, which knows none
    }
    fn columns(&mut self, columns: &[Column]) {
        self.own = columns.to_vec();
        self.start();
    }
    fn column_count(&mut self, n: usize) {
        self.own = Vec::with_capacity(n);
    }
    fn raw_column(&mut self, payload: &[u8]) {
        match ParseBuf(payload).parse::<Column>(()) {
            Ok(column) => self.own.push(column),
            Err(_) => self.failed = Some(Error::internal("a malformed column definition")),
        }
    }
    fn columns_done(&mut self) {
        self.start();
    }
    fn raw_row(&mut self, payload: &[u8]) {
        let Some(columns) = &self.shared else {
            return;
        };
        match decode_row(payload, columns, self.binary) {
            Some(row) => self.pass(row),
            None => self.failed = Some(Error::internal("a malformed row")),
        }
    }
    fn row(&mut self, values: &[Value]) {
        if self.shared.is_some() {
            self.pass(values.to_vec());
        }
    }
    fn end_rows(&mut self, status: StatusFlags, warnings: u16) {
        if self.shared.is_some() {
            self.inner.end_rows(status, warnings);
        }
    }
    fn ok(&mut self, ok: &OkInfo, status: StatusFlags) {
        self.inner.ok(ok, status);
    }
    fn error(&mut self, error: &Error) {
        self.inner.error(error);
    }
    fn pending(&self) -> usize {
        self.inner.pending()
    }
    async fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().await
    }
}

/// `text` as the binary protocol's value of a temporal column type
/// (`None`: not a temporal type); `Err` when it is no such value.
fn temporal(column_type: ColumnType, text: &[u8]) -> Result<Option<Value>, ()> {
    use ColumnType::*;
    let text = std::str::from_utf8(text).map_err(|_| ())?;
    match column_type {
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => {
            let (date, time) = text.split_once(' ').unwrap_or((text, "00:00:00"));
            let mut parts = date.splitn(3, '-').map(|p| p.parse::<u16>());
            let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(());
            };
            let (h, mi, s, us) = clock(time)?;
            let small = |v: u32| u8::try_from(v).map_err(|_| ());
            Ok(Some(Value::Date(
                y,
                small(m.into())?,
                small(d.into())?,
                small(h)?,
                mi,
                s,
                us,
            )))
        }
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => {
            let (negative, time) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let (h, mi, s, us) = clock(time)?;
            let hours = u8::try_from(h % 24).map_err(|_| ())?;
            Ok(Some(Value::Time(negative, h / 24, hours, mi, s, us)))
        }
        _ => Ok(None),
    }
}

/// `H+:MM:SS[.ffffff]` as hours, minutes, seconds and microseconds.
fn clock(text: &str) -> Result<(u32, u8, u8, u32), ()> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = whole.splitn(3, ':').map(|p| p.parse::<u32>());
    let (Some(Ok(h)), Some(Ok(m)), Some(Ok(s))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(());
    };
    let us = match fraction {
        "" => 0,
        f if f.len() <= 6 && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{f:0<6}").parse::<u32>().map_err(|_| ())?
        }
        _ => return Err(()),
    };
    let small = |v: u32| u8::try_from(v).map_err(|_| ());
    Ok((h, small(m)?, small(s)?, us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_text_becomes_the_binary_protocol_value() {
        assert_eq!(
            temporal(ColumnType::MYSQL_TYPE_DATE, b"2020-01-08"),
            Ok(Some(Value::Date(2020, 1, 8, 0, 0, 0, 0)))
        );
        assert_eq!(
            temporal(ColumnType::MYSQL_TYPE_DATETIME, b"2021-12-31 23:59:58.125"),
            Ok(Some(Value::Date(2021, 12, 31, 23, 59, 58, 125_000)))
        );
        assert_eq!(
            temporal(ColumnType::MYSQL_TYPE_TIME, b"-30:00:01"),
            Ok(Some(Value::Time(true, 1, 6, 0, 1, 0)))
        );
        assert_eq!(temporal(ColumnType::MYSQL_TYPE_LONG, b"7"), Ok(None));
        assert_eq!(temporal(ColumnType::MYSQL_TYPE_DATE, b"soon"), Err(()));
    }
}
