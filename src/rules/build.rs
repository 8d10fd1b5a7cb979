//! Rule file → [`SchemaRules`], checking everything config.md asks of a
//! schema and its tables. Each problem names its key path, what is wrong and
//! what would be right; building goes on past a problem to find the rest.

use super::algorithm::{self, AlgorithmDefinition};
use super::inline;
use super::table::{DataNode, Placement, ShardingLevel, Strategy, TableRule};
use super::value::ValueDomain;
use super::{binding, is_identifier, is_table_name, SchemaRules};
use crate::config::file::{
    DataSourceConfig, NodesConfig, SchemaConfig, StrategyConfig, TableConfig,
};
use crate::keygen::KeyGeneratorKind;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod key;

/// What a table's checks need to know about its schema.
struct SchemaContext<'a> {
    /// `schemas.NAME`.
    path: String,
    /// Every data source of the file.
    data_sources: &'a BTreeMap<String, DataSourceConfig>,
    /// The schema's algorithms; `None` for a definition that has problems
    /// (already reported, so its users are not reported again).
    algorithms: BTreeMap<String, Option<Arc<dyn AlgorithmDefinition>>>,
}

/// Builds and checks one schema.
pub(super) fn schema(
    name: &str,
    config: &SchemaConfig,
    data_sources: &BTreeMap<String, DataSourceConfig>,
    problems: &mut Vec<String>,
) -> SchemaRules {
    let path = format!("schemas.{name}");
    if !is_identifier(name) {
        problems.push(format!(
            "{path}: schema name `{name}` must match [A-Za-z0-9_]+"
        ));
    }
    if !data_sources.contains_key(&config.default_data_source) {
        problems.push(format!(
            "{path}.default_data_source: unknown data source `{}`; known: {}",
            config.default_data_source,
            known(data_sources.keys())
        ));
    }
    let algorithms = config
        .algorithms
        .iter()
        .map(|(algorithm_name, entry)| {
            let entry_path = format!("{path}.algorithms.{algorithm_name}");
            let definition = algorithm::define(
                entry.kind.as_deref(),
                &entry.properties,
                &entry_path,
                problems,
            );
            (algorithm_name.clone(), definition)
        })
        .collect();
    let context = SchemaContext {
        path,
        data_sources,
        algorithms,
    };
    let mut tables: BTreeMap<String, TableRule> = BTreeMap::new();
    for (table_name, table_config) in &config.tables {
        let lower = table_name.to_ascii_lowercase();
        if let Some(other) = tables.get(&lower) {
            problems.push(format!(
                "{}.tables.{table_name}: same name as `{}` (table names are case-insensitive); keep one",
                context.path, other.logical_name
            ));
        } else if let Some(rule) = table(&context, table_name, table_config, problems) {
            tables.insert(lower, rule);
        }
    }
    let broadcast_tables = broadcast(&context.path, config, problems);
    let declared: Vec<&String> = config.tables.keys().collect();
    let binding_groups = binding::groups(
        &context.path,
        &config.binding_groups,
        &declared,
        &mut tables,
        problems,
    );
    let mut schema_sources = vec![config.default_data_source.clone()];
    for rule in tables.values() {
        for ds in &rule.data_sources {
            if !schema_sources.contains(ds) {
                schema_sources.push(ds.clone());
            }
        }
    }
    SchemaRules::new(
        name.to_string(),
        config.default_data_source.clone(),
        schema_sources,
        tables,
        broadcast_tables,
        binding_groups,
    )
}

