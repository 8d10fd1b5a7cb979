//! Row merges: concatenation, ORDER BY, LIMIT/OFFSET, DISTINCT, the sinks,
//! and the description's own checks. Aggregates are in `aggregate/tests.rs`.

use super::test_support::*;
use super::*;
use crate::session::reply::{OkInfo, Reply, FLUSH_THRESHOLD};
use futures_util::FutureExt;
use mysql_common::constants::StatusFlags;
use mysql_common::packets::Column;
use mysql_common::value::Value;

fn sorted(visible: usize, keys: &[(usize, bool)]) -> SelectMerge {
    SelectMerge {
        order_by: keys
            .iter()
            .map(|&(column, descending)| SortKey { column, descending })
            .collect(),
        streams_sorted: true,
        ..SelectMerge::new(visible)
    }
}

#[test]
fn concatenation_keeps_unit_order_and_strips_derived_columns() {
    let spec = SelectMerge::new(1);
    let out = merged(
        &spec,
        &[int(), int()],
        &[&[&["1", "10"], &["2", "20"]], &[], &[&["3", "30"]]],
    );
    assert_eq!(out, rows(&[&["1"], &["2"], &["3"]]));
}

#[test]
fn sorted_streams_merge_by_several_keys() {
    // ORDER BY a ASC, b DESC over three units.
    let spec = sorted(2, &[(0, false), (1, true)]);
    let out = merged(
        &spec,
        &[int(), decimal(1)],
        &[
            &[&["1", "9.5"], &["2", "1.0"]],
            &[&["1", "10.0"], &["3", "0.0"]],
            &[&["2", "7.5"]],
        ],
    );
    assert_eq!(
        out,
        rows(&[
            &["1", "10.0"],
            &["1", "9.5"],
            &["2", "7.5"],
            &["2", "1.0"],
            &["3", "0.0"]
        ])
    );
}

#[test]
fn nulls_come_first_ascending_and_last_descending() {
    let units: &[&[&[&str]]] = &[&[&["NULL"], &["2"]], &[&["NULL"], &["1"]]];
    let asc = merged(&sorted(1, &[(0, false)]), &[int()], units);
    assert_eq!(asc, rows(&[&["NULL"], &["NULL"], &["1"], &["2"]]));
    let units: &[&[&[&str]]] = &[&[&["2"], &["NULL"]], &[&["1"], &["NULL"]]];
    let desc = merged(&sorted(1, &[(0, true)]), &[int()], units);
    assert_eq!(desc, rows(&[&["2"], &["1"], &["NULL"], &["NULL"]]));
}

#[test]
fn order_by_a_derived_column_not_selected() {
    // SELECT name ... ORDER BY created: `created` arrives as ORDER_BY_DERIVED_0.
    let spec = sorted(1, &[(1, false)]);
    let out = merged(
        &spec,
        &[binary(), datetime()],
        &[
            &[&["b", "2024-01-01 10:00:00"], &["d", "2024-03-01 00:00:00"]],
            &[&["a", "2023-12-31 23:59:59"], &["c", "2024-02-01 00:00:00"]],
        ],
    );
    assert_eq!(out, rows(&[&["a"], &["b"], &["c"], &["d"]]));
}

#[test]
fn strings_order_by_their_collation_weight() {
    // utf8mb4_general_ci-like weights: case and accents fold.
    let spec = SelectMerge {
        weights: vec![Weight {
            column: 0,
            weight: 1,
        }],
        ..sorted(1, &[(0, false)])
    };
    let out = merged(
        &spec,
        &[text(), binary()],
        &[
            &[&["Äpfel", "APFEL"], &["zebra", "ZEBRA"]],
            &[&["apple", "APPLE"], &["Birne", "BIRNE"], &["ß", "SS"]],
        ],
    );
    assert_eq!(
        out,
        rows(&[&["Äpfel"], &["apple"], &["Birne"], &["ß"], &["zebra"]])
    );
}

#[test]
fn binary_strings_order_by_bytes_unicode_included() {
    let spec = sorted(1, &[(0, true)]);
    let out = merged(
        &spec,
        &[binary()],
        &[&[&["日本"], &["a"]], &[&["é"], &["B"]]],
    );
    assert_eq!(out, rows(&[&["日本"], &["é"], &["a"], &["B"]]));
}

#[test]
fn temporals_order_in_time_not_text() {
    let spec = sorted(1, &[(0, false)]);
    let out = merged(
        &spec,
        &[time()],
        &[
            &[&["-10:00:00"], &["100:00:00"]],
            &[&["-2:00:00"], &["09:30:00"]],
        ],
    );
    assert_eq!(
        out,
        rows(&[&["-10:00:00"], &["-2:00:00"], &["09:30:00"], &["100:00:00"]])
    );
}

