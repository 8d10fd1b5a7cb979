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
