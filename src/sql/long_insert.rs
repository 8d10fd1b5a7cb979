//! Long multi-row INSERTs whose rows hold only plain literals — what bulk
//! loaders and ORMs send — parsed at a fraction of sqlparser's cost:
//! sqlparser parses the statement with its first row only, and the other
//! rows' values are built from the text by a loop that knows just these
//! literals. The AST is the one sqlparser gives for the whole statement
//! (the tests compare them); any other value in any row, a comment between
//! the rows or an unusual number form, and the statement is parsed whole.
//! The planner takes the rows as borrowed [`Literal`]s ([`parse_bulk`]):
//! a sqlparser `Expr` is 328 bytes, and building, moving and dropping
//! thousands of them was most of a bulk INSERT's plan time.

use sqlparser::ast::{Expr, Parens, SetExpr, Statement, UnaryOperator, Value};
use sqlparser::parser::ParserError;

use super::scan::{is_keyword, Scanner, Token};

/// Below this many rows the whole statement is parsed as usual.
const MIN_ROWS: usize = 16;

/// A plain literal of a row, borrowed from the statement's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal<'a> {
    /// Digits with at most one `.`.
    Number(&'a str),
    /// `-` and such a number.
    Negative(&'a str),
    /// A single-quoted string, without its quotes, escapes as written.
    Str(&'a str),
    Null,
    Placeholder,
}

impl Literal<'_> {
    /// The expression sqlparser gives for the literal.
    pub fn to_expr(self) -> Expr {
        match self {
            Literal::Number(digits) => Expr::value(Value::Number(digits.to_string(), false)),
            Literal::Negative(digits) => Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(Literal::Number(digits).to_expr()),
            },
            Literal::Str(text) => Expr::value(Value::SingleQuotedString(text.to_string())),
            Literal::Null => Expr::value(Value::Null),
            Literal::Placeholder => Expr::value(Value::Placeholder("?".to_string())),
        }
    }
}

/// A long INSERT of plain literals: the statement as sqlparser parses it
/// with its first row only, and every row's literals (the first row's too).
pub struct Bulk<'a> {
    pub statement: Statement,
    pub rows: Vec<Vec<Literal<'a>>>,
}

impl Bulk<'_> {
    /// The AST sqlparser gives for the whole statement.
    fn into_statements(self) -> Vec<Statement> {
        let mut statement = self.statement;
        if let Some(values) = values_of(&mut statement) {
            values.rows.extend(self.rows.into_iter().skip(1).map(|row| {
                Parens::with_empty_span(row.into_iter().map(Literal::to_expr).collect())
            }));
        }
        vec![statement]
    }
}

/// `Some` with the parsed statement when `sql` is such an INSERT or
/// REPLACE; `None` to parse it whole.
pub(super) fn parse(sql: &str) -> Option<Result<Vec<Statement>, ParserError>> {
    parse_bulk(sql).map(|bulk| Ok(bulk.into_statements()))
}

/// `sql` read as a [`Bulk`] when it is such an INSERT or REPLACE.
pub fn parse_bulk(sql: &str) -> Option<Bulk<'_>> {
    let rows_start = rows_start(sql)?;
    let mut reader = RowReader {
        sql,
        bytes: sql.as_bytes(),
        pos: rows_start,
        width: 4,
    };
    let mut rows: Vec<Vec<Literal<'_>>> = Vec::new();
    let mut first_row_end = 0;
    loop {
        rows.push(reader.row()?);
        if rows.len() == 1 {
            first_row_end = reader.pos;
            reader.width = rows[0].len();
            // Rows are about as long as the first: room for all of them.
            let row_len = (first_row_end - rows_start).max(1);
            rows.reserve(sql.len().saturating_sub(rows_start) / row_len);
        }
        reader.skip_spaces();
        if reader.peek() != Some(b',') {
            break;
        }
        reader.pos += 1;
    }
    if rows.len() < MIN_ROWS {
        return None;
    }
    let short = format!("{}{}", &sql[..first_row_end], &sql[reader.pos..]);
    // An error: the whole text gives it.
    let mut statements = super::parse_whole(&short).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let mut statement = statements.pop()?;
    let values = values_of(&mut statement)?;
    if values.rows.len() != 1 || values.explicit_row {
        return None;
    }
    Some(Bulk { statement, rows })
}

