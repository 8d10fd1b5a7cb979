//! SQL-level prepared statements (`PREPARE s FROM '...'`, `EXECUTE s USING
//! @a`, `DEALLOCATE PREPARE s`): reading the three statements, and binding
//! the values of an EXECUTE's `USING` list to the prepared text's `?`s as
//! literals, so a statement on sharded tables plans and merges at EXECUTE
//! exactly like the same statement written with those values.

use super::literal::unescape;
use super::scan::{is_keyword, Scanner, Token};
use crate::error::Error;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use sqlparser::ast::{Expr, Value as SqlLiteral, Visit, VisitMut, Visitor, VisitorMut};
use sqlparser::tokenizer::Location;
use std::ops::ControlFlow;

/// One of the SQL-level prepared-statement commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlPrepared<'a> {
    /// `PREPARE name FROM 'text'` or `FROM @variable`.
    Prepare {
        /// The statement's name, lower-case (names are case-insensitive).
        name: String,
        /// Where its text comes from.
        source: PrepareSource,
    },
    /// `EXECUTE name [USING expr, ...]`.
    Execute {
        /// The statement's name, lower-case.
        name: String,
        /// The text of the `USING` list, as the client wrote it.
        using: Option<&'a str>,
    },
    /// `DEALLOCATE PREPARE name` / `DROP PREPARE name`.
    Deallocate {
        /// The statement's name, lower-case.
        name: String,
    },
}

/// The text a PREPARE names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepareSource {
    /// A string literal, its escapes resolved.
    Text(String),
    /// A user variable (`@stmt`) holding the text.
    Variable(String),
}

/// Reads `sql` as one of the SQL-level prepared-statement commands; `None`
/// for any other statement (or one of these in a shape this does not read,
/// which then goes to the backend as written).
pub fn parse(sql: &[u8]) -> Option<SqlPrepared<'_>> {
    let text = std::str::from_utf8(sql).ok()?;
    let mut tokens = Scanner::new(text);
    let first = tokens.next()?;
    if is_keyword(&first, "PREPARE") {
        let name = name(tokens.next()?)?;
        if !tokens.next().is_some_and(|t| is_keyword(&t, "FROM")) {
            return None;
        }
        let source = match tokens.next()? {
            Token::Str(quoted) if quoted.len() >= 2 => {
                let quote = quoted.as_bytes()[0];
                let raw = &quoted[1..quoted.len() - 1];
                PrepareSource::Text(String::from_utf8(unescape(raw, quote)).ok()?)
            }
            Token::Variable(v) if !v.starts_with("@@") => PrepareSource::Variable(v.to_string()),
            _ => return None,
        };
        return tokens
            .next()
            .is_none()
            .then_some(SqlPrepared::Prepare { name, source });
    }
    if is_keyword(&first, "EXECUTE") {
        let name = name(tokens.next()?)?;
        return match tokens.next() {
            None => Some(SqlPrepared::Execute { name, using: None }),
            Some(t) if is_keyword(&t, "USING") => {
                let rest = text[tokens.offset()..].trim();
                (!rest.is_empty()).then_some(SqlPrepared::Execute {
                    name,
                    using: Some(rest),
                })
            }
            Some(_) => None,
        };
    }
    if is_keyword(&first, "DEALLOCATE") || is_keyword(&first, "DROP") {
        if !tokens.next().is_some_and(|t| is_keyword(&t, "PREPARE")) {
            return None;
        }
        let name = name(tokens.next()?)?;
        return tokens
            .next()
            .is_none()
            .then_some(SqlPrepared::Deallocate { name });
    }
    None
}

/// A statement name: a word or a backquoted identifier.
fn name(token: Token<'_>) -> Option<String> {
    match token {
        Token::Word(w) => Some(w.to_ascii_lowercase()),
        Token::Quoted(q) => Some(q.replace("``", "`").to_lowercase()),
        _ => None,
    }
}

/// A value an EXECUTE binds, as MySQL types user variables.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// NULL (also an unset variable).
    Null,
    /// An integer or decimal, as its text.
    Exact(String),
    /// A DOUBLE, as its text.
    Float(String),
    /// A character string.
    Text(Vec<u8>),
    /// A binary string.
    Binary(Vec<u8>),
}

