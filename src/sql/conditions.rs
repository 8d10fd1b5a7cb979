//! Sharding conditions: what a WHERE (or an inner join's ON) says about the
//! sharding columns, as an OR of ANDs of [`ColumnCondition`]s. The result
//! always covers every row the expression can match (never fewer), so
//! routing on it is correct; it is as narrow as the algebra allows.

use crate::rules::{ColumnCondition, Conversion, ShardingValue};
use smallvec::{smallvec, SmallVec};
use sqlparser::ast::{BinaryOperator, Expr};
use std::ops::Bound;

/// A sharding column of one table reference: (reference index, index into
/// the table's sharding columns).
pub type Key = (usize, usize);

/// The sharding columns one column reference names: almost always none or
/// one, kept inline (routing runs at every execute).
pub type Keys = SmallVec<[Key; 2]>;

/// Beyond this many alternatives, OR-ed conditions are merged into one (wider).
const MAX_ALTERNATIVES: usize = 64;

/// One AND of conditions, at most one per key (usually one, inline).
pub type Conjunction = SmallVec<[(Key, ColumnCondition); 1]>;

/// Conditions on sharding columns: any of the conjunctions may hold. No
/// conjunction matches nothing; one empty conjunction constrains nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardingConditions {
    /// The alternatives (usually one, inline).
    pub any_of: SmallVec<[Conjunction; 1]>,
}

/// What the extraction needs to know about columns and values.
pub trait Columns {
    /// The sharding columns `expr` names (several for a `USING` column
    /// shared by joined tables); empty when it is no sharding column.
    fn keys(&self, expr: &Expr) -> Keys;
    /// `expr` converted as a compared value of the column `key`; `None` when
    /// it is no constant (or an unbound `?`).
    fn convert(&self, key: Key, expr: &Expr) -> Option<Conversion>;
    /// Told when `column = value` or `column IN (.., value, ..)` compares
    /// the sharding column `key` with a value that does not convert exactly.
    fn inexact(&self, _key: Key, _value: &Expr) {}
}

impl ShardingConditions {
    /// No constraint: every row may match.
    pub fn unconstrained() -> Self {
        ShardingConditions {
            any_of: smallvec![Conjunction::new()],
        }
    }

    /// One condition on one key.
    pub fn leaf(key: Key, condition: ColumnCondition) -> Self {
        ShardingConditions {
            any_of: smallvec![smallvec![(key, condition)]],
        }
    }

    /// Whether it constrains nothing.
    pub fn is_unconstrained(&self) -> bool {
        matches!(self.any_of.as_slice(), [only] if only.is_empty())
    }

    /// The condition on `key` in `conjunction`.
    pub fn condition(conjunction: &Conjunction, key: Key) -> ColumnCondition {
        conjunction
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(ColumnCondition::Any, |(_, c)| c.clone())
    }

    /// Both hold.
    pub fn and(self, other: ShardingConditions) -> ShardingConditions {
        if self.is_unconstrained() {
            return other;
        }
        if other.is_unconstrained() {
            return self;
        }
        let (a, b) = if self.any_of.len() * other.any_of.len() > MAX_ALTERNATIVES {
            (self.hull(), other.hull())
        } else {
            (self, other)
        };
        let mut any_of = SmallVec::with_capacity(a.any_of.len() * b.any_of.len());
        for left in &a.any_of {
            for right in &b.any_of {
                let mut merged = left.clone();
                for (key, condition) in right {
                    match merged.iter_mut().find(|(k, _)| k == key) {
                        Some((_, existing)) => {
                            let current = std::mem::replace(existing, ColumnCondition::Any);
                            *existing = current.and(condition.clone());
                        }
                        None => merged.push((*key, condition.clone())),
                    }
                }
                any_of.push(merged);
            }
        }
        ShardingConditions { any_of }
    }

    /// Either holds.
    pub fn or(mut self, other: ShardingConditions) -> ShardingConditions {
        // An alternative without constraints makes the whole OR unconstrained.
        let free = |c: &ShardingConditions| c.any_of.iter().any(SmallVec::is_empty);
        if free(&self) || free(&other) {
            return ShardingConditions::unconstrained();
        }
        self.any_of.extend(other.any_of);
        if self.any_of.len() > MAX_ALTERNATIVES {
            self.hull()
        } else {
            self
        }
    }

    /// One conjunction covering all alternatives: the keys every alternative
    /// constrains, their conditions OR-ed.
    fn hull(self) -> ShardingConditions {
        let mut alternatives = self.any_of.into_iter();
        let Some(first) = alternatives.next() else {
            return self_never();
        };
        let merged = alternatives.fold(first, |acc, next| {
            acc.into_iter()
                .filter_map(|(key, condition)| {
                    let other = next.iter().find(|(k, _)| *k == key)?;
                    Some((key, condition.or(other.1.clone())))
                })
                .collect()
        });
        ShardingConditions {
            any_of: smallvec![merged],
        }
    }
}

