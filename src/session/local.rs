//! Statements the session answers itself, because only the proxy knows the
//! answer: the logical schemas, the logical tables, and the server facts
//! that must describe the proxy rather than a backend (`@@socket` must never
//! send a client on this host around the proxy onto a backend's socket).

use crate::sql::classify::{like_matches, unquote};
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// A result set built by the proxy.
#[derive(Debug, Clone)]
pub struct LocalResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// utf8mb4_general_ci, the charset of every text column the proxy builds.
const UTF8MB4: u16 = 45;

/// A VARCHAR column definition named `name`.
pub fn text_column(name: &str) -> Column {
    Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
        .with_name(name.as_bytes())
        .with_org_name(name.as_bytes())
        .with_character_set(UTF8MB4)
        .with_column_length(256 * 4)
}

/// A BIGINT column definition named `name`.
pub fn integer_column(name: &str) -> Column {
    Column::new(ColumnType::MYSQL_TYPE_LONGLONG)
        .with_name(name.as_bytes())
        .with_org_name(name.as_bytes())
        .with_character_set(63)
        .with_column_length(21)
        .with_flags(ColumnFlags::NOT_NULL_FLAG | ColumnFlags::BINARY_FLAG)
}

pub fn text(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

/// What the proxy itself knows about the session, for local answers.
pub struct SessionFacts<'a> {
    pub server_version: &'a str,
    pub schema: Option<&'a str>,
    pub user: &'a str,
    pub client_host: &'a str,
    pub connection_id: u32,
    pub last_insert_id: u64,
    /// `ROW_COUNT()`: the previous statement's affected rows, or -1.
    pub row_count: i64,
}

/// `SHOW DATABASES [LIKE p]`: the user's logical schemas, and
/// `information_schema`, which MariaDB shows every user.
pub fn show_databases(schemas: &[String], like: Option<&str>) -> LocalResult {
    let name = match like {
        Some(p) => format!("Database ({p})"),
        None => "Database".to_string(),
    };
    let information_schema = "information_schema".to_string();
    let mut names: Vec<&String> = schemas
        .iter()
        .chain(std::iter::once(&information_schema))
        .filter(|s| like.is_none_or(|p| like_matches(p, s)))
        .collect();
    names.sort();
    names.dedup();
    LocalResult {
        columns: vec![text_column(&name)],
        rows: names.into_iter().map(|s| vec![text(s)]).collect(),
    }
}

/// `SHOW [FULL] TABLES`: the backend's unsharded tables of the default data
/// source, with actual tables of sharded tables replaced by the logical
/// tables that exist (name, table type).
pub fn show_tables(
    schema: &str,
    full: bool,
    like: Option<&str>,
    backend_tables: Vec<(String, String)>,
    logical_tables: &[(String, String)],
    actual_tables: &[String],
) -> LocalResult {
    let mut tables: Vec<(String, String)> = backend_tables
        .into_iter()
        .filter(|(t, _)| {
            !actual_tables.iter().any(|a| a.eq_ignore_ascii_case(t))
                && !logical_tables
                    .iter()
                    .any(|(l, _)| l.eq_ignore_ascii_case(t))
        })
        .collect();
    tables.extend(logical_tables.iter().cloned());
    tables.retain(|(t, _)| like.is_none_or(|p| like_matches(p, t)));
    tables.sort();
    let mut name = format!("Tables_in_{schema}");
    if let Some(p) = like {
        name = format!("{name} ({p})");
    }
    let mut columns = vec![text_column(&name)];
    if full {
        columns.push(text_column("Table_type"));
    }
    let rows = tables
        .into_iter()
        .map(|(t, kind)| {
            let mut row = vec![text(&t)];
            if full {
                row.push(text(&kind));
            }
            row
        })
        .collect();
    LocalResult { columns, rows }
}

/// One item of a SELECT the proxy answers itself.
enum LocalItem {
    Text(Option<String>),
    Integer(i64),
    Unsigned(u64),
}

