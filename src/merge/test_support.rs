//! Helpers for merge tests: column metadata, rows written inline, and a
//! merge run over in-memory sources.

use super::{merge, MemorySource, MergeStats, SelectMerge};
use crate::error::Error;
use futures_util::FutureExt;
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// A BIGINT column.
pub fn int() -> Column {
    Column::new(ColumnType::MYSQL_TYPE_LONGLONG).with_name(b"i")
}

/// A DECIMAL column with `scale`.
pub fn decimal(scale: u8) -> Column {
    Column::new(ColumnType::MYSQL_TYPE_NEWDECIMAL)
        .with_decimals(scale)
        .with_name(b"d")
}

/// A DOUBLE column printed in its shortest form.
pub fn double() -> Column {
    Column::new(ColumnType::MYSQL_TYPE_DOUBLE)
        .with_decimals(31)
        .with_name(b"f")
}

/// A VARCHAR of a case-insensitive utf8mb4 collation.
pub fn text() -> Column {
    Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
        .with_character_set(45)
        .with_name(b"s")
}

/// An ENUM column.
pub fn enumeration() -> Column {
    text().with_flags(ColumnFlags::ENUM_FLAG)
}

/// A VARBINARY column (also the type of `WEIGHT_STRING()`).
pub fn binary() -> Column {
    Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
        .with_character_set(63)
        .with_name(b"b")
}

/// A DATETIME column.
pub fn datetime() -> Column {
    Column::new(ColumnType::MYSQL_TYPE_DATETIME).with_name(b"dt")
}

/// A TIME column.
pub fn time() -> Column {
    Column::new(ColumnType::MYSQL_TYPE_TIME).with_name(b"t")
}

/// A text-protocol value; `"NULL"` is NULL.
pub fn v(text: &str) -> Value {
    if text == "NULL" {
        Value::NULL
    } else {
        Value::Bytes(text.as_bytes().to_vec())
    }
}

/// Text-protocol rows.
pub fn rows(rows: &[&[&str]]) -> Vec<Vec<Value>> {
    rows.iter()
        .map(|r| r.iter().map(|t| v(t)).collect())
        .collect()
}

/// Runs `spec` over one in-memory source per unit; the rows sent and the stats.
pub fn run(
    spec: &SelectMerge,
    columns: &[Column],
    units: Vec<Vec<Vec<Value>>>,
) -> Result<(Vec<Vec<Value>>, MergeStats), Error> {
    let sources = units.into_iter().map(MemorySource::new).collect();
    let mut sent = Vec::new();
    let stats = merge(spec, columns, sources, &mut sent)
        .now_or_never()
        .expect("an in-memory merge never waits")?;
    Ok((sent, stats))
}

/// The rows `spec` sends for text-protocol units written inline.
pub fn merged(spec: &SelectMerge, columns: &[Column], units: &[&[&[&str]]]) -> Vec<Vec<Value>> {
    let units = units.iter().map(|u| rows(u)).collect();
    run(spec, columns, units).expect("merge succeeds").0
}
