//! The rows of a query already answered (a derived table or a UNION branch
//! whose rows needed several data nodes) as a query of literals that one
//! MariaDB evaluates in its place:
//!
//! ```text
//! SELECT CAST(.. AS DECIMAL(12,2)) AS `c`, .. UNION ALL VALUES (..), (..) LIMIT 18446744073709551615
//! ```
//!
//! Every cell is cast to its column's type as the answer describes it, so
//! the rows aggregate to that type (a first row alone would not decide it)
//! and a NULL keeps it; strings carry their collation, so comparisons,
//! grouping and ORDER BY see them as the column's. The LIMIT keeps MariaDB
//! from merging the derived table into the query around it: the columns
//! stay columns (implicit collation), not the casts' expressions. No row:
//! one row of typed NULLs with `LIMIT 0`. VALUES keeps a long answer a
//! flat list (a chain of UNIONs would nest as deep as it has rows).

use crate::error::Error;
use crate::sql::prepared::{bound_values, Bound};
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::packets::Column;
use mysql_common::value::Value;
use sqlparser::ast::{Query, Statement};
use std::fmt::Write;

/// The most rows a LIMIT can name: all of them.
const ALL_ROWS: &str = "18446744073709551615";

/// The `binary` character set's id.
const BINARY_CHARSET: u16 = 63;

/// The literal query of `rows` of `columns`, its columns named `names`:
/// what replaces a derived table's query.
pub fn literal_table(
    columns: &[Column],
    rows: &[Vec<Value>],
    names: &[String],
    collations: &[Option<String>],
) -> Result<Query, Error> {
    parse_query(&literal_sql(columns, rows, names, collations)?)
}

/// The SELECT that replaces a UNION branch: the literal rows in a derived
/// table (columns `c1`, `c2`, .. there, as a branch may repeat a name),
/// selected under the branch's column names.
pub fn literal_branch(
    columns: &[Column],
    rows: &[Vec<Value>],
    names: &[String],
    collations: &[Option<String>],
) -> Result<Query, Error> {
    let inner: Vec<String> = (1..=columns.len()).map(|i| format!("c{i}")).collect();
    let table = literal_sql(columns, rows, &inner, collations)?;
    let mut sql = String::from("SELECT ");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        // A column of NULLs takes the union's type from the other branches,
        // as the branch's NULL did (a derived table's NULL column is BINARY(0)).
        let nulls = matches!(cast_type(&columns[i], None), Ok(CastType::Null))
            && rows
                .iter()
                .all(|row| matches!(row.get(i), Some(Value::NULL)));
        let name = name.replace('`', "``");
        if nulls {
            let _ = write!(sql, "NULL AS `{name}`");
        } else {
            let _ = write!(sql, "{BRANCH}.c{} AS `{name}`", i + 1);
        }
    }
    let _ = write!(sql, " FROM ({table}) AS {BRANCH}");
    parse_query(&sql)
}

/// The derived table's name in [`literal_branch`].
const BRANCH: &str = "UNION_BRANCH";

fn parse_query(sql: &str) -> Result<Query, Error> {
    match crate::sql::parse(sql)
        .map_err(|e| Error::internal(format!("a literal table did not parse: {e}")))?
        .pop()
    {
        Some(Statement::Query(query)) => Ok(*query),
        _ => Err(Error::internal("a literal table that is no query")),
    }
}

/// The text of [`literal_table`]. `collations`: each column's, as
/// MariaDB's `COLLATION()` names it (a result's column definitions carry
/// the connection's result character set instead).
fn literal_sql(
    columns: &[Column],
    rows: &[Vec<Value>],
    names: &[String],
    collations: &[Option<String>],
) -> Result<String, Error> {
    if names.len() != columns.len() || columns.is_empty() || collations.len() != columns.len() {
        return Err(Error::internal("a literal table's names out of step"));
    }
    let mut types = columns
        .iter()
        .zip(collations)
        .map(|(column, collation)| cast_type(column, collation.as_deref()))
        .collect::<Result<Vec<_>, Error>>()?;
    widen_decimals(&mut types, rows);
    let mut sql = String::from("SELECT ");
    let first = match rows.first() {
        Some(row) => cells(columns, &types, row)?,
        None => vec![None; columns.len()],
    };
    for (i, (cell, name)) in first.iter().zip(names).enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(
            sql,
            "{} AS `{}`",
            typed(&types[i], cell.as_deref()),
            name.replace('`', "``")
        );
    }
    if rows.len() > 1 {
        sql.push_str(" UNION ALL VALUES ");
        for (r, row) in rows.iter().enumerate().skip(1) {
            if r > 1 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (i, cell) in cells(columns, &types, row)?.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&typed(&types[i], cell.as_deref()));
            }
            sql.push(')');
        }
    }
    let limit = if rows.is_empty() { "0" } else { ALL_ROWS };
    let _ = write!(sql, " LIMIT {limit}");
    Ok(sql)
}

