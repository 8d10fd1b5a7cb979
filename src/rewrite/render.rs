//! A rewritten statement's SQL text. sqlparser's `Display` spends about 400
//! instructions per value going through `core::fmt`; for a bulk INSERT that
//! is most of its plan time. Its VALUES rows are written here instead, each
//! plain literal straight into the buffer and any other value by `Display`;
//! the rest of the statement is sqlparser's own rendering, with the rows
//! put where a marker row stood. The text is the same as `Display` gives
//! (the tests compare them).

use super::insert::literal;
use crate::keygen::GeneratedKey;
use crate::sql::Literal;
use sqlparser::ast::{Expr, Ident, Parens, SetExpr, Statement, UnaryOperator, Value, Values};
use std::fmt::Write;

/// Below this many rows `Display` renders the whole statement.
const MIN_ROWS: usize = 16;

/// The identifier of the marker row; the rows go where `(MARK)` is.
const MARK: &str = "__shardgate_values_rows__";

/// The SQL text of `statement`.
pub fn render(statement: &mut Statement) -> String {
    let Some(values) = bulk_values(statement) else {
        return statement.to_string();
    };
    let marker = Parens::with_empty_span(vec![Expr::Identifier(Ident::new(MARK))]);
    let rows = std::mem::replace(&mut values.rows, vec![marker]);
    let text = statement.to_string();
    let mark = format!("({MARK})");
    let spliced = match text.find(&mark) {
        // The marker once only: a table or column named like it falls back.
        Some(at) if text[at + mark.len()..].find(&mark).is_none() => {
            let (head, tail) = (&text[..at], &text[at + mark.len()..]);
            let mut out = String::with_capacity(text.len() + rows.len() * 48);
            out.push_str(head);
            write_rows(&mut out, &rows);
            out.push_str(tail);
            Some(out)
        }
        _ => None,
    };
    match spliced {
        Some(out) => out,
        None => {
            if let Some(values) = values_of(statement) {
                values.rows = rows;
            }
            statement.to_string()
        }
    }
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
    let Some(values) = values_of(statement) else {
        return statement.to_string();
    };
    let marker = Parens::with_empty_span(vec![Expr::Identifier(Ident::new(MARK))]);
    values.rows = vec![marker];
    let text = statement.to_string();
    let mark = format!("({MARK})");
    match text.find(&mark) {
        Some(at) if text[at + mark.len()..].find(&mark).is_none() => {
            let mut out = String::with_capacity(text.len() + picked.len() * 64);
            out.push_str(&text[..at]);
            for (n, &r) in picked.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                out.push('(');
                for (v, value) in rows.get(r).into_iter().flatten().enumerate() {
                    if v > 0 {
                        out.push_str(", ");
                    }
                    write_bulk_literal(&mut out, *value);
                }
                if let Some(key) = key(r) {
                    out.push_str(", ");
                    write_value(&mut out, &key);
                }
                out.push(')');
            }
            out.push_str(&text[at + mark.len()..]);
            out
        }
        // The marker not once: the rows as expressions, rendered by Display.
        _ => {
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
    }
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

/// The VALUES of an INSERT.
fn values_of(statement: &mut Statement) -> Option<&mut Values> {
    let Statement::Insert(insert) = statement else {
        return None;
    };
    match insert.source.as_mut().map(|q| q.body.as_mut()) {
        Some(SetExpr::Values(values)) => Some(values),
        _ => None,
    }
}

/// The VALUES of an INSERT with enough rows to be worth rendering here.
fn bulk_values(statement: &mut Statement) -> Option<&mut Values> {
    let Statement::Insert(insert) = statement else {
        return None;
    };
    match insert.source.as_mut().map(|q| q.body.as_mut()) {
        Some(SetExpr::Values(values)) if values.rows.len() >= MIN_ROWS && !values.explicit_row => {
            Some(values)
        }
        _ => None,
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
