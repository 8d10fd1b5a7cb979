//! FROM clauses: table references, joins, and the join conditions that link
//! sharding columns or hold for every row (inner joins).

use super::{BlockKind, Builder};
use crate::error::Error;
use crate::sql::conditions::Key;
use crate::sql::tables::{resolve, ColumnName, RefKind, TableRef};
use sqlparser::ast::{
    Expr, JoinConstraint, JoinOperator, Query, SetExpr, TableFactor, TableWithJoins,
};

impl<'r> Builder<'_, 'r> {
    /// Registers one FROM item (a table and its joins) in `block`; the ON
    /// conditions of inner joins go to `inner_on`.
    pub(super) fn add_joined<'e>(
        &mut self,
        block: usize,
        table: &'e TableWithJoins,
        inner_on: &mut Vec<&'e Expr>,
    ) -> Result<Vec<usize>, Error> {
        let mut left = self.add_factor(block, &table.relation, inner_on)?;
        for join in &table.joins {
            let right = self.add_factor(block, &join.relation, inner_on)?;
            let (constraint, outer) = match &join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::CrossJoin(c)
                | JoinOperator::StraightJoin(c) => (c, None),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => {
                    (c, Some(vec![(left.clone(), right.clone())]))
                }
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => {
                    (c, Some(vec![(right.clone(), left.clone())]))
                }
                JoinOperator::FullOuter(c) => (
                    c,
                    Some(vec![
                        (left.clone(), right.clone()),
                        (right.clone(), left.clone()),
                    ]),
                ),
                other => {
                    return Err(Error::not_supported(format!(
                        "join operator {other:?} on sharded tables"
                    )))
                }
            };
            match constraint {
                JoinConstraint::On(on) => {
                    if outer.is_none() {
                        inner_on.push(on);
                    }
                    let links = self.links(block, on);
                    self.context.blocks[block].links.extend(links);
                }
                JoinConstraint::Using(columns) => {
                    for column in columns.iter().filter_map(ColumnName::of_name) {
                        self.link_shared(block, &left, &right, Some(column.column));
                    }
                }
                JoinConstraint::Natural => self.link_shared(block, &left, &right, None),
                JoinConstraint::None => {}
            }
            if let Some(outer) = outer {
                self.context.blocks[block].outer_joins.extend(outer);
            }
            left.extend(right);
        }
        Ok(left)
    }

    /// Registers one table factor; returns the references it holds.
    fn add_factor<'e>(
        &mut self,
        block: usize,
        factor: &'e TableFactor,
        inner_on: &mut Vec<&'e Expr>,
    ) -> Result<Vec<usize>, Error> {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let (table, kind) = resolve(self.env.schema, name, &self.ctes)?;
                let alias = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase());
                Ok(vec![self.push_ref(block, table, alias, kind)])
            }
            TableFactor::Derived {
                lateral: false,
                subquery,
                alias,
                ..
            } => {
                self.marked
                    .push((&**subquery as *const Query, Some(BlockKind::Derived)));
                let alias = alias.as_ref().map(|a| a.name.value.to_ascii_lowercase());
                let table = alias.clone().unwrap_or_default();
                Ok(vec![self.push_ref(block, table, alias, RefKind::Derived)])
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.add_joined(block, table_with_joins, inner_on),
            other => Err(Error::not_supported(format!(
                "table reference {other} in a statement on sharded tables"
            ))),
        }
    }

    fn push_ref(
        &mut self,
        block: usize,
        table: String,
        alias: Option<String>,
        kind: RefKind<'r>,
    ) -> usize {
        self.context.refs.push(TableRef {
            table,
            alias,
            kind,
            block,
        });
        self.context.refs.len() - 1
    }

    /// Links equal sharding columns of `left` and `right` references: the
    /// column `only`, or every shared one (NATURAL JOIN).
    fn link_shared(&mut self, block: usize, left: &[usize], right: &[usize], only: Option<&str>) {
        let mut links: Vec<(Key, Key)> = Vec::new();
        for &l in left {
            for &r in right {
                let (Some(lr), Some(rr)) =
                    (self.context.refs[l].rule(), self.context.refs[r].rule())
                else {
                    continue;
                };
                for (lc, name) in lr.sharding_columns().iter().enumerate() {
                    if only.is_some_and(|o| !o.eq_ignore_ascii_case(name)) {
                        continue;
                    }
                    if let Some(rc) = rr.sharding_columns().iter().position(|c| c == name) {
                        links.push(((l, lc), (r, rc)));
                    }
                }
            }
        }
        self.context.blocks[block].links.extend(links);
    }
}

/// Marks the parenthesized operands of a UNION as parts of their query.
pub(super) fn mark_set_operands(
    body: &SetExpr,
    marked: &mut Vec<(*const Query, Option<BlockKind>)>,
) {
    match body {
        SetExpr::SetOperation { left, right, .. } => {
            for side in [left, right] {
                match side.as_ref() {
                    SetExpr::Query(query) => marked.push((&**query as *const Query, None)),
                    other => mark_set_operands(other, marked),
                }
            }
        }
        SetExpr::Query(query) => marked.push((&**query as *const Query, None)),
        _ => {}
    }
}
