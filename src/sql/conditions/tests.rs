use super::*;
use crate::rules::ShardingValue::Int;
use crate::sql::parse;
use sqlparser::ast::{SetExpr, Statement};
use ColumnCondition::{Any, Never, Range, Values};

/// Columns `a` (key (0, 0)) and `b` (key (1, 0)); integer literals are
/// exact, NULL is NULL, strings are inexact, anything else is no constant.
struct Fake;

impl Columns for Fake {
    fn keys(&self, expr: &Expr) -> Keys {
        match expr {
            Expr::Identifier(i) if i.value == "a" => smallvec![(0, 0)],
            Expr::Identifier(i) if i.value == "b" => smallvec![(1, 0)],
            Expr::Identifier(i) if i.value == "ab" => smallvec![(0, 0), (1, 0)],
            Expr::Nested(inner) => self.keys(inner),
            _ => Keys::new(),
        }
    }

    fn convert(&self, _key: Key, expr: &Expr) -> Option<Conversion> {
        let Expr::Value(v) = expr else {
            return match expr {
                Expr::UnaryOp { expr, .. } => match self.convert(_key, expr)? {
                    Conversion::Exact(Int(i)) => Some(Conversion::Exact(Int(-i))),
                    other => Some(other),
                },
                _ => None,
            };
        };
        match &v.value {
            sqlparser::ast::Value::Number(n, _) => Some(
                n.parse()
                    .map_or(Conversion::Inexact, |i| Conversion::Exact(Int(i))),
            ),
            sqlparser::ast::Value::Null => Some(Conversion::Null),
            sqlparser::ast::Value::SingleQuotedString(_) => Some(Conversion::Inexact),
            _ => None,
        }
    }
}

fn conditions(predicate: &str) -> ShardingConditions {
    let statement = parse(&format!("SELECT 1 FROM t WHERE {predicate}"))
        .expect("parses")
        .remove(0);
    let Statement::Query(query) = statement else {
        panic!()
    };
    let SetExpr::Select(select) = *query.body else {
        panic!()
    };
    extract(&select.selection.expect("a WHERE"), &Fake)
}

/// The alternatives as plain vectors, to compare with literals.
fn plain(conditions: &ShardingConditions) -> Vec<Vec<(Key, ColumnCondition)>> {
    conditions.any_of.iter().map(|c| c.to_vec()).collect()
}

fn one(key: Key, condition: ColumnCondition) -> ShardingConditions {
    ShardingConditions::leaf(key, condition)
}

fn range(low: Bound<i64>, high: Bound<i64>) -> ColumnCondition {
    Range { low, high }
}

#[test]
fn equality_both_ways() {
    assert_eq!(conditions("a = 1"), one((0, 0), Values(vec![Int(1)])));
    assert_eq!(conditions("1 = a"), one((0, 0), Values(vec![Int(1)])));
    assert_eq!(conditions("(a) = -3"), one((0, 0), Values(vec![Int(-3)])));
    assert_eq!(conditions("a <=> 2"), one((0, 0), Values(vec![Int(2)])));
}

#[test]
fn null_and_inexact() {
    assert_eq!(conditions("a = NULL"), one((0, 0), Never));
    let free = ShardingConditions::unconstrained();
    assert_eq!(conditions("a <=> NULL"), free);
    assert_eq!(conditions("a = 'x'"), free);
    assert_eq!(conditions("a = c"), free);
    assert_eq!(conditions("a IS NULL"), ShardingConditions::unconstrained());
}

