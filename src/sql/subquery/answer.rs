//! A subquery's rows as the literals that replace it.

use super::{Answer, Shape};
use crate::error::Error;
use crate::sql::prepared::{bound_values, Bound};
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use sqlparser::ast::{Expr, Value as SqlValue};

/// The literal answer of a subquery of `shape` that returned `rows` of `columns`.
/// `collations`: each string column's collation, as `COLLATION()` names it
/// (the column definitions carry the result character set's instead); a
/// missing one gives its literals the connection's.
pub fn answer(
    shape: Shape,
    columns: &[Column],
    collations: &[Option<String>],
    rows: &[Vec<Value>],
) -> Result<Answer, Error> {
    match shape {
        Shape::Exists { negated } => {
            Ok(Answer::Value(Box::new(boolean(rows.is_empty() == negated))))
        }
        Shape::In { negated, arity } => {
            if columns.len() != arity {
                return Err(operand_columns(arity));
            }
            if rows.is_empty() {
                // No row: IN is false and NOT IN true, whatever the left side (NULL too).
                return Ok(Answer::Value(Box::new(boolean(negated))));
            }
            let items = rows
                .iter()
                .map(|row| {
                    let values = literals(columns, collations, row)?;
                    Ok(if arity == 1 {
                        values.into_iter().next().unwrap_or(null())
                    } else {
                        Expr::Tuple(values)
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            Ok(Answer::List(items))
        }
        Shape::Scalar => {
            if columns.len() != 1 {
                return Err(operand_columns(1));
            }
            match rows {
                [] => Ok(Answer::Value(Box::new(null()))),
                [row] => Ok(Answer::Value(Box::new(
                    literals(columns, collations, row)?
                        .into_iter()
                        .next()
                        .unwrap_or(null()),
                ))),
                _ => Err(Error::new(
                    1242,
                    "21000",
                    "Subquery returns more than 1 row",
                    crate::error::Origin::Client,
                )),
            }
        }
    }
}

/// MariaDB's 1241 for a subquery of the wrong width.
fn operand_columns(n: usize) -> Error {
    Error::new(
        1241,
        "21000",
        format!("Operand should contain {n} column(s)"),
        crate::error::Origin::Client,
    )
}

fn boolean(value: bool) -> Expr {
    Expr::Value(SqlValue::Boolean(value).into())
}

fn null() -> Expr {
    Expr::Value(SqlValue::Null.into())
}

/// A row's values as literals typed as MariaDB compares them: numbers as
/// written (DECIMAL exact, DOUBLE with an exponent), strings quoted,
/// temporal values as DATE / TIME / TIMESTAMP literals.
fn literals(
    columns: &[Column],
    collations: &[Option<String>],
    row: &[Value],
) -> Result<Vec<Expr>, Error> {
    bound_values(columns, row)
        .into_iter()
        .zip(columns)
        .enumerate()
        .map(|(i, (bound, column))| {
            if matches!(
                column.column_type(),
                ColumnType::MYSQL_TYPE_FLOAT
                    | ColumnType::MYSQL_TYPE_BIT
                    | ColumnType::MYSQL_TYPE_GEOMETRY
            ) {
                // A FLOAT's text is not its value; BIT and GEOMETRY values
                // have no literal that compares as the column does.
                return Err(Error::not_supported(format!(
                    "subquery answer of a {:?} column across data nodes",
                    column.column_type()
                )));
            }
            let text = match (&bound, temporal_keyword(column.column_type())) {
                (Bound::Text(bytes), Some(keyword)) if is_plain_temporal(bytes) => {
                    format!("{keyword} {}", bound.literal())
                }
                // A backslash reads otherwise under NO_BACKSLASH_ESCAPES: the
                // bytes go in hex, as a character string all the same.
                (Bound::Text(bytes), None) if bytes.contains(&b'\\') => {
                    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                    format!("_utf8mb4 X'{hex}'")
                }
                _ => bound.literal(),
            };
            let collation = collations.get(i).cloned().flatten();
            let text = match (&bound, collation.filter(|c| takes_collate(c, column))) {
                // The subquery's column decides a comparison with a literal
                // or an expression of another collation, as it does in MariaDB.
                (Bound::Text(_), Some(collation)) => format!("{text} COLLATE {collation}"),
                _ => text,
            };
            crate::sql::parse_expr(&text).map_err(|e| {
                Error::internal(format!(
                    "a subquery's value did not parse as a literal: {e}"
                ))
            })
        })
        .collect()
}

/// Whether a string literal (in the connections' utf8mb4) may take
/// `collation`: a utf8mb4 one, on a column that is not temporal.
fn takes_collate(collation: &str, column: &Column) -> bool {
    collation.starts_with("utf8mb4_") && temporal_keyword(column.column_type()).is_none()
}

/// The typed-literal keyword of a temporal column type.
fn temporal_keyword(column_type: ColumnType) -> Option<&'static str> {
    match column_type {
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => Some("DATE"),
        ColumnType::MYSQL_TYPE_TIME => Some("TIME"),
        ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_TIMESTAMP => Some("TIMESTAMP"),
        _ => None,
    }
}

/// A temporal value a typed literal takes: no zero date (which the typed
/// literal refuses) and nothing but digits and separators.
fn is_plain_temporal(bytes: &[u8]) -> bool {
    !bytes.starts_with(b"0000")
        && !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b':' | b' ' | b'.'))
}
