//! A text statement's shape: its text with the literals that stand where a
//! value goes taken out as `?`s, so statements that differ only in their
//! keys share one plan template ([`crate::plan::plan_text`]).
//!
//! Conservative by design: only a SELECT, UPDATE or DELETE without
//! subqueries, comments or `?`s, and only in its WHERE clause, only a
//! plain integer or a plain single-quoted string (no escapes, no
//! introducer), and only right after a comparison (`=`, `<>`, `!=`, `<`,
//! `>`, `<=`, `>=`), as an item of an `IN (...)` list, or as a bound of
//! `BETWEEN x AND y`, followed by what ends such an operand. Bound as a
//! value, each routes exactly as the literal does: an integer that fits
//! an `i64` is [`SqlValue::Int`] either way, a string without escapes
//! [`SqlValue::Str`] of its bytes (`crate::sql::literal`).
//!
//! [`SqlValue::Int`]: crate::rules::SqlValue::Int
//! [`SqlValue::Str`]: crate::rules::SqlValue::Str

use super::scan::{is_keyword, upper_keyword, Scanner, Token};
use mysql_common::value::Value;

/// A text statement with its value literals taken out.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape<'a> {
    /// The statement's text, each taken-out literal a `?`.
    pub text: String,
    /// Each literal's value, in text order.
    pub values: Vec<Value>,
    /// Each literal as written, in text order.
    pub texts: Vec<&'a str>,
}

/// Words that end a value operand (after a literal the shape takes out).
const OPERAND_ENDS: [&str; 10] = [
    "AND", "OR", "XOR", "GROUP", "ORDER", "LIMIT", "HAVING", "WINDOW", "FOR", "LOCK",
];
/// Words that end a WHERE clause at the top level (upper-case).
const WHERE_ENDS: [&[u8]; 9] = [
    b"GROUP",
    b"HAVING",
    b"ORDER",
    b"LIMIT",
    b"WINDOW",
    b"FOR",
    b"LOCK",
    b"INTO",
    b"RETURNING",
];

/// One token and where it stands.
#[derive(Clone, Copy)]
struct Item<'a> {
    token: Token<'a>,
    start: usize,
    end: usize,
}

/// The shape of `sql`; `None` for a statement this does not shape (then
/// planned afresh). A statement with no literal to take out is its own
/// shape.
pub fn shape(sql: &str) -> Option<Shape<'_>> {
    if sql.contains("/*") {
        return None;
    }
    let items = tokens(sql)?;
    let first = items.first()?.token;
    let selects = items
        .iter()
        .filter(|i| is_keyword(&i.token, "SELECT"))
        .count();
    let allowed = match () {
        _ if is_keyword(&first, "SELECT") => selects == 1,
        _ if is_keyword(&first, "UPDATE") || is_keyword(&first, "DELETE") => selects == 0,
        _ => false,
    };
    if !allowed {
        return None;
    }
    let taken = value_literals(&items);
    let mut shape = Shape {
        text: String::with_capacity(sql.len()),
        values: Vec::with_capacity(taken.len()),
        texts: Vec::with_capacity(taken.len()),
    };
    let mut from = 0;
    for (item, value) in taken {
        shape.text.push_str(sql.get(from..item.start)?);
        shape.text.push('?');
        shape.texts.push(sql.get(item.start..item.end)?);
        shape.values.push(value);
        from = item.end;
    }
    shape.text.push_str(sql.get(from..)?);
    Some(shape)
}

/// The tokens of `sql` with their offsets; `None` if it holds a `?` or
/// bytes the scanner does not read as a token.
fn tokens(sql: &str) -> Option<Vec<Item<'_>>> {
    let mut items = Vec::with_capacity(16);
    let mut scanner = Scanner::new(sql);
    loop {
        let Some(token) = scanner.next() else {
            return Some(items);
        };
        let end = scanner.offset();
        let start = match token {
            Token::Word(t) | Token::Str(t) | Token::Number(t) | Token::Variable(t) => {
                end.checked_sub(t.len())?
            }
            Token::Punct('?') | Token::Other => return None,
            Token::Punct(c) => end.checked_sub(c.len_utf8())?,
            // Only literals' and operators' starts are read.
            Token::Quoted(_) => end,
        };
        items.push(Item { token, start, end });
    }
}

