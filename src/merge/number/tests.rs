use super::*;

fn exact(text: &str) -> Exact {
    Exact::parse(text.as_bytes()).expect("decimal text")
}

fn order(a: &str, b: &str) -> Ordering {
    let (a, b) = (
        DecimalText::parse(a.as_bytes()).expect("a"),
        DecimalText::parse(b.as_bytes()).expect("b"),
    );
    a.cmp(&b)
}

#[test]
fn integers_parse_from_text_and_typed_values() {
    assert_eq!(parse_int(b"-42"), Some(-42));
    assert_eq!(parse_int(b"+7"), Some(7));
    assert_eq!(parse_int(b"18446744073709551615"), Some(u64::MAX as i128));
    assert_eq!(parse_int(b""), None);
    assert_eq!(parse_int(b"-"), None);
    assert_eq!(parse_int(b"1.5"), None);
    assert_eq!(parse_int(&[b'9'; 39]), None);
    assert_eq!(int_of(&Value::UInt(u64::MAX)), Some(u64::MAX as i128));
    assert_eq!(int_of(&Value::Double(1.0)), None);
}

#[test]
fn decimal_text_compares_exactly() {
    assert_eq!(order("10.5", "9.75"), Ordering::Greater);
    assert_eq!(order("-0.5", "0.1"), Ordering::Less);
    assert_eq!(order("-2", "-10"), Ordering::Greater);
    assert_eq!(order("1.50", "1.5"), Ordering::Equal);
    assert_eq!(order("-0.00", "0"), Ordering::Equal);
    assert_eq!(order("007", "7.000"), Ordering::Equal);
    assert_eq!(order(".5", "0.45"), Ordering::Greater);
    // Beyond f64's precision: 17 significant digits tell these apart.
    assert_eq!(
        order("12345678901234567890.1", "12345678901234567890.2"),
        Ordering::Less
    );
    assert!(DecimalText::parse(b"1e5").is_none());
    assert!(DecimalText::parse(b".").is_none());
    assert!(DecimalText::parse(b"1.2.3").is_none());
}

#[test]
fn decimal_text_has_one_canonical_form() {
    let canonical =
        |t: &str| String::from_utf8(DecimalText::parse(t.as_bytes()).expect(t).canonical());
    assert_eq!(canonical("-000.500").as_deref(), Ok("-0.5"));
    assert_eq!(canonical("-0.000").as_deref(), Ok("0"));
    assert_eq!(canonical("12.").as_deref(), Ok("12"));
    assert_eq!(canonical("+3.10").as_deref(), Ok("3.1"));
}

#[test]
fn exact_sums_align_scales_and_grow_past_i128() {
    let mut sum = exact("1.5");
    sum.add(&exact("2.25"));
    sum.add(&exact("-0.05"));
    assert_eq!(sum.format(2), "3.70");
    assert_eq!(sum.format(4), "3.7000");

    let mut big = exact("99999999999999999999999999999999999");
    for _ in 0..100 {
        big.add(&exact("99999999999999999999999999999999999.99"));
    }
    assert!(matches!(big, Exact::Big(_)));
    big.add(&exact("0.01"));
    assert_eq!(big.format(2), "10099999999999999999999999999999999998.01");

    let mut typed = Exact::of(&Value::UInt(u64::MAX)).expect("typed");
    typed.add(&Exact::of(&Value::Int(1)).expect("typed"));
    assert_eq!(typed.format(0), "18446744073709551616");
    assert_eq!(Exact::of(&Value::Double(1.0)), None);
    assert_eq!(exact("1.5e3").format(1), "1500.0");
}

#[test]
fn exact_rounding_is_half_away_from_zero() {
    let div = |sum: &str, count: i64, scale| exact(sum).divide(&BigInt::from(count), scale);
    assert_eq!(div("3", 2, 4), "1.5000");
    assert_eq!(div("1", 3, 4), "0.3333");
    assert_eq!(div("2", 3, 4), "0.6667");
    assert_eq!(div("-2", 3, 4), "-0.6667");
    assert_eq!(div("1", 32, 4), "0.0313");
    assert_eq!(div("-1", 32, 4), "-0.0313");
    assert_eq!(div("-1", 3000000, 4), "0.0000");
    assert_eq!(div("1.25", 2, 6), "0.625000");
    assert_eq!(exact("2.345").format(2), "2.35");
    assert_eq!(exact("-2.345").format(2), "-2.35");
    assert_eq!(exact("-0.001").format(2), "0.00");
}

#[test]
fn doubles_print_as_the_server_prints_them() {
    let cases = [
        (1e15, "1e15"),
        (1e16, "1e16"),
        (1e14, "100000000000000"),
        (1.2345678901234568e17, "1.2345678901234568e17"),
        (0.0001, "0.0001"),
        (0.00001, "0.00001"),
        (1.5e-7, "0.00000015"),
        (1.0 / 3.0, "0.3333333333333333"),
        (1e100, "1e100"),
        (-1.5e-300, "-1.5e-300"),
        (100.0, "100"),
        (0.1 + 0.2, "0.30000000000000004"),
        (5e29, "5e29"),
        (1.6000000014901161, "1.6000000014901161"),
        (-2.5, "-2.5"),
        (0.0, "0"),
        (1e-15, "0.000000000000001"),
        (1e-16, "1e-16"),
        // Exact ties in the last digit round to even, as the server's dtoa.
        // These are exactly -9374675106287.5625 and 608367144891427.25.
        (-9374675106287.562, "-9374675106287.562"),
        (608367144891427.2, "608367144891427.2"),
    ];
    for (x, printed) in cases {
        assert_eq!(format_double(x, NOT_FIXED_DECIMALS), printed, "{x:e}");
    }
    assert_eq!(format_double(2.0 / 3.0, 2), "0.67");
    assert_eq!(format_double(1.0, 3), "1.000");
}

#[test]
fn typed_values_print_as_text() {
    assert_eq!(&*text_bytes(&Value::Int(-3)), b"-3");
    assert_eq!(
        &*text_bytes(&Value::Date(2024, 2, 29, 1, 2, 3, 0)),
        b"2024-02-29 01:02:03"
    );
    assert_eq!(
        &*text_bytes(&Value::Time(true, 1, 2, 3, 4, 5)),
        b"-26:03:04.000005"
    );
    assert_eq!(float_of(&Value::Bytes(b" 2.5".to_vec())), Some(2.5));
}
