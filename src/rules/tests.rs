//! The rules model built from rule files: routing, and one test per check
//! of config.md that `ShardingRules::build` makes.

use super::algorithm::ShardingAlgorithm;
use super::*;
use crate::config::{parse, Config};
use std::ops::Bound::{Excluded, Included, Unbounded};
use ShardingValue::{Int, Str};

const SHOP: &str = include_str!("../../tests/fixtures/shop.toml");

/// Three data sources and one schema `s`; `schema` is appended under `[schemas.s]`.
fn file(schema: &str) -> String {
    format!(
        r#"
[[users]]
name = "app"
password = "pw"
schemas = ["s"]

[data_sources.ds_0]
primary = "mysql://root:pw@127.0.0.1:3306/s_0"
[data_sources.ds_1]
primary = "mysql://root:pw@127.0.0.1:3306/s_1"
[data_sources.ds_2]
primary = "mysql://root:pw@127.0.0.1:3306/s_2"

[schemas.s]
default_data_source = "ds_0"
{schema}
"#
    )
}

fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(config) => config,
        Err(e) => panic!("refused:\n{e}\n--- file:\n{text}"),
    }
}

fn problems(schema: &str) -> Vec<String> {
    match parse(&file(schema)) {
        Ok(_) => panic!("accepted:\n{schema}"),
        Err(e) => e.problems,
    }
}

/// Asserts that exactly one problem is reported and that it equals `expected`.
fn one_problem(schema: &str, expected: &str) {
    assert_eq!(problems(schema), [expected]);
}

fn shop() -> SchemaRules {
    ok(SHOP).rules.schemas.remove("shop").expect("schema shop")
}

fn values(v: &[i64]) -> ColumnCondition {
    ColumnCondition::Values(v.iter().map(|&i| Int(i)).collect())
}

fn route(rule: &TableRule, conditions: &[(&str, ColumnCondition)]) -> Vec<usize> {
    rule.route(|column| {
        conditions
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, condition)| condition.clone())
            .unwrap_or(ColumnCondition::Any)
    })
}

fn node_names(rule: &TableRule, indexes: &[usize]) -> Vec<String> {
    indexes.iter().map(|&i| rule.nodes[i].to_string()).collect()
}

// ---- the model of the complete example ----

#[test]
fn shop_model() {
    let shop = shop();
    assert_eq!(shop.data_sources, ["ds_0", "ds_1"]);
    assert_eq!(shop.default_data_source, "ds_0");
    assert!(
        matches!(shop.table_kind("T_ORDER"), TableKind::Sharded(t) if t.logical_name == "t_order")
    );
    assert!(matches!(shop.table_kind("t_dict"), TableKind::Broadcast));
    assert!(matches!(shop.table_kind("t_other"), TableKind::Unsharded));
    let order = shop.table("t_order").expect("sharded");
    assert_eq!(
        order.nodes_description(),
        "ds_0.t_order_0, ds_0.t_order_1, ds_1.t_order_0, ds_1.t_order_1"
    );
    assert_eq!(order.data_sources, ["ds_0", "ds_1"]);
    assert_eq!(order.nodes_by_data_source, [vec![0, 1], vec![2, 3]]);
    assert_eq!(order.sharding_columns(), ["user_id", "order_id"]);
    assert_eq!(
        order.sharding_description(),
        "database: user_id ds_mod(mod); table: order_id tbl_mod(mod)"
    );
    assert_eq!(
        order.key_generator,
        Some(KeyGeneratorRule {
            column: "order_id".into(),
            kind: crate::keygen::KeyGeneratorKind::Snowflake
        })
    );
    let log = shop.table("t_log").expect("sharded");
    assert_eq!(
        log.nodes_description(),
        "ds_0.t_log_a, ds_0.t_log_b, ds_1.t_log_a, ds_1.t_log_b"
    );
    assert_eq!(log.sharding_description(), "device ring(consistent_hash)");
    assert_eq!(
        shop.binding_groups,
        [vec!["t_order".to_string(), "t_order_item".to_string()]]
    );
    assert!(shop.are_bound("t_order", "T_Order_Item"));
    assert!(!shop.are_bound("t_order", "t_user"));
    assert_eq!(
        shop.binding_group_of("t_order_item").map(<[String]>::len),
        Some(2)
    );
    assert_eq!(shop.binding_group_of("t_user"), None);
}

