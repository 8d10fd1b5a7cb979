//! The units' rows as one stream: concatenated in unit order, or merged
//! k-way from sources each sorted by the same keys. The k-way merge keeps one
//! head row per source in a binary heap and pulls a source's next row only
//! when its head has been taken, so a LIMIT stops the reading early.
//! Ties go to the lower source, which makes the merge equal a stable sort of
//! the concatenation.

use super::compare::{compare_parsed, parse_keys, Key, Parsed};
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
    /// Each source's head row and its parsed keys.
    slots: Vec<Slot>,
    /// Sources with a head, as a binary heap.
    heap: Vec<usize>,
    /// The source at the top whose head was taken: refilled (or dropped from
    /// the heap at its end) on the next pull, with one sift.
    taken: Option<usize>,
    /// Whether every source has been asked for its first row.
    primed: bool,
}

/// One source's head.
#[derive(Debug, Default)]
struct Slot {
    /// The row, `None` once taken or at the source's end.
    row: Option<Vec<Value>>,
    /// Its key values, parsed once (the buffer is reused).
    parsed: Vec<Parsed>,
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
        let slots = sources.iter().map(|_| Slot::default()).collect();
        Input {
            sources,
            width,
            read: 0,
            mode: Mode::Sorted(Heap {
                keys,
                slots,
                heap: Vec::new(),
                taken: None,
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
                if heap.fill(i, row) {
                    heap.push(i);
                }
            }
        } else if let Some(i) = heap.taken.take() {
            let row = pull(&mut self.sources[i], self.width, &mut self.read).await?;
            if !heap.fill(i, row) {
                heap.heap.swap_remove(0);
            }
            heap.sift_down();
        }
        Ok(heap.take())
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
    /// Makes `row` the head of `source`; whether there is one.
    fn fill(&mut self, source: usize, row: Option<Vec<Value>>) -> bool {
        let slot = &mut self.slots[source];
        if let Some(row) = &row {
            parse_keys(&self.keys, row, &mut slot.parsed);
        }
        slot.row = row;
        slot.row.is_some()
    }

    /// Whether source `a`'s head comes before source `b`'s.
    fn before(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.slots[a], &self.slots[b]);
        match (&x.row, &y.row) {
            (Some(xr), Some(yr)) => {
                match compare_parsed(&self.keys, (&x.parsed, xr), (&y.parsed, yr)) {
                    Ordering::Equal => a < b,
                    order => order == Ordering::Less,
                }
            }
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

    /// Restores the heap order after the top changed.
    fn sift_down(&mut self) {
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
    }

    /// Takes the first head; its source stays on top until the next pull.
    fn take(&mut self) -> Option<Vec<Value>> {
        let top = *self.heap.first()?;
        self.taken = Some(top);
        self.slots[top].row.take()
    }
}
