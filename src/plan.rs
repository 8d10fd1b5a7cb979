//! The pure kernel: a statement, its parameters and the rules → an
//! [`ExecutionPlan`]. The plan is data: the golden tests, `PREVIEW`, the
//! offline `shardgate preview` and execution all use the same value, so what a
//! DBA previews is exactly what runs.

use mysql_common::value::Value;
use serde::{Serialize, Serializer};

/// One statement's plan: what runs where, and how the answers combine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionPlan {
    /// The execution units, in node order.
    pub units: Vec<ExecutionUnit>,
    /// How the units' answers become the client's one answer.
    pub merge: MergePlan,
    /// A snowflake key the proxy generated for an INSERT: the OK packet's
    /// last insert id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_key: Option<u64>,
}

/// One statement for one data source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionUnit {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergePlan {
    /// One unit: its answer is relayed as is.
    Single,
    /// Result rows of every unit, in unit order.
    Concat,
    /// A write or DDL on several nodes: one OK, affected rows summed.
    SumAffected,
    /// A write to every copy of a broadcast table: every unit must succeed;
    /// the client sees one copy's OK.
    Broadcast,
}

fn serialize_values<S: Serializer>(values: &[Value], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().map(|v| v.as_sql(false)))
}