/// Checks `broadcast_tables`: valid, distinct, and not also sharded.
fn broadcast(path: &str, config: &SchemaConfig, problems: &mut Vec<String>) -> BTreeSet<String> {
    let sharded: BTreeMap<String, &String> = config
        .tables
        .keys()
        .map(|t| (t.to_ascii_lowercase(), t))
        .collect();
    let mut out = BTreeSet::new();
    for (i, table) in config.broadcast_tables.iter().enumerate() {
        let lower = table.to_ascii_lowercase();
        if !is_table_name(table) {
            problems.push(format!(
                "{path}.broadcast_tables[{i}]: table name `{table}` must match [A-Za-z0-9_$]+"
            ));
        } else if let Some(name) = sharded.get(&lower) {
            problems.push(format!(
                "{path}.broadcast_tables[{i}]: `{table}` is also a sharded table ({path}.tables.{name}); a table is either broadcast or sharded"
            ));
        } else if !out.insert(lower) {
            problems.push(format!(
                "{path}.broadcast_tables[{i}]: `{table}` is listed twice"
            ));
        }
    }
    out
}

/// Builds and checks one sharded table; `None` when it has problems.
fn table(
    context: &SchemaContext<'_>,
    name: &str,
    config: &TableConfig,
    problems: &mut Vec<String>,
) -> Option<TableRule> {
    let path = format!("{}.tables.{name}", context.path);
    let before = problems.len();
    if !is_table_name(name) {
        problems.push(format!(
            "{path}: table name `{name}` must match [A-Za-z0-9_$]+"
        ));
    }
    let nodes = nodes(&path, &config.nodes, context.data_sources, problems);
    let schema_name = context
        .path
        .strip_prefix("schemas.")
        .unwrap_or(&context.path);
    let key_generator = config.key_generator.as_ref().and_then(|k| {
        key::key_generator(&path, schema_name, name, k, context.data_sources, problems)
    });
    let levels = match (
        &config.sharding,
        &config.database_sharding,
        &config.table_sharding,
    ) {
        (Some(single), None, None) => {
            level(context, &path, "sharding", single, problems).map(|s| (s, None))
        }
        (None, Some(database), table) => {
            let database = level(context, &path, "database_sharding", database, problems);
            let table = table
                .as_ref()
                .map(|t| level(context, &path, "table_sharding", t, problems));
            match (database, table) {
                (Some(database), None) => Some((database, None)),
                (Some(database), Some(Some(table))) => Some((database, Some(table))),
                _ => None,
            }
        }
        (Some(_), Some(_), _) => {
            problems.push(format!(
                "{path}: give exactly one of `sharding` (one level over all nodes) or `database_sharding` (+ optional `table_sharding`), not both"
            ));
            None
        }
        (Some(_), None, Some(_)) => {
            problems.push(format!(
                "{path}.table_sharding: only goes with `database_sharding`; with one-level `sharding` remove it, or replace `sharding` with `database_sharding`"
            ));
            None
        }
        (None, None, Some(_)) => {
            problems.push(format!(
                "{path}.table_sharding: needs `database_sharding` to pick the data source first; add it, or use one-level `sharding` instead"
            ));
            None
        }
        (None, None, None) => {
            problems.push(format!(
                "{path}: no `sharding` or `database_sharding`; give one (or list the table in broadcast_tables, or leave it out to keep it unsharded)"
            ));
            None
        }
    };
    let (nodes, ((first, first_def), second)) = (nodes?, levels?);
    let (data_sources, nodes_by_data_source) = group_by_data_source(&nodes);
    let (strategy, placement) = if config.sharding.is_some() {
        let candidates: Vec<String> = nodes.iter().map(ToString::to_string).collect();
        let algorithm = bind(
            &path,
            "sharding",
            None,
            (&first, &first_def),
            &candidates,
            problems,
        )?;
        (Strategy::Single(first), Placement::Single(algorithm))
    } else {
        let database = bind(
            &path,
            "database_sharding",
            None,
            (&first, &first_def),
            &data_sources,
            problems,
        );
        let tables = match &second {
            Some((level, definition)) => {
                let mut tables = Vec::with_capacity(data_sources.len());
                for (ds, node_indexes) in data_sources.iter().zip(&nodes_by_data_source) {
                    let candidates: Vec<String> = node_indexes
                        .iter()
                        .map(|&i| nodes[i].table.clone())
                        .collect();
                    tables.push(bind(
                        &path,
                        "table_sharding",
                        Some(ds),
                        (level, definition),
                        &candidates,
                        problems,
                    ));
                }
                Some(tables.into_iter().collect::<Option<Vec<_>>>()?)
            }
            None => {
                one_node_per_data_source(
                    &path,
                    &data_sources,
                    &nodes_by_data_source,
                    &nodes,
                    problems,
                );
                None
            }
        };
        let placement = Placement::Database {
            database: database?,
            tables,
        };
        let strategy = Strategy::Database {
            database: first,
            table: second.map(|(level, _)| level),
        };
        (strategy, placement)
    };
    if let Some(key) = key_generator
        .as_ref()
        .filter(|k| k.kind == KeyGeneratorKind::Uuid)
    {
        for level in strategy.levels().into_iter().flatten() {
            if level.column == key.column && level.domain == ValueDomain::Integer {
                problems.push(format!(
                    "{path}.key_generator: `uuid` keys are text, but `{}` is sharded by `{}` ({}), which places integers only; use `snowflake`, or a hashing algorithm",
                    key.column, level.algorithm, level.kind
                ));
            }
        }
    }
    if problems.len() > before {
        return None;
    }
    let mut columns: Vec<String> = Vec::new();
    for level in strategy.levels().into_iter().flatten() {
        if !columns.contains(&level.column) {
            columns.push(level.column.clone());
        }
    }
    Some(TableRule {
        logical_name: name.to_string(),
        nodes,
        data_sources,
        nodes_by_data_source,
        strategy,
        key_generator,
        binding_group: None,
        columns,
        placement,
    })
}

