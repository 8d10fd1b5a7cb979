//! What kind of statement a client sent, read from its first keywords, so
//! the session knows whether to answer it itself, track state from it, or
//! pass it through. Works on statements sqlparser cannot parse (XA, LOAD DATA,
//! `LOCK IN SHARE MODE`, ...).

use super::scan::{is_keyword, ScanText, Scanner, Token};

/// The statement kinds the session treats differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    /// Nothing but whitespace and comments.
    Empty,
    /// `USE db`.
    Use(String),
    /// `SET ...` that changes this session's state (variables, NAMES,
    /// autocommit, TRANSACTION, ROLE ...); not `SET GLOBAL`, `SET PASSWORD`,
    /// `SET DEFAULT ROLE` (`Other`) nor `SET STATEMENT ... FOR` (what follows FOR).
    Set,
    /// `BEGIN [WORK]`, `START TRANSACTION ...`.
    Begin,
    /// `COMMIT [WORK]`.
    Commit,
    /// `ROLLBACK [WORK]` (not `ROLLBACK TO SAVEPOINT`, which is `Other`).
    Rollback,
    /// `SHOW DATABASES` / `SHOW SCHEMAS`, with an optional LIKE pattern.
    ShowDatabases {
        /// The LIKE pattern, unquoted.
        like: Option<String>,
    },
    /// `SHOW [FULL] TABLES [FROM db] [LIKE 'p']`.
    ShowTables {
        /// `FULL`: add the table type column.
        full: bool,
        /// The schema of `FROM db` / `IN db`.
        from: Option<String>,
        /// The LIKE pattern, unquoted.
        like: Option<String>,
    },
    /// `SHOW GRANTS [FOR user]`: the proxy user's privileges.
    ShowGrants {
        /// The account of `FOR`, as written (`CURRENT_USER` for the session's own).
        for_user: Option<String>,
    },
    /// `SHOW [FULL] PROCESSLIST`: the proxy's sessions.
    ShowProcesslist { full: bool },
    /// Other `SHOW`, `DESCRIBE`/`DESC`/`EXPLAIN`: answered from a backend
    /// with actual names turned into logical ones.
    Metadata,
    /// `SELECT ...` (and `WITH ...`, `(SELECT ...)`).
    Select,
    /// `INSERT`, `REPLACE`, `UPDATE`, `DELETE`.
    Write,
    /// `LOCK TABLES`, `UNLOCK TABLES`, `PREPARE`, `EXECUTE`, `DEALLOCATE`,
    /// `XA`, `HANDLER`, `SAVEPOINT`, `CREATE TEMPORARY TABLE`: tie the session to its backend connection.
    Stateful,
    /// `KILL ...`: connection ids are the proxy's, not a backend's.
    Kill,
    /// `PREVIEW ...`, `RELOAD CONFIG`, `SHOW SHARDING RULES`, `SHOW BACKENDS`,
    /// `SHOW KEY GENERATORS`.
    Admin,
    /// Everything else (DDL, other SHOW, DESCRIBE, EXPLAIN, CALL, DO, ...).
    Other,
}

