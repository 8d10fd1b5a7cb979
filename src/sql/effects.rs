//! The session effects of one statement, read from its tokens, for the
//! multiplexing layer: what pins a session to its backend connection where
//! the server's own reports (OK-packet status flags and session tracking)
//! say nothing or too little. MariaDB reports nothing for `GET_LOCK`,
//! `SELECT @x := 1`, `INTO @x` or `SQL_CALC_FOUND_ROWS`, and only an opaque
//! "state changed" for temporary tables, `SET @x` and `PREPARE`.
//!
//! This runs on every statement, so a statement with no `@` and no `_`
//! followed by LOCK, ROWS or COUNT is judged by its first words alone.

mod set;

pub use set::{set_kind, set_statement_body, SetKind};

use super::scan::{is_keyword, ScanText, Scanner, Token};

/// What one statement does to its session beyond its result: a bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects(u8);

const STICKY: u8 = 1;
const LOCKS_TABLES: u8 = 1 << 1;
const UNLOCKS_TABLES: u8 = 1 << 2;
const HOLDS_NEXT: u8 = 1 << 3;
const READS_WARNINGS: u8 = 1 << 4;
const READS_FOUND_ROWS: u8 = 1 << 5;
const READS_ROW_COUNT: u8 = 1 << 6;
const PREPARES_XA: u8 = 1 << 7;

impl Effects {
    /// Pins the session to its backend connection until the client
    /// disconnects or resets: temporary tables, user variables, lock
    /// functions, SQL-level prepared statements, `CALL`, `HANDLER`,
    /// `sql_log_bin`, compound statements, and `SET` forms
    /// not understood. (A client's own `XA` transaction pins through the
    /// server's IN_TRANS flag instead, from `XA START` to its end.)
    pub fn sticky(&self) -> bool {
        self.0 & STICKY != 0
    }

    /// `LOCK TABLE(S) ...`, `FLUSH TABLES ... WITH READ LOCK | FOR EXPORT`, `BACKUP LOCK`.
    pub fn locks_tables(&self) -> bool {
        self.0 & LOCKS_TABLES != 0
    }

    /// `UNLOCK TABLE(S)`, `BACKUP UNLOCK`.
    pub fn unlocks_tables(&self) -> bool {
        self.0 & UNLOCKS_TABLES != 0
    }

    /// `SQL_CALC_FOUND_ROWS`: keep the connection for the next statement.
    pub fn holds_next(&self) -> bool {
        self.0 & HOLDS_NEXT != 0
    }

    /// `SHOW WARNINGS|ERRORS`, `SHOW COUNT(*) WARNINGS|ERRORS`,
    /// `@@warning_count`, `@@error_count`, `GET DIAGNOSTICS`: must run where
    /// the previous statement ran.
    pub fn reads_warnings(&self) -> bool {
        self.0 & READS_WARNINGS != 0
    }

    /// `FOUND_ROWS()`.
    pub fn reads_found_rows(&self) -> bool {
        self.0 & READS_FOUND_ROWS != 0
    }

    /// `ROW_COUNT()`.
    pub fn reads_row_count(&self) -> bool {
        self.0 & READS_ROW_COUNT != 0
    }

    /// `XA PREPARE`: the connection may hold a prepared branch, which a
    /// `COM_RESET_CONNECTION` would turn into a zombie (never committed).
    pub fn prepares_xa(&self) -> bool {
        self.0 & PREPARES_XA != 0
    }

    /// No effect at all: the statement may run on any connection.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The effects of both (for a multi-statement text).
    pub fn union(self, other: Effects) -> Effects {
        Effects(self.0 | other.0)
    }
}

