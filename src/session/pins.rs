//! What a statement does to the session beyond its answer, as far as the
//! multiplexer must know: whether it leaves state on its backend connection
//! that no replay reproduces (then the session stays on that connection),
//! locks or unlocks tables, or needs the connection kept for the next
//! statement. Read from the scanner's tokens; the server's own reports
//! (IN_TRANS) are read from its packets instead.

use crate::sql::scan::{is_keyword, Scanner, Token};

/// The effects of one statement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    sticky: bool,
    locks: bool,
    unlocks: bool,
    holds_next: bool,
}

impl Effects {
    /// Pins the session to its connection until it ends or resets.
    pub fn sticky(&self) -> bool {
        self.sticky
    }
    pub fn locks_tables(&self) -> bool {
        self.locks
    }
    pub fn unlocks_tables(&self) -> bool {
        self.unlocks
    }
    /// Keeps the connection for the next statement (SQL_CALC_FOUND_ROWS).
    pub fn holds_next(&self) -> bool {
        self.holds_next
    }
}

/// Functions whose effect outlives the statement on its connection.
const STICKY_FUNCTIONS: [&str; 3] = ["GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS"];

/// Leading keywords of statements that leave state on the connection.
const STICKY_STATEMENTS: [&str; 6] = ["PREPARE", "EXECUTE", "DEALLOCATE", "CALL", "HANDLER", "XA"];

pub fn effects(sql: &[u8]) -> Effects {
    let mut effects = Effects::default();
    let mut tokens = Scanner::new(sql);
    let Some(first) = tokens.next() else {
        return effects;
    };
    let second = tokens.next();
    if STICKY_STATEMENTS.iter().any(|kw| is_keyword(&first, kw)) {
        effects.sticky = true;
    }
    if is_keyword(&first, "LOCK") {
        effects.locks = true;
    }
    if is_keyword(&first, "FLUSH") {
        effects.locks = sql.windows(9).any(|w| w.eq_ignore_ascii_case(b"READ LOCK"));
    }
    if is_keyword(&first, "UNLOCK") {
        effects.unlocks = true;
    }
    if is_keyword(&first, "CREATE") && second.as_ref().is_some_and(|t| is_keyword(t, "TEMPORARY")) {
        effects.sticky = true;
    }
    if is_keyword(&first, "SET") {
        // SET TRANSACTION (the next transaction's characteristics) and user variables.
        if second.as_ref().is_some_and(|t| is_keyword(t, "TRANSACTION")) {
            effects.sticky = true;
        }
    }
    if !sql.contains(&b'@') && !sql.contains(&b'(') && !sql.windows(19).any(|w| w.eq_ignore_ascii_case(b"SQL_CALC_FOUND_ROWS")) {
        return effects;
    }
    let mut previous: Option<Token<'_>> = Some(first.clone());
    for token in Scanner::new(sql) {
        match &token {
            Token::Variable(v) if !v.starts_with("@@") => {
                // Any user variable: reading one is harmless only if none was
                // ever set, so a statement that names one stays where they live.
                effects.sticky = true;
            }
            Token::Punct('(') => {
                if let Some(Token::Word(w)) = &previous {
                    if STICKY_FUNCTIONS.iter().any(|f| w.eq_ignore_ascii_case(f)) {
                        effects.sticky = true;
                    }
                }
            }
            Token::Word(w) if w.eq_ignore_ascii_case("SQL_CALC_FOUND_ROWS") => {
                effects.holds_next = true;
            }
            _ => {}
        }
        previous = Some(token);
    }
    effects
}

/// The key a session-state SET is recorded under: the variable of a single
/// `SET [SESSION] name = ...`, else the statement's own text; `None` for a
/// SET that is not replayable session state (user variables, SET
/// TRANSACTION, SET STATEMENT ... FOR, GLOBAL).
pub fn set_key(sql: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(sql).ok()?;
    let tokens: Vec<Token<'_>> = Scanner::new(sql).collect();
    if tokens.iter().any(|t| matches!(t, Token::Variable(v) if !v.starts_with("@@"))) {
        return None;
    }
    let mut rest = tokens.get(1..)?;
    let first = rest.first()?;
    if ["TRANSACTION", "STATEMENT", "GLOBAL", "PASSWORD", "ROLE", "DEFAULT"]
        .iter()
        .any(|kw| is_keyword(first, kw))
        || matches!(first, Token::Variable(v) if v.to_ascii_lowercase().starts_with("@@global."))
    {
        return None;
    }
    if is_keyword(first, "SESSION") || is_keyword(first, "LOCAL") {
        rest = &rest[1..];
    }
    if rest.first().is_some_and(|t| is_keyword(t, "NAMES") || is_keyword(t, "CHARACTER")) {
        return Some("names".into());
    }
    let single = !rest.iter().any(|t| *t == Token::Punct(','));
    match rest.first() {
        Some(Token::Word(w)) if single => Some(w.to_ascii_lowercase()),
        Some(Token::Variable(v)) if single => Some(
            v.trim_start_matches('@')
                .rsplit('.')
                .next()
                .unwrap_or(v)
                .to_ascii_lowercase(),
        ),
        _ => Some(text.trim().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_what_no_replay_reproduces() {
        for sql in [
            "CREATE TEMPORARY TABLE t (a INT)",
            "SET @x = 1",
            "SELECT @y := 5",
            "SELECT 7 INTO @z",
            "SELECT GET_LOCK('a', 1)",
            "DO RELEASE_LOCK('a')",
            "PREPARE s FROM 'SELECT 1'",
            "CALL p()",
            "XA START 'x'",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        ] {
            assert!(effects(sql.as_bytes()).sticky(), "{sql}");
        }
        for sql in ["SELECT 1", "SELECT c FROM t WHERE id = 5", "SELECT @@sql_mode", "SELECT 'GET_LOCK(' "] {
            assert!(!effects(sql.as_bytes()).sticky(), "{sql}");
        }
        assert!(effects(b"LOCK TABLES t WRITE").locks_tables());
        assert!(effects(b"unlock tables").unlocks_tables());
        assert!(effects(b"FLUSH TABLES WITH READ LOCK").locks_tables());
        assert!(effects(b"SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1").holds_next());
    }

    #[test]
    fn set_keys() {
        assert_eq!(set_key(b"SET sql_mode = 'ANSI'").as_deref(), Some("sql_mode"));
        assert_eq!(set_key(b"SET SESSION time_zone='+02:00'").as_deref(), Some("time_zone"));
        assert_eq!(set_key(b"SET @@session.autocommit = 0").as_deref(), Some("autocommit"));
        assert_eq!(set_key(b"SET NAMES latin1").as_deref(), Some("names"));
        assert_eq!(set_key(b"SET a = 1, b = 2").as_deref(), Some("SET a = 1, b = 2"));
        for none in ["SET @x = 1", "SET GLOBAL x = 1", "SET TRANSACTION READ ONLY", "SET STATEMENT a=1 FOR SELECT 1"] {
            assert_eq!(set_key(none.as_bytes()), None, "{none}");
        }
    }
}
