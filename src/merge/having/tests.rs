use super::*;
use crate::merge::eval::lenient_f64;
use crate::merge::spec::{ArithOp, CompareOp};
use mysql_common::constants::ColumnType;

fn bytes(text: &str) -> Value {
    Value::Bytes(text.as_bytes().to_vec())
}

fn columns() -> Vec<Column> {
    vec![
        Column::new(ColumnType::MYSQL_TYPE_LONGLONG),
        Column::new(ColumnType::MYSQL_TYPE_NEWDECIMAL).with_decimals(2),
        Column::new(ColumnType::MYSQL_TYPE_DOUBLE).with_decimals(31),
        Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_character_set(63),
    ]
}

fn col(i: usize) -> Expr {
    Expr::Column(i)
}

fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Int(i))
}

fn accepts(expr: Expr, row: &[Value]) -> bool {
    Having::new(&expr, &columns())
        .expect("bound")
        .accepts(row)
        .expect("evaluates")
}

#[test]
fn comparisons_follow_the_column_type() {
    let row = [bytes("10"), bytes("2.50"), bytes("0.5"), bytes("abc")];
    assert!(accepts(Expr::compare(CompareOp::Gt, col(0), int(9)), &row));
    assert!(accepts(
        Expr::compare(
            CompareOp::Eq,
            col(1),
            Expr::Literal(Literal::Decimal("2.5".into()))
        ),
        &row
    ));
    assert!(accepts(
        Expr::compare(CompareOp::Lt, col(2), Expr::Literal(Literal::Double(0.75))),
        &row
    ));
    assert!(accepts(
        Expr::compare(
            CompareOp::Ge,
            col(3),
            Expr::Literal(Literal::String("abb".into()))
        ),
        &row
    ));
    // A string against a number compares as doubles: "abc" is 0.
    assert!(accepts(Expr::compare(CompareOp::Eq, col(3), int(0)), &row));
}

#[test]
fn null_is_unknown_and_unknown_is_not_accepted() {
    let row = [Value::NULL, bytes("1.00"), Value::NULL, Value::NULL];
    let gt = Expr::compare(CompareOp::Gt, col(0), int(0));
    assert!(!accepts(gt.clone(), &row));
    assert!(!accepts(Expr::Not(Box::new(gt.clone())), &row));
    assert!(accepts(Expr::IsNull(Box::new(col(0))), &row));
    assert!(accepts(
        Expr::compare(CompareOp::NullSafeEq, col(0), Expr::Literal(Literal::Null)),
        &row
    ));
    // NULL OR TRUE is TRUE; NULL AND FALSE is FALSE.
    let truth = Expr::compare(CompareOp::Eq, col(1), int(1));
    assert!(accepts(
        Expr::Or(Box::new(gt.clone()), Box::new(truth.clone())),
        &row
    ));
    let falsity = Expr::Not(Box::new(truth));
    assert!(accepts(
        Expr::Not(Box::new(Expr::And(Box::new(gt), Box::new(falsity)))),
        &row
    ));
}

#[test]
fn arithmetic_is_exact_and_division_by_zero_is_null() {
    let row = [bytes("7"), bytes("2.00"), bytes("0.1"), bytes("x")];
    // 7 / 3 = 2.333333333: MySQL divides to whole 9-digit words.
    let ratio = Expr::arithmetic(ArithOp::Div, col(0), int(3));
    assert!(accepts(
        Expr::compare(
            CompareOp::Eq,
            ratio,
            Expr::Literal(Literal::Decimal("2.333333333".into()))
        ),
        &row
    ));
    let sum = Expr::arithmetic(ArithOp::Add, col(0), col(1));
    assert!(accepts(Expr::compare(CompareOp::Eq, sum, int(9)), &row));
    let by_zero = Expr::arithmetic(ArithOp::Div, col(0), int(0));
    assert!(accepts(Expr::IsNull(Box::new(by_zero)), &row));
    let product = Expr::arithmetic(ArithOp::Mul, col(2), int(10));
    assert!(accepts(
        Expr::compare(CompareOp::Ge, product, Expr::Literal(Literal::Double(1.0))),
        &row
    ));
}

#[test]
fn columns_outside_the_row_are_refused() {
    let error = Having::new(&col(4), &columns()).expect_err("out of range");
    assert!(error.message.contains("#4"), "{}", error.message);
}

#[test]
fn strings_read_as_numbers_by_their_numeric_prefix() {
    assert_eq!(lenient_f64(b"12abc"), 12.0);
    assert_eq!(lenient_f64(b" -1.5e2x"), -150.0);
    assert_eq!(lenient_f64(b"abc"), 0.0);
    assert_eq!(lenient_f64(b"1e"), 1.0);
}
