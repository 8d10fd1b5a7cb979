use super::*;

#[derive(serde::Deserialize)]
struct Cases {
    names: Vec<(String, String)>,
    statements: Vec<(String, String, String)>,
}

fn cases() -> Cases {
    toml::from_str(include_str!("cases.toml")).expect("collations/cases.toml parses")
}

#[test]
fn mysql8_collations_map_to_mariadb_ones() {
    for (name, expected) in cases().names {
        let expected = Some(expected).filter(|e| !e.is_empty());
        assert_eq!(mariadb_equivalent(&name), expected, "{name}");
    }
    assert_eq!(mysql8_name(255), Some("utf8mb4_0900_ai_ci"));
    assert_eq!(mysql8_name(45), None);
}

#[test]
fn statements_get_the_mariadb_names() {
    for (sql, rewritten, asked) in cases().statements {
        let got = with_mariadb_collations(sql.as_bytes());
        let got = got.map(|(text, asked)| (String::from_utf8(text).unwrap(), asked));
        let expected = Some((rewritten, asked)).filter(|(r, _)| !r.is_empty());
        assert_eq!(got, expected, "{sql}");
    }
}
