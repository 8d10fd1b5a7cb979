//! The pure sharding model: which logical tables are sharded, broadcast or
//! unsharded, where their data nodes are, and how values pick a node.

use crate::config::file::ConfigFile;
use std::collections::{BTreeMap, BTreeSet};

/// All schemas' rules, keyed by logical schema name.
#[derive(Debug, Clone, Default)]
pub struct ShardingRules {
    pub schemas: BTreeMap<String, SchemaRules>,
}

/// One logical database.
#[derive(Debug, Clone)]
pub struct SchemaRules {
    pub name: String,
    pub default_data_source: String,
    /// Every data source the schema uses: the default first, then in order of appearance.
    pub data_sources: Vec<String>,
    /// Sharded tables by lower-cased logical name.
    pub tables: BTreeMap<String, TableRule>,
    /// Broadcast tables, lower-cased.
    pub broadcast_tables: BTreeSet<String>,
}

/// One sharded logical table (filled in by the sharding work).
#[derive(Debug, Clone)]
pub struct TableRule {
    pub logical_name: String,
}

/// How a logical table is placed.
#[derive(Debug, Clone, Copy)]
pub enum TableKind<'a> {
    Sharded(&'a TableRule),
    Broadcast,
    Unsharded,
}

impl SchemaRules {
    pub fn table_kind(&self, table: &str) -> TableKind<'_> {
        let lower = table.to_ascii_lowercase();
        if let Some(rule) = self.tables.get(&lower) {
            TableKind::Sharded(rule)
        } else if self.broadcast_tables.contains(&lower) {
            TableKind::Broadcast
        } else {
            TableKind::Unsharded
        }
    }
}

impl ShardingRules {
    /// Builds the model from a parsed file, pushing every problem found.
    pub fn build(file: &ConfigFile, problems: &mut Vec<String>) -> ShardingRules {
        let mut schemas = BTreeMap::new();
        for (name, schema) in &file.schemas {
            if !file.data_sources.contains_key(&schema.default_data_source) {
                problems.push(format!(
                    "schemas.{name}.default_data_source: unknown data source `{}`",
                    schema.default_data_source
                ));
            }
            let tables = schema
                .tables
                .keys()
                .map(|t| {
                    (
                        t.to_ascii_lowercase(),
                        TableRule {
                            logical_name: t.clone(),
                        },
                    )
                })
                .collect();
            schemas.insert(
                name.clone(),
                SchemaRules {
                    name: name.clone(),
                    default_data_source: schema.default_data_source.clone(),
                    data_sources: vec![schema.default_data_source.clone()],
                    tables,
                    broadcast_tables: schema
                        .broadcast_tables
                        .iter()
                        .map(|t| t.to_ascii_lowercase())
                        .collect(),
                },
            );
        }
        ShardingRules { schemas }
    }
}
