//! Window functions over the merged rows: the units' streams, sorted by
//! the window's partition keys then its order keys, merge k-way; one
//! partition at a time is buffered, its window values computed as MySQL
//! computes them, and its rows sent on. Memory is bounded by the largest
//! partition, capped by [`WindowMerge::max_partition_rows`].
//!
//! A result of at most that many rows is held back until it is complete,
//! so a partition past the cap is refused before any row is sent; a longer
//! result streams once it has exceeded the cap, and a partition past the
//! cap after that ends the result with the error instead of its end.

use super::aggregate::Numeric;
use super::compare::{compare_rows, compare_values, operand, resolve, Comparator, Key, Purpose};
use super::engine::MergeStats;
use super::number::{format_double, Exact};
use super::output::Output;
use super::source::{RowSink, RowSource};
use super::spec::SelectMerge;
use super::stream::Input;
use super::window_spec::{Frame, WindowColumn, WindowFunction, WindowMerge};
use crate::error::Error;
use bigdecimal::num_bigint::BigInt;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::cmp::Ordering;

/// The most rows a `ROWS n PRECEDING` frame may span: each row's value is
/// computed over its frame afresh.
pub const MAX_ROWS_PRECEDING: u64 = 1000;

/// Runs a window merge: `order` is the resolved `spec.order_by`.
pub(crate) async fn run<S: RowSource, K: RowSink>(
    spec: &SelectMerge,
    window: &WindowMerge,
    order: Vec<Key>,
    columns: &[Column],
    sources: Vec<S>,
    output: &mut Output<'_, K>,
) -> Result<MergeStats, Error> {
    let functions = window
        .functions
        .iter()
        .map(|w| Resolved::new(w, columns, &spec.weights))
        .collect::<Result<Vec<_>, Error>>()?;
    let split = window.partition_keys.min(order.len());
    let (partition_keys, peer_keys) = order.split_at(split);
    let cap = window.max_partition_rows;
    // Rows past OFFSET + LIMIT are never sent: stop reading there.
    let wanted = spec.limit.map(|l| l.saturating_add(spec.offset));
    let mut input = if order.is_empty() {
        Input::concat(sources, columns.len())
    } else {
        Input::sorted(sources, columns.len(), order.clone())
    };
    let mut partition: Vec<Vec<Value>> = Vec::new();
    let mut held = Held::new(cap);
    let mut stats = MergeStats::default();
    loop {
        let row = input.next().await?;
        let ends = match (&row, partition.first()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(row), Some(first)) => compare_rows(partition_keys, first, row) != Ordering::Equal,
        };
        if ends {
            compute(&functions, peer_keys, &mut partition)?;
            stats.groups += 1;
            for row in partition.drain(..) {
                held.push(row, output).await?;
            }
            if wanted.is_some_and(|w| held.emitted >= w) {
                break;
            }
        }
        let Some(row) = row else { break };
        if partition.len() as u64 >= cap {
            return Err(Error::not_supported(format!(
                "a window partition of more than {cap} rows (server.max_window_partition_rows) across data nodes"
            )));
        }
        partition.push(row);
    }
    held.finish(output).await?;
    stats.rows_read = input.rows_read();
    stats.rows_sent = output.sent();
    Ok(stats)
}

/// Rows held back while the result is no longer than the cap.
struct Held {
    /// The rows not yet sent.
    rows: Vec<Vec<Value>>,
    /// Rows computed so far.
    emitted: u64,
    /// Hold at most this many, then stream.
    cap: u64,
    /// The cap was passed: rows go straight to the output.
    streaming: bool,
}

impl Held {
    fn new(cap: u64) -> Held {
        Held {
            rows: Vec::new(),
            emitted: 0,
            cap,
            streaming: false,
        }
    }

    async fn push<K: RowSink>(
        &mut self,
        row: Vec<Value>,
        output: &mut Output<'_, K>,
    ) -> Result<(), Error> {
        self.emitted += 1;
        if self.streaming {
            return output.push(row).await;
        }
        self.rows.push(row);
        if self.rows.len() as u64 > self.cap {
            self.streaming = true;
            self.finish(output).await?;
        }
        Ok(())
    }

    async fn finish<K: RowSink>(&mut self, output: &mut Output<'_, K>) -> Result<(), Error> {
        for row in self.rows.drain(..) {
            if output.is_full() {
                break;
            }
            output.push(row).await?;
        }
        Ok(())
    }
}

/// One window column resolved against the unit result's columns.
#[derive(Debug, Clone)]
struct Resolved {
    /// The description.
    column: WindowColumn,
    /// How SUM and AVG print: the window column's exact scale.
    scale: u32,
    /// How the value compares (MIN, MAX).
    comparator: Comparator,
    /// PERCENT_RANK's and CUME_DIST's decimals.
    decimals: u8,
}

