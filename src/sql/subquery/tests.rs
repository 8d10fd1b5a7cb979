use super::*;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;

fn sharded(name: &str) -> bool {
    name.starts_with("t_")
}

fn one(sql: &str) -> Statement {
    crate::sql::parse(sql).unwrap().remove(0)
}

fn int_column(name: &str) -> Column {
    Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(name.as_bytes())
}

fn text_column(name: &str) -> Column {
    Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
        .with_name(name.as_bytes())
        .with_character_set(45)
}

fn run(sql: &str, answers: Vec<Answer>) -> String {
    let mut statement = one(sql);
    substitute(&mut statement, answers, &sharded).unwrap();
    statement.to_string()
}

#[test]
fn finds_only_outermost_subqueries_on_sharded_tables() {
    let statement = one(
        "SELECT a FROM t_x WHERE a IN (SELECT b FROM t_y WHERE c IN (SELECT d FROM t_z)) \
         AND EXISTS (SELECT 1 FROM bc) AND e = (SELECT MAX(f) FROM t_w WHERE g = ?)",
    );
    let found = find(&statement, &sharded).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[0].shape,
        Shape::In {
            negated: false,
            arity: 1
        }
    );
    assert_eq!(found[1].shape, Shape::Scalar);
    assert_eq!(found[1].placeholders.len(), 1);
    assert!(found[0].placeholders.is_empty());
}

#[test]
fn in_list_takes_the_rows_and_empty_results_are_constants() {
    let sql = "SELECT a FROM t_x WHERE a IN (SELECT b FROM t_y) AND c NOT IN (SELECT d FROM t_z)";
    let rows = vec![vec![Value::Bytes(b"1".to_vec())], vec![Value::NULL]];
    let first = answer_as_general(
        Shape::In {
            negated: false,
            arity: 1,
        },
        &[int_column("b")],
        &rows,
    )
    .unwrap();
    let second = answer_as_general(
        Shape::In {
            negated: true,
            arity: 1,
        },
        &[int_column("d")],
        &[],
    )
    .unwrap();
    assert_eq!(
        run(sql, vec![first, second]),
        "SELECT a FROM t_x WHERE a IN (1, NULL) AND (true)"
    );
}

#[test]
fn strings_are_quoted_and_escaped() {
    let sql = "SELECT a FROM t_x WHERE s = (SELECT MAX(s) FROM t_y)";
    let rows = vec![vec![Value::Bytes("it's é".as_bytes().to_vec())]];
    let a = answer_as_general(Shape::Scalar, &[text_column("s")], &rows).unwrap();
    assert_eq!(
        run(sql, vec![a]),
        "SELECT a FROM t_x WHERE s = ('it''s é' COLLATE utf8mb4_general_ci)"
    );
    let rows = vec![vec![Value::Bytes(b"a\\b".to_vec())]];
    let a = answer_as_general(Shape::Scalar, &[text_column("s")], &rows).unwrap();
    assert_eq!(
        run(sql, vec![a]),
        "SELECT a FROM t_x WHERE s = (_utf8mb4 X'615C62' COLLATE utf8mb4_general_ci)"
    );
    let float = Column::new(ColumnType::MYSQL_TYPE_FLOAT).with_name(b"f");
    let rows = vec![vec![Value::Bytes(b"1.1".to_vec())]];
    assert_eq!(
        answer_as_general(Shape::Scalar, &[float], &rows)
            .unwrap_err()
            .code,
        1235
    );
}

#[test]
fn a_whole_scalar_item_of_the_top_select_list_is_taken() {
    let statement = one("SELECT a, (SELECT MAX(b) FROM t_y), (SELECT c FROM t_z) AS z FROM t_x");
    let found = find(&statement, &sharded).unwrap();
    let items: Vec<_> = found.iter().map(|f| f.select_item.clone()).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().map(|at| at.position), Some(1));
    assert!(items[0].as_ref().is_some_and(|at| at.unaliased.is_some()));
    assert_eq!(
        items[1],
        Some(SelectItemAt {
            position: 2,
            unaliased: None
        })
    );
    let mut named = statement.clone();
    name_select_items(&mut named, &[(1, "(SELECT `MAX`(b))".into())]);
    assert!(
        named.to_string().contains("AS `(SELECT ``MAX``(b))`"),
        "{named}"
    );
}