#[test]
fn two_level_routing() {
    let shop = shop();
    let order = shop.table("t_order").expect("sharded");
    // user_id 1 → ds_1; order_id 2 → that data source's t_order_0.
    let one = route(
        order,
        &[("user_id", values(&[1])), ("order_id", values(&[2]))],
    );
    assert_eq!(node_names(order, &one), ["ds_1.t_order_0"]);
    assert_eq!(route(order, &[("user_id", values(&[1]))]), [2, 3]);
    assert_eq!(route(order, &[("order_id", values(&[3]))]), [1, 3]);
    assert_eq!(route(order, &[("user_id", values(&[-1, 4]))]), [0, 1, 2, 3]);
    assert_eq!(
        route(
            order,
            &[
                ("user_id", values(&[0])),
                ("order_id", ColumnCondition::Never)
            ]
        ),
        Vec::<usize>::new()
    );
    assert_eq!(route(order, &[]), [0, 1, 2, 3]);
    let range = ColumnCondition::Range {
        low: Included(10),
        high: Included(10),
    };
    assert_eq!(route(order, &[("order_id", range)]), [0, 2]);
    // A string under `mod` cannot be placed: scatter that level.
    assert_eq!(
        route(
            order,
            &[("user_id", ColumnCondition::value(Str(b"x".to_vec())))]
        ),
        [0, 1, 2, 3]
    );

    let row = [("user_id", Int(1)), ("order_id", Int(2))];
    let value_of = |c: &str| row.iter().find(|(k, _)| *k == c).map(|(_, v)| v);
    assert_eq!(order.route_exact(value_of), Ok(2));
    let missing = order.route_exact(|c| {
        if c == "user_id" {
            Some(&row[0].1)
        } else {
            None
        }
    });
    assert_eq!(
        missing,
        Err(RouteError::MissingValue {
            table: "t_order".into(),
            column: "order_id".into()
        })
    );
    let text = Str(b"abc".to_vec());
    let unplaceable = order.route_exact(|c| {
        if c == "user_id" {
            Some(&text)
        } else {
            Some(&row[1].1)
        }
    });
    assert!(
        matches!(unplaceable, Err(RouteError::Unplaceable { ref column, .. }) if column == "user_id")
    );
}

#[test]
fn both_levels_on_one_column_place_each_value() {
    let config = ok(&file(
        r#"[schemas.s.tables.t]
nodes = "ds_${0..1}.t_${0..1}"
database_sharding = { column = "user_id", algorithm = "m" }
table_sharding = { column = "USER_ID", algorithm = "m" }
[schemas.s.algorithms]
m = { type = "mod" }"#,
    ));
    let t = config.rules.schemas["s"]
        .table("t")
        .expect("sharded")
        .clone();
    assert_eq!(t.sharding_columns(), ["user_id"]);
    // 1 → ds_1.t_1, 2 → ds_0.t_0: not the cross product of both.
    assert_eq!(route(&t, &[("user_id", values(&[1, 2]))]), [0, 3]);
    assert_eq!(t.route_exact(|_| Some(&Int(3))), Ok(3));
}

