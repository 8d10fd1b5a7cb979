//! What a statement says about one sharding column, as the router hands it to
//! [`TableRule::route`](super::TableRule::route), and how conditions combine
//! under AND / OR (always to a superset of the matching rows, never fewer).

use super::value::ShardingValue;
use std::ops::Bound;

/// A condition on one sharding column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnCondition {
    /// `col = v`, `col IN (...)`: the column holds one of these values.
    Values(Vec<ShardingValue>),
    /// `col BETWEEN a AND b`, `col < b`, `col >= a`, ... on integer bounds.
    /// A bound that is not an exact integer should be widened or left open.
    Range {
        /// The lower end.
        low: Bound<i64>,
        /// The upper end.
        high: Bound<i64>,
    },
    /// Nothing usable (no condition, `IS NULL`, an inexact value): every candidate.
    Any,
    /// Matches no row (`col = NULL`, contradictory conditions): no candidate.
    Never,
}

impl ColumnCondition {
    /// `col = value`.
    pub fn value(value: ShardingValue) -> Self {
        ColumnCondition::Values(vec![value])
    }

    /// The inclusive integer range of a `Range`, `None` when it is empty.
    /// Open ends become `i64::MIN` / `i64::MAX`.
    pub fn inclusive(low: Bound<i64>, high: Bound<i64>) -> Option<(i64, i64)> {
        let low = match low {
            Bound::Unbounded => i64::MIN,
            Bound::Included(a) => a,
            Bound::Excluded(a) => a.checked_add(1)?,
        };
        let high = match high {
            Bound::Unbounded => i64::MAX,
            Bound::Included(b) => b,
            Bound::Excluded(b) => b.checked_sub(1)?,
        };
        (low <= high).then_some((low, high))
    }

    /// Both conditions hold (`a AND b` on the same column).
    pub fn and(self, other: ColumnCondition) -> ColumnCondition {
        use ColumnCondition::*;
        match (self, other) {
            (Never, _) | (_, Never) => Never,
            (Any, c) | (c, Any) => c,
            (Values(a), Values(b)) => non_empty(a.into_iter().filter(|v| b.contains(v)).collect()),
            (Values(values), Range { low, high }) | (Range { low, high }, Values(values)) => {
                match Self::inclusive(low, high) {
                    None => Never,
                    Some((low, high)) => non_empty(
                        values
                            .into_iter()
                            .filter(|v| match v {
                                ShardingValue::Int(i) => (low..=high).contains(i),
                                // A string compared with an integer range: keep it.
                                ShardingValue::Str(_) => true,
                            })
                            .collect(),
                    ),
                }
            }
            (Range { low: l1, high: h1 }, Range { low: l2, high: h2 }) => {
                match (Self::inclusive(l1, h1), Self::inclusive(l2, h2)) {
                    (Some((a1, b1)), Some((a2, b2))) if a1.max(a2) <= b1.min(b2) => Range {
                        low: Bound::Included(a1.max(a2)),
                        high: Bound::Included(b1.min(b2)),
                    },
                    _ => Never,
                }
            }
        }
    }

    /// Either condition holds (`a OR b` on the same column).
    pub fn or(self, other: ColumnCondition) -> ColumnCondition {
        use ColumnCondition::*;
        match (self, other) {
            (Never, c) | (c, Never) => c,
            (Any, _) | (_, Any) => Any,
            (Values(mut a), Values(b)) => {
                for v in b {
                    if !a.contains(&v) {
                        a.push(v);
                    }
                }
                Values(a)
            }
            (Range { low: l1, high: h1 }, Range { low: l2, high: h2 }) => {
                match (Self::inclusive(l1, h1), Self::inclusive(l2, h2)) {
                    (None, None) => Never,
                    (Some((a, b)), None) | (None, Some((a, b))) => Range {
                        low: Bound::Included(a),
                        high: Bound::Included(b),
                    },
                    // The hull: a superset of both.
                    (Some((a1, b1)), Some((a2, b2))) => Range {
                        low: Bound::Included(a1.min(a2)),
                        high: Bound::Included(b1.max(b2)),
                    },
                }
            }
            (Values(_), Range { .. }) | (Range { .. }, Values(_)) => Any,
        }
    }
}

/// `Values` of a non-empty list, else `Never`.
fn non_empty(values: Vec<ShardingValue>) -> ColumnCondition {
    if values.is_empty() {
        ColumnCondition::Never
    } else {
        ColumnCondition::Values(values)
    }
}

#[cfg(test)]
mod tests {
    use super::ColumnCondition::{self, *};
    use super::ShardingValue::Int;
    use std::ops::Bound::*;

    fn range(a: i64, b: i64) -> ColumnCondition {
        Range {
            low: Included(a),
            high: Included(b),
        }
    }

    #[test]
    fn inclusive_bounds() {
        assert_eq!(
            ColumnCondition::inclusive(Excluded(1), Excluded(4)),
            Some((2, 3))
        );
        assert_eq!(ColumnCondition::inclusive(Excluded(3), Excluded(4)), None);
        assert_eq!(
            ColumnCondition::inclusive(Excluded(i64::MAX), Unbounded),
            None
        );
        assert_eq!(
            ColumnCondition::inclusive(Unbounded, Unbounded),
            Some((i64::MIN, i64::MAX))
        );
    }

    #[test]
    fn and_narrows() {
        assert_eq!(range(1, 10).and(range(5, 20)), range(5, 10));
        assert_eq!(range(1, 4).and(range(5, 20)), Never);
        assert_eq!(
            Values(vec![Int(1), Int(7)]).and(range(5, 20)),
            Values(vec![Int(7)])
        );
        assert_eq!(Values(vec![Int(1)]).and(Values(vec![Int(2)])), Never);
        assert_eq!(Any.and(range(1, 2)), range(1, 2));
        assert_eq!(Never.and(Any), Never);
    }

    #[test]
    fn or_widens() {
        assert_eq!(range(1, 3).or(range(7, 9)), range(1, 9));
        assert_eq!(
            Values(vec![Int(1)]).or(Values(vec![Int(2), Int(1)])),
            Values(vec![Int(1), Int(2)])
        );
        assert_eq!(Values(vec![Int(1)]).or(range(1, 2)), Any);
        assert_eq!(Never.or(range(1, 2)), range(1, 2));
        assert_eq!(Any.or(Never), Any);
    }
}
