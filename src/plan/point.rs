//! The point route of a cached statement: a flat SELECT of one sharded
//! table whose WHERE holds its one sharding column to one `?`
//! (`SELECT c FROM t WHERE id = ? AND ...`, where nothing else names the
//! column). Its route is then the node that value is on, and nothing else
//! about it changes from execute to execute; so an execute converts the
//! value and asks the rule for its node, as the router would, without
//! building the statement's context, its conditions and its route plan.
//! The node picks the template a full route made before for that node; with
//! none, or for any value that does not convert exactly (NULL, a string
//! for an integer column), the statement is routed in full.
//!
//! Debug builds route in full as well and check that the template is the
//! one the full route picks ([`super::cache`]).

use crate::plan_model::PlanContext;
use crate::rules::{ColumnCondition, Conversion, TableKind, ValueUse};
use crate::sql::context::{conjuncts, convert_column, Env, Shape, StatementContext};
use crate::sql::params::Bindings;
use sqlparser::ast::{BinaryOperator, Expr, SetExpr, Statement, Value, Visit, Visitor};
use std::ops::ControlFlow;

/// What a point route reads at each execute.
pub(super) struct PointRoute {
    /// The logical table, lower-cased (as the context names it).
    table: String,
    /// Its sharding column, as the rule names it.
    column: String,
    /// The `?` the column equals.
    value: Expr,
}

impl PointRoute {
    /// The point route of `statement`, if it has one under `ctx`'s rules.
    pub(super) fn of(statement: &Statement, shape: Shape, ctx: &PlanContext<'_>) -> Option<Self> {
        let Statement::Query(query) = statement else {
            return None;
        };
        let SetExpr::Select(select) = query.body.as_ref() else {
            return None;
        };
        let [from] = select.from.as_slice() else {
            return None;
        };
        if !shape.is_flat() || query.with.is_some() || !from.joins.is_empty() {
            return None;
        }
        let selection = select.selection.as_ref()?;
        // The context the router builds, with no value bound.
        let bindings = Bindings::new(statement, &[]).ok()?;
        let env = Env {
            schema: ctx.schema,
            column_kind: ctx.column_kind,
            bindings: &bindings,
            shape,
        };
        let context = StatementContext::of_query(env, query).ok()?;
        let ([table], [block]) = (context.refs.as_slice(), context.blocks.as_slice()) else {
            return None;
        };
        let rule = table.rule()?;
        let [column] = rule.sharding_columns() else {
            return None;
        };
        if !(block.links.is_empty() && block.outer_joins.is_empty() && context.in_lists.is_empty())
        {
            return None;
        }
        let is_column = |e: &Expr| context.keys(0, e, false).as_slice() == [(0, 0)];
        let mut value = None;
        for conjunct in conjuncts(selection) {
            if !names(conjunct, column) {
                continue;
            }
            // The comparison's column side is the left one if it names a
            // sharding column, as the conditions read it.
            let equal = match conjunct {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } if is_column(left) => Some(right.as_ref()),
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } if context.keys(0, left, false).is_empty() && is_column(right) => {
                    Some(left.as_ref())
                }
                _ => None,
            };
            match (equal, &value) {
                (Some(placeholder @ Expr::Value(v)), None)
                    if matches!(v.value, Value::Placeholder(_)) =>
                {
                    value = Some(placeholder.clone());
                }
                _ => return None,
            }
        }
        Some(PointRoute {
            table: table.table.clone(),
            column: column.clone(),
            value: value?,
        })
    }

    /// The one node the bound value is on; `None` when it is not one node
    /// or the value does not convert exactly (the full route decides).
    pub(super) fn node(&self, ctx: &PlanContext<'_>, bindings: &Bindings<'_>) -> Option<usize> {
        let TableKind::Sharded(rule) = ctx.schema.table_kind(&self.table) else {
            return None;
        };
        let env = Env {
            schema: ctx.schema,
            column_kind: ctx.column_kind,
            bindings,
            shape: Shape::UNKNOWN,
        };
        let conversion = convert_column(
            env,
            &self.table,
            rule,
            &self.column,
            &self.value,
            ValueUse::Condition,
        )?;
        let Conversion::Exact(value) = conversion else {
            return None;
        };
        let mut nodes = rule.route(|column| match column == self.column {
            true => ColumnCondition::value(value.clone()),
            false => ColumnCondition::Any,
        });
        nodes.sort_unstable();
        nodes.dedup();
        match nodes.as_slice() {
            [node] => Some(*node),
            _ => None,
        }
    }
}

/// Whether `expr` names a column called `column` anywhere, qualified or
/// not: wherever the context could find the sharding column.
fn names(expr: &Expr, column: &str) -> bool {
    let mut finder = Names {
        column,
        found: false,
    };
    let _ = expr.visit(&mut finder);
    finder.found
}

struct Names<'a> {
    column: &'a str,
    found: bool,
}

impl Visitor for Names<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        let last = match expr {
            Expr::Identifier(ident) => Some(ident),
            Expr::CompoundIdentifier(parts) => parts.last(),
            _ => None,
        };
        if last.is_some_and(|ident| ident.value.eq_ignore_ascii_case(self.column)) {
            self.found = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}
