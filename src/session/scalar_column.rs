//! The column of a scalar subquery answered first in the select list: the
//! backend describes the literal left in its place (a BIGINT for `5`, NOT
//! NULL), MariaDB the subquery's column (an INT, nullable). This reply
//! passes everything to the client's with those columns described as the
//! subquery's result was, and binary rows re-encoded for the types it
//! then names.

use super::reply::{OkInfo, Reply};
use super::Session;
use crate::error::Error;
use crate::execute::decode_row;
use crate::hash::HashSet;
use crate::sql::subquery::{find, first_table, Found, Shape};
use mysql_common::constants::{ColumnFlags, ColumnType, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use sqlparser::ast::LimitClause;
use sqlparser::tokenizer::{Location, Span};
use std::sync::Arc;

/// A select-list column to describe as a subquery's: (position, the
/// subquery's column).
pub(super) type Described = (usize, Column);

/// The name MariaDB gives an unaliased item `(SELECT ..)` whose query is
/// written at `span` of `text`: the item's text with its parentheses;
/// `None` when it cannot be found exactly.
pub(super) fn item_name(text: &str, span: Span) -> Option<String> {
    let start = byte_at(text, span.start)?;
    let end = byte_at(text, span.end)?;
    let open = text[..start].trim_end();
    let close = text[end..].trim_start();
    if !open.ends_with('(') || !close.starts_with(')') {
        return None;
    }
    let from = open.len() - 1;
    let to = text.len() - close.len() + 1;
    let name = text.get(from..to)?;
    // MariaDB cuts longer names; a backtick would need quoting rules of its own.
    (name.chars().count() <= 200 && !name.contains('`')).then(|| name.to_string())
}

/// The byte offset of a 1-based line and column (in characters).
fn byte_at(text: &str, at: Location) -> Option<usize> {
    if at.line == 0 || at.column == 0 {
        return None;
    }
    let mut line_start = 0;
    for _ in 1..at.line {
        line_start += text[line_start..].find('\n')? + 1;
    }
    let line = &text[line_start..];
    let column = usize::try_from(at.column - 1).ok()?;
    match line.char_indices().nth(column) {
        Some((offset, _)) => Some(line_start + offset),
        None if line.chars().count() == column => Some(text.len()),
        None => None,
    }
}

/// The outer column described as `subquery`'s: its name, the subquery
/// column's type, length, decimals and character set, nullable, and no
/// table or original name (an expression's, as MariaDB sends it).
pub(super) fn described_as(outer: &Column, subquery: &Column) -> Column {
    let kept = ColumnFlags::UNSIGNED_FLAG | ColumnFlags::BINARY_FLAG | ColumnFlags::ZEROFILL_FLAG;
    Column::new(subquery.column_type())
        .with_schema(outer.schema_ref())
        .with_name(outer.name_ref())
        .with_flags(subquery.flags() & kept)
        .with_column_length(subquery.column_length())
        .with_character_set(subquery.character_set())
        .with_decimals(subquery.decimals())
}

/// `value` as the binary protocol encodes a column of `column_type`: a
/// temporal's text (`2020-01-01 10:00:00.5`, `-838:59:59`) as its parts.
fn typed(value: Value, column_type: ColumnType) -> Value {
    let Value::Bytes(bytes) = &value else {
        return value;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return value;
    };
    let numbers = |part: &str| -> Option<Vec<u32>> {
        part.split([':', '-', ' ', '.'])
            .map(|n| n.parse::<u32>().ok())
            .collect()
    };
    let micros = |fraction: Option<&str>| -> Option<u32> {
        let digits = fraction.unwrap_or("");
        let padded = format!("{digits:0<6}");
        (digits.len() <= 6).then(|| padded.parse().ok()).flatten()
    };
    let parsed = match column_type {
        ColumnType::MYSQL_TYPE_DATE
        | ColumnType::MYSQL_TYPE_NEWDATE
        | ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_TIMESTAMP => (|| {
            let (whole, fraction) = match text.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (text, None),
            };
            let n = numbers(whole)?;
            let at = |i: usize| n.get(i).copied().unwrap_or(0);
            if n.len() != 3 && n.len() != 6 {
                return None;
            }
            Some(Value::Date(
                u16::try_from(at(0)).ok()?,
                u8::try_from(at(1)).ok()?,
                u8::try_from(at(2)).ok()?,
                u8::try_from(at(3)).ok()?,
                u8::try_from(at(4)).ok()?,
                u8::try_from(at(5)).ok()?,
                micros(fraction)?,
            ))
        })(),
        ColumnType::MYSQL_TYPE_TIME => (|| {
            let (negative, rest) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let (whole, fraction) = match rest.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (rest, None),
            };
            let n = numbers(whole)?;
            let [h, m, s] = n.as_slice() else {
                return None;
            };
            Some(Value::Time(
                negative,
                h / 24,
                u8::try_from(h % 24).ok()?,
                u8::try_from(*m).ok()?,
                u8::try_from(*s).ok()?,
                micros(fraction)?,
            ))
        })(),
        _ => None,
    };
    parsed.unwrap_or(value)
}

