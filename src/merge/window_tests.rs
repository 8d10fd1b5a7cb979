//! Window merge tests: hand-written partitions, the partition cap, and a
//! property test against a straightforward reference computed over the
//! concatenated, sorted rows of every unit.

use super::super::number::format_double;
use super::super::test_support::{binary, decimal, double, int, run, text, v};
use super::super::{
    Frame, SelectMerge, SortKey, Weight, WindowColumn, WindowFunction, WindowMerge,
};
use mysql_common::packets::Column;
use mysql_common::value::Value;
use proptest::prelude::*;
use std::cmp::Ordering;

/// Columns: 0 p (partition), 1 o (order), 2 id (unique, orders last), 3 x
/// DECIMAL(10,2), then one column per window function.
fn spec(functions: Vec<(WindowFunction, Frame, usize)>, cap: u64) -> SelectMerge {
    let mut spec = SelectMerge::new(4 + functions.len());
    spec.order_by = (0..3)
        .map(|column| SortKey {
            column,
            descending: false,
        })
        .collect();
    spec.streams_sorted = true;
    spec.window = Some(WindowMerge {
        partition_keys: 1,
        functions: functions
            .into_iter()
            .enumerate()
            .map(|(i, (function, frame, order_keys))| WindowColumn {
                column: 4 + i,
                function,
                frame,
                order_keys,
            })
            .collect(),
        max_partition_rows: cap,
    });
    spec
}

use Frame::{Default as Full, Rows};
use WindowFunction as W;

/// Every function the merge computes, each with the column type MySQL gives it.
fn all_functions() -> Vec<(WindowFunction, Frame, usize, Column)> {
    let x = 3;
    vec![
        (W::RowNumber, Full, 2, int()),
        (W::Rank, Full, 1, int()),
        (W::DenseRank, Full, 1, int()),
        (W::PercentRank, Full, 1, double()),
        (W::CumeDist, Full, 1, double()),
        (W::Ntile(3), Full, 2, int()),
        (
            W::Lag {
                value: x,
                offset: 1,
                default: None,
            },
            Full,
            2,
            decimal(2),
        ),
        (
            W::Lead {
                value: x,
                offset: 2,
                default: None,
            },
            Full,
            2,
            decimal(2),
        ),
        (W::FirstValue { value: x }, Full, 2, decimal(2)),
        (W::LastValue { value: x }, Full, 1, decimal(2)),
        (W::Sum { value: x }, Full, 1, decimal(2)),
        (W::Count { value: None }, Full, 0, int()),
        (
            W::Count { value: Some(x) },
            Rows { preceding: None },
            2,
            int(),
        ),
        (
            W::Avg { value: x },
            Rows { preceding: Some(2) },
            2,
            decimal(6),
        ),
        (
            W::Min { value: x },
            Rows { preceding: Some(1) },
            2,
            decimal(2),
        ),
        (W::Max { value: x }, Full, 1, decimal(2)),
    ]
}

/// One unit row's inputs: p, o, x in cents.
type Input = (Option<i64>, Option<i64>, Option<i64>);

/// A row of the whole result: p, o, id, x.
type Whole = (Option<i64>, Option<i64>, usize, Option<i64>);

fn cents(c: i64, scale: u32) -> String {
    let p = 10i64.pow(scale);
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!(
        "{sign}{}.{:0w$}",
        a / p as u64,
        a % p as u64,
        w = scale as usize
    )
}

fn value_of(n: Option<i64>) -> Value {
    n.map_or(Value::NULL, |n| v(&n.to_string()))
}

fn unit_row(p: Option<i64>, o: Option<i64>, id: usize, x: Option<i64>, width: usize) -> Vec<Value> {
    let mut row = vec![
        value_of(p),
        value_of(o),
        v(&id.to_string()),
        x.map_or(Value::NULL, |c| v(&cents(c, 2))),
    ];
    // The unit's own (partial) window values, which the merge replaces.
    row.resize(width, v("-1"));
    row
}

