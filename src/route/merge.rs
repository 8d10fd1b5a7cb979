//! How the answers of several route units become the client's one answer.
//! Plain SELECTs are concatenated and writes sum their affected rows; a
//! SELECT over several data nodes that needs a real merge (ORDER BY, LIMIT,
//! aggregates, GROUP BY, DISTINCT, HAVING) is left to the rewrite, which
//! derives its units and merge (see `rewrite::select`). So is a UNION that
//! needs more than concatenation (UNION DISTINCT, an outer ORDER BY or
//! LIMIT; the rewrite refuses branches it cannot merge exactly);
//! INTERSECT/EXCEPT are refused across data nodes. On one data node
//! anything passes.

use crate::error::Error;
use crate::plan_model::MergePlan;
use crate::sql::aggregates::{find, Found};
use sqlparser::ast::{
    Distinct, GroupByExpr, Query, SelectItem, SetExpr, SetOperator, SetQuantifier,
};

/// How the rows of a SELECT's route units combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// One unit: nothing to combine.
    Single,
    /// Plain rows: concatenated.
    Concat,
    /// Rows merged as the rewrite derives.
    Merge,
}

/// How the rows of a SELECT that runs as `units` route units combine.
pub fn select(query: &Query, units: usize) -> Result<Select, Error> {
    if units <= 1 {
        return Ok(Select::Single);
    }
    let Some(construct) = plain(query) else {
        return Ok(Select::Concat);
    };
    match query.body.as_ref() {
        SetExpr::Select(_) => Ok(Select::Merge),
        // The rewrite derives a UNION's merge, or refuses it naming why.
        SetExpr::SetOperation { .. } if unions_only(&query.body) => Ok(Select::Merge),
        SetExpr::SetOperation { .. } => match plain_body(&query.body) {
            Some(construct) => Err(Error::not_supported(format!(
                "{construct} across data nodes"
            ))),
            None => Err(Error::not_supported(format!(
                "{construct} of a UNION across data nodes"
            ))),
        },
        _ => Err(Error::not_supported(format!(
            "{construct} of a parenthesized query across data nodes"
        ))),
    }
}

/// Whether `query` is a UNION (of any kind, and nothing but unions).
pub fn is_union(query: &Query) -> bool {
    matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) && unions_only(&query.body)
}

/// Whether every set operation in `body` is a UNION.
fn unions_only(body: &SetExpr) -> bool {
    match body {
        SetExpr::SetOperation {
            op, left, right, ..
        } => *op == SetOperator::Union && unions_only(left) && unions_only(right),
        SetExpr::Query(query) => unions_only(&query.body),
        _ => true,
    }
}

/// The merge of a write or DDL that runs as `units` route units.
pub fn write(units: usize, broadcast: bool) -> MergePlan {
    match (units, broadcast) {
        (0 | 1, _) => MergePlan::Single,
        (_, true) => MergePlan::Broadcast,
        (_, false) => MergePlan::SumAffected,
    }
}

/// The first construct that keeps `query`'s rows from being a plain
/// concatenation of per-node rows; `None` when there is none.
fn plain(query: &Query) -> Option<String> {
    if query.order_by.is_some() {
        return Some("ORDER BY".into());
    }
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return Some("LIMIT".into());
    }
    plain_body(&query.body)
}

fn plain_body(body: &SetExpr) -> Option<String> {
    match body {
        SetExpr::Select(select) => {
            if matches!(select.distinct, Some(Distinct::Distinct | Distinct::On(_))) {
                return Some("DISTINCT".into());
            }
            let grouped = match &select.group_by {
                GroupByExpr::All(_) => true,
                GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
            };
            if grouped {
                return Some("GROUP BY".into());
            }
            if select.having.is_some() {
                return Some("HAVING".into());
            }
            if select.into.is_some() {
                return Some("SELECT ... INTO".into());
            }
            select.projection.iter().find_map(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => find(e)
                    .map(|found| match found {
                        Found::Window(name) => format!("window function {name}"),
                        Found::Aggregate(name) => format!("aggregate function {name}"),
                    }),
                _ => None,
            })
        }
        SetExpr::Query(query) => plain(query),
        SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            let union_all = *op == SetOperator::Union
                && matches!(
                    set_quantifier,
                    SetQuantifier::All | SetQuantifier::AllByName
                );
            if !union_all {
                return Some(format!("{op}").to_uppercase());
            }
            plain_body(left).or_else(|| plain_body(right))
        }
        _ => None,
    }
}
