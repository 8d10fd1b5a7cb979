//! Which data nodes a statement over sharded tables runs on, from its query
//! blocks. Running a statement node by node (each table renamed to its
//! actual table at that node) is exact when every block's rows come from
//! that node alone:
//! - a top block with sharded tables produces each result row on the node
//!   of its rows, so it runs on every node its conditions can reach;
//! - joined sharded tables must be linked on all of their sharding columns
//!   (a binding group's promise: rows joined so share their sharding values);
//! - a subquery linked to an enclosing block's sharded table on all of its
//!   sharding columns finds its rows on the same node;
//! - anything else (an uncorrelated subquery, a derived table, a top block
//!   without sharded tables) needs all of its rows on one node, so the whole
//!   statement must run on exactly one node.
//!
//! A subquery refused here may still run: the session answers an
//! uncorrelated one first and plans the statement on its answer
//! ([`crate::sql::subquery`]).

use super::space::NodeSpace;
use crate::error::Error;
use crate::rules::ColumnCondition;
use crate::sql::conditions::ShardingConditions;
use crate::sql::context::{BlockKind, StatementContext};
use crate::sql::tables::RefKind;
use smallvec::{smallvec, SmallVec};

/// The node indexes (ascending) the statement must run on; possibly empty
/// when its conditions match no row.
pub fn nodes(context: &StatementContext<'_>, space: &NodeSpace<'_>) -> Result<Vec<usize>, Error> {
    nodes_of(context, space, false)
}

/// [`nodes`] of a statement that may be a UNION (`copied_tops`): a top block
/// without sharded tables (a broadcast table, constants) may then be
/// copied to every node, the rewrite keeping its rows on one of them.
pub fn nodes_of(
    context: &StatementContext<'_>,
    space: &NodeSpace<'_>,
    copied_tops: bool,
) -> Result<Vec<usize>, Error> {
    let blocks = &context.blocks;
    let mut local: SmallVec<[bool; 4]> = smallvec![false; blocks.len()];
    let mut top_nodes: Vec<usize> = Vec::new();
    let mut pinned: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut top_without_sharded = false;
    for (b, block) in blocks.iter().enumerate() {
        let sharded = sharded_refs(context, b);
        check_joins(context, b, &sharded)?;
        if sharded.is_empty() {
            top_without_sharded |= block.kind == BlockKind::Top && !copied_tops;
            continue;
        }
        let nodes = block_nodes(context, &block.conditions, &sharded, space.len());
        local[b] = match block.kind {
            BlockKind::Top => true,
            BlockKind::Subquery => is_correlated(context, b, &local),
            BlockKind::Derived => false,
        };
        if block.kind == BlockKind::Top {
            union(&mut top_nodes, &nodes);
        } else if !local[b] {
            pinned.push((b, nodes));
        }
    }
    if pinned.is_empty() && !top_without_sharded {
        return Ok(top_nodes);
    }
    let mut all = top_nodes;
    for (_, nodes) in &pinned {
        union(&mut all, nodes);
    }
    if all.len() <= 1 {
        return Ok(all);
    }
    let construct = match pinned.first() {
        Some((b, _)) => {
            let what = match blocks[*b].kind {
                BlockKind::Derived => "derived table",
                _ => "subquery",
            };
            format!(
                "{what} on sharded table '{}' that needs rows from several data nodes",
                first_sharded_name(context, *b)
            )
        }
        None => "UNION of sharded and unsharded query blocks across data nodes".to_string(),
    };
    Err(Error::not_supported(construct))
}

/// Whether a top block (a UNION branch) names no sharded table.
pub fn copies_a_top_block(context: &StatementContext<'_>) -> bool {
    (0..context.blocks.len())
        .any(|b| context.blocks[b].kind == BlockKind::Top && sharded_refs(context, b).is_empty())
}

/// The sharded references of block `b`.
fn sharded_refs(context: &StatementContext<'_>, b: usize) -> SmallVec<[usize; 4]> {
    context
        .refs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.block == b && r.rule().is_some())
        .map(|(i, _)| i)
        .collect()
}

fn first_sharded_name(context: &StatementContext<'_>, b: usize) -> String {
    sharded_refs(context, b)
        .first()
        .and_then(|&i| context.refs[i].rule())
        .map(|r| r.logical_name.clone())
        .unwrap_or_default()
}