/// Without `table_sharding`, each data source must hold exactly one node.
fn one_node_per_data_source(
    path: &str,
    data_sources: &[String],
    nodes_by_data_source: &[Vec<usize>],
    nodes: &[DataNode],
    problems: &mut Vec<String>,
) {
    let crowded: Vec<String> = data_sources
        .iter()
        .zip(nodes_by_data_source)
        .filter(|(_, indexes)| indexes.len() > 1)
        .map(|(ds, indexes)| {
            let tables: Vec<&str> = indexes.iter().map(|&i| nodes[i].table.as_str()).collect();
            format!("`{ds}` holds {} ({})", indexes.len(), tables.join(", "))
        })
        .collect();
    if !crowded.is_empty() {
        problems.push(format!(
            "{path}.database_sharding: without `table_sharding` every data source must hold exactly one node of the table, but {}; add `table_sharding` or list one node per data source",
            crowded.join(", ")
        ));
    }
}

/// Checks one `{ column, algorithm }` level.
fn level(
    context: &SchemaContext<'_>,
    path: &str,
    key: &str,
    config: &StrategyConfig,
    problems: &mut Vec<String>,
) -> Option<(ShardingLevel, Arc<dyn AlgorithmDefinition>)> {
    let path = format!("{path}.{key}");
    let column_ok = column(&path, &config.column, problems);
    let definition = match context.algorithms.get(&config.algorithm) {
        Some(definition) => definition.clone(),
        None => {
            let defined = if context.algorithms.is_empty() {
                "none are defined".to_string()
            } else {
                format!("defined: {}", known(context.algorithms.keys()))
            };
            problems.push(format!(
                "{path}.algorithm: unknown algorithm `{}`; define it in {}.algorithms ({defined})",
                config.algorithm, context.path
            ));
            None
        }
    };
    let definition = definition.filter(|_| column_ok)?;
    let level = ShardingLevel {
        column: config.column.to_ascii_lowercase(),
        algorithm: config.algorithm.clone(),
        kind: definition.kind(),
        domain: definition.domain(),
        names_matter: definition.uses_candidate_names(),
    };
    Some((level, definition))
}

