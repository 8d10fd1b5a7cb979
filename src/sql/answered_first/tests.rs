use super::*;

fn sharded(name: &str) -> bool {
    ["t_order", "t_order_item"].contains(&name.to_ascii_lowercase().as_str())
}

fn statement(sql: &str) -> Statement {
    crate::sql::parse(sql).expect("parses").remove(0)
}

fn texts(queries: &[Query]) -> Vec<String> {
    queries.iter().map(ToString::to_string).collect()
}

#[test]
fn the_outermost_derived_tables_on_sharded_tables_are_found_and_replaced() {
    let sql = "SELECT status, c FROM (SELECT status, COUNT(*) c FROM t_order GROUP BY status) x \
               JOIN (SELECT code FROM t_dict) d ON d.code = x.status \
               WHERE c > (SELECT 1 FROM (SELECT order_id FROM t_order_item) y LIMIT 1)";
    let mut statement = statement(sql);
    let found = derived_tables(&statement, &sharded).expect("found");
    assert_eq!(
        texts(&found),
        [
            "SELECT status, COUNT(*) AS c FROM t_order GROUP BY status",
            "SELECT order_id FROM t_order_item"
        ]
    );
    let answers = vec![
        crate::sql::parse("SELECT 'a' AS status, 2 AS c").expect("parses"),
        crate::sql::parse("SELECT 7 AS order_id").expect("parses"),
    ]
    .into_iter()
    .map(|mut s| match s.remove(0) {
        Statement::Query(q) => *q,
        _ => panic!("a query"),
    })
    .collect();
    replace_derived_tables(&mut statement, answers, &sharded).expect("replaced");
    assert_eq!(
        statement.to_string(),
        "SELECT status, c FROM (SELECT 'a' AS status, 2 AS c) x \
         JOIN (SELECT code FROM t_dict) d ON d.code = x.status \
         WHERE c > (SELECT 1 FROM (SELECT 7 AS order_id) y LIMIT 1)"
    );
}

#[test]
fn a_derived_table_outer_joined_with_a_sharded_table_is_refused() {
    let inner = statement("SELECT * FROM t_order o JOIN (SELECT user_id, COUNT(*) n FROM t_order_item GROUP BY user_id) i ON i.user_id = o.user_id");
    assert_eq!(derived_tables(&inner, &sharded).expect("taken").len(), 1);
    for outer in [
        "SELECT * FROM (SELECT user_id, COUNT(*) n FROM t_order_item GROUP BY user_id) i LEFT JOIN t_order o ON i.user_id = o.user_id",
        "SELECT * FROM t_dict d LEFT JOIN (t_order o JOIN (SELECT user_id FROM t_order_item GROUP BY user_id) i ON i.user_id = o.user_id) ON d.code = o.status",
    ] {
        let error = derived_tables(&statement(outer), &sharded).expect_err("refused");
        assert!(
            error.message.contains("outer-joined with sharded table 't_order'"),
            "{}",
            error.message
        );
    }
}

#[test]
fn union_branches_that_need_their_own_merge_are_found_and_replaced() {
    let sql = "SELECT status, COUNT(*) FROM t_order GROUP BY status \
               UNION ALL SELECT sku, 1 FROM t_order_item \
               UNION ALL (SELECT sku, qty FROM t_order_item ORDER BY qty DESC LIMIT 3) \
               UNION ALL SELECT code, COUNT(*) FROM t_dict GROUP BY code ORDER BY 2";
    let mut statement = statement(sql);
    let found = union_branches(&statement, &sharded);
    assert_eq!(
        texts(&found),
        [
            "SELECT status, COUNT(*) FROM t_order GROUP BY status",
            "SELECT sku, qty FROM t_order_item ORDER BY qty DESC LIMIT 3",
            "SELECT code, COUNT(*) FROM t_dict GROUP BY code"
        ]
    );
    let answer = |sql: &str| match crate::sql::parse(sql).expect("parses").remove(0) {
        Statement::Query(q) => *q,
        _ => panic!("a query"),
    };
    replace_union_branches(
        &mut statement,
        vec![
            answer("SELECT 'a', 1"),
            answer("SELECT 'b', 2"),
            answer("SELECT 'c', 3"),
        ],
        &sharded,
    )
    .expect("replaced");
    assert_eq!(
        statement.to_string(),
        "(SELECT 'a', 1) UNION ALL SELECT sku, 1 FROM t_order_item UNION ALL (SELECT 'b', 2) \
         UNION ALL (SELECT 'c', 3) ORDER BY 2"
    );
}

#[test]
fn nothing_is_taken_under_a_with_clause() {
    let sql = "WITH d AS (SELECT code FROM t_dict) SELECT status, COUNT(*) FROM t_order \
               WHERE status IN (SELECT code FROM d) GROUP BY status \
               UNION ALL SELECT n, 1 FROM (SELECT code AS n FROM d JOIN t_order_item ON sku = code GROUP BY code) x";
    let statement = statement(sql);
    assert!(union_branches(&statement, &sharded).is_empty());
    assert!(derived_tables(&statement, &sharded)
        .expect("no refusal")
        .is_empty());
}