/// Matches nothing.
fn self_never() -> ShardingConditions {
    ShardingConditions {
        any_of: SmallVec::new(),
    }
}

/// The sharding conditions of a boolean expression.
pub fn extract(expr: &Expr, columns: &impl Columns) -> ShardingConditions {
    match expr {
        Expr::Nested(inner) => extract(inner, columns),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => extract(left, columns).and(extract(right, columns)),
            BinaryOperator::Or => extract(left, columns).or(extract(right, columns)),
            BinaryOperator::Eq
            | BinaryOperator::Spaceship
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => comparison(left, op, right, columns),
            _ => ShardingConditions::unconstrained(),
        },
        Expr::InList {
            expr,
            list,
            negated: false,
        } => each_key(expr, columns, |key| in_list(key, list, columns)),
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } => each_key(expr, columns, |key| {
            match (integer(columns, key, low), integer(columns, key, high)) {
                (Some(low), Some(high)) => ColumnCondition::Range {
                    low: Bound::Included(low),
                    high: Bound::Included(high),
                },
                _ => ColumnCondition::Any,
            }
        }),
        _ => ShardingConditions::unconstrained(),
    }
}

/// The AND of `condition(key)` over the keys `column` names.
fn each_key(
    column: &Expr,
    columns: &impl Columns,
    condition: impl Fn(Key) -> ColumnCondition,
) -> ShardingConditions {
    columns
        .keys(column)
        .into_iter()
        .fold(
            ShardingConditions::unconstrained(),
            |acc, key| match condition(key) {
                ColumnCondition::Any => acc,
                condition => acc.and(ShardingConditions::leaf(key, condition)),
            },
        )
}

/// `col op value` or `value op col`.
fn comparison(
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    columns: &impl Columns,
) -> ShardingConditions {
    let (column, value, op) = if !columns.keys(left).is_empty() {
        (left, right, op.clone())
    } else {
        (right, left, flip(op))
    };
    each_key(column, columns, |key| {
        let Some(conversion) = columns.convert(key, value) else {
            return ColumnCondition::Any;
        };
        match (op.clone(), conversion) {
            (BinaryOperator::Eq | BinaryOperator::Spaceship, Conversion::Exact(v)) => {
                ColumnCondition::value(v)
            }
            (BinaryOperator::Eq, Conversion::Null) => ColumnCondition::Never,
            (BinaryOperator::Eq | BinaryOperator::Spaceship, Conversion::Inexact) => {
                columns.inexact(key, value);
                ColumnCondition::Any
            }
            (op, Conversion::Exact(ShardingValue::Int(i))) => {
                let (low, high) = match op {
                    BinaryOperator::Lt => (Bound::Unbounded, Bound::Excluded(i)),
                    BinaryOperator::LtEq => (Bound::Unbounded, Bound::Included(i)),
                    BinaryOperator::Gt => (Bound::Excluded(i), Bound::Unbounded),
                    BinaryOperator::GtEq => (Bound::Included(i), Bound::Unbounded),
                    _ => return ColumnCondition::Any,
                };
                ColumnCondition::Range { low, high }
            }
            // `<` with NULL matches nothing, but Any is as correct and rarer.
            _ => ColumnCondition::Any,
        }
    })
}

/// `value op col` read as `col op' value`.
fn flip(op: &BinaryOperator) -> BinaryOperator {
    match op {
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        other => other.clone(),
    }
}

/// `col IN (v, ...)`: the values; NULLs match nothing; any value that is not
/// exact (or not a constant) leaves the column unconstrained.
fn in_list(key: Key, list: &[Expr], columns: &impl Columns) -> ColumnCondition {
    let mut values = Vec::with_capacity(list.len());
    for item in list {
        match columns.convert(key, item) {
            Some(Conversion::Exact(v)) => {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            Some(Conversion::Null) => {}
            Some(Conversion::Inexact) => {
                columns.inexact(key, item);
                return ColumnCondition::Any;
            }
            None => return ColumnCondition::Any,
        }
    }
    if values.is_empty() {
        ColumnCondition::Never
    } else {
        ColumnCondition::Values(values)
    }
}

/// An exact integer bound.
fn integer(columns: &impl Columns, key: Key, expr: &Expr) -> Option<i64> {
    match columns.convert(key, expr)? {
        Conversion::Exact(ShardingValue::Int(i)) => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
