//! `GROUP BY ... WITH ROLLUP` across data nodes: the units group without
//! ROLLUP, ordered by the keys, and the merge adds the super-aggregate rows
//! (see `merge::rollup`) from the merged groups, which works for aggregates
//! whose merged values merge again: COUNT, SUM, MIN, MAX, AVG (from its
//! merged SUM and COUNT), the BIT_ aggregates, plain GROUP_CONCAT and the
//! JSON aggregates. The rest is refused.

use super::refuse;
use crate::error::{Error, Origin};
use crate::merge::{Aggregate, SelectMerge};
use sqlparser::ast::{GroupByWithModifier, Query};

/// Whether `modifiers` is exactly `WITH ROLLUP`; an error for the others.
pub fn is_rollup(modifiers: &[GroupByWithModifier]) -> Result<bool, Error> {
    match modifiers {
        [] => Ok(false),
        [GroupByWithModifier::Rollup] => Ok(true),
        _ => Err(refuse("GROUP BY with these modifiers")),
    }
}

/// What MariaDB itself refuses: ROLLUP with ORDER BY (1221).
pub fn check_query(query: &Query) -> Result<(), Error> {
    if query.order_by.is_some() {
        return Err(Error::new(
            1221,
            "HY000",
            "Incorrect usage of CUBE/ROLLUP and ORDER BY",
            Origin::Client,
        ));
    }
    Ok(())
}

/// Refuses a rolled-up grouping the merge cannot roll up exactly.
/// `keys`: the client's GROUP BY expressions; `extra_group_by`: what the
/// units group by besides; `visible`: the client's columns.
pub fn check(
    spec: &SelectMerge,
    keys: usize,
    extra_group_by: usize,
    visible: usize,
) -> Result<(), Error> {
    // MariaDB describes the keys of SELECT DISTINCT ... WITH ROLLUP as
    // nullable, which the units' description does not say.
    if spec.distinct {
        return Err(refuse("SELECT DISTINCT ... WITH ROLLUP"));
    }
    if spec.group_by.len() != keys {
        return Err(refuse("GROUP BY ... WITH ROLLUP of a repeated key"));
    }
    if extra_group_by > 0 {
        return Err(refuse(
            "DISTINCT aggregates or GROUP_CONCAT with DISTINCT or ORDER BY, WITH ROLLUP,",
        ));
    }
    if !spec.computed.is_empty() {
        return Err(refuse("an expression over aggregates WITH ROLLUP"));
    }
    for aggregate in &spec.aggregates {
        match aggregate.function {
            Aggregate::Count
            | Aggregate::Sum
            | Aggregate::Min
            | Aggregate::Max
            | Aggregate::Avg { .. }
            | Aggregate::BitAnd
            | Aggregate::BitOr
            | Aggregate::BitXor
            | Aggregate::Concat { .. } => {}
            _ => return Err(refuse("this aggregate WITH ROLLUP")),
        }
    }
    let plain = (0..visible)
        .find(|c| !spec.group_by.contains(c) && !spec.aggregates.iter().any(|a| a.column == *c));
    if plain.is_some() {
        return Err(refuse(
            "a select item neither a GROUP BY key nor an aggregate, WITH ROLLUP,",
        ));
    }
    if !spec.streams_sorted {
        return Err(Error::internal(
            "a rolled-up grouping whose streams are not sorted",
        ));
    }
    Ok(())
}
