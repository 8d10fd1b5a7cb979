//! A correlated subquery linked to an enclosing table on only some of the
//! sharding columns still finds its rows on that table's node when both
//! sides hold each remaining sharding column to the same one value
//! (`o.user_id = 3 AND EXISTS (SELECT .. FROM i WHERE i.order_id =
//! o.order_id AND i.user_id = 3)`): the tables share a binding group, so
//! equal sharding values place rows on the same node.

use crate::rules::{ColumnCondition, ShardingValue};
use crate::sql::conditions::{Key, ShardingConditions};
use crate::sql::context::StatementContext;

/// Whether reference `inner` of subquery block `b` and reference `outer`
/// of an enclosing block agree on every sharding column: linked on it in
/// `b`, or held to one same value by both blocks' conditions.
pub(super) fn on_one_node(
    context: &StatementContext<'_>,
    b: usize,
    inner: usize,
    outer: usize,
) -> bool {
    let (Some(ri), Some(ro)) = (context.refs[inner].rule(), context.refs[outer].rule()) else {
        return false;
    };
    let columns = ri.sharding_columns();
    if columns.len() != ro.sharding_columns().len() {
        return false;
    }
    let outer_block = context.refs[outer].block;
    (0..columns.len()).all(|c| {
        let is_linked = context.blocks[b]
            .links
            .iter()
            .any(|&(p, q)| (p == (inner, c) && q.0 == outer) || (q == (inner, c) && p.0 == outer));
        is_linked
            || (context.same_column((inner, c), (outer, c))
                && matches!(
                    (
                        only_value(&context.blocks[b].conditions, (inner, c)),
                        only_value(&context.blocks[outer_block].conditions, (outer, c)),
                    ),
                    (Some(x), Some(y)) if x == y
                ))
    })
}

/// The one value every alternative of `conditions` holds `key` to.
fn only_value(conditions: &ShardingConditions, key: Key) -> Option<ShardingValue> {
    let mut found: Option<ShardingValue> = None;
    for conjunction in &conditions.any_of {
        match ShardingConditions::condition(conjunction, key) {
            ColumnCondition::Values(values) if values.len() == 1 => {
                let value = values.into_iter().next()?;
                match &found {
                    Some(seen) if *seen != value => return None,
                    _ => found = Some(value),
                }
            }
            _ => return None,
        }
    }
    found
}
