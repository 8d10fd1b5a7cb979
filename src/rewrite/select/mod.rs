//! A SELECT over several data nodes whose rows merge (ORDER BY, LIMIT,
//! aggregates, GROUP BY, HAVING, DISTINCT): what each unit returns, and the
//! [`SelectMerge`] that makes the units' rows the client's answer, exactly
//! as one unsharded MySQL would answer. [`derive`] turns the client's query
//! into the query every node runs (each copy then renamed to its node's
//! tables) and the description; [`combine`] joins the copies of one data
//! source into one statement, since the merge reads one stream per data
//! source.
//!
//! ## What a unit returns
//! The client's select list as written (aggregates keep their result type),
//! then derived columns, each aliased:
//! - ORDER BY: kept, a key not selected becomes `ORDER_BY_DERIVED_n`; the
//!   streams are sorted. `... ORDER BY created` →
//!   `SELECT id, created AS ORDER_BY_DERIVED_0 ... ORDER BY created`.
//! - LIMIT m, n / LIMIT n OFFSET m → `LIMIT m+n` wherever the first m+n
//!   rows (groups) of every unit are enough: plain rows; DISTINCT rows;
//!   groups that stream without HAVING or DISTINCT aggregates. Otherwise
//!   the units get no LIMIT.
//! - Strings: every key the merge compares (ORDER BY, GROUP BY, DISTINCT's
//!   columns, MIN/MAX, a DISTINCT aggregate's value) that may be a string
//!   gets `WEIGHT_STRING(expr) AS WEIGHT_DERIVED_n`.
//! - GROUP BY: kept; a key not selected becomes `GROUP_BY_DERIVED_n`.
//!   Without ORDER BY, or ordered by group keys only, the units are ordered
//!   by all group keys and groups stream; ordered by anything else, the
//!   units are not ordered and groups are hashed.
//! - AVG(x): kept, plus `SUM(x) AS AVG_DERIVED_SUM_n`, `COUNT(x) AS
//!   AVG_DERIVED_COUNT_n`.
//! - COUNT / SUM / AVG(DISTINCT x): the units also group by `x`, selected
//!   as `DISTINCT_DERIVED_n`.
//! - HAVING: see [`having`]; an aggregate it needs that is not selected
//!   becomes `HAVING_DERIVED_n`.
//! - Expressions over aggregates (`SUM(a) / COUNT(*)`, in the select list
//!   or ORDER BY): kept, so the unit's value gives the column its MySQL
//!   type; the aggregates they use become `EXPR_DERIVED_n` and the merge
//!   computes the value from the merged ones (translated as HAVING is).
//! - DISTINCT: kept.
//! - GROUP_CONCAT, JSON_ARRAYAGG, JSON_OBJECTAGG: see [`concat`].
//! - GROUP BY ... WITH ROLLUP: the units group without it (see [`rollup`]).
//!
//! A UNION (DISTINCT, or with an outer ORDER BY / LIMIT) is derived apart,
//! in `union`: each node runs the union, each data source's unit wraps its
//! nodes' copies in a derived table with the weights and order.
//!
//! ## One statement per data source
//! The node copies on one data source become `(copy) UNION ALL (copy)`:
//! ordered streams get the merge's ORDER BY on top (by column position, or
//! a derived column's alias after a wildcard), plain rows the unit LIMIT;
//! a copy keeps its own ORDER BY only under a LIMIT. Groups and DISTINCT
//! rows may then come several times from one data source, which the merge
//! folds like rows of different data sources.

mod aggregate;
mod columns;
mod concat;
mod deriver;
mod having;
mod limit;
// UNION over several data nodes.
mod union;
pub use union::{combine_union, derive_union, without_copied_rows};
// Window functions (issue 10, item 3).
mod rollup;
mod window;

use crate::error::Error;
use crate::merge::{SelectMerge, Wildcard};
use crate::sql::params::Bindings;
use aggregate::Found;
use columns::Columns;
use deriver::{Deriver, UnitOrder};
use limit::Limit;
use sqlparser::ast::{
    Distinct, Expr, GroupByExpr, LimitClause, OrderBy, OrderByExpr, OrderByKind, OrderByOptions,
    OrderBySort, Query, Select, SetExpr, SetOperator, SetQuantifier, Value, ValueWithSpan,
};
use sqlparser::tokenizer::Span;

/// The units' query and how their rows merge.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The query every node runs, before its tables are renamed.
    pub query: Query,
    /// How the units' rows merge.
    pub spec: SelectMerge,
    /// ORDER BY of a data source's combined statement.
    outer_order: Option<OrderBy>,
    /// LIMIT of a data source's combined statement (plain rows only).
    outer_limit: Option<LimitClause>,
}

