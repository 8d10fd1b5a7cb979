//! Aggregate and window functions in an expression: which calls make a
//! SELECT's per-node rows need merging.

use sqlparser::ast::{Expr, Query, Visit, Visitor};
use std::ops::ControlFlow;

/// Aggregate functions: their result over several nodes needs merging.
pub const AGGREGATES: &[&str] = &[
    "AVG",
    "BIT_AND",
    "BIT_OR",
    "BIT_XOR",
    "COUNT",
    "GROUP_CONCAT",
    "JSON_ARRAYAGG",
    "JSON_OBJECTAGG",
    "MAX",
    "MIN",
    "STD",
    "STDDEV",
    "STDDEV_POP",
    "STDDEV_SAMP",
    "SUM",
    "VAR_POP",
    "VAR_SAMP",
    "VARIANCE",
];

/// The first aggregate or window function in `expr` outside subqueries, by
/// name (`COUNT`, or `window function ROW_NUMBER`).
pub fn find(expr: &Expr) -> Option<Found> {
    let mut finder = Finder::default();
    let _ = expr.visit(&mut finder);
    finder.found
}

/// What [`find`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// An aggregate function, by name.
    Aggregate(String),
    /// A window function, by name.
    Window(String),
}

/// Finds aggregate and window functions outside subqueries.
#[derive(Default)]
struct Finder {
    /// Subquery nesting depth.
    depth: usize,
    /// The first one found.
    found: Option<Found>,
}

impl Visitor for Finder {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        if let Expr::Function(function) = expr {
            let name = function.name.to_string().to_ascii_uppercase();
            if function.over.is_some() {
                self.found = Some(Found::Window(name));
                return ControlFlow::Break(());
            }
            if AGGREGATES.contains(&name.as_str()) {
                self.found = Some(Found::Aggregate(name));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}
