//! The merge description: what the rewrite asked every execution unit for,
//! and how the units' rows become the merged result. It is data, part of the
//! execution plan: golden tests and `PREVIEW` show it as it runs.
//!
//! Column numbers index the unit row: the client-visible columns first
//! (`0..visible`), then the derived columns the rewrite added
//! (`ORDER_BY_DERIVED_0`, `AVG_DERIVED_COUNT_0`, `WEIGHT_STRING(...)`), which
//! the merge strips.

pub use super::concat::{ConcatForm, ConcatPlan};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// How the rows of every execution unit of one SELECT become its merged result.
///
/// The stages run in MySQL's order: group and aggregate, HAVING, DISTINCT,
/// ORDER BY, OFFSET and LIMIT, strip the derived columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectMerge {
    /// The leading columns the client sees; the rest are derived and stripped.
    pub visible: usize,
    /// String columns compared by their collation: each names the derived
    /// `WEIGHT_STRING(col)` column that holds the column's sort weight.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<Weight>,
    /// GROUP BY key columns. Empty with aggregates: all rows are one group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<usize>,
    /// The aggregate columns and how each merges; every other column of a
    /// group shows the value of the group's first row.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aggregates: Vec<AggregateColumn>,
    /// Select-list or ORDER BY expressions over aggregates: evaluated on
    /// each merged group from its merged aggregates, before HAVING and
    /// ORDER BY; the units' own value of the column only gives its type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub computed: Vec<ComputedColumn>,
    /// HAVING, evaluated on each merged group (the units run without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub having: Option<Expr>,
    /// SELECT DISTINCT: rows equal in every visible column are sent once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct: bool,
    /// ORDER BY of the merged result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<SortKey>,
    /// Rows skipped after ordering (the units ran with LIMIT offset+limit).
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// Rows sent at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Every unit returns its rows sorted by `order_by`: rows merge by a
    /// streaming k-way merge, and groups fold as they stream when `order_by`
    /// names exactly the GROUP BY columns. Otherwise rows are concatenated,
    /// groups hashed, and the merged result sorted in memory.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub streams_sorted: bool,
    /// The select list has a wildcard (`*`, `t.*`), whose columns only the
    /// unit result can count: see [`SelectMerge::for_width`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wildcard: Option<Wildcard>,
    /// Window functions, computed over the sorted streams a partition at a
    /// time (see `merge::window`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<super::window_spec::WindowMerge>,
    /// How each GROUP_CONCAT or JSON aggregate merges (see
    /// [`Aggregate::Concat`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub concats: Vec<ConcatPlan>,
    /// GROUP BY ... WITH ROLLUP: after each run of groups sharing a prefix
    /// of the keys, a super-aggregate row with the rest of the keys NULL
    /// (the groups stream sorted by the keys ascending).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rollup: bool,
}

/// Where the select list's wildcards stand. The description was planned
/// with every wildcard as no column: `visible` counts the other items, and
/// column numbers from `at` on move by the wildcards' width. The rewrite
/// names no column among or between the wildcards' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Wildcard {
    /// The planned number of the first column after the first wildcard.
    pub at: usize,
    /// The derived columns (the unit row's last ones).
    pub derived: usize,
}

/// A string column and the derived column holding its `WEIGHT_STRING()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Weight {
    /// The string column.
    pub column: usize,
    /// The derived column with the string's weight under its collation.
    pub weight: usize,
}

/// One ORDER BY key. NULL is lowest: first ascending, last descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SortKey {
    /// The column sorted on (an expression not selected arrives as a derived column).
    pub column: usize,
    /// DESC.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
}

/// One aggregate column of the unit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AggregateColumn {
    /// The column holding each unit's partial result; the merged value goes here.
    pub column: usize,
    /// How the partial results combine.
    pub function: Aggregate,
}

/// A column the merge computes on each merged group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComputedColumn {
    /// The column whose value is replaced (its metadata gives the type).
    pub column: usize,
    /// The expression, over columns of the merged row.
    pub expr: Expr,
}

