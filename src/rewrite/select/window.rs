//! A SELECT with window functions over several data nodes: every unit
//! returns the rows the window needs, sorted by its PARTITION BY keys then
//! its ORDER BY keys, and the merge computes the window values a partition
//! at a time (see `merge::window`).
//!
//! The window functions stay in the unit's select list: the node's own
//! value over its rows gives the column MySQL's type, and the merge
//! replaces it. Their arguments, LAG/LEAD defaults and the window's keys
//! become derived columns (`WINDOW_ARG_DERIVED_n`, `WINDOW_KEY_DERIVED_n`),
//! strings with their `WEIGHT_STRING()`.
//!
//! Every window function of the statement must use one partitioning (the
//! same PARTITION BY) and order by a prefix of the longest window ORDER
//! BY among them; the client's ORDER BY, if any, must be a
//! prefix of the merge order (the partition keys in either direction, then
//! the window's ORDER BY as written). Anything else would need the merged
//! result sorted again, and is refused.

use super::aggregate::{self, Found};
use super::columns::Columns;
use super::limit::Limit;
use super::{number, order_by_expr, order_keys, position, refuse, Derived};
use crate::error::Error;
use crate::merge::{
    Frame, SelectMerge, SortKey, Weight, WindowColumn, WindowFunction, WindowMerge,
};
use crate::sql::params::Bindings;
use sqlparser::ast::{
    Distinct, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    OrderBy, OrderByExpr, OrderByKind, OrderBySort, Query, Select, SelectItem, Value,
    ValueWithSpan, WindowFrameBound, WindowFrameUnits, WindowSpec, WindowType,
};

/// The partition cap planned; the server replaces it with its configured one.
pub const DEFAULT_MAX_PARTITION_ROWS: u64 = 100_000;

/// Whether a select-list item of `select` holds a window function.
pub fn has_window(select: &Select) -> bool {
    select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            matches!(aggregate::find(e), Some(Found::Window(_)))
        }
        _ => false,
    })
}

/// The units' query and merge of `query`, whose select list has window functions.
pub fn derive(query: &Query, select: &Select, bindings: &Bindings<'_>) -> Result<Derived, Error> {
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(exprs, modifiers) => !exprs.is_empty() || !modifiers.is_empty(),
    };
    if grouped || select.having.is_some() {
        return Err(refuse("window functions with GROUP BY or HAVING"));
    }
    if matches!(select.distinct, Some(Distinct::Distinct | Distinct::On(_))) {
        return Err(refuse("window functions with DISTINCT"));
    }
    let mut columns = Columns::new(&select.projection)?;
    if columns.has_wildcard() {
        return Err(refuse("SELECT * with window functions"));
    }
    let mut calls = Vec::new();
    for (column, expr) in columns.items() {
        match unnested(expr) {
            Expr::Function(f) if f.over.is_some() => calls.push((column, f.clone())),
            _ => match aggregate::find(expr) {
                Some(Found::Window(name)) => {
                    return Err(refuse(&format!(
                        "an expression over window function {name}"
                    )))
                }
                Some(Found::Aggregate(name)) => {
                    return Err(refuse(&format!(
                        "window functions with aggregate function {name}"
                    )))
                }
                None => {}
            },
        }
    }
    let outer = order_keys(query)?;
    for (expr, _) in &outer {
        if aggregate::find(expr).is_some() {
            return Err(refuse("ORDER BY a window or aggregate function"));
        }
    }
    for (_, function) in &calls {
        inner_calls(function)?;
    }
    let window = one_window(&calls)?;
    let mut spec = SelectMerge::new(columns.visible);
    // The merge order: the partition keys, then the window's ORDER BY.
    let partition_keys = window.partition_by.len();
    for expr in &window.partition_by {
        let column = key_column(&mut columns, &mut spec.weights, expr);
        spec.order_by.push(SortKey {
            column,
            descending: false,
        });
    }
    for key in &window.order_by {
        if key.options.nulls_first.is_some() || key.with_fill.is_some() {
            return Err(refuse("a window ORDER BY ... NULLS FIRST / LAST"));
        }
        let column = key_column(&mut columns, &mut spec.weights, &key.expr);
        spec.order_by.push(SortKey {
            column,
            descending: key.options.sort == Some(OrderBySort::Desc),
        });
    }
    follow_outer_order(&columns, &outer, partition_keys, &mut spec.order_by)?;
    let mut functions = Vec::with_capacity(calls.len());
    for (column, function) in &calls {
        functions.push(window_column(
            &mut columns,
            &mut spec.weights,
            *column,
            function,
        )?);
    }
    match Limit::read(query.limit_clause.as_ref(), bindings)? {
        Limit::None => {}
        Limit::Known { offset, limit } => {
            spec.offset = offset;
            spec.limit = limit;
        }
        // A `?` not yet bound (PREVIEW, a statement being prepared): the
        // plan only describes; it runs planned again with the value.
        Limit::Unbound => {}
    }
    spec.streams_sorted = true;
    spec.window = Some(WindowMerge {
        partition_keys,
        functions,
        max_partition_rows: DEFAULT_MAX_PARTITION_ROWS,
    });
    let keys: Vec<OrderByExpr> = spec
        .order_by
        .iter()
        .map(|k| order_by_expr(number(k.column + 1), k.descending))
        .collect();
    let order_by = OrderBy {
        kind: OrderByKind::Expressions(keys),
        interpolate: None,
    };
    // OVER (): one partition, in no order.
    let order_by = (!spec.order_by.is_empty()).then_some(order_by);
    let mut unit = query.clone();
    unit.order_by = order_by.clone();
    unit.limit_clause = None;
    let sqlparser::ast::SetExpr::Select(unit_select) = unit.body.as_mut() else {
        return Err(Error::internal("the unit query lost its SELECT"));
    };
    columns.apply(unit_select);
    Ok(Derived {
        query: unit,
        spec,
        outer_order: order_by,
        outer_limit: None,
    })
}