/// How a column's values are written: the cast around each, and how the
/// value inside it is spelled.
#[derive(Debug, Clone)]
enum CastType {
    /// `CAST(v AS <type>)` of a number or a temporal string.
    Cast(String),
    /// `CONVERT(X'..' USING <charset>) COLLATE <collation>`.
    /// `source`: the character set the value's bytes came in (the
    /// result's, which the column definition names).
    Text {
        source: String,
        charset: String,
        collation: String,
    },
    /// `X'..'`, NULL as `CAST(NULL AS BINARY)`.
    Binary,
    /// `ROUND(CAST(v AS DOUBLE), d)`: a DOUBLE of `d` decimals.
    Rounded(u32),
    /// `CAST(v AS DECIMAL(p,s))`, `p` widened to the values' digits.
    Decimal(u32, u32),
    /// A column of NULLs only (`SELECT NULL`).
    Null,
}

/// The cast that gives a value `column`'s type; what has no exact literal
/// is refused.
fn cast_type(column: &Column, collation: Option<&str>) -> Result<CastType, Error> {
    use ColumnType::*;
    if column
        .flags()
        .intersects(ColumnFlags::ENUM_FLAG | ColumnFlags::SET_FLAG)
    {
        // Ordered by member index, which a string literal is not.
        return Err(unsupported(column));
    }
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let decimals = u32::from(column.decimals());
    Ok(match column.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
        | MYSQL_TYPE_LONGLONG => {
            CastType::Cast(if unsigned { "UNSIGNED" } else { "SIGNED" }.into())
        }
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            // The display length counts the sign and the point.
            let scale = decimals.min(38);
            let point = u32::from(scale > 0);
            let sign = u32::from(!unsigned);
            let precision = column
                .column_length()
                .saturating_sub(point + sign)
                .clamp(scale.max(1), 65);
            // No UNSIGNED DECIMAL cast: the values are the same.
            CastType::Decimal(precision, scale)
        }
        // A DOUBLE of fixed decimals (an aggregate's) prints with them.
        MYSQL_TYPE_DOUBLE if decimals < 31 => CastType::Rounded(decimals),
        MYSQL_TYPE_DOUBLE => CastType::Cast("DOUBLE".into()),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => CastType::Cast("DATE".into()),
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2 => CastType::Cast(format!("DATETIME({})", decimals.min(6))),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => CastType::Cast(format!("TIME({})", decimals.min(6))),
        MYSQL_TYPE_NULL => CastType::Null,
        string if is_string_type(string) => {
            match collation {
                // `SELECT NULL` described by a prepare.
                _ if column.column_length() == 0 && column.character_set() == BINARY_CHARSET => {
                    CastType::Null
                }
                Some("binary") => CastType::Binary,
                Some(name) => match (name.split_once('_'), result_charset(column)) {
                    (Some((charset, _)), Some(source)) if is_name(name) => CastType::Text {
                        source,
                        charset: charset.to_string(),
                        collation: name.to_string(),
                    },
                    _ => return Err(unsupported(column)),
                },
                None if column.character_set() == BINARY_CHARSET => CastType::Binary,
                None => return Err(unsupported(column)),
            }
        }
        // FLOAT's text is not its value; YEAR, BIT, ENUM/SET flags aside,
        // GEOMETRY and JSON have no literal of their type.
        _ => return Err(unsupported(column)),
    })
}

/// Whether a column of type `column_type` holds strings (text or bytes),
/// whose collation matters.
pub fn is_string_type(column_type: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        column_type,
        MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
    )
}

fn unsupported(column: &Column) -> Error {
    Error::not_supported(format!(
        "a {:?} column in the rows of a derived table or UNION branch across data nodes",
        column.column_type()
    ))
}

