//! Pure SQL handling: scanning the client's text, classifying statements,
//! and parsing with sqlparser where a statement must be understood; for the
//! planner, the statement context (table references, query blocks) and the
//! sharding conditions, values and placeholders it holds.

pub mod classify;
pub mod conditions;
pub mod context;
pub mod literal;
pub mod params;
pub mod scan;
pub mod tables;

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::{Parser, ParserError, ParserOptions};

pub use classify::{classify, StatementKind};
pub use scan::{split_statements, Scanner, Token};

/// Parses one statement with MySQL's dialect, keeping literals exactly as
/// written (`with_unescape(false)`), so a re-rendered statement keeps
/// `'C:\\path'` intact.
pub fn parse(sql: &str) -> Result<Vec<sqlparser::ast::Statement>, ParserError> {
    Parser::new(&MySqlDialect {})
        .with_options(ParserOptions::new().with_unescape(false))
        .try_with_sql(sql)?
        .parse_statements()
}
