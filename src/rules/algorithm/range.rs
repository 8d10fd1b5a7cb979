//! `range`: property `boundaries`, a strictly ascending list of `n - 1`
//! integers; `index` = the number of boundaries `<=` the value. Range
//! conditions prune to the candidates whose ranges they touch.

use super::{AlgorithmDefinition, PropertyReader, ShardingAlgorithm, Targets};
use crate::rules::value::{ShardingValue, ValueDomain};
use std::sync::Arc;

/// Reads a `range` entry: `boundaries` is required and strictly ascending.
pub(super) fn define(properties: &mut PropertyReader<'_>) -> Option<Arc<dyn AlgorithmDefinition>> {
    let boundaries = properties.required_integer_list("boundaries")?;
    if let Some(pair) = boundaries.windows(2).find(|pair| pair[0] >= pair[1]) {
        properties.problem(
            "boundaries",
            format!(
                "must be strictly ascending, but {} comes after {}",
                pair[1], pair[0]
            ),
        );
        return None;
    }
    Some(Arc::new(RangeDefinition { boundaries }))
}

/// A checked `range` entry.
#[derive(Debug)]
struct RangeDefinition {
    /// Strictly ascending.
    boundaries: Vec<i64>,
}

impl AlgorithmDefinition for RangeDefinition {
    fn kind(&self) -> &'static str {
        "range"
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Integer
    }

    fn bind(&self, candidates: &[String]) -> Result<Box<dyn ShardingAlgorithm>, String> {
        if self.boundaries.len() + 1 != candidates.len() {
            return Err(format!(
                "`range` has {} boundaries, but this level has {} candidates ({}); it needs {} boundaries",
                self.boundaries.len(),
                candidates.len(),
                candidates.join(", "),
                candidates.len().saturating_sub(1)
            ));
        }
        Ok(Box::new(Range {
            boundaries: self.boundaries.clone(),
        }))
    }
}

/// `range` over `boundaries.len() + 1` candidates.
#[derive(Debug, Clone)]
pub struct Range {
    /// Strictly ascending; candidate `i` holds `boundaries[i-1] <= v < boundaries[i]`.
    boundaries: Vec<i64>,
}

impl Range {
    /// `range` with these boundaries; `None` unless they are strictly ascending.
    pub fn new(boundaries: Vec<i64>) -> Option<Range> {
        boundaries
            .windows(2)
            .all(|pair| pair[0] < pair[1])
            .then_some(Range { boundaries })
    }

    /// The index of an integer value.
    fn index(&self, value: i64) -> usize {
        self.boundaries.partition_point(|&b| b <= value)
    }
}

impl ShardingAlgorithm for Range {
    fn candidate_count(&self) -> usize {
        self.boundaries.len() + 1
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Integer
    }

    fn place(&self, value: &ShardingValue) -> Option<usize> {
        match value {
            ShardingValue::Int(i) => Some(self.index(*i)),
            ShardingValue::Str(_) => None,
        }
    }

    fn place_range(&self, low: i64, high: i64) -> Targets {
        Targets::Indexes((self.index(low)..=self.index(high)).collect())
    }
}
