//! Grouping and aggregates, through the whole merge.

use crate::merge::test_support::*;
use crate::merge::{
    Aggregate, AggregateColumn, CompareOp, Expr, Literal, SelectMerge, SortKey, Weight,
};
use mysql_common::value::Value;

fn agg(column: usize, function: Aggregate) -> AggregateColumn {
    AggregateColumn { column, function }
}

fn asc(column: usize) -> SortKey {
    SortKey {
        column,
        descending: false,
    }
}

fn desc(column: usize) -> SortKey {
    SortKey {
        column,
        descending: true,
    }
}

/// `SELECT k, COUNT(*), SUM(x), MIN(x), MAX(x), AVG(x) ... GROUP BY k`:
/// AVG's SUM and COUNT arrive as derived columns 6 and 7.
fn by_key(streams_sorted: bool, order_by: Vec<SortKey>) -> SelectMerge {
    SelectMerge {
        group_by: vec![0],
        aggregates: vec![
            agg(1, Aggregate::Count),
            agg(2, Aggregate::Sum),
            agg(3, Aggregate::Min),
            agg(4, Aggregate::Max),
            agg(5, Aggregate::Avg { sum: 6, count: 7 }),
        ],
        order_by,
        streams_sorted,
        ..SelectMerge::new(6)
    }
}

fn by_key_columns() -> Vec<mysql_common::packets::Column> {
    vec![
        int(),
        int(),
        decimal(0),
        int(),
        int(),
        decimal(4),
        decimal(0),
        int(),
    ]
}

/// Two units' partial groups: k=1 on both, k=2 only on the second, k=3 with
/// only NULL x.
const PARTIALS: [&[&[&str]]; 2] = [
    &[
        &["1", "2", "3", "1", "2", "1.5000", "3", "2"],
        &["3", "1", "NULL", "NULL", "NULL", "NULL", "NULL", "0"],
    ],
    &[
        &["1", "1", "10", "10", "10", "10.0000", "10", "1"],
        &["2", "3", "-6", "-5", "0", "-2.0000", "-6", "3"],
    ],
];

#[test]
fn streaming_groups_merge_every_aggregate() {
    let out = merged(&by_key(true, vec![asc(0)]), &by_key_columns(), &PARTIALS);
    assert_eq!(
        out,
        rows(&[
            &["1", "3", "13", "1", "10", "4.3333"],
            &["2", "3", "-6", "-5", "0", "-2.0000"],
            &["3", "1", "NULL", "NULL", "NULL", "NULL"],
        ])
    );
}

#[test]
fn hashed_groups_sort_by_an_aggregate() {
    // ORDER BY COUNT(*) DESC, k DESC over unsorted units.
    let out = merged(
        &by_key(false, vec![desc(1), desc(0)]),
        &by_key_columns(),
        &PARTIALS,
    );
    let keys: Vec<&Value> = out.iter().map(|r| &r[0]).collect();
    assert_eq!(keys, vec![&v("2"), &v("1"), &v("3")]);
    // Sorted streams whose ORDER BY is not the GROUP BY still hash.
    let out = merged(&by_key(true, vec![asc(2)]), &by_key_columns(), &PARTIALS);
    let keys: Vec<&Value> = out.iter().map(|r| &r[0]).collect();
    assert_eq!(keys, vec![&v("3"), &v("2"), &v("1")]);
}

#[test]
fn streaming_groups_descending_stop_at_the_limit() {
    let spec = SelectMerge {
        limit: Some(1),
        ..by_key(true, vec![desc(0)])
    };
    let units = vec![
        rows(&[
            &["9", "1", "1", "1", "1", "1.0000", "1", "1"],
            &["5", "1", "1", "1", "1", "1.0000", "1", "1"],
            &["4", "1", "1", "1", "1", "1.0000", "1", "1"],
        ]),
        rows(&[
            &["9", "1", "2", "2", "2", "2.0000", "2", "1"],
            &["8", "1", "1", "1", "1", "1.0000", "1", "1"],
            &["1", "1", "1", "1", "1", "1.0000", "1", "1"],
        ]),
    ];
    let (out, stats) = run(&spec, &by_key_columns(), units).expect("merge");
    assert_eq!(out, rows(&[&["9", "2", "3", "1", "2", "1.5000"]]));
    // Both heads of 9, then the heads that close the group.
    assert_eq!(stats.rows_read, 4);
    assert_eq!(stats.groups, 1);
}