/// Classifies one statement's text.
pub fn classify(sql: &(impl ScanText + ?Sized)) -> StatementKind {
    let mut tokens = Scanner::new(sql);
    let first = match tokens.next() {
        None => return StatementKind::Empty,
        Some(Token::Punct('(')) => return StatementKind::Select,
        Some(t) => t,
    };
    let Token::Word(word) = first else {
        return StatementKind::Other;
    };
    let mut buf = [0u8; 24];
    let Some(upper) = crate::sql::scan::upper_keyword(word, &mut buf) else {
        return StatementKind::Other;
    };
    match std::str::from_utf8(upper).unwrap_or("") {
        "SELECT" | "WITH" | "VALUES" | "TABLE" => StatementKind::Select,
        "INSERT" | "REPLACE" | "UPDATE" | "DELETE" => StatementKind::Write,
        "USE" => match tokens.next() {
            Some(Token::Word(db)) | Some(Token::Quoted(db)) => StatementKind::Use(unquote(db)),
            _ => StatementKind::Other,
        },
        "SET" => classify_set(sql.parts().0, tokens),
        "BEGIN" => match tokens.next() {
            None => StatementKind::Begin,
            Some(t) if is_keyword(&t, "WORK") => StatementKind::Begin,
            _ => StatementKind::Other, // BEGIN NOT ATOMIC ... (compound statement)
        },
        "START" => match tokens.next() {
            Some(t) if is_keyword(&t, "TRANSACTION") => StatementKind::Begin,
            _ => StatementKind::Other,
        },
        "COMMIT" => commit_or_other(tokens, StatementKind::Commit),
        "ROLLBACK" => commit_or_other(tokens, StatementKind::Rollback),
        "SHOW" => classify_show(tokens),
        "LOCK" | "UNLOCK" | "PREPARE" | "EXECUTE" | "DEALLOCATE" | "XA" | "HANDLER"
        | "SAVEPOINT" | "RELEASE" => StatementKind::Stateful,
        "CREATE" => match tokens.next() {
            Some(t) if is_keyword(&t, "TEMPORARY") => StatementKind::Stateful,
            _ => StatementKind::Other,
        },
        "KILL" => StatementKind::Kill,
        "DESCRIBE" | "DESC" | "EXPLAIN" => StatementKind::Metadata,
        "PREVIEW" => StatementKind::Admin,
        "RELOAD" => match tokens.next() {
            Some(t) if is_keyword(&t, "CONFIG") => StatementKind::Admin,
            _ => StatementKind::Other,
        },
        _ => StatementKind::Other,
    }
}

/// `SET` is `Set` only when it changes this session's state (session
/// variables, user variables, `SET TRANSACTION`, `SET ROLE`): `SET GLOBAL`,
/// `SET PASSWORD` and `SET DEFAULT ROLE` change the server or an account
/// and pass through as `Other`. `SET STATEMENT ... FOR <stmt>` changes
/// nothing after it and is classified as <stmt> when that is a `Select`,
/// `Write` or `Stateful` statement (else `Other`); its text still starts with
/// `SET STATEMENT`, and `set_statement_body` gives the statement it runs.
fn classify_set(sql: &[u8], mut tokens: Scanner<'_>) -> StatementKind {
    let Some(next) = tokens.next() else {
        return StatementKind::Set; // the server answers the syntax error
    };
    let is = |kw: &str| is_keyword(&next, kw);
    if is("STATEMENT") {
        return match super::effects::set_statement_body(sql).map(classify) {
            Some(
                kind @ (StatementKind::Select | StatementKind::Write | StatementKind::Stateful),
            ) => kind,
            _ => StatementKind::Other,
        };
    }
    if is("PASSWORD") || (is("DEFAULT") && tokens.next().is_some_and(|t| is_keyword(&t, "ROLE"))) {
        return StatementKind::Other;
    }
    let global_first = is("GLOBAL")
        || is("PERSIST")
        || is("PERSIST_ONLY")
        || matches!(next, Token::Variable(v) if v.len() > 9 && v[..9].eq_ignore_ascii_case("@@global."));
    if global_first && super::effects::set_kind(sql) == super::effects::SetKind::Global {
        return StatementKind::Other;
    }
    StatementKind::Set
}

/// `COMMIT`/`ROLLBACK` optionally followed by `WORK`; anything more
/// (`ROLLBACK TO SAVEPOINT x`, `COMMIT AND CHAIN`) passes through as `Other`.
fn commit_or_other(mut tokens: Scanner<'_>, kind: StatementKind) -> StatementKind {
    match tokens.next() {
        None => kind,
        Some(t) if is_keyword(&t, "WORK") && tokens.next().is_none() => kind,
        _ => StatementKind::Other,
    }
}

