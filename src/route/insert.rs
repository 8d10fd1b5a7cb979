//! INSERT (and REPLACE): each row goes to the one data node its sharding
//! values place it on; a multi-row INSERT is split by node. A key column the
//! INSERT omits gets a generated value first (it may be a sharding column).
//! A broadcast table's rows go to every data source.

use super::space::NodeSpace;
use super::{broadcast_units, merge, unit, RoutePlan, RouteUnit, Target};
use crate::error::{Error, Origin};
use crate::keygen::{GeneratedKey, KeyGenerator, KeyGeneratorKind, KeyRequest};
use crate::rules::{ColumnCondition, ColumnKind, KeyGeneratorRule, RouteError, ShardingValue};
use crate::rules::{SqlValue, TableRule};
use crate::rules::{ValueDomain, ValueUse};
use crate::sql::context::{Env, StatementContext};
use crate::sql::literal::{operand, Operand};
use crate::sql::tables::{resolve, ColumnName, RefKind};
use crate::sql::Literal;
use sqlparser::ast::{
    AssignmentTarget, Expr, Insert, OnInsert, SetExpr, Statement, TableObject, Visit, Visitor,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// Routes an INSERT (`statement` is the INSERT itself); `bulk`: its rows
/// as literals, when its VALUES hold only the first ([`crate::sql::Bulk`]).
pub(super) fn route<'r>(
    env: Env<'_, 'r>,
    keys: Keys<'_>,
    statement: &Statement,
    insert: &Insert,
    bulk: Option<&[Vec<Literal<'_>>]>,
) -> Result<RoutePlan<'r>, Error> {
    let TableObject::TableName(name) = &insert.table else {
        return Err(Error::not_supported("INSERT INTO TABLE FUNCTION"));
    };
    let (table, kind) = resolve(env.schema, name, &[])?;
    let reads = reads_query(insert);
    let rule = match kind {
        RefKind::Sharded(rule) => match reads {
            Some(construct) => {
                return Err(Error::not_supported(format!("{construct} table '{table}'")))
            }
            None => rule,
        },
        RefKind::Broadcast | RefKind::Unsharded | RefKind::Derived => {
            if reads.is_some() {
                check_copy_source(env, statement, &table, kind)?;
            }
            if matches!(kind, RefKind::Broadcast) {
                let units = broadcast_units(env.schema);
                let merge = merge::write(units.len(), true);
                return Ok(RoutePlan::new(None, units, merge));
            }
            let source = env.schema.default_data_source.as_str();
            let units = vec![unit(Target::DataSource(source))];
            return Ok(RoutePlan::new(None, units, merge::write(1, false)));
        }
    };
    let rows = rows(insert, &table, bulk)?;
    check_on_duplicate(insert, rule)?;
    let columns = &rows.columns;
    let generate = rule
        .key_generator
        .as_ref()
        .filter(|kg| !columns.contains(&kg.column));
    let mut generated = Vec::new();
    if let Some(kg) = generate {
        generated = generate_keys(env, keys, kg, &table, rows.values.len())?;
    }
    let mut by_node: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    // One buffer for every row's sharding values.
    let mut values: Vec<(&str, Option<ShardingValue>)> = Vec::new();
    for (r, row) in rows.values.iter().enumerate() {
        if row.len() != columns.len() {
            return Err(Error::new(
                1136,
                "21S01",
                format!("Column count doesn't match value count at row {}", r + 1),
                Origin::Client,
            ));
        }
        values.clear();
        for column in rule.sharding_columns() {
            let value = match columns.iter().position(|c| c == column) {
                Some(i) => row_value(env, rule, &table, column, &row.get(i))?,
                None => match (generate, generated.get(r)) {
                    (Some(kg), Some(key)) if kg.column == *column => match key {
                        Some(key) => generated_value(env, rule, &table, column, key)?,
                        None => None,
                    },
                    _ => {
                        return Err(RouteError::MissingValue {
                            table: rule.logical_name.clone(),
                            column: column.clone(),
                        }
                        .into())
                    }
                },
            };
            values.push((column, value));
        }
        match exact_node(rule, &values)? {
            Some(node) => by_node.entry(node).or_default().push(r),
            None => {
                for node in nodes_allowed(rule, &values) {
                    by_node.entry(node).or_default().push(r);
                }
            }
        }
    }
    let units: Vec<RouteUnit<'r>> = by_node
        .into_iter()
        .map(|(node, rows)| RouteUnit {
            target: Target::Node(node),
            rows,
        })
        .collect();
    let merge = merge::write(units.len(), false);
    let mut plan = RoutePlan::new(Some(NodeSpace::single(rule)), units, merge);
    plan.unaliased = vec![table];
    plan.generated = generate.map(|kg| super::GeneratedColumn {
        column: kg.column.clone(),
        values: generated,
    });
    Ok(plan)
}

