//! `mod`: integer columns only; `index = value.rem_euclid(n)`. A range that
//! spans fewer than `n` values goes to the candidates of the values it covers.

use super::{euclid_index, AlgorithmDefinition, PropertyReader, ShardingAlgorithm, Targets};
use crate::rules::value::{ShardingValue, ValueDomain};
use std::sync::Arc;

/// Reads a `mod` entry: it takes no properties.
pub(super) fn define(_properties: &mut PropertyReader<'_>) -> Option<Arc<dyn AlgorithmDefinition>> {
    Some(Arc::new(ModDefinition))
}

/// A checked `mod` entry.
#[derive(Debug)]
struct ModDefinition;

impl AlgorithmDefinition for ModDefinition {
    fn kind(&self) -> &'static str {
        "mod"
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Integer
    }

    fn bind(&self, candidates: &[String]) -> Result<Box<dyn ShardingAlgorithm>, String> {
        Mod::new(candidates.len())
            .map(|m| Box::new(m) as Box<dyn ShardingAlgorithm>)
            .ok_or_else(|| "`mod` needs at least one candidate".to_string())
    }
}

/// `mod` over `n` candidates.
#[derive(Debug, Clone)]
pub struct Mod {
    /// The number of candidates, at least 1.
    n: usize,
}

impl Mod {
    /// `mod` over `n` candidates; `None` when `n` is 0.
    pub fn new(n: usize) -> Option<Mod> {
        (n > 0).then_some(Mod { n })
    }
}

impl ShardingAlgorithm for Mod {
    fn candidate_count(&self) -> usize {
        self.n
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Integer
    }

    fn place(&self, value: &ShardingValue) -> Option<usize> {
        match value {
            ShardingValue::Int(i) => Some(euclid_index(*i, self.n)),
            ShardingValue::Str(_) => None,
        }
    }

    fn place_range(&self, low: i64, high: i64) -> Targets {
        let span = i128::from(high) - i128::from(low) + 1;
        if span >= i128::try_from(self.n).unwrap_or(i128::MAX) {
            return Targets::All;
        }
        let mut indexes: Vec<usize> = (low..=high).map(|v| euclid_index(v, self.n)).collect();
        indexes.sort_unstable();
        indexes.dedup();
        Targets::Indexes(indexes)
    }
}
