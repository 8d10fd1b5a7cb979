//! Uncorrelated subqueries on sharded tables, answered before their
//! statement: [`find`] lists the outermost subqueries (`IN (SELECT ..)`,
//! `EXISTS`, scalar) that read a sharded table; the session runs each one
//! through the proxy's own pipeline, and [`substitute`] puts the answers
//! in as literals ([`answer`]), so the outer statement then routes on the
//! values (an `IN` list prunes per node). A whole-item scalar subquery of
//! the top select list is taken too ([`select_list`]). A correlated
//! subquery fails on its own (it names a column it does not have) and
//! stays refused.

use crate::error::Error;
use sqlparser::ast::{
    Expr, ObjectName, Query, Select, SelectItem, Statement, Value as SqlValue, Visit, VisitMut,
    Visitor, VisitorMut,
};
use sqlparser::tokenizer::Location;
use std::ops::ControlFlow;

mod answer;
mod select_list;

pub use answer::answer;
pub use select_list::{name_select_items, SelectItemAt};

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
    /// A scalar subquery that is a whole item of the top select list: the
    /// client sees its column described as the subquery's.
    pub select_item: Option<SelectItemAt>,
}

/// A subquery's answer: what replaces it.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The IN list's items (rows of `arity` values as row constructors);
    /// empty: no row.
    List(Vec<Expr>),
    /// The whole expression's value (EXISTS, a scalar, an empty IN).
    Value(Box<Expr>),
}

/// The outermost subqueries of `statement` that read a table `is_sharded`
/// names, in the order [`substitute`] replaces them. In the select list
/// only a scalar subquery that is a whole item of the top SELECT is taken
/// (its column is then described as the subquery's, [`SelectItemAt`]);
/// others are refused: a literal in their place would not be described
/// (type, length, nullability) as MariaDB describes them.
pub fn find(statement: &Statement, is_sharded: &dyn Fn(&str) -> bool) -> Result<Vec<Found>, Error> {
    let mut finder = Finder {
        walk: Walk::new(is_sharded),
        found: Vec::new(),
        top: select_list::top_select(statement),
        items: Vec::new(),
    };
    match Visit::visit(statement, &mut finder) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(finder.found),
    }
}

/// `statement` with each subquery [`find`] lists replaced by a stand-in
/// that reads no table and keeps its `?`s: what a prepare describes (the
/// statement's columns and parameters do not depend on the answers).
pub fn with_stand_ins(
    statement: &Statement,
    is_sharded: &dyn Fn(&str) -> bool,
) -> Result<Statement, Error> {
    let found = find(statement, is_sharded)?;
    let stand_ins = found
        .iter()
        .map(|f| {
            let width = match f.shape {
                Shape::In { arity, .. } => arity,
                Shape::Exists { .. } | Shape::Scalar => 1,
            };
            let columns = vec!["NULL"; width].join(", ");
            let condition = match f.placeholders.len() {
                0 => String::new(),
                n => format!(
                    " WHERE COALESCE({}) IS NULL",
                    vec!["?"; n.max(2)].join(", ")
                ),
            };
            stand_in_query(
                &format!("SELECT {columns}{condition}"),
                f.placeholders.len(),
            )
        })
        .collect::<Result<Vec<Query>, Error>>()?;
    let mut statement = statement.clone();
    let mut replacer = StandIns {
        walk: Walk::new(is_sharded),
        stand_ins: stand_ins.into_iter(),
    };
    let _ = VisitMut::visit(&mut statement, &mut replacer);
    Ok(statement)
}

/// The query of `sql`, with exactly `placeholders` `?`s (COALESCE needs two
/// arguments: a single `?` is paired with NULL).
fn stand_in_query(sql: &str, placeholders: usize) -> Result<Query, Error> {
    let sql = if placeholders == 1 {
        sql.replacen("?, ?", "?, NULL", 1)
    } else {
        sql.to_string()
    };
    let mut statements =
        super::parse(&sql).map_err(|e| Error::internal(format!("a stand-in subquery: {e}")))?;
    match statements.pop() {
        Some(Statement::Query(query)) => Ok(*query),
        _ => Err(Error::internal("a stand-in subquery that is no query")),
    }
}

