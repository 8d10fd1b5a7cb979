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
//! ## What the rewrite provides
//! Every execution unit returns the same columns: the client-visible ones,
//! then the derived ones the description names. The aggregates stay in the
//! unit SQL as the client wrote them, so their column metadata is MySQL's
//! result type for the client; the merge prints merged values in that type.
//! - ORDER BY: the unit SQL keeps it (keys not selected become derived
//!   columns) and `streams_sorted` is set; LIMIT becomes `LIMIT offset+limit`.
//! - Strings: every key the merge compares (ORDER BY, GROUP BY, DISTINCT's
//!   visible columns, MIN/MAX, a DISTINCT aggregate's value) that may be a
//!   string of a non-binary collation gets a derived `WEIGHT_STRING(expr)`
//!   and a [`Weight`]; for numbers, temporals and binary strings the weight
//!   is not used (MariaDB returns NULL for numbers).
//! - GROUP BY: the unit groups by the same keys. With `ORDER BY` the keys
//!   (the client's, or the keys ascending when the client has none) groups
//!   stream and `LIMIT offset+limit` may stay; ordered by anything else,
//!   groups are hashed and the units get no LIMIT.
//! - AVG(x): kept, plus derived `SUM(x)`, `COUNT(x)`.
//! - COUNT/SUM/AVG(DISTINCT x): the unit also groups by `x` and selects it
//!   as a derived column, and gets no LIMIT; the other aggregates still
//!   merge right.
//! - HAVING: removed from the unit SQL; what it uses is in the unit row, an
//!   aggregate not selected as a derived column named in `aggregates`.
//! - Expressions over aggregates: the unit computes its own (partial) value,
//!   which only gives the column's type; `computed` says how the merge
//!   computes it from the merged aggregates, before HAVING and ORDER BY.
//!   An AVG inside one reads its merged SUM and COUNT, a variance its
//!   merged COUNT and VAR_POP (every digit), as MySQL uses them unrounded.
//! - STD, VARIANCE and friends: kept, plus derived `COUNT(x)`, `SUM(x)` and
//!   `CAST(VAR_POP(x) AS DOUBLE)`.
//! - GROUP_CONCAT, JSON_ARRAYAGG, JSON_OBJECTAGG: kept, plus the session's
//!   `@@group_concat_max_len`; with DISTINCT or ORDER BY inside, the
//!   arguments and keys too (see `concat`).
//! - GROUP BY ... WITH ROLLUP: the units group without it; `rollup` adds
//!   the super-aggregate rows.
//!
//! ## Modules
//! - [`spec`]: the description.
//! - `stream`: concatenation and the k-way merge.
//! - `group`, `aggregate`: groups and how each aggregate merges.
//! - `compare`, `number`: MySQL's comparison and number printing.
//! - `statistics`: variances and standard deviations from per-unit moments.
//! - `eval`: the evaluator of merge expressions, with MySQL's semantics.
//! - `computed`: expressions over merged aggregates, with MySQL's types.
//! - `having`, `output`: the last stages.
//! - `concat`: GROUP_CONCAT and the JSON aggregates; `rollup`: WITH ROLLUP.

mod aggregate;
mod compare;
mod computed;
mod concat;
mod engine;
mod eval;
mod group;
mod having;
mod number;
mod output;
mod rollup;
mod source;
pub mod spec;
mod statistics;
mod stream;
// Window functions (issue 10, item 3).
mod window;
pub mod window_spec;
pub use concat::{cut_warning, CUT_BY_GROUP_CONCAT};
pub use window_spec::{Frame, WindowColumn, WindowFunction, WindowMerge};

pub use engine::{merge, MergeStats};
pub use source::{MemorySource, ReplySink, RowSink, RowSource};
pub use spec::{
    Aggregate, AggregateColumn, ArithOp, CompareOp, ComputedColumn, Expr, Function, Literal,
    SelectMerge, SortKey, Weight, Wildcard, MAX_DISTINCT_TUPLE,
};
// GROUP_CONCAT and the JSON aggregates.
pub use spec::{ConcatForm, ConcatPlan};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
// UNION across data nodes.
#[cfg(test)]
mod union_tests;
