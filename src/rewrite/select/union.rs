//! A UNION over several data nodes that needs more than concatenation:
//! UNION DISTINCT (or a mix whose last union is DISTINCT), an outer ORDER
//! BY, a LIMIT. Every node runs the client's union on its own actual
//! tables: exact when each branch's rows come from that node alone (the
//! route checks that), and the node aggregates the branches' column types
//! as MariaDB does. A data source's unit wraps the union of its nodes'
//! copies in a derived table, which adds the merge's weights and order:
//!
//! ```text
//! SELECT [DISTINCT] UNION_DERIVED.*, WEIGHT_STRING(UNION_DERIVED.UNION_DERIVED_0) AS WEIGHT_DERIVED_0
//! FROM ((copy) UNION ALL (copy)) AS UNION_DERIVED ORDER BY 1 LIMIT m+n
//! ```
//!
//! The first branch's columns are aliased `UNION_DERIVED_n` (a derived
//! table needs distinct names); the client's column metadata comes from
//! the union itself with `LIMIT 0` on one node ([`UnionDerived::describe`]).
//! A DISTINCT union orders the streams by every column (the client's keys
//! first), so equal rows meet in the k-way merge.

use super::limit::Limit;
use super::{
    bare_query, check_query, check_select, limit_clause, number, order_by_expr, order_keys, refuse,
    union_all,
};
use crate::error::Error;
use crate::merge::{SelectMerge, SortKey, Weight};
use crate::sql::aggregates::{find, Found};
use crate::sql::params::Bindings;
use sqlparser::ast::{
    Distinct, Expr, GroupByExpr, Ident, LimitClause, OrderBy, OrderByKind, Query, Select,
    SelectItem, SetExpr, SetOperator, SetQuantifier, Statement, TableFactor, Value, ValueWithSpan,
};
use sqlparser::tokenizer::Span;
use std::sync::OnceLock;

/// The derived table's name and its columns' prefix.
const DERIVED: &str = "UNION_DERIVED";

/// What every node runs for a UNION, and how the units' rows merge.
#[derive(Debug, Clone)]
pub struct UnionDerived {
    /// The union every node runs, before its tables are renamed: the
    /// client's, the first branch's columns aliased, without the outer
    /// ORDER BY and LIMIT.
    pub query: Query,
    /// The client's union with `LIMIT 0`: on one node it gives the
    /// client's column metadata.
    pub describe: Query,
    /// How the units' rows merge.
    pub spec: SelectMerge,
    /// The unit's columns whose `WEIGHT_STRING` it also returns.
    weighted: Vec<usize>,
    /// ORDER BY of a data source's statement.
    order: Option<OrderBy>,
    /// LIMIT of a data source's statement.
    limit: Option<LimitClause>,
}

/// The units' query and merge of `query`, a UNION on several data nodes
/// that needs more than concatenation; what cannot be exact is refused.
pub fn derive_union(query: &Query, bindings: &Bindings<'_>) -> Result<UnionDerived, Error> {
    check_query(query)?;
    if !query.locks.is_empty() {
        return Err(refuse("FOR UPDATE of a UNION"));
    }
    let distinct = distinct_union(&query.body)?;
    let mut leaves = Vec::new();
    collect_leaves(&query.body, &mut leaves)?;
    for leaf in &leaves {
        check_leaf(leaf, distinct)?;
    }
    let first = leaves
        .first()
        .ok_or_else(|| Error::internal("a UNION without branches"))?;
    let names = column_names(first)?;
    let width = names.len();
    let mut keys: Vec<SortKey> = Vec::new();
    for (expr, descending) in order_keys(query)? {
        let column = order_column(&expr, &names)?;
        if !keys.iter().any(|k| k.column == column) {
            keys.push(SortKey { column, descending });
        }
    }
    if distinct {
        // Equal rows are equal in every key: ordered by all columns, they
        // come next to each other.
        for column in 0..width {
            if !keys.iter().any(|k| k.column == column) {
                keys.push(SortKey {
                    column,
                    descending: false,
                });
            }
        }
    }
    let weighted: Vec<usize> = keys.iter().map(|k| k.column).collect();
    let mut spec = SelectMerge::new(width);
    spec.distinct = distinct;
    spec.streams_sorted = !keys.is_empty();
    spec.weights = weighted
        .iter()
        .enumerate()
        .map(|(k, &column)| Weight {
            column,
            weight: width + k,
        })
        .collect();
    let limit = Limit::read(query.limit_clause.as_ref(), bindings)?;
    let unit_limit = match limit {
        Limit::None => None,
        Limit::Unbound => query.limit_clause.clone(),
        Limit::Known { offset, limit } => {
            spec.offset = offset;
            spec.limit = limit;
            Limit::Known { offset, limit }.unit_rows().map(limit_clause)
        }
    };
    let order = (!keys.is_empty()).then(|| OrderBy {
        kind: OrderByKind::Expressions(
            keys.iter()
                .map(|k| order_by_expr(number(k.column + 1), k.descending))
                .collect(),
        ),
        interpolate: None,
    });
    spec.order_by = keys;
    let mut unit = query.clone();
    unit.order_by = None;
    unit.limit_clause = None;
    alias_first_branch(&mut unit.body)?;
    let mut describe = query.clone();
    describe.limit_clause = Some(limit_clause(0));
    Ok(UnionDerived {
        query: unit,
        describe,
        spec,
        weighted,
        order,
        limit: unit_limit,
    })
}