/// The literals in value positions of the WHERE clause, with their values.
fn value_literals<'a>(items: &[Item<'a>]) -> Vec<(Item<'a>, Value)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_where = false;
    // The depth inside each open IN list's parenthesis.
    let mut in_lists: Vec<usize> = Vec::new();
    for (k, item) in items.iter().enumerate() {
        match item.token {
            Token::Punct('(') => {
                depth += 1;
                if k > 0 && is_keyword(&items[k - 1].token, "IN") {
                    in_lists.push(depth);
                }
                continue;
            }
            Token::Punct(')') => {
                if in_lists.last() == Some(&depth) {
                    in_lists.pop();
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            _ => {}
        }
        if let (0, Token::Word(word)) = (depth, item.token) {
            let mut buf = [0u8; 24];
            match upper_keyword(word, &mut buf) {
                Some(b"WHERE") => {
                    in_where = true;
                    continue;
                }
                Some(word) if WHERE_ENDS.contains(&word) => in_where = false,
                _ => {}
            }
        }
        if !in_where {
            continue;
        }
        let Some(value) = literal_value(item.token) else {
            continue;
        };
        let in_list = in_lists.last() == Some(&depth);
        if in_value_position(items, k, in_list) {
            out.push((*item, value));
        }
    }
    out
}

/// A plain integer or single-quoted string's value.
fn literal_value(token: Token<'_>) -> Option<Value> {
    match token {
        Token::Number(text) if text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse::<i64>().ok().map(Value::Int)
        }
        Token::Str(text) => {
            let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
            if inner.contains(['\\', '\'']) {
                return None;
            }
            Some(Value::Bytes(inner.as_bytes().to_vec()))
        }
        _ => None,
    }
}

/// Whether the literal at `k` stands where a value goes: after a
/// comparison, as an IN list's item, or as a BETWEEN bound, and followed
/// by what ends the operand.
fn in_value_position(items: &[Item<'_>], k: usize, in_list: bool) -> bool {
    let next = items.get(k + 1).map(|i| i.token);
    let ends = |allow_comma: bool| match next {
        None | Some(Token::Punct(')' | ';')) => true,
        Some(Token::Punct(',')) => allow_comma,
        Some(word) => OPERAND_ENDS.iter().any(|w| is_keyword(&word, w)),
    };
    let Some(prev) = k.checked_sub(1).and_then(|p| items.get(p)) else {
        return false;
    };
    if in_list && matches!(prev.token, Token::Punct('(' | ',')) {
        return matches!(next, Some(Token::Punct(',' | ')')));
    }
    if is_keyword(&prev.token, "BETWEEN") {
        return next.is_some_and(|n| is_keyword(&n, "AND"));
    }
    if is_keyword(&prev.token, "AND")
        && k >= 3
        && is_keyword(&items[k - 3].token, "BETWEEN")
        && !matches!(items[k - 2].token, Token::Punct(_))
    {
        return ends(false);
    }
    comparison_before(items, k) && ends(false)
}

/// Whether the tokens right before `k` are one comparison operator, on
/// its own (not the end of `<=>`, `->`, `:=`, `<<`).
fn comparison_before(items: &[Item<'_>], k: usize) -> bool {
    // At most two characters, read backwards.
    let mut op = ['\0'; 2];
    let mut len = 0;
    let mut first = k;
    let mut end = items.get(k).map_or(0, |i| i.start);
    while first > 0 {
        let item = items[first - 1];
        let Token::Punct(c @ ('<' | '>' | '=' | '!')) = item.token else {
            break;
        };
        if len == 2 || (len > 0 && item.end != end) {
            break;
        }
        op = [c, op[0]];
        len += 1;
        end = item.start;
        first -= 1;
    }
    if first > 0 {
        let before = items[first - 1];
        let operator = matches!(before.token, Token::Punct('<' | '>' | '=' | '!'));
        if matches!(before.token, Token::Punct(_)) && (before.end == end || operator) {
            return false;
        }
    }
    matches!(
        &op[..len],
        ['='] | ['<', '>'] | ['!', '='] | ['<'] | ['>'] | ['<', '='] | ['>', '=']
    )
}

#[cfg(test)]
mod tests;