/// A window call's arguments and window may hold no aggregate (the units'
/// groups are not the client's) and no other window function.
fn inner_calls(function: &Function) -> Result<(), Error> {
    let mut exprs: Vec<&Expr> = Vec::new();
    if let FunctionArguments::List(list) = &function.args {
        for arg in &list.args {
            if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg {
                exprs.push(e);
            }
        }
    }
    if let Some(WindowType::WindowSpec(spec)) = &function.over {
        exprs.extend(&spec.partition_by);
        exprs.extend(spec.order_by.iter().map(|k| &k.expr));
    }
    match exprs.into_iter().find_map(aggregate::find) {
        Some(Found::Aggregate(name)) => Err(refuse(&format!(
            "window functions with aggregate function {name}"
        ))),
        Some(Found::Window(name)) => Err(refuse(&format!(
            "window function {name} inside a window function"
        ))),
        None => Ok(()),
    }
}

fn unnested(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => unnested(inner),
        e => e,
    }
}

/// The window the merge sorts by: every call's PARTITION BY is the same,
/// and its ORDER BY a prefix of the longest one, which this is.
fn one_window(calls: &[(usize, Function)]) -> Result<WindowSpec, Error> {
    let mut specs = Vec::with_capacity(calls.len());
    for (_, function) in calls {
        match &function.over {
            Some(WindowType::WindowSpec(spec)) if spec.window_name.is_none() => specs.push(spec),
            _ => return Err(refuse("a named WINDOW")),
        }
    }
    let longest = specs
        .iter()
        .max_by_key(|s| s.order_by.len())
        .ok_or_else(|| Error::internal("a window statement without a window function"))?;
    for spec in &specs {
        if order_prefix(spec, longest).is_none() {
            return Err(refuse(
                "window functions over different PARTITION BY or ORDER BY",
            ));
        }
    }
    let mut window = (*longest).clone();
    window.window_frame = None;
    Ok(window)
}

