//! One sharded logical table: its data nodes, its sharding levels and the
//! routing functions the router calls. Routing is pure and cheap: a point
//! lookup is one or two algorithm calls and one small allocation.

use super::algorithm::{ShardingAlgorithm, Targets};
use super::condition::ColumnCondition;
use super::value::{
    convert, ColumnKind, Conversion, ShardingValue, SqlValue, ValueDomain, ValueUse,
};
use super::RouteError;
use crate::keygen::KeyGeneratorKind;
use std::fmt;
use std::sync::Arc;

/// One actual table in one data source: `data_source.actual_table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataNode {
    /// The data source holding the actual table.
    pub data_source: String,
    /// The actual table's name.
    pub table: String,
}

impl fmt::Display for DataNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.data_source, self.table)
    }
}

/// One level of placement: a sharding column and its sharding algorithm.
#[derive(Debug, Clone)]
pub struct ShardingLevel {
    /// The sharding column, lower-cased (column names are case-insensitive).
    pub column: String,
    /// The algorithm's name in `schemas.S.algorithms`.
    pub algorithm: String,
    /// The algorithm's type (`mod`, `hash_mod`, `range`, `consistent_hash`).
    pub kind: &'static str,
    /// What the algorithm places, for converting values of unknown columns.
    pub domain: ValueDomain,
    /// Whether placement depends on the candidates' names, not only their
    /// count (consistent_hash): binding groups then need equal names.
    pub names_matter: bool,
}

/// How a table's rows are placed, as the rule file says.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// `sharding`: one algorithm picks one of all nodes.
    Single(ShardingLevel),
    /// `database_sharding` picks a data source; `table_sharding`, if any, one
    /// of that data source's tables (else each data source holds one node).
    Database {
        /// Chooses among the table's data sources in order of first appearance.
        database: ShardingLevel,
        /// Chooses among one data source's tables in node order.
        table: Option<ShardingLevel>,
    },
}

impl Strategy {
    /// The sharding levels, outermost first.
    pub fn levels(&self) -> [Option<&ShardingLevel>; 2] {
        match self {
            Strategy::Single(level) => [Some(level), None],
            Strategy::Database { database, table } => [Some(database), table.as_ref()],
        }
    }
}

/// The algorithms bound to this table's candidates, one per level (the table
/// level has one per data source, as each has its own actual tables).
#[derive(Debug, Clone)]
pub(crate) enum Placement {
    /// Over all nodes.
    Single(Arc<dyn ShardingAlgorithm>),
    /// Over data sources, then over each data source's tables.
    Database {
        /// Over `TableRule::data_sources`.
        database: Arc<dyn ShardingAlgorithm>,
        /// Indexed like `TableRule::data_sources`; `None` without table_sharding.
        tables: Option<Vec<Arc<dyn ShardingAlgorithm>>>,
    },
}

/// `key_generator`: the column an INSERT gets a generated value for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGeneratorRule {
    /// The generated column, lower-cased.
    pub column: String,
    /// Snowflake, UUID or segment.
    pub kind: KeyGeneratorKind,
    /// A segment generator's properties.
    pub segment: Option<crate::keygen::SegmentSpec>,
}

/// One sharded logical table.
#[derive(Debug, Clone)]
pub struct TableRule {
    /// The logical name as written in the rule file.
    pub logical_name: String,
    /// The data nodes in node order: the order algorithms index into.
    pub nodes: Vec<DataNode>,
    /// The table's data sources in order of first appearance in `nodes`.
    pub data_sources: Vec<String>,
    /// For each of `data_sources`, its node indexes in node order.
    pub nodes_by_data_source: Vec<Vec<usize>>,
    /// The sharding levels.
    pub strategy: Strategy,
    /// The generated key column, if any.
    pub key_generator: Option<KeyGeneratorRule>,
    /// Index into `SchemaRules::binding_groups`, if the table is in one.
    pub binding_group: Option<usize>,
    /// The distinct sharding columns, lower-cased.
    pub(crate) columns: Vec<String>,
    /// The bound algorithms.
    pub(crate) placement: Placement,
}

