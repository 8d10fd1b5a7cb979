//! Warnings kept for a client whose connection went back to the pool.
//!
//! After a statement with warnings or an error, the session holds its
//! backend connection for the next statement, so that `SHOW WARNINGS` reads
//! the backend's own list. An idle client must not keep a connection others
//! wait for, though: when a session elsewhere waits for that data source,
//! the list is read once (`SHOW WARNINGS`) and the connection given back;
//! the proxy then answers the diagnostic statements from the copy, until
//! the client runs any other statement.

use super::local::{integer_column, text, text_column, LocalResult};
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::value::Value;

/// A statement that reads the diagnostics area and leaves it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnostic {
    /// `SHOW WARNINGS` (every level) or `SHOW ERRORS` (`errors_only`).
    List { errors_only: bool },
    /// `SHOW COUNT(*) WARNINGS|ERRORS`.
    Count { errors_only: bool },
    /// `SELECT @@warning_count` or `@@error_count`, named as written.
    Variable { errors_only: bool, name: String },
}

/// The diagnostic statement `sql` is, if it is one of the plain forms.
/// Anything else (a LIMIT, more select items) is not: it runs on a backend.
pub fn diagnostic(sql: &[u8]) -> Option<Diagnostic> {
    let mut tokens = Scanner::new(sql).filter(|t| *t != Token::Punct(';'));
    let first = tokens.next()?;
    let which = |t: Option<Token<'_>>| match t {
        Some(t) if is_keyword(&t, "WARNINGS") => Some(false),
        Some(t) if is_keyword(&t, "ERRORS") => Some(true),
        _ => None,
    };
    let found = if is_keyword(&first, "SHOW") {
        let second = tokens.next()?;
        if is_keyword(&second, "COUNT") {
            if !crate::sql::scan::count_star(&mut tokens) {
                return None;
            }
            Diagnostic::Count {
                errors_only: which(tokens.next())?,
            }
        } else {
            Diagnostic::List {
                errors_only: which(Some(second))?,
            }
        }
    } else if is_keyword(&first, "SELECT") {
        let Some(Token::Variable(name)) = tokens.next() else {
            return None;
        };
        let lower = name.to_ascii_lowercase();
        let errors_only = match lower.strip_prefix("@@session.").unwrap_or(&lower) {
            "@@warning_count" | "warning_count" => false,
            "@@error_count" | "error_count" => true,
            _ => return None,
        };
        Diagnostic::Variable {
            errors_only,
            name: name.to_string(),
        }
    } else {
        return None;
    };
    tokens.next().is_none().then_some(found)
}

/// One row of `SHOW WARNINGS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub level: String,
    pub code: u64,
    pub message: String,
}

impl Warning {
    /// A row as the backend sent it (text protocol: Level, Code, Message).
    pub fn from_row(row: &[Value]) -> Option<Warning> {
        let text = |v: &Value| match v {
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        };
        Some(Warning {
            level: text(row.first()?)?,
            code: text(row.get(1)?)?.parse().ok()?,
            message: text(row.get(2)?)?,
        })
    }
}

/// MariaDB's default `max_error_count`: SHOW WARNINGS lists at most this
/// many, while the counts count them all (a merge's GROUP_CONCAT cuts can
/// be more).
const MAX_ERROR_COUNT: usize = 64;

/// The answer to `diagnostic` from the warnings kept.
pub fn answer(diagnostic: &Diagnostic, warnings: &[Warning]) -> LocalResult {
    let counted = |errors_only: bool| {
        warnings
            .iter()
            .filter(|w| !errors_only || w.level == "Error")
            .count() as u64
    };
    match diagnostic {
        Diagnostic::List { errors_only } => LocalResult {
            columns: vec![
                text_column("Level"),
                integer_column("Code"),
                text_column("Message"),
            ],
            rows: warnings
                .iter()
                .filter(|w| !errors_only || w.level == "Error")
                .take(MAX_ERROR_COUNT)
                .map(|w| vec![text(&w.level), Value::UInt(w.code), text(&w.message)])
                .collect(),
        },
        Diagnostic::Count { errors_only } => {
            let name = if *errors_only {
                "@@session.error_count"
            } else {
                "@@session.warning_count"
            };
            LocalResult {
                columns: vec![integer_column(name)],
                rows: vec![vec![Value::UInt(counted(*errors_only))]],
            }
        }
        Diagnostic::Variable { errors_only, name } => LocalResult {
            columns: vec![integer_column(name)],
            rows: vec![vec![Value::UInt(counted(*errors_only))]],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_forms_are_recognised_and_others_are_not() {
        let list = |errors_only| Some(Diagnostic::List { errors_only });
        let count = |errors_only| Some(Diagnostic::Count { errors_only });
        let cases: &[(&str, Option<Diagnostic>)] = &[
            ("SHOW WARNINGS", list(false)),
            ("show errors;", list(true)),
            ("SHOW COUNT(*) WARNINGS", count(false)),
            ("SHOW COUNT ( * ) ERRORS", count(true)),
            (
                "SELECT @@warning_count",
                Some(Diagnostic::Variable {
                    errors_only: false,
                    name: "@@warning_count".into(),
                }),
            ),
            (
                "select @@session.error_count",
                Some(Diagnostic::Variable {
                    errors_only: true,
                    name: "@@session.error_count".into(),
                }),
            ),
            ("SHOW WARNINGS LIMIT 1", None),
            ("SELECT @@warning_count, 1", None),
            ("SHOW VARIABLES", None),
            ("SELECT 1", None),
        ];
        for (sql, want) in cases {
            assert_eq!(&diagnostic(sql.as_bytes()), want, "{sql}");
        }
    }

    #[test]
    fn errors_are_counted_apart_from_warnings() {
        let w = |level: &str| Warning {
            level: level.into(),
            code: 1,
            message: "m".into(),
        };
        let kept = [w("Warning"), w("Error"), w("Note")];
        let errors = answer(&Diagnostic::Count { errors_only: true }, &kept);
        assert_eq!(errors.rows, vec![vec![Value::UInt(1)]]);
        let all = answer(&Diagnostic::List { errors_only: false }, &kept);
        assert_eq!(all.rows.len(), 3);
    }
}
