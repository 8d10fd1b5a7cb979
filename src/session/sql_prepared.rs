//! SQL-level prepared statements on sharded tables (`PREPARE s FROM ...`,
//! `EXECUTE s USING @a`, `DEALLOCATE PREPARE s`). A backend would prepare
//! the text as written, on one data source, with logical table names: so a
//! text that names a sharded or broadcast table is kept by the session
//! instead, and each EXECUTE plans it with the values its `USING` list has
//! then (read from the backend that holds the user variables), which routes
//! and merges it like the statement itself. Other texts go to the backend.

use super::reply::{OkInfo, Reply};
use super::{more_results, names_routed_table, Session};
use crate::error::Error;
use crate::execute::{exec_drop, fetch_rows};
use crate::sql::prepared::{bind, bound_values, Bound, PrepareSource, SqlPrepared};

impl Session {
    /// Runs one SQL-level prepared-statement command.
    pub(super) async fn run_sql_prepared<R: Reply>(
        &mut self,
        command: SqlPrepared<'_>,
        sql: &[u8],
        reply: &mut R,
        more_after: bool,
    ) -> Result<(), Error> {
        let more = more_results(more_after);
        match command {
            SqlPrepared::Prepare { name, source } => {
                let text = match source {
                    PrepareSource::Text(text) => text,
                    PrepareSource::Variable(variable) => {
                        match self.user_values(&variable).await?.first() {
                            Some(Bound::Text(t) | Bound::Binary(t)) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            // NULL or a number: the backend answers as MySQL does.
                            _ => String::new(),
                        }
                    }
                };
                if names_routed_table(self.schema_rules()?, text.as_bytes()).is_none() {
                    self.sql_prepared.remove(&name);
                    return self.pass_through(sql, None, reply, more_after, None).await;
                }
                // Parse errors are the PREPARE's, as in MySQL.
                let statements = crate::sql::parse(&text).map_err(|e| {
                    Error::parse(format!(
                        "{e} (a statement on sharded tables must be understood by shardgate's parser)"
                    ))
                })?;
                if statements.len() != 1 {
                    return Err(Error::not_supported("several statements in one PREPARE"));
                }
                // A statement of that name on the backend is replaced, as
                // MySQL replaces it; there is none if this fails.
                let data_source = self.default_data_source()?;
                let (conn, ds) = self.backend_conn(&data_source).await?;
                let deallocate = format!("DEALLOCATE PREPARE `{}`", name.replace('`', "``"));
                let _ = exec_drop(conn, &ds, &deallocate).await;
                self.sql_prepared.insert(name, text);
                let ok = OkInfo {
                    info: "Statement prepared".into(),
                    ..OkInfo::default()
                };
                reply.ok(&ok, self.status() | more);
                Ok(())
            }
            SqlPrepared::Execute { name, using } => {
                let Some(text) = self.sql_prepared.get(&name).cloned() else {
                    return self.pass_through(sql, None, reply, more_after, None).await;
                };
                let values = match using {
                    Some(list) => self.user_values(list).await?,
                    None => Vec::new(),
                };
                let statement = bind(&text, &values)?;
                Box::pin(self.run_routed(statement.as_bytes(), None, reply, more_after)).await
            }
            SqlPrepared::Deallocate { name } => {
                if self.sql_prepared.remove(&name).is_none() {
                    return self.pass_through(sql, None, reply, more_after, None).await;
                }
                reply.ok(&OkInfo::default(), self.status() | more);
                Ok(())
            }
        }
    }

    /// The values of `list` (`@a, @b`, or any expressions), evaluated by
    /// one `SELECT` on the default data source, which holds the session's
    /// user variables.
    async fn user_values(&mut self, list: &str) -> Result<Vec<Bound>, Error> {
        let data_source = self.default_data_source()?;
        let (conn, ds) = self.backend_conn(&data_source).await?;
        let rows = fetch_rows(conn, &ds, &format!("SELECT {list}")).await?;
        let row = rows.rows.first().map(Vec::as_slice).unwrap_or_default();
        Ok(bound_values(&rows.columns, row))
    }
}
