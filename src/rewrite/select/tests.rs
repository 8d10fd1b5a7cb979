//! Deriving merged SELECTs: the unit query and the merge description for
//! each feature, the combined statement of a data source, and the refusals.
//! The golden tests show the same on whole plans.

use super::*;
use crate::merge::{Aggregate, ArithOp, CompareOp, Expr as MergeExpr, Literal, SortKey, Weight};
use crate::sql::parse;
use mysql_common::value::Value as Param;
use sqlparser::ast::Statement;

fn statement(sql: &str) -> Statement {
    parse(sql).expect("parses").remove(0)
}

fn query(sql: &str) -> Query {
    match statement(sql) {
        Statement::Query(query) => *query,
        other => panic!("not a query: {other}"),
    }
}

/// The unit SQL and the merge of `sql` without parameters.
fn derived(sql: &str) -> (String, SelectMerge) {
    let d = derive(&query(sql), &Bindings::default()).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let unit = d.query.to_string();
    parse(&unit).unwrap_or_else(|e| panic!("{unit}: {e}"));
    (unit, d.spec)
}

fn refusal(sql: &str) -> String {
    match derive(&query(sql), &Bindings::default()) {
        Ok(d) => panic!("{sql} derived {}", d.query),
        Err(e) => e.message,
    }
}

fn key(column: usize, descending: bool) -> SortKey {
    SortKey { column, descending }
}

#[test]
fn order_by_keys_are_found_or_derived() {
    let (unit, spec) = derived("SELECT a AS x, b + 1 FROM t ORDER BY x, 2 DESC, b + 1, c");
    assert_eq!(
        unit,
        "SELECT a AS x, b + 1, WEIGHT_STRING(a) AS WEIGHT_DERIVED_0, c AS ORDER_BY_DERIVED_0, \
         WEIGHT_STRING(c) AS WEIGHT_DERIVED_1 FROM t ORDER BY x, 2 DESC, b + 1, c"
    );
    assert_eq!(
        spec.order_by,
        vec![key(0, false), key(1, true), key(3, false)]
    );
    assert_eq!(
        spec.weights,
        vec![
            Weight {
                column: 0,
                weight: 2
            },
            Weight {
                column: 3,
                weight: 4
            }
        ]
    );
    assert!(spec.streams_sorted);
    assert_eq!(spec.visible, 2);
}

#[test]
fn identifiers_match_whatever_their_case_and_quotes() {
    let (unit, spec) = derived("SELECT `Name`, COUNT(*) FROM t GROUP BY name ORDER BY NAME");
    assert_eq!(
        unit,
        "SELECT `Name`, COUNT(*), WEIGHT_STRING(`Name`) AS WEIGHT_DERIVED_0 FROM t GROUP BY name ORDER BY `Name`"
    );
    assert_eq!(spec.group_by, vec![0]);
}

#[test]
fn limit_becomes_offset_plus_limit_where_exact() {
    let (unit, spec) = derived("SELECT a FROM t ORDER BY a LIMIT 10, 5");
    assert!(unit.ends_with("ORDER BY a LIMIT 15"), "{unit}");
    assert_eq!((spec.offset, spec.limit), (10, Some(5)));
    // Groups ordered by an aggregate are hashed: the units read all.
    let (unit, spec) = derived("SELECT a, COUNT(*) FROM t GROUP BY a ORDER BY 2 LIMIT 3 OFFSET 1");
    assert!(unit.ends_with("GROUP BY a"), "{unit}");
    assert!(!spec.streams_sorted);
    assert_eq!((spec.offset, spec.limit), (1, Some(3)));
    // HAVING filters merged groups: the units read all.
    let (unit, _) = derived("SELECT a FROM t GROUP BY a HAVING COUNT(*) > 1 LIMIT 3");
    assert!(unit.ends_with("GROUP BY a ORDER BY a"), "{unit}");
}

