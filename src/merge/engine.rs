//! [`merge`]: picks how rows flow for a [`SelectMerge`] and runs it.
//!
//! | shape | how | memory |
//! |---|---|---|
//! | no ORDER BY, no groups | concatenation | one row |
//! | ORDER BY, `streams_sorted` | k-way merge | one row per source |
//! | ORDER BY, unsorted streams | sort in memory | every row (2 × offset+limit with LIMIT) |
//! | GROUP BY = ORDER BY keys, `streams_sorted` | k-way merge, groups folded as they pass | one group |
//! | other groups | hash table, then sorted by ORDER BY | every group |
//!
//! DISTINCT remembers each distinct row sent.

use super::compare::{compare_rows, natural, order_keys, Comparator};
use super::group::{Group, Grouper, HashGroups};
use super::output::Output;
use super::rollup::Rollup;
use super::source::{RowSink, RowSource};
use super::spec::SelectMerge;
use super::stream::Input;
use crate::error::Error;
use mysql_common::packets::Column;
use serde::Serialize;

/// What a merge did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeStats {
    /// Rows pulled from the sources.
    pub rows_read: u64,
    /// Rows sent to the sink.
    pub rows_sent: u64,
    /// Groups merged (0 without grouping).
    pub groups: u64,
    /// GROUP_CONCAT values cut at `group_concat_max_len`, each MariaDB's
    /// warning 1260 naming its number.
    pub cut_values: Vec<u64>,
}

/// Merges the rows of `sources` (one per execution unit, every row with the
/// unit result's `columns`) as `spec` says, sending the visible columns of the
/// merged result to `sink`. It stops reading once LIMIT is satisfied.
pub async fn merge<S: RowSource, K: RowSink>(
    spec: &SelectMerge,
    columns: &[Column],
    sources: Vec<S>,
    sink: &mut K,
) -> Result<MergeStats, Error> {
    let width = columns.len();
    let spec = spec.for_width(width).ok_or_else(|| {
        Error::internal(format!(
            "merge: the unit result has {width} columns, fewer than planned"
        ))
    })?;
    let spec = spec.as_ref();
    check(spec, width)?;
    refuse_string_computed(spec, columns)?;
    let order = order_keys(columns, &spec.weights, &spec.order_by)?;
    if let Some(window) = &spec.window {
        let mut output = Output::new(spec, columns, sink)?;
        return super::window::run(spec, window, order, columns, sources, &mut output).await;
    }
    let grouper = if spec.groups() {
        Some(Grouper::new(spec, columns)?)
    } else {
        None
    };
    let mut output = Output::new(spec, columns, sink)?;
    let mut stats = MergeStats::default();
    if output.is_full() {
        return Ok(stats);
    }
    match &grouper {
        Some(grouper) if spec.streams_sorted && streams_groups(spec) => {
            let mut rollup = match spec.rollup {
                true => Some(Rollup::new(spec, &order)?),
                false => None,
            };
            let mut input = Input::sorted(sources, width, order.clone());
            let mut open: Option<Group> = None;
            while let Some(row) = input.next().await? {
                match &mut open {
                    Some(group) if compare_rows(&order, &group.row, &row).is_eq() => {
                        grouper.fold(group, &row)?
                    }
                    _ => {
                        if let Some(done) = open.replace(grouper.open(row)?) {
                            stats.groups += 1;
                            let done = grouper.close(done)?;
                            emit(&mut output, grouper, rollup.as_mut(), done).await?;
                            if output.is_full() {
                                break;
                            }
                        }
                    }
                }
            }
            if let Some(done) = open.filter(|_| !output.is_full()) {
                stats.groups += 1;
                let done = grouper.close(done)?;
                emit(&mut output, grouper, rollup.as_mut(), done).await?;
            }
            if let Some(rollup) = rollup.as_mut() {
                for total in rollup.finish(grouper)? {
                    if output.is_full() {
                        break;
                    }
                    output.push(total).await?;
                }
            }
            stats.rows_read = input.rows_read();
        }
        Some(_) if spec.rollup => {
            return Err(Error::internal(
                "merge: WITH ROLLUP over groups that do not stream sorted",
            ))
        }
        Some(grouper) => {
            let mut input = Input::concat(sources, width);
            let mut groups = HashGroups::default();
            while let Some(row) = input.next().await? {
                groups.add(grouper, row)?;
            }
            stats.rows_read = input.rows_read();
            stats.groups = groups.len() as u64;
            let mut rows = groups.into_rows(grouper)?;
            if rows.is_empty() && spec.group_by.is_empty() {
                rows.push(grouper.empty(width)?);
            }
            let mut kept = Vec::with_capacity(rows.len());
            for row in rows {
                if output.accepts(&row)? {
                    kept.push(row);
                }
            }
            let mut rows = kept;
            rows.sort_by(|a, b| compare_rows(&order, a, b));
            for row in rows {
                output.send(row).await?;
                if output.is_full() {
                    break;
                }
            }
        }
        None => {
            let mut input = if spec.streams_sorted && !order.is_empty() {
                Input::sorted(sources, width, order.clone())
            } else {
                Input::concat(sources, width)
            };
            if order.is_empty() || spec.streams_sorted {
                while let Some(row) = input.next().await? {
                    output.push(row).await?;
                    if output.is_full() {
                        break;
                    }
                }
            } else {
                // With LIMIT and no DISTINCT only the first offset+limit rows
                // can be sent: keep at most twice that many, cutting back by a
                // stable sort (earlier rows stay first among equals).
                let keep = spec
                    .limit
                    .filter(|_| !spec.distinct)
                    .and_then(|limit| usize::try_from(limit.saturating_add(spec.offset)).ok());
                let mut rows = Vec::new();
                while let Some(row) = input.next().await? {
                    if output.accepts(&row)? {
                        rows.push(row);
                    }
                    if let Some(keep) = keep.filter(|k| rows.len() > k.saturating_mul(2).max(64)) {
                        rows.sort_by(|a, b| compare_rows(&order, a, b));
                        rows.truncate(keep);
                    }
                }
                rows.sort_by(|a, b| compare_rows(&order, a, b));
                for row in rows {
                    output.send(row).await?;
                    if output.is_full() {
                        break;
                    }
                }
            }
            stats.rows_read = input.rows_read();
        }
    }
    stats.rows_sent = output.sent();
    if let Some(grouper) = &grouper {
        stats.cut_values = grouper.take_cuts();
    }
    Ok(stats)
}

