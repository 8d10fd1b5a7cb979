//! One test per check that building a schema makes (config.md).

use crate::config::parse;
use crate::rules::test_support::{file, ok, one_problem, problems, MOD};

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
        "schemas.s.tables.t.key_generator.type: unknown key generator `serial`; give one of snowflake, uuid, segment",
    );
}

#[test]
fn segment_key_generator_properties() {
    let table = |key: &str| {
        format!("[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\nkey_generator = {key}\n{MOD}")
    };
    one_problem(
        &table("{ column = \"id\", type = \"segment\" }"),
        "schemas.s.tables.t.key_generator.data_source: a `segment` key generator names the data source that holds its sequence table; known: ds_0, ds_1, ds_2",
    );
    one_problem(
        &table("{ column = \"id\", type = \"segment\", data_source = \"ds_9\" }"),
        "schemas.s.tables.t.key_generator.data_source: unknown data source `ds_9`; known: ds_0, ds_1, ds_2",
    );
    one_problem(
        &table("{ column = \"id\", type = \"segment\", data_source = \"ds_1\", step = 0 }"),
        "schemas.s.tables.t.key_generator.step: 0 is out of range; give 1..=2147483647 (ids per claimed segment)",
    );
    one_problem(
        &table("{ column = \"id\", type = \"segment\", data_source = \"ds_1\", start = -1 }"),
        "schemas.s.tables.t.key_generator.start: -1 is negative; give the first id, 0 or more",
    );
    one_problem(
        &table("{ column = \"id\", type = \"snowflake\", step = 10 }"),
        "schemas.s.tables.t.key_generator.step: only a `segment` key generator takes `step`, this one is `snowflake`",
    );
    let config = ok(&file(&table(
        "{ column = \"ID\", type = \"segment\", data_source = \"ds_1\", step = 50 }",
    )));
    let key = config.rules.schemas["s"].tables["t"]
        .key_generator
        .clone()
        .expect("key");
    assert_eq!(key.column, "id");
    assert_eq!(
        key.segment,
        Some(crate::keygen::SegmentSpec {
            sequence: "s.t".into(),
            data_source: "ds_1".into(),
            start: 1,
            step: 50,
        })
    );
}

#[test]
fn uuid_keys_cannot_feed_an_integer_algorithm() {
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_${{0..1}}.t\"\nsharding = {{ column = \"id\", algorithm = \"m\" }}\nkey_generator = {{ column = \"ID\", type = \"uuid\" }}\n{MOD}"),
        "schemas.s.tables.t.key_generator: `uuid` keys are text, but `id` is sharded by `m` (mod), which places integers only; use `snowflake`, or a hashing algorithm",
    );
    ok(&file(
        "[schemas.s.tables.t]\nnodes = \"ds_${0..1}.t\"\nsharding = { column = \"id\", algorithm = \"h\" }\nkey_generator = { column = \"id\", type = \"uuid\" }\n[schemas.s.algorithms]\nh = { type = \"hash_mod\" }",
    ));
}

#[test]
fn column_and_table_names() {
    one_problem(
        &format!("[schemas.s.tables.t]\nnodes = \"ds_0.t\"\nsharding = {{ column = \"user id\", algorithm = \"m\" }}\n{MOD}"),
        "schemas.s.tables.t.sharding.column: column name `user id` must match [A-Za-z0-9_$]+",
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