#[test]
fn limit_values_are_read_as_mysql_reads_them() {
    let read = |sql: &str, params: &[Param]| {
        let s = statement(sql);
        let bindings = Bindings::new(&s, params).expect("binds");
        let Statement::Query(q) = &s else {
            panic!("query")
        };
        Limit::read(q.limit_clause.as_ref(), &bindings)
    };
    let known = |offset, limit| Ok(Limit::Known { offset, limit });
    assert_eq!(read("SELECT 1 LIMIT 3", &[]), known(0, Some(3)));
    assert_eq!(read("SELECT 1 LIMIT 2, 3", &[]), known(2, Some(3)));
    assert_eq!(read("SELECT 1 LIMIT 3 OFFSET 2", &[]), known(2, Some(3)));
    assert_eq!(read("SELECT 1", &[]), Ok(Limit::None));
    assert_eq!(read("SELECT 1 LIMIT ?, ?", &[]), Ok(Limit::Unbound));
    assert_eq!(
        read(
            "SELECT 1 LIMIT ?, ?",
            &[Param::UInt(4), Param::Bytes(b"5".to_vec())]
        ),
        known(4, Some(5))
    );
    assert_eq!(
        read("SELECT 1 LIMIT 18446744073709551615", &[]),
        known(0, Some(u64::MAX))
    );
    let error = read("SELECT 1 LIMIT ?", &[Param::Int(-1)]).expect_err("negative");
    assert_eq!(error.code, 1210);
    assert_eq!(
        Limit::Known {
            offset: u64::MAX,
            limit: Some(2)
        }
        .unit_rows(),
        Some(u64::MAX)
    );
}

#[test]
fn groups_stream_in_key_order_unless_ordered_by_something_else() {
    let (unit, spec) = derived("SELECT a, b, SUM(c) FROM t GROUP BY a, b ORDER BY b DESC");
    assert!(unit.ends_with("GROUP BY a, b ORDER BY b DESC, a"), "{unit}");
    assert_eq!(spec.order_by, vec![key(1, true), key(0, false)]);
    assert!(spec.streams_sorted);
    let (unit, spec) = derived("SELECT COUNT(*) FROM t GROUP BY a");
    assert_eq!(
        unit,
        "SELECT COUNT(*), a AS GROUP_BY_DERIVED_0, WEIGHT_STRING(a) AS WEIGHT_DERIVED_0 FROM t \
         GROUP BY a ORDER BY GROUP_BY_DERIVED_0"
    );
    assert_eq!(spec.group_by, vec![1]);
    let (_, spec) = derived("SELECT a, MAX(b) FROM t GROUP BY a ORDER BY MAX(b)");
    assert!(!spec.streams_sorted);
    assert_eq!(spec.order_by, vec![key(1, false)]);
}

#[test]
fn group_by_an_alias_groups_the_units_by_its_position() {
    let (unit, spec) = derived("SELECT LOWER(a) AS l, COUNT(*) FROM t GROUP BY l");
    assert!(unit.contains("GROUP BY 1 ORDER BY l"), "{unit}");
    assert_eq!(spec.group_by, vec![0]);
}

#[test]
fn aggregates_and_their_derived_parts() {
    let (unit, spec) = derived(
        "SELECT COUNT(*), COUNT(a), SUM(a), MIN(s), MAX(a), AVG(a), BIT_XOR(a), COUNT(DISTINCT s) FROM t",
    );
    assert_eq!(
        unit,
        "SELECT COUNT(*), COUNT(a), SUM(a), MIN(s), MAX(a), AVG(a), BIT_XOR(a), COUNT(DISTINCT s), \
         WEIGHT_STRING(MIN(s)) AS WEIGHT_DERIVED_0, WEIGHT_STRING(MAX(a)) AS WEIGHT_DERIVED_1, \
         SUM(a) AS AVG_DERIVED_SUM_0, COUNT(a) AS AVG_DERIVED_COUNT_0, s AS DISTINCT_DERIVED_0, \
         WEIGHT_STRING(s) AS WEIGHT_DERIVED_2 FROM t GROUP BY s"
    );
    let functions: Vec<Aggregate> = spec.aggregates.iter().map(|a| a.function).collect();
    assert_eq!(
        functions,
        vec![
            Aggregate::Count,
            Aggregate::Count,
            Aggregate::Sum,
            Aggregate::Min,
            Aggregate::Max,
            Aggregate::Avg { sum: 10, count: 11 },
            Aggregate::BitXor,
            Aggregate::CountDistinct { value: 12 },
        ]
    );
    assert!(spec.group_by.is_empty());
    assert!(!spec.streams_sorted);
}