/// Binds a level's algorithm to its candidates (`data_source` names the data
/// source whose tables a table level chooses among).
fn bind(
    path: &str,
    key: &str,
    data_source: Option<&str>,
    (level, definition): (&ShardingLevel, &Arc<dyn AlgorithmDefinition>),
    candidates: &[String],
    problems: &mut Vec<String>,
) -> Option<Arc<dyn algorithm::ShardingAlgorithm>> {
    match definition.bind(candidates) {
        Ok(algorithm) => Some(Arc::from(algorithm)),
        Err(message) => {
            let within = data_source
                .map(|ds| format!(" in data source `{ds}`"))
                .unwrap_or_default();
            problems.push(format!(
                "{path}.{key}.algorithm: `{}`{within}: {message}",
                level.algorithm
            ));
            None
        }
    }
}

/// Checks a column name at `{path}.column`: an unquoted MySQL identifier.
fn column(path: &str, name: &str, problems: &mut Vec<String>) -> bool {
    let ok = is_table_name(name);
    if !ok {
        problems.push(format!(
            "{path}.column: column name `{name}` must match [A-Za-z0-9_$]+"
        ));
    }
    ok
}

/// Expands and checks `nodes`; `None` when there are problems.
fn nodes(
    path: &str,
    config: &NodesConfig,
    data_sources: &BTreeMap<String, DataSourceConfig>,
    problems: &mut Vec<String>,
) -> Option<Vec<DataNode>> {
    let before = problems.len();
    let expressions: Vec<(String, &str)> = match config {
        NodesConfig::Inline(expression) => vec![(format!("{path}.nodes"), expression.as_str())],
        NodesConfig::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{path}.nodes[{i}]"), item.as_str()))
            .collect(),
    };
    let mut nodes = Vec::new();
    for (item_path, expression) in &expressions {
        let names = match inline::expand(expression) {
            Ok(names) => names,
            Err(e) => {
                problems.push(format!(
                    "{item_path}: bad inline expression `{expression}`: {e}"
                ));
                continue;
            }
        };
        // Unknown data sources of this item: (name, first node naming it).
        let mut unknown: Vec<(String, String)> = Vec::new();
        for name in names {
            let Some((ds, table)) = name.split_once('.') else {
                problems.push(format!(
                    "{item_path}: `{name}` is not `data_source.actual_table`"
                ));
                continue;
            };
            if !data_sources.contains_key(ds) {
                if !unknown.iter().any(|(u, _)| u == ds) {
                    unknown.push((ds.to_string(), name.clone()));
                }
            } else if !is_table_name(table) {
                problems.push(format!(
                    "{item_path}: actual table `{table}` in `{name}` must match [A-Za-z0-9_$]+"
                ));
            }
            let node = DataNode {
                data_source: ds.to_string(),
                table: table.to_string(),
            };
            if nodes.contains(&node) {
                problems.push(format!("{item_path}: data node `{name}` is listed twice"));
            }
            nodes.push(node);
        }
        match unknown.as_slice() {
            [] => {}
            [(ds, name)] => problems.push(format!(
                "{item_path}: unknown data source `{ds}` in `{name}`; known: {}",
                known(data_sources.keys())
            )),
            [(_, first), ..] => {
                let names: Vec<String> = unknown.iter().map(|(ds, _)| format!("`{ds}`")).collect();
                problems.push(format!(
                    "{item_path}: unknown data sources {} (first in `{first}`); known: {}",
                    names.join(", "),
                    known(data_sources.keys())
                ));
            }
        }
    }
    if nodes.is_empty() && problems.len() == before {
        problems.push(format!(
            "{path}.nodes: no data nodes; give at least one `data_source.actual_table`"
        ));
    }
    (problems.len() == before).then_some(nodes)
}

/// The data sources in order of first appearance, and each one's node indexes.
fn group_by_data_source(nodes: &[DataNode]) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut data_sources: Vec<String> = Vec::new();
    let mut indexes: Vec<Vec<usize>> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        match data_sources.iter().position(|ds| *ds == node.data_source) {
            Some(at) => indexes[at].push(i),
            None => {
                data_sources.push(node.data_source.clone());
                indexes.push(vec![i]);
            }
        }
    }
    (data_sources, indexes)
}

/// `a, b, c` for a "known: ..." hint.
pub(super) fn known<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
