//! Uncorrelated subqueries on sharded tables, answered before their
//! statement: [`find`] lists the outermost subqueries (`IN (SELECT ..)`,
//! `EXISTS`, scalar) that read a sharded table; the session runs each one
//! through the proxy's own pipeline, and [`substitute`] puts the answers
//! in as literals ([`answer`]), so the outer statement then routes on the
//! values (an `IN` list prunes per node). A correlated subquery fails on
//! its own (it names a column it does not have) and stays refused.

use super::prepared::{bound_values, Bound};
use crate::error::Error;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use sqlparser::ast::{
    Expr, Ident, ObjectName, Query, Select, SelectItem, Spanned, Statement, Value as SqlValue,
    Visit, VisitMut, Visitor, VisitorMut,
};
use sqlparser::tokenizer::Location;
use std::ops::ControlFlow;

/// What the statement does with a subquery's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `x [NOT] IN (SELECT ..)`; `arity` values per row (a row constructor on the left).
    In { negated: bool, arity: usize },
    /// `[NOT] EXISTS (SELECT ..)`.
    Exists { negated: bool },
    /// A scalar subquery: one value, NULL without rows.
    Scalar,
}

/// One subquery to run first.
#[derive(Debug, Clone)]
pub struct Found {
    /// The inner query, as written.
    pub query: Query,
    /// How its rows are used.
    pub shape: Shape,
    /// Where its `?`s start, in text order.
    pub placeholders: Vec<Location>,
}

/// A subquery's answer: what replaces it.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The IN list's items (rows of `arity` values as row constructors);
    /// empty: no row.
    List(Vec<Expr>),
    /// The whole expression's value (EXISTS, a scalar, an empty IN).
    Value(Expr),
}

/// The outermost subqueries of `statement` that read a table `is_sharded`
/// names, in the order [`substitute`] replaces them.
pub fn find(statement: &Statement, is_sharded: &dyn Fn(&str) -> bool) -> Vec<Found> {
    let mut finder = Finder {
        walk: Walk::new(is_sharded),
        found: Vec::new(),
    };
    let _ = Visit::visit(statement, &mut finder);
    finder.found
}

/// Replaces the subqueries [`find`] listed with `answers`, one each in
/// order. An unaliased select item that was a scalar subquery keeps its
/// column name: its text in `sql`, as MariaDB names it.
pub fn substitute(
    statement: &mut Statement,
    sql: &str,
    answers: Vec<Answer>,
    is_sharded: &dyn Fn(&str) -> bool,
) -> Result<(), Error> {
    let expected = answers.len();
    let mut substituter = Substituter {
        walk: Walk::new(is_sharded),
        sql,
        answers: answers.into_iter(),
        used: 0,
    };
    let _ = VisitMut::visit(statement, &mut substituter);
    if substituter.used != expected {
        return Err(Error::internal("subquery answers out of step with the statement"));
    }
    Ok(())
}