/// The VALUES of an INSERT.
pub fn values_of(statement: &mut Statement) -> Option<&mut sqlparser::ast::Values> {
    let Statement::Insert(insert) = statement else {
        return None;
    };
    match insert.source.as_mut().map(|q| q.body.as_mut()) {
        Some(SetExpr::Values(values)) => Some(values),
        _ => None,
    }
}

/// The offset just past `VALUES` (or `VALUE`) of an `INSERT`/`REPLACE`,
/// found at the top level, before any `SELECT` or `SET`.
fn rows_start(sql: &str) -> Option<usize> {
    let mut tokens = Scanner::new(sql);
    let first = tokens.next()?;
    if !is_keyword(&first, "INSERT") && !is_keyword(&first, "REPLACE") {
        return None;
    }
    let mut depth = 0usize;
    while let Some(token) = tokens.next() {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth = depth.checked_sub(1)?,
            Token::Word(w) if depth == 0 => {
                if w.eq_ignore_ascii_case("VALUES") || w.eq_ignore_ascii_case("VALUE") {
                    return Some(tokens.offset());
                }
                if w.eq_ignore_ascii_case("SELECT") || w.eq_ignore_ascii_case("SET") {
                    return None;
                }
            }
            Token::Other => return None,
            _ => {}
        }
    }
    None
}

/// Reads `( value, ... )` rows of plain literals from the statement's bytes.
struct RowReader<'a> {
    sql: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// How many values a row holds (the first row's count once read).
    width: usize,
}

impl<'a> RowReader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Spaces only: a comment between rows sends the statement to sqlparser.
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.skip_spaces();
        (self.peek() == Some(c)).then(|| self.pos += 1)
    }

    fn row(&mut self) -> Option<Vec<Literal<'a>>> {
        self.expect(b'(')?;
        let mut values = Vec::with_capacity(self.width);
        loop {
            self.skip_spaces();
            values.push(self.value()?);
            self.skip_spaces();
            match self.peek()? {
                b',' => self.pos += 1,
                b')' => {
                    self.pos += 1;
                    return Some(values);
                }
                _ => return None,
            }
        }
    }

    /// A quoted string, a decimal number (maybe negative), `NULL` or `?`,
    /// as sqlparser's AST has them (strings as written, escapes kept).
    fn value(&mut self) -> Option<Literal<'a>> {
        let start = self.pos;
        match self.peek()? {
            b'\'' => {
                let end = self.quoted_end()?;
                // Quotes are ASCII, so both ends are character boundaries.
                let text = self.sql.get(start + 1..end - 1)?;
                self.pos = end;
                Some(Literal::Str(text))
            }
            b'?' => {
                self.pos += 1;
                Some(Literal::Placeholder)
            }
            b'-' => {
                self.pos += 1;
                match self.number()? {
                    Literal::Number(digits) => Some(Literal::Negative(digits)),
                    _ => None,
                }
            }
            b'0'..=b'9' => self.number(),
            b'N' | b'n' => {
                let word = self.bytes.get(start..start + 4)?;
                let after = self.bytes.get(start + 4).copied();
                if !word.eq_ignore_ascii_case(b"NULL") || after.is_some_and(is_word_byte) {
                    return None;
                }
                self.pos += 4;
                Some(Literal::Null)
            }
            _ => None,
        }
    }

    /// Digits with at most one `.` inside; an exponent, hex or a trailing
    /// letter is left to sqlparser.
    fn number(&mut self) -> Option<Literal<'a>> {
        let start = self.pos;
        let digits = |reader: &mut Self| {
            let from = reader.pos;
            while reader.peek().is_some_and(|c| c.is_ascii_digit()) {
                reader.pos += 1;
            }
            reader.pos > from
        };
        if !digits(self) {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return None;
            }
        }
        if self.peek().is_some_and(|c| is_word_byte(c) || c == b'.') {
            return None;
        }
        Some(Literal::Number(self.sql.get(start..self.pos)?))
    }

    /// The offset past the closing quote of the string at `self.pos`;
    /// backslash escapes and doubled quotes as MySQL reads them.
    fn quoted_end(&self) -> Option<usize> {
        let mut at = self.pos + 1;
        loop {
            match *self.bytes.get(at)? {
                b'\\' => at += 2,
                b'\'' if self.bytes.get(at + 1) == Some(&b'\'') => at += 2,
                b'\'' => return Some(at + 1),
                _ => at += 1,
            }
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

#[cfg(test)]
mod tests;