/// One data source's statement from the union copies of its nodes.
pub fn combine_union(derived: &UnionDerived, mut copies: Vec<Query>) -> Result<Query, Error> {
    let with = copies.first_mut().and_then(|q| q.with.take());
    let inner = if copies.len() == 1 {
        copies.pop()
    } else {
        union_all(copies.into_iter().map(|mut copy| {
            copy.with = None;
            SetExpr::Query(Box::new(copy))
        }))
        .map(bare_query)
    };
    let inner = inner.ok_or_else(|| Error::internal("a data source without union copies"))?;
    let mut wrapper = wrapper_template()?.clone();
    wrapper.with = with;
    wrapper.order_by = derived.order.clone();
    wrapper.limit_clause = derived.limit.clone();
    let SetExpr::Select(select) = wrapper.body.as_mut() else {
        return Err(Error::internal("the union wrapper lost its SELECT"));
    };
    if derived.spec.distinct {
        select.distinct = Some(Distinct::Distinct);
    }
    for (k, column) in derived.weighted.iter().enumerate() {
        let weight =
            crate::sql::parse_expr(&format!("WEIGHT_STRING({DERIVED}.{DERIVED}_{column})"))
                .map_err(|e| Error::internal(format!("the union weight: {e}")))?;
        select.projection.push(SelectItem::ExprWithAlias {
            expr: weight,
            alias: Ident::new(format!("WEIGHT_DERIVED_{k}")),
        });
    }
    let from = select
        .from
        .first_mut()
        .ok_or_else(|| Error::internal("the union wrapper lost its FROM"))?;
    let TableFactor::Derived { subquery, .. } = &mut from.relation else {
        return Err(Error::internal("the union wrapper lost its derived table"));
    };
    **subquery = inner;
    Ok(wrapper)
}

/// `query` for every node but the first: a branch naming none of the
/// `sharded` tables (a broadcast table, constants) would repeat its rows
/// on every node, so it gets `LIMIT 0` there (and still types the union).
pub fn without_copied_rows(query: &Query, sharded: &[&str]) -> Query {
    let mut query = query.clone();
    limit_copied(&mut query.body, sharded);
    query
}

fn limit_copied(body: &mut SetExpr, sharded: &[&str]) {
    match body {
        SetExpr::SetOperation { left, right, .. } => {
            limit_copied(left, sharded);
            limit_copied(right, sharded);
        }
        SetExpr::Query(query) => limit_copied(&mut query.body, sharded),
        SetExpr::Select(select) if !names_any(select, sharded) => {
            let mut limited = bare_query(SetExpr::Select(select.clone()));
            limited.limit_clause = Some(limit_clause(0));
            *body = SetExpr::Query(Box::new(limited));
        }
        _ => {}
    }
}

/// Whether `select` names one of the `tables` anywhere.
fn names_any(select: &Select, tables: &[&str]) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_relations(select, |name| {
        let last = name.0.last().and_then(|part| part.as_ident());
        if last.is_some_and(|ident| tables.iter().any(|t| t.eq_ignore_ascii_case(&ident.value))) {
            found = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// `SELECT UNION_DERIVED.* FROM (SELECT 1) AS UNION_DERIVED`, parsed once.
fn wrapper_template() -> Result<&'static Query, Error> {
    static TEMPLATE: OnceLock<Option<Query>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let sql = format!("SELECT {DERIVED}.* FROM (SELECT 1) AS {DERIVED}");
            match crate::sql::parse(&sql).ok()?.pop()? {
                Statement::Query(query) => Some(*query),
                _ => None,
            }
        })
        .as_ref()
        .ok_or_else(|| Error::internal("the union wrapper does not parse"))
}

/// Whether the union removes duplicates. MySQL's rule: a DISTINCT union
/// dedups everything to its left, so the last one decides; a UNION ALL
/// after a DISTINCT one keeps duplicates of its right side only, which the
/// merge cannot tell apart and is refused.
fn distinct_union(body: &SetExpr) -> Result<bool, Error> {
    let SetExpr::SetOperation {
        op, set_quantifier, ..
    } = body
    else {
        return Err(Error::internal("a UNION that is no set operation"));
    };
    let last_distinct = quantifier_distinct(*op, *set_quantifier)?;
    if !last_distinct && has_distinct(body)? {
        return Err(refuse("UNION ALL after UNION DISTINCT"));
    }
    Ok(last_distinct)
}

