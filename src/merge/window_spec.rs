//! The description of a window merge: which columns of the unit row hold
//! window functions, what each computes, and over which rows. Part of
//! [`super::SelectMerge`] (its `window`), so golden tests and `PREVIEW`
//! show it.
//!
//! The units return their rows sorted by the merge's `order_by`: the
//! window's PARTITION BY keys first (`partition_keys` of them), then its
//! ORDER BY keys. Rows equal on the partition keys are one partition; rows
//! equal on the rest are peers.

use serde::Serialize;
use std::fmt;

/// The window functions of one SELECT, all over one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowMerge {
    /// How many leading `order_by` keys are PARTITION BY keys.
    pub partition_keys: usize,
    /// The window function columns.
    pub functions: Vec<WindowColumn>,
    /// The most rows one partition may hold (`server.max_window_partition_rows`).
    pub max_partition_rows: u64,
}

/// One window function column of the unit row; the unit's own value only
/// gives the column its type, the merge replaces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowColumn {
    /// The column computed.
    pub column: usize,
    /// What it computes.
    pub function: WindowFunction,
    /// Over which rows of the partition (aggregates, FIRST_VALUE, LAST_VALUE).
    pub frame: Frame,
    /// How many `order_by` keys after the partition keys its window's ORDER
    /// BY names: windows of one partitioning may order by prefixes of the
    /// longest ORDER BY (none: every row of the partition is a peer).
    pub order_keys: usize,
}

/// A window function; `value` names the derived column holding its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowFunction {
    /// ROW_NUMBER().
    RowNumber,
    /// RANK(): 1 + the rows before the current row's peers.
    Rank,
    /// DENSE_RANK(): the number of peer groups up to the current row's.
    DenseRank,
    /// PERCENT_RANK(): (rank - 1) / (rows - 1), 0 for one row.
    PercentRank,
    /// CUME_DIST(): (rows up to the current row's last peer) / rows.
    CumeDist,
    /// NTILE(n).
    Ntile(u64),
    /// LAG(value, offset, default): the value `offset` rows before.
    Lag {
        /// The argument's column.
        value: usize,
        /// Rows back.
        offset: u64,
        /// The default's column; NULL without one.
        default: Option<usize>,
    },
    /// LEAD(value, offset, default): the value `offset` rows after.
    Lead {
        /// The argument's column.
        value: usize,
        /// Rows ahead.
        offset: u64,
        /// The default's column; NULL without one.
        default: Option<usize>,
    },
    /// FIRST_VALUE(value): at the frame's first row.
    FirstValue {
        /// The argument's column.
        value: usize,
    },
    /// LAST_VALUE(value): at the frame's last row.
    LastValue {
        /// The argument's column.
        value: usize,
    },
    /// SUM(value) over the frame.
    Sum {
        /// The argument's column.
        value: usize,
    },
    /// COUNT(value) over the frame; COUNT(*) without a column.
    Count {
        /// The argument's column.
        value: Option<usize>,
    },
    /// AVG(value) over the frame.
    Avg {
        /// The argument's column.
        value: usize,
    },
    /// MIN(value) over the frame.
    Min {
        /// The argument's column.
        value: usize,
    },
    /// MAX(value) over the frame.
    Max {
        /// The argument's column.
        value: usize,
    },
}

/// The rows of the partition an aggregate reads for the current row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// No frame clause, or RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT
    /// ROW: from the first row to the current row's last peer (the whole
    /// partition without ORDER BY).
    Default,
    /// ROWS BETWEEN n PRECEDING (`None`: UNBOUNDED) AND CURRENT ROW.
    Rows {
        /// Rows before the current one.
        preceding: Option<u64>,
    },
}

impl WindowFunction {
    /// The argument and default columns it reads.
    pub fn inputs(&self) -> Vec<usize> {
        use WindowFunction::*;
        match *self {
            RowNumber | Rank | DenseRank | PercentRank | CumeDist | Ntile(_) => Vec::new(),
            Lag { value, default, .. } | Lead { value, default, .. } => {
                std::iter::once(value).chain(default).collect()
            }
            Count { value } => value.into_iter().collect(),
            FirstValue { value }
            | LastValue { value }
            | Sum { value }
            | Avg { value }
            | Min { value }
            | Max { value } => vec![value],
        }
    }
}

/// `window 2 by 1: row_number #0, sum #1 (#5) rows 2` for golden tests.
impl fmt::Display for WindowMerge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "window partition {}", self.partition_keys)?;
        for (i, w) in self.functions.iter().enumerate() {
            let sep = if i == 0 { ": " } else { ", " };
            let name = format!("{:?}", w.function);
            let name = name.split([' ', '(', '{']).next().unwrap_or_default();
            write!(f, "{sep}{} #{}", name.to_lowercase(), w.column)?;
            let inputs = w.function.inputs();
            if !inputs.is_empty() {
                let inputs: Vec<String> = inputs.iter().map(|c| format!("#{c}")).collect();
                write!(f, " ({})", inputs.join(", "))?;
            }
            if let Frame::Rows { preceding } = w.frame {
                match preceding {
                    Some(n) => write!(f, " rows {n}")?,
                    None => write!(f, " rows unbounded")?,
                }
            }
        }
        Ok(())
    }
}