/// How the partial results of one aggregate combine across units. The
/// output's type (exact scale, DOUBLE) follows the aggregate column's
/// metadata, which is MySQL's own result type for the aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// COUNT(*) or COUNT(expr): counts added; 0 over no rows.
    Count,
    /// SUM(expr): sums added, exactly for DECIMAL; NULL over no values.
    Sum,
    /// MIN(expr), compared as the column compares.
    Min,
    /// MAX(expr), compared as the column compares.
    Max,
    /// AVG(expr): the column holds the unit's AVG (for its type); `sum` and
    /// `count` are the derived SUM(expr) and COUNT(expr).
    Avg {
        /// The derived SUM(expr) column.
        sum: usize,
        /// The derived COUNT(expr) column.
        count: usize,
    },
    /// COUNT(DISTINCT expr): `value` is a derived column carrying one distinct
    /// value per unit row (the unit groups by the keys and the value).
    CountDistinct {
        /// The derived column with the value counted.
        value: usize,
    },
    /// SUM(DISTINCT expr), with `value` as for [`Aggregate::CountDistinct`].
    SumDistinct {
        /// The derived column with the value summed.
        value: usize,
    },
    /// COUNT(DISTINCT a, b, ...): the distinct combinations in which no value
    /// is NULL; the first `width` of `values` are derived columns carrying
    /// one combination per unit row (the unit groups by them all).
    CountDistinctTuple {
        /// The derived columns, `width` of them used.
        values: [usize; MAX_DISTINCT_TUPLE],
        /// How many expressions.
        width: u8,
    },
    /// AVG(DISTINCT expr), with `value` as for [`Aggregate::CountDistinct`].
    AvgDistinct {
        /// The derived column with the value averaged.
        value: usize,
    },
    /// STD / STDDEV / STDDEV_POP / STDDEV_SAMP / VARIANCE / VAR_POP /
    /// VAR_SAMP (expr): merged from each unit's count, mean and sum of
    /// squared deviations (see `merge::statistics`), a DOUBLE.
    Variance {
        /// The derived COUNT(expr).
        count: usize,
        /// The derived SUM(expr).
        sum: usize,
        /// The derived VAR_POP(expr).
        var_pop: usize,
        /// Divides by n - 1 (the _SAMP forms).
        sample: bool,
        /// The square root (the STD forms).
        root: bool,
    },
    /// BIT_AND(expr) over unsigned 64-bit integers.
    BitAnd,
    /// BIT_OR(expr) over unsigned 64-bit integers.
    BitOr,
    /// BIT_XOR(expr) over unsigned 64-bit integers.
    BitXor,
    // GROUP_CONCAT and the JSON aggregates.
    /// GROUP_CONCAT, JSON_ARRAYAGG, JSON_OBJECTAGG: merged as
    /// `SelectMerge::concats[plan]` says.
    Concat {
        /// The place of its plan in [`SelectMerge::concats`].
        plan: usize,
    },
}

/// The most expressions COUNT(DISTINCT ...) may count across data nodes.
pub const MAX_DISTINCT_TUPLE: usize = 4;

/// A HAVING condition over a merged group's row, with SQL's three-valued logic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// A column of the merged row.
    Column(usize),
    /// A constant.
    Literal(Literal),
    /// `left op right`; NULL when either side is NULL (except `<=>`).
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    /// `left op right` in MySQL arithmetic; division by zero is NULL.
    Arithmetic(ArithOp, Box<Expr>, Box<Expr>),
    /// AND.
    And(Box<Expr>, Box<Expr>),
    /// OR.
    Or(Box<Expr>, Box<Expr>),
    /// NOT.
    Not(Box<Expr>),
    /// `expr IS NULL`.
    IsNull(Box<Expr>),
    /// CASE WHEN ... THEN ... [ELSE ...] END: the first branch whose
    /// condition is true, else `otherwise` (NULL without one). A CASE with
    /// an operand arrives as conditions `operand = value`.
    Case {
        /// (condition, value) in order.
        branches: Vec<(Expr, Expr)>,
        /// ELSE.
        otherwise: Option<Box<Expr>>,
    },
    /// A function of merged values.
    Function(Function, Vec<Expr>),
}

/// A function the merge evaluates as MySQL does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// ROUND(x [, d]): exact values half away from zero, doubles half to even.
    Round,
    /// TRUNCATE(x, d): toward zero.
    Truncate,
    /// ABS(x).
    Abs,
    /// IFNULL(a, b), COALESCE(a, ...): the first value that is not NULL.
    Coalesce,
    /// IF(condition, a, b).
    If,
    /// CONCAT(a, ...): NULL when any argument is; numbers as their type prints them.
    Concat,
    /// SQRT(x) of a double; NULL for a negative x.
    Sqrt,
}

/// A constant in a HAVING condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// An exact decimal as written, e.g. `"2.50"`.
    Decimal(String),
    /// A floating-point number.
    Double(f64),
    /// A string, compared byte by byte.
    String(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<=>`: NULL-safe equality.
    NullSafeEq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`: exact operands give a DECIMAL with 4 more digits of scale.
    Div,
    /// `DIV`: the quotient truncated to an integer.
    IntDiv,
    /// `%`, `MOD`: the remainder, with the dividend's sign.
    Mod,
}