/// The values of a `SELECT <using list>` row (text protocol), typed by
/// their columns.
pub fn bound_values(columns: &[Column], row: &[Value]) -> Vec<Bound> {
    columns
        .iter()
        .zip(row)
        .map(|(column, value)| {
            let bytes = match value {
                Value::NULL => return Bound::Null,
                Value::Bytes(bytes) => bytes.clone(),
                other => other.as_sql(true).trim_matches('\'').as_bytes().to_vec(),
            };
            let text = || String::from_utf8_lossy(&bytes).into_owned();
            match column.column_type() {
                ColumnType::MYSQL_TYPE_TINY
                | ColumnType::MYSQL_TYPE_SHORT
                | ColumnType::MYSQL_TYPE_INT24
                | ColumnType::MYSQL_TYPE_LONG
                | ColumnType::MYSQL_TYPE_LONGLONG
                | ColumnType::MYSQL_TYPE_DECIMAL
                | ColumnType::MYSQL_TYPE_NEWDECIMAL => Bound::Exact(text()),
                ColumnType::MYSQL_TYPE_FLOAT | ColumnType::MYSQL_TYPE_DOUBLE => {
                    Bound::Float(text())
                }
                _ if column.character_set() == BINARY_CHARSET => Bound::Binary(bytes),
                _ => Bound::Text(bytes),
            }
        })
        .collect()
}

/// The `binary` character set's id.
const BINARY_CHARSET: u16 = 63;

impl Bound {
    /// The value as SQL literal text.
    pub(crate) fn literal(&self) -> String {
        match self {
            Bound::Null => "NULL".into(),
            Bound::Exact(n) if is_number(n) => n.clone(),
            Bound::Float(f) if is_number(f) => {
                if f.contains(['e', 'E']) {
                    f.clone()
                } else {
                    format!("{f}e0")
                }
            }
            Bound::Exact(s) | Bound::Float(s) => quoted(s),
            Bound::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(s) => quoted(s),
                Err(_) => format!("X'{}'", hex(bytes)),
            },
            Bound::Binary(bytes) => match std::str::from_utf8(bytes) {
                Ok(s) => format!("_binary{}", quoted(s)),
                Err(_) => format!("CAST(X'{}' AS BINARY)", hex(bytes)),
            },
        }
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
}

/// A single-quoted string literal of `text`.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The prepared `text` with `values` in place of its `?`s, in text order,
/// rendered as one statement. As many values as placeholders, else 1210 as
/// MySQL answers.
pub fn bind(text: &str, values: &[Bound]) -> Result<String, Error> {
    let mut statements = super::parse(text).map_err(|e| Error::parse(e.to_string()))?;
    if statements.len() != 1 {
        return Err(Error::parse(
            "a prepared statement must be one statement".to_string(),
        ));
    }
    let mut statement = statements.remove(0);
    let mut locations = Placeholders(Vec::new());
    let _ = Visit::visit(&statement, &mut locations);
    let mut locations = locations.0;
    locations.sort_unstable();
    if locations.len() != values.len() {
        return Err(Error::wrong_arguments("EXECUTE"));
    }
    let literals = values
        .iter()
        .map(|v| super::parse_expr(&v.literal()).map_err(|e| Error::parse(e.to_string())))
        .collect::<Result<Vec<Expr>, Error>>()?;
    let mut binder = Binder {
        locations: &locations,
        literals: &literals,
    };
    let _ = VisitMut::visit(&mut statement, &mut binder);
    Ok(statement.to_string())
}

/// Collects where each `?` starts.
struct Placeholders(Vec<Location>);

impl Visitor for Placeholders {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Value(v) = expr {
            if matches!(v.value, SqlLiteral::Placeholder(_)) {
                self.0.push(v.span.start);
            }
        }
        ControlFlow::Continue(())
    }
}

/// Replaces each `?` with the literal of its position.
struct Binder<'a> {
    /// Where the placeholders start, ascending.
    locations: &'a [Location],
    /// One literal per placeholder.
    literals: &'a [Expr],
}

impl VisitorMut for Binder<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Value(v) = expr {
            if matches!(v.value, SqlLiteral::Placeholder(_)) {
                let at = self.locations.binary_search(&v.span.start).ok();
                if let Some(literal) = at.and_then(|i| self.literals.get(i)) {
                    *expr = literal.clone();
                }
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests;
