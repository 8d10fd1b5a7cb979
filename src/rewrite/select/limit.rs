//! LIMIT and OFFSET of a merged SELECT: the merge applies them, each unit
//! returns at most `offset + limit` rows (when that is exact).

use crate::error::Error;
use crate::rules::SqlValue;
use crate::sql::literal::{operand, Operand};
use crate::sql::params::Bindings;
use sqlparser::ast::{Expr, LimitClause, Value};

/// What the client's LIMIT says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// No LIMIT.
    None,
    /// Rows skipped, then at most `limit` rows sent (`None`: all).
    Known {
        /// OFFSET.
        offset: u64,
        /// LIMIT.
        limit: Option<u64>,
    },
    /// A `?` without a bound value (PREVIEW, or a statement being
    /// prepared): the units keep the client's LIMIT clause as written.
    Unbound,
}

impl Limit {
    /// Reads `clause`.
    pub fn read(clause: Option<&LimitClause>, bindings: &Bindings<'_>) -> Result<Limit, Error> {
        let (offset, limit) = match clause {
            None => return Ok(Limit::None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(Error::not_supported("LIMIT BY across data nodes"));
                }
                (offset.as_ref().map(|o| &o.value), limit.as_ref())
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(offset), Some(limit)),
        };
        let offset = match offset.map(|e| value(e, bindings)).transpose()? {
            Some(None) => return Ok(Limit::Unbound),
            Some(Some(n)) => n,
            None => 0,
        };
        let limit = match limit.map(|e| value(e, bindings)).transpose()? {
            Some(None) => return Ok(Limit::Unbound),
            Some(Some(n)) => Some(n),
            None => None,
        };
        Ok(Limit::Known { offset, limit })
    }

    /// The rows each unit needs at most: `offset + limit`.
    pub fn unit_rows(&self) -> Option<u64> {
        match self {
            Limit::Known {
                offset,
                limit: Some(limit),
            } => Some(offset.saturating_add(*limit)),
            _ => None,
        }
    }
}

/// A LIMIT or OFFSET value: `Ok(None)` for an unbound `?`.
fn value(expr: &Expr, bindings: &Bindings<'_>) -> Result<Option<u64>, Error> {
    if let Expr::Value(v) = expr {
        if let Value::Number(text, _) = &v.value {
            return text
                .parse::<u64>()
                .map(Some)
                .map_err(|_| limit_error(&expr.to_string()));
        }
    }
    match operand(expr, bindings, true) {
        Operand::Unbound => Ok(None),
        Operand::Value(SqlValue::Int(n)) => u64::try_from(n)
            .map(Some)
            .map_err(|_| limit_error(&n.to_string())),
        Operand::Value(SqlValue::UInt(n)) => Ok(Some(n)),
        Operand::Value(SqlValue::Str(bytes)) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| limit_error(&String::from_utf8_lossy(&bytes))),
        Operand::Value(other) => Err(limit_error(&format!("{other:?}"))),
        Operand::Expression => Err(limit_error(&expr.to_string())),
    }
}

/// MySQL's answer to a LIMIT that is no row count.
fn limit_error(value: &str) -> Error {
    Error::new(
        1210,
        "HY000",
        format!("Incorrect arguments to LIMIT: {value}"),
        crate::error::Origin::Client,
    )
}