/// A row's values as the text inside each cast (`None`: NULL).
fn cells(
    columns: &[Column],
    types: &[CastType],
    row: &[Value],
) -> Result<Vec<Option<String>>, Error> {
    if row.len() != columns.len() {
        return Err(Error::internal("a row of another width than its columns"));
    }
    bound_values(columns, row)
        .into_iter()
        .zip(types)
        .map(|(bound, cast)| {
            let bytes = match bound {
                Bound::Null => return Ok(None),
                Bound::Exact(text) | Bound::Float(text) => text.into_bytes(),
                Bound::Text(bytes) | Bound::Binary(bytes) => bytes,
            };
            Ok(Some(match cast {
                CastType::Rounded(_) if !is_plain(&String::from_utf8_lossy(&bytes)) => {
                    return Err(Error::internal("a DOUBLE that is no number"));
                }
                CastType::Rounded(_) => format!("'{}'", String::from_utf8_lossy(&bytes)),
                CastType::Decimal(precision, scale) => {
                    let text = String::from_utf8_lossy(&bytes);
                    match decimal_digits(&text) {
                        Some((whole, fraction))
                            if fraction <= *scale && whole + scale <= *precision =>
                        {
                            format!("'{text}'")
                        }
                        _ => {
                            return Err(out_of_type(
                                &text,
                                &format!("DECIMAL({precision},{scale})"),
                            ))
                        }
                    }
                }
                CastType::Cast(to) => {
                    let text = String::from_utf8_lossy(&bytes);
                    // A zero date casts to NULL, an integer out of range to
                    // its limit: not what the column held.
                    let fits = match to.as_str() {
                        "SIGNED" => text.parse::<i64>().is_ok(),
                        "UNSIGNED" => text.parse::<u64>().is_ok(),
                        "DOUBLE" => text.parse::<f64>().is_ok(),
                        _ => is_plain(&text) && !(is_temporal(to) && text.starts_with("0000")),
                    };
                    if !fits {
                        return Err(out_of_type(&text, to));
                    }
                    format!("'{text}'")
                }
                CastType::Text { .. } | CastType::Binary | CastType::Null => {
                    format!("X'{}'", hex(&bytes))
                }
            }))
        })
        .collect()
}

fn out_of_type(text: &str, to: &str) -> Error {
    Error::not_supported(format!(
        "the value '{text}' of a {to} column in the rows of a derived table or UNION branch across data nodes"
    ))
}

/// The digits of a decimal number before and after its point.
fn decimal_digits(text: &str) -> Option<(u32, u32)> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let significant = whole.trim_start_matches('0').len();
    Some((
        u32::try_from(significant).ok()?,
        u32::try_from(fraction.len()).ok()?,
    ))
}

/// Widens each DECIMAL cast to the integer digits its values have (a
/// column definition's length may undercount them): a cast never clamps.
fn widen_decimals(types: &mut [CastType], rows: &[Vec<Value>]) {
    for (i, cast) in types.iter_mut().enumerate() {
        let CastType::Decimal(precision, scale) = cast else {
            continue;
        };
        for row in rows {
            let whole = match row.get(i) {
                Some(Value::Bytes(text)) => std::str::from_utf8(text)
                    .ok()
                    .and_then(decimal_digits)
                    .map_or(0, |(whole, _)| whole),
                _ => 0,
            };
            *precision = (*precision).max(whole + *scale).min(65);
        }
    }
}

/// Whether `text` is a number or a temporal value, nothing that needs quoting.
fn is_plain(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| {
            b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b':' | b' ' | b'e' | b'E')
        })
}

fn is_temporal(cast: &str) -> bool {
    cast.starts_with("DATE")
}

/// A cell: its value (`None`: NULL) cast to `cast`.
fn typed(cast: &CastType, value: Option<&str>) -> String {
    let value = value.unwrap_or("NULL");
    match cast {
        CastType::Cast(to) => format!("CAST({value} AS {to})"),
        CastType::Text {
            source,
            charset,
            collation,
        } if source == charset => format!("CONVERT({value} USING {charset}) COLLATE {collation}"),
        CastType::Text {
            source,
            charset,
            collation,
        } => {
            format!("CONVERT(CONVERT({value} USING {source}) USING {charset}) COLLATE {collation}")
        }
        CastType::Binary if value == "NULL" => "CAST(NULL AS BINARY)".into(),
        CastType::Binary | CastType::Null => value.to_string(),
        CastType::Rounded(decimals) => format!("ROUND(CAST({value} AS DOUBLE), {decimals})"),
        CastType::Decimal(precision, scale) => {
            format!("CAST({value} AS DECIMAL({precision},{scale}))")
        }
    }
}

/// The character set a string column's values come in: the column
/// definition's id is the result character set's; `None` past 254 (named
/// otherwise by MySQL and MariaDB) or for binary.
fn result_charset(column: &Column) -> Option<String> {
    let id = column.character_set();
    if id >= 255 || id == BINARY_CHARSET {
        return None;
    }
    let collation = mysql_common::collations::Collation::resolve(id.into());
    let charset = collation.charset();
    is_name(charset).then(|| charset.to_string())
}