/// One item of a `SELECT` of variables and server functions.
#[derive(Debug, Clone)]
pub enum SelectItem {
    /// Answered by the proxy.
    Local(Column, Value),
    /// A system variable the backend answers; `label` is the client's column name.
    Backend { expr: String, label: String },
}

/// `SELECT item [AS alias], ... [LIMIT n]` where every item is a system
/// variable or a server function the proxy knows.
#[derive(Debug, Clone)]
pub struct VariableSelect {
    pub items: Vec<SelectItem>,
    /// `LIMIT 0`.
    pub no_rows: bool,
}

impl VariableSelect {
    pub fn has_local(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, SelectItem::Local(..)))
    }

    /// The result when every item is local.
    pub fn local_result(&self) -> Option<LocalResult> {
        let mut columns = Vec::new();
        let mut row = Vec::new();
        for item in &self.items {
            match item {
                SelectItem::Local(column, value) => {
                    columns.push(column.clone());
                    row.push(value.clone());
                }
                SelectItem::Backend { .. } => return None,
            }
        }
        let rows = if self.no_rows { vec![] } else { vec![row] };
        Some(LocalResult { columns, rows })
    }
}

/// Answers `SELECT item [AS alias], ... [LIMIT n]` when every item is one
/// the proxy knows (`@@version_comment`, `@@socket`, `DATABASE()`, ...).
pub fn local_select(sql: &[u8], facts: &SessionFacts<'_>) -> Option<LocalResult> {
    variable_select(sql, facts)?.local_result()
}

