//! Sharding algorithms: a value → an index in `0..n` among the candidates of
//! one level (algorithms.md). One file per type behind [`ShardingAlgorithm`];
//! [`REGISTRY`] has one line per type. A new type is one implementation and
//! one registry line.
//!
//! An algorithm is built in two steps, so that each problem is reported where
//! it is written: [`define`] checks a `schemas.S.algorithms.NAME` entry's
//! properties once, and [`AlgorithmDefinition::bind`] builds the algorithm for
//! one level's candidates (count-dependent checks, e.g. `range.boundaries`).

mod consistent_hash;
mod hash_mod;
mod mod_;
mod properties;
mod range;

pub use consistent_hash::ConsistentHash;
pub use hash_mod::HashMod;
pub use mod_::Mod;
pub use properties::{Properties, PropertyReader};
pub use range::Range;

use crate::rules::value::{ShardingValue, ValueDomain};
use std::fmt;
use std::sync::Arc;

/// Which candidates a condition can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Every candidate (no pruning possible).
    All,
    /// These candidate indexes, ascending, no duplicates; empty means none.
    Indexes(Vec<usize>),
}

/// One sharding algorithm bound to the candidates of one level.
pub trait ShardingAlgorithm: fmt::Debug + Send + Sync {
    /// The number of candidates it chooses among.
    fn candidate_count(&self) -> usize;

    /// What it places: integers only, or any value by its canonical bytes.
    fn domain(&self) -> ValueDomain;

    /// The candidate index of `value`; `None` when this algorithm cannot place
    /// a value of that kind (a string under `mod`).
    fn place(&self, value: &ShardingValue) -> Option<usize>;

    /// The candidates an integer range `low..=high` (non-empty; `i64::MIN` /
    /// `i64::MAX` stand for an open end) can reach. Hashing algorithms scatter.
    fn place_range(&self, low: i64, high: i64) -> Targets {
        let _ = (low, high);
        Targets::All
    }
}

/// A checked `schemas.S.algorithms.NAME` entry, not yet bound to candidates.
pub trait AlgorithmDefinition: fmt::Debug + Send + Sync {
    /// The type name as written in the rule file (`mod`, `range`, ...).
    fn kind(&self) -> &'static str;

    /// What the algorithm places (see [`ShardingAlgorithm::domain`]).
    fn domain(&self) -> ValueDomain;

    /// Whether placement depends on the candidates' names, not only on their
    /// count (a consistent-hash ring is built from the names).
    fn uses_candidate_names(&self) -> bool {
        false
    }

    /// Builds the algorithm for one level's candidates, in node order. The
    /// error says what is wrong and what would be right.
    fn bind(&self, candidates: &[String]) -> Result<Box<dyn ShardingAlgorithm>, String>;
}

/// One algorithm type: its name and how its properties are read.
pub struct AlgorithmType {
    /// The `type` value in the rule file.
    pub name: &'static str,
    /// Reads and checks the properties; problems go to the reader.
    pub define: fn(&mut PropertyReader<'_>) -> Option<Arc<dyn AlgorithmDefinition>>,
}

/// Every algorithm type, one line each.
pub const REGISTRY: &[AlgorithmType] = &[
    AlgorithmType {
        name: "mod",
        define: mod_::define,
    },
    AlgorithmType {
        name: "hash_mod",
        define: hash_mod::define,
    },
    AlgorithmType {
        name: "range",
        define: range::define,
    },
    AlgorithmType {
        name: "consistent_hash",
        define: consistent_hash::define,
    },
];

/// The names of all algorithm types, for error messages.
pub fn known_types() -> String {
    let names: Vec<&str> = REGISTRY.iter().map(|t| t.name).collect();
    names.join(", ")
}

/// Checks one algorithm entry at key path `path` (`schemas.S.algorithms.NAME`):
/// its `type` and that type's properties. Pushes every problem found.
pub fn define(
    kind: Option<&str>,
    properties: &Properties,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<Arc<dyn AlgorithmDefinition>> {
    let Some(kind) = kind else {
        problems.push(format!(
            "{path}.type: missing; give one of {}",
            known_types()
        ));
        return None;
    };
    let Some(algorithm_type) = REGISTRY.iter().find(|t| t.name == kind) else {
        problems.push(format!(
            "{path}.type: unknown algorithm type `{kind}`; known: {}",
            known_types()
        ));
        return None;
    };
    let mut reader = PropertyReader::new(properties, path, kind);
    let definition = (algorithm_type.define)(&mut reader);
    let reader_problems = reader.finish();
    let ok = reader_problems.is_empty();
    problems.extend(reader_problems);
    definition.filter(|_| ok)
}

/// `value.rem_euclid(n)` as an index (n ≥ 1).
pub(crate) fn euclid_index(value: i64, n: usize) -> usize {
    let n = i128::try_from(n).unwrap_or(i128::MAX);
    // rem_euclid of a positive modulus is in 0..n, which fits usize.
    usize::try_from(i128::from(value).rem_euclid(n)).unwrap_or_default()
}

#[cfg(test)]
mod tests;
