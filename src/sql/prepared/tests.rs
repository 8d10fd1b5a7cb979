use super::{bind, bound_values, parse, Bound, PrepareSource, SqlPrepared};
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;

#[test]
fn reads_the_three_commands() {
    assert_eq!(
        parse(b"PREPARE s FROM 'SELECT * FROM t WHERE a = ?'"),
        Some(SqlPrepared::Prepare {
            name: "s".into(),
            source: PrepareSource::Text("SELECT * FROM t WHERE a = ?".into()),
        })
    );
    assert_eq!(
        parse(b"prepare `My Stmt` from \"SELECT 'x', \\\"y\\\"\""),
        Some(SqlPrepared::Prepare {
            name: "my stmt".into(),
            source: PrepareSource::Text("SELECT 'x', \"y\"".into()),
        })
    );
    assert_eq!(
        parse(b"PREPARE S1 FROM @sql"),
        Some(SqlPrepared::Prepare {
            name: "s1".into(),
            source: PrepareSource::Variable("@sql".into()),
        })
    );
    assert_eq!(
        parse(b"EXECUTE S1 USING @a, @b + 1"),
        Some(SqlPrepared::Execute {
            name: "s1".into(),
            using: Some("@a, @b + 1"),
        })
    );
    assert_eq!(
        parse(b"EXECUTE s1"),
        Some(SqlPrepared::Execute {
            name: "s1".into(),
            using: None,
        })
    );
    assert_eq!(
        parse(b"DEALLOCATE PREPARE s1"),
        Some(SqlPrepared::Deallocate { name: "s1".into() })
    );
    assert_eq!(
        parse(b"DROP PREPARE s1"),
        Some(SqlPrepared::Deallocate { name: "s1".into() })
    );
    for other in [
        &b"DROP TABLE s1"[..],
        b"SELECT 1",
        b"PREPARE s FROM @@sql",
        b"PREPARE s FROM 'x' extra",
        b"EXECUTE s USING",
        b"PREPARE s AS SELECT 1",
    ] {
        assert_eq!(parse(other), None, "{}", String::from_utf8_lossy(other));
    }
}

#[test]
fn binds_values_as_literals_in_text_order() {
    let sql = bind(
        "SELECT * FROM t WHERE a IN (?, ?) AND b = ? ORDER BY a LIMIT ?",
        &[
            Bound::Exact("-5".into()),
            Bound::Null,
            Bound::Text(b"it's \\ here".to_vec()),
            Bound::Exact("10".into()),
        ],
    )
    .unwrap();
    assert_eq!(
        sql,
        "SELECT * FROM t WHERE a IN (-5, NULL) AND b = 'it''s \\\\ here' ORDER BY a LIMIT 10"
    );
    assert_eq!(
        bind(
            "SELECT ? + ?",
            &[Bound::Float("1.5".into()), Bound::Float("2e300".into())]
        )
        .unwrap(),
        "SELECT 1.5e0 + 2e300"
    );
    assert_eq!(
        bind("SELECT ?", &[Bound::Binary(b"ab".to_vec())]).unwrap(),
        "SELECT _binary 'ab'"
    );
    assert_eq!(
        bind("SELECT ?", &[Bound::Binary(vec![0xff, 0])]).unwrap(),
        "SELECT CAST(X'FF00' AS BINARY)"
    );
}

#[test]
fn a_wrong_number_of_values_is_error_1210() {
    let e = bind("SELECT ? FROM t", &[]).unwrap_err();
    assert_eq!(e.code, 1210);
    let e = bind("SELECT 1", &[Bound::Null]).unwrap_err();
    assert_eq!(e.code, 1210);
}

#[test]
fn values_are_typed_by_their_columns() {
    let col = |t: ColumnType, charset: u16| Column::new(t).with_character_set(charset);
    let got = bound_values(
        &[
            col(ColumnType::MYSQL_TYPE_LONGLONG, 63),
            col(ColumnType::MYSQL_TYPE_NEWDECIMAL, 63),
            col(ColumnType::MYSQL_TYPE_DOUBLE, 63),
            col(ColumnType::MYSQL_TYPE_VAR_STRING, 45),
            col(ColumnType::MYSQL_TYPE_LONG_BLOB, 63),
            col(ColumnType::MYSQL_TYPE_LONG_BLOB, 45),
        ],
        &[
            Value::Bytes(b"7".to_vec()),
            Value::Bytes(b"1.50".to_vec()),
            Value::Bytes(b"0.25".to_vec()),
            Value::Bytes("é".as_bytes().to_vec()),
            Value::Bytes(b"\x00".to_vec()),
            Value::NULL,
        ],
    );
    assert_eq!(
        got,
        vec![
            Bound::Exact("7".into()),
            Bound::Exact("1.50".into()),
            Bound::Float("0.25".into()),
            Bound::Text("é".as_bytes().to_vec()),
            Bound::Binary(vec![0]),
            Bound::Null,
        ]
    );
}