/// The session effects of one statement's text (as split by
/// [`split_statements`](super::split_statements)).
pub fn effects(sql: &(impl ScanText + ?Sized)) -> Effects {
    let mut tokens = Scanner::new(sql);
    let first = match tokens.next() {
        Some(Token::Word(w)) => w,
        // `(SELECT ...)` and other forms: only their calls and variables.
        Some(_) => return Effects(scan_if_needed(sql)),
        None => return Effects::default(),
    };
    let mut buf = [0u8; 24];
    let Some(slot) = crate::sql::scan::upper_keyword(first, &mut buf) else {
        return Effects(scan_if_needed(sql) | compound_or_label(&mut tokens));
    };
    let next_is =
        |tokens: &Scanner<'_>, kw: &str| tokens.clone().next().is_some_and(|t| is_keyword(&t, kw));
    let bits = match slot {
        b"SELECT" | b"INSERT" | b"UPDATE" | b"DELETE" | b"REPLACE" | b"WITH" | b"VALUES"
        | b"DO" | b"TABLE" | b"LOAD" | b"USE" | b"START" | b"COMMIT" | b"ROLLBACK" => 0,
        b"SET" => match set::scope(sql.parts().0) {
            set::Scope::Sticky => STICKY,
            set::Scope::Statement => {
                // `SET STATEMENT ... FOR <stmt>` has the effects of <stmt>.
                return match set_statement_body(sql.parts().0) {
                    Some(body) => effects(body),
                    None => Effects(STICKY),
                };
            }
            // The next transaction's characteristics follow the session.
            set::Scope::Session | set::Scope::Global | set::Scope::NextTransaction => 0,
        },
        b"SHOW" => show(&mut tokens),
        b"GET" => {
            let mut next = tokens.next();
            if next.is_some_and(|t| is_keyword(&t, "CURRENT") || is_keyword(&t, "STACKED")) {
                next = tokens.next();
            }
            if !next.is_some_and(|t| is_keyword(&t, "DIAGNOSTICS")) {
                0
            } else if tokens.any(|t| matches!(t, Token::Variable(v) if !v.starts_with("@@"))) {
                // `GET DIAGNOSTICS @n = NUMBER` assigns a user variable.
                READS_WARNINGS | STICKY
            } else {
                READS_WARNINGS
            }
        }
        b"LOCK" if next_is(&tokens, "TABLE") || next_is(&tokens, "TABLES") => LOCKS_TABLES,
        b"UNLOCK" if next_is(&tokens, "TABLE") || next_is(&tokens, "TABLES") => UNLOCKS_TABLES,
        b"FLUSH" => flush(&mut tokens),
        b"BACKUP" => match tokens.next() {
            Some(t) if is_keyword(&t, "LOCK") => LOCKS_TABLES,
            Some(t) if is_keyword(&t, "UNLOCK") => UNLOCKS_TABLES,
            _ => STICKY, // BACKUP STAGE ... holds its stage on the connection
        },
        b"PREPARE" | b"EXECUTE" | b"DEALLOCATE" | b"CALL" | b"HANDLER" => STICKY,
        b"XA" if next_is(&tokens, "PREPARE") => PREPARES_XA,
        b"XA" => 0,
        b"DROP" if next_is(&tokens, "PREPARE") => STICKY,
        b"CREATE" | b"ALTER" => match definition(&mut tokens) {
            Definition::Temporary => STICKY,
            // A stored program's body runs later, not now.
            Definition::Program => return Effects::default(),
            Definition::Other => 0,
        },
        b"BEGIN" => {
            if next_is(&tokens, "NOT") {
                STICKY // BEGIN NOT ATOMIC ... END
            } else {
                0
            }
        }
        // Compound statements may do anything a stored program does.
        b"FOR" | b"WHILE" | b"LOOP" | b"REPEAT" | b"IF" | b"CASE" => STICKY,
        _ => compound_or_label(&mut tokens),
    };
    Effects(bits | scan_if_needed(sql))
}

/// `label: LOOP ...` (a compound statement) is sticky; other unknown words are not.
fn compound_or_label(tokens: &mut Scanner<'_>) -> u8 {
    if tokens.next() == Some(Token::Punct(':')) {
        STICKY
    } else {
        0
    }
}

fn show(tokens: &mut Scanner<'_>) -> u8 {
    let mut next = tokens.next();
    if next.is_some_and(|t| is_keyword(&t, "COUNT")) {
        // SHOW COUNT(*) WARNINGS
        if !crate::sql::scan::count_star(tokens) {
            return 0;
        }
        next = tokens.next();
    }
    match next {
        Some(t) if is_keyword(&t, "WARNINGS") || is_keyword(&t, "ERRORS") => READS_WARNINGS,
        _ => 0,
    }
}

