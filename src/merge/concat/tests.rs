//! GROUP_CONCAT and the JSON aggregates, through the whole merge.

use crate::merge::test_support::*;
use crate::merge::{
    Aggregate, AggregateColumn, ConcatForm, ConcatPlan, SelectMerge, SortKey, Weight,
};

/// `SELECT k, <concat> ... GROUP BY k`, the limit in column 2.
fn by_key(plan: ConcatPlan) -> SelectMerge {
    SelectMerge {
        group_by: vec![0],
        aggregates: vec![AggregateColumn {
            column: 1,
            function: Aggregate::Concat { plan: 0 },
        }],
        order_by: vec![SortKey {
            column: 0,
            descending: false,
        }],
        streams_sorted: true,
        concats: vec![plan],
        ..SelectMerge::new(2)
    }
}

fn plan(form: ConcatForm) -> ConcatPlan {
    ConcatPlan {
        form,
        max_len: 2,
        separator: ",".into(),
        values: Vec::new(),
        distinct: false,
        order: Vec::new(),
        count: None,
    }
}

#[test]
fn joined_partials_skip_null_and_keep_the_separator() {
    let spec = by_key(ConcatPlan {
        separator: " | ".into(),
        ..plan(ConcatForm::Joined)
    });
    let got = merged(
        &spec,
        &[int(), text(), int()],
        &[
            &[&["1", "a | b", "100"], &["2", "NULL", "100"]],
            &[&["1", "c", "100"], &["3", "d", "100"]],
        ],
    );
    assert_eq!(
        got,
        rows(&[&["1", "a | b | c"], &["2", "NULL"], &["3", "d"]])
    );
}

#[test]
fn json_partials_join_inside_one_array_or_object() {
    let array = by_key(plan(ConcatForm::JsonArray));
    let got = merged(
        &array,
        &[int(), text(), int()],
        &[&[&["1", "[1,null]", "100"]], &[&["1", "[\"x\"]", "100"]]],
    );
    assert_eq!(got, rows(&[&["1", "[1,null,\"x\"]"]]));
    let object = by_key(plan(ConcatForm::JsonObject));
    let got = merged(
        &object,
        &[int(), text(), int()],
        &[
            &[&["1", "{\"a\":1, \"b\":2}", "100"]],
            &[&["1", "{\"c\":null}", "100"]],
        ],
    );
    assert_eq!(got, rows(&[&["1", "{\"a\":1, \"b\":2, \"c\":null}"]]));
}

#[test]
fn values_sort_by_their_keys_and_repeat_by_their_count() {
    // Columns: k, GROUP_CONCAT, limit, value, COUNT(*).
    let spec = by_key(ConcatPlan {
        values: vec![3],
        order: vec![SortKey {
            column: 3,
            descending: true,
        }],
        count: Some(4),
        separator: "-".into(),
        ..plan(ConcatForm::Values)
    });
    let got = merged(
        &spec,
        &[int(), text(), int(), int(), int()],
        &[
            &[
                &["1", "?", "100", "2", "2"],
                &["1", "?", "100", "NULL", "5"],
            ],
            &[&["1", "?", "100", "10", "1"], &["1", "?", "100", "2", "1"]],
        ],
    );
    assert_eq!(got, rows(&[&["1", "10-2-2-2"]]));
}

#[test]
fn distinct_values_are_equal_by_their_weight() {
    // Columns: k, GROUP_CONCAT, limit, value, its weight.
    let spec = SelectMerge {
        weights: vec![Weight {
            column: 3,
            weight: 4,
        }],
        ..by_key(ConcatPlan {
            values: vec![3],
            distinct: true,
            order: vec![SortKey {
                column: 3,
                descending: false,
            }],
            ..plan(ConcatForm::Values)
        })
    };
    let got = merged(
        &spec,
        &[int(), text(), int(), text(), binary()],
        &[
            &[&["1", "?", "100", "b", "B"], &["1", "?", "100", "a", "A"]],
            &[&["1", "?", "100", "A", "A"], &["1", "?", "100", "c", "C"]],
        ],
    );
    assert_eq!(got, rows(&[&["1", "a,b,c"]]));
}

#[test]
fn a_result_reaching_group_concat_max_len_is_refused() {
    let spec = by_key(plan(ConcatForm::Joined));
    let units = vec![rows(&[&["1", "abcd", "8"]]), rows(&[&["1", "efg", "8"]])];
    let err = run(&spec, &[int(), text(), int()], units).unwrap_err();
    assert_eq!(err.code, 1235);
    assert!(err.to_string().contains("group_concat_max_len"), "{err}");
}