#[test]
fn other_subqueries_in_the_select_list_are_refused() {
    for sql in [
        "SELECT a, (SELECT MAX(b) FROM t_y) + 1 FROM t_x",
        "SELECT a IN (SELECT b FROM t_y) FROM t_x",
        "SELECT d.m FROM (SELECT (SELECT MAX(b) FROM t_y) AS m FROM t_x) d",
        "SELECT (SELECT MAX(b) FROM t_y) FROM t_x UNION SELECT 1",
        "SELECT *, (SELECT MAX(b) FROM t_y) AS m FROM t_x",
    ] {
        let e = find(&one(sql), &sharded).unwrap_err();
        assert_eq!(e.code, 1235, "{sql}");
        assert!(e.message.contains("select list"), "{sql}: {}", e.message);
    }
    let statement = one("SELECT a, (SELECT MAX(b) FROM bc) + 1 FROM t_x");
    assert!(find(&statement, &sharded).unwrap().is_empty());
}

#[test]
fn stand_ins_keep_the_placeholders() {
    let statement = one(
        "SELECT a FROM t_x WHERE a IN (SELECT b FROM t_y WHERE c = ?) AND d > ? \
         AND EXISTS (SELECT 1 FROM t_z WHERE e = ? AND f = ?) AND g = (SELECT MAX(h) FROM t_w)",
    );
    assert_eq!(
        with_stand_ins(&statement, &sharded).unwrap().to_string(),
        "SELECT a FROM t_x WHERE a IN (SELECT NULL WHERE COALESCE(?, NULL) IS NULL) \
         AND d > ? AND EXISTS (SELECT NULL WHERE COALESCE(?, ?) IS NULL) \
         AND g = (SELECT NULL)"
    );
}

#[test]
fn a_scalar_of_two_rows_is_1242() {
    let rows = vec![vec![Value::Int(1)], vec![Value::Int(2)]];
    let e = answer_as_general(Shape::Scalar, &[int_column("a")], &rows).unwrap_err();
    assert_eq!(e.code, 1242);
    assert!(matches!(
        answer_as_general(Shape::Scalar, &[int_column("a")], &[]).unwrap(),
        Answer::Value(v) if matches!(*v, Expr::Value(_))
    ));
}

#[test]
fn exists_becomes_a_boolean() {
    let sql = "SELECT a FROM t_x WHERE NOT EXISTS (SELECT 1 FROM t_y)";
    let a = answer_as_general(Shape::Exists { negated: true }, &[int_column("1")], &[]).unwrap();
    assert_eq!(run(sql, vec![a]), "SELECT a FROM t_x WHERE (true)");
}

#[test]
fn dates_are_typed_literals() {
    let column = Column::new(ColumnType::MYSQL_TYPE_DATE).with_name(b"d");
    let rows = vec![vec![Value::Bytes(b"2024-01-02".to_vec())]];
    let a = answer_as_general(Shape::Scalar, &[column], &rows).unwrap();
    let Answer::Value(v) = a else { panic!() };
    assert_eq!(v.to_string(), "DATE '2024-01-02'");
}

/// `answer` with every column taken as utf8mb4_general_ci, as `COLLATION()`
/// names a string column of that collation.
fn answer_as_general(
    shape: Shape,
    columns: &[Column],
    rows: &[Vec<Value>],
) -> Result<Answer, Error> {
    let collations = vec![Some("utf8mb4_general_ci".to_string()); columns.len()];
    answer(shape, columns, &collations, rows)
}