#[test]
fn aggregates_without_group_by_are_one_row_even_over_nothing() {
    let spec = SelectMerge {
        aggregates: vec![
            agg(0, Aggregate::Count),
            agg(1, Aggregate::Sum),
            agg(2, Aggregate::Min),
            agg(3, Aggregate::Avg { sum: 4, count: 5 }),
            agg(6, Aggregate::CountDistinct { value: 7 }),
        ],
        ..SelectMerge::new(4)
    };
    let columns = [
        int(),
        decimal(0),
        int(),
        decimal(4),
        decimal(0),
        int(),
        int(),
        int(),
    ];
    let none = rows(&[&["0", "NULL", "NULL", "NULL"]]);
    assert_eq!(merged(&spec, &columns, &[]), none);
    assert_eq!(merged(&spec, &columns, &[&[], &[]]), none);
    let empty_units = ["0", "NULL", "NULL", "NULL", "NULL", "0", "0", "NULL"];
    assert_eq!(
        merged(&spec, &columns, &[&[&empty_units], &[&empty_units]]),
        none
    );
    let out = merged(
        &spec,
        &columns,
        &[
            &[&["2", "3", "1", "1.5000", "3", "2", "1", "7"]],
            &[&empty_units],
        ],
    );
    assert_eq!(out, rows(&[&["2", "3", "1", "1.5000"]]));
    // GROUP BY over nothing is no rows.
    let grouped = SelectMerge {
        group_by: vec![7],
        ..spec
    };
    assert_eq!(merged(&grouped, &columns, &[&[]]), rows(&[]));
}

#[test]
fn exact_sums_keep_the_column_scale() {
    let spec = SelectMerge {
        aggregates: vec![agg(0, Aggregate::Sum), agg(1, Aggregate::Sum)],
        ..SelectMerge::new(2)
    };
    let out = merged(
        &spec,
        &[decimal(2), double()],
        &[
            &[&["1.50", "0.1"]],
            &[&["-0.25", "0.2"]],
            &[&["99999999999999999999999999999999999999.99", "NULL"]],
        ],
    );
    assert_eq!(
        out,
        rows(&[&[
            "100000000000000000000000000000000000001.24",
            "0.30000000000000004"
        ]])
    );
    // Partials written with other scales still print with the column's.
    let out = merged(
        &spec,
        &[decimal(2), double()],
        &[
            &[&["1.5", "1e30"]],
            &[&["2.25", "-1e30"]],
            &[&["-0.05", "2"]],
        ],
    );
    assert_eq!(out, rows(&[&["3.70", "2"]]));
}

#[test]
fn averages_have_mysqls_type_and_rounding() {
    let avg = |column: mysql_common::packets::Column, sum, units: &[&[&[&str]]]| {
        let spec = SelectMerge {
            aggregates: vec![agg(0, Aggregate::Avg { sum: 1, count: 2 })],
            ..SelectMerge::new(1)
        };
        merged(&spec, &[column, sum, int()], units)
    };
    // AVG of 1, 2 over an integer column: DECIMAL scale 0 + 4.
    let out = avg(
        decimal(4),
        decimal(0),
        &[&[&["1.0000", "1", "1"]], &[&["2.0000", "2", "1"]]],
    );
    assert_eq!(out, rows(&[&["1.5000"]]));
    // 1/32 and -1/32 round half away from zero.
    let out = avg(
        decimal(4),
        decimal(0),
        &[&[&["0.0000", "1", "16"]], &[&["0.0000", "0", "16"]]],
    );
    assert_eq!(out, rows(&[&["0.0313"]]));
    let out = avg(decimal(4), decimal(0), &[&[&["0.0000", "-1", "32"]]]);
    assert_eq!(out, rows(&[&["-0.0313"]]));
    // DECIMAL(10,2): scale 6.
    let out = avg(
        decimal(6),
        decimal(2),
        &[
            &[&["1.500000", "1.50", "1"]],
            &[&["-0.250000", "-0.25", "1"]],
        ],
    );
    assert_eq!(out, rows(&[&["0.625000"]]));
    // A floating argument: DOUBLE.
    let out = avg(
        double(),
        double(),
        &[&[&["0.5", "1", "2"]], &[&["1e30", "2e30", "2"]]],
    );
    assert_eq!(out, rows(&[&["5e29"]]));
    // When the unit's AVG column is not AVG-typed, the sum's type decides.
    let out = avg(int(), decimal(1), &[&[&["0", "1.0", "3"]]]);
    assert_eq!(out, rows(&[&["0.33333"]]));
}

