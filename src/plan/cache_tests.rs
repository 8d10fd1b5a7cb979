//! The plan from a template equals a fresh plan: for executes and text
//! statements of every route, after other values warmed the cache; rules
//! reloaded after a cached execute place by the new rules.

use super::{cache, plan, plan_execute, plan_text, ExecutionPlan, PlanContext};
use crate::config;
use crate::rules::{ColumnKind, SchemaRules};
use mysql_common::value::Value;
use proptest::prelude::*;

const RULES: &str = include_str!("../../tests/golden/rules/shop.toml");

fn schema(rules: &str) -> SchemaRules {
    let config = config::parse(rules).expect("rules load");
    config.rules.schemas["shop"].clone()
}

fn with_ctx<T>(schema: &SchemaRules, f: impl FnOnce(&PlanContext<'_>) -> T) -> T {
    let kinds = |_: &str, column: &str| match column {
        "status" | "token" | "device" => ColumnKind::String,
        _ => ColumnKind::Integer,
    };
    f(&PlanContext {
        schema,
        column_kind: &kinds,
        keys: None,
        binary_key: &|_: &str| false,
    })
}

fn fresh(sql: &str, params: &[Value], ctx: &PlanContext<'_>) -> ExecutionPlan {
    plan(sql, params, ctx).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn executed(sql: &str, params: &[Value], ctx: &PlanContext<'_>) -> ExecutionPlan {
    plan_execute(sql, params, ctx).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

const PREPARED: [&str; 6] = [
    "SELECT status FROM t_order WHERE user_id = ? AND order_id = ?",
    "SELECT o.status, i.note FROM t_order o JOIN t_order_item i ON o.user_id = i.user_id AND o.order_id = i.order_id \
     WHERE o.user_id = ? AND o.order_id = ?",
    "SELECT status FROM t_order WHERE user_id IN (?, ?, ?) AND order_id > ?",
    "SELECT COUNT(*) FROM t_order WHERE user_id BETWEEN ? AND ?",
    "UPDATE t_order SET status = 'paid' WHERE user_id = ? AND order_id = ?",
    "DELETE FROM t_user WHERE user_id = ? AND name <> ?",
];

fn values_for(sql: &str, a: i64, b: i64) -> Vec<Value> {
    let count = sql.matches('?').count();
    (0..count)
        .map(|i| match (sql.contains("name <>"), i) {
            (true, 1) => Value::Bytes(format!("n{a}").into_bytes()),
            _ if i % 2 == 0 => Value::Int(a + i as i64),
            _ => Value::Int(b + i as i64),
        })
        .collect()
}

#[test]
fn executes_from_templates_equal_fresh_plans() {
    let schema = schema(RULES);
    with_ctx(&schema, |ctx| {
        let before = cache::hits();
        for sql in PREPARED {
            for k in 0..40 {
                let params = values_for(sql, k * 7, k * 13 + 1);
                assert_eq!(
                    executed(sql, &params, ctx),
                    fresh(sql, &params, ctx),
                    "{sql} {params:?}"
                );
            }
        }
        assert!(cache::hits() > before + 100, "templates were used");
    });
}

#[test]
fn rewrites_that_read_values_are_not_kept() {
    let schema = schema(RULES);
    with_ctx(&schema, |ctx| {
        // Across nodes, LIMIT ?, ? becomes LIMIT offset + count per unit.
        let sql = "SELECT order_id FROM t_order ORDER BY order_id LIMIT ?, ?";
        for (offset, count) in [(1, 2), (5, 10), (0, 3), (7, 1)] {
            let params = [Value::Int(offset), Value::Int(count)];
            assert_eq!(executed(sql, &params, ctx), fresh(sql, &params, ctx));
        }
        let sql = "SELECT status, SUM(amount) s FROM t_order GROUP BY status HAVING s > ?";
        for limit in [1, 100] {
            let params = [Value::Int(limit)];
            assert_eq!(executed(sql, &params, ctx), fresh(sql, &params, ctx));
        }
    });
}

#[test]
fn text_statements_of_a_seen_shape_equal_fresh_plans() {
    let schema = schema(RULES);
    with_ctx(&schema, |ctx| {
        let before = cache::hits();
        for k in 0..40i64 {
            for sql in [
                format!(
                    "SELECT status FROM t_order WHERE user_id = {k} AND order_id = {}",
                    k * 3
                ),
                format!(
                    "SELECT * FROM t_order WHERE user_id IN ({k}, {}, 7) ORDER BY order_id",
                    k + 1
                ),
                format!(
                    "SELECT COUNT(*) FROM t_event WHERE event_id BETWEEN {} AND {}",
                    k * 50_000,
                    k * 90_000
                ),
                format!("SELECT * FROM t_log WHERE device = 'dev-{k}'"),
                format!("SELECT * FROM t_session WHERE token = 'tok{k}' LIMIT 1"),
                format!("UPDATE t_user SET name = 'x' WHERE user_id = {k}"),
                format!(
                    "DELETE FROM t_order_item WHERE user_id = {k} AND order_id = {}",
                    k + 2
                ),
            ] {
                let cached = plan_text(&sql, &[], ctx).unwrap_or_else(|e| panic!("{sql}: {e}"));
                assert_eq!(cached, fresh(&sql, &[], ctx), "{sql}");
            }
        }
        assert!(cache::hits() > before + 200, "templates were used");
    });
}

#[test]
fn a_reload_places_by_the_new_rules() {
    let old = schema(RULES);
    // t_user moved: three data nodes, all on ds_1.
    let moved = RULES.replace(
        "nodes = [\"ds_0.t_user\", \"ds_1.t_user\"]",
        "nodes = [\"ds_1.t_user_a\", \"ds_1.t_user_b\", \"ds_1.t_user_c\"]",
    );
    assert_ne!(moved, RULES);
    let new = schema(&moved);
    let sql = "SELECT name FROM t_user WHERE user_id = ?";
    let text = "SELECT name FROM t_user WHERE user_id = 5";
    for k in 0..10 {
        let params = [Value::Int(k)];
        with_ctx(&old, |ctx| {
            assert_eq!(executed(sql, &params, ctx), fresh(sql, &params, ctx));
            assert_eq!(plan_text(text, &[], ctx).ok(), plan(text, &[], ctx).ok());
        });
        with_ctx(&new, |ctx| {
            let planned = executed(sql, &params, ctx);
            assert_eq!(planned, fresh(sql, &params, ctx));
            assert!(planned.units.iter().all(|u| u.data_source == "ds_1"));
            assert!(
                planned.units[0].sql.contains("t_user_"),
                "{}",
                planned.units[0].sql
            );
            let text_plan = plan_text(text, &[], ctx).expect("plans");
            assert_eq!(
                Ok(text_plan.clone()),
                plan(text, &[], ctx).map_err(|e| e.code)
            );
            assert_eq!(text_plan.units[0].data_source, "ds_1");
        });
    }
    // A copy of the rules is other rules.
    assert_ne!(old.generation(), old.clone().generation());
}

proptest! {
    #[test]
    fn any_keys_plan_as_fresh(a in any::<i64>(), b in any::<i64>(), c in -5i64..5, s in "[a-z0-9 ]{0,8}") {
        let schema = schema(RULES);
        with_ctx(&schema, |ctx| {
            let point = "SELECT status FROM t_order WHERE user_id = ? AND order_id = ?";
            let range = "SELECT * FROM t_event WHERE event_id >= ? AND event_id < ?";
            let in_list = "SELECT * FROM t_order WHERE user_id IN (?, ?, ?) AND status = ?";
            let bytes = Value::Bytes(s.clone().into_bytes());
            for (sql, params) in [
                (point, vec![Value::Int(a), Value::Int(b)]),
                (range, vec![Value::Int(a.min(b)), Value::Int(a.max(b))]),
                (in_list, vec![Value::Int(a), Value::Int(b), Value::Int(c), bytes]),
            ] {
                prop_assert_eq!(plan_execute(sql, &params, ctx).ok(), plan(sql, &params, ctx).ok());
            }
            for sql in [
                format!("SELECT status FROM t_order WHERE user_id = {} AND order_id = {}", a.unsigned_abs(), b.unsigned_abs()),
                format!("SELECT * FROM t_event WHERE event_id >= {} AND event_id < {}", a.min(b).unsigned_abs(), a.max(b).unsigned_abs()),
                format!("SELECT * FROM t_order WHERE user_id IN ({}, {}, {}) AND status = '{s}'", a.unsigned_abs(), b.unsigned_abs(), c.unsigned_abs()),
            ] {
                let cached = plan_text(&sql, &[], ctx).map_err(|e| e.code);
                prop_assert_eq!(cached, plan(&sql, &[], ctx).map_err(|e| e.code), "{}", sql);
            }
            Ok(())
        })?;
    }
}

/// Point selects ([`super::point`]) and statements that look like them
/// but are not: each execute plans as a fresh plan, whatever the value
/// (NULL, a string for an integer column, out of range), and only the
/// point selects skip the full route.
#[test]
fn point_routes_plan_as_fresh() {
    let points = [
        "SELECT name FROM t_user WHERE user_id = ?",
        "SELECT * FROM t_user u WHERE u.user_id = ? AND u.name <> 'x'",
        "SELECT note FROM t_log WHERE ? = device",
        "SELECT COUNT(*) FROM t_event WHERE kind = ? AND (event_id = ?)",
        "SELECT token FROM t_session WHERE token = ? ORDER BY token LIMIT 3",
    ];
    let others = [
        "SELECT name FROM t_user WHERE user_id = ? AND user_id > ?",
        "SELECT name FROM t_user WHERE user_id = ? OR name = ?",
        "SELECT name FROM t_user WHERE (user_id = ? AND name = ?) OR user_id = ?",
        "SELECT name FROM t_user WHERE user_id + 0 = ?",
        "SELECT name FROM t_user WHERE user_id IN (?)",
        "SELECT name FROM t_user u WHERE u.user_id = ? AND u.user_id = ?",
        "SELECT status FROM t_order WHERE user_id = ? AND order_id = ?",
    ];
    let values = |k: i64| {
        [
            Value::Int(k),
            Value::Int(-k * 1_000_003),
            Value::UInt(u64::MAX - k as u64),
            Value::Bytes(format!("d{k}").into_bytes()),
            Value::Bytes(k.to_string().into_bytes()),
            Value::NULL,
            Value::Double(k as f64 + 0.5),
        ]
    };
    let schema = schema(RULES);
    with_ctx(&schema, |ctx| {
        for (sql, is_point) in points
            .iter()
            .map(|s| (s, true))
            .chain(others.iter().map(|s| (s, false)))
        {
            let before = cache::point_hits();
            for k in 0..30 {
                for value in values(k) {
                    let count = sql.matches('?').count();
                    let params: Vec<Value> = (0..count)
                        .map(|i| {
                            if i + 1 == count {
                                value.clone()
                            } else {
                                Value::Int(k + 1)
                            }
                        })
                        .collect();
                    let params = match sql.contains("kind = ?") {
                        true => params.into_iter().rev().collect(),
                        false => params,
                    };
                    assert_eq!(
                        executed(sql, &params, ctx),
                        fresh(sql, &params, ctx),
                        "{sql} {params:?}"
                    );
                }
            }
            let hits = cache::point_hits() - before;
            assert_eq!(hits > 0, is_point, "{sql}: {hits} point routes");
        }
    });
}
