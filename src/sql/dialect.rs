//! The SQL dialect shardgate parses with: sqlparser's MySQL dialect, plus
//! what MariaDB and MySQL accept and that dialect does not (yet):
//!
//! - the `MOD` operator (`a MOD 7`), the same operator as `%` in MySQL,
//!   kept as a custom operator with the word as written (see
//!   [`is_mod`]), so that a rewritten select item keeps the column name
//!   MySQL gives the client's; the upstream fix is for
//!   `MySqlDialect::parse_infix` and `get_next_precedence` to treat
//!   `Keyword::MOD` as they treat `DIV` (a `BinaryOperator::MyModulo`
//!   that displays as `MOD`, as `MyIntegerDivide` displays as `DIV`);
//! - implicit aliases that are keywords of other dialects only
//!   (`(SELECT ...) top`, `t sample`); upstream, `MySqlDialect` would keep
//!   its own list of words reserved after a table factor instead of the
//!   shared one;
//! - `top` as an identifier anywhere (`SELECT top.a`): the parser reads
//!   MSSQL's `SELECT TOP n` in every dialect, so [`quote_identifier_words`]
//!   backquotes the word before parsing; upstream, `TOP` would be parsed
//!   only where the dialect says it supports it.
//!
//! And one shortcut: a literal, or a plain column name, at the start of an
//! expression is read as what it is ([`MariaDbDialect::parse_prefix`]).
//! sqlparser first tries every expression as a typed string (`DATE '...'`);
//! for a literal or a column that try fails by formatting an error message
//! with its location, which is thrown away: about 7,000 instructions each,
//! three quarters of planning a 1,000-row INSERT. No data type starts with a
//! literal, and a typed string needs a string after its type, so the result
//! is the same; upstream, `parse_prefix_inner` would try a typed string only
//! when a word is followed by a string literal.
//!
//! Everything else is delegated to [`MySqlDialect`], and [`Dialect::dialect`]
//! says MySQL, so the parser's dialect checks behave as for MySQL.

use super::scan::{Scanner, Token as ScanToken};
use sqlparser::ast::{BinaryOperator, Expr, Statement};
use sqlparser::dialect::{Dialect, MySqlDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;
use std::any::TypeId;
use std::borrow::Cow;

/// Words that are plain identifiers in MySQL but keywords to sqlparser in
/// every dialect: backquoted before parsing.
const IDENTIFIER_WORDS: &[&str] = &["top"];

/// `sql` with every word of [`IDENTIFIER_WORDS`] backquoted (`top` →
/// `` `top` ``), found by the scanner, so strings and comments stay as written.
pub fn quote_identifier_words(sql: &str) -> Cow<'_, str> {
    let mut scanner = Scanner::new(sql);
    let mut out: Option<String> = None;
    let mut copied = 0;
    while let Some(token) = scanner.next() {
        let ScanToken::Word(word) = token else {
            continue;
        };
        if !IDENTIFIER_WORDS
            .iter()
            .any(|w| w.eq_ignore_ascii_case(word))
        {
            continue;
        }
        let end = scanner.offset();
        let start = end - word.len();
        let text = out.get_or_insert_with(|| String::with_capacity(sql.len() + 8));
        text.push_str(&sql[copied..start]);
        text.push('`');
        text.push_str(word);
        text.push('`');
        copied = end;
    }
    match out {
        None => Cow::Borrowed(sql),
        Some(mut text) => {
            text.push_str(&sql[copied..]);
            Cow::Owned(text)
        }
    }
}

/// Whether `op` is the `MOD` operator as [`MariaDbDialect`] reads it (or `%`).
pub fn is_mod(op: &BinaryOperator) -> bool {
    match op {
        BinaryOperator::Modulo => true,
        BinaryOperator::Custom(word) => word.eq_ignore_ascii_case("MOD"),
        _ => false,
    }
}

/// MySQL as MariaDB speaks it.
#[derive(Debug, Default, Clone, Copy)]
pub struct MariaDbDialect {
    /// The dialect everything not listed above is delegated to.
    mysql: MySqlDialect,
}

/// Whether a word that is no keyword, followed by `next`, is a column name
/// alone: not a function call, a qualified name, a charset introducer or a
/// subscript. sqlparser then also reads a plain identifier, after trying the
/// word as a typed string's data type (which fails at some cost).
fn plain_identifier_before(next: &Token) -> bool {
    matches!(
        next,
        Token::Comma
            | Token::RParen
            | Token::SemiColon
            | Token::EOF
            | Token::Eq
            | Token::DoubleEq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq
            | Token::Spaceship
            | Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Word(_)
    )
}

/// Keywords sqlparser reserves after a table factor for other dialects
/// (MSSQL, Snowflake, ClickHouse, ...) that MariaDB takes as an alias.
const TABLE_ALIAS_OK: &[Keyword] = &[
    Keyword::TOP,
    Keyword::PIVOT,
    Keyword::UNPIVOT,
    Keyword::SORT,
    Keyword::VIEW,
    Keyword::CLUSTER,
    Keyword::DISTRIBUTE,
    Keyword::GLOBAL,
    Keyword::ANTI,
    Keyword::SEMI,
    Keyword::OUTPUT,
    Keyword::ASOF,
    Keyword::QUALIFY,
    Keyword::ARRAY,
    Keyword::PREWHERE,
    Keyword::SETTINGS,
    Keyword::FORMAT,
    Keyword::SAMPLE,
    Keyword::TABLESAMPLE,
    Keyword::OPEN,
    Keyword::CONNECT,
    Keyword::MATCH_CONDITION,
    Keyword::MATCH_RECOGNIZE,
];

