//! Plan time (parse → route → rewrite) on the golden rule file: a point
//! select, a prepared one's execute (with and without the parse cache), an
//! IN list of 100 keys pruned over four data nodes, a merged SELECT (GROUP
//! BY, AVG, HAVING, ORDER BY, LIMIT over four data nodes in two data
//! sources), and a 1,000-row INSERT split by node with generated keys.

use criterion::{criterion_group, criterion_main, Criterion};
use mysql_common::value::Value;
use shardgate::config;
use shardgate::keygen::{KeyGenerator, SystemClock};
use shardgate::plan::{plan, plan_execute, PlanContext};
use shardgate::rules::ColumnKind;
use std::hint::black_box;
use std::sync::Arc;

const RULES: &str = include_str!("../tests/golden/rules/shop.toml");

fn plans(c: &mut Criterion) {
    let config = config::parse(RULES).expect("rules load");
    let keys = KeyGenerator::new(1, Arc::new(SystemClock)).expect("key generator");
    let kinds = |_: &str, _: &str| ColumnKind::Integer;
    let ctx = PlanContext {
        schema: &config.rules.schemas["shop"],
        column_kind: &kinds,
        keys: Some(&keys),
        binary_key: &|_: &str| false,
    };

    let point = "SELECT * FROM t_order WHERE user_id = 10 AND order_id = 7";
    c.bench_function("plan: point select", |b| {
        b.iter(|| plan(black_box(point), &[], &ctx).expect("plans"))
    });

    // An execute of a prepared point select: the same text each time, the
    // values bound; parsed each time, and from the per-thread cache.
    let prepared = "SELECT * FROM t_order WHERE user_id = ? AND order_id = ?";
    let values = [Value::Int(10), Value::Int(7)];
    c.bench_function("plan: prepared point select, parsed each time", |b| {
        b.iter(|| plan(black_box(prepared), &values, &ctx).expect("plans"))
    });
    c.bench_function("plan: prepared point select, execute", |b| {
        b.iter(|| plan_execute(black_box(prepared), &values, &ctx).expect("plans"))
    });

    let keys_list: Vec<String> = (0..100).map(|i| (i * 7).to_string()).collect();
    let in_list = format!(
        "SELECT * FROM t_order WHERE user_id IN ({}) AND status = 'paid'",
        keys_list.join(", ")
    );
    c.bench_function("plan: IN of 100 keys", |b| {
        b.iter(|| plan(black_box(&in_list), &[], &ctx).expect("plans"))
    });

    let merged = "SELECT status, COUNT(*) AS c, AVG(amount) FROM t_order WHERE amount > 10 \
                  GROUP BY status HAVING SUM(amount) > 100 ORDER BY c DESC LIMIT 5";
    c.bench_function("plan: merged GROUP BY", |b| {
        b.iter(|| plan(black_box(merged), &[], &ctx).expect("plans"))
    });

    let rows: Vec<String> = (0..1000)
        .map(|i| format!("({i}, 'status {i}', {}.5, 'note', 3)", i % 97))
        .collect();
    let insert = format!(
        "INSERT INTO t_order (user_id, status, amount, note, kind) VALUES {}",
        rows.join(", ")
    );
    let mut group = c.benchmark_group("plan");
    group.sample_size(20);
    group.bench_function("1000-row insert", |b| {
        b.iter(|| plan(black_box(&insert), &[], &ctx).expect("plans"))
    });
    group.finish();
}

criterion_group!(benches, plans);
criterion_main!(benches);
