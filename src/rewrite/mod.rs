//! Rewriting: a [`RoutePlan`] → one [`ExecutionUnit`] per route unit: the
//! statement's AST copied, its logical table names replaced by the unit's
//! actual tables, IN lists pruned to the unit's values, INSERT rows dealt
//! out; rendered back to SQL with the parameters its `?`s need. Always by
//! AST (a `VisitorMut` per concern), never by splicing strings.

mod insert;
mod names;
mod prune;

use crate::plan::ExecutionUnit;
use crate::route::{RoutePlan, Target};
use crate::sql::params::Bindings;
use insert::Rows;
use names::Renamer;
use prune::Pruner;
use sqlparser::ast::Statement;

/// The execution units of `statement` routed by `route`. `schema` is the
/// logical schema's name (dropped where it qualifies a table).
pub fn rewrite(
    mut statement: Statement,
    route: &RoutePlan<'_>,
    bindings: &Bindings<'_>,
    schema: &str,
) -> Vec<ExecutionUnit> {
    if let Some(generated) = &route.generated {
        insert::add_generated(&mut statement, generated);
    }
    let unit_rows: Vec<&[usize]> = route.units.iter().map(|u| u.rows.as_slice()).collect();
    let mut rows = if unit_rows.iter().any(|r| !r.is_empty()) {
        Rows::take(&mut statement, &unit_rows)
    } else {
        None
    };
    let qualifiers: Vec<String> = match names::unaliasable(&statement) {
        None => route.unaliased.clone(),
        Some(fixed) => route
            .unaliased
            .iter()
            .filter(|t| fixed.contains(t))
            .cloned()
            .collect(),
    };
    let mut original = Some(statement);
    let count = route.units.len();
    let mut out = Vec::with_capacity(count);
    for (k, unit) in route.units.iter().enumerate() {
        let copy = if k + 1 == count {
            original.take()
        } else {
            original.clone()
        };
        let Some(mut copy) = copy else {
            break;
        };
        if let Some(rows) = &mut rows {
            rows.deal(&mut copy, &unit.rows);
        }
        let (data_source, tables) = match (unit.target, &route.space) {
            (Target::Node(node), Some(space)) => {
                let tables: Vec<(String, &str)> = space
                    .tables
                    .iter()
                    .filter_map(|t| {
                        let actual = t.nodes.get(node)?.table.as_str();
                        Some((t.logical_name.to_ascii_lowercase(), actual))
                    })
                    .collect();
                (space.data_source(node), tables)
            }
            (Target::DataSource(source), _) => (source, Vec::new()),
            (Target::Node(_), None) => ("", Vec::new()),
        };
        Renamer {
            schema,
            tables: &tables,
            qualifiers: &qualifiers,
        }
        .apply(&mut copy);
        let mut pruned = false;
        if let Target::Node(node) = unit.target {
            let mut pruner = Pruner {
                lists: &route.in_lists,
                node,
                pruned: false,
            };
            pruner.apply(&mut copy);
            pruned = pruner.pruned;
        }
        let params = if !bindings.is_bound() {
            Vec::new()
        } else if pruned || rows.is_some() {
            bindings.params_of(&copy)
        } else {
            bindings.params().to_vec()
        };
        out.push(ExecutionUnit {
            data_source: data_source.to_string(),
            sql: copy.to_string(),
            params,
        });
    }
    out
}