/// The units' query and merge of `query`, a SELECT that runs on several
/// data nodes and needs more than concatenation. What the merge cannot do
/// exactly is refused (1235), naming the construct.
pub fn derive(query: &Query, bindings: &Bindings<'_>) -> Result<Derived, Error> {
    check_query(query)?;
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Err(refuse("this query form"));
    };
    check_select(select)?;
    if window::has_window(select) {
        return window::derive(query, select, bindings);
    }
    let (group_exprs, rollup) = match &select.group_by {
        GroupByExpr::Expressions(exprs, modifiers) => {
            (exprs.clone(), rollup::is_rollup(modifiers)?)
        }
        GroupByExpr::All(_) => return Err(refuse("GROUP BY ALL")),
    };
    if rollup {
        rollup::check_query(query)?;
    }
    let order = order_keys(query)?;
    let limit = Limit::read(query.limit_clause.as_ref(), bindings)?;
    let distinct = match &select.distinct {
        None | Some(Distinct::All) => false,
        Some(Distinct::Distinct) => true,
        Some(Distinct::On(_)) => return Err(refuse("DISTINCT ON")),
    };
    let mut deriver = Deriver {
        columns: Columns::new(&select.projection)?,
        spec: SelectMerge::new(0),
        bindings,
        group_exprs,
        extra_group_by: Vec::new(),
        group_by_position: Vec::new(),
        translating: deriver::Translating::Having,
    };
    let expressions = deriver
        .columns
        .exprs()
        .cloned()
        .chain(order.iter().map(|(e, _)| e.clone()))
        .chain(select.having.clone())
        .collect::<Vec<_>>();
    let mut grouped = !deriver.group_exprs.is_empty();
    for expr in &expressions {
        match aggregate::find(expr) {
            Some(Found::Window(name)) => return Err(refuse(&format!("window function {name}"))),
            Some(Found::Aggregate(_)) => grouped = true,
            None => grouped |= deriver.has_aggregate(expr),
        }
    }
    if deriver.columns.has_wildcard() && (grouped || distinct) {
        return Err(refuse("SELECT * with GROUP BY, aggregates or DISTINCT"));
    }
    let mut unit = query.clone();
    let plan = if grouped {
        let mut plan = deriver.groups(&order, limit, distinct, select.having.as_ref())?;
        concat::check_uses(&deriver.spec, deriver.columns.visible)?;
        if rollup {
            rollup::check(
                &deriver.spec,
                deriver.group_exprs.len(),
                deriver.extra_group_by.len(),
                deriver.columns.visible,
            )?;
            if plan.having.is_some() {
                // The units would drop groups the super-aggregate rows count.
                return Err(refuse(
                    "HAVING without aggregates (over the GROUP BY keys) WITH ROLLUP",
                ));
            }
            deriver.spec.rollup = true;
            // The super-aggregate rows count toward LIMIT.
            plan.push_limit = false;
        }
        plan
    } else {
        deriver.rows(&order, limit, distinct)?
    };
    let Deriver {
        columns,
        mut spec,
        extra_group_by,
        group_by_position,
        ..
    } = deriver;
    spec.visible = columns.visible;
    spec.wildcard = columns.wildcard_at.map(|at| Wildcard {
        at,
        derived: columns.derived_count(),
    });
    if let Limit::Known { offset, limit } = limit {
        spec.offset = offset;
        spec.limit = limit;
    }
    let unit_limit = match (plan.push_limit, limit) {
        (false, _) | (true, Limit::None) => None,
        (true, Limit::Unbound) => query.limit_clause.clone(),
        (true, Limit::Known { .. }) => limit.unit_rows().map(limit_clause),
    };
    let outer_order = spec.streams_sorted.then(|| OrderBy {
        kind: OrderByKind::Expressions(
            spec.order_by
                .iter()
                .map(|key| {
                    let expr = match columns.wildcard_at {
                        Some(at) if key.column >= at => match columns.alias(key.column) {
                            Some(alias) => Expr::Identifier(alias),
                            None => number(key.column + 1),
                        },
                        _ => number(key.column + 1),
                    };
                    order_by_expr(expr, key.descending)
                })
                .collect(),
        ),
        interpolate: None,
    });
    let outer_limit = unit_limit.clone().filter(|_| plan.plain_rows);
    unit.limit_clause = unit_limit;
    match plan.order {
        UnitOrder::Keep => {}
        UnitOrder::Remove => unit.order_by = None,
        UnitOrder::Set(keys) => {
            unit.order_by = Some(OrderBy {
                kind: OrderByKind::Expressions(keys),
                interpolate: None,
            })
        }
    }
    let SetExpr::Select(unit_select) = unit.body.as_mut() else {
        return Err(Error::internal("the unit query lost its SELECT"));
    };
    columns.apply(unit_select);
    if grouped {
        unit_select.having = plan.having;
        if let GroupByExpr::Expressions(exprs, modifiers) = &mut unit_select.group_by {
            // The merge rolls up; the units group.
            modifiers.clear();
            for (i, column) in group_by_position {
                if let Some(key) = exprs.get_mut(i) {
                    *key = number(column + 1);
                }
            }
            exprs.extend(extra_group_by);
        }
    }
    Ok(Derived {
        query: unit,
        spec,
        outer_order,
        outer_limit,
    })
}

/// `parts` joined by UNION ALL, left to right; `None` when there are none.
fn union_all(parts: impl Iterator<Item = SetExpr>) -> Option<SetExpr> {
    parts.reduce(|left, right| SetExpr::SetOperation {
        left: Box::new(left),
        op: SetOperator::Union,
        set_quantifier: SetQuantifier::All,
        right: Box::new(right),
    })
}

