//! The boundary at a statement's first word and at its end: which
//! statements are refused outright, and the privileges the whole statement
//! needs on the tables it names.

use super::keywords::Kw;
use super::{Pending, State, Verdict};
use crate::config::Privileges;
use crate::error::Error;

impl<'a> State<'_, 'a> {
    /// The first keyword of a statement (top level or in a stored program's body).
    pub(super) fn statement_start(&mut self, kw: Kw, word: &'a str) -> Result<(), Error> {
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

    pub(super) fn finish(self) -> Result<Verdict, Error> {
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

    pub(super) fn ddl_word(&self) -> String {
        if self.ddl_command.is_empty() {
            "CREATE".to_string()
        } else {
            self.ddl_command.to_ascii_uppercase()
        }
    }
}