pub(super) struct DescribedReply<'r, R> {
    inner: &'r mut R,
    described: Vec<Described>,
    binary: bool,
    /// The columns as the backend described them, for decoding its rows.
    backend: Option<Arc<[Column]>>,
    /// Column definitions relayed so far.
    pending: Vec<Column>,
    failed: bool,
}

impl<'r, R: Reply> DescribedReply<'r, R> {
    pub(super) fn new(inner: &'r mut R, described: Vec<Described>, binary: bool) -> Self {
        DescribedReply {
            inner,
            described,
            binary,
            backend: None,
            pending: Vec::new(),
            failed: false,
        }
    }

    fn send_columns(&mut self, columns: Vec<Column>) {
        let mut shown = columns.clone();
        for (position, subquery) in &self.described {
            if let Some(column) = shown.get_mut(*position) {
                *column = described_as(column, subquery);
            }
        }
        self.backend = Some(columns.into());
        self.inner.columns(&shown);
    }
}

impl<R: Reply> Reply for DescribedReply<'_, R> {
    fn extended_metadata(&self) -> bool {
        false // read with mysql_common, which knows none
    }
    fn columns(&mut self, columns: &[Column]) {
        self.send_columns(columns.to_vec());
    }
    fn column_count(&mut self, n: usize) {
        self.pending = Vec::with_capacity(n);
    }
    fn raw_column(&mut self, payload: &[u8]) {
        match ParseBuf(payload).parse::<Column>(()) {
            Ok(column) => self.pending.push(column),
            Err(_) => self.failed = true,
        }
    }
    fn columns_done(&mut self) {
        if self.failed {
            self.inner
                .error(&Error::internal("a malformed column definition"));
            return;
        }
        let columns = std::mem::take(&mut self.pending);
        self.send_columns(columns);
    }
    fn raw_row(&mut self, payload: &[u8]) {
        if !self.binary {
            // Text rows do not depend on the column types.
            return self.inner.raw_row(payload);
        }
        let decoded = self
            .backend
            .as_ref()
            .and_then(|columns| decode_row(payload, columns, true));
        match decoded {
            Some(values) => self.row(&values),
            None if !self.failed => {
                self.failed = true;
                self.inner
                    .error(&Error::internal("a malformed row of a described result"));
            }
            None => {}
        }
    }
    fn row(&mut self, values: &[Value]) {
        if !self.binary {
            return self.inner.row(values);
        }
        // Values the merge kept as text are encoded by the described type.
        let mut values = values.to_vec();
        for (position, subquery) in &self.described {
            if let Some(value) = values.get_mut(*position) {
                *value = typed(
                    std::mem::replace(value, Value::NULL),
                    subquery.column_type(),
                );
            }
        }
        self.inner.row(&values)
    }
    fn end_rows(&mut self, status: StatusFlags, warnings: u16) {
        if !self.failed {
            self.inner.end_rows(status, warnings)
        }
    }
    fn ok(&mut self, ok: &OkInfo, status: StatusFlags) {
        self.inner.ok(ok, status)
    }
    fn error(&mut self, error: &Error) {
        self.inner.error(error)
    }
    fn pending(&self) -> usize {
        self.inner.pending()
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().await
    }
}

