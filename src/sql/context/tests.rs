use super::*;
use crate::config::{parse, Config};
use crate::sql::parse as parse_sql;
use crate::sql::tables::RefKind;
use std::sync::OnceLock;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        parse(include_str!("../../../tests/golden/rules/shop.toml")).expect("rules load")
    })
}

fn context(sql: &str) -> Result<StatementContext<'static>, Error> {
    let statement = parse_sql(sql).expect("parses").remove(0);
    let shape = Shape::of(&statement);
    let Statement::Query(query) = statement else {
        panic!("not a query")
    };
    let bindings = Bindings::default();
    let kinds = |_: &str, _: &str| ColumnKind::Unknown;
    let env = Env {
        schema: &config().rules.schemas["shop"],
        column_kind: &kinds,
        bindings: &bindings,
        shape: Shape::UNKNOWN,
    };
    let visited = StatementContext::of_query(env, &query);
    if shape.flat {
        // A flat statement's context is the same without the visit.
        let direct = StatementContext::of_query(Env { shape, ..env }, &query);
        assert_eq!(format!("{direct:?}"), format!("{visited:?}"), "{sql}");
    }
    visited
}

#[test]
fn shapes() {
    let flat = |sql: &str| Shape::of(&parse_sql(sql).expect("parses").remove(0)).flat;
    assert!(flat("SELECT c FROM t_order WHERE user_id = ?"));
    assert!(flat(
        "SELECT * FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id"
    ));
    assert!(flat("UPDATE t_order SET status = 'x' WHERE user_id = 3"));
    assert!(flat("INSERT INTO t_order (user_id) VALUES (1), (2)"));
    assert!(!flat("SELECT c FROM t_order WHERE user_id IN (1, 2)"));
    assert!(!flat("SELECT c FROM t_order WHERE user_id NOT IN (1, 2)"));
    assert!(!flat("SELECT (SELECT 1) FROM t_order"));
    assert!(!flat("SELECT * FROM (SELECT * FROM t_order) d"));
    assert!(!flat("WITH w AS (SELECT 1) SELECT * FROM t_order"));
    assert!(!flat("SELECT 1 FROM t_order UNION SELECT 2 FROM t_order"));
    assert!(!flat(
        "UPDATE t_order SET status = 'x' WHERE user_id IN (SELECT 1)"
    ));
    assert!(!flat("DELETE FROM t_order WHERE EXISTS (SELECT 1)"));
    assert!(!flat("INSERT INTO t_order (user_id) SELECT 1"));
}

