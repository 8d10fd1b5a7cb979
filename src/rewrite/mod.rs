//! Rewriting: a [`RoutePlan`] → one [`ExecutionUnit`] per route unit (per
//! data source for a SELECT whose rows merge): the statement's AST copied,
//! its logical table names replaced by the unit's actual tables, IN lists
//! pruned to the unit's values, INSERT rows dealt out, a merged SELECT's
//! derived columns added ([`select`]); rendered back to SQL with the
//! parameters its `?`s need. Always by AST (a `VisitorMut` per concern),
//! never by splicing strings.

mod insert;
pub use insert::drop_defaulted_key;
mod names;
mod prune;
mod render;
mod select;

use crate::error::Error;
use crate::plan_model::{ExecutionUnit, MergePlan};
use crate::route::{RoutePlan, Target};
use crate::sql::params::Bindings;
use crate::sql::Literal;
use insert::Rows;
use names::Renamer;
use prune::Pruner;
use sqlparser::ast::{Query, SetExpr, Statement};

/// An execution unit with its parameters as indexes into the statement's
/// bound values: what [`rewrite_template`] makes, and the plan cache keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitTemplate {
    /// The data source that runs it.
    pub data_source: String,
    /// The SQL the data source receives, its `?`s kept.
    pub sql: String,
    /// For each `?` of `sql`, in order, the index of its bound value.
    pub params: Vec<usize>,
}

/// The execution units of `statement` routed by `route`, and how their
/// answers merge. `schema` is the logical schema's name (dropped where it
/// qualifies a table).
pub fn rewrite(
    statement: Statement,
    route: &RoutePlan<'_>,
    bindings: &Bindings<'_>,
    schema: &str,
) -> Result<(Vec<ExecutionUnit>, MergePlan), Error> {
    let (units, merge) = rewrite_template(statement, route, bindings, schema)?;
    let units = units
        .into_iter()
        .map(|u| ExecutionUnit {
            params: bindings.pick(&u.params),
            data_source: u.data_source,
            sql: u.sql,
        })
        .collect();
    Ok((units, merge))
}

/// [`rewrite`] with each unit's parameters as indexes ([`UnitTemplate`]).
pub fn rewrite_template(
    mut statement: Statement,
    route: &RoutePlan<'_>,
    bindings: &Bindings<'_>,
    schema: &str,
) -> Result<(Vec<UnitTemplate>, MergePlan), Error> {
    let local = Localizer::new(&statement, route, schema);
    if route.merges_rows {
        return merged(statement, route, bindings, &local);
    }
    if let Some(generated) = &route.generated {
        insert::add_generated(&mut statement, generated);
    }
    let unit_rows: Vec<&[usize]> = route.units.iter().map(|u| u.rows.as_slice()).collect();
    let mut rows = if unit_rows.iter().any(|r| !r.is_empty()) {
        Rows::take(&mut statement, &unit_rows)
    } else {
        None
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
        let (data_source, pruned) = local.apply(&mut copy, unit.target);
        let params = if !bindings.is_bound() {
            Vec::new()
        } else if pruned || rows.is_some() {
            bindings.indexes_of(&copy)
        } else {
            (0..bindings.params().len()).collect()
        };
        out.push(UnitTemplate {
            data_source: data_source.to_string(),
            sql: render::render(&mut copy),
            params,
        });
    }
    Ok((out, route.merge.clone()))
}

/// [`rewrite`] for a bulk INSERT ([`crate::sql::Bulk`]): `statement` holds
/// its first row, `rows` all of them, each unit's rendered from `rows`.
pub fn rewrite_bulk(
    mut statement: Statement,
    route: &RoutePlan<'_>,
    rows: &[Vec<Literal<'_>>],
    schema: &str,
) -> Result<(Vec<ExecutionUnit>, MergePlan), Error> {
    let local = Localizer::new(&statement, route, schema);
    if let Some(generated) = &route.generated {
        insert::add_generated(&mut statement, generated);
    }
    let keys = route.generated.as_ref().map(|g| g.values.as_slice());
    // A sharded table's rows are dealt; every copy of a broadcast or
    // unsharded table's INSERT holds them all.
    let dealt = route.units.iter().any(|u| !u.rows.is_empty());
    let all: Vec<usize> = if dealt {
        Vec::new()
    } else {
        (0..rows.len()).collect()
    };
    let mut out = Vec::with_capacity(route.units.len());
    for unit in &route.units {
        let mut copy = statement.clone();
        let (data_source, _) = local.apply(&mut copy, unit.target);
        let picked = if dealt { &unit.rows } else { &all };
        out.push(ExecutionUnit {
            data_source: data_source.to_string(),
            sql: render::render_bulk(&mut copy, rows, picked, keys),
            params: Vec::new(),
        });
    }
    Ok((out, route.merge.clone()))
}

/// A SELECT whose rows merge: the derived unit query copied to every node,
/// the copies of one data source combined into its one unit.
fn merged(
    statement: Statement,
    route: &RoutePlan<'_>,
    bindings: &Bindings<'_>,
    local: &Localizer<'_>,
) -> Result<(Vec<UnitTemplate>, MergePlan), Error> {
    let Statement::Query(query) = &statement else {
        return Err(Error::internal("a merged statement that is no query"));
    };
    if bindings.is_bound() && !Bindings::visits_in_text_order(&statement) {
        return Err(Error::not_supported(
            "placeholders in this order in a SELECT across data nodes",
        ));
    }
    if matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) {
        return merged_union(query, route, bindings, local);
    }
    let derived = select::derive(query, bindings)?;
    let mut sources: Vec<(&str, Vec<Query>)> = Vec::new();
    for unit in &route.units {
        let mut copy = Statement::Query(Box::new(derived.query.clone()));
        let (data_source, _) = local.apply(&mut copy, unit.target);
        let Statement::Query(copy) = copy else {
            return Err(Error::internal("a renamed query that is no query"));
        };
        match sources.iter_mut().find(|(ds, _)| *ds == data_source) {
            Some((_, copies)) => copies.push(*copy),
            None => sources.push((data_source, vec![*copy])),
        }
    }
    // The client's column metadata comes from the first unit: a data
    // source's single copy keeps the tables' column origins and flags, a
    // UNION of copies loses them.
    sources.sort_by_key(|(_, copies)| copies.len() > 1);
    let units = sources
        .into_iter()
        .map(|(data_source, copies)| {
            let unit = Statement::Query(Box::new(select::combine(&derived, copies)));
            UnitTemplate {
                data_source: data_source.to_string(),
                params: bindings.indexes_in_visit_order(&unit),
                sql: unit.to_string(),
            }
        })
        .collect();
    Ok((units, MergePlan::Select(Box::new(derived.spec))))
}