#[test]
fn distinct_aggregates_add_their_value_to_the_units_groups_once() {
    let (unit, spec) =
        derived("SELECT g, SUM(DISTINCT v), AVG(DISTINCT v) FROM t GROUP BY g ORDER BY g LIMIT 2");
    assert_eq!(
        unit,
        "SELECT g, SUM(DISTINCT v), AVG(DISTINCT v), v AS DISTINCT_DERIVED_0, \
         WEIGHT_STRING(v) AS WEIGHT_DERIVED_0, WEIGHT_STRING(g) AS WEIGHT_DERIVED_1 \
         FROM t GROUP BY g, v ORDER BY g"
    );
    assert_eq!(spec.limit, Some(2));
}

#[test]
fn having_splits_between_units_and_merge() {
    let (unit, spec) = derived(
        "SELECT a, COUNT(*) AS c FROM t GROUP BY a HAVING a > 1 AND (c >= 2 OR SUM(b) / c < -1.5)",
    );
    assert_eq!(
        unit,
        "SELECT a, COUNT(*) AS c, WEIGHT_STRING(a) AS WEIGHT_DERIVED_0, SUM(b) AS HAVING_DERIVED_0 \
         FROM t GROUP BY a HAVING a > 1 ORDER BY a"
    );
    let col = MergeExpr::Column;
    assert_eq!(
        spec.having,
        Some(MergeExpr::Or(
            Box::new(MergeExpr::compare(
                CompareOp::Ge,
                col(1),
                MergeExpr::Literal(Literal::Int(2))
            )),
            Box::new(MergeExpr::compare(
                CompareOp::Lt,
                MergeExpr::arithmetic(ArithOp::Div, col(3), col(1)),
                MergeExpr::Literal(Literal::Decimal("-1.5".into())),
            )),
        ))
    );
    // Without GROUP BY every part is the merge's; a part without aggregates
    // is computed by the units.
    let (unit, spec) =
        derived("SELECT COUNT(*) FROM t HAVING COUNT(*) > 1 OR MAX(a) IS NULL OR 1 = 0");
    assert!(unit.contains("MAX(a) AS HAVING_DERIVED_0"), "{unit}");
    assert!(unit.contains("1 = 0 AS HAVING_DERIVED_1"), "{unit}");
    assert!(!unit.contains("HAVING COUNT"), "{unit}");
    assert!(spec.having.is_some());
}

#[test]
fn having_reads_bound_numbers() {
    let sql = "SELECT a FROM t WHERE b = ? GROUP BY a HAVING COUNT(*) > ?";
    let s = statement(sql);
    let params = [Param::Bytes(b"x".to_vec()), Param::Int(7)];
    let bindings = Bindings::new(&s, &params).expect("binds");
    let Statement::Query(q) = &s else {
        panic!("query")
    };
    let d = derive(q, &bindings).expect("derives");
    assert_eq!(
        d.spec.having,
        Some(MergeExpr::compare(
            CompareOp::Gt,
            MergeExpr::Column(2),
            MergeExpr::Literal(Literal::Int(7))
        ))
    );
    let unit = Statement::Query(Box::new(d.query));
    assert_eq!(
        bindings.params_in_visit_order(&unit),
        vec![params[0].clone()]
    );
}

#[test]
fn distinct_rows_compare_every_visible_column() {
    let (unit, spec) = derived("SELECT DISTINCT a, COUNT(*) FROM t GROUP BY a");
    assert!(
        unit.starts_with("SELECT DISTINCT a, COUNT(*), WEIGHT_STRING(a)"),
        "{unit}"
    );
    assert!(spec.distinct);
    let (_, spec) = derived("SELECT DISTINCT a, 1 FROM t ORDER BY a LIMIT 2");
    assert_eq!(
        spec.weights,
        vec![Weight {
            column: 0,
            weight: 2
        }]
    );
    assert_eq!(spec.limit, Some(2));
}