fn ok(sql: &str) -> StatementContext<'static> {
    context(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// (table, alias, block) of each reference.
fn refs(c: &StatementContext<'_>) -> Vec<(String, Option<String>, usize)> {
    c.refs
        .iter()
        .map(|r| (r.table.clone(), r.alias.clone(), r.block))
        .collect()
}

#[test]
fn references_and_blocks() {
    let c = ok(
        "SELECT * FROM t_order o JOIN T_DICT ON o.status = t_dict.code \
                WHERE EXISTS (SELECT 1 FROM t_order_item i WHERE i.order_id = o.order_id)",
    );
    assert_eq!(
        refs(&c),
        [
            ("t_order".into(), Some("o".into()), 0),
            ("t_dict".into(), None, 0),
            ("t_order_item".into(), Some("i".into()), 1),
        ]
    );
    assert_eq!(c.blocks.len(), 2);
    assert_eq!(c.blocks[0].kind, BlockKind::Top);
    assert_eq!(c.blocks[1].kind, BlockKind::Subquery);
    assert_eq!(c.blocks[1].parent, Some(0));
    assert!(matches!(c.refs[1].kind, RefKind::Broadcast));
    // i.order_id = o.order_id links order_id (column 1) across blocks.
    assert_eq!(c.blocks[1].links, [((2, 1), (0, 1))]);
}

#[test]
fn derived_tables_ctes_and_unions() {
    let c = ok("WITH w AS (SELECT * FROM t_order) \
                SELECT * FROM w JOIN (SELECT * FROM t_order_item) x ON w.order_id = x.order_id \
                UNION ALL (SELECT * FROM t_order)");
    let kinds: Vec<BlockKind> = c.blocks.iter().map(|b| b.kind).collect();
    assert!(kinds.contains(&BlockKind::Derived));
    let tops = kinds.iter().filter(|k| **k == BlockKind::Top).count();
    assert_eq!(tops, 2, "{kinds:?}");
    let derived = c.refs.iter().filter(|r| matches!(r.kind, RefKind::Derived));
    assert_eq!(derived.count(), 2, "w and x");
}

#[test]
fn inner_join_on_conditions_count_outer_ones_do_not() {
    let c = ok(
        "SELECT * FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id AND i.user_id = 3",
    );
    assert_eq!(c.blocks[0].conditions.any_of[0].len(), 1);
    let c = ok("SELECT * FROM t_order o LEFT JOIN t_order_item i ON o.order_id = i.order_id AND i.user_id = 3");
    assert_eq!(c.blocks[0].conditions, ShardingConditions::unconstrained());
    assert_eq!(c.blocks[0].outer_joins, [(vec![0], vec![1])]);
    let c = ok("SELECT * FROM t_dict d RIGHT JOIN t_order o ON o.status = d.code");
    assert_eq!(c.blocks[0].outer_joins, [(vec![1], vec![0])]);
}

#[test]
fn using_and_natural_link_shared_sharding_columns() {
    let c = ok("SELECT * FROM t_order JOIN t_order_item USING (order_id)");
    assert_eq!(c.blocks[0].links, [((0, 1), (1, 1))]);
    let c = ok("SELECT * FROM t_order NATURAL JOIN t_order_item");
    assert_eq!(c.blocks[0].links, [((0, 0), (1, 0)), ((0, 1), (1, 1))]);
}

#[test]
fn unqualified_columns_name_their_own_block_only() {
    let c = ok("SELECT * FROM t_order o WHERE EXISTS (SELECT 1 FROM t_dict WHERE user_id = 5)");
    assert_eq!(c.blocks[1].conditions, ShardingConditions::unconstrained());
    assert_eq!(c.blocks[0].conditions, ShardingConditions::unconstrained());
    let c = ok("SELECT * FROM t_order o WHERE EXISTS (SELECT 1 FROM t_dict WHERE o.user_id = 5)");
    assert_eq!(c.blocks[1].conditions, ShardingConditions::unconstrained());
}

#[test]
fn semijoin_links_the_subquery() {
    let c = ok("SELECT * FROM t_order WHERE order_id IN (SELECT order_id FROM t_order_item)");
    assert_eq!(c.blocks[1].links, [((1, 1), (0, 1))]);
    let c = ok("SELECT * FROM t_order WHERE order_id IN (SELECT user_id FROM t_order_item)");
    assert!(c.blocks[1].links.is_empty());
    let c = ok("SELECT * FROM t_order WHERE order_id NOT IN (SELECT order_id FROM t_order_item)");
    assert!(c.blocks[1].links.is_empty());
}

#[test]
fn in_lists_are_recorded_with_exact_items() {
    let c = ok("SELECT * FROM t_order WHERE user_id IN (1, 'x', NULL, 2.5)");
    assert_eq!(c.in_lists.len(), 1);
    let items = &c.in_lists[0].items;
    assert_eq!(items[0], Some(crate::rules::ShardingValue::Int(1)));
    assert_eq!(items[1..], [None, None, None]);
}

#[test]
fn refused_references() {
    let refused = |sql: &str| context(sql).expect_err(sql).code;
    assert_eq!(refused("SELECT * FROM other.t_order"), 1235);
    assert_eq!(
        refused("WITH t_dict AS (SELECT 1) SELECT * FROM t_dict"),
        1235
    );
    assert_eq!(refused("SELECT * FROM t_order, LATERAL (SELECT 1) x"), 1235);
}
