use super::*;
use crate::sql::parse;
use sqlparser::ast::{SelectItem, SetExpr, Statement};

/// The first projected expression of `SELECT <expr>`.
fn expr(text: &str) -> Expr {
    let statement = parse(&format!("SELECT {text}")).expect("parses").remove(0);
    let Statement::Query(query) = statement else {
        panic!("not a query")
    };
    let SetExpr::Select(select) = *query.body else {
        panic!("not a select")
    };
    match select.projection.into_iter().next() {
        Some(SelectItem::UnnamedExpr(e)) => e,
        other => panic!("{other:?}"),
    }
}

fn value(text: &str, integer: bool) -> Operand {
    operand(&expr(text), &Bindings::default(), integer)
}

fn str_value(bytes: &[u8]) -> Operand {
    Operand::Value(SqlValue::Str(bytes.to_vec()))
}

#[test]
fn numbers() {
    assert_eq!(value("42", true), Operand::Value(SqlValue::Int(42)));
    assert_eq!(value("-7", true), Operand::Value(SqlValue::Int(-7)));
    assert_eq!(value("+7", true), Operand::Value(SqlValue::Int(7)));
    assert_eq!(
        value("18446744073709551615", true),
        Operand::Value(SqlValue::UInt(u64::MAX))
    );
    assert_eq!(
        value("42.50", true),
        Operand::Value(SqlValue::Decimal("42.50".into()))
    );
    assert_eq!(value("1e3", true), Operand::Value(SqlValue::Float(1000.0)));
    assert_eq!(
        value("-9223372036854775808", true),
        Operand::Value(SqlValue::Int(i64::MIN))
    );
    assert_eq!(value("TRUE", true), Operand::Value(SqlValue::Int(1)));
    assert_eq!(value("NULL", true), Operand::Value(SqlValue::Null));
}

#[test]
fn strings_are_unescaped() {
    assert_eq!(value("'abc'", false), str_value(b"abc"));
    assert_eq!(value(r"'it''s'", false), str_value(b"it's"));
    assert_eq!(value(r"'it\'s'", false), str_value(b"it's"));
    assert_eq!(value(r#""say \"hi\"""#, false), str_value(b"say \"hi\""));
    assert_eq!(value(r"'a\nb\tc\0'", false), str_value(b"a\nb\tc\0"));
    assert_eq!(value(r"'C:\\path'", false), str_value(br"C:\path"));
    assert_eq!(value(r"'50\%'", false), str_value(br"50\%"));
    assert_eq!(value("'张三'", false), str_value("张三".as_bytes()));
    assert_eq!(value(r"'\张'", false), str_value("张".as_bytes()));
    assert_eq!(value("N'x'", false), str_value(b"x"));
}

#[test]
fn hex_depends_on_the_column() {
    assert_eq!(value("0x2A", true), Operand::Value(SqlValue::UInt(42)));
    assert_eq!(value("X'2a'", false), str_value(b"*"));
    assert_eq!(
        value("X'0102030405060708090A'", true),
        Operand::Value(SqlValue::Decimal("X'0102030405060708090A'".into()))
    );
}

#[test]
fn introduced_strings_are_their_bytes() {
    assert_eq!(value("_binary'ab'", true), str_value(b"ab"));
    assert_eq!(value("_utf8mb4'ab'", true), str_value(b"ab"));
    assert_eq!(value("_binary X'6162'", true), str_value(b"ab"));
}

#[test]
fn other_expressions() {
    assert_eq!(value("a", true), Operand::Expression);
    assert_eq!(value("1 + 1", true), Operand::Expression);
    assert_eq!(value("ABS(-1)", true), Operand::Expression);
    assert_eq!(value("(5)", true), Operand::Value(SqlValue::Int(5)));
    assert_eq!(value("?", true), Operand::Unbound);
}

#[test]
fn bound_placeholders() {
    let statement = parse("SELECT ?").expect("parses").remove(0);
    let params = [Param::Bytes(b"042".to_vec())];
    let bindings = Bindings::new(&statement, &params).expect("binds");
    let Statement::Query(query) = &statement else {
        panic!()
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        panic!()
    };
    let SelectItem::UnnamedExpr(e) = &select.projection[0] else {
        panic!()
    };
    assert_eq!(operand(e, &bindings, true), str_value(b"042"));
}

#[test]
fn params_as_values() {
    assert_eq!(from_param(&Param::NULL), SqlValue::Null);
    assert_eq!(from_param(&Param::Int(-3)), SqlValue::Int(-3));
    assert_eq!(from_param(&Param::UInt(3)), SqlValue::UInt(3));
    assert_eq!(from_param(&Param::Double(2.5)), SqlValue::Float(2.5));
    assert_eq!(from_param(&Param::Float(2.5)), SqlValue::Float(2.5));
    assert_eq!(
        from_param(&Param::Bytes(b"x".to_vec())),
        SqlValue::Str(b"x".to_vec())
    );
    assert_eq!(
        from_param(&Param::Date(2024, 1, 2, 0, 0, 0, 0)),
        SqlValue::Str(b"2024-01-02".to_vec())
    );
}
