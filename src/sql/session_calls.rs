//! Session functions a backend would answer with its own facts
//! (`DATABASE()`, `VERSION()`, `CONNECTION_ID()`, `USER()`, `@@version`,
//! ...), replaced by the proxy's values in a statement that goes to a
//! backend. A call that is a whole select item keeps its column name.

use super::scan::{Scanner, Token};

/// The proxy's answers to the session functions.
pub struct SessionValues<'a> {
    /// The logical schema in use.
    pub schema: Option<&'a str>,
    pub server_version: &'a str,
    pub connection_id: u32,
    pub user: &'a str,
    pub client_host: &'a str,
    /// The MySQL 8 collation the client asked for, when the backends have
    /// a MariaDB stand-in for it.
    pub collation: Option<&'a str>,
}

/// Whether a `name(` call is one of the session functions replaced here
/// (the boundary notes it while it scans, so other statements cost nothing).
pub fn is_session_function(name: &str) -> bool {
    [
        "DATABASE",
        "SCHEMA",
        "VERSION",
        "CONNECTION_ID",
        "USER",
        "SESSION_USER",
        "SYSTEM_USER",
        "CURRENT_USER",
    ]
    .iter()
    .any(|f| f.eq_ignore_ascii_case(name))
}

/// Whether `@@...` is a variable replaced here.
pub fn is_session_variable(variable: &str) -> bool {
    variable_name(variable).is_some()
}