#[test]
fn limit_and_offset_slice_the_merged_order() {
    let units: &[&[&[&str]]] = &[&[&["1"], &["4"], &["5"]], &[&["2"], &["3"], &["6"]]];
    let with = |offset, limit| SelectMerge {
        offset,
        limit,
        ..sorted(1, &[(0, false)])
    };
    assert_eq!(
        merged(&with(0, Some(2)), &[int()], units),
        rows(&[&["1"], &["2"]])
    );
    assert_eq!(
        merged(&with(2, Some(3)), &[int()], units),
        rows(&[&["3"], &["4"], &["5"]])
    );
    assert_eq!(
        merged(&with(4, None), &[int()], units),
        rows(&[&["5"], &["6"]])
    );
    assert_eq!(merged(&with(5, Some(10)), &[int()], units), rows(&[&["6"]]));
    assert_eq!(merged(&with(9, Some(1)), &[int()], units), rows(&[]));
    assert_eq!(merged(&with(0, Some(0)), &[int()], units), rows(&[]));
}

#[test]
fn a_satisfied_limit_stops_the_reading() {
    let units = vec![
        rows(&[&["1"], &["3"], &["5"], &["7"]]),
        rows(&[&["2"], &["4"], &["6"], &["8"]]),
    ];
    let spec = SelectMerge {
        limit: Some(3),
        offset: 1,
        ..sorted(1, &[(0, false)])
    };
    let (out, stats) = run(&spec, &[int()], units.clone()).expect("merge");
    assert_eq!(out, rows(&[&["2"], &["3"], &["4"]]));
    // One head per source, then one row per row taken: 2 + (1 + 3) - 1.
    assert_eq!(stats.rows_read, 5);
    let concat = SelectMerge {
        limit: Some(2),
        ..SelectMerge::new(1)
    };
    let (_, stats) = run(&concat, &[int()], units.clone()).expect("merge");
    assert_eq!(stats.rows_read, 2);
    let nothing = SelectMerge {
        limit: Some(0),
        ..SelectMerge::new(1)
    };
    assert_eq!(
        run(&nothing, &[int()], units).expect("merge").1.rows_read,
        0
    );
}

#[test]
fn decimals_order_exactly_whatever_their_written_scale() {
    let spec = sorted(1, &[(0, false)]);
    let out = merged(
        &spec,
        &[decimal(2)],
        &[
            &[&["-10.5"], &["0.10"], &["12345678901234567890.01"]],
            &[&["-9.99"], &["0.1"], &["12345678901234567890.02"]],
            &[&["-0.00"], &["9.990"]],
        ],
    );
    assert_eq!(
        out,
        rows(&[
            &["-10.5"],
            &["-9.99"],
            &["-0.00"],
            &["0.10"],
            &["0.1"],
            &["9.990"],
            &["12345678901234567890.01"],
            &["12345678901234567890.02"]
        ])
    );
}

#[test]
fn unsorted_streams_are_sorted_in_memory() {
    let spec = SelectMerge {
        streams_sorted: false,
        limit: Some(3),
        ..sorted(1, &[(0, true)])
    };
    let out = merged(
        &spec,
        &[decimal(2)],
        &[
            &[&["1.50"], &["-3.00"], &["10.25"]],
            &[&["NULL"], &["9.99"]],
        ],
    );
    assert_eq!(out, rows(&[&["10.25"], &["9.99"], &["1.50"]]));
}

#[test]
fn unsorted_streams_under_a_limit_keep_only_the_rows_that_can_be_sent() {
    // 3 units × 400 rows, keys with many ties; the second column tags the row.
    let units: Vec<Vec<Vec<Value>>> = (0..3u64)
        .map(|u| {
            (0..400u64)
                .map(|i| {
                    let tag = u * 1000 + i;
                    let key = tag.wrapping_mul(2_654_435_761) % 37;
                    vec![v(&key.to_string()), v(&tag.to_string())]
                })
                .collect()
        })
        .collect();
    let mut expected: Vec<Vec<Value>> = units.concat();
    expected.sort_by_key(|r| match &r[0] {
        Value::Bytes(b) => String::from_utf8_lossy(b).parse::<u64>().unwrap_or(0),
        _ => 0,
    });
    let spec = SelectMerge {
        streams_sorted: false,
        offset: 7,
        limit: Some(20),
        ..sorted(2, &[(0, false)])
    };
    let (out, stats) = run(&spec, &[int(), int()], units).expect("merge");
    assert_eq!(out, expected[7..27].to_vec());
    assert_eq!(stats.rows_read, 1200);
}

