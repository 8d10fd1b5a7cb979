//! Pure SQL handling: scanning the client's text, classifying statements,
//! and parsing with sqlparser where a statement must be understood; for the
//! planner, the statement context (table references, query blocks) and the
//! sharding conditions, values and placeholders it holds.

pub mod aggregates;
pub mod answered_first;
pub mod boundary;
pub mod classify;
pub mod collations;
pub mod conditions;
pub mod context;
pub mod dialect;
pub mod effects;
pub mod literal;
pub mod literal_table;
mod long_insert;
pub use long_insert::{parse_bulk, values_of, Bulk, Literal};
pub mod params;
mod parse_cache;
pub use parse_cache::parse_cached;
pub mod prepared;
pub mod replica_read;
pub mod scan;
pub mod session_calls;
pub mod shape;
pub mod subquery;
pub mod tables;

use dialect::MariaDbDialect;
use sqlparser::parser::{Parser, ParserError, ParserOptions};

pub use classify::{classify, StatementKind};
pub use effects::{effects, set_kind, Effects, SetKind};
pub use scan::{lone_statement, split_statements, Scanner, Token};

/// Parses one statement with MySQL's dialect as MariaDB speaks it, keeping literals exactly as
/// written (`with_unescape(false)`), so a re-rendered statement keeps
/// `'C:\\path'` intact.
/// A long multi-row INSERT of plain literals takes a shortcut
/// ([`long_insert`]) to the same AST.
pub fn parse(sql: &str) -> Result<Vec<sqlparser::ast::Statement>, ParserError> {
    long_insert::parse(sql).unwrap_or_else(|| parse_whole(sql))
}

/// [`parse`] by sqlparser alone.
fn parse_whole(sql: &str) -> Result<Vec<sqlparser::ast::Statement>, ParserError> {
    Parser::new(&MariaDbDialect::default())
        .with_options(ParserOptions::new().with_unescape(false))
        .try_with_sql(&dialect::quote_identifier_words(sql))?
        .parse_statements()
}

/// Parses one expression as [`parse`] does.
pub fn parse_expr(sql: &str) -> Result<sqlparser::ast::Expr, ParserError> {
    Parser::new(&MariaDbDialect::default())
        .with_options(ParserOptions::new().with_unescape(false))
        .try_with_sql(sql)?
        .parse_expr()
}

/// The first branch of a `UNION ALL` statement (the copy of the statement
/// on one actual table), or `None` when `sql` is not a union. MariaDB
/// describes a union's columns without key flags and original names, so
/// the client's column definitions come from one branch alone.
pub fn first_union_branch(sql: &str) -> Option<String> {
    first_union_branch_limited(sql, false)
}

/// [`first_union_branch`] with `LIMIT 0`: a text query that returns the
/// branch's column definitions and no rows.
pub fn first_union_branch_without_rows(sql: &str) -> Option<String> {
    first_union_branch_limited(sql, true)
}

fn first_union_branch_limited(sql: &str, no_rows: bool) -> Option<String> {
    use sqlparser::ast::{Expr, LimitClause, SetExpr, SetOperator, Statement, Value};
    let statements = parse(sql).ok()?;
    let Some(Statement::Query(query)) = statements.first() else {
        return None;
    };
    let mut body = query.body.as_ref();
    let mut is_union = false;
    while let SetExpr::SetOperation {
        op: SetOperator::Union,
        left,
        ..
    } = body
    {
        is_union = true;
        body = left.as_ref();
    }
    if !is_union {
        return None;
    }
    let mut branch = match body {
        SetExpr::Query(inner) => {
            let mut inner = inner.as_ref().clone();
            if no_rows {
                inner.limit_clause = Some(LimitClause::LimitOffset {
                    limit: Some(Expr::value(Value::Number("0".into(), false))),
                    offset: None,
                    limit_by: vec![],
                });
            }
            inner.to_string()
        }
        other if no_rows => format!("{other} LIMIT 0"),
        other => other.to_string(),
    };
    if let Some(with) = &query.with {
        branch = format!("{with} {branch}");
    }
    Some(branch)
}

#[cfg(test)]
mod union_tests {
    use super::first_union_branch;

    #[test]
    fn first_branch_of_a_union_all() {
        assert_eq!(
            first_union_branch(
                "(SELECT a FROM t_0 ORDER BY a LIMIT 3) UNION ALL (SELECT a FROM t_1 ORDER BY a LIMIT 3) ORDER BY 1 LIMIT 3"
            )
            .as_deref(),
            Some("SELECT a FROM t_0 ORDER BY a LIMIT 3")
        );
        assert_eq!(
            first_union_branch("SELECT a FROM t_0 UNION ALL SELECT a FROM t_1").as_deref(),
            Some("SELECT a FROM t_0")
        );
        assert_eq!(first_union_branch("SELECT a FROM t_0"), None);
        assert_eq!(
            super::first_union_branch_without_rows(
                "(SELECT a FROM t_0 ORDER BY a LIMIT 3) UNION ALL (SELECT a FROM t_1 ORDER BY a LIMIT 3)"
            )
            .as_deref(),
            Some("SELECT a FROM t_0 ORDER BY a LIMIT 0")
        );
    }
}
