use super::*;
use crate::sql::parse;

/// `sql` with t_order → t_order_1 and t_order_item → t_order_item_1 (both
/// also as qualifiers), in schema `shop`.
fn renamed(sql: &str) -> String {
    let mut statement = parse(sql).expect("parses").remove(0);
    let tables = [
        ("t_order".to_string(), "t_order_1"),
        ("t_order_item".to_string(), "t_order_item_1"),
    ];
    let qualifiers = ["t_order".to_string(), "t_order_item".to_string()];
    Renamer {
        schema: "shop",
        tables: &tables,
        qualifiers: &qualifiers,
    }
    .apply(&mut statement);
    let out = statement.to_string();
    parse(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    out
}

#[test]
fn relations_everywhere() {
    assert_eq!(
        renamed("SELECT * FROM t_order JOIN t_order_item i ON t_order.a = i.a WHERE x IN (SELECT y FROM T_ORDER)"),
        "SELECT * FROM t_order_1 JOIN t_order_item_1 i ON t_order_1.a = i.a WHERE x IN (SELECT y FROM t_order_1)"
    );
}

#[test]
fn schema_qualifiers_are_dropped() {
    assert_eq!(
        renamed("SELECT shop.t_order.a, shop.t_dict.b FROM shop.t_order, shop.t_dict"),
        "SELECT t_order_1.a, t_dict.b FROM t_order_1, t_dict"
    );
    assert_eq!(
        renamed("SELECT other.t_order.a FROM other.t_order"),
        "SELECT other.t_order.a FROM other.t_order"
    );
}

#[test]
fn quoting_and_aliases_are_kept() {
    assert_eq!(
        renamed("SELECT `t_order`.`a`, o2.b FROM `t_order` JOIN t_order_item AS o2 ON 1 = 1"),
        "SELECT `t_order_1`.`a`, o2.b FROM `t_order_1` JOIN t_order_item_1 AS o2 ON 1 = 1"
    );
}

#[test]
fn wildcards_and_columns_named_like_tables() {
    assert_eq!(
        renamed("SELECT t_order.*, t_order FROM t_order"),
        "SELECT t_order_1.*, t_order FROM t_order_1"
    );
}

#[test]
fn ddl_the_relation_visit_skips() {
    assert_eq!(
        renamed("DROP TABLE t_order, shop.t_order_item"),
        "DROP TABLE t_order_1, t_order_item_1"
    );
    assert_eq!(
        renamed("DROP INDEX i ON t_order"),
        "DROP INDEX i ON t_order_1"
    );
    assert_eq!(
        renamed("TRUNCATE TABLE t_order"),
        "TRUNCATE TABLE t_order_1"
    );
    assert_eq!(
        renamed("CREATE INDEX i ON t_order (a)"),
        "CREATE INDEX i ON t_order_1(a)"
    );
    assert_eq!(
        renamed("ALTER TABLE t_order ADD COLUMN c INT"),
        "ALTER TABLE t_order_1 ADD COLUMN c INT"
    );
}

#[test]
fn write_targets() {
    assert_eq!(
        renamed("DELETE t_order FROM t_order JOIN t_order_item USING (a)"),
        "DELETE t_order_1 FROM t_order_1 JOIN t_order_item_1 USING(a)"
    );
    assert_eq!(
        renamed("UPDATE t_order SET t_order.a = 1, b = t_order.c"),
        "UPDATE t_order_1 SET t_order_1.a = 1, b = t_order_1.c"
    );
    assert_eq!(
        renamed("INSERT INTO shop.t_order (a) VALUES (1) ON DUPLICATE KEY UPDATE t_order.a = 2"),
        "INSERT INTO t_order_1 (a) VALUES (1) ON DUPLICATE KEY UPDATE t_order_1.a = 2"
    );
}

/// As [`renamed`], with no qualifier renamed: every unaliased table gets its
/// logical name as alias.
fn aliased(sql: &str) -> String {
    let mut statement = parse(sql).expect("parses").remove(0);
    let tables = [
        ("t_order".to_string(), "t_order_1"),
        ("t_order_item".to_string(), "t_order_item_1"),
        ("t_user".to_string(), "t_user"),
    ];
    Renamer {
        schema: "shop",
        tables: &tables,
        qualifiers: &[],
    }
    .apply(&mut statement);
    let out = statement.to_string();
    parse(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    out
}

#[test]
fn unaliased_tables_get_their_logical_name_as_alias() {
    assert_eq!(
        aliased("SELECT t_order.a, i.b FROM t_order JOIN t_order_item i ON t_order.a = i.a WHERE x IN (SELECT y FROM shop.t_order_item)"),
        "SELECT t_order.a, i.b FROM t_order_1 AS t_order JOIN t_order_item_1 i ON t_order.a = i.a WHERE x IN (SELECT y FROM t_order_item_1 AS t_order_item)"
    );
    assert_eq!(
        aliased("SELECT `t_order`.a, shop.t_order.b, t_order.* FROM `t_order`"),
        "SELECT `t_order`.a, t_order.b, t_order.* FROM `t_order_1` AS `t_order`"
    );
    assert_eq!(
        aliased("SELECT * FROM t_user, other.t_order"),
        "SELECT * FROM t_user, other.t_order"
    );
    assert_eq!(
        aliased("DELETE t_order FROM t_order JOIN t_order_item USING (a)"),
        "DELETE t_order FROM t_order_1 AS t_order JOIN t_order_item_1 AS t_order_item USING(a)"
    );
}

#[test]
fn tables_where_no_alias_is_allowed() {
    let fixed = |sql: &str| unaliasable(&parse(sql).expect("parses").remove(0));
    let t_order = Some(vec!["t_order".to_string()]);
    assert_eq!(fixed("SELECT * FROM t_order"), Some(Vec::new()));
    assert_eq!(
        fixed("INSERT INTO shop.T_ORDER (a) SELECT a FROM t_order_item"),
        t_order
    );
    assert_eq!(fixed("UPDATE t_order SET a = 1"), t_order);
    assert_eq!(
        fixed("UPDATE t_order JOIN t_order_item USING (a) SET b = 1"),
        Some(Vec::new())
    );
    assert_eq!(fixed("DELETE FROM t_order WHERE a = 1"), t_order);
    assert_eq!(
        fixed("DELETE t_order FROM t_order WHERE a = 1"),
        Some(Vec::new())
    );
    assert_eq!(fixed("ALTER TABLE t_order ADD COLUMN c INT"), None);
}
