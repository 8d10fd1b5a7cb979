//! Property tests: every merge equals an oracle computed over the
//! concatenation of the units' rows (sort / aggregate / slice), and a sorted
//! merge under LIMIT reads no more rows than it needs.

use super::compare::{compare_values, key_part, Comparator};
use super::test_support::{binary, int, run, v};
use super::{Aggregate, AggregateColumn, CompareOp, Expr, Literal, SelectMerge, SortKey};
use mysql_common::value::Value;
use proptest::prelude::*;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// A unit row: an integer, a short string, and a unique tag that makes row
/// order observable.
type Row = (Option<i64>, Option<String>, usize);

fn units() -> impl Strategy<Value = Vec<Vec<(Option<i64>, Option<String>)>>> {
    let value = prop::option::weighted(0.85, -4i64..4);
    let string = prop::option::weighted(0.85, "[abé日]{0,3}");
    prop::collection::vec(prop::collection::vec((value, string), 0..12), 0..6)
}

fn tagged(units: Vec<Vec<(Option<i64>, Option<String>)>>) -> Vec<Vec<Row>> {
    let mut tag = 0;
    units
        .into_iter()
        .map(|unit| {
            unit.into_iter()
                .map(|(i, s)| {
                    tag += 1;
                    (i, s, tag)
                })
                .collect()
        })
        .collect()
}

