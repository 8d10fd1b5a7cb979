//! Routing on the golden rule file: the shapes that decide units and
//! merges. The golden tests cover the SQL text of every unit.

use crate::config::{parse, Config};
use crate::error::Error;
use crate::keygen::{Clock, KeyGenerator};
use crate::plan::{plan, ExecutionPlan, MergePlan, PlanContext};
use crate::rules::ColumnKind;
use mysql_common::value::Value;
use std::sync::{Arc, OnceLock};

/// The golden tests' rule file.
fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        parse(include_str!("../../tests/golden/rules/shop.toml")).expect("golden rules load")
    })
}

/// A clock stopped at 2025-01-01.
#[derive(Debug)]
struct Stopped;

impl Clock for Stopped {
    fn now_ms(&self) -> u64 {
        1_735_689_600_000
    }
    fn sleep_ms(&self, _ms: u64) {}
}

fn run(sql: &str, params: &[Value]) -> Result<ExecutionPlan, Error> {
    let keys = KeyGenerator::new(1, Arc::new(Stopped)).expect("generator");
    run_with(sql, params, Some(&keys))
}

fn run_with(
    sql: &str,
    params: &[Value],
    keys: Option<&KeyGenerator>,
) -> Result<ExecutionPlan, Error> {
    let kinds = |_: &str, _: &str| ColumnKind::Unknown;
    let ctx = PlanContext {
        schema: &config().rules.schemas["shop"],
        column_kind: &kinds,
        keys,
        binary_key: &|_: &str| false,
    };
    let plan = plan(sql, params, &ctx)?;
    for unit in &plan.units {
        crate::sql::parse(&unit.sql).unwrap_or_else(|e| panic!("{}: {e}", unit.sql));
    }
    Ok(plan)
}