#[test]
fn one_level_routing() {
    let shop = shop();
    let user = shop.table("t_user").expect("sharded");
    // murmur3("42") = 3159925814 (even), murmur3("1") = 2484513939 (odd).
    assert_eq!(route(user, &[("user_id", values(&[42]))]), [0]);
    assert_eq!(route(user, &[("user_id", values(&[1]))]), [1]);
    assert_eq!(user.route_exact(|_| Some(&Int(1))), Ok(1));
    let range = ColumnCondition::Range {
        low: Included(1),
        high: Included(2),
    };
    assert_eq!(route(user, &[("user_id", range)]), [0, 1]);

    let event = shop.table("t_event").expect("sharded");
    let range = |low, high| ColumnCondition::Range { low, high };
    assert_eq!(
        route(
            event,
            &[("event_id", range(Unbounded, Excluded(1_000_000)))]
        ),
        [0]
    );
    assert_eq!(
        route(
            event,
            &[("event_id", range(Included(1_000_000), Unbounded))]
        ),
        [1]
    );
    assert_eq!(
        route(
            event,
            &[("event_id", range(Included(999_999), Included(1_000_000)))]
        ),
        [0, 1]
    );
    assert_eq!(
        route(event, &[("event_id", range(Included(5), Excluded(5)))]),
        Vec::<usize>::new()
    );

    let log = shop.table("t_log").expect("sharded");
    let ring = algorithm::ConsistentHash::new(
        &[
            "ds_0.t_log_a",
            "ds_0.t_log_b",
            "ds_1.t_log_a",
            "ds_1.t_log_b",
        ]
        .map(String::from),
        160,
    )
    .expect("ring");
    for key in ["alice", "bob", "张三"] {
        let value = Str(key.as_bytes().to_vec());
        let expected = ring.place(&value).expect("total");
        assert_eq!(
            route(log, &[("device", ColumnCondition::value(value.clone()))]),
            [expected]
        );
        assert_eq!(log.route_exact(|_| Some(&value)), Ok(expected));
    }
}

#[test]
fn conversion_follows_the_column_algorithm() {
    let shop = shop();
    let order = shop.table("t_order").expect("sharded");
    let text = SqlValue::Str(b"042".to_vec());
    assert_eq!(order.domain("USER_ID"), Some(ValueDomain::Integer));
    assert_eq!(
        order.convert("user_id", &text, ColumnKind::Unknown, ValueUse::Insert),
        Conversion::Exact(Int(42))
    );
    let log = shop.table("t_log").expect("sharded");
    assert_eq!(
        log.convert("device", &text, ColumnKind::Unknown, ValueUse::Condition),
        Conversion::Exact(Str(b"042".to_vec()))
    );
    assert_eq!(
        log.convert("other", &text, ColumnKind::Unknown, ValueUse::Condition),
        Conversion::Inexact
    );
    assert!(order.is_sharding_column("Order_Id"));
    assert!(!order.is_sharding_column("item_id"));
}

#[test]
fn write_errors_map_to_mysql_errors() {
    let null = Conversion::Null
        .for_write("user_id", &SqlValue::Null)
        .expect_err("null");
    let error: crate::error::Error = null.into();
    assert_eq!((error.code, &error.sqlstate), (1048, b"23000"));
    assert_eq!(error.message, "Column 'user_id' cannot be null");
    let inexact = Conversion::Inexact
        .for_write("user_id", &SqlValue::Decimal("42.5".into()))
        .expect_err("inexact");
    let error: crate::error::Error = inexact.into();
    assert_eq!((error.code, &error.sqlstate), (1366, b"HY000"));
    assert!(
        error.message.contains("'42.5'") && error.message.contains("'user_id'"),
        "{}",
        error.message
    );
    assert_eq!(
        Conversion::Exact(Int(1)).for_write("c", &SqlValue::Int(1)),
        Ok(Int(1))
    );
    let missing: crate::error::Error = RouteError::MissingValue {
        table: "t".into(),
        column: "c".into(),
    }
    .into();
    assert_eq!(missing.code, 1364);
}

#[test]
fn schema_data_sources_default_first_then_appearance() {
    let config = ok(&file(
        r#"[schemas.s.tables.a]
nodes = ["ds_2.a", "ds_1.a"]
database_sharding = { column = "id", algorithm = "m" }
[schemas.s.algorithms]
m = { type = "mod" }"#,
    ));
    let s = &config.rules.schemas["s"];
    assert_eq!(s.data_sources, ["ds_0", "ds_2", "ds_1"]);
    assert_eq!(
        s.table("a").expect("sharded").data_sources,
        ["ds_2", "ds_1"]
    );
}

// ---- one test per check ----