/// Reads a `SELECT` whose items are all system variables or server
/// functions; anything else (a FROM, an expression, a user variable) is `None`.
pub fn variable_select(sql: &[u8], facts: &SessionFacts<'_>) -> Option<VariableSelect> {
    // Every item the proxy answers is `@@name` or `f()`: most statements
    // have neither character and need no scan.
    memchr::memchr2(b'@', b'(', sql)?;
    let mut tokens = Scanner::new(sql).peekable();
    if !tokens.next().is_some_and(|t| is_keyword(&t, "SELECT")) {
        return None;
    }
    let mut items = Vec::new();
    loop {
        let start = tokens.next()?;
        let (mut label, item) = match start {
            Token::Variable(v) if v.starts_with("@@") => {
                let bare = crate::sql::scan::unscoped_variable(v);
                let item = match bare.to_ascii_lowercase().as_str() {
                    "version_comment" => Some(LocalItem::Text(Some("shardgate".into()))),
                    "version" => Some(LocalItem::Text(Some(facts.server_version.into()))),
                    "socket" => Some(LocalItem::Text(None)),
                    _ => None,
                };
                (v.to_string(), item)
            }
            Token::Word(f) => {
                if tokens.next()? != Token::Punct('(') || tokens.next()? != Token::Punct(')') {
                    return None;
                }
                let item = match f.to_ascii_uppercase().as_str() {
                    "DATABASE" | "SCHEMA" => LocalItem::Text(facts.schema.map(str::to_string)),
                    "VERSION" => LocalItem::Text(Some(facts.server_version.into())),
                    "CONNECTION_ID" => LocalItem::Integer(facts.connection_id as i64),
                    "LAST_INSERT_ID" => LocalItem::Unsigned(facts.last_insert_id),
                    // The backend's own count belongs to whichever session used the connection last.
                    "ROW_COUNT" => LocalItem::Integer(facts.row_count),
                    "USER" | "SESSION_USER" | "SYSTEM_USER" => {
                        LocalItem::Text(Some(format!("{}@{}", facts.user, facts.client_host)))
                    }
                    "CURRENT_USER" => LocalItem::Text(Some(format!("{}@%", facts.user))),
                    _ => return None,
                };
                (format!("{f}()"), Some(item))
            }
            _ => return None,
        };
        let expr = label.clone();
        if tokens.peek().is_some_and(|t| is_keyword(t, "AS")) {
            tokens.next();
        }
        match tokens.peek() {
            Some(Token::Quoted(alias)) => {
                label = unquote(alias);
                tokens.next();
            }
            Some(Token::Str(alias)) => {
                label = crate::sql::classify::unquote_string(alias);
                tokens.next();
            }
            Some(Token::Word(alias))
                if !alias.eq_ignore_ascii_case("LIMIT") && !alias.eq_ignore_ascii_case("FROM") =>
            {
                label = alias.to_string();
                tokens.next();
            }
            _ => {}
        }
        items.push(match item {
            Some(LocalItem::Text(v)) => SelectItem::Local(
                text_column(&label),
                v.map(|s| text(&s)).unwrap_or(Value::NULL),
            ),
            Some(LocalItem::Integer(i)) => SelectItem::Local(integer_column(&label), Value::Int(i)),
            Some(LocalItem::Unsigned(u)) => SelectItem::Local(
                integer_column(&label).with_flags(
                    ColumnFlags::NOT_NULL_FLAG
                        | ColumnFlags::BINARY_FLAG
                        | ColumnFlags::UNSIGNED_FLAG,
                ),
                Value::UInt(u),
            ),
            None => SelectItem::Backend { expr, label },
        });
        match tokens.next() {
            None => {
                return Some(VariableSelect {
                    items,
                    no_rows: false,
                })
            }
            Some(Token::Punct(',')) => continue,
            Some(t) if is_keyword(&t, "LIMIT") => {
                let Some(Token::Number(n)) = tokens.next() else {
                    return None;
                };
                if tokens.next().is_some() {
                    return None;
                }
                let no_rows = n.trim_start_matches('0').is_empty();
                return Some(VariableSelect { items, no_rows });
            }
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> SessionFacts<'static> {
        SessionFacts {
            server_version: "8.0.36-shardgate",
            schema: Some("shop"),
            user: "app",
            client_host: "127.0.0.1",
            connection_id: 7,
            last_insert_id: 0,
            row_count: -1,
        }
    }

    #[test]
    fn driver_probes_are_answered_locally() {
        let r = local_select(b"SELECT @@version_comment LIMIT 1", &facts()).unwrap();
        assert_eq!(r.rows, vec![vec![text("shardgate")]]);
        assert_eq!(r.columns[0].name_str(), "@@version_comment");
        let r = local_select(b"select @@socket", &facts()).unwrap();
        assert_eq!(r.rows, vec![vec![Value::NULL]]);
        let r = local_select(b"SELECT DATABASE() AS db, CONNECTION_ID()", &facts()).unwrap();
        assert_eq!(r.rows, vec![vec![text("shop"), Value::Int(7)]]);
        assert_eq!(r.columns[0].name_str(), "db");
    }

    #[test]
    fn anything_else_goes_to_a_backend() {
        for sql in [
            "SELECT @@max_allowed_packet",
            "SELECT 1",
            "SELECT DATABASE() FROM t",
            "SELECT @@version_comment, NOW()",
            "SELECT @@session.transaction_isolation",
        ] {
            assert!(local_select(sql.as_bytes(), &facts()).is_none(), "{sql}");
        }
    }

    #[test]
    fn mixed_variable_selects_keep_the_socket_local() {
        let v = variable_select(
            b"SELECT @@max_allowed_packet,@@wait_timeout,@@socket",
            &facts(),
        )
        .unwrap();
        assert!(v.has_local());
        assert!(
            matches!(&v.items[0], SelectItem::Backend { expr, .. } if expr == "@@max_allowed_packet")
        );
        assert!(matches!(&v.items[2], SelectItem::Local(_, Value::NULL)));
        assert!(v.local_result().is_none());
    }

    #[test]
    fn show_tables_replaces_actual_tables_by_logical_ones() {
        let r = show_tables(
            "shop",
            false,
            None,
            vec![
                ("t_order_0".into(), "BASE TABLE".into()),
                ("t_plain".into(), "BASE TABLE".into()),
                ("t_dict".into(), "BASE TABLE".into()),
            ],
            &[
                ("t_order".into(), "BASE TABLE".into()),
                ("t_dict".into(), "BASE TABLE".into()),
            ],
            &["t_order_0".into(), "t_order_1".into()],
        );
        let names: Vec<_> = r.rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(
            names,
            vec![text("t_dict"), text("t_order"), text("t_plain")]
        );
    }
}
