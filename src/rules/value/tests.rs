use super::*;
use ColumnKind::{Integer, String as Text, Unknown};
use ValueDomain::{Bytes, Integer as Ints};
use ValueUse::{Condition, Insert};

fn exact_int(i: i64) -> Conversion {
    Conversion::Exact(ShardingValue::Int(i))
}

fn exact_str(s: &str) -> Conversion {
    Conversion::Exact(ShardingValue::Str(s.as_bytes().to_vec()))
}

fn text(s: &str) -> SqlValue {
    SqlValue::Str(s.as_bytes().to_vec())
}

fn decimal(s: &str) -> SqlValue {
    SqlValue::Decimal(s.to_string())
}

#[test]
fn integer_column_takes_exact_integers_in_any_spelling() {
    for domain in [Ints, Bytes] {
        for value in [
            SqlValue::Int(42),
            SqlValue::UInt(42),
            text("42"),
            text("042"),
            text(" 42"),
            text("42 "),
            text("+42"),
            decimal("42.0"),
            decimal("42.000"),
            text("42.0"),
            SqlValue::Float(42.0),
        ] {
            assert_eq!(
                convert(&value, Integer, domain, Condition),
                exact_int(42),
                "{value:?}"
            );
            assert_eq!(
                convert(&value, Integer, domain, Insert),
                exact_int(42),
                "{value:?}"
            );
        }
        assert_eq!(
            convert(&text("-7"), Integer, domain, Condition),
            exact_int(-7)
        );
        assert_eq!(
            convert(&decimal("-0.0"), Integer, domain, Condition),
            exact_int(0)
        );
        assert_eq!(
            convert(&text("-9223372036854775808"), Integer, domain, Condition),
            exact_int(i64::MIN)
        );
    }
}

#[test]
fn integer_column_refuses_inexact_values() {
    for value in [
        decimal("42.5"),
        text("abc"),
        text(""),
        text("4 2"),
        text("42abc"),
        text("-"),
        text(".5"),
        SqlValue::Float(42.5),
        SqlValue::Float(f64::NAN),
        SqlValue::Float(f64::INFINITY),
        SqlValue::Float(1e19),
        text("99999999999999999999999"),
        text("-9223372036854775809"),
    ] {
        assert_eq!(
            convert(&value, Integer, Ints, Condition),
            Conversion::Inexact,
            "{value:?}"
        );
    }
}

#[test]
fn huge_unsigned_values_place_only_by_bytes() {
    let big = SqlValue::UInt(u64::MAX);
    assert_eq!(convert(&big, Integer, Ints, Insert), Conversion::Inexact);
    assert_eq!(
        convert(&big, Integer, Bytes, Insert),
        exact_str("18446744073709551615")
    );
    assert_eq!(
        convert(&text("18446744073709551615"), Integer, Bytes, Insert),
        exact_str("18446744073709551615")
    );
    // Same canonical bytes, so the same node as the integer would get.
    assert_eq!(
        ShardingValue::Str(b"42".to_vec()).murmur3(),
        ShardingValue::Int(42).murmur3()
    );
}

#[test]
fn null_is_null_everywhere() {
    for kind in [Integer, Text, Unknown] {
        for domain in [Ints, Bytes] {
            assert_eq!(
                convert(&SqlValue::Null, kind, domain, Insert),
                Conversion::Null
            );
        }
    }
}

#[test]
fn string_column_takes_bytes_as_sent() {
    assert_eq!(
        convert(&text("Alice "), Text, Bytes, Condition),
        exact_str("Alice ")
    );
    assert_eq!(
        convert(&text("张三"), Text, Bytes, Condition),
        exact_str("张三")
    );
    // A number compared with a string column compares numerically: inexact.
    assert_eq!(
        convert(&SqlValue::Int(42), Text, Bytes, Condition),
        Conversion::Inexact
    );
    assert_eq!(
        convert(&decimal("42.0"), Text, Bytes, Condition),
        Conversion::Inexact
    );
    // An integer stored into a string column is its decimal text.
    assert_eq!(
        convert(&SqlValue::Int(42), Text, Bytes, Insert),
        exact_str("42")
    );
    assert_eq!(
        convert(&SqlValue::UInt(7), Text, Bytes, Insert),
        exact_str("7")
    );
    assert_eq!(
        convert(&SqlValue::Float(1.5), Text, Bytes, Insert),
        Conversion::Inexact
    );
}

#[test]
fn unknown_column_uses_what_the_algorithm_needs() {
    // mod / range need integers: read as an integer column.
    assert_eq!(
        convert(&text("042"), Unknown, Ints, Condition),
        exact_int(42)
    );
    assert_eq!(
        convert(&text("abc"), Unknown, Ints, Condition),
        Conversion::Inexact
    );
    // hashing: integers as their decimal text, strings as their bytes.
    assert_eq!(
        convert(&SqlValue::Int(42), Unknown, Bytes, Condition),
        exact_int(42)
    );
    assert_eq!(
        convert(&text("042"), Unknown, Bytes, Condition),
        exact_str("042")
    );
    assert_eq!(
        convert(&decimal("42.0"), Unknown, Bytes, Condition),
        Conversion::Inexact
    );
    assert_eq!(
        convert(&SqlValue::Float(1.0), Unknown, Bytes, Condition),
        Conversion::Inexact
    );
}

#[test]
fn display_and_canonical_bytes() {
    assert_eq!(ShardingValue::Int(-7).to_string(), "-7");
    assert_eq!(ShardingValue::Str(b"a".to_vec()).to_string(), "'a'");
    assert_eq!(&*ShardingValue::Int(-7).canonical_bytes(), b"-7");
}