fn classify_show(mut tokens: Scanner<'_>) -> StatementKind {
    let mut next = tokens.next();
    if next.is_some_and(|t| is_keyword(&t, "DATABASES") || is_keyword(&t, "SCHEMAS")) {
        return match (tokens.next(), tokens.next()) {
            (None, _) => StatementKind::ShowDatabases { like: None },
            (Some(t), Some(Token::Str(p))) if is_keyword(&t, "LIKE") => {
                StatementKind::ShowDatabases {
                    like: Some(unquote_string(p)),
                }
            }
            _ => StatementKind::Other,
        };
    }
    // `SHOW KEY GENERATORS` (MySQL itself has only SHOW KEYS).
    let admin = ["SHARDING", "BACKENDS", "KEY", "XA"];
    if next.is_some_and(|t| admin.iter().any(|kw| is_keyword(&t, kw))) {
        return StatementKind::Admin;
    }
    if next.is_some_and(|t| is_keyword(&t, "GRANTS")) {
        return match (tokens.next(), tokens.next()) {
            (None, _) => StatementKind::ShowGrants { for_user: None },
            (Some(t), Some(user)) if is_keyword(&t, "FOR") => {
                let start = match user {
                    Token::Word(w) | Token::Quoted(w) | Token::Str(w) => w,
                    _ => "",
                };
                let mut account = match user {
                    Token::Str(s) => unquote_string(s),
                    _ => unquote(start),
                };
                // `'app'@'%'` arrives as a string then a variable token.
                if let Some(Token::Variable(host)) = tokens.next() {
                    account.push_str(host);
                }
                StatementKind::ShowGrants {
                    for_user: Some(account),
                }
            }
            _ => StatementKind::Metadata,
        };
    }
    let full = next.is_some_and(|t| is_keyword(&t, "FULL"));
    if full {
        next = tokens.next();
    }
    if next.is_some_and(|t| is_keyword(&t, "PROCESSLIST")) && tokens.clone().next().is_none() {
        return StatementKind::ShowProcesslist { full };
    }
    if !next.is_some_and(|t| is_keyword(&t, "TABLES")) {
        return StatementKind::Metadata;
    }
    let mut from = None;
    let mut like = None;
    let mut next = tokens.next();
    if next.is_some_and(|t| is_keyword(&t, "FROM") || is_keyword(&t, "IN")) {
        match tokens.next() {
            Some(Token::Word(db)) | Some(Token::Quoted(db)) => from = Some(unquote(db)),
            _ => return StatementKind::Metadata,
        }
        next = tokens.next();
    }
    match next {
        None => {}
        Some(t) if is_keyword(&t, "LIKE") => match (tokens.next(), tokens.next()) {
            (Some(Token::Str(p)), None) => like = Some(unquote_string(p)),
            _ => return StatementKind::Metadata,
        },
        Some(_) => return StatementKind::Metadata,
    }
    StatementKind::ShowTables { full, from, like }
}

/// A backquoted identifier's name (doubled backquotes collapsed).
pub fn unquote(ident: &str) -> String {
    ident.replace("``", "`")
}

/// The value of a string literal token (quotes removed, escapes resolved).
pub fn unquote_string(literal: &str) -> String {
    let quote = literal.chars().next().unwrap_or('\'');
    let inner = literal
        .strip_prefix(quote)
        .and_then(|s| s.strip_suffix(quote))
        .unwrap_or(literal);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('Z') => out.push('\x1a'),
                // MySQL keeps the backslash of `\%` and `\_` (they matter to LIKE).
                Some(c @ ('%' | '_')) => {
                    out.push('\\');
                    out.push(c);
                }
                Some(other) => out.push(other),
                None => {}
            },
            c if c == quote => {
                // A doubled quote stands for one.
                if chars.clone().next() == Some(quote) {
                    chars.next();
                }
                out.push(quote);
            }
            c => out.push(c),
        }
    }
    out
}