/// NULL lowest, as MySQL sorts.
fn key_cmp(a: Option<i64>, b: Option<i64>) -> Ordering {
    a.cmp(&b)
}

/// The reference: every row of one partition, sorted by (o, id), computed
/// straight from each function's definition.
fn reference(partition: &[Whole]) -> Vec<Vec<String>> {
    let n = partition.len();
    let x = |j: usize| partition[j].3;
    let o = |j: usize| partition[j].1;
    let show = |c: Option<i64>| c.map_or("NULL".to_string(), |c| cents(c, 2));
    let mut sizes = [n / 3; 3];
    for s in sizes.iter_mut().take(n % 3) {
        *s += 1;
    }
    let mut ntile = Vec::new();
    for (b, s) in sizes.iter().enumerate() {
        ntile.extend(std::iter::repeat_n(b + 1, *s));
    }
    (0..n)
        .map(|i| {
            let before = (0..n)
                .filter(|&j| key_cmp(o(j), o(i)) == Ordering::Less)
                .count();
            let upto: Vec<usize> = (0..n)
                .filter(|&j| key_cmp(o(j), o(i)) != Ordering::Greater)
                .collect();
            let mut distinct: Vec<Option<i64>> = (0..n)
                .map(o)
                .filter(|v| key_cmp(*v, o(i)) == Ordering::Less)
                .collect();
            distinct.dedup();
            let rank = before + 1;
            let percent = if n == 1 {
                0.0
            } else {
                before as f64 / (n - 1) as f64
            };
            let values: Vec<i64> = upto.iter().filter_map(|&j| x(j)).collect();
            let sum = (!values.is_empty()).then(|| values.iter().sum::<i64>());
            let frame_avg: Vec<i64> = (i.saturating_sub(2)..=i).filter_map(x).collect();
            let avg = (!frame_avg.is_empty()).then(|| {
                let total = frame_avg.iter().sum::<i64>() * 10_000;
                let count = frame_avg.len() as i64;
                let q = total / count;
                let r = total % count;
                let q = if 2 * r.abs() >= count {
                    q + total.signum()
                } else {
                    q
                };
                cents(q, 6)
            });
            let min = (i.saturating_sub(1)..=i).filter_map(x).min();
            let max = values.iter().copied().max();
            vec![
                (i + 1).to_string(),
                rank.to_string(),
                (distinct.len() + 1).to_string(),
                format_double(percent, 31),
                format_double(upto.len() as f64 / n as f64, 31),
                ntile[i].to_string(),
                show(i.checked_sub(1).and_then(x)),
                show((i + 2 < n).then(|| x(i + 2)).flatten()),
                show(x(0)),
                show(x(*upto.last().unwrap_or(&i))),
                show(sum),
                n.to_string(),
                (0..=i).filter(|&j| x(j).is_some()).count().to_string(),
                avg.unwrap_or_else(|| "NULL".into()),
                show(min),
                show(max),
            ]
        })
        .collect()
}