#[test]
fn wildcards_leave_their_width_to_the_unit_result() {
    let (unit, spec) = derived("SELECT t.*, a FROM t ORDER BY a, b DESC LIMIT 3");
    assert_eq!(
        unit,
        "SELECT t.*, a, a AS ORDER_BY_DERIVED_0, WEIGHT_STRING(a) AS WEIGHT_DERIVED_0, \
         b AS ORDER_BY_DERIVED_1, WEIGHT_STRING(b) AS WEIGHT_DERIVED_1 FROM t ORDER BY a, b DESC LIMIT 3"
    );
    assert_eq!(spec.visible, 1);
    assert_eq!(spec.wildcard, Some(Wildcard { at: 0, derived: 4 }));
    assert_eq!(spec.order_by, vec![key(1, false), key(3, true)]);
    assert_eq!(spec.visible_in(9), 5);
}

#[test]
fn a_data_source_combines_its_copies_in_one_union() {
    let d = derive(
        &query("WITH w AS (SELECT 1) SELECT * FROM t ORDER BY a DESC LIMIT 2 FOR UPDATE"),
        &Bindings::default(),
    )
    .expect("derives");
    let copies = vec![d.query.clone(), d.query.clone()];
    assert_eq!(
        combine(&d, copies).to_string(),
        "WITH w AS (SELECT 1) \
         (SELECT *, a AS ORDER_BY_DERIVED_0, WEIGHT_STRING(a) AS WEIGHT_DERIVED_0 FROM t ORDER BY a DESC LIMIT 2 FOR UPDATE) \
         UNION ALL \
         (SELECT *, a AS ORDER_BY_DERIVED_0, WEIGHT_STRING(a) AS WEIGHT_DERIVED_0 FROM t ORDER BY a DESC LIMIT 2 FOR UPDATE) \
         ORDER BY ORDER_BY_DERIVED_0 DESC LIMIT 2"
    );
    // Grouped copies: no ORDER BY without a LIMIT, none on top unsorted, no
    // LIMIT on top (a group may stand once per copy).
    let d = derive(
        &query("SELECT a, COUNT(*) FROM t GROUP BY a LIMIT 4"),
        &Bindings::default(),
    )
    .expect("derives");
    let combined = combine(&d, vec![d.query.clone(), d.query.clone(), d.query.clone()]);
    assert!(
        combined
            .to_string()
            .ends_with("ORDER BY a LIMIT 4) ORDER BY 1"),
        "{combined}"
    );
    assert_eq!(combine(&d, vec![d.query.clone()]), d.query);
}