/// A UNION whose rows merge: the union copied to every node, the copies of
/// one data source wrapped into its one unit (see `select::union`).
fn merged_union<'a>(
    query: &Query,
    route: &RoutePlan<'a>,
    bindings: &Bindings<'_>,
    local: &Localizer<'a>,
) -> Result<(Vec<UnitTemplate>, MergePlan), Error> {
    let derived = select::derive_union(query, bindings)?;
    let first = route
        .units
        .first()
        .ok_or_else(|| Error::internal("a UNION without route units"))?;
    let (data_source, describe) = local.query(&derived.describe, first.target)?;
    let describe = Statement::Query(Box::new(describe));
    let describe = ExecutionUnit {
        data_source: data_source.to_string(),
        params: bindings.params_in_visit_order(&describe),
        sql: describe.to_string(),
    };
    let sharded: Vec<&str> = route.space.as_ref().map_or(Vec::new(), |space| {
        space
            .tables
            .iter()
            .map(|t| t.logical_name.as_str())
            .collect()
    });
    let others = select::without_copied_rows(&derived.query, &sharded);
    let mut sources: Vec<(&str, Vec<Query>)> = Vec::new();
    for (k, unit) in route.units.iter().enumerate() {
        let query = if k == 0 { &derived.query } else { &others };
        let (data_source, copy) = local.query(query, unit.target)?;
        match sources.iter_mut().find(|(ds, _)| *ds == data_source) {
            Some((_, copies)) => copies.push(copy),
            None => sources.push((data_source, vec![copy])),
        }
    }
    let mut units = Vec::with_capacity(sources.len());
    for (data_source, copies) in sources {
        let unit = Statement::Query(Box::new(select::combine_union(&derived, copies)?));
        units.push(UnitTemplate {
            data_source: data_source.to_string(),
            params: bindings.indexes_in_visit_order(&unit),
            sql: unit.to_string(),
        });
    }
    let merge = crate::plan_model::UnionMerge {
        spec: derived.spec,
        describe,
    };
    Ok((units, MergePlan::Union(Box::new(merge))))
}

/// Makes a copy of the statement one unit's: its tables renamed to the
/// unit's actual tables, its IN lists pruned to the unit's values.
struct Localizer<'a> {
    /// The route.
    route: &'a RoutePlan<'a>,
    /// The logical schema's name.
    schema: &'a str,
    /// Unaliased tables where no alias is allowed: their qualifiers are renamed.
    qualifiers: Vec<String>,
}

impl<'a> Localizer<'a> {
    fn new(statement: &Statement, route: &'a RoutePlan<'a>, schema: &'a str) -> Self {
        let qualifiers = match names::unaliasable(statement) {
            None => route.unaliased.clone(),
            Some(fixed) => route
                .unaliased
                .iter()
                .filter(|t| fixed.contains(t))
                .cloned()
                .collect(),
        };
        Localizer {
            route,
            schema,
            qualifiers,
        }
    }

    /// A copy of `query` localized for a unit at `target`, with its data source.
    fn query(&self, query: &Query, target: Target<'a>) -> Result<(&'a str, Query), Error> {
        let mut copy = Statement::Query(Box::new(query.clone()));
        let (data_source, _) = self.apply(&mut copy, target);
        match copy {
            Statement::Query(copy) => Ok((data_source, *copy)),
            _ => Err(Error::internal("a renamed query that is no query")),
        }
    }

    /// Localizes `copy` for a unit at `target`: its data source, and
    /// whether an IN list lost items.
    fn apply(&self, copy: &mut Statement, target: Target<'a>) -> (&'a str, bool) {
        let (data_source, tables) = match (target, &self.route.space) {
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
            schema: self.schema,
            tables: &tables,
            qualifiers: &self.qualifiers,
        }
        .apply(copy);
        let mut pruned = false;
        if let Target::Node(node) = target {
            let mut pruner = Pruner {
                lists: &self.route.in_lists,
                node,
                pruned: false,
            };
            pruner.apply(copy);
            pruned = pruner.pruned;
        }
        (data_source, pruned)
    }
}