/// The key generator and how the table stores its keys.
#[derive(Clone, Copy)]
pub(super) struct Keys<'a> {
    /// The proxy's generators; `None`: keys are shown as `?`.
    pub generator: Option<&'a KeyGenerator>,
    /// Whether a logical table's (lower-case) generated key column is binary.
    pub binary: &'a dyn Fn(&str) -> bool,
}

/// One key per row, generated in one go (one lock for a segment's ids).
fn generate_keys(
    env: Env<'_, '_>,
    keys: Keys<'_>,
    kg: &KeyGeneratorRule,
    table: &str,
    rows: usize,
) -> Result<Vec<Option<GeneratedKey>>, Error> {
    if let Some(generator) = keys.generator {
        let request = KeyRequest {
            kind: kg.kind,
            sequence: kg.segment.as_ref().map(|s| s.sequence.as_str()),
            binary: kg.kind == KeyGeneratorKind::Uuid && (keys.binary)(table),
        };
        let mut out = Vec::with_capacity(rows);
        if generator.generate_many(&request, rows, &mut out)? {
            return Ok(out.into_iter().map(Some).collect());
        }
    }
    // Shown as `?` (PREVIEW); a bound statement needs real keys.
    if env.bindings.is_bound() {
        return Err(Error::internal(format!(
            "no key generator to fill column '{}' of table '{table}'",
            kg.column
        )));
    }
    Ok(vec![None; rows])
}

/// An INSERT into a broadcast or unsharded table may read only tables it
/// finds beside its target: broadcast tables, and unsharded ones when the
/// target is unsharded too.
fn check_copy_source(
    env: Env<'_, '_>,
    statement: &Statement,
    table: &str,
    kind: RefKind<'_>,
) -> Result<(), Error> {
    let context = StatementContext::of_write(env, statement, &[], None)?;
    if let Some(sharded) = context.refs.iter().find_map(|r| r.rule()) {
        return Err(Error::not_supported(format!(
            "INSERT into table '{table}' that reads sharded table '{}'",
            sharded.logical_name
        )));
    }
    let unsharded = context
        .refs
        .iter()
        .find(|r| matches!(r.kind, RefKind::Unsharded));
    match (kind, unsharded) {
        (RefKind::Broadcast, Some(other)) => Err(Error::not_supported(format!(
            "INSERT into broadcast table '{table}' that reads unsharded table '{}'",
            other.table
        ))),
        _ => Ok(()),
    }
}

/// The column list (lower-cased) and the rows' value expressions.
struct Rows<'s> {
    columns: Vec<String>,
    values: Vec<Row<'s>>,
}

/// One row's values: a VALUES row borrowed as it is, a bulk row's
/// literals, or `SET`'s values.
enum Row<'s> {
    Values(&'s [Expr]),
    Literals(&'s [Literal<'s>]),
    Set(Vec<&'s Expr>),
}

impl Row<'_> {
    fn len(&self) -> usize {
        match self {
            Row::Values(values) => values.len(),
            Row::Literals(values) => values.len(),
            Row::Set(values) => values.len(),
        }
    }

    /// The `i`-th value; `i` is below `len()`.
    fn get(&self, i: usize) -> Cow<'_, Expr> {
        match self {
            Row::Values(values) => Cow::Borrowed(&values[i]),
            Row::Literals(values) => Cow::Owned(values[i].to_expr()),
            Row::Set(values) => Cow::Borrowed(values[i]),
        }
    }
}

/// The rows of `VALUES (...), (...)` (or of `bulk`) or the one row of
/// `SET a = 1, ...`.
fn rows<'s>(
    insert: &'s Insert,
    table: &str,
    bulk: Option<&'s [Vec<Literal<'s>>]>,
) -> Result<Rows<'s>, Error> {
    if !insert.assignments.is_empty() {
        let mut columns = Vec::new();
        let mut row = Vec::new();
        for assignment in &insert.assignments {
            let AssignmentTarget::ColumnName(name) = &assignment.target else {
                return Err(Error::not_supported("INSERT ... SET with a tuple"));
            };
            let column = ColumnName::of_name(name)
                .map(|c| c.column.to_ascii_lowercase())
                .unwrap_or_default();
            columns.push(column);
            row.push(&assignment.value);
        }
        return Ok(Rows {
            columns,
            values: vec![Row::Set(row)],
        });
    }
    let Some(SetExpr::Values(values)) = insert.source.as_ref().map(|q| q.body.as_ref()) else {
        return Err(Error::not_supported(format!(
            "INSERT ... SELECT into table '{table}'"
        )));
    };
    if insert.columns.is_empty() {
        return Err(Error::not_supported(format!(
            "INSERT without a column list into table '{table}'"
        )));
    }
    let columns = insert
        .columns
        .iter()
        .map(|name| {
            ColumnName::of_name(name)
                .map(|c| c.column.to_ascii_lowercase())
                .unwrap_or_default()
        })
        .collect();
    let values = match bulk {
        Some(rows) => rows.iter().map(|row| Row::Literals(row)).collect(),
        None => values
            .rows
            .iter()
            .map(|row| Row::Values(row.content.as_slice()))
            .collect(),
    };
    Ok(Rows { columns, values })
}

