//! Why a write cannot be placed: each case maps to the MySQL error the client
//! gets (algorithms.md: NULL → 1048, not exactly convertible → 1366).

use super::value::{Conversion, ShardingValue, SqlValue};
use crate::error::{Error, Origin};
use std::fmt;

/// A write whose sharding values do not pick exactly one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The row gives no value for a sharding column.
    MissingValue {
        /// The logical table.
        table: String,
        /// The sharding column.
        column: String,
    },
    /// The sharding value is NULL.
    Null {
        /// The sharding column.
        column: String,
    },
    /// The value does not convert exactly to the column's type.
    Inexact {
        /// The sharding column.
        column: String,
        /// The value as written.
        value: String,
    },
    /// The algorithm cannot place a value of this kind (a string under `mod`).
    Unplaceable {
        /// The sharding column.
        column: String,
        /// The value.
        value: String,
        /// The algorithm's name.
        algorithm: String,
        /// The algorithm's type.
        kind: &'static str,
    },
    /// The rules are inconsistent (a bug): names the logical table.
    Internal(String),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::MissingValue { table, column } => write!(
                f,
                "Field '{column}' doesn't have a default value: an INSERT into sharded table '{table}' must give its sharding column"
            ),
            RouteError::Null { column } => write!(f, "Column '{column}' cannot be null"),
            RouteError::Inexact { column, value } => write!(
                f,
                "Incorrect value: '{value}' for sharding column '{column}': it does not convert exactly to the column's type"
            ),
            RouteError::Unplaceable { column, value, algorithm, kind } => write!(
                f,
                "Incorrect value: {value} for sharding column '{column}': algorithm '{algorithm}' ({kind}) places integers only"
            ),
            RouteError::Internal(table) => write!(f, "internal error: inconsistent sharding rules for table '{table}'"),
        }
    }
}

impl std::error::Error for RouteError {}

impl From<RouteError> for Error {
    fn from(e: RouteError) -> Error {
        let message = e.to_string();
        match e {
            RouteError::MissingValue { .. } => Error::new(1364, "HY000", message, Origin::Client),
            RouteError::Null { .. } => Error::new(1048, "23000", message, Origin::Client),
            RouteError::Inexact { .. } | RouteError::Unplaceable { .. } => {
                Error::new(1366, "HY000", message, Origin::Client)
            }
            RouteError::Internal(_) => Error::internal(message),
        }
    }
}

impl Conversion {
    /// The value for a write (an INSERT row, an UPDATE's pinned value):
    /// NULL and inexact values are refused, naming `column` and `original`.
    pub fn for_write(self, column: &str, original: &SqlValue) -> Result<ShardingValue, RouteError> {
        match self {
            Conversion::Exact(value) => Ok(value),
            Conversion::Null => Err(RouteError::Null {
                column: column.to_string(),
            }),
            Conversion::Inexact => Err(RouteError::Inexact {
                column: column.to_string(),
                value: original.to_string(),
            }),
        }
    }
}

impl fmt::Display for SqlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlValue::Int(i) => write!(f, "{i}"),
            SqlValue::UInt(u) => write!(f, "{u}"),
            SqlValue::Decimal(d) => f.write_str(d),
            SqlValue::Float(x) => write!(f, "{x}"),
            SqlValue::Str(bytes) => f.write_str(&String::from_utf8_lossy(bytes)),
            SqlValue::Null => f.write_str("NULL"),
        }
    }
}