/// Whether one UNION is DISTINCT; INTERSECT, EXCEPT and BY NAME are refused.
fn quantifier_distinct(op: SetOperator, quantifier: SetQuantifier) -> Result<bool, Error> {
    if op != SetOperator::Union {
        return Err(refuse(&format!("{op}").to_uppercase()));
    }
    match quantifier {
        SetQuantifier::None | SetQuantifier::Distinct => Ok(true),
        SetQuantifier::All => Ok(false),
        _ => Err(refuse("UNION BY NAME")),
    }
}

/// Whether any union in `body` is DISTINCT.
fn has_distinct(body: &SetExpr) -> Result<bool, Error> {
    match body {
        SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => Ok(quantifier_distinct(*op, *set_quantifier)?
            || has_distinct(left)?
            || has_distinct(right)?),
        SetExpr::Query(query) => has_distinct(&query.body),
        _ => Ok(false),
    }
}

/// The union's SELECTs, left to right. A parenthesized branch with its own
/// ORDER BY or LIMIT needs a merge of its own, which is refused.
fn collect_leaves<'q>(body: &'q SetExpr, out: &mut Vec<&'q Select>) -> Result<(), Error> {
    match body {
        SetExpr::Select(select) => {
            out.push(select);
            Ok(())
        }
        SetExpr::SetOperation { left, right, .. } => {
            collect_leaves(left, out)?;
            collect_leaves(right, out)
        }
        SetExpr::Query(query) => {
            if query.order_by.is_some() || query.limit_clause.is_some() || query.fetch.is_some() {
                return Err(refuse("ORDER BY or LIMIT inside a UNION branch"));
            }
            if query.with.is_some() || !query.locks.is_empty() {
                return Err(refuse("WITH or FOR UPDATE inside a UNION branch"));
            }
            collect_leaves(&query.body, out)
        }
        _ => Err(refuse("this UNION branch")),
    }
}

/// A branch whose per-node rows are not its rows (groups, aggregates,
/// DISTINCT under UNION ALL) is refused.
fn check_leaf(select: &Select, distinct_union: bool) -> Result<(), Error> {
    check_select(select)?;
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
    };
    if grouped {
        return Err(refuse("GROUP BY in a UNION branch"));
    }
    if select.having.is_some() {
        return Err(refuse("HAVING in a UNION branch"));
    }
    match &select.distinct {
        None | Some(Distinct::All) => {}
        // The union's own dedup covers the branch's.
        Some(Distinct::Distinct) if distinct_union => {}
        Some(_) => return Err(refuse("DISTINCT in a UNION ALL branch")),
    }
    for item in &select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            match find(e) {
                Some(Found::Aggregate(name)) => {
                    return Err(refuse(&format!(
                        "aggregate function {name} in a UNION branch"
                    )))
                }
                Some(Found::Window(name)) => {
                    return Err(refuse(&format!("window function {name} in a UNION branch")))
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// The first branch's column names as ORDER BY may name them: the alias,
/// else the column's own name; `None` for another expression.
fn column_names(select: &Select) -> Result<Vec<Option<String>>, Error> {
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Ok(Some(alias.value.clone())),
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) => Ok(Some(ident.value.clone())),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                Ok(parts.last().map(|p| p.value.clone()))
            }
            SelectItem::UnnamedExpr(_) => Ok(None),
            _ => Err(refuse("SELECT * in the first branch of a UNION")),
        })
        .collect()
}

/// The union column an outer ORDER BY key names: a position, or a name
/// of the first branch's columns.
fn order_column(expr: &Expr, names: &[Option<String>]) -> Result<usize, Error> {
    if let Expr::Value(ValueWithSpan {
        value: Value::Number(text, _),
        ..
    }) = expr
    {
        return match text.parse::<usize>() {
            Ok(p) if (1..=names.len()).contains(&p) => Ok(p - 1),
            _ => Err(refuse("ORDER BY of a UNION by this position")),
        };
    }
    if let Expr::Identifier(ident) = expr {
        let found = names.iter().position(|n| {
            n.as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&ident.value))
        });
        if let Some(column) = found {
            return Ok(column);
        }
    }
    Err(refuse("ORDER BY of a UNION by an expression"))
}

/// Aliases the first branch's columns `UNION_DERIVED_n`.
fn alias_first_branch(body: &mut SetExpr) -> Result<(), Error> {
    let select = first_select(body).ok_or_else(|| Error::internal("a UNION without a SELECT"))?;
    for (i, item) in select.projection.iter_mut().enumerate() {
        let expr = match std::mem::replace(item, SelectItem::UnnamedExpr(null())) {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
            _ => return Err(refuse("SELECT * in the first branch of a UNION")),
        };
        *item = SelectItem::ExprWithAlias {
            expr,
            alias: Ident::new(format!("{DERIVED}_{i}")),
        };
    }
    Ok(())
}

/// The leftmost SELECT of a set expression.
fn first_select(body: &mut SetExpr) -> Option<&mut Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::SetOperation { left, .. } => first_select(left),
        SetExpr::Query(query) => first_select(&mut query.body),
        _ => None,
    }
}

fn null() -> Expr {
    Expr::Value(ValueWithSpan {
        value: Value::Null,
        span: Span::empty(),
    })
}
