//! The keyword rules of the boundary: what the token after a keyword must
//! be (a permitted database, a statement text), and what each keyword
//! refuses, requires or flags.

use super::keywords::Kw;
use super::{check, Class, Pending, State};
use crate::config::Privileges;
use crate::error::Error;
use crate::sql::classify::unquote_string;
use crate::sql::scan::Token;

impl<'a> State<'_, 'a> {
    pub(super) fn pending(&mut self, token: Token<'a>, kw: Kw) -> Result<(), Error> {
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

    pub(super) fn keywords(
        &mut self,
        token: Token<'a>,
        kw: Kw,
        at_table: bool,
    ) -> Result<(), Error> {
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

    pub(super) fn end_list(&mut self) {
        self.in_table_list = false;
        self.table_position = false;
    }

    pub(super) fn table_list(&mut self) {
        self.in_table_list = true;
        self.table_position = true;
    }
}
