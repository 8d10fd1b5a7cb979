//! The plan as data, below the planning stages: what [`crate::route`],
//! [`crate::rewrite`] and [`crate::plan`] hand each other and the rest of
//! the proxy. It imports none of them, so each stage depends only on the
//! ones under it (plan → rewrite → route → plan_model).

use crate::keygen::KeyGenerator;
use crate::merge::SelectMerge;
use crate::rules::{ColumnKind, SchemaRules};
use mysql_common::value::Value;
use serde::{Serialize, Serializer};
use std::fmt;

/// What the planner knows besides the statement.
#[derive(Clone, Copy)]
pub struct PlanContext<'a> {
    /// The rules of the session's schema.
    pub schema: &'a SchemaRules,
    /// Kind of a sharding column as read from the backend's table definition
    /// (logical table name lower-case, column lower-case); `Unknown` when not read.
    pub column_kind: &'a dyn Fn(&str, &str) -> ColumnKind,
    /// Generates keys for INSERTs that omit a key_generator column. PREVIEW
    /// should pass the proxy's generator too, so it shows real ids (they are
    /// then skipped, which is harmless). With `None` the key is shown as an
    /// unbound `?` and the row routes to every node it could reach; a bound
    /// statement (with params) then fails.
    pub keys: Option<&'a KeyGenerator>,
    /// Whether a logical table's (lower-case) key_generator column is binary
    /// (BINARY/VARBINARY), so a UUID key is its 16 bytes rather than its text.
    pub binary_key: &'a dyn Fn(&str) -> bool,
}

/// One statement's plan: what runs where, and how the answers combine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionPlan {
    /// The execution units, in node order.
    pub units: Vec<ExecutionUnit>,
    /// How the units' answers become the client's one answer.
    pub merge: MergePlan,
    /// An integer key (snowflake or segment) the proxy generated for an
    /// INSERT: the OK packet's last insert id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_key: Option<u64>,
}

/// One statement for one data source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionUnit {
    /// The data source that runs it.
    pub data_source: String,
    /// The SQL the data source receives (logical names rewritten to actual ones).
    pub sql: String,
    /// This unit's parameters, in `?` order (empty for the text protocol).
    #[serde(
        serialize_with = "serialize_values",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub params: Vec<Value>,
}

/// How the answers of several units become one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergePlan {
    /// One unit: its answer is relayed as is.
    Single,
    /// Result rows of every unit, in unit order.
    Concat,
    /// A SELECT whose rows merge (ORDER BY, LIMIT, aggregates, GROUP BY,
    /// HAVING, DISTINCT): one unit per data source, each returning the
    /// columns the description names, its rows streamed through the merge.
    Select(Box<SelectMerge>),
    /// A UNION whose rows merge (DISTINCT, ORDER BY, LIMIT): as
    /// [`MergePlan::Select`], the client's columns described apart.
    Union(Box<UnionMerge>),
    /// A write or DDL on several nodes: one OK, affected rows summed.
    SumAffected,
    /// A write to every copy of a broadcast table: every unit must succeed;
    /// the client sees one copy's OK.
    Broadcast,
}

/// How the units of a UNION merge. The units return the union's rows
/// under derived column names, so the client's columns come from the
/// union itself, run on one node without rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnionMerge {
    /// The merge of the units' rows.
    pub spec: SelectMerge,
    /// The client's union on one node with `LIMIT 0`: its columns are the
    /// client's (names of the first branch, types of all branches).
    pub describe: ExecutionUnit,
}

/// One line for golden tests and the offline preview: `single`, `concat`,
/// `select: <the merge's summary>`, `sum_affected`, `broadcast`.
impl fmt::Display for MergePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergePlan::Single => f.write_str("single"),
            MergePlan::Concat => f.write_str("concat"),
            MergePlan::Select(spec) => write!(f, "select: {spec}"),
            MergePlan::Union(union) => write!(f, "union: {}", union.spec),
            MergePlan::SumAffected => f.write_str("sum_affected"),
            MergePlan::Broadcast => f.write_str("broadcast"),
        }
    }
}

fn serialize_values<S: Serializer>(values: &[Value], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().map(|v| v.as_sql(false)))
}
