//! The boundary: a statement may name only its user's logical schemas (and
//! `information_schema`, which the proxy answers), may do on their tables only
//! what the user's `privileges` allow, and may not use what needs a server
//! privilege (files, accounts, replication, global settings). Checked on the
//! scanner's tokens, before anything reaches a backend: one pass, no parse.
//!
//! Names are placed by the keyword before them: after `FROM`, `JOIN`,
//! `INTO`, `TABLE`, `UPDATE`, ... a `x.y` is a table `y` in database `x`;
//! elsewhere `x.y` is a column of table or alias `x`, unless it is `x.y.z`
//! or `x.y(`. The system databases and the backends' own database names are
//! refused wherever they qualify a name, so an alias cannot smuggle them in.

use super::replica_read::ReplicaCheck;
use super::scan::{ScanText, Scanner, Token};
use crate::config::Privileges;
use crate::error::Error;
use keywords::{keyword, Kw};

mod keywords;
mod rules;
mod statement;

/// Who runs a statement and which names they may use.
pub struct Subject<'a> {
    pub user: &'a str,
    /// The client's host, for MySQL's `'user'@'host'` in messages.
    pub host: &'a str,
    /// The logical schemas the user may use.
    pub schemas: &'a [String],
    /// The schema in use, named by 1142 for unqualified tables.
    pub schema: Option<&'a str>,
    pub privileges: Privileges,
    /// The data sources' database names: refused as qualifiers (unless one
    /// is also a logical schema of the user).
    pub backend_databases: &'a [String],
    /// The schema in use's rules: the check also notes whether a word of
    /// the statement names a sharded or broadcast table, so the passthrough
    /// needs no scan of its own.
    pub routed: Option<&'a crate::rules::SchemaRules>,
    /// Whether to note if the statement may read from a replica (there are
    /// replicas): one scan serves both checks.
    pub replica_check: bool,
}

/// What the check learnt about a statement it allows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The statement reads `information_schema`.
    pub information_schema: bool,
    /// It calls a session function the proxy answers (`DATABASE()`,
    /// `VERSION()`, `@@version`, ...; see `sql::session_calls`).
    pub session_calls: bool,
    /// It may change a table's definition: DDL (in a stored program's body
    /// or a prepared text too), `CALL`, `EXECUTE` of a prepared statement.
    pub ddl: bool,
    /// Whether a word of the statement (outside string literals) names a
    /// sharded or broadcast table of [`Subject::routed`], so that the
    /// statement is routed; `None` when the check was given no rules.
    pub names_routed: Option<bool>,
    /// Whether the statement, if a SELECT, may read from a replica
    /// ([`may_read_from_replica`](super::replica_read::may_read_from_replica));
    /// `None` unless [`Subject::replica_check`].
    pub replica_read: Option<bool>,
}

/// Checks one statement (a stored program's body included).
pub fn check(sql: &(impl ScanText + ?Sized), subject: &Subject<'_>) -> Result<Verdict, Error> {
    let mut state = State::new(subject);
    let mut replica = subject
        .replica_check
        .then(|| ReplicaCheck::new(sql.parts().0));
    for token in Scanner::new(sql) {
        if let Some(replica) = &mut replica {
            replica.see(token);
        }
        state.see(token)?;
    }
    let mut verdict = state.finish()?;
    verdict.replica_read = replica.map(|r| r.may_read());
    Ok(verdict)
}

/// The shape of a token, as the name rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Class {
    #[default]
    Nothing,
    /// A word, `quoted` identifier or "double-quoted" text (an identifier under ANSI_QUOTES).
    Name,
    /// A name that is not valid UTF-8.
    Opaque,
    Dot,
    Open,
    Other,
}

#[derive(Debug, Clone, Copy, Default)]
struct Seen<'a> {
    class: Class,
    name: &'a str,
    kw: Kw,
    /// The name stood where a table (or stored object) is named.
    at_table: bool,
}

/// What the next token must be checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// A database name that must be one of the user's (USE, SHOW ... FROM db).
    AllowedDatabase,
    /// The database of CREATE / DROP / ALTER DATABASE: always refused.
    RefusedDatabase,
    /// `PREPARE name` → `FROM` → the statement text.
    PrepareName,
    PrepareFrom,
    StatementText,
    /// `EXECUTE` → `IMMEDIATE`?
    Execute,
    /// `DEFINER` → `=` → the account.
    Definer,
    Engine,
    /// `START` → `SLAVE`?
    Start,
    /// The word after `SHOW [FULL]`.
    ShowWhat,
    /// `SHOW PROCEDURE|FUNCTION|PACKAGE` → `STATUS`?
    ShowRoutine,
}

