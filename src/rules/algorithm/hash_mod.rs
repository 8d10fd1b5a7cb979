//! `hash_mod`: `index = murmur3(canonical(value)) % n`. Ranges scatter.

use super::{AlgorithmDefinition, PropertyReader, ShardingAlgorithm};
use crate::rules::value::{ShardingValue, ValueDomain};
use std::sync::Arc;

/// Reads a `hash_mod` entry: it takes no properties.
pub(super) fn define(_properties: &mut PropertyReader<'_>) -> Option<Arc<dyn AlgorithmDefinition>> {
    Some(Arc::new(HashModDefinition))
}

/// A checked `hash_mod` entry.
#[derive(Debug)]
struct HashModDefinition;

impl AlgorithmDefinition for HashModDefinition {
    fn kind(&self) -> &'static str {
        "hash_mod"
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Bytes
    }

    fn bind(&self, candidates: &[String]) -> Result<Box<dyn ShardingAlgorithm>, String> {
        HashMod::new(candidates.len())
            .map(|h| Box::new(h) as Box<dyn ShardingAlgorithm>)
            .ok_or_else(|| "`hash_mod` needs at least one candidate".to_string())
    }
}

/// `hash_mod` over `n` candidates.
#[derive(Debug, Clone)]
pub struct HashMod {
    /// The number of candidates, at least 1.
    n: u32,
}

impl HashMod {
    /// `hash_mod` over `n` candidates; `None` when `n` is 0 or above `u32::MAX`.
    pub fn new(n: usize) -> Option<HashMod> {
        u32::try_from(n)
            .ok()
            .filter(|&n| n > 0)
            .map(|n| HashMod { n })
    }
}

impl ShardingAlgorithm for HashMod {
    fn candidate_count(&self) -> usize {
        self.n as usize
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Bytes
    }

    fn place(&self, value: &ShardingValue) -> Option<usize> {
        Some((value.murmur3() % self.n) as usize)
    }
}