#[test]
fn distinct_aggregates_deduplicate_across_units() {
    // COUNT(DISTINCT v), SUM(DISTINCT v), AVG(DISTINCT v) GROUP BY k: each
    // unit groups by (k, v), so v is distinct per unit and group.
    let spec = SelectMerge {
        group_by: vec![0],
        aggregates: vec![
            agg(1, Aggregate::CountDistinct { value: 4 }),
            agg(2, Aggregate::SumDistinct { value: 4 }),
            agg(3, Aggregate::AvgDistinct { value: 4 }),
        ],
        order_by: vec![asc(0), asc(4)],
        streams_sorted: true,
        ..SelectMerge::new(4)
    };
    let columns = [int(), int(), decimal(0), decimal(4), int()];
    let out = merged(
        &spec,
        &columns,
        &[
            &[
                &["1", "0", "NULL", "NULL", "NULL"],
                &["1", "1", "1", "1.0000", "1"],
                &["1", "1", "2", "2.0000", "2"],
            ],
            &[
                &["1", "1", "2", "2.0000", "2"],
                &["1", "1", "4", "4.0000", "4"],
                &["2", "1", "5", "5.0000", "5"],
            ],
        ],
    );
    assert_eq!(
        out,
        rows(&[&["1", "3", "7", "2.3333"], &["2", "1", "5", "5.0000"]])
    );
}

#[test]
fn count_distinct_of_strings_folds_case_by_weight() {
    let spec = SelectMerge {
        aggregates: vec![agg(0, Aggregate::CountDistinct { value: 1 })],
        weights: vec![Weight {
            column: 1,
            weight: 2,
        }],
        ..SelectMerge::new(1)
    };
    let out = merged(
        &spec,
        &[int(), text(), binary()],
        &[
            &[&["1", "a", "A"], &["1", "b", "B"]],
            &[&["1", "A", "A"], &["1", "é", "E"]],
        ],
    );
    assert_eq!(out, rows(&[&["3"]]));
}

#[test]
fn case_insensitive_groups_show_their_first_value() {
    // GROUP BY name with MIN(name) under a case-insensitive collation.
    let spec = SelectMerge {
        group_by: vec![0],
        aggregates: vec![agg(1, Aggregate::Count), agg(2, Aggregate::Min)],
        weights: vec![
            Weight {
                column: 0,
                weight: 3,
            },
            Weight {
                column: 2,
                weight: 4,
            },
        ],
        order_by: vec![asc(2)],
        ..SelectMerge::new(3)
    };
    let columns = [text(), int(), text(), binary(), binary()];
    let out = merged(
        &spec,
        &columns,
        &[
            &[&["b", "1", "b", "B", "B"], &["a", "2", "a", "A", "A"]],
            &[&["A", "1", "A", "A", "A"], &["B", "5", "B", "B", "B"]],
        ],
    );
    assert_eq!(out, rows(&[&["a", "3", "a"], &["b", "6", "b"]]));
}

