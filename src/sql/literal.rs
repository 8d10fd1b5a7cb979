//! Constant operands of a statement as [`SqlValue`]s: literals (the parser
//! keeps them as written, so MySQL escapes are resolved here), hex and
//! introduced strings, and `?` placeholders bound to COM_STMT_EXECUTE values.

use super::params::Bindings;
use crate::rules::SqlValue;
use mysql_common::value::Value as Param;
use sqlparser::ast::{Expr, UnaryOperator, Value};

/// What an expression in a value position is, for placement.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A constant: a literal or a bound parameter.
    Value(SqlValue),
    /// A `?` without a bound value (PREVIEW of a prepared statement).
    Unbound,
    /// Anything else: a column, a function call, arithmetic.
    Expression,
}

/// Reads `expr` as a constant. `integer` says whether the column it is
/// compared with or stored into holds integers: MySQL reads a hex literal
/// as a number there and as a binary string elsewhere.
pub fn operand(expr: &Expr, bindings: &Bindings<'_>, integer: bool) -> Operand {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(_) => match bindings.param(v.span) {
                Some(param) => Operand::Value(from_param(param)),
                None => Operand::Unbound,
            },
            value => literal(value, integer).map_or(Operand::Expression, Operand::Value),
        },
        Expr::UnaryOp {
            op: op @ (UnaryOperator::Minus | UnaryOperator::Plus),
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => match &v.value {
                Value::Number(text, _) if *op == UnaryOperator::Minus => {
                    Operand::Value(number(&format!("-{text}")))
                }
                Value::Number(text, _) => Operand::Value(number(text)),
                _ => Operand::Expression,
            },
            _ => Operand::Expression,
        },
        Expr::Nested(inner) => operand(inner, bindings, integer),
        // `_binary'..'`, `_utf8mb4'..'`: a string of the literal's bytes.
        Expr::Prefixed { prefix, value } if prefix.value.starts_with('_') => {
            match operand(value, bindings, false) {
                Operand::Value(SqlValue::Str(bytes)) => Operand::Value(SqlValue::Str(bytes)),
                _ => Operand::Expression,
            }
        }
        _ => Operand::Expression,
    }
}

/// A literal's value; `None` for literals that are no placeable constant.
fn literal(value: &Value, integer: bool) -> Option<SqlValue> {
    Some(match value {
        Value::Number(text, _) => number(text),
        Value::SingleQuotedString(raw) | Value::NationalStringLiteral(raw) => {
            SqlValue::Str(unescape(raw, b'\''))
        }
        Value::DoubleQuotedString(raw) => SqlValue::Str(unescape(raw, b'"')),
        Value::HexStringLiteral(hex) => hex_value(hex, integer)?,
        Value::Boolean(b) => SqlValue::Int(i64::from(*b)),
        Value::Null => SqlValue::Null,
        _ => return None,
    })
}

/// A numeric literal: an integer if it is one, else an exact decimal, else a float.
fn number(text: &str) -> SqlValue {
    if let Ok(i) = text.parse::<i64>() {
        SqlValue::Int(i)
    } else if let Ok(u) = text.parse::<u64>() {
        SqlValue::UInt(u)
    } else if text.contains(['e', 'E']) {
        text.parse::<f64>()
            .map_or_else(|_| SqlValue::Decimal(text.to_string()), SqlValue::Float)
    } else {
        SqlValue::Decimal(text.to_string())
    }
}

/// `X'2A'` / `0x2A`: a number (as BIGINT UNSIGNED) where an integer is
/// expected, else the binary string of its bytes.
fn hex_value(hex: &str, integer: bool) -> Option<SqlValue> {
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    if !integer {
        return Some(SqlValue::Str(bytes));
    }
    if bytes.len() > 8 {
        // Wider than BIGINT: kept as text, which no integer column places exactly.
        return Some(SqlValue::Decimal(format!("X'{hex}'")));
    }
    let value = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Some(SqlValue::UInt(value))
}

/// A COM_STMT_EXECUTE value as a SQL value.
pub fn from_param(param: &Param) -> SqlValue {
    match param {
        Param::NULL => SqlValue::Null,
        Param::Bytes(bytes) => SqlValue::Str(bytes.clone()),
        Param::Int(i) => SqlValue::Int(*i),
        Param::UInt(u) => SqlValue::UInt(*u),
        Param::Float(f) => SqlValue::Float(f64::from(*f)),
        Param::Double(d) => SqlValue::Float(*d),
        // Dates and times place as their text (no sharding column holds them).
        other => {
            let text = other.as_sql(true);
            SqlValue::Str(text.trim_matches('\'').as_bytes().to_vec())
        }
    }
}

/// The bytes a MySQL string literal stands for, given its text between the
/// quotes as written: backslash escapes (MySQL's default sql_mode) and a
/// doubled `quote` resolved. `\%` and `\_` keep their backslash, as in MySQL.
pub fn unescape(raw: &str, quote: u8) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && i + 1 < bytes.len() {
            let next = bytes[i + 1];
            match next {
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'Z' => out.push(0x1a),
                b'%' | b'_' => out.extend_from_slice(&[b'\\', next]),
                other => out.push(other),
            }
            i += 2;
        } else if c == quote && bytes.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
