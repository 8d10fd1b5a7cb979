use super::shape;
use mysql_common::value::Value;

fn text(sql: &str) -> Option<String> {
    shape(sql).map(|s| s.text)
}

#[test]
fn value_positions_of_the_where_clause_are_taken_out() {
    for (sql, shaped) in [
        (
            "SELECT c FROM t WHERE id = 42",
            "SELECT c FROM t WHERE id = ?",
        ),
        (
            "SELECT c FROM t WHERE a=1 AND b <> 'x' AND c != 3 OR d<=4 AND e >= 5 AND f < 6 AND g > 7",
            "SELECT c FROM t WHERE a=? AND b <> ? AND c != ? OR d<=? AND e >= ? AND f < ? AND g > ?",
        ),
        (
            "SELECT c FROM t WHERE id IN (1, 2,3) AND k BETWEEN 10 AND 20 ORDER BY c LIMIT 5",
            "SELECT c FROM t WHERE id IN (?, ?,?) AND k BETWEEN ? AND ? ORDER BY c LIMIT 5",
        ),
        (
            "UPDATE t SET a = 5, b = 'y' WHERE id = 9 LIMIT 1",
            "UPDATE t SET a = 5, b = 'y' WHERE id = ? LIMIT 1",
        ),
        (
            "DELETE FROM t WHERE (id = 9) AND s = 'é'",
            "DELETE FROM t WHERE (id = ?) AND s = ?",
        ),
        ("SELECT 1 FROM t", "SELECT 1 FROM t"),
        (
            "SELECT c FROM t WHERE a = 1 AND 5",
            "SELECT c FROM t WHERE a = ? AND 5",
        ),
    ] {
        assert_eq!(text(sql).as_deref(), Some(shaped), "{sql}");
    }
}

#[test]
fn literals_keep_their_text_and_value() {
    let s = shape("SELECT c FROM t WHERE id = 007 AND name = 'bob'").expect("shapes");
    assert_eq!(s.texts, ["007", "'bob'"]);
    assert_eq!(s.values, [Value::Int(7), Value::Bytes(b"bob".to_vec())]);
}

#[test]
fn other_literals_stay() {
    for sql in [
        "SELECT c FROM t WHERE id = -5",
        "SELECT c FROM t WHERE id = 1.5",
        "SELECT c FROM t WHERE id = 1e3",
        "SELECT c FROM t WHERE id = 0x1F",
        "SELECT c FROM t WHERE id = X'1F'",
        "SELECT c FROM t WHERE id = b'01'",
        "SELECT c FROM t WHERE s = _utf8mb4'x'",
        "SELECT c FROM t WHERE s = N'x'",
        "SELECT c FROM t WHERE s = 'it''s'",
        "SELECT c FROM t WHERE s = 'a\\'b'",
        "SELECT c FROM t WHERE s = \"x\"",
        "SELECT c FROM t WHERE s = 'x' COLLATE utf8mb4_bin",
        "SELECT c FROM t WHERE s = 'x' 'y'",
        "SELECT c FROM t WHERE a <=> 5",
        "SELECT c FROM t WHERE j->'$.a' = 5 + 1",
        "SELECT c FROM t WHERE a = 99999999999999999999",
        "SELECT c FROM t WHERE d > NOW() - INTERVAL 5 DAY",
        "SELECT c FROM t WHERE a = 5 IS TRUE",
        "SELECT c FROM t WHERE (a, b) IN ((1, 2))",
        "SELECT CAST(a AS DECIMAL(10,2)) FROM t GROUP BY 1 ORDER BY 1 LIMIT 10",
        "SELECT c FROM t JOIN u ON t.a = 5 WHERE u.b = b LIMIT 3",
    ] {
        assert_eq!(text(sql).as_deref(), Some(sql), "{sql}");
    }
    // Only the WHERE operand of the last one is taken out.
    assert_eq!(
        text("SELECT c FROM t WHERE a = 3 GROUP BY c HAVING COUNT(*) > 2").as_deref(),
        Some("SELECT c FROM t WHERE a = ? GROUP BY c HAVING COUNT(*) > 2")
    );
}

#[test]
fn statements_not_shaped() {
    for sql in [
        "SELECT c FROM t WHERE id = ?",
        "SELECT c FROM t WHERE id IN (SELECT id FROM u WHERE k = 1)",
        "SELECT c FROM t WHERE id = 1 UNION SELECT c FROM u WHERE id = 2",
        "SELECT /*+ MAX_EXECUTION_TIME(1) */ c FROM t WHERE id = 1",
        "INSERT INTO t VALUES (1, 2)",
        "SET @a = 1",
    ] {
        assert_eq!(text(sql), None, "{sql}");
    }
}