impl SelectMerge {
    /// Plain concatenation of `visible` columns: nothing else to do.
    pub fn new(visible: usize) -> Self {
        SelectMerge {
            visible,
            weights: Vec::new(),
            group_by: Vec::new(),
            aggregates: Vec::new(),
            computed: Vec::new(),
            having: None,
            distinct: false,
            order_by: Vec::new(),
            offset: 0,
            limit: None,
            streams_sorted: false,
            wildcard: None,
            window: None,
            concats: Vec::new(),
            rollup: false,
        }
    }

    /// The number of leading columns the client sees in unit rows of
    /// `width` columns.
    pub fn visible_in(&self, width: usize) -> usize {
        match self.wildcard {
            Some(w) => width.saturating_sub(w.derived),
            None => self.visible,
        }
    }

    /// The description for unit rows of `width` columns: with wildcards,
    /// their width is now known and the planned column numbers move by it.
    /// `None` when the rows are narrower than planned.
    pub fn for_width(&self, width: usize) -> Option<Cow<'_, SelectMerge>> {
        let Some(w) = self.wildcard else {
            return Some(Cow::Borrowed(self));
        };
        let extra = width.checked_sub(self.visible.checked_add(w.derived)?)?;
        let at = |c: &mut usize| {
            if *c >= w.at {
                *c += extra;
            }
        };
        let mut spec = self.clone();
        spec.visible += extra;
        spec.wildcard = None;
        for weight in &mut spec.weights {
            at(&mut weight.column);
            at(&mut weight.weight);
        }
        spec.group_by.iter_mut().for_each(at);
        for aggregate in &mut spec.aggregates {
            at(&mut aggregate.column);
            match &mut aggregate.function {
                Aggregate::Avg { sum, count } => {
                    at(sum);
                    at(count);
                }
                Aggregate::CountDistinct { value }
                | Aggregate::SumDistinct { value }
                | Aggregate::AvgDistinct { value } => at(value),
                Aggregate::CountDistinctTuple { values, width } => {
                    values.iter_mut().take(usize::from(*width)).for_each(at)
                }
                Aggregate::Variance {
                    count,
                    sum,
                    var_pop,
                    ..
                } => {
                    at(count);
                    at(sum);
                    at(var_pop);
                }
                _ => {}
            }
        }
        if let Some(having) = &mut spec.having {
            having.columns_mut(&mut |c| at(c));
        }
        for computed in &mut spec.computed {
            at(&mut computed.column);
            computed.expr.columns_mut(&mut |c| at(c));
        }
        for key in &mut spec.order_by {
            at(&mut key.column);
        }
        for plan in &mut spec.concats {
            at(&mut plan.max_len);
            plan.values.iter_mut().for_each(at);
            plan.order.iter_mut().for_each(|k| at(&mut k.column));
            if let Some(count) = &mut plan.count {
                at(count);
            }
        }
        Some(Cow::Owned(spec))
    }

    /// The description with the window partition cap the server configures.
    pub fn with_window_cap(&self, max_partition_rows: u64) -> Cow<'_, SelectMerge> {
        match &self.window {
            Some(w) if w.max_partition_rows != max_partition_rows => {
                let mut spec = self.clone();
                if let Some(w) = &mut spec.window {
                    w.max_partition_rows = max_partition_rows;
                }
                Cow::Owned(spec)
            }
            _ => Cow::Borrowed(self),
        }
    }

    /// Whether rows are grouped (GROUP BY, or aggregates over one group).
    pub fn groups(&self) -> bool {
        !self.group_by.is_empty() || !self.aggregates.is_empty() || !self.computed.is_empty()
    }
}

impl Expr {
    /// `left op right`.
    pub fn compare(op: CompareOp, left: Expr, right: Expr) -> Expr {
        Expr::Compare(op, Box::new(left), Box::new(right))
    }

    /// `left op right`.
    pub fn arithmetic(op: ArithOp, left: Expr, right: Expr) -> Expr {
        Expr::Arithmetic(op, Box::new(left), Box::new(right))
    }

    /// Calls `f` on every column number the condition names.
    pub fn columns_mut(&mut self, f: &mut impl FnMut(&mut usize)) {
        match self {
            Expr::Column(c) => f(c),
            Expr::Literal(_) => {}
            Expr::Compare(_, l, r)
            | Expr::Arithmetic(_, l, r)
            | Expr::And(l, r)
            | Expr::Or(l, r) => {
                l.columns_mut(f);
                r.columns_mut(f);
            }
            Expr::Not(e) | Expr::IsNull(e) => e.columns_mut(f),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (when, then) in branches {
                    when.columns_mut(f);
                    then.columns_mut(f);
                }
                if let Some(e) = otherwise {
                    e.columns_mut(f);
                }
            }
            Expr::Function(_, args) => args.iter_mut().for_each(|a| a.columns_mut(f)),
        }
    }

    /// Calls `f` on this expression and every one inside it, outermost first.
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Column(_) | Expr::Literal(_) => {}
            Expr::Compare(_, l, r)
            | Expr::Arithmetic(_, l, r)
            | Expr::And(l, r)
            | Expr::Or(l, r) => {
                l.visit(f);
                r.visit(f);
            }
            Expr::Not(e) | Expr::IsNull(e) => e.visit(f),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (when, then) in branches {
                    when.visit(f);
                    then.visit(f);
                }
                if let Some(e) = otherwise {
                    e.visit(f);
                }
            }
            Expr::Function(_, args) => args.iter().for_each(|a| a.visit(f)),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One line for golden tests and `PREVIEW`, e.g.