#[test]
fn having_filters_merged_groups() {
    // HAVING COUNT(*) > 2 AND SUM(x) IS NOT NULL.
    let spec = SelectMerge {
        having: Some(Expr::And(
            Box::new(Expr::compare(
                CompareOp::Gt,
                Expr::Column(1),
                Expr::Literal(Literal::Int(2)),
            )),
            Box::new(Expr::Not(Box::new(Expr::IsNull(Box::new(Expr::Column(2)))))),
        )),
        ..by_key(true, vec![asc(0)])
    };
    let out = merged(&spec, &by_key_columns(), &PARTIALS);
    assert_eq!(
        out,
        rows(&[
            &["1", "3", "13", "1", "10", "4.3333"],
            &["2", "3", "-6", "-5", "0", "-2.0000"],
        ])
    );
    let hashed = SelectMerge {
        streams_sorted: false,
        offset: 1,
        ..spec
    };
    let out = merged(&hashed, &by_key_columns(), &PARTIALS);
    assert_eq!(out, rows(&[&["2", "3", "-6", "-5", "0", "-2.0000"]]));
}

#[test]
fn min_and_max_compare_as_the_column_compares() {
    let spec = SelectMerge {
        aggregates: vec![
            agg(0, Aggregate::Min),
            agg(1, Aggregate::Max),
            agg(2, Aggregate::Max),
            agg(3, Aggregate::Min),
        ],
        ..SelectMerge::new(4)
    };
    let out = merged(
        &spec,
        &[decimal(2), double(), time(), binary()],
        &[
            &[&["10.00", "9.5", "-10:00:00", "b"]],
            &[&["9.99", "1e3", "100:00:00", "NULL"]],
            &[&["NULL", "NULL", "09:00:00", "a"]],
        ],
    );
    assert_eq!(out, rows(&[&["9.99", "1e3", "100:00:00", "a"]]));
}

#[test]
fn bit_aggregates_fold_bits() {
    let spec = SelectMerge {
        aggregates: vec![
            agg(0, Aggregate::BitAnd),
            agg(1, Aggregate::BitOr),
            agg(2, Aggregate::BitXor),
        ],
        ..SelectMerge::new(3)
    };
    let out = merged(
        &spec,
        &[int(), int(), int()],
        &[
            &[&["12", "1", "3"]],
            &[&["10", "4", "1"]],
            &[&["18446744073709551615", "0", "0"]],
        ],
    );
    assert_eq!(out, rows(&[&["8", "5", "2"]]));
    assert_eq!(
        merged(&spec, &[int(), int(), int()], &[]),
        rows(&[&["18446744073709551615", "0", "0"]])
    );
}

#[test]
fn binary_protocol_partials_are_read_typed() {
    let spec = SelectMerge {
        group_by: vec![0],
        aggregates: vec![
            agg(1, Aggregate::Count),
            agg(2, Aggregate::Sum),
            agg(3, Aggregate::Max),
        ],
        ..SelectMerge::new(4)
    };
    let units = vec![
        vec![vec![
            Value::Int(1),
            Value::Int(2),
            Value::Double(0.5),
            Value::Date(2024, 1, 1, 0, 0, 0, 0),
        ]],
        vec![vec![
            Value::Int(1),
            Value::Int(3),
            Value::Double(0.25),
            Value::Date(2024, 2, 1, 0, 0, 0, 0),
        ]],
    ];
    let (out, _) = run(&spec, &[int(), int(), double(), datetime()], units).expect("merge");
    assert_eq!(
        out,
        vec![vec![
            Value::Int(1),
            v("5"),
            v("0.75"),
            Value::Date(2024, 2, 1, 0, 0, 0, 0)
        ]]
    );
}

#[test]
fn malformed_descriptions_and_partials_are_errors() {
    let twice = SelectMerge {
        group_by: vec![0],
        aggregates: vec![agg(0, Aggregate::Count)],
        ..SelectMerge::new(1)
    };
    assert!(run(&twice, &[int()], vec![]).is_err());
    let outside = SelectMerge {
        aggregates: vec![agg(0, Aggregate::Avg { sum: 1, count: 9 })],
        ..SelectMerge::new(1)
    };
    assert!(run(&outside, &[decimal(4), decimal(0)], vec![]).is_err());
    let count = SelectMerge {
        aggregates: vec![agg(0, Aggregate::Count)],
        ..SelectMerge::new(1)
    };
    let error = run(&count, &[int()], vec![rows(&[&["many"]])]).expect_err("not a count");
    assert!(error.message.contains("integer"), "{}", error.message);
}