/// The oracle's order: NULL lowest, integers numerically, strings by bytes.
fn oracle_cmp(keys: &[SortKey], a: &Row, b: &Row) -> Ordering {
    for key in keys {
        let order = match key.column {
            0 => a.0.cmp(&b.0),
            _ => {
                a.1.as_deref()
                    .map(str::as_bytes)
                    .cmp(&b.1.as_deref().map(str::as_bytes))
            }
        };
        let order = if key.descending {
            order.reverse()
        } else {
            order
        };
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

fn values(row: &Row) -> Vec<Value> {
    let text = |s: Option<String>| s.map_or(Value::NULL, |s| Value::Bytes(s.into_bytes()));
    vec![
        row.0.map_or(Value::NULL, |i| v(&i.to_string())),
        text(row.1.clone()),
        v(&row.2.to_string()),
    ]
}

fn slice<T>(rows: Vec<T>, offset: u64, limit: Option<u64>) -> Vec<T> {
    let rows = rows.into_iter().skip(offset as usize);
    match limit {
        Some(n) => rows.take(n as usize).collect(),
        None => rows.collect(),
    }
}

fn sort_keys() -> impl Strategy<Value = Vec<SortKey>> {
    prop::collection::vec(
        (0usize..2, any::<bool>()).prop_map(|(column, descending)| SortKey { column, descending }),
        1..3,
    )
}

/// Partial aggregates a unit computes for `SELECT k, COUNT(*), SUM(x),
/// MIN(x), MAX(x), AVG(x), SUM(x), COUNT(x) ... GROUP BY k ORDER BY k`.
fn unit_groups(rows: &[(Option<i64>, Option<i64>)], descending: bool) -> Vec<Vec<Value>> {
    let mut groups: BTreeMap<Option<i64>, Vec<Option<i64>>> = BTreeMap::new();
    for (k, x) in rows {
        groups.entry(*k).or_default().push(*x);
    }
    let mut out: Vec<Vec<Value>> = groups
        .into_iter()
        .map(|(k, xs)| {
            let (count, sum, min, max, n) = fold(&xs);
            vec![
                opt(k),
                v(&count.to_string()),
                opt(sum),
                opt(min),
                opt(max),
                sum.map_or(Value::NULL, |s| v(&avg_text(s, n))),
                opt(sum),
                v(&n.to_string()),
            ]
        })
        .collect();
    if descending {
        out.reverse();
    }
    out
}

/// COUNT(*), SUM, MIN, MAX and COUNT of the non-NULL values.
fn fold(xs: &[Option<i64>]) -> (i64, Option<i64>, Option<i64>, Option<i64>, i64) {
    let present: Vec<i64> = xs.iter().flatten().copied().collect();
    let sum = (!present.is_empty()).then(|| present.iter().sum());
    let (min, max) = (present.iter().min().copied(), present.iter().max().copied());
    (xs.len() as i64, sum, min, max, present.len() as i64)
}

fn opt(i: Option<i64>) -> Value {
    i.map_or(Value::NULL, |i| v(&i.to_string()))
}

/// `sum / n` with 4 decimals, rounded half away from zero.
fn avg_text(sum: i64, n: i64) -> String {
    let scaled = i128::from(sum) * 10_000;
    let n = i128::from(n);
    let (q, r) = (scaled / n, scaled % n);
    let q = if 2 * r.abs() >= n {
        q + scaled.signum()
    } else {
        q
    };
    let sign = if q < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", q.abs() / 10_000, q.abs() % 10_000)
}

fn agg(column: usize, function: Aggregate) -> AggregateColumn {
    AggregateColumn { column, function }
}

proptest! {
    #[test]
    fn sorted_merges_equal_a_stable_sort_of_the_concatenation(
        units in units(),
        keys in sort_keys(),
        offset in 0u64..8,
        limit in prop::option::of(0u64..10),
        presorted in any::<bool>(),
    ) {
        let mut units = tagged(units);
        if presorted {
            for unit in &mut units {
                unit.sort_by(|a, b| oracle_cmp(&keys, a, b));
            }
        }
        let mut expected: Vec<Row> = units.iter().flatten().cloned().collect();
        expected.sort_by(|a, b| oracle_cmp(&keys, a, b));
        let expected: Vec<Vec<Value>> = slice(expected, offset, limit).iter().map(values).collect();

        let spec = SelectMerge {
            order_by: keys,
            offset,
            limit,
            streams_sorted: presorted,
            ..SelectMerge::new(3)
        };
        let sources = units.len() as u64;
        let inputs = units.iter().map(|u| u.iter().map(values).collect()).collect();
        let (out, stats) = run(&spec, &[int(), binary(), int()], inputs).expect("merge");
        prop_assert_eq!(out, expected);
        if let (true, Some(limit)) = (presorted, limit) {
            prop_assert!(stats.rows_read <= sources + offset + limit);
        }
    }

    #[test]
    fn concatenation_equals_the_slice_and_reads_only_it(
        units in units(),
        offset in 0u64..8,
        limit in prop::option::of(0u64..10),
        distinct in any::<bool>(),
    ) {
        let units = tagged(units);
        let mut seen = BTreeSet::new();
        let rows: Vec<Row> = units
            .iter()
            .flatten()
            .filter(|r| !distinct || seen.insert((r.0, r.1.clone())))
            .cloned()
            .collect();
        let expected: Vec<Vec<Value>> = slice(rows, offset, limit)
            .iter()
            .map(|r| values(r)[..2].to_vec())
            .collect();
        let spec = SelectMerge { offset, limit, distinct, ..SelectMerge::new(2) };
        let inputs = units.iter().map(|u| u.iter().map(values).collect()).collect();
        let (out, stats) = run(&spec, &[int(), binary(), int()], inputs).expect("merge");
        prop_assert_eq!(out, expected);
        if let (false, Some(limit)) = (distinct, limit) {
            prop_assert!(stats.rows_read <= offset + limit);
        }
    }

    #[test]
    fn grouped_merges_equal_aggregates_over_all_rows(
        raw in prop::collection::vec(
            prop::collection::vec((prop::option::weighted(0.9, -3i64..3), prop::option::weighted(0.8, -50i64..50)), 0..15),
            0..5,
        ),
        mode in 0u8..4,
        offset in 0u64..3,
        limit in prop::option::of(0u64..5),
        having in any::<bool>(),
    ) {
        // 0: streaming ascending, 1: streaming descending, 2: hashed ORDER BY
        // COUNT(*) DESC, k, 3: hashed without ORDER BY.
        let descending = mode == 1;
        let order_by = match mode {
            0 | 1 => vec![SortKey { column: 0, descending }],
            2 => vec![SortKey { column: 1, descending: true }, SortKey { column: 0, descending: false }],
            _ => vec![],
        };
        let spec = SelectMerge {
            group_by: vec![0],
            aggregates: vec![
                agg(1, Aggregate::Count),
                agg(2, Aggregate::Sum),
                agg(3, Aggregate::Min),
                agg(4, Aggregate::Max),
                agg(5, Aggregate::Avg { sum: 6, count: 7 }),
            ],
            having: having.then(|| Expr::compare(CompareOp::Gt, Expr::Column(1), Expr::Literal(Literal::Int(1)))),
            order_by: order_by.clone(),
            offset,
            limit,
            streams_sorted: mode < 2,
            ..SelectMerge::new(6)
        };
        let columns = [int(), int(), super::test_support::decimal(0), int(), int(),
            super::test_support::decimal(4), super::test_support::decimal(0), int()];
        let inputs = raw.iter().map(|rows| unit_groups(rows, descending)).collect();

        let mut oracle: Vec<Vec<Value>> = unit_groups(&raw.concat(), false)
            .into_iter()
            .map(|mut r| { r.truncate(6); r })
            .filter(|r| !having || int_value(&r[1]) > 1)
            .collect();
        match mode {
            1 => oracle.reverse(),
            2 => oracle.sort_by(|a, b| int_value(&b[1]).cmp(&int_value(&a[1])).then_with(|| by_key(a, b))),
            _ => {}
        }
        let (mut out, _) = run(&spec, &columns, inputs).expect("merge");
        if mode == 3 {
            // No ORDER BY: any order, so compare as sets (the slice only when whole).
            prop_assert_eq!(out.len(), slice(oracle.clone(), offset, limit).len());
            if offset == 0 && limit.is_none() {
                out.sort_by(|a, b| by_key(a, b));
                prop_assert_eq!(out, oracle);
            }
        } else {
            prop_assert_eq!(out, slice(oracle, offset, limit));
        }
    }

    #[test]
    fn distinct_aggregates_equal_distinct_values_over_all_rows(
        raw in prop::collection::vec(
            prop::collection::vec((-2i64..2, prop::option::weighted(0.8, -4i64..4)), 0..12),
            0..5,
        ),
        streams_sorted in any::<bool>(),
    ) {
        // Each unit: SELECT k, COUNT(DISTINCT x), COUNT(*), SUM(DISTINCT x), x
        // ... GROUP BY k, x ORDER BY k, x.
        let unit = |rows: &[(i64, Option<i64>)]| -> Vec<Vec<Value>> {
            let mut groups: BTreeMap<(i64, Option<i64>), i64> = BTreeMap::new();
            for (k, x) in rows {
                *groups.entry((*k, *x)).or_default() += 1;
            }
            groups
                .into_iter()
                .map(|((k, x), n)| vec![v(&k.to_string()), v(if x.is_some() { "1" } else { "0" }), v(&n.to_string()), opt(x), opt(x)])
                .collect()
        };
        let spec = SelectMerge {
            group_by: vec![0],
            aggregates: vec![
                agg(1, Aggregate::CountDistinct { value: 4 }),
                agg(2, Aggregate::Count),
                agg(3, Aggregate::SumDistinct { value: 4 }),
            ],
            order_by: vec![SortKey { column: 0, descending: false }],
            streams_sorted,
            ..SelectMerge::new(4)
        };
        let columns = [int(), int(), int(), super::test_support::decimal(0), int()];
        let inputs = raw.iter().map(|rows| unit(rows)).collect();
        let mut oracle: BTreeMap<i64, (BTreeSet<i64>, i64)> = BTreeMap::new();
        for (k, x) in raw.concat() {
            let entry = oracle.entry(k).or_default();
            entry.1 += 1;
            entry.0.extend(x);
        }
        let oracle: Vec<Vec<Value>> = oracle
            .into_iter()
            .map(|(k, (xs, n))| {
                let sum = (!xs.is_empty()).then(|| xs.iter().sum::<i64>());
                vec![v(&k.to_string()), v(&xs.len().to_string()), v(&n.to_string()), opt(sum)]
            })
            .collect();
        let (out, _) = run(&spec, &columns, inputs).expect("merge");
        prop_assert_eq!(out, oracle);
    }

    #[test]
    fn decimal_equality_and_hashing_agree(
        a in -2000i64..2000, b in -2000i64..2000,
        scale_a in 0u32..4, scale_b in 0u32..4,
        pad_a in 0usize..3, pad_b in 0usize..3,
    ) {
        let text = |n: i64, scale: u32, pad: usize| {
            let magnitude = n.unsigned_abs().to_string();
            let magnitude = format!("{magnitude:0>width$}", width = scale as usize + 1);
            let (int, frac) = magnitude.split_at(magnitude.len() - scale as usize);
            let sign = if n < 0 { "-" } else { "" };
            let frac = format!("{frac}{}", "0".repeat(pad));
            Value::Bytes(if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }.into_bytes())
        };
        let (x, y) = (text(a, scale_a, pad_a), text(b, scale_b, pad_b));
        // Exact comparison: a × 10^-scale_a against b × 10^-scale_b.
        let expected = (i128::from(a) * 10i128.pow(scale_b)).cmp(&(i128::from(b) * 10i128.pow(scale_a)));
        prop_assert_eq!(compare_values(Comparator::Decimal, &x, &y), expected);
        let (px, py) = (key_part(Comparator::Decimal, 0, &[x]), key_part(Comparator::Decimal, 0, &[y]));
        prop_assert_eq!(px == py, expected.is_eq());
    }
}

fn int_value(value: &Value) -> i64 {
    match value {
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// Merged group rows by their key, NULL first.
fn by_key(a: &[Value], b: &[Value]) -> Ordering {
    compare_values(Comparator::Int, &a[0], &b[0])
}
