//! Binding groups: tables whose rows are joined on their sharding columns and
//! so must be placed alike, node `i` with node `i`. The loader checks that
//! they are: same data sources in the same node order, same algorithms, same
//! sharding column names, and, for algorithms that place by candidate name,
//! the same candidate names.

use super::build::known;
use super::table::{ShardingLevel, Strategy, TableRule};
use std::collections::BTreeMap;

/// Checks `binding_groups` and marks each table with its group's index.
/// `declared` are the schema's sharded tables as written (some may have
/// failed to build: their problems are already reported). Returns the groups
/// as lower-cased names.
pub(super) fn groups(
    path: &str,
    groups: &[Vec<String>],
    declared: &[&String],
    tables: &mut BTreeMap<String, TableRule>,
    problems: &mut Vec<String>,
) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut group_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, group) in groups.iter().enumerate() {
        let group_path = format!("{path}.binding_groups[{i}]");
        let before = problems.len();
        let mut members: Vec<String> = Vec::new();
        for name in group {
            let lower = name.to_ascii_lowercase();
            if !declared.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                problems.push(format!(
                    "{group_path}: `{name}` is not a sharded table of this schema; sharded tables: {}",
                    known(declared.iter().copied())
                ));
            } else if members.contains(&lower) {
                problems.push(format!("{group_path}: `{name}` is listed twice"));
            } else if let Some(other) = group_of.get(&lower) {
                problems.push(format!(
                    "{group_path}: `{name}` is already in binding_groups[{other}]; a table can be in one binding group only (merge the groups)"
                ));
            } else {
                members.push(lower);
            }
        }
        if let Some((first, rest)) = members.split_first() {
            for other in rest {
                if let (Some(a), Some(b)) = (tables.get(first), tables.get(other)) {
                    compare(&group_path, a, b, problems);
                }
            }
        }
        for member in &members {
            group_of.insert(member.clone(), i);
        }
        if problems.len() == before {
            let index = out.len();
            for member in &members {
                if let Some(table) = tables.get_mut(member) {
                    table.binding_group = Some(index);
                }
            }
            out.push(members);
        }
    }
    out
}

/// Checks that `b` is placed exactly like `a`.
fn compare(path: &str, a: &TableRule, b: &TableRule, problems: &mut Vec<String>) {
    let (na, nb) = (&a.logical_name, &b.logical_name);
    let sources =
        |t: &TableRule| -> Vec<String> { t.nodes.iter().map(|n| n.data_source.clone()).collect() };
    if sources(a) != sources(b) {
        let (mut lb, mut la) = (layout(b), layout(a));
        if la == lb {
            (lb, la) = (b.nodes_description(), a.nodes_description());
        }
        problems.push(format!(
            "{path}: `{nb}` has nodes in {lb} but `{na}` in {la}; tables of a binding group need the same data sources with the same number of nodes each, in the same node order"
        ));
        return;
    }
    let same_levels = match (&a.strategy, &b.strategy) {
        (Strategy::Single(x), Strategy::Single(y)) => same(x, y),
        (
            Strategy::Database {
                database: x,
                table: tx,
            },
            Strategy::Database {
                database: y,
                table: ty,
            },
        ) => {
            same(x, y)
                && match (tx, ty) {
                    (Some(tx), Some(ty)) => same(tx, ty),
                    (None, None) => true,
                    _ => false,
                }
        }
        _ => false,
    };
    if !same_levels {
        problems.push(format!(
            "{path}: `{nb}` is sharded by {} but `{na}` by {}; tables of a binding group need the same algorithms and sharding column names",
            b.sharding_description(),
            a.sharding_description()
        ));
        return;
    }
    // Under one-level sharding the candidates are full node names, under
    // table_sharding actual table names; both differ between tables.
    let names = |t: &TableRule, level: usize| -> Vec<String> {
        match (&t.strategy, level) {
            (Strategy::Single(_), _) => t.nodes.iter().map(ToString::to_string).collect(),
            (Strategy::Database { .. }, 0) => t.data_sources.clone(),
            (Strategy::Database { .. }, _) => t.nodes.iter().map(|n| n.table.clone()).collect(),
        }
    };
    for (index, level) in a.levels().into_iter().enumerate() {
        let Some(level) = level.filter(|l| l.names_matter) else {
            continue;
        };
        let (xa, xb) = (names(a, index), names(b, index));
        if xa != xb {
            let differ = xa.iter().zip(&xb).find(|(x, y)| x != y);
            let example = differ
                .map(|(x, y)| format!(" (`{x}` vs `{y}`)"))
                .unwrap_or_default();
            problems.push(format!(
                "{path}: `{}` ({}) places by candidate name and the candidates of `{na}` and `{nb}` differ{example}, so equal values would land on different nodes; use it only at database_sharding level in a binding group, or use mod / hash_mod / range",
                level.algorithm, level.kind
            ));
        }
    }
}

/// Two levels with the same column and algorithm.
fn same(x: &ShardingLevel, y: &ShardingLevel) -> bool {
    x.column == y.column && x.algorithm == y.algorithm
}

/// `ds_0×2, ds_1×2`: the nodes per data source in node order.
fn layout(table: &TableRule) -> String {
    let parts: Vec<String> = table
        .data_sources
        .iter()
        .zip(&table.nodes_by_data_source)
        .map(|(ds, nodes)| format!("{ds}×{}", nodes.len()))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests;