impl Resolved {
    fn new(
        column: &WindowColumn,
        columns: &[Column],
        weights: &[super::spec::Weight],
    ) -> Result<Resolved, Error> {
        let meta = |at: usize| {
            columns.get(at).ok_or_else(|| {
                Error::internal(format!(
                    "merge: a window names column #{at}, the unit result has {}",
                    columns.len()
                ))
            })
        };
        let own = meta(column.column)?;
        for input in column.function.inputs() {
            meta(input)?;
        }
        let mut scale = 0;
        let mut comparator = Comparator::Bytes;
        use WindowFunction::*;
        match column.function {
            Sum { value } | Avg { value } => {
                let (Numeric::Exact { .. }, Numeric::Exact { scale: s }) =
                    (Numeric::of(meta(value)?), Numeric::of(own))
                else {
                    return Err(Error::not_supported(
                        "SUM or AVG OVER a value that is not an exact number across data nodes",
                    ));
                };
                scale = s;
            }
            Min { value } | Max { value } => {
                same_type(own, meta(value)?)?;
                comparator = resolve(columns, weights, value, Purpose::Value)?;
            }
            Lag { value, .. } | Lead { value, .. } | FirstValue { value } | LastValue { value } => {
                same_type(own, meta(value)?)?
            }
            Ntile(0) => {
                return Err(Error::not_supported("NTILE(0) across data nodes"));
            }
            _ => {}
        }
        if let Frame::Rows { preceding: Some(n) } = column.frame {
            if n > MAX_ROWS_PRECEDING {
                return Err(Error::not_supported(format!(
                    "ROWS frames of more than {MAX_ROWS_PRECEDING} PRECEDING across data nodes"
                )));
            }
        }
        Ok(Resolved {
            column: column.clone(),
            scale,
            comparator,
            decimals: own.decimals(),
        })
    }
}

/// A value copied into the window column prints as the window column's
/// type only when the two types are the same.
fn same_type(window: &Column, value: &Column) -> Result<(), Error> {
    let numeric = |c: &Column| {
        !matches!(
            c.column_type(),
            ColumnType::MYSQL_TYPE_VARCHAR
                | ColumnType::MYSQL_TYPE_VAR_STRING
                | ColumnType::MYSQL_TYPE_STRING
                | ColumnType::MYSQL_TYPE_BLOB
        )
    };
    let same = window.column_type() == value.column_type()
        && (window.decimals() == value.decimals() || !numeric(window));
    if same {
        Ok(())
    } else {
        Err(Error::not_supported(format!(
            "window function '{}' whose type differs from its argument's across data nodes",
            window.name_str()
        )))
    }
}

/// Writes every window value of one partition (rows in window order).
fn compute(
    functions: &[Resolved],
    peer_keys: &[Key],
    rows: &mut [Vec<Value>],
) -> Result<(), Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut peers: Vec<(usize, Peers)> = Vec::new();
    for function in functions {
        let keys = function.column.order_keys.min(peer_keys.len());
        if !peers.iter().any(|(k, _)| *k == keys) {
            peers.push((keys, Peers::of(&peer_keys[..keys], rows)));
        }
        let Some((_, of)) = peers.iter().find(|(k, _)| *k == keys) else {
            continue;
        };
        let values = values_of(function, of, rows)?;
        for (row, value) in rows.iter_mut().zip(values) {
            if let Some(slot) = row.get_mut(function.column.column) {
                *slot = value;
            }
        }
    }
    Ok(())
}

/// Each row's peer group in one partition.
struct Peers {
    /// The group's first row.
    first: Vec<usize>,
    /// The group's last row.
    last: Vec<usize>,
    /// The group's number, from 1.
    dense: Vec<u64>,
}

impl Peers {
    /// The peer groups of `rows` (sorted by `keys`): rows equal on every key.
    fn of(keys: &[Key], rows: &[Vec<Value>]) -> Peers {
        let n = rows.len();
        let mut first = vec![0; n];
        let mut last = vec![0; n];
        let mut dense = vec![0u64; n];
        let mut start = 0;
        let mut groups = 0;
        for i in 0..n {
            if i > 0 && compare_rows(keys, &rows[i - 1], &rows[i]) != Ordering::Equal {
                last[start..i].fill(i - 1);
                start = i;
            }
            if i == start {
                groups += 1;
            }
            first[i] = start;
            dense[i] = groups;
        }
        last[start..n].fill(n.saturating_sub(1));
        Peers { first, last, dense }
    }
}

fn text(s: String) -> Value {
    Value::Bytes(s.into_bytes())
}

fn at(rows: &[Vec<Value>], row: usize, column: usize) -> Value {
    rows.get(row)
        .and_then(|r| r.get(column))
        .cloned()
        .unwrap_or(Value::NULL)
}