/// One data source's statement from the copies of its nodes (see the
/// module docs).
pub fn combine(derived: &Derived, mut copies: Vec<Query>) -> Query {
    if copies.len() == 1 {
        if let Some(only) = copies.pop() {
            return only;
        }
    }
    let with = copies.first_mut().and_then(|q| q.with.take());
    let body = copies.into_iter().map(|mut copy| {
        copy.with = None;
        if copy.limit_clause.is_none() {
            copy.order_by = None;
        }
        SetExpr::Query(Box::new(copy))
    });
    let body = union_all(body);
    Query {
        with,
        order_by: derived.outer_order.clone(),
        limit_clause: derived.outer_limit.clone(),
        ..bare_query(body.unwrap_or_else(|| derived.query.body.as_ref().clone()))
    }
}

/// A query of `body` alone: no WITH, ORDER BY, LIMIT or locking clause.
fn bare_query(body: SetExpr) -> Query {
    Query {
        with: None,
        body: Box::new(body),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    }
}

/// A construct refused across data nodes.
fn refuse(construct: &str) -> Error {
    Error::not_supported(format!("{construct} across data nodes"))
}

/// Parts of a query the merge knows nothing of.
fn check_query(query: &Query) -> Result<(), Error> {
    if query.fetch.is_some() {
        return Err(refuse("FETCH"));
    }
    if query.for_clause.is_some()
        || query.settings.is_some()
        || query.format_clause.is_some()
        || !query.pipe_operators.is_empty()
    {
        return Err(refuse("this query clause"));
    }
    Ok(())
}

/// Parts of a SELECT the merge knows nothing of.
fn check_select(select: &Select) -> Result<(), Error> {
    if select
        .select_modifiers
        .as_ref()
        .is_some_and(|m| m.sql_calc_found_rows)
    {
        return Err(refuse("SQL_CALC_FOUND_ROWS"));
    }
    if !select.named_window.is_empty() {
        return Err(refuse("WINDOW"));
    }
    if select.into.is_some() {
        return Err(refuse("SELECT ... INTO"));
    }
    if select.top.is_some()
        || select.qualify.is_some()
        || select.prewhere.is_some()
        || !select.connect_by.is_empty()
        || !select.lateral_views.is_empty()
        || !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
        || select.value_table_mode.is_some()
        || select.exclude.is_some()
    {
        return Err(refuse("this SELECT clause"));
    }
    Ok(())
}

/// The client's ORDER BY keys: (expression, descending).
fn order_keys(query: &Query) -> Result<Vec<(Expr, bool)>, Error> {
    let Some(order_by) = &query.order_by else {
        return Ok(Vec::new());
    };
    if order_by.interpolate.is_some() {
        return Err(refuse("ORDER BY ... INTERPOLATE"));
    }
    let OrderByKind::Expressions(keys) = &order_by.kind else {
        return Err(refuse("ORDER BY ALL"));
    };
    keys.iter()
        .filter(|key| !is_constant(&key.expr))
        .map(|key| {
            if key.with_fill.is_some() || key.options.nulls_first.is_some() {
                return Err(refuse("ORDER BY ... NULLS FIRST / LAST"));
            }
            match &key.options.sort {
                None | Some(OrderBySort::Asc) => Ok((key.expr.clone(), false)),
                Some(OrderBySort::Desc) => Ok((key.expr.clone(), true)),
                Some(OrderBySort::Using(_)) => Err(refuse("ORDER BY ... USING")),
            }
        })
        .collect()
}

/// A constant ORDER BY key other than a position (`ORDER BY NULL`): it
/// orders nothing.
fn is_constant(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Value(ValueWithSpan {
            value: Value::Null | Value::SingleQuotedString(_) | Value::DoubleQuotedString(_),
            ..
        })
    )
}

/// `expr` as a select-list position (`ORDER BY 2`), if it is one.
fn position(expr: &Expr) -> Option<u64> {
    match expr {
        Expr::Value(ValueWithSpan {
            value: Value::Number(text, _),
            ..
        }) => text.parse().ok(),
        _ => None,
    }
}

/// A number literal.
fn number(n: usize) -> Expr {
    Expr::Value(ValueWithSpan {
        value: Value::Number(n.to_string(), false),
        span: Span::empty(),
    })
}

/// `LIMIT n`.
fn limit_clause(n: u64) -> LimitClause {
    LimitClause::LimitOffset {
        limit: Some(Expr::Value(ValueWithSpan {
            value: Value::Number(n.to_string(), false),
            span: Span::empty(),
        })),
        offset: None,
        limit_by: Vec::new(),
    }
}

/// One ORDER BY key.
fn order_by_expr(expr: Expr, descending: bool) -> OrderByExpr {
    OrderByExpr {
        expr,
        options: OrderByOptions {
            sort: descending.then_some(OrderBySort::Desc),
            nulls_first: None,
        },
        with_fill: None,
    }
}

#[cfg(test)]
mod tests;