fn units(sql: &str) -> Vec<(String, String)> {
    match run(sql, &[]) {
        Ok(plan) => plan
            .units
            .into_iter()
            .map(|u| (u.data_source, u.sql))
            .collect(),
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn refused(sql: &str) -> Error {
    match run(sql, &[]) {
        Ok(plan) => panic!("{sql} planned: {plan:?}"),
        Err(e) => e,
    }
}

#[test]
fn point_select_goes_to_one_node() {
    assert_eq!(
        units("SELECT * FROM t_order WHERE user_id = 10 AND order_id = 7"),
        [(
            "ds_0".into(),
            "SELECT * FROM t_order_1 AS t_order WHERE user_id = 10 AND order_id = 7".into()
        )]
    );
}

#[test]
fn uuid_keys_are_string_literals_placed_by_their_text() {
    let plan = run("INSERT INTO t_session (user_id) VALUES (5), (6), (7)", &[]).expect("plans");
    assert_eq!(
        plan.generated_key, None,
        "only snowflake ids are last insert ids"
    );
    let rule = config().rules.schemas["shop"]
        .table("t_session")
        .expect("t_session");
    let mut rows = 0;
    for unit in &plan.units {
        for token in unit.sql.split('\'').skip(1).step_by(2) {
            assert_eq!(token.len(), 36, "{token}");
            let value = crate::rules::ShardingValue::Str(token.as_bytes().to_vec());
            let node = rule.route_exact(|_| Some(&value)).expect("placed");
            assert_eq!(rule.nodes[node].data_source, unit.data_source);
            rows += 1;
        }
    }
    assert_eq!(rows, 3);
}

#[test]
fn without_a_key_generator_the_key_is_an_unbound_placeholder() {
    let plan = run_with(
        "INSERT INTO t_order (user_id, status) VALUES (1, 'a')",
        &[],
        None,
    )
    .expect("plans");
    // user_id 1 picks ds_1; the unknown order_id may be either of its tables.
    assert_eq!(
        plan.units
            .iter()
            .map(|u| (u.data_source.as_str(), u.sql.as_str()))
            .collect::<Vec<_>>(),
        [
            (
                "ds_1",
                "INSERT INTO t_order_0 (user_id, status, order_id) VALUES (1, 'a', ?)"
            ),
            (
                "ds_1",
                "INSERT INTO t_order_1 (user_id, status, order_id) VALUES (1, 'a', ?)"
            ),
        ]
    );
    assert_eq!(plan.generated_key, None);
    let bound = run_with(
        "INSERT INTO t_order (user_id, status) VALUES (?, ?)",
        &[Value::Int(1), Value::Bytes(b"a".to_vec())],
        None,
    );
    assert_eq!(bound.expect_err("needs keys").code, 1105);
}

#[test]
fn a_multi_row_insert_has_one_unit_per_node_with_its_rows_in_order() {
    let values: Vec<String> = (0..20).map(|i| format!("({i}, {})", i / 2)).collect();
    let sql = format!(
        "INSERT INTO t_order (user_id, order_id) VALUES {}",
        values.join(", ")
    );
    let plan = run(&sql, &[]).expect("plans");
    assert_eq!(plan.units.len(), 4);
    assert_eq!(plan.merge, MergePlan::SumAffected);
    let mut seen = 0;
    for unit in &plan.units {
        let rows = unit.sql.matches("), (").count() + 1;
        seen += rows;
    }
    assert_eq!(seen, 20);
    assert!(plan.units[0]
        .sql
        .starts_with("INSERT INTO t_order_0 (user_id, order_id) VALUES (0, 0), (4, 2)"));
}

#[test]
fn prepared_params_follow_their_placeholders() {
    let params: Vec<Value> = [1, 2, 3, 4].into_iter().map(Value::Int).collect();
    let plan = run(
        "SELECT * FROM t_user WHERE user_id IN (?, ?, ?) AND name <> ?",
        &params,
    )
    .expect("plans");
    // murmur3: 1 → ds_1; 2 and 3 → ds_1 and ds_0 as the algorithm says.
    let total: usize = plan.units.iter().map(|u| u.params.len()).sum();
    assert_eq!(
        total,
        3 + plan.units.len(),
        "each IN value once, the name in every unit"
    );
    for unit in &plan.units {
        assert_eq!(unit.sql.matches('?').count(), unit.params.len());
        assert_eq!(unit.params.last(), Some(&Value::Int(4)));
    }
}

#[test]
fn several_statements_and_empty_text() {
    assert_eq!(refused("SELECT * FROM t_order; SELECT 1").code, 1235);
    assert_eq!(refused("").code, 1065);
    assert_eq!(refused("SELEC * FROM t_order").code, 1064);
}

#[test]
fn broadcast_reads_prefer_the_default_data_source() {
    assert_eq!(
        units("SELECT * FROM t_dict"),
        [("ds_0".into(), "SELECT * FROM t_dict".into())]
    );
}

#[test]
fn odd_statements_plan_or_fail_cleanly() {
    for sql in [
        "SELECT * FROM t_order WHERE (user_id, order_id) = (1, 2)",
        "SELECT * FROM t_order WHERE user_id = user_id",
        "SELECT * FROM t_order WHERE 1 = 1 AND user_id IN ()",
        "SELECT * FROM t_order WHERE user_id BETWEEN 10 AND 1",
        "SELECT * FROM t_order WHERE user_id > 9223372036854775807",
        "SELECT * FROM t_order WHERE user_id < -9223372036854775808",
        "SELECT * FROM t_order o, (SELECT 1) x",
        "SELECT * FROM t_order NATURAL JOIN t_order_item WHERE user_id = 1",
        "SELECT * FROM (t_order o JOIN t_order_item i ON o.order_id = i.order_id)",
        "SELECT * FROM t_order AS o JOIN (t_order_item AS i JOIN t_dict d ON i.sku = d.code) ON o.order_id = i.order_id",
        "SELECT * FROM t_order FULL OUTER JOIN t_dict ON 1 = 1",
        "SELECT * FROM t_order CROSS JOIN t_dict",
        "SELECT * FROM t_order STRAIGHT_JOIN t_order_item ON t_order.order_id = t_order_item.order_id",
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM t_order, r",
        "SELECT * FROM t_order WHERE user_id = _utf8mb4'5' COLLATE utf8mb4_bin",
        "SELECT * FROM t_order WHERE user_id = 0x AND order_id = X''",
        "SELECT * FROM t_order WHERE user_id = - - 5",
        "INSERT INTO t_order (user_id, order_id) VALUES ROW(1, 2), ROW(3, 4)",
        "INSERT INTO t_order () VALUES ()",
        "INSERT INTO t_order (user_id, order_id) VALUES (1, 2) AS new ON DUPLICATE KEY UPDATE status = new.status",
        "UPDATE t_order SET (user_id, order_id) = (1, 2)",
        "UPDATE t_order, t_order_item SET t_order.status = 'x' WHERE t_order.order_id = t_order_item.order_id",
        "DELETE FROM t_order, t_order_item USING t_order JOIN t_order_item",
        "TRUNCATE t_order",
        "DROP TABLE IF EXISTS t_order, t_nope",
        "CREATE TABLE t_order LIKE t_template",
        "ALTER TABLE t_order ADD INDEX idx (status), ALGORITHM = INPLACE",
        "LOCK TABLES t_order WRITE",
        "ANALYZE TABLE t_order",
        "SELECT * FROM t_order PARTITION (p0)",
        "SELECT * FROM t_order USE INDEX (idx) WHERE user_id = 1",
        "SELECT * FROM t_order WHERE user_id IN (SELECT 1) AND order_id IN (SELECT 2)",
        "VALUES ROW(1)",
        "SELECT * FROM t_order INTO OUTFILE '/tmp/x'",
    ] {
        let outcome = run(sql, &[]);
        if std::env::var("SHOW_PLANS").is_ok() {
            println!("{sql}\n  {outcome:?}");
        }
        match outcome {
            Ok(plan) => assert!(!plan.units.is_empty(), "{sql}"),
            Err(e) => assert!([1064, 1065, 1136, 1210, 1235, 1364, 1366, 1048].contains(&e.code), "{sql}: {e}"),
        }
    }
}

#[test]
fn a_merged_select_has_one_unit_per_data_source() {
    for sql in [
        "SELECT * FROM t_order ORDER BY order_id LIMIT 3",
        "SELECT status, COUNT(*) FROM t_order WHERE user_id IN (1, 2, 3) GROUP BY status",
        "SELECT COUNT(*) FROM t_order WHERE user_id = 5",
        "SELECT DISTINCT u.name FROM t_user u",
    ] {
        let plan = run(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(matches!(plan.merge, MergePlan::Select(_)), "{sql}");
        let mut sources: Vec<&str> = plan.units.iter().map(|u| u.data_source.as_str()).collect();
        let count = sources.len();
        sources.dedup();
        assert_eq!(sources.len(), count, "{sql}: {sources:?}");
    }
    // Plain rows still concatenate node by node.
    let plan = run("SELECT * FROM t_order WHERE user_id = 5", &[]).expect("plans");
    assert_eq!((plan.merge, plan.units.len()), (MergePlan::Concat, 2));
}

#[test]
fn bound_tables_join_node_by_node_only_on_all_sharding_columns() {
    let on_both = "SELECT * FROM t_order o JOIN t_order_item i \
                   ON o.user_id = i.user_id AND o.order_id = i.order_id";
    assert_eq!(run(on_both, &[]).expect("plans").units.len(), 4);
    for sql in [
        "SELECT * FROM t_order o JOIN t_order_item i ON o.user_id = i.user_id",
        "SELECT * FROM t_order o JOIN t_order_item i USING (order_id) WHERE o.user_id = 1",
        "SELECT * FROM t_order o WHERE EXISTS (SELECT 1 FROM t_order_item i WHERE i.order_id = o.order_id)",
    ] {
        assert_eq!(refused(sql).code, 1235, "{sql}");
    }
}