struct State<'s, 'a> {
    subject: &'s Subject<'s>,
    verdict: Verdict,
    seen: [Seen<'a>; 4],
    index: usize,
    pending: Pending,
    /// The current (top-level or body) statement's first keyword.
    first: Kw,
    at_statement_start: bool,
    table_position: bool,
    in_table_list: bool,
    /// Parentheses opened by a function call (bit set) or not, innermost lowest.
    parens: u64,
    depth: u32,
    /// SHOW: which FROM/IN names the database (1 or 2), and how many seen.
    show_database_from: u8,
    show_froms: u8,
    needed: Privileges,
    ddl_command: &'a str,
    /// The first table named, with its qualifier.
    first_table: Option<(Option<&'a str>, &'a str)>,
    /// A qualifier at a table position: the next name is its table.
    qualified_table: Option<&'a str>,
    sets_sql_mode: bool,
    sql_mode_from_expression: bool,
    /// In a SET, past an assignment's `=`: variables here are read, not set.
    in_set_value: bool,
}

impl<'s, 'a> State<'s, 'a> {
    fn new(subject: &'s Subject<'s>) -> Self {
        State {
            subject,
            verdict: Verdict {
                names_routed: subject.routed.map(|_| false),
                ..Verdict::default()
            },
            seen: [Seen::default(); 4],
            index: 0,
            pending: Pending::None,
            first: Kw::Other,
            at_statement_start: true,
            table_position: false,
            in_table_list: false,
            in_set_value: false,
            parens: 0,
            depth: 0,
            show_database_from: 0,
            show_froms: 0,
            needed: Privileges::NONE,
            ddl_command: "",
            first_table: None,
            qualified_table: None,
            sets_sql_mode: false,
            sql_mode_from_expression: false,
        }
    }

    fn denied_database(&self, database: &str) -> Error {
        Error::database_denied(self.subject.user, self.subject.host, database)
    }

    /// A name used as a database: one of the user's schemas or information_schema.
    fn database(&mut self, name: &str) -> Result<(), Error> {
        if name.eq_ignore_ascii_case("information_schema") {
            self.verdict.information_schema = true;
            return Ok(());
        }
        if self.subject.schemas.iter().any(|s| s == name) {
            return Ok(());
        }
        Err(self.denied_database(name))
    }

    /// A qualifier anywhere: the system and backend databases are refused
    /// even where the name could be an alias.
    fn qualifier(&mut self, name: &str) -> Result<(), Error> {
        if name.eq_ignore_ascii_case("information_schema") {
            self.verdict.information_schema = true;
            return Ok(());
        }
        let system = ["mysql", "performance_schema", "sys"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name));
        let backend = self
            .subject
            .backend_databases
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name));
        if (system || backend) && !self.subject.schemas.iter().any(|s| s == name) {
            return Err(self.denied_database(name));
        }
        Ok(())
    }

    fn see(&mut self, token: Token<'a>) -> Result<(), Error> {
        let (class, name) = match token {
            Token::Word(w) | Token::Quoted(w) => {
                if let (Some(false), Some(rules)) = (self.verdict.names_routed, self.subject.routed)
                {
                    self.verdict.names_routed = Some(rules.names_routed(w));
                }
                (Class::Name, w)
            }
            Token::Str(s) if s.starts_with('"') => (Class::Name, s.trim_matches('"')),
            Token::Other => (Class::Opaque, ""),
            Token::Punct('.') => (Class::Dot, ""),
            Token::Punct('(') => (Class::Open, ""),
            _ => (Class::Other, ""),
        };
        let kw = match token {
            Token::Word(w) => keyword(w),
            _ => Kw::Other,
        };
        self.names(class)?;
        let at_table = self.table_position && class == Class::Name && kw == Kw::Other;
        if at_table {
            self.table_position = false;
        }
        if class == Class::Name && kw == Kw::Other {
            if let Some(schema) = self.qualified_table.take() {
                if self.seen[0].class == Class::Dot {
                    self.first_table.get_or_insert((Some(schema), name));
                }
            }
        }
        self.pending(token, kw)?;
        self.keywords(token, kw, at_table)?;
        if at_table && self.first_table.is_none() {
            self.first_table = Some((None, name));
        }
        self.seen = [
            Seen {
                class,
                name,
                kw,
                at_table,
            },
            self.seen[0],
            self.seen[1],
            self.seen[2],
        ];
        self.index += 1;
        Ok(())
    }

    /// The qualifier rules, on the token after the name they concern.
    fn names(&mut self, class: Class) -> Result<(), Error> {
        let [p0, p1, p2, p3] = self.seen;
        if class == Class::Dot && p1.class != Class::Dot {
            match p0.class {
                Class::Opaque => {
                    return Err(Error::not_supported("a qualifier that is not valid UTF-8"))
                }
                Class::Name => {
                    self.qualifier(p0.name)?;
                    if p0.at_table {
                        self.database(p0.name)?;
                        self.qualified_table = Some(p0.name);
                        if self
                            .first_table
                            .is_some_and(|(s, t)| s.is_none() && t == p0.name)
                        {
                            self.first_table = None;
                        }
                    }
                }
                _ => {}
            }
        }
        // `db.t.col` and `db.func(`: the first part is a database.
        if matches!(class, Class::Dot | Class::Open)
            && p0.class == Class::Name
            && p1.class == Class::Dot
            && p2.class == Class::Name
            && p3.class != Class::Dot
            && !p2.at_table
        {
            self.database(p2.name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