/// Whether `name` is a plain collation name (nothing to quote).
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(column_type: ColumnType, charset: u16, length: u32, decimals: u8) -> Column {
        Column::new(column_type)
            .with_name(b"c")
            .with_character_set(charset)
            .with_column_length(length)
            .with_decimals(decimals)
    }

    #[test]
    fn strings_are_converted_from_the_result_character_set() {
        let columns = [column(ColumnType::MYSQL_TYPE_VAR_STRING, 45, 64, 0)];
        let rows = vec![vec![Value::Bytes("é".as_bytes().to_vec())]];
        let collations = [Some("latin1_swedish_ci".to_string())];
        let query =
            literal_table(&columns, &rows, &["s".to_string()], &collations).expect("converted");
        assert_eq!(
            query.to_string(),
            "SELECT CONVERT(CONVERT(X'C3A9' USING utf8mb4) USING latin1) COLLATE latin1_swedish_ci AS `s` LIMIT 18446744073709551615"
        );
    }

    #[test]
    fn rows_become_typed_casts_under_one_union_all_values() {
        let columns = [
            column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 63, 14, 2),
            column(ColumnType::MYSQL_TYPE_VAR_STRING, 45, 64, 0),
            column(ColumnType::MYSQL_TYPE_LONGLONG, 63, 21, 0),
        ];
        let rows = vec![
            vec![
                Value::Bytes(b"12.50".to_vec()),
                Value::Bytes(b"a'b".to_vec()),
                Value::Int(3),
            ],
            vec![Value::NULL, Value::NULL, Value::Bytes(b"-4".to_vec())],
        ];
        let names = ["amount".to_string(), "s`x".to_string(), "n".to_string()];
        let collations = [None, Some("utf8mb4_bin".to_string()), None];
        let query = literal_table(&columns, &rows, &names, &collations).expect("literal table");
        assert_eq!(
            query.to_string(),
            "SELECT CAST('12.50' AS DECIMAL(12,2)) AS `amount`, \
             CONVERT(X'612762' USING utf8mb4) COLLATE utf8mb4_bin AS `s``x`, \
             CAST('3' AS SIGNED) AS `n` UNION ALL VALUES \
             (CAST(NULL AS DECIMAL(12,2)), CONVERT(NULL USING utf8mb4) COLLATE utf8mb4_bin, \
             CAST('-4' AS SIGNED)) LIMIT 18446744073709551615"
        );
    }

    #[test]
    fn no_rows_is_one_row_of_typed_nulls_limited_to_none() {
        let columns = [
            column(ColumnType::MYSQL_TYPE_DATETIME, 63, 23, 3),
            column(ColumnType::MYSQL_TYPE_DOUBLE, 63, 22, 31),
        ];
        let names = ["at".to_string(), "w".to_string()];
        let query = literal_table(&columns, &[], &names, &[None, None]).expect("literal table");
        assert_eq!(
            query.to_string(),
            "SELECT CAST(NULL AS DATETIME(3)) AS `at`, CAST(NULL AS DOUBLE) AS `w` LIMIT 0"
        );
    }

    #[test]
    fn decimals_widen_to_their_values_and_numbers_never_clamp() {
        let columns = [column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 63, 5, 2)];
        let rows = vec![vec![Value::Bytes(b"-12345.50".to_vec())]];
        let query = literal_table(&columns, &rows, &["d".to_string()], &[None]).expect("widened");
        assert_eq!(
            query.to_string(),
            "SELECT CAST('-12345.50' AS DECIMAL(7,2)) AS `d` LIMIT 18446744073709551615"
        );
        let rows = vec![vec![Value::Bytes(b"1.505".to_vec())]];
        let error =
            literal_table(&columns, &rows, &["d".to_string()], &[None]).expect_err("refused");
        assert_eq!(error.code, 1235);
        let columns = [column(ColumnType::MYSQL_TYPE_LONGLONG, 63, 20, 0)];
        let rows = vec![vec![Value::Bytes(b"18446744073709551615".to_vec())]];
        let error =
            literal_table(&columns, &rows, &["n".to_string()], &[None]).expect_err("refused");
        assert_eq!(error.code, 1235);
        let enum_column =
            column(ColumnType::MYSQL_TYPE_STRING, 45, 16, 0).with_flags(ColumnFlags::ENUM_FLAG);
        let error =
            literal_table(&[enum_column], &[], &["e".to_string()], &[None]).expect_err("refused");
        assert_eq!(error.code, 1235);
    }

    #[test]
    fn columns_without_an_exact_literal_are_refused() {
        let columns = [column(ColumnType::MYSQL_TYPE_FLOAT, 63, 12, 31)];
        let error = literal_table(&columns, &[], &["f".to_string()], &[None]).expect_err("refused");
        assert_eq!(error.code, 1235);
        let columns = [column(ColumnType::MYSQL_TYPE_DATE, 63, 10, 0)];
        let rows = vec![vec![Value::Bytes(b"0000-00-00".to_vec())]];
        let error =
            literal_table(&columns, &rows, &["d".to_string()], &[None]).expect_err("refused");
        assert_eq!(error.code, 1235);
    }
}