/// The literal answer of a subquery of `shape` that returned `rows` of `columns`.
pub fn answer(shape: Shape, columns: &[Column], rows: &[Vec<Value>]) -> Result<Answer, Error> {
    match shape {
        Shape::Exists { negated } => Ok(Answer::Value(boolean(rows.is_empty() == negated))),
        Shape::In { negated, arity } => {
            if columns.len() != arity {
                return Err(operand_columns(arity));
            }
            if rows.is_empty() {
                // No row: IN is false and NOT IN true, whatever the left side (NULL too).
                return Ok(Answer::Value(boolean(negated)));
            }
            let items = rows
                .iter()
                .map(|row| {
                    let values = literals(columns, row)?;
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
                [] => Ok(Answer::Value(null())),
                [row] => Ok(Answer::Value(
                    literals(columns, row)?.into_iter().next().unwrap_or(null()),
                )),
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
fn literals(columns: &[Column], row: &[Value]) -> Result<Vec<Expr>, Error> {
    bound_values(columns, row)
        .into_iter()
        .zip(columns)
        .map(|(bound, column)| {
            let text = match (&bound, temporal_keyword(column.column_type())) {
                (Bound::Text(bytes), Some(keyword)) if is_plain_temporal(bytes) => {
                    format!("{keyword} {}", bound.literal())
                }
                _ => bound.literal(),
            };
            super::parse_expr(&text).map_err(|e| {
                Error::internal(format!("a subquery's value did not parse as a literal: {e}"))
            })
        })
        .collect()
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

/// Which subqueries are outermost and read sharded tables, with the same
/// answer for the finder and the substituter: each skips what lies inside
/// a subquery it took (the inner run answers those itself).
struct Walk<'a> {
    is_sharded: &'a dyn Fn(&str) -> bool,
    /// Expressions entered and not yet left.
    depth: usize,
    /// The depth of the subquery taken, while inside it.
    taken_at: Option<usize>,
}

impl<'a> Walk<'a> {
    fn new(is_sharded: &'a dyn Fn(&str) -> bool) -> Self {
        Walk {
            is_sharded,
            depth: 0,
            taken_at: None,
        }
    }

    /// Enters `expr`: its shape and query when it is a subquery to take.
    fn enter<'e>(&mut self, expr: &'e Expr) -> Option<(Shape, &'e Query)> {
        self.depth += 1;
        if self.taken_at.is_some() {
            return None;
        }
        let (shape, query) = shape_of(expr)?;
        if !reads_sharded(query, self.is_sharded) {
            return None;
        }
        self.taken_at = Some(self.depth);
        Some((shape, query))
    }

    /// Leaves an expression.
    fn leave(&mut self) {
        if self.taken_at == Some(self.depth) {
            self.taken_at = None;
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

fn shape_of(expr: &Expr) -> Option<(Shape, &Query)> {
    match expr {
        Expr::InSubquery {
            expr,
            subquery,
            negated,
        } => {
            let arity = match expr.as_ref() {
                Expr::Tuple(items) => items.len(),
                _ => 1,
            };
            let negated = *negated;
            Some((Shape::In { negated, arity }, subquery))
        }
        Expr::Exists { subquery, negated } => Some((
            Shape::Exists {
                negated: *negated,
            },
            subquery,
        )),
        Expr::Subquery(query) => Some((Shape::Scalar, query)),
        _ => None,
    }
}

/// Whether `query` names a sharded table anywhere.
fn reads_sharded(query: &Query, is_sharded: &dyn Fn(&str) -> bool) -> bool {
    struct Tables<'a>(&'a dyn Fn(&str) -> bool);
    impl Visitor for Tables<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
            let last = relation.0.last().and_then(|p| p.as_ident());
            match last {
                Some(ident) if (self.0)(&ident.value) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }
    }
    Visit::visit(query, &mut Tables(is_sharded)).is_break()
}

struct Finder<'a> {
    walk: Walk<'a>,
    found: Vec<Found>,
}

impl Visitor for Finder<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Some((shape, query)) = self.walk.enter(expr) {
            self.found.push(Found {
                query: query.clone(),
                shape,
                placeholders: placeholders(query),
            });
        }
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<()> {
        self.walk.leave();
        ControlFlow::Continue(())
    }
}

/// Where the `?`s of `query` start, ascending.
fn placeholders(query: &Query) -> Vec<Location> {
    struct Places(Vec<Location>);
    impl Visitor for Places {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = expr {
                if matches!(v.value, SqlValue::Placeholder(_)) {
                    self.0.push(v.span.start);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut places = Places(Vec::new());
    let _ = Visit::visit(query, &mut places);
    places.0.sort_unstable();
    places.0
}

struct Substituter<'a, I> {
    walk: Walk<'a>,
    sql: &'a str,
    answers: I,
    used: usize,
}

impl<I: Iterator<Item = Answer>> VisitorMut for Substituter<'_, I> {
    type Break = ();
    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        if self.walk.taken_at.is_some() {
            return ControlFlow::Continue(());
        }
        for item in &mut select.projection {
            let SelectItem::UnnamedExpr(expr) = item else {
                continue;
            };
            let Expr::Subquery(query) = &*expr else {
                continue;
            };
            if !reads_sharded(query, self.walk.is_sharded) {
                continue;
            }
            if let Some(name) = written(self.sql, expr) {
                *item = SelectItem::ExprWithAlias {
                    expr: expr.clone(),
                    alias: Ident::with_quote('`', name),
                };
            }
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Some((shape, _)) = self.walk.enter(expr) else {
            return ControlFlow::Continue(());
        };
        let Some(answer) = self.answers.next() else {
            return ControlFlow::Break(());
        };
        self.used += 1;
        *expr = match (answer, shape) {
            (Answer::List(list), Shape::In { negated, .. }) => match expr {
                Expr::InSubquery { expr: left, .. } => Expr::InList {
                    expr: left.clone(),
                    list,
                    negated,
                },
                _ => return ControlFlow::Break(()),
            },
            (Answer::Value(value), _) => Expr::Nested(Box::new(value)),
            (Answer::List(_), _) => return ControlFlow::Break(()),
        };
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, _expr: &mut Expr) -> ControlFlow<()> {
        self.walk.leave();
        ControlFlow::Continue(())
    }
}

/// The text of a scalar subquery as written in `sql`, with its parentheses.
fn written(sql: &str, expr: &Expr) -> Option<String> {
    let span = expr.span();
    let start = byte_offset(sql, span.start)?;
    let end = byte_offset(sql, span.end)?;
    let before = sql.get(..start)?.trim_end();
    let after = sql.get(end..)?;
    let open = before.strip_suffix('(')?.len();
    let close = end + after.len() - after.trim_start().len();
    if !sql.get(close..)?.starts_with(')') {
        return None;
    }
    sql.get(open..=close).map(str::to_string)
}

/// The byte offset of a (1-based line and character) location in `sql`.
fn byte_offset(sql: &str, at: Location) -> Option<usize> {
    let mut line_start = 0;
    for _ in 1..at.line {
        line_start += sql.get(line_start..)?.find('\n')? + 1;
    }
    let line = sql.get(line_start..)?;
    let column = usize::try_from(at.column).ok()?.checked_sub(1)?;
    match line.char_indices().nth(column) {
        Some((i, _)) => Some(line_start + i),
        None if line.chars().count() == column => Some(line_start + line.len()),
        None => None,
    }
}

#[cfg(test)]
mod tests;
