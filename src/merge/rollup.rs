//! GROUP BY ... WITH ROLLUP: the super-aggregate rows, from the merged
//! groups as they stream sorted by the keys. Level `l` (0 ≤ l < keys)
//! folds the merged groups sharing the first `l` keys, as one more group
//! whose "unit rows" are the merged rows (every aggregate the rewrite lets
//! through merges its merged values again); when the prefix changes, the
//! level's row goes out with keys `l..` NULL, deepest level first, as
//! MariaDB sends them. Memory: one group per key.

use super::compare::{compare_rows, Key};
use super::group::{Group, Grouper};
use super::spec::SelectMerge;
use crate::error::Error;
use mysql_common::value::Value;

/// The super-aggregate levels of one merge.
#[derive(Debug)]
pub(crate) struct Rollup {
    /// The GROUP BY keys, in the client's order.
    keys: Vec<Key>,
    /// Per key: its column and its weight column, NULL in a rolled-up row.
    nulled: Vec<Vec<usize>>,
    /// `open[l]`: the group of level `l` so far.
    open: Vec<Option<Group>>,
}

impl Rollup {
    /// The levels for `spec`'s keys, compared as `keys` (the sorted
    /// streams' keys, which are the GROUP BY columns).
    pub fn new(spec: &SelectMerge, keys: &[Key]) -> Result<Rollup, Error> {
        let keys: Vec<Key> = spec
            .group_by
            .iter()
            .map(|column| {
                keys.iter()
                    .find(|k| k.column == *column)
                    .map(|k| Key {
                        descending: false,
                        ..*k
                    })
                    .ok_or_else(|| {
                        Error::internal("merge: a ROLLUP key the streams are not sorted by")
                    })
            })
            .collect::<Result<_, Error>>()?;
        let nulled = spec
            .group_by
            .iter()
            .map(|column| {
                let weight = spec.weights.iter().find(|w| w.column == *column);
                std::iter::once(*column)
                    .chain(weight.map(|w| w.weight))
                    .collect()
            })
            .collect();
        Ok(Rollup {
            open: (0..keys.len()).map(|_| None).collect(),
            keys,
            nulled,
        })
    }

    /// The super-aggregate rows that end before merged group `row`
    /// (deepest first); then folds `row` into every level.
    pub fn before(&mut self, grouper: &Grouper, row: &[Value]) -> Result<Vec<Vec<Value>>, Error> {
        let changed = (0..self.keys.len()).find(|&l| match &self.open[l] {
            Some(group) => compare_rows(&self.keys[..l], &group.row, row).is_ne(),
            None => false,
        });
        let out = match changed {
            Some(from) => self.flush(grouper, from)?,
            None => Vec::new(),
        };
        for level in &mut self.open {
            match level {
                Some(group) => grouper.fold(group, row)?,
                None => *level = Some(grouper.open(row.to_vec())?),
            }
        }
        Ok(out)
    }

    /// The super-aggregate rows still open, at the end of the groups.
    pub fn finish(&mut self, grouper: &Grouper) -> Result<Vec<Vec<Value>>, Error> {
        self.flush(grouper, 0)
    }

    /// Closes levels `from..`, deepest first.
    fn flush(&mut self, grouper: &Grouper, from: usize) -> Result<Vec<Vec<Value>>, Error> {
        let mut out = Vec::new();
        for l in (from..self.keys.len()).rev() {
            let Some(group) = self.open[l].take() else {
                continue;
            };
            let mut row = grouper.close(group)?;
            for column in self.nulled[l..].iter().flatten() {
                if let Some(slot) = row.get_mut(*column) {
                    *slot = Value::NULL;
                }
            }
            out.push(row);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