/// `ON DUPLICATE KEY UPDATE` may not change a sharding column.
fn check_on_duplicate(insert: &Insert, rule: &TableRule) -> Result<(), Error> {
    let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &insert.on else {
        return Ok(());
    };
    for assignment in assignments {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            continue;
        };
        let Some(column) = ColumnName::of_name(name) else {
            continue;
        };
        let unchanged = ColumnName::of(&assignment.value)
            .is_some_and(|v| v.column.eq_ignore_ascii_case(column.column));
        if rule.is_sharding_column(column.column) && !unchanged {
            return Err(Error::not_supported(format!(
                "ON DUPLICATE KEY UPDATE of sharding column '{}' of table '{}'",
                column.column, rule.logical_name
            )));
        }
    }
    Ok(())
}

/// A row's value for a sharding column; `None` for an unbound `?`.
fn row_value(
    env: Env<'_, '_>,
    rule: &TableRule,
    table: &str,
    column: &str,
    expr: &Expr,
) -> Result<Option<ShardingValue>, Error> {
    let kind = (env.column_kind)(table, column);
    let integer = kind == ColumnKind::Integer
        || (kind == ColumnKind::Unknown && rule.domain(column) == Some(ValueDomain::Integer));
    match operand(expr, env.bindings, integer) {
        Operand::Value(value) => {
            let conversion = rule.convert(column, &value, kind, ValueUse::Insert);
            Ok(Some(conversion.for_write(column, &value)?))
        }
        Operand::Unbound => Ok(None),
        Operand::Expression => Err(Error::not_supported(format!(
            "the expression {expr} as the value of sharding column '{column}' in an INSERT"
        ))),
    }
}

/// A generated key as a sharding value.
fn generated_value(
    env: Env<'_, '_>,
    rule: &TableRule,
    table: &str,
    column: &str,
    key: &GeneratedKey,
) -> Result<Option<ShardingValue>, Error> {
    let value = match key {
        GeneratedKey::Int(i) => SqlValue::Int(*i),
        GeneratedKey::Text(text) => SqlValue::Str(text.as_bytes().to_vec()),
        GeneratedKey::Bytes(bytes) => SqlValue::Str(bytes.to_vec()),
    };
    let kind = (env.column_kind)(table, column);
    let conversion = rule.convert(column, &value, kind, ValueUse::Insert);
    Ok(Some(conversion.for_write(column, &value)?))
}

/// The one node a row goes to when every sharding value is known.
fn exact_node(
    rule: &TableRule,
    values: &[(&str, Option<ShardingValue>)],
) -> Result<Option<usize>, Error> {
    if values.iter().any(|(_, v)| v.is_none()) {
        return Ok(None);
    }
    Ok(Some(rule.route_exact(|column| known(values, column))?))
}

/// With an unbound `?` (PREVIEW): every node the known values allow.
fn nodes_allowed(rule: &TableRule, values: &[(&str, Option<ShardingValue>)]) -> Vec<usize> {
    rule.route(|column| match known(values, column) {
        Some(value) => ColumnCondition::value(value.clone()),
        None => ColumnCondition::Any,
    })
}

/// The row's value for sharding column `column`, when known.
fn known<'v>(
    values: &'v [(&str, Option<ShardingValue>)],
    column: &str,
) -> Option<&'v ShardingValue> {
    values
        .iter()
        .find(|(c, _)| *c == column)
        .and_then(|(_, v)| v.as_ref())
}

/// What makes an INSERT read a query: `INSERT ... SELECT`, or a subquery
/// among its values.
fn reads_query(insert: &Insert) -> Option<&'static str> {
    struct Finder(bool);
    impl Visitor for Finder {
        type Break = ();
        fn pre_visit_query(&mut self, _query: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.0 = true;
            ControlFlow::Break(())
        }
    }
    let mut finder = Finder(false);
    if let Some(source) = &insert.source {
        let SetExpr::Values(values) = source.body.as_ref() else {
            return Some("INSERT ... SELECT into");
        };
        // Literal values hold no subquery: visit only the other expressions.
        let literal = |e: &Expr| match e {
            Expr::Value(_) => true,
            Expr::UnaryOp { expr, .. } => matches!(expr.as_ref(), Expr::Value(_)),
            _ => false,
        };
        for expr in values.rows.iter().flat_map(|row| row.content.iter()) {
            if !literal(expr) {
                let _ = expr.visit(&mut finder);
            }
        }
    }
    for assignment in &insert.assignments {
        let _ = assignment.value.visit(&mut finder);
    }
    if let Some(on) = &insert.on {
        let _ = on.visit(&mut finder);
    }
    finder.0.then_some("a subquery in an INSERT into")
}
