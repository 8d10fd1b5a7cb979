//! Routing: a parsed statement and the schema's rules → a [`RoutePlan`]: the
//! route units (which data node or data source each copy of the statement
//! runs on, and for an INSERT which rows it carries), and what the rewrite
//! needs to make each unit's SQL. Pure: no I/O.

mod blocks;
mod correlated;
mod ddl;
mod insert;
mod merge;
pub mod space;
mod write;

use crate::error::Error;
use crate::keygen::GeneratedKey;
use crate::plan_model::{MergePlan, PlanContext};
use crate::rules::{ColumnCondition, SchemaRules};
use crate::sql::context::{Env, Shape, StatementContext};
use crate::sql::params::Bindings;
use crate::sql::tables::{RefKind, TableRef};
use space::NodeSpace;
use sqlparser::ast::{Query, Statement};
use sqlparser::tokenizer::Location;

/// Where one route unit runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'r> {
    /// Node `i` of the node space: each sharded table becomes its actual table there.
    Node(usize),
    /// A whole data source (broadcast tables keep their names).
    DataSource(&'r str),
}

/// One copy of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteUnit<'r> {
    /// Where it runs.
    pub target: Target<'r>,
    /// For a multi-row INSERT: the indexes of the rows it carries.
    pub rows: Vec<usize>,
}

/// An IN list on a sharding column: for each item, the nodes its value can
/// be on (`None`: keep the item everywhere).
#[derive(Debug, Clone)]
pub struct InListPruning {
    /// Where the list's column reference starts.
    pub at: Location,
    /// Per item, the nodes it belongs to.
    pub items: Vec<Option<Vec<usize>>>,
}

/// Keys generated for an INSERT that omits its table's key column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedColumn {
    /// The key column, as the rule file names it.
    pub column: String,
    /// One value per row; `None` when no generator was given (shown as `?`).
    pub values: Vec<Option<GeneratedKey>>,
}

/// The routing decision for one statement.
#[derive(Debug, Clone)]
pub struct RoutePlan<'r> {
    /// The sharded tables' node space, if the statement names any.
    pub space: Option<NodeSpace<'r>>,
    /// The route units, in node order (at least one).
    pub units: Vec<RouteUnit<'r>>,
    /// How the units' answers combine.
    pub merge: MergePlan,
    /// A SELECT on several data nodes whose rows merge (ORDER BY, LIMIT,
    /// aggregates, ...): the rewrite derives what each data source's unit
    /// returns and the [`MergePlan::Select`] that replaces `merge`.
    pub merges_rows: bool,
    /// Sharded tables named without an alias: their name qualifies columns
    /// (`t_order.user_id`), so the qualifier is renamed too.
    pub unaliased: Vec<String>,
    /// IN lists to prune per unit.
    pub in_lists: Vec<InListPruning>,
    /// Generated keys of an INSERT.
    pub generated: Option<GeneratedColumn>,
}

impl<'r> RoutePlan<'r> {
    /// A plan of `units` without pruning or generated keys.
    fn new(space: Option<NodeSpace<'r>>, units: Vec<RouteUnit<'r>>, merge: MergePlan) -> Self {
        RoutePlan {
            space,
            units,
            merge,
            merges_rows: false,
            unaliased: Vec::new(),
            in_lists: Vec::new(),
            generated: None,
        }
    }
}

/// Routes one parsed statement.
pub fn route<'r>(
    statement: &Statement,
    ctx: &PlanContext<'r>,
    bindings: &Bindings<'_>,
) -> Result<RoutePlan<'r>, Error> {
    route_shaped(statement, Shape::UNKNOWN, ctx, bindings)
}

/// [`route`] of a statement whose [`Shape`] is known (a cached plan's).
pub fn route_shaped<'r>(
    statement: &Statement,
    shape: Shape,
    ctx: &PlanContext<'r>,
    bindings: &Bindings<'_>,
) -> Result<RoutePlan<'r>, Error> {
    let env = Env {
        schema: ctx.schema,
        column_kind: ctx.column_kind,
        bindings,
        shape,
    };
    match statement {
        Statement::Query(query) => route_query(env, query),
        Statement::Insert(insert) => route_insert(env, ctx, statement, insert, None),
        Statement::Update(update) => write::update(env, statement, update),
        Statement::Delete(delete) => write::delete(env, statement, delete),
        _ => ddl::route(ctx.schema, statement),
    }
}

/// Routes a bulk INSERT: `statement` holds its first row, `rows` all of
/// them ([`crate::sql::Bulk`]).
pub fn route_bulk<'r>(
    statement: &Statement,
    rows: &[Vec<crate::sql::Literal<'_>>],
    ctx: &PlanContext<'r>,
    bindings: &Bindings<'_>,
) -> Result<RoutePlan<'r>, Error> {
    let Statement::Insert(insert) = statement else {
        return Err(Error::internal("a bulk statement that is no INSERT"));
    };
    let env = Env {
        schema: ctx.schema,
        column_kind: ctx.column_kind,
        bindings,
        shape: Shape::UNKNOWN,
    };
    route_insert(env, ctx, statement, insert, Some(rows))
}

/// An INSERT, with the context's key generators.
fn route_insert<'r>(
    env: Env<'_, 'r>,
    ctx: &PlanContext<'r>,
    statement: &Statement,
    insert: &sqlparser::ast::Insert,
    bulk: Option<&[Vec<crate::sql::Literal<'_>>]>,
) -> Result<RoutePlan<'r>, Error> {
    let keys = insert::Keys {
        generator: ctx.keys,
        binary: ctx.binary_key,
    };
    insert::route(env, keys, statement, insert, bulk)
}