/// How many keys of `longest`'s ORDER BY `spec`'s names, when it has
/// `longest`'s PARTITION BY and its ORDER BY is a prefix of `longest`'s.
fn order_prefix(spec: &WindowSpec, longest: &WindowSpec) -> Option<usize> {
    let norm = |e: &Expr| super::columns::normalized(e);
    let desc = |k: &OrderByExpr| k.options.sort == Some(OrderBySort::Desc);
    let same_partition = spec.partition_by.len() == longest.partition_by.len()
        && spec
            .partition_by
            .iter()
            .zip(&longest.partition_by)
            .all(|(x, y)| norm(x) == norm(y));
    let prefix = spec.order_by.len() <= longest.order_by.len()
        && spec
            .order_by
            .iter()
            .zip(&longest.order_by)
            .all(|(x, y)| norm(&x.expr) == norm(&y.expr) && desc(x) == desc(y));
    (same_partition && prefix).then_some(spec.order_by.len())
}

/// The column a window key sorts on, with its weight when it may be a string.
fn key_column(columns: &mut Columns, weights: &mut Vec<Weight>, expr: &Expr) -> usize {
    let column = columns.find_or_derive(expr, "WINDOW_KEY_DERIVED");
    weigh(columns, weights, column, expr);
    column
}

fn weigh(columns: &mut Columns, weights: &mut Vec<Weight>, column: usize, expr: &Expr) {
    if weights.iter().any(|w| w.column == column) || !aggregate::may_be_string(expr) {
        return;
    }
    let weight = columns.derive(
        super::columns::call("WEIGHT_STRING", expr.clone()),
        "WEIGHT_DERIVED",
    );
    weights.push(Weight { column, weight });
}

/// The client's ORDER BY must be a prefix of the merge order; partition
/// keys take its direction (a partition's rows stay together either way).
fn follow_outer_order(
    columns: &Columns,
    outer: &[(Expr, bool)],
    partition_keys: usize,
    order: &mut [SortKey],
) -> Result<(), Error> {
    let mismatch = || {
        refuse("ORDER BY other than the window's PARTITION BY and ORDER BY with window functions")
    };
    if outer.len() > order.len() {
        return Err(mismatch());
    }
    for (i, (expr, descending)) in outer.iter().enumerate() {
        let column = match (position(expr), expr) {
            (Some(n), _) => columns.position(n, "order clause")?,
            (None, Expr::Identifier(ident)) => match columns.by_alias(&ident.value) {
                Some(Ok(column)) => Some(column),
                _ => columns.find(expr),
            },
            _ => columns.find(expr),
        };
        let key = &mut order[i];
        if column != Some(key.column) {
            return Err(mismatch());
        }
        if i < partition_keys {
            key.descending = *descending;
        } else if key.descending != *descending {
            return Err(mismatch());
        }
    }
    Ok(())
}