#[test]
fn distinct_rows_are_sent_once_across_units() {
    let spec = SelectMerge {
        distinct: true,
        weights: vec![Weight {
            column: 0,
            weight: 2,
        }],
        ..SelectMerge::new(2)
    };
    let out = merged(
        &spec,
        &[text(), int(), binary()],
        &[
            &[&["a", "1", "A"], &["b", "NULL", "B"]],
            &[&["A", "1", "A"], &["b", "NULL", "B"], &["b", "2", "B"]],
        ],
    );
    assert_eq!(out, rows(&[&["a", "1"], &["b", "NULL"], &["b", "2"]]));
    let limited = SelectMerge {
        offset: 1,
        limit: Some(1),
        ..spec
    };
    let out = merged(
        &limited,
        &[text(), int(), binary()],
        &[&[
            &["a", "1", "A"],
            &["a", "1", "A"],
            &["c", "3", "C"],
            &["d", "4", "D"],
        ]],
    );
    assert_eq!(out, rows(&[&["c", "3"]]));
}

#[test]
fn binary_protocol_values_pass_through_typed() {
    let spec = sorted(2, &[(1, true)]);
    let units = vec![
        vec![vec![Value::Int(1), Value::Date(2024, 5, 1, 0, 0, 0, 0)]],
        vec![
            vec![Value::Int(2), Value::Date(2024, 6, 1, 12, 0, 0, 5)],
            vec![Value::Int(3), Value::NULL],
        ],
    ];
    let (out, _) = run(&spec, &[int(), datetime()], units).expect("merge");
    assert_eq!(
        out,
        vec![
            vec![Value::Int(2), Value::Date(2024, 6, 1, 12, 0, 0, 5)],
            vec![Value::Int(1), Value::Date(2024, 5, 1, 0, 0, 0, 0)],
            vec![Value::Int(3), Value::NULL],
        ]
    );
}

#[test]
fn empty_inputs_give_empty_results() {
    for spec in [SelectMerge::new(1), sorted(1, &[(0, false)])] {
        assert_eq!(merged(&spec, &[int()], &[]), rows(&[]));
        assert_eq!(merged(&spec, &[int()], &[&[], &[]]), rows(&[]));
    }
}

#[test]
fn descriptions_naming_missing_columns_are_refused() {
    let bad = [
        sorted(1, &[(3, false)]),
        SelectMerge::new(4),
        SelectMerge {
            group_by: vec![5],
            ..SelectMerge::new(1)
        },
    ];
    for spec in bad {
        let error = run(&spec, &[int(), int()], vec![]).expect_err("refused");
        assert_eq!(error.code, 1105, "{spec}");
    }
    let no_weight = sorted(1, &[(0, false)]);
    assert!(run(&no_weight, &[text()], vec![]).is_err());
    let enum_order = SelectMerge {
        weights: vec![Weight {
            column: 0,
            weight: 1,
        }],
        ..sorted(1, &[(0, false)])
    };
    let error = run(&enum_order, &[enumeration(), binary()], vec![]).expect_err("enum");
    assert_eq!(error.code, 1235);
}

#[test]
fn rows_of_the_wrong_width_and_unit_errors_stop_the_merge() {
    let error =
        run(&SelectMerge::new(1), &[int(), int()], vec![rows(&[&["1"]])]).expect_err("short row");
    assert!(error.message.contains("columns"), "{}", error.message);

    struct Failing;
    impl RowSource for Failing {
        async fn next_row(&mut self) -> Result<Option<Vec<Value>>, crate::error::Error> {
            Err(crate::error::Error::backend(1146, "42S02", "no such table"))
        }
    }
    let mut sink = Vec::new();
    let error = merge(&SelectMerge::new(1), &[int()], vec![Failing], &mut sink)
        .now_or_never()
        .expect("ready")
        .expect_err("backend error");
    assert_eq!(error.code, 1146);
}

/// A client reply that records rows and flushes.
#[derive(Default)]
struct Client {
    buffered: usize,
    rows: usize,
    flushes: usize,
}

impl Reply for Client {
    fn columns(&mut self, _: &[Column]) {}
    fn column_count(&mut self, _: usize) {}
    fn raw_column(&mut self, _: &[u8]) {}
    fn extended_metadata(&self) -> bool {
        false
    }
    fn columns_done(&mut self) {}
    fn raw_row(&mut self, _: &[u8]) {
        self.rows += 1;
    }
    fn row(&mut self, values: &[Value]) {
        self.rows += 1;
        self.buffered += values.iter().map(|_| 1024).sum::<usize>();
    }
    fn end_rows(&mut self, _: StatusFlags, _: u16) {}
    fn ok(&mut self, _: &OkInfo, _: StatusFlags) {}
    fn error(&mut self, _: &crate::error::Error) {}
    fn pending(&self) -> usize {
        self.buffered
    }
    async fn flush(&mut self) -> std::io::Result<()> {
        self.flushes += 1;
        self.buffered = 0;
        Ok(())
    }
}