fn variable_name(variable: &str) -> Option<&'static str> {
    variable.strip_prefix("@@")?;
    let bare = crate::sql::scan::unscoped_variable(variable);
    if bare.eq_ignore_ascii_case("version") {
        Some("version")
    } else if bare.eq_ignore_ascii_case("version_comment") {
        Some("version_comment")
    } else if bare.eq_ignore_ascii_case("collation_connection") {
        Some("collation_connection")
    } else {
        None
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// `sql` with the session calls replaced, or `None` when it has none.
pub fn replace_session_calls(sql: &[u8], values: &SessionValues<'_>) -> Option<Vec<u8>> {
    let mut tokens: Vec<(Token<'_>, usize, usize)> = Vec::new();
    let mut scanner = Scanner::new(sql);
    while let Some(token) = scanner.next() {
        let end = scanner.offset();
        let start = match token {
            Token::Word(w) | Token::Variable(w) => end - w.len(),
            _ => end,
        };
        tokens.push((token, start, end));
    }
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let mut depth = 0u32;
    let mut i = 0;
    while i < tokens.len() {
        let (token, start, end) = tokens[i];
        let prev = i.checked_sub(1).map(|p| tokens[p].0);
        if prev == Some(Token::Punct('.')) {
            i += 1;
            continue;
        }
        let found = match token {
            Token::Punct('(') => {
                depth += 1;
                None
            }
            Token::Punct(')') => {
                depth = depth.saturating_sub(1);
                None
            }
            Token::Word(w)
                if is_session_function(w)
                    && matches!(tokens.get(i + 1), Some((Token::Punct('('), _, _)))
                    && matches!(tokens.get(i + 2), Some((Token::Punct(')'), _, _))) =>
            {
                let close_end = tokens[i + 2].2;
                let literal = match w.to_ascii_uppercase().as_str() {
                    "DATABASE" | "SCHEMA" => values.schema.map_or("NULL".to_string(), quote),
                    "VERSION" => quote(values.server_version),
                    "CONNECTION_ID" => values.connection_id.to_string(),
                    "CURRENT_USER" => quote(&format!("{}@%", values.user)),
                    _ => quote(&format!("{}@{}", values.user, values.client_host)),
                };
                i += 2;
                Some((start, close_end, literal))
            }
            Token::Variable(v) => variable_name(v).and_then(|name| {
                let literal = match name {
                    "version" => quote(values.server_version),
                    // Global scope is the server's; the backend answers it.
                    "collation_connection" if v.to_ascii_lowercase().contains("global.") => {
                        return None
                    }
                    "collation_connection" => quote(values.collation?),
                    _ => quote("shardgate"),
                };
                Some((start, end, literal))
            }),
            _ => None,
        };
        if let Some((from, to, literal)) = found {
            let next = tokens.get(i + 1).map(|t| t.0);
            let label = std::str::from_utf8(&sql[from..to]).unwrap_or_default();
            let text = if is_select_item(prev, next, depth) {
                format!("{literal} AS `{}`", label.replace('`', "``"))
            } else {
                literal
            };
            spans.push((from, to, text));
        }
        i += 1;
    }
    if spans.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(sql.len() + 32);
    let mut copied = 0;
    for (from, to, text) in spans {
        out.extend_from_slice(&sql[copied..from]);
        out.extend_from_slice(text.as_bytes());
        copied = to;
    }
    out.extend_from_slice(&sql[copied..]);
    Some(out)
}

/// A call standing alone as an item of a select list, without an alias:
/// it is given its own text as the column name, as the server would name it.
fn is_select_item(prev: Option<Token<'_>>, next: Option<Token<'_>>, depth: u32) -> bool {
    let word = |t: Option<Token<'_>>, words: &[&str]| matches!(t, Some(Token::Word(w)) if words.iter().any(|k| k.eq_ignore_ascii_case(w)));
    let after_select = word(prev, &["SELECT", "DISTINCT", "ALL"]);
    let after_comma = prev == Some(Token::Punct(',')) && depth == 0;
    if !(after_select || after_comma) {
        return false;
    }
    matches!(next, None | Some(Token::Punct(',' | ';')))
        || (after_select && next == Some(Token::Punct(')')))
        || word(
            next,
            &[
                "FROM",
                "UNION",
                "INTO",
                "WHERE",
                "ORDER",
                "GROUP",
                "LIMIT",
                "HAVING",
                "WINDOW",
                "FOR",
                "LOCK",
                "EXCEPT",
                "INTERSECT",
            ],
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> SessionValues<'static> {
        SessionValues {
            schema: Some("shop"),
            server_version: "8.0.36-shardgate",
            connection_id: 7,
            user: "app",
            client_host: "10.0.0.1",
            collation: None,
        }
    }

    fn replaced(sql: &str) -> String {
        String::from_utf8(replace_session_calls(sql.as_bytes(), &values()).unwrap()).unwrap()
    }

    #[test]
    fn collation_connection_is_the_one_the_client_asked_for() {
        let sql = b"SELECT @@collation_connection, @@session.collation_connection AS c, @@global.collation_connection";
        assert_eq!(replace_session_calls(sql, &values()), None);
        let asked = SessionValues {
            collation: Some("utf8mb4_0900_ai_ci"),
            ..values()
        };
        let got = String::from_utf8(replace_session_calls(sql, &asked).unwrap()).unwrap();
        assert_eq!(
            got,
            "SELECT 'utf8mb4_0900_ai_ci' AS `@@collation_connection`, 'utf8mb4_0900_ai_ci' AS c, @@global.collation_connection"
        );
    }

    #[test]
    fn select_items_keep_their_names() {
        assert_eq!(
            replaced("SELECT VERSION(), @@sql_mode, CONVERT_TZ('x', 'UTC', 'UTC') IS NOT NULL"),
            "SELECT '8.0.36-shardgate' AS `VERSION()`, @@sql_mode, CONVERT_TZ('x', 'UTC', 'UTC') IS NOT NULL"
        );
        assert_eq!(
            replaced("select database(), count(*) from t where s = schema()"),
            "select 'shop' AS `database()`, count(*) from t where s = 'shop'"
        );
        assert_eq!(
            replaced("SELECT CONCAT(USER(), '!') u, @@global.version_comment FROM t"),
            "SELECT CONCAT('app@10.0.0.1', '!') u, 'shardgate' AS `@@global.version_comment` FROM t"
        );
        assert_eq!(
            replaced("SELECT a FROM t WHERE id = CONNECTION_ID()"),
            "SELECT a FROM t WHERE id = 7"
        );
        assert_eq!(
            replaced("SELECT x IN (SELECT CURRENT_USER())"),
            "SELECT x IN (SELECT 'app@%' AS `CURRENT_USER()`)"
        );
    }

    #[test]
    fn other_calls_and_names_stay() {
        for sql in [
            "SELECT version FROM t",
            "SELECT t.database() FROM t",
            "SELECT @@version_compile_os, @version",
            "SELECT USER(1)",
        ] {
            assert_eq!(
                replace_session_calls(sql.as_bytes(), &values()),
                None,
                "{sql}"
            );
        }
    }
}