const MOD: &str = "[schemas.s.algorithms]\nm = { type = \"mod\" }";

#[test]
fn unknown_data_source_in_nodes() {
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_${{0..9}}.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"),
        "schemas.s.tables.t.nodes: unknown data sources `ds_3`, `ds_4`, `ds_5`, `ds_6`, `ds_7`, `ds_8`, `ds_9` (first in `ds_3.t`); known: ds_0, ds_1, ds_2",
    );
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_${{[0,x]}}.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"),
        "schemas.s.tables.t.nodes: unknown data source `ds_x` in `ds_x.t`; known: ds_0, ds_1, ds_2",
    );
    // Each unknown data source once; list items by index.
    let p = problems(&format!(
        "[schemas.s.tables.t]\nnodes = [\"ds_0.t\", \"ds_9.t_${{0..3}}\"]\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"
    ));
    assert_eq!(p, ["schemas.s.tables.t.nodes[1]: unknown data source `ds_9` in `ds_9.t_0`; known: ds_0, ds_1, ds_2"]);
}

#[test]
fn unknown_default_data_source() {
    let text = file("").replace(
        "default_data_source = \"ds_0\"",
        "default_data_source = \"ds_x\"",
    );
    let p = parse(&text).expect_err("refused").problems;
    assert_eq!(
        p,
        ["schemas.s.default_data_source: unknown data source `ds_x`; known: ds_0, ds_1, ds_2"]
    );
}

#[test]
fn bad_names_in_nodes() {
    let sharding = format!("sharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}");
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = [\"ds_0.t-1\"]\n{sharding}"),
        "schemas.s.tables.t.nodes[0]: actual table `t-1` in `ds_0.t-1` must match [A-Za-z0-9_$]+",
    );
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = [\"ds_0\"]\n{sharding}"),
        "schemas.s.tables.t.nodes[0]: `ds_0` is not `data_source.actual_table`",
    );
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = [\"ds_0.t\", \"ds_0.t\"]\n{sharding}"),
        "schemas.s.tables.t.nodes[1]: data node `ds_0.t` is listed twice",
    );
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = []\n{sharding}"),
        "schemas.s.tables.t.nodes: no data nodes; give at least one `data_source.actual_table`",
    );
    ok(&file(&format!(
        "[schemas.s.tables.t]\nnodes = [\"ds_0.t$1\"]\n{sharding}"
    )));
}

#[test]
fn bad_inline_expressions_name_the_position() {
    let cases = [
        (
            "ds_${0..}.t",
            "at position 4: range `0..` has no end; write both ends, like `0..3`",
        ),
        (
            "ds_${0..1.t",
            "at position 4: unbalanced `${`: no closing `}`",
        ),
        (
            "ds_0.t_${3..1}",
            "at position 8: reversed range `3..1`; write `1..3`",
        ),
        (
            "ds_0.t_${[]}",
            "at position 8: empty list `[]`; give at least one value, like `${[a,b]}`",
        ),
    ];
    for (expression, message) in cases {
        one_problem(
            &format!("[schemas.s.tables.t]\nnodes = \"{expression}\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"),
            &format!("schemas.s.tables.t.nodes: bad inline expression `{expression}`: {message}"),
        );
    }
}

#[test]
fn exactly_one_strategy() {
    let nodes = "[schemas.s.tables.t]\nnodes = \"ds_${0..1}.t\"";
    let s = "sharding = { column = \"id\", algorithm = \"m\" }";
    let d = "database_sharding = { column = \"id\", algorithm = \"m\" }";
    let t = "table_sharding = { column = \"id\", algorithm = \"m\" }";
    let p = problems(&format!("{nodes}\n{s}\n{d}\n{MOD}"));
    assert_eq!(p, ["schemas.s.tables.t: give exactly one of `sharding` (one level over all nodes) or `database_sharding` (+ optional `table_sharding`), not both"]);
    let p = problems(&format!("{nodes}\n{MOD}"));
    assert!(
        p[0].starts_with("schemas.s.tables.t: no `sharding` or `database_sharding`; give one"),
        "{p:?}"
    );
    let p = problems(&format!("{nodes}\n{t}\n{MOD}"));
    assert!(
        p[0].starts_with("schemas.s.tables.t.table_sharding: needs `database_sharding`"),
        "{p:?}"
    );
    let p = problems(&format!("{nodes}\n{s}\n{t}\n{MOD}"));
    assert!(
        p[0].starts_with("schemas.s.tables.t.table_sharding: only goes with `database_sharding`"),
        "{p:?}"
    );
    ok(&file(&format!("{nodes}\n{d}\n{MOD}")));
}