/// Reads one window call.
fn window_column(
    columns: &mut Columns,
    weights: &mut Vec<Weight>,
    column: usize,
    function: &Function,
) -> Result<WindowColumn, Error> {
    let name = aggregate::function_name(function);
    let unsupported = || refuse(&format!("window function {name} of these arguments"));
    let FunctionArguments::List(list) = &function.args else {
        return Err(unsupported());
    };
    if list.duplicate_treatment.is_some()
        || !list.clauses.is_empty()
        || function.filter.is_some()
        || function.null_treatment.is_some()
        || !function.within_group.is_empty()
    {
        return Err(unsupported());
    }
    let mut args = Vec::new();
    let mut star = false;
    for arg in &list.args {
        match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e.clone()),
            FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
            _ => return Err(unsupported()),
        }
    }
    let value = |i: usize, columns: &mut Columns| -> Result<usize, Error> {
        let expr = args.get(i).ok_or_else(unsupported)?;
        Ok(columns.find_or_derive(expr, "WINDOW_ARG_DERIVED"))
    };
    use WindowFunction as W;
    let ranking = |f: W| {
        if args.is_empty() && !star {
            Ok(f)
        } else {
            Err(unsupported())
        }
    };
    let parsed = match (name.as_str(), args.len(), star) {
        ("ROW_NUMBER", ..) => ranking(W::RowNumber)?,
        ("RANK", ..) => ranking(W::Rank)?,
        ("DENSE_RANK", ..) => ranking(W::DenseRank)?,
        ("PERCENT_RANK", ..) => ranking(W::PercentRank)?,
        ("CUME_DIST", ..) => ranking(W::CumeDist)?,
        ("NTILE", 1, false) => W::Ntile(literal(&args[0]).ok_or_else(unsupported)?),
        ("LAG" | "LEAD", 1..=3, false) => {
            let offset = match args.get(1) {
                Some(e) => literal(e).ok_or_else(unsupported)?,
                None => 1,
            };
            let v = value(0, columns)?;
            let default = args
                .get(2)
                .map(|e| columns.find_or_derive(e, "WINDOW_ARG_DERIVED"));
            if name == "LAG" {
                W::Lag {
                    value: v,
                    offset,
                    default,
                }
            } else {
                W::Lead {
                    value: v,
                    offset,
                    default,
                }
            }
        }
        ("FIRST_VALUE", 1, false) => W::FirstValue {
            value: value(0, columns)?,
        },
        ("LAST_VALUE", 1, false) => W::LastValue {
            value: value(0, columns)?,
        },
        ("SUM", 1, false) => W::Sum {
            value: value(0, columns)?,
        },
        ("AVG", 1, false) => W::Avg {
            value: value(0, columns)?,
        },
        ("COUNT", 0, true) => W::Count { value: None },
        ("COUNT", 1, false) => W::Count {
            value: Some(value(0, columns)?),
        },
        ("MIN" | "MAX", 1, false) => {
            let v = value(0, columns)?;
            weigh(columns, weights, v, &args[0]);
            if name == "MIN" {
                W::Min { value: v }
            } else {
                W::Max { value: v }
            }
        }
        (
            "NTILE" | "LAG" | "LEAD" | "FIRST_VALUE" | "LAST_VALUE" | "SUM" | "AVG" | "COUNT"
            | "MIN" | "MAX",
            ..,
        ) => return Err(unsupported()),
        _ => return Err(refuse(&format!("window function {name}"))),
    };
    let (frame, order_keys) = match &function.over {
        Some(WindowType::WindowSpec(spec)) => (frame(spec, &name)?, spec.order_by.len()),
        _ => (Frame::Default, 0),
    };
    Ok(WindowColumn {
        column,
        function: parsed,
        frame,
        order_keys,
    })
}

/// A non-negative integer literal.
fn literal(expr: &Expr) -> Option<u64> {
    match unnested(expr) {
        Expr::Value(ValueWithSpan {
            value: Value::Number(text, _),
            ..
        }) => text.parse().ok(),
        _ => None,
    }
}

/// The frames the merge computes: the default, and ROWS from n (or
/// UNBOUNDED) PRECEDING to the current row.
fn frame(spec: &WindowSpec, name: &str) -> Result<Frame, Error> {
    let Some(frame) = &spec.window_frame else {
        return Ok(Frame::Default);
    };
    let unsupported = || refuse(&format!("this window frame of {name}"));
    if !matches!(frame.end_bound, None | Some(WindowFrameBound::CurrentRow)) {
        return Err(unsupported());
    }
    match (&frame.units, &frame.start_bound) {
        (WindowFrameUnits::Range, WindowFrameBound::Preceding(None)) => Ok(Frame::Default),
        (WindowFrameUnits::Rows, WindowFrameBound::Preceding(None)) => {
            Ok(Frame::Rows { preceding: None })
        }
        (WindowFrameUnits::Rows, WindowFrameBound::Preceding(Some(n))) => Ok(Frame::Rows {
            preceding: Some(literal(n).ok_or_else(unsupported)?),
        }),
        (WindowFrameUnits::Rows, WindowFrameBound::CurrentRow) => {
            Ok(Frame::Rows { preceding: Some(0) })
        }
        _ => Err(unsupported()),
    }
}
