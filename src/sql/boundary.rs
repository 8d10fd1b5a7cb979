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

use super::classify::unquote_string;
use super::replica_read::ReplicaCheck;
use super::scan::{Scanner, Token};
use crate::config::Privileges;
use crate::error::Error;
use keywords::{keyword, Kw};

mod keywords;

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
pub fn check(sql: &[u8], subject: &Subject<'_>) -> Result<Verdict, Error> {
    let mut state = State::new(subject);
    let mut replica = subject.replica_check.then(|| ReplicaCheck::new(sql));
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

    fn pending(&mut self, token: Token<'a>, kw: Kw) -> Result<(), Error> {
        let pending = std::mem::replace(&mut self.pending, Pending::None);
        let name = match token {
            Token::Word(w) | Token::Quoted(w) => Some(w),
            _ => None,
        };
        match pending {
            Pending::None => {}
            Pending::AllowedDatabase | Pending::RefusedDatabase => match name {
                Some(_) if kw == Kw::Modifier || kw == Kw::Subquery => self.pending = pending,
                Some(db) if pending == Pending::RefusedDatabase => {
                    return Err(self.denied_database(db))
                }
                Some(db) => self.database(db)?,
                None if token == Token::Punct('(') => {}
                None => return Err(self.denied_database("")),
            },
            Pending::PrepareName => self.pending = Pending::PrepareFrom,
            Pending::PrepareFrom => {
                if kw == Kw::From {
                    self.pending = Pending::StatementText;
                }
            }
            Pending::Execute => {
                if kw == Kw::Immediate {
                    self.pending = Pending::StatementText;
                }
            }
            Pending::StatementText => match token {
                Token::Str(text) => {
                    let inner = check(unquote_string(text).as_bytes(), self.subject)?;
                    self.verdict.information_schema |= inner.information_schema;
                }
                _ => {
                    return Err(Error::not_supported(
                        "PREPARE or EXECUTE IMMEDIATE of anything but a string literal",
                    ))
                }
            },
            Pending::Definer => match (token, kw) {
                (Token::Punct('='), _) => self.pending = Pending::Definer,
                (_, Kw::CurrentUser) => {}
                _ => return Err(Error::server_privilege("SUPER, SET USER")),
            },
            Pending::Engine => match (token, name) {
                (Token::Punct('='), _) => self.pending = Pending::Engine,
                (_, Some(engine))
                    if ["CONNECT", "FEDERATED", "FEDERATEDX", "SPIDER"]
                        .iter()
                        .any(|e| e.eq_ignore_ascii_case(engine)) =>
                {
                    return Err(Error::server_privilege("FILE"))
                }
                _ => {}
            },
            Pending::Start => {
                if kw == Kw::Replication || kw == Kw::Subquery {
                    return Err(Error::server_privilege("SUPER, REPLICATION SLAVE ADMIN"));
                }
            }
            Pending::ShowWhat => match kw {
                Kw::Full | Kw::Global => self.pending = Pending::ShowWhat,
                Kw::Replication | Kw::Subquery | Kw::Super => {
                    return Err(Error::server_privilege("REPLICATION CLIENT"))
                }
                Kw::Engine | Kw::Process => return Err(Error::server_privilege("PROCESS")),
                Kw::Object | Kw::Routine => self.pending = Pending::ShowRoutine,
                Kw::Tables | Kw::Table | Kw::Other => self.show_database_from = 1,
                Kw::Columns | Kw::Data | Kw::Key => self.show_database_from = 2,
                Kw::Describe => {
                    return Err(Error::server_privilege("PROCESS"));
                }
                Kw::Grant => {}
                _ => {}
            },
            Pending::ShowRoutine => {
                if kw == Kw::Status {
                    // It lists every database's routines; information_schema.ROUTINES is answered for the user's.
                    return Err(Error::not_supported(
                        "SHOW PROCEDURE|FUNCTION STATUS (use information_schema.ROUTINES)",
                    ));
                }
            }
        }
        Ok(())
    }

    fn keywords(&mut self, token: Token<'a>, kw: Kw, at_table: bool) -> Result<(), Error> {
        let start = self.at_statement_start;
        self.at_statement_start = false;
        match token {
            Token::Punct(';') => {
                self.at_statement_start = true;
                self.in_set_value = false;
                self.in_table_list = false;
                self.table_position = false;
                return Ok(());
            }
            Token::Punct('(') => {
                let call = self.seen[0].class == Class::Name && self.seen[0].kw == Kw::Other;
                if self.seen[0].class == Class::Name
                    && crate::sql::session_calls::is_session_function(self.seen[0].name)
                {
                    self.verdict.session_calls = true;
                }
                if self.depth < 64 {
                    self.parens = (self.parens << 1) | u64::from(call);
                }
                self.depth += 1;
                self.in_table_list = false;
                self.table_position = false;
                return Ok(());
            }
            Token::Punct(')') => {
                if self.depth > 0 && self.depth <= 64 {
                    self.parens >>= 1;
                }
                self.depth = self.depth.saturating_sub(1);
                self.in_table_list = false;
                return Ok(());
            }
            Token::Punct(',') => {
                self.table_position = self.in_table_list;
                if self.depth == 0 {
                    self.in_set_value = false;
                }
                return Ok(());
            }
            Token::Punct('=') if self.first == Kw::Set => {
                self.in_set_value = true;
            }
            Token::Punct('.') => return Ok(()),
            Token::Variable(v) => {
                self.table_position = false;
                if v.starts_with("@@") && crate::sql::session_calls::is_session_variable(v) {
                    self.verdict.session_calls = true;
                }
                if self.first == Kw::Set {
                    let lower = v.get(..10).map(str::to_ascii_lowercase);
                    // Reading a global value (`SET x = @@global.x`) changes nothing.
                    if !self.in_set_value
                        && lower.as_deref().is_some_and(|l| {
                            l.starts_with("@@global.") || l.starts_with("@@persist")
                        })
                    {
                        return Err(Error::server_privilege("SUPER"));
                    }
                    if !v.starts_with("@@") && self.sets_sql_mode {
                        self.sql_mode_from_expression = true;
                    }
                    if v.to_ascii_lowercase().ends_with("sql_mode") {
                        self.sets_sql_mode = true;
                    }
                }
                return Ok(());
            }
            Token::Str(s) => {
                self.table_position = false;
                if self.first == Kw::Set && s.to_ascii_uppercase().contains("NO_BACKSLASH_ESCAPES")
                {
                    return Err(Error::not_supported("sql_mode NO_BACKSLASH_ESCAPES"));
                }
                return Ok(());
            }
            Token::Word(_) | Token::Quoted(_) => {}
            _ => {
                self.table_position = false;
                self.in_table_list = false;
                return Ok(());
            }
        }
        if let Token::Quoted(_) = token {
            return Ok(());
        }
        if start {
            let word = match token {
                Token::Word(w) => w,
                _ => "",
            };
            self.statement_start(kw, word)?;
            if self.table_position {
                return Ok(());
            }
        }
        let in_call = self.depth > 0 && self.depth <= 64 && self.parens & 1 == 1;
        match kw {
            Kw::Other => {
                if self.first == Kw::Set && !at_table {
                    if let Token::Word(w) = token {
                        if w.eq_ignore_ascii_case("sql_mode") {
                            self.sets_sql_mode = true;
                        }
                    }
                }
            }
            Kw::Modifier | Kw::Subquery => {}
            Kw::Select => {
                self.needed = self.needed.with(Privileges::SELECT);
                if self.sets_sql_mode {
                    self.sql_mode_from_expression = true;
                }
                self.end_list();
            }
            Kw::From if self.first == Kw::Show => {
                self.show_froms += 1;
                if self.show_froms == self.show_database_from {
                    self.pending = Pending::AllowedDatabase;
                    self.end_list();
                } else {
                    self.table_list();
                }
            }
            Kw::In if self.first == Kw::Show => {
                self.show_froms += 1;
                if self.show_froms == self.show_database_from {
                    self.pending = Pending::AllowedDatabase;
                } else {
                    self.table_list();
                }
            }
            Kw::From if in_call => self.end_list(),
            Kw::From | Kw::Join | Kw::Tables => self.table_list(),
            Kw::Table => self.table_list(),
            Kw::Into | Kw::References | Kw::Object => {
                self.end_list();
                self.table_position = true;
            }
            Kw::To if matches!(self.first, Kw::Ddl) => {
                self.table_list();
            }
            Kw::On if matches!(self.seen[0].kw, Kw::Insert | Kw::Update | Kw::Delete) => {
                self.end_list();
                self.table_position = true;
            }
            Kw::Like if self.first == Kw::Ddl && self.seen[0].at_table => {
                self.table_position = true;
            }
            Kw::Database => {
                self.end_list();
                match self.first {
                    Kw::Ddl => self.pending = Pending::RefusedDatabase,
                    Kw::Show => self.pending = Pending::AllowedDatabase,
                    _ => {}
                }
            }
            Kw::User
                if matches!(self.first, Kw::Ddl | Kw::Show)
                    && matches!(self.seen[0].kw, Kw::Ddl | Kw::Replace | Kw::Modifier) =>
            {
                return Err(Error::server_privilege("CREATE USER"));
            }
            Kw::Password if self.first == Kw::Set && self.seen[0].kw == Kw::Set => {
                return Err(Error::server_privilege("CREATE USER"));
            }
            Kw::Grant if self.seen[0].kw != Kw::Show => {
                return Err(Error::server_privilege("GRANT OPTION"));
            }
            Kw::Global if self.first == Kw::Set => return Err(Error::server_privilege("SUPER")),
            Kw::LoadFile => return Err(Error::server_privilege("FILE")),
            Kw::Outfile if self.seen[0].kw == Kw::Into => {
                return Err(Error::server_privilege("FILE"))
            }
            Kw::Infile if self.seen[0].kw != Kw::Local => {
                return Err(Error::server_privilege("FILE"))
            }
            Kw::Directory if self.seen[0].kw == Kw::Data => {
                return Err(Error::server_privilege("FILE"))
            }
            Kw::Definer => self.pending = Pending::Definer,
            Kw::Engine if self.first != Kw::Show => self.pending = Pending::Engine,
            Kw::Kill if self.index > 0 => return Err(Error::server_privilege("CONNECTION ADMIN")),
            Kw::BodyStart => self.at_statement_start = true,
            Kw::Do if !start => self.at_statement_start = true,
            // `BEGIN NOT ATOMIC` (a compound statement outside a routine): its body follows.
            Kw::Atomic if self.seen[0].kw == Kw::Subquery && self.seen[1].kw == Kw::BodyStart => {
                self.at_statement_start = true
            }
            Kw::For if self.first == Kw::Set => self.at_statement_start = true,
            _ => self.end_list(),
        }
        Ok(())
    }

    fn end_list(&mut self) {
        self.in_table_list = false;
        self.table_position = false;
    }

    fn table_list(&mut self) {
        self.in_table_list = true;
        self.table_position = true;
    }

    /// The first keyword of a statement (top level or in a stored program's body).
    fn statement_start(&mut self, kw: Kw, word: &'a str) -> Result<(), Error> {
        self.first = kw;
        let privileges = match kw {
            Kw::Select | Kw::Read | Kw::Do | Kw::Show => Privileges::SELECT,
            Kw::Describe => {
                self.table_position = true;
                Privileges::SELECT
            }
            Kw::Insert | Kw::Load => {
                self.table_position = true;
                Privileges::INSERT
            }
            Kw::Replace => {
                self.table_position = true;
                Privileges::INSERT.with(Privileges::DELETE)
            }
            Kw::Update => {
                self.table_list();
                Privileges::UPDATE
            }
            Kw::Delete => Privileges::DELETE,
            Kw::Ddl | Kw::Truncate => {
                self.table_position = kw == Kw::Truncate;
                Privileges::DDL
            }
            Kw::Call => {
                // The routine's body is not in sight: it may do any DML.
                self.table_position = true;
                Privileges::SELECT
                    .with(Privileges::INSERT)
                    .with(Privileges::UPDATE)
                    .with(Privileges::DELETE)
            }
            Kw::Shutdown => return Err(Error::server_privilege("SHUTDOWN")),
            Kw::Super => return Err(Error::server_privilege("SUPER")),
            Kw::Reload => return Err(Error::server_privilege("RELOAD")),
            Kw::Grant => return Err(Error::server_privilege("GRANT OPTION")),
            Kw::Start => {
                self.pending = Pending::Start;
                Privileges::NONE
            }
            Kw::Use => {
                self.pending = Pending::AllowedDatabase;
                Privileges::NONE
            }
            Kw::Prepare => {
                self.pending = Pending::PrepareName;
                Privileges::NONE
            }
            Kw::Execute => {
                self.pending = Pending::Execute;
                Privileges::NONE
            }
            _ => Privileges::NONE,
        };
        if kw == Kw::Show {
            self.pending = Pending::ShowWhat;
            self.show_database_from = 0;
            self.show_froms = 0;
        }
        if matches!(kw, Kw::Ddl | Kw::Truncate | Kw::Call | Kw::Execute) {
            self.verdict.ddl = true;
        }
        if matches!(kw, Kw::Ddl | Kw::Truncate) && self.ddl_command.is_empty() {
            // MySQL names TRUNCATE's privilege DROP.
            self.ddl_command = if kw == Kw::Truncate { "DROP" } else { word };
        }
        self.needed = self.needed.with(privileges);
        Ok(())
    }

    fn finish(self) -> Result<Verdict, Error> {
        match self.pending {
            Pending::RefusedDatabase => return Err(self.denied_database("")),
            Pending::StatementText => {
                return Err(Error::not_supported(
                    "PREPARE or EXECUTE IMMEDIATE of anything but a string literal",
                ))
            }
            Pending::Definer => return Err(Error::server_privilege("SUPER, SET USER")),
            _ => {}
        }
        if self.sets_sql_mode && self.sql_mode_from_expression {
            return Err(Error::not_supported(
                "SET sql_mode from a variable or subquery",
            ));
        }
        if let Some((schema, table)) = self.first_table {
            let missing = self.subject.privileges.missing(self.needed);
            if !missing.is_empty() {
                let command = Privileges::NAMES
                    .iter()
                    .find(|(_, p)| missing.contains(*p))
                    .map(|&(name, _)| name)
                    .unwrap_or("select");
                let command = match command {
                    "ddl" => self.ddl_word(),
                    other => other.to_ascii_uppercase(),
                };
                let schema = schema.or(self.subject.schema).unwrap_or("");
                return Err(Error::command_denied(
                    &command,
                    self.subject.user,
                    self.subject.host,
                    schema,
                    table,
                ));
            }
        }
        Ok(self.verdict)
    }

    fn ddl_word(&self) -> String {
        if self.ddl_command.is_empty() {
            "CREATE".to_string()
        } else {
            self.ddl_command.to_ascii_uppercase()
        }
    }
}

#[cfg(test)]
mod tests;
