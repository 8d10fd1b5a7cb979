//! The node space of a statement: the sharded tables it names, which must be
//! one table or tables of one binding group. Their data nodes line up: node
//! `i` of each is in the same data source and joins node `i` of the others,
//! so a route unit is one node index.

use crate::error::Error;
use crate::rules::{SchemaRules, TableRule};
use crate::sql::tables::TableRef;

/// The sharded tables of one statement, node-aligned.
#[derive(Debug, Clone)]
pub struct NodeSpace<'r> {
    /// Each distinct sharded table, in order of first reference.
    pub tables: Vec<&'r TableRule>,
}

impl<'r> NodeSpace<'r> {
    /// The space of `refs`' sharded tables; `None` when there are none. Two
    /// tables that are not bound are refused, naming the construct: a join
    /// when they are in one query block, else a subquery.
    pub fn of(schema: &SchemaRules, refs: &[TableRef<'r>]) -> Result<Option<Self>, Error> {
        let mut tables: Vec<(&'r TableRule, usize)> = Vec::new();
        for table_ref in refs {
            let Some(rule) = table_ref.rule() else {
                continue;
            };
            if tables.iter().any(|(t, _)| std::ptr::eq(*t, rule)) {
                continue;
            }
            if let Some((first, block)) = tables.first() {
                if !schema.are_bound(&first.logical_name, &rule.logical_name) {
                    let construct = if *block == table_ref.block {
                        format!(
                            "JOIN of sharded tables '{}' and '{}' that are not in one binding group",
                            first.logical_name, rule.logical_name
                        )
                    } else {
                        format!(
                            "subquery on sharded table '{}' in a statement on sharded table '{}' (not in one binding group)",
                            rule.logical_name, first.logical_name
                        )
                    };
                    return Err(Error::not_supported(construct));
                }
            }
            tables.push((rule, table_ref.block));
        }
        Ok((!tables.is_empty()).then(|| NodeSpace {
            tables: tables.into_iter().map(|(t, _)| t).collect(),
        }))
    }

    /// A space of one table.
    pub fn single(rule: &'r TableRule) -> Self {
        NodeSpace { tables: vec![rule] }
    }

    /// The number of data nodes of each table.
    pub fn len(&self) -> usize {
        self.tables.first().map_or(0, |t| t.nodes.len())
    }

    /// Whether there are no data nodes (never, for a built rule).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The data source of node `node`.
    pub fn data_source(&self, node: usize) -> &'r str {
        self.tables
            .first()
            .and_then(|t| t.nodes.get(node))
            .map_or("", |n| n.data_source.as_str())
    }

    /// The actual table of `table` (a logical name, lower-cased) at `node`.
    pub fn actual_table(&self, table: &str, node: usize) -> Option<&'r str> {
        self.tables
            .iter()
            .find(|t| t.logical_name.eq_ignore_ascii_case(table))
            .and_then(|t| t.nodes.get(node))
            .map(|n| n.table.as_str())
    }
}
