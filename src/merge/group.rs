//! Groups: unit rows with equal GROUP BY keys fold into one merged row.
//! A group keeps its first row (for the keys and any other column, as MySQL
//! shows any one row's value) and one running value per aggregate, so memory
//! grows with groups, never with rows.

use super::aggregate::{Acc, Folder};
use super::compare::{key_part, resolve, Key, KeyPart, Purpose};
use super::compare::{natural, Comparator};
use super::computed::Computed;
use super::spec::{Aggregate, SelectMerge};
use crate::error::Error;
use crate::hash::HashMap;
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// How rows group and aggregate, resolved against the unit result's columns.
#[derive(Debug)]
pub(crate) struct Grouper {
    /// One per aggregate column.
    folders: Vec<Folder>,
    /// The GROUP BY keys (direction unused).
    keys: Vec<Key>,
    /// Expressions over the merged aggregates, filled in at close.
    computed: Vec<Computed>,
    /// GROUP_CONCAT values appended and cut at close ([`Grouper::take_cuts`]).
    cuts: std::sync::Mutex<Cuts>,
}

/// MariaDB's numbering of cut GROUP_CONCAT values ([`super::concat`]).
#[derive(Debug, Default)]
struct Cuts {
    /// Per folder: the values its GROUP_CONCAT appended in the groups closed.
    appended: Vec<u64>,
    /// The numbers of the values cut, in order.
    cut: Vec<u64>,
}

/// One group being merged.
#[derive(Debug)]
pub(crate) struct Group {
    /// The group's first row; aggregate columns are overwritten when it closes.
    pub row: Vec<Value>,
    /// The aggregates' running values, in `folders` order.
    accs: Vec<Acc>,
}

impl Grouper {
    /// Resolves the GROUP BY keys and aggregates of `spec`.
    pub fn new(spec: &SelectMerge, columns: &[Column]) -> Result<Grouper, Error> {
        let mut folders = Vec::with_capacity(spec.aggregates.len());
        for aggregate in &spec.aggregates {
            if spec.group_by.contains(&aggregate.column)
                || folders
                    .iter()
                    .any(|f: &Folder| f.column == aggregate.column)
            {
                return Err(Error::internal(format!(
                    "merge: column #{} is aggregated twice or also a GROUP BY key",
                    aggregate.column
                )));
            }
            folders.push(Folder::new(
                aggregate,
                columns,
                &spec.weights,
                &spec.concats,
            )?);
        }
        let keys = spec
            .group_by
            .iter()
            .map(|&column| {
                Ok(Key {
                    column,
                    comparator: resolve(columns, &spec.weights, column, Purpose::Value)?,
                    descending: false,
                })
            })
            .collect::<Result<_, Error>>()?;
        // An exact AVG's value inside MySQL has more digits than it prints.
        let exact_averages: Vec<usize> = spec
            .aggregates
            .iter()
            .filter(|a| {
                matches!(
                    a.function,
                    Aggregate::Avg { .. } | Aggregate::AvgDistinct { .. }
                ) && columns.get(a.column).map(natural) == Some(Comparator::Decimal)
            })
            .map(|a| a.column)
            .collect();
        let computed = spec
            .computed
            .iter()
            .map(|c| Computed::new(c, columns, &exact_averages))
            .collect::<Result<_, Error>>()?;
        // MariaDB numbers cut values across the groups in the order it
        // evaluates them: that of one group, or of groups streamed in
        // GROUP BY order; each group evaluated (no HAVING, LIMIT or OFFSET
        // skipping one).
        let in_key_order = spec.group_by.is_empty()
            || (spec.streams_sorted
                && spec
                    .order_by
                    .iter()
                    .map(|k| k.column)
                    .eq(spec.group_by.iter().copied())
                && spec
                    .order_by
                    .windows(2)
                    .all(|w| w[0].descending == w[1].descending));
        let in_order = in_key_order
            && spec.having.is_none()
            && spec.limit.is_none()
            && spec.offset == 0
            && !spec.rollup;
        for folder in &mut folders {
            folder.allow_cut(in_order);
        }
        let counted = folders.len();
        Ok(Grouper {
            folders,
            keys,
            computed,
            cuts: std::sync::Mutex::new(Cuts {
                appended: vec![0; counted],
                cut: Vec::new(),
            }),
        })
    }

    /// The hashable GROUP BY key of `row`.
    pub fn key(&self, row: &[Value]) -> Vec<KeyPart> {
        self.keys
            .iter()
            .map(|k| key_part(k.comparator, k.column, row))
            .collect()
    }

    /// A new group whose first row is `row`.
    pub fn open(&self, row: Vec<Value>) -> Result<Group, Error> {
        let mut group = Group {
            accs: self.folders.iter().map(Folder::start).collect(),
            row: Vec::new(),
        };
        self.fold(&mut group, &row)?;
        group.row = row;
        Ok(group)
    }

    /// Adds one more unit row to `group`.
    pub fn fold(&self, group: &mut Group, row: &[Value]) -> Result<(), Error> {
        for (folder, acc) in self.folders.iter().zip(&mut group.accs) {
            folder.fold(acc, row)?;
        }
        Ok(())
    }

    /// The merged row of a finished group.
    pub fn close(&self, group: Group) -> Result<Vec<Value>, Error> {
        let mut row = group.row;
        for (i, (folder, acc)) in self.folders.iter().zip(group.accs).enumerate() {
            let Some((appended, was_cut)) = folder.finish(acc, &mut row) else {
                continue;
            };
            if let Ok(mut cuts) = self.cuts.lock() {
                let Cuts {
                    appended: so_far,
                    cut,
                } = &mut *cuts;
                if let Some(total) = so_far.get_mut(i) {
                    *total += appended;
                    if was_cut {
                        cut.push(*total);
                    }
                }
            }
        }
        for computed in &self.computed {
            computed.fill(&mut row)?;
        }
        Ok(row)
    }

    /// The numbers of the GROUP_CONCAT values cut so far, in order (each
    /// one warning 1260), taken.
    pub fn take_cuts(&self) -> Vec<u64> {
        self.cuts
            .lock()
            .map(|mut cuts| std::mem::take(&mut cuts.cut))
            .unwrap_or_default()
    }

    /// The one row aggregates without GROUP BY give over no rows: COUNT 0,
    /// everything else NULL.
    pub fn empty(&self, width: usize) -> Result<Vec<Value>, Error> {
        self.close(Group {
            row: vec![Value::NULL; width],
            accs: self.folders.iter().map(Folder::start).collect(),
        })
    }
}

/// Groups in a hash table, kept in the order they were first seen.
#[derive(Debug, Default)]
pub(crate) struct HashGroups {
    /// A group's key → its place in `groups`.
    index: HashMap<Vec<KeyPart>, usize>,
    /// The groups, first seen first.
    groups: Vec<Group>,
}

impl HashGroups {
    /// Folds `row` into its group, opening the group if it is new.
    pub fn add(&mut self, grouper: &Grouper, row: Vec<Value>) -> Result<(), Error> {
        let key = grouper.key(&row);
        match self.index.get(&key) {
            Some(&at) => grouper.fold(&mut self.groups[at], &row),
            None => {
                self.index.insert(key, self.groups.len());
                self.groups.push(grouper.open(row)?);
                Ok(())
            }
        }
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// The merged rows, first-seen group first.
    pub fn into_rows(self, grouper: &Grouper) -> Result<Vec<Vec<Value>>, Error> {
        self.groups.into_iter().map(|g| grouper.close(g)).collect()
    }
}
