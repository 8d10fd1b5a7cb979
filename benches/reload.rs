//! A reload of a rule file with 1,000 sharded tables: read and validate the
//! text, rebuild the backends, swap the generation in.

use criterion::{criterion_group, criterion_main, Criterion};
use shardgate::config;
use shardgate::session::Shared;
use std::fmt::Write;
use std::hint::black_box;

fn thousand_tables() -> String {
    let mut rules = String::from(
        "[[users]]\nname = \"app\"\npassword = \"pw\"\nschemas = [\"shop\"]\n\n\
         [data_sources.ds_0]\nprimary = \"mysql://root:@127.0.0.1:3306/shop_0\"\n\
         [data_sources.ds_1]\nprimary = \"mysql://root:@127.0.0.1:3306/shop_1\"\n\
         [data_sources.ds_2]\nprimary = \"mysql://root:@127.0.0.1:3306/shop_2\"\n\
         [data_sources.ds_3]\nprimary = \"mysql://root:@127.0.0.1:3306/shop_3\"\n\n\
         [schemas.shop]\ndefault_data_source = \"ds_0\"\n\n\
         [schemas.shop.algorithms]\nm = { type = \"mod\" }\nh = { type = \"hash_mod\" }\n\n",
    );
    for i in 0..1000 {
        let _ = write!(
            rules,
            "[schemas.shop.tables.t_{i}]\nnodes = \"ds_${{0..3}}.t_{i}_${{0..3}}\"\n\
             database_sharding = {{ column = \"user_id\", algorithm = \"m\" }}\n\
             table_sharding = {{ column = \"order_id\", algorithm = \"h\" }}\n\n"
        );
    }
    rules
}

fn reload(c: &mut Criterion) {
    let text = thousand_tables();
    let shared = Shared::new(config::parse(&text).expect("bench rules load")).expect("shared");
    let mut group = c.benchmark_group("reload");
    group.sample_size(20);
    group.bench_function("1000 tables: parse, validate, swap", |b| {
        b.iter(|| {
            let config = config::parse(black_box(&text)).expect("valid");
            shared.install(config).expect("installed")
        })
    });
    group.finish();
}

criterion_group!(benches, reload);
criterion_main!(benches);