impl TableRule {
    /// The distinct sharding columns, lower-cased: the columns whose
    /// conditions and INSERT values `route` and `route_exact` ask for.
    pub fn sharding_columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether `column` (any case) is a sharding column of this table.
    pub fn is_sharding_column(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c.eq_ignore_ascii_case(column))
    }

    /// What the algorithms on `column` place; `Integer` when any of them
    /// needs integers. `None` when it is not a sharding column.
    pub fn domain(&self, column: &str) -> Option<ValueDomain> {
        let levels = self.levels();
        let mut found = None;
        for level in levels.into_iter().flatten() {
            if level.column.eq_ignore_ascii_case(column) {
                found = match (found, level.domain) {
                    (Some(ValueDomain::Integer), _) | (_, ValueDomain::Integer) => {
                        Some(ValueDomain::Integer)
                    }
                    _ => Some(ValueDomain::Bytes),
                };
            }
        }
        found
    }

    /// Converts a SQL value for sharding column `column` of kind `kind`
    /// (algorithms.md); `Inexact` when `column` is not a sharding column.
    pub fn convert(
        &self,
        column: &str,
        value: &SqlValue,
        kind: ColumnKind,
        usage: ValueUse,
    ) -> Conversion {
        match self.domain(column) {
            Some(domain) => convert(value, kind, domain, usage),
            None => Conversion::Inexact,
        }
    }

    /// The sharding levels, outermost first.
    pub fn levels(&self) -> [Option<&ShardingLevel>; 2] {
        self.strategy.levels()
    }

    /// The node indexes (ascending) a statement can touch, given the
    /// condition on each sharding column (`condition_of` gets a lower-cased
    /// column from [`Self::sharding_columns`]). A column without a usable
    /// condition should get [`ColumnCondition::Any`].
    pub fn route(&self, condition_of: impl Fn(&str) -> ColumnCondition) -> Vec<usize> {
        match (&self.placement, &self.strategy) {
            (Placement::Single(algorithm), Strategy::Single(level)) => indexes(
                targets(algorithm.as_ref(), &condition_of(&level.column)),
                self.nodes.len(),
            ),
            (
                Placement::Database { database, tables },
                Strategy::Database {
                    database: db_level,
                    table,
                },
            ) => {
                let db_condition = condition_of(&db_level.column);
                let same_column = table.as_ref().is_some_and(|t| t.column == db_level.column);
                if let (Some(tables), true, ColumnCondition::Values(values)) =
                    (tables, same_column, &db_condition)
                {
                    return self.route_values_two_levels(database.as_ref(), tables, values);
                }
                let chosen = indexes(
                    targets(database.as_ref(), &db_condition),
                    self.data_sources.len(),
                );
                let table_condition = table.as_ref().map(|t| condition_of(&t.column));
                let mut out = Vec::new();
                for ds in chosen {
                    let nodes = &self.nodes_by_data_source[ds];
                    match (tables, &table_condition) {
                        (Some(tables), Some(condition)) => {
                            let picked =
                                indexes(targets(tables[ds].as_ref(), condition), nodes.len());
                            out.extend(picked.into_iter().map(|t| nodes[t]));
                        }
                        _ => out.extend_from_slice(nodes),
                    }
                }
                out.sort_unstable();
                out
            }
            // build() pairs Single with Single and Database with Database.
            _ => (0..self.nodes.len()).collect(),
        }
    }

    /// Both levels on one column with exact values: place each value fully,
    /// rather than crossing every chosen data source with every chosen table.
    fn route_values_two_levels(
        &self,
        database: &dyn ShardingAlgorithm,
        tables: &[Arc<dyn ShardingAlgorithm>],
        values: &[ShardingValue],
    ) -> Vec<usize> {
        let mut out = Vec::with_capacity(values.len());
        for value in values {
            match self.place_two_levels(database, tables, value, value) {
                Some(node) => out.push(node),
                None => return (0..self.nodes.len()).collect(),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The node of a (database value, table value) pair.
    fn place_two_levels(
        &self,
        database: &dyn ShardingAlgorithm,
        tables: &[Arc<dyn ShardingAlgorithm>],
        db_value: &ShardingValue,
        table_value: &ShardingValue,
    ) -> Option<usize> {
        let ds = database.place(db_value)?;
        let t = tables.get(ds)?.place(table_value)?;
        self.nodes_by_data_source.get(ds)?.get(t).copied()
    }

    /// The one node a row with these sharding values goes to (an INSERT
    /// row). `value_of` gets a lower-cased column from
    /// [`Self::sharding_columns`] and returns its converted value.
    pub fn route_exact<'v>(
        &self,
        value_of: impl Fn(&str) -> Option<&'v ShardingValue>,
    ) -> Result<usize, RouteError> {
        let value = |level: &ShardingLevel| {
            value_of(&level.column).ok_or_else(|| RouteError::MissingValue {
                table: self.logical_name.clone(),
                column: level.column.clone(),
            })
        };
        let place =
            |algorithm: &dyn ShardingAlgorithm, level: &ShardingLevel, v: &ShardingValue| {
                algorithm.place(v).ok_or_else(|| RouteError::Unplaceable {
                    column: level.column.clone(),
                    value: v.to_string(),
                    algorithm: level.algorithm.clone(),
                    kind: level.kind,
                })
            };
        match (&self.placement, &self.strategy) {
            (Placement::Single(algorithm), Strategy::Single(level)) => {
                place(algorithm.as_ref(), level, value(level)?)
            }
            (
                Placement::Database { database, tables },
                Strategy::Database {
                    database: db_level,
                    table,
                },
            ) => {
                let ds = place(database.as_ref(), db_level, value(db_level)?)?;
                let nodes = self
                    .nodes_by_data_source
                    .get(ds)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let t = match (tables, table) {
                    (Some(tables), Some(level)) => match tables.get(ds) {
                        Some(algorithm) => place(algorithm.as_ref(), level, value(level)?)?,
                        None => usize::MAX,
                    },
                    _ => 0,
                };
                nodes
                    .get(t)
                    .copied()
                    .ok_or_else(|| RouteError::Internal(self.logical_name.clone()))
            }
            _ => Err(RouteError::Internal(self.logical_name.clone())),
        }
    }

    /// `SHOW SHARDING RULES`' sharding column, e.g.
    /// `database: user_id ds_mod(mod); table: order_id tbl_mod(mod)`.
    pub fn sharding_description(&self) -> String {
        let level = |l: &ShardingLevel| format!("{} {}({})", l.column, l.algorithm, l.kind);
        match &self.strategy {
            Strategy::Single(l) => level(l),
            Strategy::Database {
                database,
                table: None,
            } => format!("database: {}", level(database)),
            Strategy::Database {
                database,
                table: Some(t),
            } => {
                format!("database: {}; table: {}", level(database), level(t))
            }
        }
    }

    /// The data nodes as `ds.table`, comma separated.
    pub fn nodes_description(&self) -> String {
        let names: Vec<String> = self.nodes.iter().map(ToString::to_string).collect();
        names.join(", ")
    }
}

/// The candidates one condition reaches under one algorithm.
fn targets(algorithm: &dyn ShardingAlgorithm, condition: &ColumnCondition) -> Targets {
    match condition {
        ColumnCondition::Any => Targets::All,
        ColumnCondition::Never => Targets::Indexes(Vec::new()),
        ColumnCondition::Values(values) => {
            let mut out = Vec::with_capacity(values.len());
            for value in values {
                match algorithm.place(value) {
                    Some(i) => out.push(i),
                    // A value this algorithm cannot place: scatter (correct, slower).
                    None => return Targets::All,
                }
            }
            out.sort_unstable();
            out.dedup();
            Targets::Indexes(out)
        }
        ColumnCondition::Range { low, high } => match ColumnCondition::inclusive(*low, *high) {
            None => Targets::Indexes(Vec::new()),
            Some((low, high)) => algorithm.place_range(low, high),
        },
    }
}

/// Targets as explicit indexes in `0..n`.
fn indexes(targets: Targets, n: usize) -> Vec<usize> {
    match targets {
        Targets::All => (0..n).collect(),
        Targets::Indexes(mut v) => {
            v.retain(|&i| i < n);
            v
        }
    }
}
