//! UPDATE and DELETE: by their WHERE to the data nodes it can reach (every
//! node without a usable condition, affected rows summed); a broadcast
//! table's rows change in every data source. A sharding column may not
//! change: the row would have to move to another data node. A sharding
//! value that does not convert exactly is refused (1366), as for INSERT.

use super::space::NodeSpace;
use super::{
    blocks, broadcast_units, check_unsharded, merge, non_empty, unit, with_context, RoutePlan,
    Target,
};
use crate::error::Error;
use crate::rules::{ColumnCondition, Conversion, RouteError, ShardingValue, ValueUse};
use crate::sql::conditions::Key;
use crate::sql::context::{convert, Env, StatementContext};
use crate::sql::tables::{ColumnName, RefKind, TableRef};
use sqlparser::ast::{
    Assignment, AssignmentTarget, Delete, Expr, FromTable, ObjectName, Statement, TableWithJoins,
    Update, UpdateTableFromKind,
};

/// The block of the statement itself.
const TOP: usize = 0;

/// An UPDATE.
pub(super) fn update<'r>(
    env: Env<'_, 'r>,
    statement: &Statement,
    update: &Update,
) -> Result<RoutePlan<'r>, Error> {
    let mut from = vec![&update.table];
    if let Some(UpdateTableFromKind::BeforeSet(more) | UpdateTableFromKind::AfterSet(more)) =
        &update.from
    {
        from.extend(more.iter());
    }
    let context = StatementContext::of_write(env, statement, &from, update.selection.as_ref())?;
    let targets: Vec<ColumnName<'_>> = update
        .assignments
        .iter()
        .flat_map(|a| assigned(a).iter().filter_map(ColumnName::of_name))
        .collect();
    let plan = route_write(env, &context, &targets, update.limit.as_ref(), "UPDATE")?;
    for assignment in &update.assignments {
        check_assignment(env, &context, assignment)?;
    }
    Ok(plan)
}

/// A DELETE.
pub(super) fn delete<'r>(
    env: Env<'_, 'r>,
    statement: &Statement,
    delete: &Delete,
) -> Result<RoutePlan<'r>, Error> {
    let mut from: Vec<&TableWithJoins> = match &delete.from {
        FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables) => {
            tables.iter().collect()
        }
    };
    if let Some(using) = &delete.using {
        from.extend(using.iter());
    }
    let context = StatementContext::of_write(env, statement, &from, delete.selection.as_ref())?;
    // `DELETE o FROM ...` deletes from the tables named (or `o.*`).
    let targets: Vec<ColumnName<'_>> = delete
        .tables
        .iter()
        .filter_map(|name| {
            Some(ColumnName {
                qualifier: Some(&name.0.last()?.as_ident()?.value),
                column: "",
            })
        })
        .collect();
    route_write(env, &context, &targets, delete.limit.as_ref(), "DELETE")
}

/// The columns an assignment sets.
fn assigned(assignment: &Assignment) -> &[ObjectName] {
    match &assignment.target {
        AssignmentTarget::ColumnName(name) => std::slice::from_ref(name),
        AssignmentTarget::Tuple(names) => names,
    }
}

/// Routes an UPDATE / DELETE whose changed tables are given by `targets`
/// (qualified columns, or table names as qualifiers).
fn route_write<'r>(
    env: Env<'_, 'r>,
    context: &StatementContext<'r>,
    targets: &[ColumnName<'_>],
    limit: Option<&Expr>,
    verb: &str,
) -> Result<RoutePlan<'r>, Error> {
    let space = NodeSpace::of(env.schema, &context.refs)?;
    check_unsharded(&context.refs, space.is_some())?;
    // The tables the statement changes: named by qualifier, else every
    // table of a single-table statement (or, conservatively, of a join).
    let changed: Vec<&TableRef<'r>> = context
        .refs
        .iter()
        .filter(|r| r.block == TOP)
        .filter(|r| {
            targets.is_empty()
                || targets.iter().any(|t| match &t.qualifier {
                    Some(q) => r.is_named(q),
                    None => true,
                })
        })
        .collect();
    let Some(space) = space else {
        let copy = changed
            .iter()
            .find(|r| matches!(r.kind, RefKind::Broadcast));
        let Some(copy) = copy else {
            // An unsharded table's write that only reads broadcast tables.
            let source = env.schema.default_data_source.as_str();
            let units = vec![unit(Target::DataSource(source))];
            return Ok(RoutePlan::new(None, units, merge::write(1, false)));
        };
        let unsharded = context
            .refs
            .iter()
            .find(|r| matches!(r.kind, RefKind::Unsharded));
        if let Some(other) = unsharded {
            return Err(Error::not_supported(format!(
                "{verb} of broadcast table '{}' in a statement with unsharded table '{}'",
                copy.table, other.table
            )));
        }
        let units = broadcast_units(env.schema);
        let merge = merge::write(units.len(), true);
        return Ok(RoutePlan::new(None, units, merge));
    };
    if let Some(copy) = changed.iter().find(|r| r.rule().is_none()) {
        return Err(Error::not_supported(format!(
            "{verb} of {} '{}' in a statement on sharded tables (qualify the changed columns with a sharded table)",
            match copy.kind {
                RefKind::Broadcast => "broadcast table",
                _ => "table",
            },
            copy.table
        )));
    }
    if let Some((TOP, key, value)) = &context.inexact {
        return Err(RouteError::Inexact {
            column: context.column(*key).unwrap_or_default().to_string(),
            value: value.clone(),
        }
        .into());
    }
    let nodes = non_empty(blocks::nodes(context, &space)?);
    if nodes.len() > 1 && limit.is_some() {
        return Err(Error::not_supported(format!(
            "{verb} ... LIMIT across data nodes"
        )));
    }
    let merge = merge::write(nodes.len(), false);
    Ok(with_context(space, &nodes, merge, context))
}

/// An assignment to a sharding column must set the value the WHERE pins.
fn check_assignment(
    env: Env<'_, '_>,
    context: &StatementContext<'_>,
    assignment: &Assignment,
) -> Result<(), Error> {
    for name in assigned(assignment).iter().filter_map(ColumnName::of_name) {
        for key in context.keys_of(TOP, &name, false) {
            let pinned = pinned(context, key);
            let value = convert(env, &context.refs, key, &assignment.value, ValueUse::Insert);
            let same = match (pinned, value) {
                (Some(pinned), Some(Conversion::Exact(value))) => pinned == value,
                _ => false,
            };
            if !same {
                let table = &context.refs[key.0].table;
                return Err(Error::not_supported(format!(
                    "UPDATE of sharding column '{}' of table '{table}' (the row would move to another data node)",
                    context.column(key).unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// The one value the top block's conditions pin `key` to, if they do.
fn pinned(context: &StatementContext<'_>, key: Key) -> Option<ShardingValue> {
    let mut out: Option<ShardingValue> = None;
    for conjunction in &context.blocks.get(TOP)?.conditions.any_of {
        let found = conjunction.iter().find(|(k, _)| *k == key)?;
        let ColumnCondition::Values(values) = &found.1 else {
            return None;
        };
        let [value] = values.as_slice() else {
            return None;
        };
        match &out {
            Some(existing) if existing != value => return None,
            _ => out = Some(value.clone()),
        }
    }
    out
}
