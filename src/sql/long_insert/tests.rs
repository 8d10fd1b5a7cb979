use super::parse;
use crate::sql::parse_whole;
use proptest::prelude::*;

/// `rows` copies of `row` after `head`, then `tail`.
fn insert(head: &str, row: &str, rows: usize, tail: &str) -> String {
    let rows = vec![row; rows].join(", ");
    format!("{head} {rows}{tail}")
}

/// The shortcut gives exactly sqlparser's AST for the whole statement.
fn same_as_sqlparser(sql: &str) {
    let fast = parse(sql)
        .unwrap_or_else(|| panic!("no shortcut for {sql}"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let whole = parse_whole(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(fast, whole, "{sql}");
    assert_eq!(fast[0].to_string(), whole[0].to_string(), "{sql}");
}

#[test]
fn literal_rows_take_the_shortcut() {
    let head = "INSERT INTO t_order (user_id, status, amount) VALUES";
    for row in [
        "(1, 'new', 2.5)",
        "( -7 ,'it''s',-0.25 )",
        "(?, ?, ?)",
        "(NULL, null, 'a\\'b\\\\')",
        "(0012, 'héllo ✓', 10.000)",
        "(1,'',2)",
    ] {
        same_as_sqlparser(&insert(head, row, 20, ""));
    }
    same_as_sqlparser(&insert(
        "INSERT IGNORE INTO `t_order` (a, b) VALUE",
        "(1, 'x')",
        20,
        "",
    ));
    same_as_sqlparser(&insert(
        "REPLACE INTO t (a, b) VALUES",
        "(1, 'x')",
        17,
        " ON DUPLICATE KEY UPDATE b = VALUES(b)",
    ));
    same_as_sqlparser(&insert(
        "INSERT /* bulk */ INTO t (a, b) VALUES",
        "(1, 'x')",
        30,
        ";",
    ));
}

#[test]
fn anything_else_is_parsed_whole() {
    let head = "INSERT INTO t (a, b) VALUES";
    for row in [
        "(1, NOW())",
        "(1e3, 'x')",
        "(0x1F, 'x')",
        "(1, _utf8mb4'x')",
        "(1, 'a' 'b')",
        "(1, \"x\")",
        "(- 1, 'x')",
        "(1., 'x')",
        "(.5, 'x')",
        "(1, DEFAULT)",
        "(1, 'x' /* c */)",
        "ROW(1, 'x')",
        "(NULLX, 1)",
        "(1_0, 2)",
    ] {
        assert!(
            parse(&insert(head, row, 20, "")).is_none(),
            "shortcut taken for {row}"
        );
    }
    // Too few rows, or not an INSERT of VALUES.
    assert!(parse(&insert(head, "(1, 'x')", 3, "")).is_none());
    assert!(parse("INSERT INTO t (a) SELECT a FROM u").is_none());
    assert!(parse("UPDATE t SET a = 1").is_none());
    assert!(parse(&insert("INSERT INTO t SET a =", "1", 1, "")).is_none());
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        (any::<u32>(), 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        "[a-zA-Z0-9 ,()'\\\\é✓_%-]{0,12}".prop_map(|s| {
            // Quote as a client library would: backslash-escape \ and '.
            let escaped = s.replace('\\', "\\\\").replace('\'', "\\'");
            format!("'{escaped}'")
        }),
        "[a-z ]{0,6}".prop_map(|s| format!("'{}'", s.replace(' ', "''"))),
        Just("NULL".to_string()),
        Just("?".to_string()),
    ]
}

fn row() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(literal(), 1..5),
        prop_oneof![Just(","), Just(", "), Just(" , ")],
    )
        .prop_map(|(values, comma)| format!("({})", values.join(comma)))
}

proptest! {
    #[test]
    fn random_literal_rows_parse_as_sqlparser_parses_them(
        rows in prop::collection::vec(row(), 16..40),
        spaced in any::<bool>(),
    ) {
        let sep = if spaced { ",\n  " } else { "," };
        let sql = format!("INSERT INTO t (a, b, c, d) VALUES {}", rows.join(sep));
        let fast = parse(&sql).expect("shortcut").expect("parses");
        let whole = parse_whole(&sql).expect("parses");
        prop_assert_eq!(&fast, &whole);
        prop_assert_eq!(fast[0].to_string(), whole[0].to_string());
    }
}