#[test]
fn the_reply_sink_flushes_when_the_buffer_fills() {
    let mut client = Client::default();
    let units = vec![(0..200).map(|i| vec![v(&i.to_string())]).collect()];
    let sources: Vec<MemorySource> = units.into_iter().map(MemorySource::new).collect();
    let stats = merge(
        &SelectMerge::new(1),
        &[int()],
        sources,
        &mut ReplySink::new(&mut client),
    )
    .now_or_never()
    .expect("ready")
    .expect("merge");
    assert_eq!((stats.rows_sent, client.rows), (200, 200));
    assert_eq!(client.flushes, 200 * 1024 / FLUSH_THRESHOLD);
}

#[test]
fn the_description_serializes_and_summarizes() {
    let spec = SelectMerge {
        group_by: vec![0],
        aggregates: vec![
            AggregateColumn {
                column: 1,
                function: Aggregate::Count,
            },
            AggregateColumn {
                column: 2,
                function: Aggregate::Avg { sum: 3, count: 4 },
            },
        ],
        limit: Some(10),
        ..sorted(3, &[(0, true)])
    };
    assert_eq!(
        spec.to_string(),
        "group #0 sorted; count #1, avg #2 (#3/#4); order #0 desc; limit 10; visible 3"
    );
    assert_eq!(
        serde_json::to_string(&spec).expect("json"),
        r#"{"visible":3,"group_by":[0],"aggregates":[{"column":1,"function":"count"},{"column":2,"function":{"avg":{"sum":3,"count":4}}}],"order_by":[{"column":0,"descending":true}],"limit":10,"streams_sorted":true}"#
    );
    assert_eq!(SelectMerge::new(2).to_string(), "concat; visible 2");
}

#[test]
fn wildcard_columns_are_counted_in_the_unit_result() {
    // SELECT *, x FROM t ORDER BY k: planned as `x` (#0) then the derived
    // key (#1) with the wildcard at #0; the units return two star columns.
    let spec = SelectMerge {
        wildcard: Some(Wildcard { at: 0, derived: 1 }),
        ..sorted(1, &[(1, true)])
    };
    assert_eq!(spec.visible_in(4), 3);
    let resolved = spec.for_width(4).expect("wide enough");
    assert_eq!(resolved.visible, 3);
    assert_eq!(
        resolved.order_by,
        vec![SortKey {
            column: 3,
            descending: true
        }]
    );
    assert!(spec.for_width(1).is_none());
    let out = merged(
        &spec,
        &[int(), int(), int(), int()],
        &[
            &[&["1", "1", "1", "9"], &["2", "2", "2", "1"]],
            &[&["3", "3", "3", "5"]],
        ],
    );
    assert_eq!(
        out,
        rows(&[&["1", "1", "1"], &["3", "3", "3"], &["2", "2", "2"]])
    );
    assert_eq!(
        spec.to_string(),
        "order #1 desc sorted; visible 1 + wildcard at #0"
    );
}

#[test]
fn wildcard_shifts_every_column_after_it() {
    let spec = SelectMerge {
        weights: vec![Weight {
            column: 0,
            weight: 4,
        }],
        group_by: vec![0],
        aggregates: vec![AggregateColumn {
            column: 2,
            function: Aggregate::Avg { sum: 3, count: 5 },
        }],
        having: Some(Expr::compare(
            CompareOp::Gt,
            Expr::Column(2),
            Expr::Column(0),
        )),
        order_by: vec![SortKey {
            column: 2,
            descending: false,
        }],
        wildcard: Some(Wildcard { at: 1, derived: 3 }),
        ..SelectMerge::new(3)
    };
    let resolved = spec.for_width(8).expect("wide enough");
    assert_eq!(resolved.visible, 5);
    assert_eq!(
        resolved.weights,
        vec![Weight {
            column: 0,
            weight: 6
        }]
    );
    assert_eq!(resolved.group_by, vec![0]);
    assert_eq!(
        resolved.aggregates[0],
        AggregateColumn {
            column: 4,
            function: Aggregate::Avg { sum: 5, count: 7 },
        }
    );
    assert_eq!(
        resolved.having,
        Some(Expr::compare(
            CompareOp::Gt,
            Expr::Column(4),
            Expr::Column(0)
        ))
    );
    assert_eq!(resolved.order_by[0].column, 4);
    assert_eq!(resolved.wildcard, None);
}