/// `FLUSH TABLES [t, ...] WITH READ LOCK` or `FOR EXPORT` holds locks until `UNLOCK TABLES`.
fn flush(tokens: &mut Scanner<'_>) -> u8 {
    let mut previous = None;
    for token in tokens {
        let locks = match previous {
            Some(p) if is_keyword(&p, "READ") => is_keyword(&token, "LOCK"),
            Some(p) if is_keyword(&p, "FOR") => is_keyword(&token, "EXPORT"),
            _ => false,
        };
        if locks {
            return LOCKS_TABLES;
        }
        previous = Some(token);
    }
    0
}

enum Definition {
    /// `CREATE [OR REPLACE] TEMPORARY TABLE|SEQUENCE`.
    Temporary,
    /// `CREATE ... PROCEDURE|FUNCTION|TRIGGER|EVENT|PACKAGE`, `ALTER EVENT`.
    Program,
    Other,
}

/// What a `CREATE` or `ALTER` defines, from its first words.
fn definition(tokens: &mut Scanner<'_>) -> Definition {
    for token in tokens.take(10) {
        let is = |kw: &str| is_keyword(&token, kw);
        if is("TEMPORARY") {
            return Definition::Temporary;
        }
        if is("PROCEDURE") || is("FUNCTION") || is("TRIGGER") || is("EVENT") || is("PACKAGE") {
            return Definition::Program;
        }
        if is("TABLE") || is("VIEW") || is("INDEX") || is("DATABASE") || is("SCHEMA") {
            return Definition::Other;
        }
    }
    Definition::Other
}

/// The effects found by reading every token, when the text holds a `@` or
/// a `_LOCK`, `_ROWS` or `_COUNT` (the calls and keywords of interest all do).
fn scan_if_needed(sql: &(impl ScanText + ?Sized)) -> u8 {
    if needs_scan(sql.parts().0) {
        scan_calls_and_variables(sql)
    } else {
        0
    }
}

fn needs_scan(sql: &[u8]) -> bool {
    memchr::memchr2_iter(b'@', b'_', sql).any(|at| {
        sql[at] == b'@' || {
            let after = &sql[at + 1..];
            let starts = |word: &[u8]| {
                after
                    .get(..word.len())
                    .is_some_and(|a| a.eq_ignore_ascii_case(word))
            };
            starts(b"LOCK") || starts(b"ROWS") || starts(b"COUNT")
        }
    })
}

/// Lock functions, `FOUND_ROWS()`, `ROW_COUNT()`, `SQL_CALC_FOUND_ROWS`,
/// user-variable assignment (`@x := `, `INTO @x`, `SET @x`) and the
/// warning counters, anywhere in the statement (subqueries, `DO`, `CALL` arguments).
fn scan_calls_and_variables(sql: &(impl ScanText + ?Sized)) -> u8 {
    let mut bits = 0;
    let mut tokens = Scanner::new(sql);
    let mut previous: Option<Token<'_>> = None;
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(w) => {
                let call = tokens.clone().next() == Some(Token::Punct('('));
                let is = |kw: &str| w.eq_ignore_ascii_case(kw);
                if call && (is("GET_LOCK") || is("RELEASE_LOCK") || is("RELEASE_ALL_LOCKS")) {
                    bits |= STICKY;
                } else if call && is("FOUND_ROWS") {
                    bits |= READS_FOUND_ROWS;
                } else if call && is("ROW_COUNT") {
                    bits |= READS_ROW_COUNT;
                } else if is("SQL_CALC_FOUND_ROWS") {
                    bits |= HOLDS_NEXT;
                }
            }
            Token::Variable(v) => {
                if let Some(system) = v.strip_prefix("@@") {
                    let name = system.rsplit('.').next().unwrap_or(system);
                    if name.eq_ignore_ascii_case("warning_count")
                        || name.eq_ignore_ascii_case("error_count")
                    {
                        bits |= READS_WARNINGS;
                    }
                } else {
                    let mut after = tokens.clone();
                    let assigned = after.next() == Some(Token::Punct(':'))
                        && after.next() == Some(Token::Punct('='));
                    let target =
                        previous.is_some_and(|p| is_keyword(&p, "INTO") || is_keyword(&p, "SET"));
                    if assigned || target {
                        bits |= STICKY;
                    }
                }
            }
            _ => {}
        }
        previous = Some(token);
    }
    bits
}

#[cfg(test)]
mod tests;