#[test]
fn ranges_both_ways() {
    use Bound::*;
    assert_eq!(
        conditions("a < 5"),
        one((0, 0), range(Unbounded, Excluded(5)))
    );
    assert_eq!(
        conditions("5 < a"),
        one((0, 0), range(Excluded(5), Unbounded))
    );
    assert_eq!(
        conditions("a >= 5"),
        one((0, 0), range(Included(5), Unbounded))
    );
    assert_eq!(
        conditions("5 >= a"),
        one((0, 0), range(Unbounded, Included(5)))
    );
    assert_eq!(
        conditions("a BETWEEN 1 AND 3"),
        one((0, 0), range(Included(1), Included(3)))
    );
    assert_eq!(
        conditions("a > 1 AND a <= 3"),
        one((0, 0), range(Included(2), Included(3)))
    );
    assert_eq!(
        conditions("a NOT BETWEEN 1 AND 3"),
        ShardingConditions::unconstrained()
    );
    assert_eq!(conditions("a <> 3"), ShardingConditions::unconstrained());
}

#[test]
fn in_lists() {
    assert_eq!(
        conditions("a IN (1, 2, 2)"),
        one((0, 0), Values(vec![Int(1), Int(2)]))
    );
    assert_eq!(
        conditions("a IN (NULL, 2)"),
        one((0, 0), Values(vec![Int(2)]))
    );
    assert_eq!(conditions("a IN (NULL)"), one((0, 0), Never));
    assert_eq!(
        conditions("a IN (1, 'x')"),
        ShardingConditions::unconstrained()
    );
    assert_eq!(
        conditions("a NOT IN (1)"),
        ShardingConditions::unconstrained()
    );
}

#[test]
fn and_or_over_two_columns() {
    let got = conditions("(a = 1 AND b = 2) OR (a = 3 AND b = 4)");
    assert_eq!(
        plain(&got),
        vec![
            vec![
                ((0, 0), Values(vec![Int(1)])),
                ((1, 0), Values(vec![Int(2)]))
            ],
            vec![
                ((0, 0), Values(vec![Int(3)])),
                ((1, 0), Values(vec![Int(4)]))
            ],
        ]
    );
    let got = conditions("a = 1 AND (b = 2 OR b = 3)");
    assert_eq!(got.any_of.len(), 2);
    assert_eq!(
        conditions("a = 1 AND a = 2"),
        one((0, 0), Never),
        "contradiction"
    );
    assert_eq!(
        conditions("a = 1 OR c = 2"),
        ShardingConditions::unconstrained()
    );
}

#[test]
fn a_shared_using_column_constrains_both() {
    assert_eq!(
        plain(&conditions("ab = 7")),
        vec![vec![
            ((0, 0), Values(vec![Int(7)])),
            ((1, 0), Values(vec![Int(7)]))
        ]]
    );
}

#[test]
fn many_alternatives_collapse_to_their_hull() {
    let ors: Vec<String> = (0..100).map(|i| format!("a = {i}")).collect();
    let got = conditions(&ors.join(" OR "));
    assert!(got.any_of.len() <= MAX_ALTERNATIVES, "{}", got.any_of.len());
    let mut seen = Vec::new();
    for conjunction in &got.any_of {
        let [((0, 0), Values(values))] = conjunction.as_slice() else {
            panic!("{conjunction:?}")
        };
        seen.extend(values.iter().cloned());
    }
    seen.sort_by_key(|v| v.to_string());
    seen.dedup();
    assert_eq!(seen.len(), 100);
    // A hull drops columns not constrained in every alternative.
    let mixed: Vec<String> = (0..70).map(|i| format!("(a = {i} AND b = 1)")).collect();
    let got = conditions(&format!("{} OR c = 1", mixed.join(" OR ")));
    assert_eq!(got, ShardingConditions::unconstrained());
}

#[test]
fn unconstrained_and_never() {
    let none = ShardingConditions {
        any_of: SmallVec::new(),
    };
    assert_eq!(
        ShardingConditions::unconstrained().and(none.clone()),
        none.clone()
    );
    assert_eq!(
        ShardingConditions::unconstrained().or(none.clone()),
        ShardingConditions::unconstrained()
    );
    assert_eq!(
        ShardingConditions::condition(&smallvec![((0, 0), Never)], (1, 0)),
        Any
    );
}
