//! UNION DISTINCT's merge: streams sorted by every visible column dedup
//! by the last row sent, exactly as the hashed DISTINCT does.

use super::test_support::*;
use super::*;
use mysql_common::value::Value;
use std::collections::BTreeSet;

/// DISTINCT over `visible` columns ordered by all of them ascending, with
/// `weights` for string columns.
fn union_distinct(visible: usize, weights: &[(usize, usize)]) -> SelectMerge {
    SelectMerge {
        distinct: true,
        order_by: (0..visible)
            .map(|column| SortKey {
                column,
                descending: false,
            })
            .collect(),
        streams_sorted: true,
        weights: weights
            .iter()
            .map(|&(column, weight)| Weight { column, weight })
            .collect(),
        ..SelectMerge::new(visible)
    }
}

#[test]
fn duplicates_within_and_across_units_are_sent_once() {
    let spec = union_distinct(2, &[]);
    let out = merged(
        &spec,
        &[int(), int()],
        &[
            &[&["NULL", "1"], &["1", "1"], &["1", "1"], &["2", "5"]],
            &[&["NULL", "1"], &["1", "1"], &["1", "2"]],
            &[],
            &[&["2", "5"], &["3", "NULL"]],
        ],
    );
    assert_eq!(
        out,
        rows(&[
            &["NULL", "1"],
            &["1", "1"],
            &["1", "2"],
            &["2", "5"],
            &["3", "NULL"]
        ])
    );
}

#[test]
fn strings_equal_under_their_collation_are_one_row() {
    // 'a' and 'A' share a weight: the first to arrive is sent.
    let spec = union_distinct(1, &[(0, 1)]);
    let out = merged(
        &spec,
        &[text(), binary()],
        &[
            &[&["a", "A"], &["b", "B"]],
            &[&["A", "A"], &["B", "B"], &["c", "C"]],
        ],
    );
    assert_eq!(out, rows(&[&["a"], &["b"], &["c"]]));
}

#[test]
fn the_sorted_dedup_equals_a_set_of_the_rows() {
    // Units of pseudo-random rows, each sorted; the merge must send the
    // set of all rows, in order.
    let mut seed = 7u64;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % 12
    };
    let mut units: Vec<Vec<(u64, u64)>> = vec![Vec::new(); 5];
    let mut all = BTreeSet::new();
    for i in 0..400 {
        let row = (next(), next());
        all.insert(row);
        units[i % 5].push(row);
    }
    let units: Vec<Vec<Vec<Value>>> = units
        .into_iter()
        .map(|mut unit| {
            unit.sort_unstable();
            unit.into_iter()
                .map(|(a, b)| vec![v(&a.to_string()), v(&b.to_string())])
                .collect()
        })
        .collect();
    let spec = union_distinct(2, &[]);
    let (out, stats) = run(&spec, &[int(), int()], units).expect("merge succeeds");
    let want: Vec<Vec<Value>> = all
        .into_iter()
        .map(|(a, b)| vec![v(&a.to_string()), v(&b.to_string())])
        .collect();
    assert_eq!(out, want);
    assert_eq!(stats.rows_read, 400);
}

#[test]
fn offset_and_limit_count_distinct_rows() {
    let spec = SelectMerge {
        offset: 1,
        limit: Some(2),
        ..union_distinct(1, &[])
    };
    let out = merged(
        &spec,
        &[int()],
        &[&[&["1"], &["1"], &["2"], &["4"]], &[&["2"], &["3"], &["3"]]],
    );
    assert_eq!(out, rows(&[&["2"], &["3"]]));
}

#[test]
fn streams_not_sorted_as_the_weights_say_are_refused() {
    // A backend that cut its sort keys (max_sort_length) sends rows out of
    // the weights' order: a later duplicate could be missed, so the merge
    // stops with 1235 instead.
    let spec = union_distinct(1, &[(0, 1)]);
    let units = vec![rows(&[&["ab", "AB"], &["aa", "AA"]])];
    let error = run(&spec, &[text(), binary()], units).expect_err("refused");
    assert_eq!(error.code, 1235);
}
