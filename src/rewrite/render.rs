//! A rewritten statement's SQL text. sqlparser's `Display` spends about 400
//! instructions per value going through `core::fmt`; for a bulk INSERT that
//! is most of its plan time. Its VALUES rows are written here instead, each
//! plain literal straight into the buffer and any other value by `Display`;
//! the rest of the statement is sqlparser's own rendering, with the rows
//! put where a marker row stood. The text is the same as `Display` gives
//! (the tests compare them).

use super::insert::literal;
use crate::keygen::GeneratedKey;
use crate::sql::{values_of, Literal};
use sqlparser::ast::{Expr, Ident, Parens, Statement, UnaryOperator, Value};
use std::fmt::Write;

/// Below this many rows `Display` renders the whole statement.
const MIN_ROWS: usize = 16;

/// The identifier of the marker row; the rows go where `(MARK)` is.
const MARK: &str = "__shardgate_values_rows__";

/// The SQL text of `statement`.
pub fn render(statement: &mut Statement) -> String {
    let Some(values) = values_of(statement).filter(|v| v.rows.len() >= MIN_ROWS && !v.explicit_row)
    else {
        return statement.to_string();
    };
    let rows = std::mem::take(&mut values.rows);
    let reserve = rows.len() * 48;
    if let Some(text) = spliced(statement, reserve, |out| write_rows(out, &rows)) {
        return text;
    }
    if let Some(values) = values_of(statement) {
        values.rows = rows;
    }
    statement.to_string()
}

/// The SQL text of a bulk INSERT's copy `statement` (holding no more than
/// its first row) with the rows `picked` of `rows`, each with its
/// generated key from `keys` when the key column was added.
pub fn render_bulk(
    statement: &mut Statement,
    rows: &[Vec<Literal<'_>>],
    picked: &[usize],
    keys: Option<&[Option<GeneratedKey>]>,
) -> String {
    let key = |r: usize| keys.map(|keys| literal(keys.get(r).and_then(Option::as_ref)));
    let write = |out: &mut String| {
        for (n, &r) in picked.iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            out.push('(');
            for (v, value) in rows.get(r).into_iter().flatten().enumerate() {
                if v > 0 {
                    out.push_str(", ");
                }
                write_bulk_literal(out, *value);
            }
            if let Some(key) = key(r) {
                out.push_str(", ");
                write_value(out, &key);
            }
            out.push(')');
        }
    };
    if let Some(text) = spliced(statement, picked.len() * 64, write) {
        return text;
    }
    // The rows as expressions, rendered by Display.
    if let Some(values) = values_of(statement) {
        values.rows = picked
            .iter()
            .filter_map(|&r| rows.get(r).map(|row| (r, row)))
            .map(|(r, row)| {
                let mut content: Vec<Expr> = row.iter().map(|l| l.to_expr()).collect();
                content.extend(key(r));
                Parens::with_empty_span(content)
            })
            .collect();
    }
    statement.to_string()
}

/// sqlparser's rendering of `statement` with a marker row for its VALUES
/// rows, and the rows written by `write_rows` where the marker stands
/// (`reserve`: about how long they are). `None` when the marker is not
/// there exactly once (a table or column named like it): the caller puts
/// the rows back and renders by `Display`.
fn spliced(
    statement: &mut Statement,
    reserve: usize,
    write_rows: impl FnOnce(&mut String),
) -> Option<String> {
    let values = values_of(statement)?;
    values.rows = vec![Parens::with_empty_span(vec![Expr::Identifier(Ident::new(
        MARK,
    ))])];
    let text = statement.to_string();
    let mark = format!("({MARK})");
    let at = text.find(&mark)?;
    let tail = &text[at + mark.len()..];
    if tail.contains(&mark) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + reserve);
    out.push_str(&text[..at]);
    write_rows(&mut out);
    out.push_str(tail);
    Some(out)
}

