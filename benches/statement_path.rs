//! The per-statement work the proxy adds before a statement reaches a
//! backend: split, classify, and the check that it names no sharded table
//! (the whole decision for unsharded passthrough), the session effects the
//! multiplexer reads, next to a full sqlparser parse for scale; the boundary
//! check every statement gets, and what the metrics cost per statement;
//! and the plan of a point select sharded over two data sources, as a
//! prepared statement's execute and as text (fresh, and of a seen shape),
//! both from plan templates once warm.

use criterion::{criterion_group, criterion_main, Criterion};
use mysql_common::value::Value;
use shardgate::admin::metrics::{Fanout, Metrics, StatementLabel};
use shardgate::config::{self, Privileges};
use shardgate::plan::{plan, plan_execute, plan_text, PlanContext};
use shardgate::rules::ColumnKind;
use shardgate::session::names_routed_table;
use shardgate::sql::boundary::{self, Subject};
use shardgate::sql::{classify, effects, parse, set_kind, split_statements};
use std::hint::black_box;
use std::time::Instant;

const RULES: &str = r#"
[[users]]
name = "app"
password = "pw"
schemas = ["shop"]
[data_sources.ds_0]
primary = "mysql://root:@127.0.0.1:3306/shop_0"
[data_sources.ds_1]
primary = "mysql://root:@127.0.0.1:3306/shop_1"
[schemas.shop]
default_data_source = "ds_0"
broadcast_tables = ["t_dict"]
[schemas.shop.tables.t_order]
nodes = "ds_${0..1}.t_order_${0..1}"
database_sharding = { column = "user_id", algorithm = "m" }
table_sharding = { column = "order_id", algorithm = "m" }
[schemas.shop.algorithms]
m = { type = "mod" }
"#;

fn passthrough_decision(c: &mut Criterion) {
    let config = config::parse(RULES).expect("bench rules load");
    let schema = &config.rules.schemas["shop"];
    let point_select = b"SELECT c FROM sbtest1 WHERE id=4242";
    c.bench_function("passthrough decision: point select", |b| {
        b.iter(|| {
            for sql in split_statements(black_box(point_select)) {
                black_box(classify(sql));
                black_box(names_routed_table(schema, sql));
            }
        })
    });
    let range = b"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 4242 AND 4341 ORDER BY c";
    c.bench_function("passthrough decision: range select", |b| {
        b.iter(|| {
            for sql in split_statements(black_box(range)) {
                black_box(classify(sql));
                black_box(names_routed_table(schema, sql));
            }
        })
    });
    let schemas = vec!["shop".to_string()];
    let backends = vec!["shop_0".to_string(), "shop_1".to_string()];
    let subject = Subject {
        user: "app",
        host: "127.0.0.1",
        schemas: &schemas,
        schema: Some("shop"),
        privileges: Privileges::ALL,
        backend_databases: &backends,
        routed: None,
        replica_check: false,
    };
    c.bench_function("boundary check: point select", |b| {
        b.iter(|| boundary::check(black_box(point_select), &subject))
    });
    // As the session runs it: the boundary's scan also notes whether a word
    // names a routed table, so the passthrough scans no more.
    let routed_subject = Subject {
        routed: Some(schema),
        ..subject
    };
    c.bench_function("boundary check with routed names: point select", |b| {
        b.iter(|| boundary::check(black_box(point_select), &routed_subject))
    });
    c.bench_function("passthrough decision with boundary: point select", |b| {
        b.iter(|| {
            for sql in split_statements(black_box(point_select)) {
                let verdict = boundary::check(sql, &routed_subject).expect("allowed");
                black_box(classify(sql));
                black_box(verdict.names_routed.unwrap_or(true));
            }
        })
    });
    c.bench_function("boundary check: range select", |b| {
        b.iter(|| boundary::check(black_box(range), &subject))
    });
    c.bench_function("sqlparser parse: point select", |b| {
        b.iter(|| parse(black_box("SELECT c FROM sbtest1 WHERE id=4242")))
    });
}

fn session_effects(c: &mut Criterion) {
    c.bench_function("effects: point select", |b| {
        b.iter(|| effects(black_box(b"SELECT c FROM sbtest1 WHERE id=4242")))
    });
    c.bench_function("effects: insert with values", |b| {
        b.iter(|| {
            effects(black_box(
                b"INSERT INTO sbtest1 (id, k, c, pad) VALUES (4242, 17, 'c-value', 'pad-value')",
            ))
        })
    });
    c.bench_function("effects: select with a user variable", |b| {
        b.iter(|| effects(black_box(b"SELECT c FROM sbtest1 WHERE id = @id")))
    });
    c.bench_function("set_kind: SET NAMES and sql_mode", |b| {
        b.iter(|| set_kind(black_box(b"SET NAMES utf8mb4, sql_mode = 'ANSI_QUOTES'")))
    });
}

/// What the metrics add to every statement: two clock reads, the label,
/// the counters and the latency histogram, and the fan-out counter.
fn statement_metrics(c: &mut Criterion) {
    let metrics = Metrics::new();
    let sql = b"SELECT c FROM sbtest1 WHERE id=4242";
    let kind = classify(sql);
    c.bench_function("metrics: one statement recorded", |b| {
        b.iter(|| {
            let started = Instant::now();
            let label = StatementLabel::of(black_box(&kind), black_box(sql));
            metrics.units(Fanout::Single);
            metrics.statement(label, None, started.elapsed());
        })
    });
}

/// The sharded path's plan of a point select over two data sources (four
/// data nodes): an execute of a prepared statement, and a text statement,
/// with the key changing from one statement to the next as sysbench's do.
fn sharded_plan(c: &mut Criterion) {
    let config = config::parse(RULES).expect("bench rules load");
    let kinds = |_: &str, _: &str| ColumnKind::Integer;
    let ctx = PlanContext {
        schema: &config.rules.schemas["shop"],
        column_kind: &kinds,
        keys: None,
        binary_key: &|_: &str| false,
    };
    let prepared = "SELECT status FROM t_order WHERE user_id = ? AND order_id = ?";
    let mut key = 0i64;
    // The cache fills at the first executes; the key then changes the
    // node, each of the four has its template.
    c.bench_function("sharded point select, prepared execute, cached plan", |b| {
        b.iter(|| {
            key = (key + 1) % 1000;
            let values = [Value::Int(key), Value::Int(key + 7)];
            plan_execute(black_box(prepared), &values, &ctx).expect("plans")
        })
    });
    let texts: Vec<String> = (0..1000)
        .map(|k| {
            format!(
                "SELECT status FROM t_order WHERE user_id = {k} AND order_id = {}",
                k + 7
            )
        })
        .collect();
    let mut next = 0usize;
    c.bench_function("sharded point select, text", |b| {
        b.iter(|| {
            next = (next + 1) % texts.len();
            plan(black_box(&texts[next]), &[], &ctx).expect("plans")
        })
    });
    // The same texts as the proxy plans them: one shape, its template.
    c.bench_function("sharded point select, text, seen shape", |b| {
        b.iter(|| {
            next = (next + 1) % texts.len();
            plan_text(black_box(&texts[next]), &[], &ctx).expect("plans")
        })
    });
}

criterion_group!(
    benches,
    passthrough_decision,
    session_effects,
    statement_metrics,
    sharded_plan
);
criterion_main!(benches);