/// The values of one window column over one partition.
fn values_of(function: &Resolved, peers: &Peers, rows: &[Vec<Value>]) -> Result<Vec<Value>, Error> {
    let n = rows.len();
    let count = n as u64;
    let frame = |i: usize| match function.column.frame {
        Frame::Default => (0, peers.last[i]),
        Frame::Rows { preceding: None } => (0, i),
        Frame::Rows { preceding: Some(k) } => (
            i.saturating_sub(usize::try_from(k).unwrap_or(usize::MAX)),
            i,
        ),
    };
    use WindowFunction::*;
    let values = match function.column.function {
        RowNumber => (1..=count).map(|r| text(r.to_string())).collect(),
        Rank => (0..n)
            .map(|i| text((peers.first[i] + 1).to_string()))
            .collect(),
        DenseRank => peers.dense.iter().map(|d| text(d.to_string())).collect(),
        PercentRank => (0..n)
            .map(|i| {
                let x = if n == 1 {
                    0.0
                } else {
                    peers.first[i] as f64 / (n - 1) as f64
                };
                text(format_double(x, function.decimals))
            })
            .collect(),
        CumeDist => (0..n)
            .map(|i| {
                text(format_double(
                    (peers.last[i] + 1) as f64 / n as f64,
                    function.decimals,
                ))
            })
            .collect(),
        Ntile(buckets) => {
            let quotient = count / buckets;
            let remainder = count % buckets;
            (0..count)
                .map(|i| {
                    let big = (quotient + 1) * remainder;
                    let bucket = if i < big {
                        i / (quotient + 1) + 1
                    } else {
                        (i - big) / quotient.max(1) + remainder + 1
                    };
                    text(bucket.to_string())
                })
                .collect()
        }
        Lag {
            value,
            offset,
            default,
        }
        | Lead {
            value,
            offset,
            default,
        } => {
            let back = matches!(function.column.function, Lag { .. });
            (0..n)
                .map(|i| {
                    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
                    let other = if back {
                        i.checked_sub(offset)
                    } else {
                        i.checked_add(offset).filter(|j| *j < n)
                    };
                    match other {
                        Some(j) => at(rows, j, value),
                        None => default.map_or(Value::NULL, |d| at(rows, i, d)),
                    }
                })
                .collect()
        }
        FirstValue { value } => (0..n).map(|i| at(rows, frame(i).0, value)).collect(),
        LastValue { value } => (0..n).map(|i| at(rows, frame(i).1, value)).collect(),
        Sum { .. } | Count { .. } | Avg { .. } | Min { .. } | Max { .. } => {
            let mut out = Vec::with_capacity(n);
            let mut acc = Acc::default();
            let mut upto = 0;
            for i in 0..n {
                let (s, e) = frame(i);
                if s != 0 || e + 1 < upto {
                    acc = Acc::default();
                    upto = s;
                }
                while upto <= e {
                    acc.add(function, rows, upto)?;
                    upto += 1;
                }
                out.push(acc.value(function, rows));
            }
            out
        }
    };
    Ok(values)
}

/// A running aggregate over the rows added.
#[derive(Debug, Default)]
struct Acc {
    /// The exact sum, `None` until a non-NULL value.
    sum: Option<Exact>,
    /// The non-NULL values (rows for COUNT(*)).
    count: u64,
    /// The row of the best value so far (MIN, MAX).
    best: Option<usize>,
}

impl Acc {
    fn add(&mut self, function: &Resolved, rows: &[Vec<Value>], row: usize) -> Result<(), Error> {
        use WindowFunction::*;
        let value = match function.column.function {
            Sum { value }
            | Avg { value }
            | Min { value }
            | Max { value }
            | Count { value: Some(value) } => at(rows, row, value),
            Count { value: None } => {
                self.count += 1;
                return Ok(());
            }
            _ => return Ok(()),
        };
        if value == Value::NULL {
            return Ok(());
        }
        self.count += 1;
        match function.column.function {
            Sum { .. } | Avg { .. } => {
                let part = Exact::of(&value).ok_or_else(|| {
                    Error::internal(format!(
                        "merge: a unit sent {value:?} where a number belongs"
                    ))
                })?;
                match &mut self.sum {
                    Some(sum) => sum.add(&part),
                    None => self.sum = Some(part),
                }
            }
            Min { value: column } | Max { value: column } => {
                let max = matches!(function.column.function, Max { .. });
                let better = match self.best {
                    None => true,
                    Some(best) => {
                        let c = function.comparator;
                        let order = compare_values(
                            c,
                            operand(c, column, &rows[row]),
                            operand(c, column, &rows[best]),
                        );
                        if max {
                            order == Ordering::Greater
                        } else {
                            order == Ordering::Less
                        }
                    }
                };
                if better {
                    self.best = Some(row);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn value(&self, function: &Resolved, rows: &[Vec<Value>]) -> Value {
        use WindowFunction::*;
        match function.column.function {
            Count { .. } => text(self.count.to_string()),
            Sum { .. } => self
                .sum
                .as_ref()
                .map_or(Value::NULL, |s| text(s.format(function.scale))),
            Avg { .. } => match &self.sum {
                Some(s) if self.count > 0 => {
                    text(s.divide(&BigInt::from(self.count), function.scale))
                }
                _ => Value::NULL,
            },
            Min { value } | Max { value } => self.best.map_or(Value::NULL, |b| at(rows, b, value)),
            _ => Value::NULL,
        }
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