impl Session {
    /// The columns of `text`'s whole-item scalar subqueries in the select
    /// list, for a prepare to describe them: each run alone with `LIMIT 0`
    /// (no row read, the columns as an answer describes them). One with a
    /// `?` is refused: its column may depend on the value bound.
    pub(super) async fn describe_select_items(
        &mut self,
        text: &str,
    ) -> Result<Vec<Described>, Error> {
        let Ok(mut statements) = crate::sql::parse(text) else {
            return Ok(Vec::new());
        };
        if statements.len() != 1 {
            return Ok(Vec::new());
        }
        let statement = statements.remove(0);
        let sharded: HashSet<String> = self.schema_rules()?.tables.keys().cloned().collect();
        let is_sharded = |name: &str| sharded.contains(&name.to_ascii_lowercase());
        let mut described = Vec::new();
        for found in find(&statement, &is_sharded)? {
            let Some(at) = &found.select_item else {
                continue;
            };
            if !found.placeholders.is_empty() {
                return Err(Error::not_supported(format!(
                    "scalar subquery on sharded table '{}' with parameters in the select list of a prepared statement",
                    first_table(&found.query)
                )));
            }
            let mut query = found.query.clone();
            query.limit_clause = Some(LimitClause::LimitOffset {
                limit: Some(
                    crate::sql::parse_expr("0").map_err(|e| Error::internal(e.to_string()))?,
                ),
                offset: None,
                limit_by: Vec::new(),
            });
            let alone = Found {
                query,
                shape: Shape::Scalar,
                placeholders: Vec::new(),
                select_item: None,
            };
            let rows = self.subquery_rows(&alone, None, 1).await?;
            if let [column] = rows.columns.as_slice() {
                described.push((at.position, column.clone()));
            }
        }
        Ok(described)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_of(text: &str) -> Span {
        let statement = crate::sql::parse(text).unwrap().remove(0);
        let found = find(&statement, &|t: &str| t.starts_with("t_")).unwrap();
        found[0].select_item.as_ref().unwrap().unaliased.unwrap()
    }

    #[test]
    fn temporal_text_becomes_typed_for_the_binary_protocol() {
        let text = |s: &str| Value::Bytes(s.as_bytes().to_vec());
        assert_eq!(
            typed(text("2020-01-02"), ColumnType::MYSQL_TYPE_DATE),
            Value::Date(2020, 1, 2, 0, 0, 0, 0)
        );
        assert_eq!(
            typed(
                text("2020-01-02 03:04:05.5"),
                ColumnType::MYSQL_TYPE_DATETIME
            ),
            Value::Date(2020, 1, 2, 3, 4, 5, 500_000)
        );
        assert_eq!(
            typed(text("-838:59:59"), ColumnType::MYSQL_TYPE_TIME),
            Value::Time(true, 34, 22, 59, 59, 0)
        );
        assert_eq!(typed(text("x"), ColumnType::MYSQL_TYPE_DATE), text("x"));
        assert_eq!(
            typed(Value::Int(5), ColumnType::MYSQL_TYPE_LONG),
            Value::Int(5)
        );
    }

    #[test]
    fn an_unaliased_item_is_named_by_its_text_with_parentheses() {
        for (text, name) in [
            (
                "SELECT a, (SELECT MAX(b) FROM t_y) FROM t_x",
                "(SELECT MAX(b) FROM t_y)",
            ),
            (
                "SELECT ( SELECT  MIN(b)  FROM t_y ) ",
                "( SELECT  MIN(b)  FROM t_y )",
            ),
            (
                "SELECT o, (SELECT COUNT(*) FROM t_o) FROM t_o WHERE u = ? ORDER BY o",
                "(SELECT COUNT(*) FROM t_o)",
            ),
            (
                "SELECT 'é',\n  (SELECT MAX(b)\n FROM t_y)",
                "(SELECT MAX(b)\n FROM t_y)",
            ),
        ] {
            assert_eq!(
                item_name(text, span_of(text)).as_deref(),
                Some(name),
                "{text}"
            );
        }
    }
}
