//! The rules model of the complete example and others: the model's shape,
//! routing, and value conversion through a table's algorithms.

use super::algorithm::ShardingAlgorithm;
use super::test_support::{file, ok, SHOP};
use super::*;
use std::ops::Bound::{Excluded, Included, Unbounded};
use ShardingValue::{Int, Str};

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

#[test]
fn table_names_are_matched_in_any_case_and_length() {
    let shop = shop();
    for word in ["t_order", "T_ORDER", "`t_order`", "t_dict", "T_Dict"] {
        let word = word.trim_matches('`');
        assert!(shop.names_routed(word), "{word}");
    }
    let long = "t".repeat(70);
    for word in ["t_orde", "t_orderx", "SELECT", "", "t_ördér", long.as_str()] {
        assert!(!shop.names_routed(word), "{word}");
        assert!(shop.table(word).is_none(), "{word}");
    }
}

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
            kind: crate::keygen::KeyGeneratorKind::Snowflake,
            segment: None,
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
