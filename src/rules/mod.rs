//! The pure sharding model: which logical tables are sharded, broadcast or
//! unsharded, where their data nodes are, and how values pick a data node.
//!
//! Built (and validated) from the rule file by [`ShardingRules::build`]; the
//! router asks a [`SchemaRules`] for a table's [`TableKind`], converts the
//! statement's values with [`TableRule::convert`], and calls
//! [`TableRule::route`] (reads, updates, deletes) or [`TableRule::route_exact`]
//! (one INSERT row) to get node indexes into [`TableRule::nodes`].

pub mod algorithm;
mod binding;
mod build;
pub mod condition;
pub mod inline;
mod route_error;
pub mod table;
pub mod value;

pub use condition::ColumnCondition;
pub use route_error::RouteError;
pub use table::{DataNode, KeyGeneratorRule, ShardingLevel, Strategy, TableRule};
pub use value::{ColumnKind, Conversion, ShardingValue, SqlValue, ValueDomain, ValueUse};

use crate::config::file::ConfigFile;
use std::collections::{BTreeMap, BTreeSet};

/// All schemas' rules, keyed by logical schema name.
#[derive(Debug, Clone, Default)]
pub struct ShardingRules {
    /// Each logical database by its name.
    pub schemas: BTreeMap<String, SchemaRules>,
}

/// One logical database.
#[derive(Debug)]
pub struct SchemaRules {
    /// The name clients `USE`.
    pub name: String,
    /// Where unsharded tables live.
    pub default_data_source: String,
    /// Every data source the schema uses: the default first, then in order of
    /// appearance in the sharded tables' nodes (tables by name).
    pub data_sources: Vec<String>,
    /// Sharded tables by lower-cased logical name.
    pub tables: BTreeMap<String, TableRule>,
    /// Broadcast tables, lower-cased: a full copy in every data source.
    pub broadcast_tables: BTreeSet<String>,
    /// Binding groups: lower-cased logical names; `TableRule::binding_group`
    /// indexes into this.
    pub binding_groups: Vec<Vec<String>>,
    /// The byte lengths of the sharded and broadcast tables' names, a bit
    /// each (see [`length_bit`]): most words of a statement are told apart
    /// from them by length alone.
    routed_name_lengths: u64,
    /// Tells these rules from any others built (or cloned) in this
    /// process: what is kept by the rules it was planned under (plan
    /// templates) is kept by this number, and a reload makes new rules.
    generation: u64,
}

/// The last [`SchemaRules::generation`] given out.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next_generation() -> u64 {
    GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

/// A copy is other rules: its public fields may be changed, so it gets
/// its own generation.
impl Clone for SchemaRules {
    fn clone(&self) -> Self {
        SchemaRules {
            name: self.name.clone(),
            default_data_source: self.default_data_source.clone(),
            data_sources: self.data_sources.clone(),
            tables: self.tables.clone(),
            broadcast_tables: self.broadcast_tables.clone(),
            binding_groups: self.binding_groups.clone(),
            routed_name_lengths: self.routed_name_lengths,
            generation: next_generation(),
        }
    }
}

/// A name's length as one bit of a `u64`: 63 stands for 63 bytes or more.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// `name` lower-cased (ASCII, as the rule file's names are), on the stack
/// when it fits: a lookup per word of a statement allocates nothing.
fn lower_case<'b>(name: &str, buf: &'b mut [u8; 64]) -> std::borrow::Cow<'b, str> {
    if let Some(slot) = buf.get_mut(..name.len()) {
        slot.copy_from_slice(name.as_bytes());
        slot.make_ascii_lowercase();
        // ASCII lower-casing keeps UTF-8 valid.
        if let Ok(lower) = std::str::from_utf8(slot) {
            return std::borrow::Cow::Borrowed(lower);
        }
    }
    std::borrow::Cow::Owned(name.to_ascii_lowercase())
}