/// A bulk row's literal as `Display` writes its expression.
fn write_bulk_literal(out: &mut String, value: Literal<'_>) {
    match value {
        Literal::Number(digits) => out.push_str(digits),
        Literal::Negative(digits) => {
            out.push('-');
            out.push_str(digits);
        }
        Literal::Str(text) if !text.contains('\'') => {
            out.push('\'');
            out.push_str(text);
            out.push('\'');
        }
        Literal::Null => out.push_str("NULL"),
        Literal::Placeholder => out.push('?'),
        Literal::Str(_) => {
            let _ = write!(out, "{}", value.to_expr());
        }
    }
}

/// `(a, b), (c, d)` as sqlparser's `Values` writes its rows.
fn write_rows(out: &mut String, rows: &[Parens<Vec<Expr>>]) {
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for (v, value) in row.content.iter().enumerate() {
            if v > 0 {
                out.push_str(", ");
            }
            write_value(out, value);
        }
        out.push(')');
    }
}

/// One value: the literal forms a bulk INSERT holds written directly,
/// anything else by `Display`.
fn write_value(out: &mut String, expr: &Expr) {
    match expr {
        Expr::Value(v) if write_literal(out, &v.value) => {}
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } if matches!(inner.as_ref(), Expr::Value(v) if matches!(v.value, Value::Number(_, false))) =>
        {
            out.push('-');
            write_value(out, inner);
        }
        _ => {
            let _ = write!(out, "{expr}");
        }
    }
}

/// Writes `value` if it is one of the plain forms; `false` otherwise.
fn write_literal(out: &mut String, value: &Value) -> bool {
    match value {
        Value::Number(digits, false) => out.push_str(digits),
        // A quote inside takes sqlparser's escaping rules: left to Display.
        Value::SingleQuotedString(text) if !text.contains('\'') => {
            out.push('\'');
            out.push_str(text);
            out.push('\'');
        }
        Value::Null => out.push_str("NULL"),
        Value::Placeholder(p) => out.push_str(p),
        Value::HexStringLiteral(hex) => {
            out.push_str("X'");
            out.push_str(hex);
            out.push('\'');
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::render;
    use crate::sql::parse;

    /// Rows of every kind a bulk INSERT holds, and some it rarely does.
    fn rows(n: usize) -> String {
        let kinds = [
            "1, 'plain', -2.5, NULL, ?",
            "2, 'it''s', X'0A1B', -7, 'back\\'slash'",
            "3, 'héllo', 1e3, CONCAT('a', 'b'), DEFAULT",
            "-4, '', 0.5, TRUE, 'x'",
        ];
        (0..n)
            .map(|i| format!("({})", kinds[i % kinds.len()]))
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn renders_as_display_does() {
        let statements = [
            format!("INSERT INTO t (a, b, c, d, e) VALUES {}", rows(40)),
            format!(
                "INSERT IGNORE INTO s.t (a, b, c, d, e) VALUES {} ON DUPLICATE KEY UPDATE b = VALUES(b)",
                rows(17)
            ),
            format!("REPLACE INTO t (a, b, c, d, e) VALUES {}", rows(16)),
            format!("INSERT INTO t (a, b, c, d, e) VALUES {}", rows(3)),
            format!(
                "INSERT INTO `__shardgate_values_rows__` (a, b, c, d, e) VALUES {}",
                rows(20)
            ),
            format!(
                "INSERT INTO t (__shardgate_values_rows__) VALUES {}",
                vec!["(1)"; 20].join(", ")
            ),
            "SELECT 1, 'a' FROM t WHERE x IN (1, 2, 3)".to_string(),
        ];
        for sql in statements {
            let parsed = parse(&sql).expect("parses");
            for statement in parsed {
                let expected = statement.to_string();
                let mut copy = statement.clone();
                assert_eq!(render(&mut copy), expected, "{sql}");
            }
        }
    }
}