#[test]
fn without_table_sharding_one_node_per_data_source() {
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_${{0..1}}.t_${{0..1}}\"\ndatabase_sharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"),
        "schemas.s.tables.t.database_sharding: without `table_sharding` every data source must hold exactly one node of the table, but `ds_0` holds 2 (t_0, t_1), `ds_1` holds 2 (t_0, t_1); add `table_sharding` or list one node per data source",
    );
}

#[test]
fn algorithm_must_be_defined() {
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"id\", algorithm = \"mm\" }}\n{MOD}"),
        "schemas.s.tables.t.sharding.algorithm: unknown algorithm `mm`; define it in schemas.s.algorithms (defined: m)",
    );
    one_problem(
        "[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = { column = \"id\", algorithm = \"m\" }",
        "schemas.s.tables.t.sharding.algorithm: unknown algorithm `m`; define it in schemas.s.algorithms (none are defined)",
    );
}

#[test]
fn algorithm_type_missing_or_unknown() {
    one_problem(
        "[schemas.s.algorithms]\nm = { virtual_nodes = 3 }",
        "schemas.s.algorithms.m.type: missing; give one of mod, hash_mod, range, consistent_hash",
    );
    one_problem(
        "[schemas.s.algorithms]\nm = { type = \"hash\" }",
        "schemas.s.algorithms.m.type: unknown algorithm type `hash`; known: mod, hash_mod, range, consistent_hash",
    );
}

#[test]
fn algorithm_properties_are_checked() {
    one_problem(
        "[schemas.s.algorithms]\nm = { type = \"mod\", boundaries = [1] }",
        "schemas.s.algorithms.m.boundaries: unknown property for type `mod`; `mod` takes no properties",
    );
    one_problem(
        "[schemas.s.algorithms]\nm = { type = \"hash_mod\", n = 4 }",
        "schemas.s.algorithms.m.n: unknown property for type `hash_mod`; `hash_mod` takes no properties",
    );
    one_problem(
        "[schemas.s.algorithms]\nm = { type = \"range\", boundaries = [5, 1] }",
        "schemas.s.algorithms.m.boundaries: must be strictly ascending, but 1 comes after 5",
    );
    one_problem(
        "[schemas.s.algorithms]\nm = { type = \"range\" }",
        "schemas.s.algorithms.m.boundaries: missing; `range` needs a list of integers",
    );
    one_problem(
        "[schemas.s.algorithms]\nm = { type = \"consistent_hash\", virtual_nodes = 0 }",
        "schemas.s.algorithms.m.virtual_nodes: 0 is out of range; give 1..=10000 (default 160)",
    );
    one_problem(
        "[schemas.s.algorithms]\nm = { type = \"consistent_hash\", virtual_nodes = \"many\" }",
        "schemas.s.algorithms.m.virtual_nodes: must be an integer, found the string \"many\"",
    );
}

