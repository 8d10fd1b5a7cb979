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
    let kinds = |_: &str, _: &str| ColumnKind::Unknown;
    let ctx = PlanContext {
        schema: &config().rules.schemas["shop"],
        column_kind: &kinds,
        keys: Some(&keys),
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
            "SELECT * FROM t_order_1 WHERE user_id = 10 AND order_id = 7".into()
        )]
    );
}

#[test]
fn scratch() {
    for sql in [
        "SELECT * FROM t_order",
        "SELECT * FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id WHERE o.user_id = 3",
        "SELECT t_order.* FROM shop.t_order WHERE t_order.user_id IN (1, 2, 3) AND order_id = 4",
        "INSERT INTO t_order (user_id, status) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        "UPDATE t_order SET status = 'x' WHERE user_id = 5",
        "DELETE FROM t_dict WHERE id = 1",
        "SELECT * FROM t_dict",
        "DROP TABLE t_order",
        "DROP INDEX i ON t_order",
        "CREATE TABLE t_order (id BIGINT PRIMARY KEY)",
    ] {
        println!("{sql}\n  {:?}", run(sql, &[]));
    }
    let _ = MergePlan::Single;
    let _ = refused;
}
