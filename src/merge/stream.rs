//! The units' rows as one stream: concatenated in unit order, or merged
//! k-way from sources each sorted by the same keys. The k-way merge keeps one
//! head row per source in a binary heap and pulls a source's next row only
//! when its head has been taken, so a LIMIT stops the reading early.
//! Ties go to the lower source, which makes the merge equal a stable sort of
//! the concatenation.

use super::compare::{compare_rows, Key};
use super::source::RowSource;
use crate::error::Error;
use mysql_common::value::Value;
use std::cmp::Ordering;

/// The merged stream of unit rows.
#[derive(Debug)]
pub(crate) struct Input<S> {
    /// One per execution unit.
    sources: Vec<S>,
    /// The unit result's column count; every row must have it.
    width: usize,
    /// Rows pulled from the sources so far.
    read: u64,
    /// Concatenation or k-way merge.
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    /// Source `at` is read to its end, then the next.
    Concat { at: usize },
    /// K-way merge by `keys`.
    Sorted(Heap),
}

/// A min-heap of source numbers ordered by their head rows.
#[derive(Debug)]
struct Heap {
    /// The order.
    keys: Vec<Key>,
    /// Each source's head row, `None` once taken or at its end.
    heads: Vec<Option<Vec<Value>>>,
    /// Sources with a head, as a binary heap.
    heap: Vec<usize>,
    /// The source whose head was taken last: refilled on the next pull.
    refill: Option<usize>,
    /// Whether every source has been asked for its first row.
    primed: bool,
}

impl<S: RowSource> Input<S> {
    /// The sources one after another.
    pub fn concat(sources: Vec<S>, width: usize) -> Self {
        Input {
            sources,
            width,
            read: 0,
            mode: Mode::Concat { at: 0 },
        }
    }

    /// The sources merged by `keys`, each already sorted by them.
    pub fn sorted(sources: Vec<S>, width: usize, keys: Vec<Key>) -> Self {
        let heads = sources.iter().map(|_| None).collect();
        Input {
            sources,
            width,
            read: 0,
            mode: Mode::Sorted(Heap {
                keys,
                heads,
                heap: Vec::new(),
                refill: None,
                primed: false,
            }),
        }
    }

    /// Rows pulled from the sources so far.
    pub fn rows_read(&self) -> u64 {
        self.read
    }

    /// The next row of the merged stream.
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, Error> {
        match &mut self.mode {
            Mode::Concat { at } => {
                while let Some(source) = self.sources.get_mut(*at) {
                    if let Some(row) = pull(source, self.width, &mut self.read).await? {
                        return Ok(Some(row));
                    }
                    *at += 1;
                }
                Ok(None)
            }
            Mode::Sorted(_) => self.next_sorted().await,
        }
    }

    async fn next_sorted(&mut self) -> Result<Option<Vec<Value>>, Error> {
        let Mode::Sorted(heap) = &mut self.mode else {
            return Ok(None);
        };
        if !heap.primed {
            heap.primed = true;
            for i in 0..self.sources.len() {
                let row = pull(&mut self.sources[i], self.width, &mut self.read).await?;
                heap.heads[i] = row;
                if heap.heads[i].is_some() {
                    heap.push(i);
                }
            }
        } else if let Some(i) = heap.refill.take() {
            let row = pull(&mut self.sources[i], self.width, &mut self.read).await?;
            heap.heads[i] = row;
            if heap.heads[i].is_some() {
                heap.push(i);
            }
        }
        Ok(heap.pop())
    }
}

/// One row from `source`, checked for width.
async fn pull<S: RowSource>(
    source: &mut S,
    width: usize,
    read: &mut u64,
) -> Result<Option<Vec<Value>>, Error> {
    let row = source.next_row().await?;
    if let Some(row) = &row {
        if row.len() != width {
            return Err(Error::internal(format!(
                "merge: a unit row has {} columns, its result {width}",
                row.len()
            )));
        }
        *read += 1;
    }
    Ok(row)
}

impl Heap {
    /// Whether source `a`'s head comes before source `b`'s.
    fn before(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            (Some(x), Some(y)) => match compare_rows(&self.keys, x, y) {
                Ordering::Equal => a < b,
                order => order == Ordering::Less,
            },
            _ => a < b,
        }
    }

    fn push(&mut self, source: usize) {
        self.heap.push(source);
        let mut at = self.heap.len() - 1;
        while at > 0 {
            let parent = (at - 1) / 2;
            if !self.before(self.heap[at], self.heap[parent]) {
                break;
            }
            self.heap.swap(at, parent);
            at = parent;
        }
    }

    /// Takes the first head; its source is refilled on the next pull.
    fn pop(&mut self) -> Option<Vec<Value>> {
        let top = *self.heap.first()?;
        let last = self.heap.len() - 1;
        self.heap.swap(0, last);
        self.heap.pop();
        let mut at = 0;
        loop {
            let (left, right) = (2 * at + 1, 2 * at + 2);
            let mut first = at;
            if left < self.heap.len() && self.before(self.heap[left], self.heap[first]) {
                first = left;
            }
            if right < self.heap.len() && self.before(self.heap[right], self.heap[first]) {
                first = right;
            }
            if first == at {
                break;
            }
            self.heap.swap(at, first);
            at = first;
        }
        self.refill = Some(top);
        self.heads[top].take()
    }
}
