//! `consistent_hash`: a ring of `virtual_nodes` points per candidate,
//! `murmur3("{candidate}#{i}")`, sorted by (point, candidate index). A value's
//! owner is the first point `>=` murmur3 of its canonical bytes, wrapping.
//! Adding a candidate moves only the keys the new one now owns.

use super::{AlgorithmDefinition, PropertyReader, ShardingAlgorithm};
use crate::rules::value::{murmur3, ShardingValue, ValueDomain};
use std::fmt;
use std::sync::Arc;

/// Points per candidate when `virtual_nodes` is not given.
pub const DEFAULT_VIRTUAL_NODES: u32 = 160;

/// The largest `virtual_nodes` accepted.
pub const MAX_VIRTUAL_NODES: u32 = 10_000;

/// Reads a `consistent_hash` entry: `virtual_nodes` is optional, 1..=10000.
pub(super) fn define(properties: &mut PropertyReader<'_>) -> Option<Arc<dyn AlgorithmDefinition>> {
    let virtual_nodes = match properties.optional_integer("virtual_nodes")? {
        None => DEFAULT_VIRTUAL_NODES,
        Some(n) => match u32::try_from(n) {
            Ok(n) if (1..=MAX_VIRTUAL_NODES).contains(&n) => n,
            _ => {
                properties.problem(
                    "virtual_nodes",
                    format!("{n} is out of range; give 1..={MAX_VIRTUAL_NODES} (default {DEFAULT_VIRTUAL_NODES})"),
                );
                return None;
            }
        },
    };
    Some(Arc::new(ConsistentHashDefinition { virtual_nodes }))
}

/// A checked `consistent_hash` entry.
#[derive(Debug)]
struct ConsistentHashDefinition {
    /// Points per candidate on the ring.
    virtual_nodes: u32,
}

impl AlgorithmDefinition for ConsistentHashDefinition {
    fn kind(&self) -> &'static str {
        "consistent_hash"
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Bytes
    }

    fn uses_candidate_names(&self) -> bool {
        true
    }

    fn bind(&self, candidates: &[String]) -> Result<Box<dyn ShardingAlgorithm>, String> {
        ConsistentHash::new(candidates, self.virtual_nodes)
            .map(|ring| Box::new(ring) as Box<dyn ShardingAlgorithm>)
            .ok_or_else(|| "`consistent_hash` needs at least one candidate".to_string())
    }
}

/// A hash ring over named candidates.
#[derive(Clone)]
pub struct ConsistentHash {
    /// (point, candidate index), sorted.
    points: Vec<(u32, u32)>,
    /// The number of candidates.
    candidates: usize,
}

impl ConsistentHash {
    /// The ring of `candidates` (in node order) with `virtual_nodes` points
    /// each; `None` when there are no candidates or no points.
    pub fn new(candidates: &[String], virtual_nodes: u32) -> Option<ConsistentHash> {
        if candidates.is_empty() || virtual_nodes == 0 {
            return None;
        }
        let mut points = Vec::with_capacity(candidates.len() * virtual_nodes as usize);
        for (index, name) in candidates.iter().enumerate() {
            let index = u32::try_from(index).ok()?;
            for i in 0..virtual_nodes {
                points.push((murmur3(format!("{name}#{i}").as_bytes()), index));
            }
        }
        points.sort_unstable();
        Some(ConsistentHash {
            points,
            candidates: candidates.len(),
        })
    }

    /// The owner of a hash key: the first point `>= key`, wrapping.
    pub fn owner(&self, key: u32) -> usize {
        let at = self.points.partition_point(|&(point, _)| point < key);
        let (_, owner) = self
            .points
            .get(at)
            .or(self.points.first())
            .copied()
            .unwrap_or_default();
        owner as usize
    }
}

impl fmt::Debug for ConsistentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The points are many and say little; their count says enough.
        f.debug_struct("ConsistentHash")
            .field("candidates", &self.candidates)
            .field("points", &self.points.len())
            .finish()
    }
}

impl ShardingAlgorithm for ConsistentHash {
    fn candidate_count(&self) -> usize {
        self.candidates
    }

    fn domain(&self) -> ValueDomain {
        ValueDomain::Bytes
    }

    fn place(&self, value: &ShardingValue) -> Option<usize> {
        Some(self.owner(value.murmur3()))
    }
}