/// `group #0 sorted; count #1, avg #2 (#3/#4); order #0 desc; limit 10; strip 2`.
impl fmt::Display for SelectMerge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let sorted = if self.streams_sorted { " sorted" } else { "" };
        if !self.group_by.is_empty() {
            parts.push(format!("group {}{sorted}", list(&self.group_by)));
        }
        if !self.aggregates.is_empty() {
            let aggregates: Vec<String> = self.aggregates.iter().map(|a| a.to_string()).collect();
            parts.push(aggregates.join(", "));
        }
        if !self.computed.is_empty() {
            let computed: Vec<String> = self
                .computed
                .iter()
                .map(|c| format!("#{}", c.column))
                .collect();
            parts.push(format!("computed {}", computed.join(", ")));
        }
        if self.rollup {
            parts.push("rollup".into());
        }
        if self.having.is_some() {
            parts.push("having".into());
        }
        if self.distinct {
            parts.push("distinct".into());
        }
        if !self.order_by.is_empty() {
            let keys: Vec<String> = self
                .order_by
                .iter()
                .map(|k| format!("#{}{}", k.column, if k.descending { " desc" } else { "" }))
                .collect();
            let sorted = if self.group_by.is_empty() { sorted } else { "" };
            parts.push(format!("order {}{sorted}", keys.join(", ")));
        }
        if let Some(window) = &self.window {
            parts.push(window.to_string());
        }
        if !self.weights.is_empty() {
            let weights: Vec<String> = self
                .weights
                .iter()
                .map(|w| format!("#{}~#{}", w.column, w.weight))
                .collect();
            parts.push(format!("weights {}", weights.join(", ")));
        }
        if self.offset > 0 {
            parts.push(format!("offset {}", self.offset));
        }
        if let Some(limit) = self.limit {
            parts.push(format!("limit {limit}"));
        }
        if parts.is_empty() {
            parts.push("concat".into());
        }
        write!(f, "{}; visible {}", parts.join("; "), self.visible)?;
        match self.wildcard {
            Some(w) => write!(f, " + wildcard at #{}", w.at),
            None => Ok(()),
        }
    }
}

impl fmt::Display for AggregateColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.column;
        match self.function {
            Aggregate::Count => write!(f, "count #{c}"),
            Aggregate::Sum => write!(f, "sum #{c}"),
            Aggregate::Min => write!(f, "min #{c}"),
            Aggregate::Max => write!(f, "max #{c}"),
            Aggregate::Avg { sum, count } => write!(f, "avg #{c} (#{sum}/#{count})"),
            Aggregate::CountDistinct { value } => write!(f, "count distinct #{c} (#{value})"),
            Aggregate::SumDistinct { value } => write!(f, "sum distinct #{c} (#{value})"),
            Aggregate::AvgDistinct { value } => write!(f, "avg distinct #{c} (#{value})"),
            Aggregate::CountDistinctTuple { values, width } => write!(
                f,
                "count distinct #{c} ({})",
                list(&values[..usize::from(width).min(MAX_DISTINCT_TUPLE)])
            ),
            Aggregate::Variance {
                count,
                sum,
                var_pop,
                sample,
                root,
            } => {
                let name = match (root, sample) {
                    (true, true) => "stddev_samp",
                    (true, false) => "stddev_pop",
                    (false, true) => "var_samp",
                    (false, false) => "var_pop",
                };
                write!(f, "{name} #{c} (#{count}, #{sum}, #{var_pop})")
            }
            Aggregate::BitAnd => write!(f, "bit_and #{c}"),
            Aggregate::BitOr => write!(f, "bit_or #{c}"),
            Aggregate::BitXor => write!(f, "bit_xor #{c}"),
            Aggregate::Concat { plan } => write!(f, "concat #{c} (plan {plan})"),
        }
    }
}

fn list(columns: &[usize]) -> String {
    let columns: Vec<String> = columns.iter().map(|c| format!("#{c}")).collect();
    columns.join(", ")
}
