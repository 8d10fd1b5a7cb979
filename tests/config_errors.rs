//! The rule file as the `check` command sees it: the sample file loads and
//! summarises; a broken file is refused with every problem, each naming its
//! key path.

use shardgate::config::{self, summary};
use shardgate::rules::{ColumnCondition, ShardingValue, TableKind};
use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn sample_rules_load_and_summarise() {
    let config = config::load(&fixture("shop.toml")).expect("the sample file is valid");
    let text = summary(&config);
    for line in [
        "  ds_0: primary 127.0.0.1:3306/shop_0, 1 replica",
        "schema shop: default data source ds_0; data sources ds_0, ds_1",
        "  sharded table t_order: 4 nodes on ds_0, ds_1; database: user_id ds_mod(mod); table: order_id tbl_mod(mod); key order_id snowflake",
        "  broadcast tables: t_dict",
        "  binding group: t_order, t_order_item",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn sample_rules_route_a_point_lookup() {
    let config = config::load(&fixture("shop.toml")).expect("valid");
    let shop = config.rules.schema("shop").expect("schema");
    let TableKind::Sharded(order) = shop.table_kind("t_order") else {
        panic!("t_order is sharded");
    };
    let nodes = order.route(|column| match column {
        "user_id" => ColumnCondition::value(ShardingValue::Int(7)),
        "order_id" => ColumnCondition::value(ShardingValue::Int(8)),
        _ => ColumnCondition::Any,
    });
    assert_eq!(nodes, [2]);
    assert_eq!(order.nodes[2].to_string(), "ds_1.t_order_0");
}

#[test]
fn broken_file_lists_every_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.toml");
    let text = std::fs::read_to_string(fixture("shop.toml"))
        .expect("fixture")
        .replace("worker_id = 1", "worker_id = 4096")
        .replace("ds_${0..1}.t_event", "ds_${0..2}.t_event")
        .replace("virtual_nodes = 160", "virtual_nodes = 0")
        .replace(
            "binding_groups = [[\"t_order\", \"t_order_item\"]]",
            "binding_groups = [[\"t_order\", \"t_user\"]]",
        );
    std::fs::write(&path, text).expect("write");
    let error = config::load(&path).expect_err("refused");
    let expected = [
        "server.worker_id: 4096 is out of range; give 0..=1023, different for each proxy instance, or \"auto\"",
        "schemas.shop.algorithms.ring.virtual_nodes: 0 is out of range; give 1..=10000 (default 160)",
        "schemas.shop.tables.t_event.nodes: unknown data source `ds_2` in `ds_2.t_event`; known: ds_0, ds_1",
        "schemas.shop.binding_groups[0]: `t_user` has nodes in ds_0×1, ds_1×1 but `t_order` in ds_0×2, ds_1×2; tables of a binding group need the same data sources with the same number of nodes each, in the same node order",
    ];
    assert_eq!(error.problems, expected, "{error}");
}
