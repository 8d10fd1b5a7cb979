//! Merge: the rows of every execution unit become the one merged result the
//! client sees, as if one unsharded MySQL had answered. Pure: it reads row
//! streams and writes rows, and never talks to a backend itself.
//!
//! ```text
//! units ─► concat | k-way sorted ─► group + aggregate ─► HAVING ─► DISTINCT ─► ORDER BY ─► OFFSET/LIMIT ─► drop derived ─► sink
//! ```
//!
//! The rewrite decides what every unit returns and describes the merge as a
//! [`SelectMerge`]; [`merge`] runs it over one [`RowSource`] per execution
//! unit and sends the rows to a [`RowSink`]. Memory is bounded by the number
//! of sources and groups, not rows (sorting unsorted streams is the one
//! exception, see [`SelectMerge::streams_sorted`]).
//!
//! - [`spec`]: the description.
//! - `stream`: concatenation and the k-way merge.
//! - `group`, `aggregate`: groups and how each aggregate merges.
//! - `compare`, `number`: MySQL's comparison and number printing.
//! - `having`, `output`: the last stages.

mod aggregate;
mod compare;
mod engine;
mod group;
mod having;
mod number;
mod output;
mod source;
pub mod spec;
mod stream;

pub use engine::{merge, MergeStats};
pub use source::{MemorySource, ReplySink, RowSink, RowSource};
pub use spec::{
    Aggregate, AggregateColumn, ArithOp, CompareOp, Expr, Literal, SelectMerge, SortKey, Weight,
};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
