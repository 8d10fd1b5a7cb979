//! GROUP BY ... WITH ROLLUP, through the whole merge.

use crate::merge::test_support::*;
use crate::merge::{Aggregate, AggregateColumn, SelectMerge, SortKey};

/// `SELECT a, b, COUNT(*), SUM(x), AVG(x) ... GROUP BY a, b WITH ROLLUP`:
/// AVG's SUM and COUNT in columns 5 and 6.
fn rollup() -> SelectMerge {
    let asc = |column| SortKey {
        column,
        descending: false,
    };
    SelectMerge {
        group_by: vec![0, 1],
        aggregates: vec![
            AggregateColumn {
                column: 2,
                function: Aggregate::Count,
            },
            AggregateColumn {
                column: 3,
                function: Aggregate::Sum,
            },
            AggregateColumn {
                column: 4,
                function: Aggregate::Avg { sum: 5, count: 6 },
            },
        ],
        order_by: vec![asc(0), asc(1)],
        streams_sorted: true,
        rollup: true,
        ..SelectMerge::new(5)
    }
}

fn columns() -> Vec<mysql_common::packets::Column> {
    vec![
        int(),
        int(),
        int(),
        decimal(0),
        decimal(4),
        decimal(0),
        int(),
    ]
}

#[test]
fn super_aggregate_rows_follow_their_groups_deepest_first() {
    let got = merged(
        &rollup(),
        &columns(),
        &[
            &[
                &["1", "1", "2", "3", "1.5000", "3", "2"],
                &["2", "NULL", "1", "NULL", "NULL", "NULL", "0"],
            ],
            &[
                &["1", "1", "1", "4", "4.0000", "4", "1"],
                &["1", "2", "1", "5", "5.0000", "5", "1"],
            ],
        ],
    );
    assert_eq!(
        got,
        rows(&[
            &["1", "1", "3", "7", "2.3333"],
            &["1", "2", "1", "5", "5.0000"],
            &["1", "NULL", "4", "12", "3.0000"],
            &["2", "NULL", "1", "NULL", "NULL"],
            &["2", "NULL", "1", "NULL", "NULL"],
            &["NULL", "NULL", "5", "12", "3.0000"],
        ])
    );
}

#[test]
fn limit_counts_the_super_aggregate_rows_and_no_groups_give_no_rows() {
    let spec = SelectMerge {
        limit: Some(2),
        offset: 1,
        ..rollup()
    };
    let got = merged(
        &spec,
        &columns(),
        &[&[
            &["1", "1", "1", "1", "1.0000", "1", "1"],
            &["2", "1", "1", "2", "2.0000", "2", "1"],
        ]],
    );
    assert_eq!(
        got,
        rows(&[
            &["1", "NULL", "1", "1", "1.0000"],
            &["2", "1", "1", "2", "2.0000"]
        ])
    );
    assert!(merged(&rollup(), &columns(), &[&[], &[]]).is_empty());
}
