//! The session facts only the proxy knows: its client sessions (`SHOW
//! PROCESSLIST`, `information_schema.PROCESSLIST`) and `KILL` of them.

use super::local::{integer_column, text, text_column, LocalResult};
use super::registry::Snapshot;
use super::{Session, Shared};
use crate::error::{Error, Origin};
use crate::execute::exec_drop;
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::value::Value;

/// `KILL [CONNECTION | QUERY] [ID] n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill {
    pub id: u32,
    /// `KILL QUERY`: the statement only, the session stays.
    pub query_only: bool,
}

pub fn parse_kill(sql: &[u8]) -> Result<Kill, Error> {
    let mut query_only = false;
    for token in Scanner::new(sql).skip(1) {
        match token {
            t if is_keyword(&t, "QUERY") => query_only = true,
            t if is_keyword(&t, "CONNECTION") || is_keyword(&t, "ID") => {}
            t if is_keyword(&t, "HARD") || is_keyword(&t, "SOFT") => {}
            Token::Number(n) => {
                let id = n.parse().map_err(|_| unknown_thread(n))?;
                return Ok(Kill { id, query_only });
            }
            _ => break,
        }
    }
    Err(Error::not_supported(
        "KILL of anything but a connection id (KILL [QUERY] id)",
    ))
}

fn unknown_thread(id: impl std::fmt::Display) -> Error {
    Error::new(
        1094,
        "HY000",
        format!("Unknown thread id: {id}"),
        Origin::Client,
    )
}

/// Cancels the statement running on one backend thread of the endpoint
/// `endpoint` (its address), from a connection of its own. Kept to one
/// function so the backend layer can replace it.
pub async fn cancel_on_backend(shared: &Shared, endpoint: &str, thread: u32) -> Result<(), Error> {
    let generation = shared.current();
    let pool = generation
        .backends
        .iter()
        .flat_map(|ds| ds.endpoints.iter())
        .find(|e| *e.address == *endpoint)
        .ok_or_else(|| Error::internal(format!("no endpoint {endpoint} any more")))?;
    let mut conn = pool.connect_control().await?;
    let name = conn.data_source.name.clone();
    exec_drop(&mut conn, &name, &format!("KILL QUERY {thread}")).await?;
    Ok(())
}

/// The rows of `SHOW [FULL] PROCESSLIST`, in MariaDB's columns.
pub fn processlist(sessions: &[Snapshot], full: bool) -> LocalResult {
    let columns = vec![
        integer_column("Id"),
        text_column("User"),
        text_column("Host"),
        text_column("db"),
        text_column("Command"),
        integer_column("Time"),
        text_column("State"),
        text_column("Info"),
        text_column("Progress"),
    ];
    let rows = sessions
        .iter()
        .map(|s| {
            let a = &s.activity;
            let info = a.statement.as_deref().map(|t| {
                if full {
                    t.to_string()
                } else {
                    t.chars().take(100).collect()
                }
            });
            vec![
                Value::Int(s.id.into()),
                text(&a.user),
                text(&s.host),
                a.schema.as_deref().map_or(Value::NULL, text),
                text(a.command),
                Value::Int(a.since.elapsed().as_secs() as i64),
                text(if a.command == "Query" {
                    "executing"
                } else {
                    ""
                }),
                info.as_deref().map_or(Value::NULL, text),
                text("0.000"),
            ]
        })
        .collect();
    LocalResult { columns, rows }
}

/// The rows of information_schema.PROCESSLIST as SQL: a derived table typed
/// by the view's own (empty) rows, then one literal row per session.
pub fn processlist_view(sessions: &[Snapshot], columns: &[String]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"));
    let mut sql = "(SELECT * FROM information_schema.PROCESSLIST WHERE FALSE".to_string();
    for s in sessions {
        let a = &s.activity;
        let items: Vec<String> = columns
            .iter()
            .map(|c| match c.as_str() {
                "ID" => s.id.to_string(),
                "USER" => quote(&a.user),
                "HOST" => quote(&s.host),
                "DB" => a.schema.as_deref().map_or("NULL".into(), quote),
                "COMMAND" => quote(a.command),
                "TIME" => a.since.elapsed().as_secs().to_string(),
                "TIME_MS" => a.since.elapsed().as_millis().to_string(),
                "STATE" => quote(if a.command == "Query" {
                    "executing"
                } else {
                    ""
                }),
                "INFO" | "INFO_BINARY" => a.statement.as_deref().map_or("NULL".into(), quote),
                _ => "0".to_string(),
            })
            .collect();
        sql.push_str(" UNION ALL SELECT ");
        sql.push_str(&items.join(", "));
    }
    sql.push(')');
    sql
}

impl Session {
    /// The sessions this session's user may see: all for an admin.
    pub(super) fn visible_sessions(&self) -> Vec<Snapshot> {
        let user = self.user.as_ref();
        let admin = user.is_some_and(|u| u.admin);
        let name = self.user_name().to_string();
        self.shared
            .sessions
            .snapshot()
            .into_iter()
            .filter(|s| admin || s.activity.user == name)
            .collect()
    }

    /// `KILL [QUERY] id` of a proxy session: the statement it runs is
    /// cancelled on every backend thread it uses; `KILL id` also ends it.
    pub(super) async fn kill(&mut self, sql: &[u8]) -> Result<(), Error> {
        let kill = parse_kill(sql)?;
        let target = self
            .shared
            .sessions
            .get(kill.id)
            .ok_or_else(|| unknown_thread(kill.id))?;
        let admin = self.user.as_ref().is_some_and(|u| u.admin);
        if !admin && target.user() != self.user_name() {
            return Err(Error::new(
                1095,
                "HY000",
                format!("You are not owner of thread {}", kill.id),
                Origin::Client,
            ));
        }
        if !kill.query_only {
            target.kill();
        }
        for (endpoint, thread) in target.backend_threads() {
            if let Err(e) = cancel_on_backend(&self.shared, &endpoint, thread).await {
                tracing::warn!("KILL QUERY of session {} on {endpoint}: {e}", kill.id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_statements() {
        assert_eq!(
            parse_kill(b"KILL 7").unwrap(),
            Kill {
                id: 7,
                query_only: false
            }
        );
        assert_eq!(
            parse_kill(b"kill query 7").unwrap(),
            Kill {
                id: 7,
                query_only: true
            }
        );
        assert_eq!(
            parse_kill(b"KILL CONNECTION 9").unwrap(),
            Kill {
                id: 9,
                query_only: false
            }
        );
        assert_eq!(
            parse_kill(b"KILL QUERY ID 3").unwrap(),
            Kill {
                id: 3,
                query_only: true
            }
        );
        assert_eq!(parse_kill(b"KILL USER app").unwrap_err().code, 1235);
    }
}