/// Replaces the subqueries [`find`] listed with `answers`, one each in order.
pub fn substitute(
    statement: &mut Statement,
    answers: Vec<Answer>,
    is_sharded: &dyn Fn(&str) -> bool,
) -> Result<(), Error> {
    let expected = answers.len();
    let mut substituter = Substituter {
        walk: Walk::new(is_sharded),
        answers: answers.into_iter(),
        used: 0,
    };
    let _ = VisitMut::visit(statement, &mut substituter);
    if substituter.used != expected {
        return Err(Error::internal(
            "subquery answers out of step with the statement",
        ));
    }
    Ok(())
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
        Expr::Exists { subquery, negated } => Some((Shape::Exists { negated: *negated }, subquery)),
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
    /// The top SELECT, whose whole-item scalar subqueries are taken.
    top: Option<*const Select>,
    /// Those items' expressions and where they stand.
    items: Vec<(*const Expr, SelectItemAt)>,
}

impl Visitor for Finder<'_> {
    type Break = Error;
    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Error> {
        if self.walk.taken_at.is_some() {
            return ControlFlow::Continue(());
        }
        // After a wildcard an item's place is not its column's.
        let is_top = self.top.is_some_and(|top| std::ptr::eq(top, select))
            && !select_list::has_wildcard(select);
        for (position, item) in select.projection.iter().enumerate() {
            if is_top {
                if let Some(at) = select_list::whole_scalar(item, position) {
                    self.items.push(at);
                    continue;
                }
            }
            let expr = match item {
                SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
                _ => continue,
            };
            let mut inner = Finder {
                walk: Walk::new(self.walk.is_sharded),
                found: Vec::new(),
                top: None,
                items: Vec::new(),
            };
            let _ = Visit::visit(expr, &mut inner);
            if let Some(found) = inner.found.first() {
                return ControlFlow::Break(Error::not_supported(format!(
                    "subquery on sharded table '{}' in the select list across data nodes",
                    first_table(&found.query)
                )));
            }
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Error> {
        if let Some((shape, query)) = self.walk.enter(expr) {
            if matches!(shape, Shape::In { .. }) && query.limit_clause.is_some() {
                // MariaDB's own refusal, which answering first would lift.
                return ControlFlow::Break(Error::not_supported(
                    "LIMIT & IN/ALL/ANY/SOME subquery",
                ));
            }
            let select_item = self
                .items
                .iter()
                .find(|(e, _)| std::ptr::eq(*e, expr))
                .map(|(_, at)| at.clone());
            self.found.push(Found {
                query: query.clone(),
                shape,
                placeholders: placeholders(query),
                select_item,
            });
        }
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<Error> {
        self.walk.leave();
        ControlFlow::Continue(())
    }
}

/// The first table `query` names.
pub fn first_table(query: &Query) -> String {
    struct First(Option<String>);
    impl Visitor for First {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
            self.0 = relation
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.clone());
            ControlFlow::Break(())
        }
    }
    let mut first = First(None);
    let _ = Visit::visit(query, &mut first);
    first.0.unwrap_or_default()
}

/// Puts stand-in queries in place of the subqueries taken.
struct StandIns<'a, I> {
    walk: Walk<'a>,
    stand_ins: I,
}

impl<I: Iterator<Item = Query>> VisitorMut for StandIns<'_, I> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if self.walk.enter(expr).is_none() {
            return ControlFlow::Continue(());
        }
        let Some(stand_in) = self.stand_ins.next() else {
            return ControlFlow::Break(());
        };
        match expr {
            Expr::InSubquery { subquery, .. }
            | Expr::Exists { subquery, .. }
            | Expr::Subquery(subquery) => **subquery = stand_in,
            _ => {}
        }
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, _expr: &mut Expr) -> ControlFlow<()> {
        self.walk.leave();
        ControlFlow::Continue(())
    }
}

/// Where the `?`s of `query` start, ascending.
pub fn placeholders(query: &Query) -> Vec<Location> {
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
    answers: I,
    used: usize,
}

impl<I: Iterator<Item = Answer>> VisitorMut for Substituter<'_, I> {
    type Break = ();
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
            (Answer::Value(value), _) => Expr::Nested(value),
            (Answer::List(_), _) => return ControlFlow::Break(()),
        };
        ControlFlow::Continue(())
    }
    fn post_visit_expr(&mut self, _expr: &mut Expr) -> ControlFlow<()> {
        self.walk.leave();
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests;
