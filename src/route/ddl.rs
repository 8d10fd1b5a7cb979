//! DDL: CREATE / ALTER / DROP / TRUNCATE TABLE and CREATE / DROP INDEX run
//! on every actual table of a sharded table, and on every data source for a
//! broadcast table. `DESCRIBE t` reads the first data node's definition.
//! Every other statement that names a sharded table is refused.

use super::space::NodeSpace;
use super::{broadcast_units, merge, unit, RoutePlan, Target};
use crate::error::Error;
use crate::rules::{SchemaRules, TableRule};
use crate::sql::tables::{resolve, RefKind};
use sqlparser::ast::{AlterTableOperation, CreateTableLikeKind, ObjectName, ObjectType, Statement};

/// Routes a statement other than SELECT / INSERT / UPDATE / DELETE.
pub(super) fn route<'r>(
    schema: &'r SchemaRules,
    statement: &Statement,
) -> Result<RoutePlan<'r>, Error> {
    if let Statement::ExplainTable { table_name, .. } = statement {
        return describe(schema, table_name);
    }
    let names = tables(statement)?;
    let mut sharded: Vec<&'r TableRule> = Vec::new();
    let (mut broadcast, mut other) = (Vec::new(), Vec::new());
    for name in names {
        let (table, kind) = resolve(schema, name, &[])?;
        match kind {
            RefKind::Sharded(rule) => sharded.push(rule),
            RefKind::Broadcast => broadcast.push(table),
            RefKind::Unsharded | RefKind::Derived => other.push(table),
        }
    }
    if let Some(first) = sharded.first() {
        if let Some(mixed) = broadcast.first().or(other.first()) {
            return Err(Error::not_supported(format!(
                "DDL on sharded table '{}' and table '{mixed}' in one statement",
                first.logical_name
            )));
        }
        for rule in &sharded[1..] {
            let same = std::ptr::eq(*rule, *first);
            if !same && !schema.are_bound(&first.logical_name, &rule.logical_name) {
                return Err(Error::not_supported(format!(
                    "DDL on sharded tables '{}' and '{}' that are not in one binding group, in one statement",
                    first.logical_name, rule.logical_name
                )));
            }
        }
        sharded.dedup_by(|a, b| std::ptr::eq(*a, *b));
        let space = NodeSpace {
            tables: sharded.clone(),
        };
        let units: Vec<_> = (0..space.len()).map(|i| unit(Target::Node(i))).collect();
        let merge = merge::write(units.len(), false);
        let mut plan = RoutePlan::new(Some(space), units, merge);
        plan.unaliased = sharded
            .iter()
            .map(|r| r.logical_name.to_ascii_lowercase())
            .collect();
        return Ok(plan);
    }
    if let Some(first) = broadcast.first() {
        if let Some(mixed) = other.first() {
            return Err(Error::not_supported(format!(
                "DDL on broadcast table '{first}' and unsharded table '{mixed}' in one statement"
            )));
        }
        let units = broadcast_units(schema);
        let merge = merge::write(units.len(), true);
        return Ok(RoutePlan::new(None, units, merge));
    }
    let units = vec![unit(Target::DataSource(&schema.default_data_source))];
    Ok(RoutePlan::new(None, units, merge::write(1, false)))
}

/// `DESCRIBE t`: the first data node (all have the same definition), or
/// one copy of a broadcast table.
fn describe<'r>(schema: &'r SchemaRules, name: &ObjectName) -> Result<RoutePlan<'r>, Error> {
    let (table, kind) = resolve(schema, name, &[])?;
    match kind {
        RefKind::Sharded(rule) => {
            let mut plan = RoutePlan::new(
                Some(NodeSpace::single(rule)),
                vec![unit(Target::Node(0))],
                merge::write(1, false),
            );
            plan.unaliased = vec![table];
            Ok(plan)
        }
        _ => {
            let source = super::read_source(schema);
            let units = vec![unit(Target::DataSource(source))];
            Ok(RoutePlan::new(None, units, merge::write(1, false)))
        }
    }
}

/// The tables a DDL statement changes.
fn tables(statement: &Statement) -> Result<Vec<&ObjectName>, Error> {
    Ok(match statement {
        Statement::CreateTable(create) => {
            if create.query.is_some() {
                return Err(Error::not_supported(
                    "CREATE TABLE ... SELECT on sharded or broadcast tables",
                ));
            }
            let mut names = vec![&create.name];
            if let Some(
                CreateTableLikeKind::Plain(like) | CreateTableLikeKind::Parenthesized(like),
            ) = &create.like
            {
                names.push(&like.name);
            }
            names
        }
        Statement::AlterTable(alter) => {
            let renames = alter
                .operations
                .iter()
                .any(|op| matches!(op, AlterTableOperation::RenameTable { .. }));
            if renames {
                return Err(Error::not_supported(format!(
                    "renaming table {} (its name is in the rule file)",
                    alter.name
                )));
            }
            vec![&alter.name]
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => names.iter().collect(),
        Statement::Drop {
            object_type: ObjectType::Index,
            table: Some(table),
            ..
        } => vec![table],
        Statement::Truncate(truncate) => truncate.table_names.iter().map(|t| &t.name).collect(),
        Statement::CreateIndex(create) => vec![&create.table_name],
        other => {
            return Err(Error::not_supported(format!(
                "{} on sharded or broadcast tables",
                statement_label(other)
            )))
        }
    })
}

/// The first words of a statement, to name it in an error.
fn statement_label(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    words.join(" ").to_ascii_uppercase()
}