fn printed(row: &[Value]) -> Vec<String> {
    row.iter()
        .map(|value| match value {
            Value::NULL => "NULL".to_string(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Splits `rows` over `nodes` units as `placement` says, merges them, and
/// compares with the reference over all rows.
fn check(rows: Vec<Input>, placement: Vec<usize>, nodes: usize) {
    let functions = all_functions();
    let width = 4 + functions.len();
    let mut columns = vec![int(), int(), int(), decimal(2)];
    columns.extend(functions.iter().map(|f| f.3.clone()));
    let spec = spec(functions.iter().map(|f| (f.0, f.1, f.2)).collect(), 1000);
    let mut all: Vec<Whole> = rows
        .iter()
        .enumerate()
        .map(|(id, r)| (r.0, r.1, id, r.2))
        .collect();
    all.sort_by(|a, b| {
        key_cmp(a.0, b.0)
            .then(key_cmp(a.1, b.1))
            .then(a.2.cmp(&b.2))
    });
    let mut units = vec![Vec::new(); nodes];
    for (p, o, id, x) in &all {
        let node = placement.get(*id).copied().unwrap_or(0) % nodes;
        units[node].push(unit_row(*p, *o, *id, *x, width));
    }
    let (sent, _) = run(&spec, &columns, units).expect("merge succeeds");
    let mut want = Vec::new();
    let mut start = 0;
    while start < all.len() {
        let end = (start..all.len())
            .find(|&j| all[j].0 != all[start].0)
            .unwrap_or(all.len());
        for (row, values) in all[start..end].iter().zip(reference(&all[start..end])) {
            let mut line = printed(&unit_row(row.0, row.1, row.2, row.3, 4));
            line.extend(values);
            want.push(line);
        }
        start = end;
    }
    let got: Vec<Vec<String>> = sent.iter().map(|r| printed(r)).collect();
    assert_eq!(got, want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any split of the rows over 1..6 nodes merges to the values the
    /// reference computes over the whole partition.
    #[test]
    fn windows_over_any_split_equal_the_reference(
        rows in prop::collection::vec(
            (
                prop::option::weighted(0.9, 0i64..4),
                prop::option::weighted(0.85, 0i64..5),
                prop::option::weighted(0.8, -500i64..500),
            ),
            0..40,
        ),
        placement in prop::collection::vec(0usize..6, 40),
        nodes in 1usize..6,
    ) {
        check(rows, placement, nodes);
    }
}

#[test]
fn one_row_partitions_and_an_empty_result() {
    check(
        vec![(Some(1), Some(1), Some(5)), (Some(2), None, None)],
        vec![0, 1],
        2,
    );
    check(Vec::new(), Vec::new(), 3);
}

#[test]
fn a_partition_past_the_cap_is_refused_before_any_row_is_sent() {
    let spec = spec(vec![(W::RowNumber, Full, 2)], 3);
    let columns = vec![int(), int(), int(), decimal(2), int()];
    let rows = |p: i64, n: usize| -> Vec<Vec<Value>> {
        (0..n)
            .map(|i| unit_row(Some(p), Some(i as i64), i, None, 5))
            .collect()
    };
    // Two rows of partition 1, then four of partition 2: the second
    // partition passes the cap of 3; nothing was sent.
    let mut units = rows(1, 2);
    units.extend(rows(2, 4));
    let sources = vec![super::super::MemorySource::new(units)];
    let mut sent: Vec<Vec<Value>> = Vec::new();
    let result = futures_util::FutureExt::now_or_never(super::super::merge(
        &spec, &columns, sources, &mut sent,
    ))
    .expect("in memory");
    let error = result.expect_err("past the cap");
    assert!(
        error
            .to_string()
            .contains("server.max_window_partition_rows"),
        "{error}"
    );
    assert!(sent.is_empty(), "rows sent before the refusal: {sent:?}");
    // At the cap, every row goes out.
    let (sent, _) = run(&spec, &columns, vec![rows(1, 3), rows(2, 3)]).expect("within the cap");
    assert_eq!(sent.len(), 6);
}

#[test]
fn strings_partition_by_their_collation_weight() {
    // p is a case-insensitive string whose weight is column 5.
    let mut spec = spec(vec![(W::Count { value: None }, Full, 0)], 100);
    spec.window.as_mut().expect("window").functions[0].column = 4;
    spec.weights = vec![Weight {
        column: 0,
        weight: 5,
    }];
    spec.visible = 5;
    let columns = vec![text(), int(), int(), decimal(2), int(), binary()];
    let row = |p: &str, w: &str, id: &str| vec![v(p), v("1"), v(id), v("NULL"), v("0"), v(w)];
    let units = vec![
        vec![row("a", "A", "1"), row("B", "B", "3")],
        vec![row("A", "A", "2"), row("b", "B", "4"), row("c", "C", "5")],
    ];
    let (sent, _) = run(&spec, &columns, units).expect("merge");
    let counts: Vec<String> = sent.iter().map(|r| printed(r)[4].clone()).collect();
    assert_eq!(counts, ["2", "2", "2", "2", "1"]);
}