/// Whether references `x` and `y` are joined exactly node by node: one table
/// (a self-join) or tables of one binding group (which share their sharding
/// column names) linked on all of their sharding columns. A link on only
/// some of them (`o.user_id = i.user_id` when the tables are also sharded by
/// `order_id`) joins rows of different nodes too.
fn linked(context: &StatementContext<'_>, b: usize, x: usize, y: usize) -> bool {
    let (Some(rx), Some(ry)) = (context.refs[x].rule(), context.refs[y].rule()) else {
        return false;
    };
    let mut columns: Vec<usize> = context.blocks[b]
        .links
        .iter()
        .filter_map(|&(p, q)| match (p.0, q.0) {
            (a, c) if (a, c) == (x, y) || (a, c) == (y, x) => Some(p.1),
            _ => None,
        })
        .collect();
    columns.sort_unstable();
    columns.dedup();
    columns.len() == rx.sharding_columns().len() && columns.len() == ry.sharding_columns().len()
}

/// Block `b`'s sharded tables must be linked into one group, and no outer
/// join may preserve rows of a copied table against a sharded one.
fn check_joins(context: &StatementContext<'_>, b: usize, sharded: &[usize]) -> Result<(), Error> {
    let refs = &context.refs;
    for (preserved, other) in &context.blocks[b].outer_joins {
        let is_sharded = |i: &usize| refs[*i].rule().is_some();
        if !preserved.iter().any(is_sharded) && other.iter().any(is_sharded) {
            let name = preserved.first().map_or("", |&i| refs[i].table.as_str());
            let kind = match preserved.first().map(|&i| refs[i].kind) {
                Some(RefKind::Broadcast) => "broadcast table",
                _ => "table",
            };
            return Err(Error::not_supported(format!(
                "outer join that preserves rows of {kind} '{name}' against sharded table '{}'",
                other
                    .iter()
                    .find(|i| is_sharded(i))
                    .map_or("", |&i| refs[i].table.as_str())
            )));
        }
    }
    let Some((&first, _)) = sharded.split_first() else {
        return Ok(());
    };
    let mut group: SmallVec<[usize; 4]> = smallvec![first];
    let mut grew = true;
    while grew {
        grew = false;
        for &r in sharded {
            if !group.contains(&r) && group.iter().any(|&g| linked(context, b, g, r)) {
                group.push(r);
                grew = true;
            }
        }
    }
    match sharded.iter().find(|r| !group.contains(r)) {
        None => Ok(()),
        Some(&r) => Err(Error::not_supported(format!(
            "JOIN of sharded tables '{}' and '{}' that is not on their sharding columns",
            refs[first].table, refs[r].table
        ))),
    }
}

/// Whether subquery block `b` finds its rows on the node of a sharded table
/// of an enclosing block that itself runs node by node: linked to it on
/// every sharding column, or on some and held to the same one value on
/// both sides on the others ([`super::correlated`]).
fn is_correlated(context: &StatementContext<'_>, b: usize, local: &[bool]) -> bool {
    let refs = &context.refs;
    context.blocks[b].links.iter().any(|&(p, q)| {
        let (inner, outer) = if refs[p.0].block == b {
            (p.0, q.0)
        } else {
            (q.0, p.0)
        };
        let outer_block = refs[outer].block;
        refs[inner].block == b
            && outer_block != b
            && local.get(outer_block).copied().unwrap_or(false)
            && (linked(context, b, inner, outer)
                || super::correlated::on_one_node(context, b, inner, outer))
    })
}

/// The nodes rows of a block can be on: for each alternative of its
/// conditions, the nodes every sharded table's conditions allow.
fn block_nodes(
    context: &StatementContext<'_>,
    conditions: &ShardingConditions,
    sharded: &[usize],
    n: usize,
) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for conjunction in &conditions.any_of {
        let mut nodes: Option<Vec<usize>> = None;
        for &r in sharded {
            let Some(rule) = context.refs[r].rule() else {
                continue;
            };
            let routed = rule.route(|column| {
                match rule.sharding_columns().iter().position(|c| c == column) {
                    Some(c) => ShardingConditions::condition(conjunction, (r, c)),
                    None => ColumnCondition::Any,
                }
            });
            nodes = Some(match nodes {
                None => routed,
                Some(current) => current.into_iter().filter(|i| routed.contains(i)).collect(),
            });
        }
        union(&mut out, &nodes.unwrap_or_else(|| (0..n).collect()));
        if out.len() == n {
            break;
        }
    }
    out
}

/// Adds `more` to the sorted set `set`.
fn union(set: &mut Vec<usize>, more: &[usize]) {
    set.extend_from_slice(more);
    set.sort_unstable();
    set.dedup();
}