/// SQL LIKE with `%` and `_` (and `\` escapes), case-insensitive as for identifiers.
pub fn like_matches(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some(('_', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                !t.is_empty() && t[0].eq_ignore_ascii_case(&rest[0]) && go(&rest[1..], &t[1..])
            }
            Some((c, rest)) => !t.is_empty() && t[0].eq_ignore_ascii_case(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let cases = [
            ("  select 1", StatementKind::Select),
            ("/* x */ (SELECT 1)", StatementKind::Select),
            ("USE `my``db`", StatementKind::Use("my`db".into())),
            ("use shop", StatementKind::Use("shop".into())),
            ("SET NAMES utf8mb4", StatementKind::Set),
            ("SET @x = 1", StatementKind::Set),
            ("SET TRANSACTION READ ONLY", StatementKind::Set),
            ("SET ROLE r", StatementKind::Set),
            ("SET GLOBAL max_connections = 10", StatementKind::Other),
            ("set @@GLOBAL.wait_timeout = 5", StatementKind::Other),
            (
                "SET GLOBAL wait_timeout = 5, SESSION sql_mode = ''",
                StatementKind::Set,
            ),
            ("SET PASSWORD = PASSWORD('x')", StatementKind::Other),
            ("SET DEFAULT ROLE r FOR u", StatementKind::Other),
            (
                "SET STATEMENT max_statement_time = 1 FOR SELECT 1",
                StatementKind::Select,
            ),
            (
                "SET STATEMENT sql_mode = '' FOR INSERT INTO t VALUES (1)",
                StatementKind::Write,
            ),
            (
                "SET STATEMENT sql_mode = '' FOR XA START 'x'",
                StatementKind::Stateful,
            ),
            (
                "SET STATEMENT sql_mode = '' FOR SHOW TABLES",
                StatementKind::Other,
            ),
            ("SET STATEMENT sql_mode = ''", StatementKind::Other),
            ("begin", StatementKind::Begin),
            ("BEGIN WORK", StatementKind::Begin),
            ("START TRANSACTION READ ONLY", StatementKind::Begin),
            ("commit", StatementKind::Commit),
            ("COMMIT WORK", StatementKind::Commit),
            ("COMMIT AND CHAIN", StatementKind::Other),
            ("ROLLBACK TO SAVEPOINT a", StatementKind::Other),
            ("rollback", StatementKind::Rollback),
            (
                "SHOW DATABASES",
                StatementKind::ShowDatabases { like: None },
            ),
            (
                "SHOW FULL TABLES FROM `shop` LIKE 't\\_%'",
                StatementKind::ShowTables {
                    full: true,
                    from: Some("shop".into()),
                    like: Some("t\\_%".into()),
                },
            ),
            (
                "show tables",
                StatementKind::ShowTables {
                    full: false,
                    from: None,
                    like: None,
                },
            ),
            ("SHOW TABLES WHERE x", StatementKind::Metadata),
            ("SHOW VARIABLES LIKE 'a'", StatementKind::Metadata),
            ("DESC t", StatementKind::Metadata),
            ("SHOW GRANTS", StatementKind::ShowGrants { for_user: None }),
            (
                "SHOW GRANTS FOR CURRENT_USER",
                StatementKind::ShowGrants {
                    for_user: Some("CURRENT_USER".into()),
                },
            ),
            (
                "SHOW GRANTS FOR 'app'@'%'",
                StatementKind::ShowGrants {
                    for_user: Some("app@'%'".into()),
                },
            ),
            (
                "SHOW FULL PROCESSLIST",
                StatementKind::ShowProcesslist { full: true },
            ),
            ("XA START 'x'", StatementKind::Stateful),
            ("CREATE TEMPORARY TABLE t (a int)", StatementKind::Stateful),
            ("CREATE TABLE t (a int)", StatementKind::Other),
            ("KILL QUERY 5", StatementKind::Kill),
            ("PREVIEW SELECT 1", StatementKind::Admin),
            ("SHOW SHARDING RULES", StatementKind::Admin),
            ("SHOW KEY GENERATORS", StatementKind::Admin),
            ("SHOW XA TRANSACTIONS", StatementKind::Admin),
            ("RELOAD CONFIG", StatementKind::Admin),
            ("insert into t values (1)", StatementKind::Write),
            ("-- nothing", StatementKind::Empty),
        ];
        for (sql, kind) in cases {
            assert_eq!(classify(sql), kind, "{sql}");
        }
    }

    #[test]
    fn like_patterns() {
        assert!(like_matches("t\\_%", "t_order"));
        assert!(!like_matches("t\\_%", "tx"));
        assert!(like_matches("T_ORD%", "t_order"));
        assert!(like_matches("%", ""));
        assert!(!like_matches("a_", "a"));
    }

    #[test]
    fn string_literals() {
        assert_eq!(unquote_string("'it''s'"), "it's");
        assert_eq!(unquote_string("'a\\'b'"), "a'b");
        assert_eq!(unquote_string("\"x\""), "x");
    }
}
