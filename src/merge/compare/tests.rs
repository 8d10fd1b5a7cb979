use super::*;

fn bytes(text: &str) -> Value {
    Value::Bytes(text.as_bytes().to_vec())
}

fn column(t: ColumnType) -> Column {
    Column::new(t).with_character_set(45).with_name(b"c")
}

#[test]
fn column_types_pick_their_comparison() {
    use ColumnType::*;
    let cases = [
        (MYSQL_TYPE_LONGLONG, Comparator::Int),
        (MYSQL_TYPE_YEAR, Comparator::Int),
        (MYSQL_TYPE_NEWDECIMAL, Comparator::Decimal),
        (MYSQL_TYPE_DOUBLE, Comparator::Float),
        (MYSQL_TYPE_DATETIME, Comparator::Date),
        (MYSQL_TYPE_TIME, Comparator::Time),
        (MYSQL_TYPE_BIT, Comparator::Bytes),
    ];
    for (t, expected) in cases {
        let columns = [column(t)];
        assert_eq!(
            resolve(&columns, &[], 0, Purpose::Order),
            Ok(expected),
            "{t:?}"
        );
    }
}

#[test]
fn strings_need_a_weight_unless_binary() {
    let text = column(ColumnType::MYSQL_TYPE_VAR_STRING);
    let binary = Column::new(ColumnType::MYSQL_TYPE_BLOB).with_character_set(BINARY_CHARSET);
    let columns = [text, binary, Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)];
    assert_eq!(
        resolve(&columns, &[], 1, Purpose::Order),
        Ok(Comparator::Bytes)
    );
    let missing = resolve(&columns, &[], 0, Purpose::Value).expect_err("no weight");
    assert!(
        missing.message.contains("WEIGHT_STRING"),
        "{}",
        missing.message
    );
    let weights = [Weight {
        column: 0,
        weight: 2,
    }];
    assert_eq!(
        resolve(&columns, &weights, 0, Purpose::Order),
        Ok(Comparator::Weight(2))
    );
    let outside = [Weight {
        column: 0,
        weight: 9,
    }];
    assert!(resolve(&columns, &outside, 0, Purpose::Order).is_err());
    assert!(resolve(&columns, &[], 7, Purpose::Order).is_err());
}

#[test]
fn enum_columns_cannot_be_ordered_but_can_be_grouped() {
    let columns = [
        column(ColumnType::MYSQL_TYPE_STRING).with_flags(ColumnFlags::ENUM_FLAG),
        Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_character_set(BINARY_CHARSET),
    ];
    let weights = [Weight {
        column: 0,
        weight: 1,
    }];
    let refused = resolve(&columns, &weights, 0, Purpose::Order).expect_err("enum order");
    assert_eq!(refused.code, 1235);
    assert_eq!(
        resolve(&columns, &weights, 0, Purpose::Value),
        Ok(Comparator::Weight(1))
    );
}

#[test]
fn null_is_lowest_for_every_comparator() {
    for c in [
        Comparator::Int,
        Comparator::Decimal,
        Comparator::Float,
        Comparator::Date,
        Comparator::Time,
        Comparator::Bytes,
    ] {
        assert_eq!(compare_values(c, &Value::NULL, &bytes("0")), Ordering::Less);
        assert_eq!(
            compare_values(c, &bytes("0"), &Value::NULL),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(c, &Value::NULL, &Value::NULL),
            Ordering::Equal
        );
    }
}

#[test]
fn numbers_compare_numerically_in_both_protocols() {
    assert_eq!(
        compare_values(Comparator::Int, &bytes("9"), &bytes("10")),
        Ordering::Less
    );
    assert_eq!(
        compare_values(Comparator::Int, &Value::Int(-1), &Value::UInt(0)),
        Ordering::Less
    );
    assert_eq!(
        compare_values(Comparator::Decimal, &bytes("2.50"), &bytes("2.5")),
        Ordering::Equal
    );
    assert_eq!(
        compare_values(Comparator::Float, &bytes("1e3"), &bytes("999.5")),
        Ordering::Greater
    );
    assert_eq!(
        compare_values(Comparator::Float, &Value::Double(-0.0), &Value::Double(0.0)),
        Ordering::Equal
    );
    assert_eq!(
        compare_values(Comparator::Bytes, &bytes("b"), &bytes("ab")),
        Ordering::Greater
    );
}

#[test]
fn temporals_compare_in_time_order() {
    let date = |t| date_of(&bytes(t));
    assert_eq!(
        date("2024-01-02 03:04:05.5"),
        Some((2024, 1, 2, 3, 4, 5, 500_000))
    );
    assert_eq!(date("2024-01-02"), Some((2024, 1, 2, 0, 0, 0, 0)));
    assert_eq!(date("junk"), None);
    assert_eq!(
        compare_values(
            Comparator::Date,
            &Value::Date(2024, 1, 2, 0, 0, 0, 0),
            &Value::Date(2023, 12, 31, 23, 59, 59, 999_999)
        ),
        Ordering::Greater
    );
    let time = |t| time_of(&bytes(t));
    assert_eq!(time("-10:00:00"), Some(-36_000_000_000));
    assert_eq!(time("100:00:00.25"), Some(360_000_250_000));
    assert_eq!(
        time_of(&Value::Time(true, 1, 0, 0, 0, 0)),
        Some(-86_400_000_000)
    );
    let mut times = vec![
        bytes("100:00:00"),
        bytes("-10:00:00"),
        bytes("09:00:00"),
        bytes("-838:59:59"),
    ];
    times.sort_by(|a, b| compare_values(Comparator::Time, a, b));
    assert_eq!(
        times,
        vec![
            bytes("-838:59:59"),
            bytes("-10:00:00"),
            bytes("09:00:00"),
            bytes("100:00:00")
        ]
    );
}

#[test]
fn key_parts_are_equal_exactly_when_values_compare_equal() {
    let part = |c, v: Value| key_part(c, 0, &[v]);
    assert_eq!(
        part(Comparator::Decimal, bytes("1.50")),
        part(Comparator::Decimal, bytes("1.5"))
    );
    assert_eq!(
        part(Comparator::Float, Value::Double(-0.0)),
        part(Comparator::Float, Value::Double(0.0))
    );
    assert_eq!(
        part(Comparator::Int, bytes("7")),
        part(Comparator::Int, Value::Int(7))
    );
    assert_ne!(
        part(Comparator::Bytes, bytes("a")),
        part(Comparator::Bytes, bytes("A"))
    );
    assert_eq!(part(Comparator::Time, Value::NULL), KeyPart::Null);
    let weighted = [bytes("a"), bytes("\x00A")];
    let other = [bytes("A"), bytes("\x00A")];
    assert_eq!(
        key_part(Comparator::Weight(1), 0, &weighted),
        key_part(Comparator::Weight(1), 0, &other)
    );
}