#[test]
fn what_the_merge_cannot_do_exactly_is_refused() {
    for (sql, says) in [
        (
            "SELECT JSON_ARRAYAGG(DISTINCT a) FROM t",
            "JSON_ARRAYAGG with DISTINCT or ORDER BY",
        ),
        (
            "SELECT GROUP_CONCAT(a ORDER BY 1) FROM t",
            "ORDER BY a position or constant",
        ),
        (
            "SELECT COUNT(DISTINCT a, b, c, d, e) FROM t",
            "COUNT(DISTINCT ...) of more than 4 expressions",
        ),
        (
            "SELECT LEAST(SUM(a), 2) FROM t",
            "an expression with function LEAST over aggregates",
        ),
        (
            "SELECT a FROM t GROUP BY a ORDER BY COUNT(*) & 2",
            "an expression with operator & over aggregates",
        ),
        (
            "SELECT a, RANK() OVER (ORDER BY a) + 1 FROM t",
            "an expression over window function RANK",
        ),
        (
            "SELECT DISTINCT a FROM t GROUP BY a WITH ROLLUP",
            "SELECT DISTINCT ... WITH ROLLUP",
        ),
        ("SELECT *, COUNT(*) FROM t", "SELECT * with GROUP BY"),
        (
            "SELECT DISTINCT a FROM t ORDER BY b",
            "not selected, with DISTINCT",
        ),
        (
            "SELECT a FROM t GROUP BY a HAVING MIN(b) = 'x'",
            "MIN or MAX",
        ),
        (
            "SELECT a FROM t GROUP BY a HAVING (COUNT(*) > 1) | a",
            "operator |",
        ),
        (
            "SELECT a FROM t GROUP BY a HAVING COUNT(*) LIKE '1%'",
            "HAVING with",
        ),
        (
            "SELECT * FROM t ORDER BY 1",
            "position among the columns of a wildcard",
        ),
        (
            "SELECT a FROM t ORDER BY a NULLS LAST",
            "NULLS FIRST / LAST",
        ),
        (
            "SELECT SQL_CALC_FOUND_ROWS a FROM t LIMIT 1",
            "SQL_CALC_FOUND_ROWS",
        ),
        (
            "SELECT a FROM t WINDOW w AS (ORDER BY a) ORDER BY a",
            "WINDOW",
        ),
    ] {
        let message = refusal(sql);
        assert!(message.contains(says), "{sql}: {message}");
        assert!(message.ends_with("across data nodes'"), "{sql}: {message}");
    }
    let error = derive(&query("SELECT a FROM t ORDER BY 3"), &Bindings::default()).expect_err("3");
    assert_eq!(
        (error.code, error.message.as_str()),
        (1054, "Unknown column '3' in 'order clause'")
    );
}

#[test]
fn strings_get_weights_numbers_do_not() {
    for (expr, string) in [
        ("a", true),
        ("t.a", true),
        ("'x'", true),
        ("CONCAT(a, b)", true),
        ("CAST(a AS CHAR)", true),
        ("MIN(a)", true),
        ("1", false),
        ("a + 1", false),
        ("-a", false),
        ("a = b", false),
        ("COUNT(a)", false),
        ("AVG(a)", false),
        ("MAX(a * 2)", false),
        ("LENGTH(a)", false),
        ("CAST(a AS SIGNED)", false),
        ("a IS NULL", false),
    ] {
        let Statement::Query(q) = statement(&format!("SELECT {expr}")) else {
            panic!("query")
        };
        let SetExpr::Select(select) = q.body.as_ref() else {
            panic!("select")
        };
        let sqlparser::ast::SelectItem::UnnamedExpr(e) = &select.projection[0] else {
            panic!("item")
        };
        assert_eq!(aggregate::may_be_string(e), string, "{expr}");
    }
}

#[test]
fn expressions_over_aggregates_are_computed_by_the_merge() {
    let (unit, spec) = derived(
        "SELECT a, SUM(b) / COUNT(*) AS per, MAX(b) - MIN(b) FROM t GROUP BY a ORDER BY per DESC, COUNT(*) + 1",
    );
    assert_eq!(
        unit,
        "SELECT a, SUM(b) / COUNT(*) AS per, MAX(b) - MIN(b), SUM(b) AS EXPR_DERIVED_0, \
         COUNT(*) AS EXPR_DERIVED_1, MAX(b) AS EXPR_DERIVED_2, WEIGHT_STRING(MAX(b)) AS WEIGHT_DERIVED_0, \
         MIN(b) AS EXPR_DERIVED_3, WEIGHT_STRING(MIN(b)) AS WEIGHT_DERIVED_1, \
         WEIGHT_STRING(a) AS WEIGHT_DERIVED_2, COUNT(*) + 1 AS ORDER_BY_DERIVED_0 FROM t GROUP BY a"
    );
    let columns: Vec<usize> = spec.computed.iter().map(|c| c.column).collect();
    assert_eq!(columns, vec![1, 2, 10]);
    assert_eq!(
        spec.computed[0].expr,
        MergeExpr::arithmetic(ArithOp::Div, MergeExpr::Column(3), MergeExpr::Column(4))
    );
    // Ordered by computed columns: groups are hashed, then sorted.
    assert!(!spec.streams_sorted);
    assert_eq!(spec.order_by, vec![key(1, true), key(10, false)]);
}