#[test]
fn range_boundaries_must_fit_every_level() {
    let algorithms = "[schemas.s.algorithms]\nr = { type = \"range\", boundaries = [100] }\nm = { type = \"mod\" }";
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_${{0..2}}.t\"\nsharding = {{ column = \"id\", algorithm = \"r\" }}\n{algorithms}"),
        "schemas.s.tables.t.sharding.algorithm: `r`: `range` has 1 boundaries, but this level has 3 candidates (ds_0.t, ds_1.t, ds_2.t); it needs 2 boundaries",
    );
    // Table level: checked against each data source's tables.
    let p = problems(&format!(
        "[schemas.s.tables.t]\nnodes = [\"ds_0.t_0\", \"ds_0.t_1\", \"ds_1.t_0\"]\ndatabase_sharding = {{ column = \"id\", algorithm = \"m\" }}\ntable_sharding = {{ column = \"id\", algorithm = \"r\" }}\n{algorithms}"
    ));
    assert_eq!(p, ["schemas.s.tables.t.table_sharding.algorithm: `r` in data source `ds_1`: `range` has 1 boundaries, but this level has 1 candidates (t_0); it needs 0 boundaries"]);
    ok(&file(&format!(
        "[schemas.s.tables.t]\nnodes = \"ds_${{0..1}}.t_${{0..1}}\"\ndatabase_sharding = {{ column = \"id\", algorithm = \"r\" }}\ntable_sharding = {{ column = \"id\", algorithm = \"r\" }}\n{algorithms}"
    )));
}

#[test]
fn key_generator_type() {
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\nkey_generator = {{ column = \"id\", type = \"serial\" }}\n{MOD}"),
        "schemas.s.tables.t.key_generator.type: unknown key generator `serial`; give one of snowflake, uuid",
    );
}

#[test]
fn column_and_table_names() {
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"user id\", algorithm = \"m\" }}\n{MOD}"),
        "schemas.s.tables.t.sharding.column: column name `user id` must match [A-Za-z0-9_]+",
    );
    let p = problems(&format!(
        "[schemas.s.tables.\"t x\"]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"
    ));
    assert_eq!(
        p,
        ["schemas.s.tables.t x: table name `t x` must match [A-Za-z0-9_$]+"]
    );
    let p = problems(&format!(
        "[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n[schemas.s.tables.T]\nnodes = \"ds_1.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"
    ));
    assert!(p[0].contains("(table names are case-insensitive)"), "{p:?}");
}

#[test]
fn schema_name_must_be_an_identifier() {
    let text = file("")
        .replace("[schemas.s]", "[schemas.\"my-shop\"]")
        .replace("schemas = [\"s\"]", "schemas = []");
    let p = parse(&text).expect_err("refused").problems;
    assert_eq!(
        p,
        ["schemas.my-shop: schema name `my-shop` must match [A-Za-z0-9_]+"]
    );
}

#[test]
fn broadcast_table_that_is_also_sharded() {
    one_problem(
        &format!("broadcast_tables = [\"T\"]\n[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\n{MOD}"),
        "schemas.s.broadcast_tables[0]: `T` is also a sharded table (schemas.s.tables.t); a table is either broadcast or sharded",
    );
    one_problem(
        "broadcast_tables = [\"d\", \"D\"]",
        "schemas.s.broadcast_tables[1]: `D` is listed twice",
    );
}

/// Tables `a`, `b` (and `c`) for binding group tests.
fn bound_tables(b_nodes: &str, b_table_sharding: &str, groups: &str) -> String {
    format!(
        r#"binding_groups = {groups}
[schemas.s.tables.a]
nodes = "ds_${{0..1}}.a_${{0..1}}"
database_sharding = {{ column = "uid", algorithm = "m" }}
table_sharding = {{ column = "oid", algorithm = "m" }}
[schemas.s.tables.b]
nodes = "{b_nodes}"
database_sharding = {{ column = "uid", algorithm = "m" }}
table_sharding = {b_table_sharding}
[schemas.s.tables.c]
nodes = "ds_${{0..1}}.c"
database_sharding = {{ column = "uid", algorithm = "m" }}
[schemas.s.algorithms]
m = {{ type = "mod" }}
h = {{ type = "hash_mod" }}
ring = {{ type = "consistent_hash" }}"#
    )
}

const SAME: &str = r#"{ column = "oid", algorithm = "m" }"#;

