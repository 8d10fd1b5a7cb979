use super::*;
use crate::merge::compare::Comparator;

fn evaluator() -> Evaluator {
    // #0 BIGINT, #1 DECIMAL(.., 2), #2 DOUBLE, #3 a string.
    Evaluator {
        kinds: vec![
            Comparator::Int,
            Comparator::Decimal,
            Comparator::Float,
            Comparator::Bytes,
        ],
        scales: vec![0, 2, 31, 0],
    }
}

fn text(value: &Scalar<'_>) -> String {
    match value {
        Scalar::Null => "NULL".into(),
        Scalar::OutOfRange => "OUT OF RANGE".into(),
        Scalar::Exact(e) => e.to_big().to_string(),
        Scalar::Double(f) => format!("{f:?}"),
        Scalar::Text(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

fn eval(expr: Expr, row: &[Value]) -> String {
    text(&evaluator().eval(&expr, row))
}

fn bytes(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

fn col(i: usize) -> Expr {
    Expr::Column(i)
}

fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Int(i))
}

fn call(f: Function, args: Vec<Expr>) -> Expr {
    Expr::Function(f, args)
}

fn row() -> Vec<Value> {
    vec![bytes("7"), bytes("-2.5"), bytes("2.5"), bytes("ab")]
}

#[test]
fn round_is_half_away_from_zero_for_exact_values_and_half_even_for_doubles() {
    assert_eq!(eval(call(Function::Round, vec![col(1)]), &row()), "-3");
    assert_eq!(eval(call(Function::Round, vec![col(2)]), &row()), "2.0");
    assert_eq!(
        eval(call(Function::Round, vec![col(1), int(1)]), &row()),
        "-2.5"
    );
    assert_eq!(
        eval(call(Function::Round, vec![col(0), int(-1)]), &row()),
        "10"
    );
    assert_eq!(
        eval(call(Function::Truncate, vec![col(1), int(0)]), &row()),
        "-2"
    );
    assert_eq!(eval(call(Function::Abs, vec![col(1)]), &row()), "2.50");
}

#[test]
fn div_truncates_mod_keeps_the_dividend_sign_and_zero_gives_null() {
    let a = |op, l, r| eval(Expr::arithmetic(op, l, r), &row());
    assert_eq!(a(ArithOp::IntDiv, col(0), int(2)), "3");
    assert_eq!(a(ArithOp::IntDiv, col(1), int(2)), "-1");
    assert_eq!(a(ArithOp::IntDiv, col(2), int(2)), "1");
    assert_eq!(a(ArithOp::Mod, col(1), int(1)), "-0.50");
    assert_eq!(a(ArithOp::Mod, int(-7), int(3)), "-1");
    assert_eq!(a(ArithOp::Mod, col(2), int(2)), "0.5");
    assert_eq!(a(ArithOp::IntDiv, col(0), int(0)), "NULL");
    assert_eq!(a(ArithOp::Mod, col(0), int(0)), "NULL");
    let big = Expr::Literal(Literal::Decimal("100000000000000000000000".into()));
    assert_eq!(a(ArithOp::IntDiv, big, int(1)), "OUT OF RANGE");
    // An error passes through everything over it.
    let over = Expr::arithmetic(
        ArithOp::IntDiv,
        Expr::Literal(Literal::Decimal("100000000000000000000000".into())),
        int(1),
    );
    assert_eq!(
        eval(call(Function::Coalesce, vec![over.clone(), int(1)]), &row()),
        "OUT OF RANGE"
    );
    assert_eq!(
        eval(Expr::compare(CompareOp::Gt, over, int(0)), &row()),
        "OUT OF RANGE"
    );
}

#[test]
fn concat_prints_numbers_at_their_type_scale_and_null_wins() {
    let concat = call(
        Function::Concat,
        vec![
            col(3),
            Expr::Literal(Literal::String(":".into())),
            col(1),
            Expr::arithmetic(ArithOp::Div, col(0), int(3)),
            col(2),
        ],
    );
    assert_eq!(eval(concat, &row()), "ab:-2.502.33332.5");
    let with_null = call(Function::Concat, vec![col(3), Expr::Literal(Literal::Null)]);
    assert_eq!(eval(with_null, &row()), "NULL");
}

#[test]
fn case_if_and_coalesce_pick_the_first_that_applies() {
    let case = Expr::Case {
        branches: vec![
            (Expr::compare(CompareOp::Gt, col(0), int(10)), int(1)),
            (Expr::compare(CompareOp::Gt, col(0), int(5)), int(2)),
        ],
        otherwise: None,
    };
    assert_eq!(eval(case, &row()), "2");
    let none = Expr::Case {
        branches: vec![(Expr::Literal(Literal::Null), int(1))],
        otherwise: None,
    };
    assert_eq!(eval(none, &row()), "NULL");
    let coalesce = call(
        Function::Coalesce,
        vec![Expr::Literal(Literal::Null), col(1), int(0)],
    );
    assert_eq!(eval(coalesce, &row()), "-2.50");
    let iff = call(
        Function::If,
        vec![Expr::Literal(Literal::Null), int(1), int(2)],
    );
    assert_eq!(eval(iff, &row()), "2");
}
