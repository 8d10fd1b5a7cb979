use crate::sql::parse;

/// `sql` parses and renders as `rendered`.
fn renders(sql: &str, rendered: &str) {
    let statements = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(statements[0].to_string(), rendered, "{sql}");
}

#[test]
fn mod_is_the_modulo_operator() {
    renders("SELECT a MOD 7 FROM t", "SELECT a MOD 7 FROM t");
    renders(
        "SELECT * FROM t WHERE a mod 3 = 1 AND b MOD 2 * 4 > 0",
        "SELECT * FROM t WHERE a mod 3 = 1 AND b MOD 2 * 4 > 0",
    );
    // MOD binds like `%`: tighter than `+`, left to right with `*`.
    let statements = parse("SELECT 1 + a MOD 3 * 2").unwrap();
    let sqlparser::ast::Statement::Query(q) = &statements[0] else {
        panic!("a query")
    };
    let sqlparser::ast::SetExpr::Select(s) = q.body.as_ref() else {
        panic!("a select")
    };
    let sqlparser::ast::SelectItem::UnnamedExpr(e) = &s.projection[0] else {
        panic!("an item")
    };
    // 1 + ((a MOD 3) * 2)
    let sqlparser::ast::Expr::BinaryOp { right, .. } = e else {
        panic!("+")
    };
    let sqlparser::ast::Expr::BinaryOp { left, op, .. } = right.as_ref() else {
        panic!("*")
    };
    assert_eq!(op.to_string(), "*");
    assert!(
        matches!(left.as_ref(), sqlparser::ast::Expr::BinaryOp { op, .. } if super::is_mod(op))
    );
    renders("SELECT MOD(a, 3) FROM t", "SELECT MOD(a, 3) FROM t");
}

#[test]
fn other_mysql_operators_still_parse() {
    renders(
        "SELECT a DIV 2, a <=> b, a XOR b FROM t WHERE a REGEXP 'x' AND a NOT RLIKE 'y'",
        "SELECT a DIV 2, a <=> b, a XOR b FROM t WHERE a REGEXP 'x' AND a NOT RLIKE 'y'",
    );
    renders("SELECT 'a''b', 'c\\'d'", "SELECT 'a''b', 'c\\'d'");
}

#[test]
fn keywords_of_other_dialects_are_aliases() {
    renders(
        "SELECT top.a FROM (SELECT 1 AS a) top",
        "SELECT `top`.a FROM (SELECT 1 AS a) `top`",
    );
    renders(
        "SELECT sample.a FROM t sample WHERE 1",
        "SELECT sample.a FROM t sample WHERE 1",
    );
    renders("SELECT a top FROM t", "SELECT a AS `top` FROM t");
    renders("SELECT 'top' FROM t -- top", "SELECT 'top' FROM t");
    // Words that end a table factor in MySQL still do.
    renders(
        "SELECT * FROM t WHERE a = 1 LIMIT 1",
        "SELECT * FROM t WHERE a = 1 LIMIT 1",
    );
    renders("SELECT * FROM t FOR UPDATE", "SELECT * FROM t FOR UPDATE");
}

/// The literal shortcut gives the AST sqlparser's own MySQL dialect gives,
/// wherever a literal starts an expression.
#[test]
fn literals_parse_as_in_the_mysql_dialect() {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::{Parser, ParserOptions};
    let cases = [
        "SELECT 1, -5, 1.5e3, .5, 'a', \"b\", N'x', X'0F', 0x1F, b'101', ?",
        "SELECT 'a' 'b', 'a' COLLATE utf8mb4_bin, 'x' LIKE 'y%', 1 + 2 * 3 - ? / 4",
        "SELECT DATE '2020-01-01', TIMESTAMP '2020-01-01 00:00:00', INTERVAL '1' DAY",
        "SELECT _utf8mb4'x', _binary'y', CAST('1' AS SIGNED), 'a' = ? AND 2 IN (1, 2)",
        "INSERT INTO t (a, b, c) VALUES (1, 'x', NULL), (?, ?, DEFAULT), (-1.25, 'y''z', 0x0A)",
        "UPDATE t SET a = 'q', b = b + 1 WHERE id BETWEEN 3 AND ? LIMIT 10",
        "SELECT * FROM t WHERE a = 'x' ORDER BY 1 DESC LIMIT 5, 10",
        "SELECT CASE 1 WHEN 1 THEN 'one' ELSE 'other' END, (1), ('s'), 'a' NOT REGEXP 'b'",
        "SELECT a, b + c, t.d, `e`, f(g), _utf8mb4 'x', h AS i, j k FROM t WHERE l = 1 AND m",
        "SELECT SUM(a) s, COUNT(*) FROM t GROUP BY b, c HAVING s > 1 ORDER BY d DESC, e",
        "SELECT a<=>b, a<b, a>b, a<=b, a>=b, a!=b, a<>b, a*b, a/b, a-b, a DIV b, a % b",
        "UPDATE t SET a = b, c = d * 2 WHERE e IN (f, g) AND h IS NULL AND i LIKE j",
        "SELECT x FROM t JOIN u ON t.id = u.id WHERE y BETWEEN z AND w; SELECT q",
    ];
    for sql in cases {
        let ours = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let theirs = Parser::new(&MySqlDialect {})
            .with_options(ParserOptions::new().with_unescape(false))
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statements())
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(ours, theirs, "{sql}");
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{sql}");
    }
}
