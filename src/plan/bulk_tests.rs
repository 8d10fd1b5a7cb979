//! A bulk INSERT planned from its literals gives exactly the plan of the
//! whole AST: units, their SQL text, generated keys and errors alike.

use super::{plan, plan_parsed, PlanContext};
use crate::config;
use crate::keygen::{Clock, KeyGenerator};
use crate::rules::ColumnKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const RULES: &str = include_str!("../../tests/golden/rules/shop.toml");

/// A clock at a fixed time that moves only when waited on, so two
/// generators hand out the same keys.
#[derive(Debug)]
struct StepClock(AtomicU64);

impl Clock for StepClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn sleep_ms(&self, ms: u64) {
        self.0.fetch_add(ms.max(1), Ordering::SeqCst);
    }
}

fn generator() -> KeyGenerator {
    KeyGenerator::new(7, Arc::new(StepClock(AtomicU64::new(1_800_000_000_000))))
        .expect("key generator")
}

/// Rows of literals of every kind the bulk reader takes.
fn rows(n: usize, row: impl Fn(usize) -> String) -> String {
    (0..n).map(row).collect::<Vec<_>>().join(", ")
}

fn statements() -> Vec<String> {
    let kinds = [
        "'new'",
        "'it''s'",
        "'back\\'slash'",
        "NULL",
        "''",
        "'héllo'",
    ];
    let kind = |i: usize| kinds[i % kinds.len()];
    vec![
        format!(
            "INSERT INTO t_order (user_id, status, amount) VALUES {}",
            rows(40, |i| format!("({i}, {}, -{i}.5)", kind(i)))
        ),
        format!(
            "INSERT INTO t_order (user_id, order_id, status) VALUES {}",
            rows(20, |i| format!("({}, {}, {})", i * 3, 100 + i, kind(i)))
        ),
        format!(
            "INSERT IGNORE INTO shop.t_order_item (user_id, order_id, note) VALUES {} \
             ON DUPLICATE KEY UPDATE note = VALUES(note)",
            rows(17, |i| format!("({i}, {}, {})", i * 11, kind(i)))
        ),
        format!(
            "INSERT INTO t_user (user_id, name) VALUES {}",
            rows(30, |i| format!("({i}, {})", kind(i)))
        ),
        format!(
            "INSERT INTO t_log (device, message) VALUES {}",
            rows(25, |i| format!("('device-{i}', {})", kind(i)))
        ),
        format!(
            "INSERT INTO t_event (event_id, kind) VALUES {}",
            rows(16, |i| format!("({}, {})", i * 50, kind(i)))
        ),
        format!(
            "INSERT INTO t_dict (id, name) VALUES {}",
            rows(20, |i| format!("({i}, {})", kind(i)))
        ),
        format!(
            // The marker row's name as the only column: rendered by Display.
            "INSERT INTO t_dict (__shardgate_values_rows__) VALUES {}",
            rows(20, |i| format!("({i})"))
        ),
        // Errors: a row of the wrong width, a missing sharding value.
        format!(
            "INSERT INTO t_user (user_id, name) VALUES {}, (1)",
            rows(20, |i| format!("({i}, {})", kind(i)))
        ),
        format!(
            "INSERT INTO t_user (name) VALUES {}",
            rows(20, |i| format!("({})", kind(i)))
        ),
    ]
}

#[test]
fn bulk_plans_are_the_whole_ast_plans() {
    let config = config::parse(RULES).expect("rules load");
    let kinds = |_: &str, _: &str| ColumnKind::Integer;
    for with_keys in [true, false] {
        for sql in statements() {
            assert!(crate::sql::parse_bulk(&sql).is_some(), "not bulk: {sql}");
            let (fast_keys, whole_keys) = (generator(), generator());
            let ctx = |keys| PlanContext {
                schema: &config.rules.schemas["shop"],
                column_kind: &kinds,
                keys,
                binary_key: &|_: &str| false,
            };
            let fast = plan(&sql, &[], &ctx(with_keys.then_some(&fast_keys)));
            let whole = plan_parsed(
                crate::sql::parse(&sql),
                &[],
                &ctx(with_keys.then_some(&whole_keys)),
            );
            match (fast, whole) {
                (Ok(fast), Ok(whole)) => {
                    assert_eq!(fast, whole, "{sql}");
                    assert!(!fast.units.is_empty());
                }
                (Err(fast), Err(whole)) => assert_eq!(fast.to_string(), whole.to_string()),
                (fast, whole) => panic!("{sql}: bulk {fast:?}, whole {whole:?}"),
            }
        }
    }
}
