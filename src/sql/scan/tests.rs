use super::*;

#[test]
fn splits_at_top_level_semicolons_only() {
    let text = "SELECT 'a;b', `c;d` FROM t; -- x;\n SELECT \"e\\\";\" ;/* ; */ SELECT 3;";
    assert_eq!(
        split_statements(text.as_bytes()),
        vec![
            &b"SELECT 'a;b', `c;d` FROM t"[..],
            b"-- x;\n SELECT \"e\\\";\"",
            b"/* ; */ SELECT 3"
        ]
    );
}

#[test]
fn empty_statements_are_dropped() {
    assert_eq!(split_statements(b" ; ;"), Vec::<&[u8]>::new());
    assert_eq!(split_statements(b"-- only a comment"), Vec::<&[u8]>::new());
    assert_eq!(split_statements(b"SELECT 1"), vec![&b"SELECT 1"[..]]);
}

#[test]
fn tokens_skip_comments_and_keep_quoted_identifiers() {
    let tokens: Vec<_> =
        Scanner::new("/* hi */ select `t_order`.id, @@session.autocommit, @v # c\n FROM x")
            .collect();
    assert_eq!(
        tokens,
        vec![
            Token::Word("select"),
            Token::Quoted("t_order"),
            Token::Punct('.'),
            Token::Word("id"),
            Token::Punct(','),
            Token::Variable("@@session.autocommit"),
            Token::Punct(','),
            Token::Variable("@v"),
            Token::Word("FROM"),
            Token::Word("x"),
        ]
    );
}

#[test]
fn executable_comments_are_code() {
    let tokens: Vec<_> = Scanner::new("/*!40101 SET NAMES utf8 */").collect();
    assert_eq!(
        tokens,
        vec![
            Token::Word("SET"),
            Token::Word("NAMES"),
            Token::Word("utf8")
        ]
    );
}

#[test]
fn unterminated_input_does_not_panic() {
    for text in ["'abc", "`abc", "/* abc", "@'x", "@@", "\"\\", "é", "-- "] {
        let _ = Scanner::new(text).count();
        let _ = split_statements(text.as_bytes());
    }
}

#[test]
fn raw_bytes_in_literals_are_kept_whole() {
    let text = b"INSERT INTO t VALUES (_binary'\xff\x00;', 1); SELECT 2";
    let parts = split_statements(text);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], &text[..text.len() - 10]);
    let tokens: Vec<_> = Scanner::new(parts[0]).collect();
    assert!(tokens.contains(&Token::Other));
    assert!(tokens.contains(&Token::Word("_binary")));
}

#[test]
fn stored_program_bodies_stay_whole() {
    let text = b"CREATE PROCEDURE p() BEGIN DECLARE x INT DEFAULT 0; IF x = 0 THEN SELECT CASE WHEN x THEN 1 END; END IF; LOOP LEAVE; END LOOP; END; CALL p(); BEGIN; SELECT 1";
    let parts = split_statements(text);
    assert_eq!(
        parts.len(),
        4,
        "{:?}",
        parts
            .iter()
            .map(|p| String::from_utf8_lossy(p))
            .collect::<Vec<_>>()
    );
    assert!(parts[0].ends_with(b"END LOOP; END"));
    assert_eq!(parts[1], b"CALL p()");
    assert_eq!(parts[2], b"BEGIN");
    let text = b"BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; SELECT 3";
    assert_eq!(split_statements(text).len(), 2);
    assert_eq!(split_statements(b"SELECT NOT 1; SELECT 2").len(), 2);
    let text = b"CREATE FUNCTION f() RETURNS INT RETURN 1; SELECT f()";
    assert_eq!(split_statements(text).len(), 2);
}

#[test]
fn one_statement_without_semicolon_splits_as_a_full_scan_would() {
    for text in [
        "SELECT c FROM sbtest1 WHERE id=5000",
        "  SELECT 1 -- trailing comment",
        "/* only a comment */",
        "",
        "   ",
        "BEGIN NOT ATOMIC SELECT 1 END",
        "SELECT 'a'  ",
    ] {
        assert_eq!(
            split_statements(text.as_bytes()),
            split_scanning(text.as_bytes()),
            "{text:?}"
        );
    }
}

#[derive(serde::Deserialize)]
struct SplitCases {
    case: Vec<SplitCase>,
}

#[derive(serde::Deserialize)]
struct SplitCase {
    name: String,
    sql: String,
    statements: Vec<String>,
    /// Why MariaDB refuses the statement itself (documentation only).
    #[serde(default)]
    #[allow(dead_code)]
    server_rejects: Option<String>,
}

#[test]
fn split_cases_from_data_file() {
    let cases: SplitCases =
        toml::from_str(include_str!("split_cases.toml")).expect("split_cases.toml parses");
    let mut failures = Vec::new();
    for case in &cases.case {
        let got: Vec<String> = split_statements(case.sql.as_bytes())
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        if got != case.statements {
            failures.push(format!(
                "{}:\n  want {:?}\n  got  {:?}",
                case.name, case.statements, got
            ));
        }
        // Each piece alone is one statement too.
        for piece in &case.statements {
            let again = split_statements(piece.as_bytes());
            if again != [piece.as_bytes()] {
                failures.push(format!("{}: piece {piece:?} splits again", case.name));
            }
        }
    }
    assert!(
        cases.case.len() >= 40,
        "the data file holds {} cases",
        cases.case.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