/// Keywords sqlparser reserves after a select item for other dialects that
/// MariaDB takes as a column alias.
const COLUMN_ALIAS_OK: &[Keyword] = &[
    Keyword::TOP,
    Keyword::SORT,
    Keyword::VIEW,
    Keyword::CLUSTER,
    Keyword::DISTRIBUTE,
    Keyword::EXCLUDE,
];

impl Dialect for MariaDbDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<MySqlDialect>()
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if let Token::Word(w) = &parser.peek_token_ref().token {
            if w.keyword == Keyword::MOD {
                // Kept as written, so the rewritten statement names its
                // column as MySQL names the client's (`qty MOD 7`).
                let written = w.value.clone();
                parser.next_token();
                return Some(
                    parser
                        .parse_subexpr(precedence)
                        .map(|right| Expr::BinaryOp {
                            left: Box::new(expr.clone()),
                            op: BinaryOperator::Custom(written),
                            right: Box::new(right),
                        }),
                );
            }
        }
        self.mysql.parse_infix(parser, expr, precedence)
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        match parser.peek_token_ref().token {
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_) => Some(parser.parse_value().map(Expr::Value)),
            Token::Word(ref word)
                if word.keyword == Keyword::NoKeyword
                    && plain_identifier_before(&parser.peek_nth_token_ref(1).token) =>
            {
                let token = parser.next_token();
                match token.token {
                    Token::Word(word) => Some(Ok(Expr::Identifier(word.into_ident(token.span)))),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        if let Token::Word(w) = &parser.peek_token_ref().token {
            if w.keyword == Keyword::MOD {
                return Some(Ok(self.prec_value(Precedence::MulDivModOp)));
            }
        }
        self.mysql.get_next_precedence(parser)
    }

    fn is_table_factor_alias(&self, explicit: bool, kw: &Keyword, parser: &mut Parser) -> bool {
        TABLE_ALIAS_OK.contains(kw) || self.mysql.is_table_factor_alias(explicit, kw, parser)
    }

    fn is_column_alias(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        COLUMN_ALIAS_OK.contains(kw) || self.mysql.is_column_alias(kw, parser)
    }

    fn is_select_item_alias(&self, explicit: bool, kw: &Keyword, parser: &mut Parser) -> bool {
        explicit || self.is_column_alias(kw, parser)
    }

    // Delegated as they are.

    fn is_identifier_start(&self, ch: char) -> bool {
        self.mysql.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.mysql.is_identifier_part(ch)
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.mysql.is_delimited_identifier_start(ch)
    }
    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.mysql.identifier_quote_style(identifier)
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        self.mysql.supports_string_literal_backslash_escape()
    }
    fn supports_string_literal_concatenation(&self) -> bool {
        self.mysql.supports_string_literal_concatenation()
    }
    fn ignores_wildcard_escapes(&self) -> bool {
        self.mysql.ignores_wildcard_escapes()
    }
    fn supports_numeric_prefix(&self) -> bool {
        self.mysql.supports_numeric_prefix()
    }
    fn supports_bitwise_shift_operators(&self) -> bool {
        self.mysql.supports_bitwise_shift_operators()
    }
    fn supports_multiline_comment_hints(&self) -> bool {
        self.mysql.supports_multiline_comment_hints()
    }
    fn parse_statement(&self, parser: &mut Parser) -> Option<Result<Statement, ParserError>> {
        self.mysql.parse_statement(parser)
    }
    fn require_interval_qualifier(&self) -> bool {
        self.mysql.require_interval_qualifier()
    }
    fn supports_limit_comma(&self) -> bool {
        self.mysql.supports_limit_comma()
    }
    fn supports_create_table_select(&self) -> bool {
        self.mysql.supports_create_table_select()
    }
    fn supports_insert_set(&self) -> bool {
        self.mysql.supports_insert_set()
    }
    fn supports_user_host_grantee(&self) -> bool {
        self.mysql.supports_user_host_grantee()
    }
    fn supports_table_hints(&self) -> bool {
        self.mysql.supports_table_hints()
    }
    fn requires_single_line_comment_whitespace(&self) -> bool {
        self.mysql.requires_single_line_comment_whitespace()
    }
    fn supports_match_against(&self) -> bool {
        self.mysql.supports_match_against()
    }
    fn supports_select_modifiers(&self) -> bool {
        self.mysql.supports_select_modifiers()
    }
    fn supports_set_names(&self) -> bool {
        self.mysql.supports_set_names()
    }
    fn supports_comma_separated_set_assignments(&self) -> bool {
        self.mysql.supports_comma_separated_set_assignments()
    }
    fn supports_update_order_by(&self) -> bool {
        self.mysql.supports_update_order_by()
    }
    fn supports_data_type_signed_suffix(&self) -> bool {
        self.mysql.supports_data_type_signed_suffix()
    }
    fn supports_cross_join_constraint(&self) -> bool {
        self.mysql.supports_cross_join_constraint()
    }
    fn supports_double_ampersand_operator(&self) -> bool {
        self.mysql.supports_double_ampersand_operator()
    }
    fn supports_binary_kw_as_cast(&self) -> bool {
        self.mysql.supports_binary_kw_as_cast()
    }
    fn supports_comment_optimizer_hint(&self) -> bool {
        self.mysql.supports_comment_optimizer_hint()
    }
    fn supports_constraint_keyword_without_name(&self) -> bool {
        self.mysql.supports_constraint_keyword_without_name()
    }
    fn supports_key_column_option(&self) -> bool {
        self.mysql.supports_key_column_option()
    }
    fn supports_group_by_with_modifier(&self) -> bool {
        self.mysql.supports_group_by_with_modifier()
    }
    fn supports_left_associative_joins_without_parens(&self) -> bool {
        self.mysql.supports_left_associative_joins_without_parens()
    }
}

#[cfg(test)]
mod tests;