/// A SELECT.
fn route_query<'r>(env: Env<'_, 'r>, query: &Query) -> Result<RoutePlan<'r>, Error> {
    let context = StatementContext::of_query(env, query)?;
    let space = NodeSpace::of(env.schema, &context.refs)?;
    check_unsharded(&context.refs, space.is_some())?;
    let Some(space) = space else {
        let source = read_source(env.schema);
        return Ok(RoutePlan::new(
            None,
            vec![unit(Target::DataSource(source))],
            MergePlan::Single,
        ));
    };
    let union = merge::is_union(query);
    let nodes = non_empty(blocks::nodes_of(&context, &space, union)?);
    let mut select = merge::select(query, nodes.len())?;
    if union && select == merge::Select::Concat && blocks::copies_a_top_block(&context) {
        // A branch without sharded tables repeats on every node: the
        // rewrite keeps its rows on the first node only.
        select = merge::Select::Merge;
    }
    let merge = match select {
        merge::Select::Single => MergePlan::Single,
        merge::Select::Concat | merge::Select::Merge => MergePlan::Concat,
    };
    let mut plan = with_context(space, &nodes, merge, &context);
    plan.merges_rows = select == merge::Select::Merge;
    Ok(plan)
}

/// Routes a query to the first node of its node space alone, whatever
/// rows it needs: what describes a statement whose parts are answered
/// first (its column types are the same on every node, its rows are not
/// read). A statement without sharded tables goes where it would.
pub fn route_first_node<'r>(
    statement: &Statement,
    ctx: &PlanContext<'r>,
    bindings: &Bindings<'_>,
) -> Result<RoutePlan<'r>, Error> {
    let Statement::Query(query) = statement else {
        return Err(Error::internal("a described statement that is no query"));
    };
    let env = Env {
        schema: ctx.schema,
        column_kind: ctx.column_kind,
        bindings,
        shape: Shape::UNKNOWN,
    };
    let context = StatementContext::of_query(env, query)?;
    let space = NodeSpace::of(env.schema, &context.refs)?;
    check_unsharded(&context.refs, space.is_some())?;
    match space {
        None => Ok(RoutePlan::new(
            None,
            vec![unit(Target::DataSource(read_source(env.schema)))],
            MergePlan::Single,
        )),
        Some(space) => Ok(with_context(space, &[0], MergePlan::Single, &context)),
    }
}

/// The plan of a statement over sharded tables that runs on `nodes`.
fn with_context<'r>(
    space: NodeSpace<'r>,
    nodes: &[usize],
    merge: MergePlan,
    context: &StatementContext<'r>,
) -> RoutePlan<'r> {
    let units = nodes.iter().map(|&i| unit(Target::Node(i))).collect();
    let mut plan = RoutePlan::new(Some(space), units, merge);
    plan.unaliased = unaliased(&context.refs);
    plan.in_lists = in_lists(context);
    plan
}

/// A unit without rows.
fn unit(target: Target<'_>) -> RouteUnit<'_> {
    RouteUnit {
        target,
        rows: Vec::new(),
    }
}

/// At least one node: a statement that matches no row still runs on the
/// first node, so the client gets its column metadata (or its OK).
fn non_empty(nodes: Vec<usize>) -> Vec<usize> {
    if nodes.is_empty() {
        vec![0]
    } else {
        nodes
    }
}

/// The data source a read of broadcast tables goes to: the schema's
/// default data source if it holds a copy, else the first that does.
fn read_source(schema: &SchemaRules) -> &str {
    if schema.data_sources.contains(&schema.default_data_source) {
        &schema.default_data_source
    } else {
        schema.data_sources.first().map_or("", String::as_str)
    }
}

/// Every data source of the schema: a write to broadcast tables.
fn broadcast_units(schema: &SchemaRules) -> Vec<RouteUnit<'_>> {
    schema
        .data_sources
        .iter()
        .map(|ds| unit(Target::DataSource(ds)))
        .collect()
}

/// An unsharded table lives only in the default data source: it cannot
/// meet a sharded table on other data nodes.
fn check_unsharded(refs: &[TableRef<'_>], sharded: bool) -> Result<(), Error> {
    if !sharded {
        return Ok(());
    }
    let first_sharded = refs.iter().find_map(TableRef::rule);
    match refs.iter().find(|r| matches!(r.kind, RefKind::Unsharded)) {
        Some(unsharded) => Err(Error::not_supported(format!(
            "statement on sharded table '{}' and unsharded table '{}'",
            first_sharded.map_or("", |r| r.logical_name.as_str()),
            unsharded.table
        ))),
        None => Ok(()),
    }
}

/// Sharded tables referenced without an alias.
fn unaliased(refs: &[TableRef<'_>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in refs {
        if r.alias.is_none() && r.rule().is_some() && !out.contains(&r.table) {
            out.push(r.table.clone());
        }
    }
    out
}

/// The IN lists worth pruning, with each item's nodes.
fn in_lists(context: &StatementContext<'_>) -> Vec<InListPruning> {
    context
        .in_lists
        .iter()
        .filter(|list| list.items.iter().any(Option::is_some))
        .filter_map(|list| {
            let rule = context.refs.get(list.key.0)?.rule()?;
            let column = rule.sharding_columns().get(list.key.1)?;
            let items = list
                .items
                .iter()
                .map(|item| {
                    item.as_ref().map(|value| {
                        rule.route(|c| {
                            if c == column {
                                ColumnCondition::value(value.clone())
                            } else {
                                ColumnCondition::Any
                            }
                        })
                    })
                })
                .collect();
            Some(InListPruning { at: list.at, items })
        })
        .collect()
}

#[cfg(test)]
mod tests;
