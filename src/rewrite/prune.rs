//! IN lists on sharding columns, pruned per data node: node `i`'s copy of
//! `user_id IN (1, 2, 3)` keeps only the values whose rows can be on node
//! `i`. Exact wherever the list stands, since no row on node `i` equals a
//! dropped value; a list that would become empty keeps its first item (which
//! matches nothing there either), so the SQL stays valid.

use crate::route::InListPruning;
use crate::sql::tables::column_start as start;
use sqlparser::ast::{Expr, VisitMut, VisitorMut};
use std::ops::ControlFlow;

/// Prunes the IN lists of one route unit at node `node`.
pub struct Pruner<'a> {
    /// The lists to prune.
    pub lists: &'a [InListPruning],
    /// The unit's node index.
    pub node: usize,
    /// Whether any item was dropped.
    pub pruned: bool,
}

impl Pruner<'_> {
    /// Prunes `node` (a statement) in place.
    pub fn apply(&mut self, node: &mut impl VisitMut) {
        if !self.lists.is_empty() {
            let _ = node.visit(self);
        }
    }
}

impl VisitorMut for Pruner<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::InList {
            expr: column,
            list,
            negated: false,
        } = expr
        else {
            return ControlFlow::Continue(());
        };
        let Some(at) = start(column) else {
            return ControlFlow::Continue(());
        };
        let Some(pruning) = self.lists.iter().find(|l| l.at == at) else {
            return ControlFlow::Continue(());
        };
        if pruning.items.len() != list.len() {
            return ControlFlow::Continue(());
        }
        let keep: Vec<bool> = pruning
            .items
            .iter()
            .map(|nodes| nodes.as_ref().is_none_or(|n| n.contains(&self.node)))
            .collect();
        if keep.iter().all(|k| *k) {
            return ControlFlow::Continue(());
        }
        let first = list.first().cloned();
        let mut index = 0;
        list.retain(|_| {
            index += 1;
            keep[index - 1]
        });
        if list.is_empty() {
            list.extend(first);
        }
        self.pruned = true;
        ControlFlow::Continue(())
    }
}
