//! The last stages, row by row: HAVING, DISTINCT, OFFSET, LIMIT, and the
//! derived columns stripped before a row reaches the sink.

use super::compare::{
    compare_rows, key_part, order_keys, resolve, Comparator, Key, KeyPart, Purpose,
};
use super::having::Having;
use super::source::RowSink;
use super::spec::SelectMerge;
use crate::error::Error;
use crate::hash::HashSet;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use std::cmp::Ordering;

/// The merged result's tail: filters, counts and sends rows.
#[derive(Debug)]
pub(crate) struct Output<'s, K> {
    /// Where visible rows go.
    sink: &'s mut K,
    /// The leading columns sent.
    visible: usize,
    /// HAVING, if any.
    having: Option<Having>,
    /// DISTINCT: how each visible column compares, and the rows seen.
    distinct: Option<(Vec<Comparator>, Seen)>,
    /// Rows still to skip (OFFSET).
    skip: u64,
    /// Rows still to send (LIMIT), `None` for all.
    remaining: Option<u64>,
    /// Rows sent.
    sent: u64,
}

impl<'s, K: RowSink> Output<'s, K> {
    /// The tail of `spec`, sending to `sink`.
    pub fn new(spec: &SelectMerge, columns: &[Column], sink: &'s mut K) -> Result<Self, Error> {
        let having = spec
            .having
            .as_ref()
            .map(|expr| Having::new(expr, columns))
            .transpose()?;
        let distinct = if spec.distinct {
            let comparators = (0..spec.visible)
                .map(|i| resolve(columns, &spec.weights, i, Purpose::Value))
                .collect::<Result<_, Error>>()?;
            let seen = if sorted_by_visible(spec) {
                let keys = order_keys(columns, &spec.weights, &spec.order_by)?;
                Seen::Last { keys, last: None }
            } else {
                Seen::All(HashSet::default())
            };
            Some((comparators, seen))
        } else {
            None
        };
        Ok(Output {
            sink,
            visible: spec.visible,
            having,
            distinct,
            skip: spec.offset,
            remaining: spec.limit,
            sent: 0,
        })
    }

    /// Whether LIMIT is reached: nothing more will be sent.
    pub fn is_full(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Rows sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether `row` passes HAVING.
    pub fn accepts(&self, row: &[Value]) -> Result<bool, Error> {
        self.having.as_ref().map_or(Ok(true), |h| h.accepts(row))
    }

    /// HAVING, then the rest of [`Output::send`].
    pub async fn push(&mut self, row: Vec<Value>) -> Result<(), Error> {
        if self.accepts(&row)? {
            self.send(row).await?;
        }
        Ok(())
    }

    /// DISTINCT, OFFSET and LIMIT, then the visible columns to the sink.
    pub async fn send(&mut self, row: Vec<Value>) -> Result<(), Error> {
        if self.is_full() {
            return Ok(());
        }
        let mut remember = false;
        if let Some((comparators, seen)) = &mut self.distinct {
            match seen {
                Seen::All(seen) => {
                    let key: Vec<KeyPart> = comparators
                        .iter()
                        .enumerate()
                        .map(|(i, c)| key_part(*c, i, &row))
                        .collect();
                    if !seen.insert(key) {
                        return Ok(());
                    }
                }
                Seen::Last { keys, last } => {
                    if let Some(last) = last {
                        match compare_rows(keys, last, &row) {
                            Ordering::Equal => return Ok(()),
                            Ordering::Less => {}
                            // A backend sorted otherwise than the weights
                            // say (strings past its max_sort_length): a
                            // duplicate might not follow its first.
                            Ordering::Greater => return Err(Error::not_supported(
                                "DISTINCT of rows the data nodes do not sort by their full values across data nodes",
                            )),
                        }
                    }
                    remember = true;
                }
            }
        }
        if self.skip > 0 {
            self.skip -= 1;
        } else {
            self.sink.row(&row[..self.visible.min(row.len())]).await?;
            self.sent += 1;
            if let Some(remaining) = &mut self.remaining {
                *remaining -= 1;
            }
        }
        if remember {
            if let Some((_, Seen::Last { last, .. })) = &mut self.distinct {
                *last = Some(row);
            }
        }
        Ok(())
    }
}

/// The rows DISTINCT has sent, as far as it must remember them.
#[derive(Debug)]
enum Seen {
    /// Every distinct row sent.
    All(HashSet<Vec<KeyPart>>),
    /// Rows arrive ordered by every visible column (`keys`), so a duplicate
    /// follows its first: only the last row sent is remembered (memory
    /// bounded by the sources, as for a UNION DISTINCT).
    Last {
        /// The order the rows arrive in.
        keys: Vec<Key>,
        /// The last row sent (or skipped by OFFSET).
        last: Option<Vec<Value>>,
    },
}

/// Whether rows reach the output ordered by exactly the visible columns
/// (each once, in any order and direction): rows equal in all of them are
/// then next to each other.
fn sorted_by_visible(spec: &SelectMerge) -> bool {
    spec.streams_sorted
        && spec.group_by.is_empty()
        && spec.order_by.len() == spec.visible
        && (0..spec.visible).all(|c| spec.order_by.iter().any(|k| k.column == c))
}