#[test]
fn binding_groups_accept_alike_tables() {
    let config = ok(&file(&bound_tables(
        "ds_${0..1}.b_${0..1}",
        SAME,
        "[[\"a\", \"B\"]]",
    )));
    let s = &config.rules.schemas["s"];
    assert_eq!(s.binding_groups, [vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(s.table("a").and_then(|t| t.binding_group), Some(0));
    assert_eq!(s.table("c").and_then(|t| t.binding_group), None);
}

#[test]
fn binding_group_members_must_be_sharded_tables() {
    let p = problems(&bound_tables(
        "ds_${0..1}.b_${0..1}",
        SAME,
        "[[\"a\", \"t_dict\"]]",
    ));
    assert_eq!(p, ["schemas.s.binding_groups[0]: `t_dict` is not a sharded table of this schema; sharded tables: a, b, c"]);
}

#[test]
fn binding_group_member_that_failed_to_build_is_not_reported_twice() {
    let text = bound_tables(
        "ds_${0..1}.b_${0..1}",
        r#"{ column = "oid", algorithm = "nope" }"#,
        "[[\"a\", \"b\"]]",
    );
    let p = problems(&text);
    assert_eq!(p, ["schemas.s.tables.b.table_sharding.algorithm: unknown algorithm `nope`; define it in schemas.s.algorithms (defined: h, m, ring)"]);
}

#[test]
fn binding_group_layout() {
    let p = problems(&bound_tables(
        "ds_${0..1}.b_${0..2}",
        SAME,
        "[[\"a\", \"b\"]]",
    ));
    assert_eq!(p, ["schemas.s.binding_groups[0]: `b` has nodes in ds_0×3, ds_1×3 but `a` in ds_0×2, ds_1×2; tables of a binding group need the same data sources with the same number of nodes each, in the same node order"]);
}

#[test]
fn binding_group_algorithms_and_columns() {
    let p = problems(&bound_tables(
        "ds_${0..1}.b_${0..1}",
        r#"{ column = "oid", algorithm = "h" }"#,
        "[[\"a\", \"b\"]]",
    ));
    assert_eq!(p, ["schemas.s.binding_groups[0]: `b` is sharded by database: uid m(mod); table: oid h(hash_mod) but `a` by database: uid m(mod); table: oid m(mod); tables of a binding group need the same algorithms and sharding column names"]);
    let p = problems(&bound_tables(
        "ds_${0..1}.b_${0..1}",
        r#"{ column = "bid", algorithm = "m" }"#,
        "[[\"a\", \"b\"]]",
    ));
    assert!(p[0].contains("table: bid m(mod) but `a` by"), "{p:?}");
}

#[test]
fn binding_group_with_a_ring_over_table_names() {
    let text = bound_tables(
        "ds_${0..1}.b_${0..1}",
        r#"{ column = "oid", algorithm = "ring" }"#,
        "[[\"a\", \"b\"]]",
    )
    .replace(
        r#"table_sharding = { column = "oid", algorithm = "m" }"#,
        r#"table_sharding = { column = "oid", algorithm = "ring" }"#,
    );
    let p = problems(&text);
    assert_eq!(p, ["schemas.s.binding_groups[0]: `ring` (consistent_hash) places by candidate name and the candidates of `a` and `b` differ (`a_0` vs `b_0`), so equal values would land on different nodes; use it only at database_sharding level in a binding group, or use mod / hash_mod / range"]);
}

#[test]
fn table_in_two_binding_groups() {
    let p = problems(&bound_tables(
        "ds_${0..1}.b_${0..1}",
        SAME,
        "[[\"a\", \"b\"], [\"b\", \"a\"]]",
    ));
    assert_eq!(p[0], "schemas.s.binding_groups[1]: `b` is already in binding_groups[0]; a table can be in one binding group only (merge the groups)");
    assert_eq!(p.len(), 2);
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = problems(
        r#"broadcast_tables = ["t"]
[schemas.s.tables.t]
nodes = "ds_9.t"
sharding = { column = "id", algorithm = "nope" }
[schemas.s.tables.u]
nodes = "ds_${1..0}.u"
[schemas.s.algorithms]
r = { type = "range", boundaries = [2, 1], extra = true }"#,
    );
    assert_eq!(p.len(), 7, "{p:#?}");
}
