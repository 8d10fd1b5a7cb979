//! Key generation on the INSERT path: one key from a segment that has ids
//! left (the hot path: no sequence table involved), a snowflake id and a
//! UUID for comparison, and planning a 1,000-row INSERT whose keys come
//! from a segment generator.

use criterion::{criterion_group, criterion_main, Criterion};
use shardgate::config;
use shardgate::keygen::{KeyGenerator, KeyGeneratorKind, KeyRequest, SystemClock};
use shardgate::plan::{plan, PlanContext};
use shardgate::rules::ColumnKind;
use std::hint::black_box;
use std::sync::Arc;

const RULES: &str = r#"
[[users]]
name = "app"
password = "app_pw"
schemas = ["shop"]

[data_sources.ds_0]
primary = "mysql://root:secret@127.0.0.1:3306/shop_0"

[data_sources.ds_1]
primary = "mysql://root:secret@127.0.0.1:3306/shop_1"

[schemas.shop]
default_data_source = "ds_0"

[schemas.shop.tables.t_order]
nodes = "ds_${0..1}.t_order_${0..1}"
database_sharding = { column = "user_id", algorithm = "by_mod" }
table_sharding = { column = "order_id", algorithm = "by_mod" }
key_generator = { column = "order_id", type = "segment", data_source = "ds_0", step = 1000 }

[schemas.shop.algorithms]
by_mod = { type = "mod" }
"#;

fn keys(c: &mut Criterion) {
    let config = config::parse(RULES).expect("rules load");
    let mut keys = KeyGenerator::new(1, Arc::new(SystemClock)).expect("key generator");
    let spec = config.rules.schemas["shop"].tables["t_order"]
        .key_generator
        .as_ref()
        .and_then(|k| k.segment.clone())
        .expect("a segment generator");
    // One segment large enough for every iteration: the buffer never runs low.
    keys.add_segment(spec).supply(1..i64::MAX / 2);

    let segment = KeyRequest {
        kind: KeyGeneratorKind::Segment,
        sequence: Some("shop.t_order"),
        binary: false,
    };
    let mut out = Vec::with_capacity(1);
    c.bench_function("keygen: one segment id", |b| {
        b.iter(|| {
            out.clear();
            keys.generate_many(black_box(&segment), 1, &mut out)
                .expect("id")
        })
    });
    let snowflake = KeyRequest {
        kind: KeyGeneratorKind::Snowflake,
        ..segment
    };
    c.bench_function("keygen: one snowflake id", |b| {
        b.iter(|| {
            out.clear();
            keys.generate_many(black_box(&snowflake), 1, &mut out)
                .expect("id")
        })
    });
    let uuid = KeyRequest {
        kind: KeyGeneratorKind::Uuid,
        ..segment
    };
    c.bench_function("keygen: one uuid", |b| {
        b.iter(|| {
            out.clear();
            keys.generate_many(black_box(&uuid), 1, &mut out)
                .expect("id")
        })
    });

    let kinds = |_: &str, _: &str| ColumnKind::Integer;
    let ctx = PlanContext {
        schema: &config.rules.schemas["shop"],
        column_kind: &kinds,
        keys: Some(&keys),
        binary_key: &|_: &str| false,
    };
    // user_id changes every second row, so that with consecutive order ids
    // the rows reach all four nodes wherever the segment starts.
    let rows: Vec<String> = (0..1000)
        .map(|i| format!("({}, 'status {i}', {}.5)", i / 2, i % 97))
        .collect();
    let insert = format!(
        "INSERT INTO t_order (user_id, status, amount) VALUES {}",
        rows.join(", ")
    );
    let planned = plan(&insert, &[], &ctx).expect("plans");
    assert_eq!(planned.units.len(), 4, "split over the four data nodes");
    let mut group = c.benchmark_group("keygen");
    group.sample_size(20);
    group.bench_function("plan 1000-row insert, segment keys", |b| {
        b.iter(|| plan(black_box(&insert), &[], &ctx).expect("plans"))
    });
    group.finish();
}

criterion_group!(benches, keys);
criterion_main!(benches);