/// Sends merged group `row`, after the super-aggregate rows it ends.
async fn emit<K: RowSink>(
    output: &mut Output<'_, K>,
    grouper: &Grouper,
    rollup: Option<&mut Rollup>,
    row: Vec<mysql_common::value::Value>,
) -> Result<(), Error> {
    let Some(rollup) = rollup else {
        return output.push(row).await;
    };
    for total in rollup.before(grouper, &row)? {
        output.push(total).await?;
        if output.is_full() {
            return Ok(());
        }
    }
    output.push(row).await
}

/// Whether sorted streams keep each group's rows together: ORDER BY names
/// exactly the GROUP BY columns, in any order and direction.
fn streams_groups(spec: &SelectMerge) -> bool {
    !spec.group_by.is_empty()
        && spec.order_by.len() == spec.group_by.len()
        && spec
            .group_by
            .iter()
            .all(|g| spec.order_by.iter().any(|k| k.column == *g))
}

/// Every column `spec` names exists in a unit row of `width` columns.
fn check(spec: &SelectMerge, width: usize) -> Result<(), Error> {
    let mut named = spec
        .order_by
        .iter()
        .map(|k| k.column)
        .chain(spec.group_by.iter().copied())
        .chain(spec.weights.iter().flat_map(|w| [w.column, w.weight]));
    if spec.visible > width {
        return Err(Error::internal(format!(
            "merge: {} visible columns, the unit result has {width}",
            spec.visible
        )));
    }
    match named.find(|&c| c >= width) {
        Some(c) => Err(Error::internal(format!(
            "merge: the description names column #{c}, the unit result has {width}"
        ))),
        None => Ok(()),
    }
}

/// A computed string (CONCAT, a CASE of strings) cannot be ordered or
/// deduplicated by its collation: the units' weight of it weighs their
/// partial value.
fn refuse_string_computed(spec: &SelectMerge, columns: &[Column]) -> Result<(), Error> {
    for computed in &spec.computed {
        let number = columns.get(computed.column).map(natural).is_some_and(|c| {
            matches!(c, Comparator::Int | Comparator::Decimal | Comparator::Float)
        });
        let ordered = spec.order_by.iter().any(|k| k.column == computed.column);
        let distinct = spec.distinct && computed.column < spec.visible;
        if !number && (ordered || distinct) {
            return Err(Error::not_supported(
                "ORDER BY or DISTINCT of a string computed over aggregates across data nodes",
            ));
        }
    }
    Ok(())
}
