//! Binding group checks.

use crate::rules::test_support::{file, ok, problems};

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