/// How a logical table is placed.
#[derive(Debug, Clone, Copy)]
pub enum TableKind<'a> {
    /// Rows spread over data nodes by its rule.
    Sharded(&'a TableRule),
    /// A full copy in every data source of the schema.
    Broadcast,
    /// Lives in the schema's default data source.
    Unsharded,
}

impl SchemaRules {
    /// Builds a schema's rules; `tables` and `broadcast_tables` lower-cased.
    pub fn new(
        name: String,
        default_data_source: String,
        data_sources: Vec<String>,
        tables: BTreeMap<String, TableRule>,
        broadcast_tables: BTreeSet<String>,
        binding_groups: Vec<Vec<String>>,
    ) -> SchemaRules {
        let routed_name_lengths = tables
            .keys()
            .chain(&broadcast_tables)
            .fold(0, |bits, name| bits | length_bit(name.len()));
        SchemaRules {
            name,
            default_data_source,
            data_sources,
            tables,
            broadcast_tables,
            binding_groups,
            routed_name_lengths,
            generation: next_generation(),
        }
    }

    /// A number no other rules of this process have: plans kept by it
    /// are plans under exactly these rules.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// How `table` (any case) is placed.
    pub fn table_kind(&self, table: &str) -> TableKind<'_> {
        if self.routed_name_lengths & length_bit(table.len()) == 0 {
            return TableKind::Unsharded;
        }
        let mut buf = [0u8; 64];
        let lower = lower_case(table, &mut buf);
        if let Some(rule) = self.tables.get(lower.as_ref()) {
            TableKind::Sharded(rule)
        } else if self.broadcast_tables.contains(lower.as_ref()) {
            TableKind::Broadcast
        } else {
            TableKind::Unsharded
        }
    }

    /// Whether the schema has sharded or broadcast tables at all.
    pub fn has_routed_tables(&self) -> bool {
        self.routed_name_lengths != 0
    }

    /// Whether `word` (any case) names a sharded or broadcast table.
    pub fn names_routed(&self, word: &str) -> bool {
        !matches!(self.table_kind(word), TableKind::Unsharded)
    }

    /// The sharded table `table` (any case), if it is one.
    pub fn table(&self, table: &str) -> Option<&TableRule> {
        if self.routed_name_lengths & length_bit(table.len()) == 0 {
            return None;
        }
        let mut buf = [0u8; 64];
        self.tables.get(lower_case(table, &mut buf).as_ref())
    }

    /// The binding group (lower-cased names) that `table` is in, if any.
    pub fn binding_group_of(&self, table: &str) -> Option<&[String]> {
        let group = self.table(table)?.binding_group?;
        self.binding_groups.get(group).map(Vec::as_slice)
    }

    /// Whether two sharded tables are in the same binding group, so that node
    /// `i` of one joins node `i` of the other.
    pub fn are_bound(&self, a: &str, b: &str) -> bool {
        match (self.table(a), self.table(b)) {
            (Some(a), Some(b)) => a.binding_group.is_some() && a.binding_group == b.binding_group,
            _ => false,
        }
    }
}

impl ShardingRules {
    /// Builds the model from a parsed file, pushing every problem found
    /// (each naming its key path); the result is only meaningful when no
    /// problem was pushed.
    pub fn build(file: &ConfigFile, problems: &mut Vec<String>) -> ShardingRules {
        let schemas = file
            .schemas
            .iter()
            .map(|(name, schema)| {
                (
                    name.clone(),
                    build::schema(name, schema, &file.data_sources, problems),
                )
            })
            .collect();
        ShardingRules { schemas }
    }

    /// The schema `name`, if it exists.
    pub fn schema(&self, name: &str) -> Option<&SchemaRules> {
        self.schemas.get(name)
    }
}

/// `[A-Za-z0-9_]+`: data source and schema names, columns.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `[A-Za-z0-9_$]+`: logical and actual table names.
pub fn is_table_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
