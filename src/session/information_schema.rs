//! `information_schema` for the logical database: each view the client's
//! query names is replaced by a derived table of the view's rows for the
//! user's backend databases, renamed to the logical schema and table names
//! (one row per logical table: a sharded table's first actual table stands
//! for it, the others are left out), with the session's user as definer.
//! The backend then evaluates the client's own query over those rows, so
//! any WHERE, JOIN, ORDER BY or column list gives MariaDB's answer, typed
//! as the view's columns are.

use crate::sql::scan::{Scanner, Token};

/// What the derived tables rename and keep.
pub struct LogicalNames {
    /// (backend database, logical schema) of the schemas answered.
    pub databases: Vec<(String, String)>,
    /// (backend database, actual table, logical table) of each sharded
    /// table's first actual table there.
    pub tables: Vec<(String, String, String)>,
    /// (backend database, actual table) rows left out: the other actual tables.
    pub hidden: Vec<(String, String)>,
    /// The session's user, shown as every definer.
    pub definer: String,
}

/// The `information_schema` views `sql` names, upper-cased, each once.
pub fn views_named(sql: &str) -> Vec<String> {
    let mut views = Vec::new();
    let tokens: Vec<Token<'_>> = Scanner::new(sql).collect();
    for window in tokens.windows(3) {
        if let [Token::Word(s) | Token::Quoted(s), Token::Punct('.'), Token::Word(v) | Token::Quoted(v)] =
            window
        {
            let view = v.to_ascii_uppercase();
            if s.eq_ignore_ascii_case("information_schema") && !views.contains(&view) {
                views.push(view);
            }
        }
    }
    views
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn is_schema_column(column: &str) -> bool {
    column.ends_with("SCHEMA") || column == "SCHEMA_NAME" || column == "DB"
}

fn is_table_column(column: &str) -> bool {
    matches!(
        column,
        "TABLE_NAME" | "REFERENCED_TABLE_NAME" | "EVENT_OBJECT_TABLE"
    )
}

/// Columns holding SQL text: a view's, routine's, trigger's or event's body.
fn is_definition_column(column: &str) -> bool {
    matches!(
        column,
        "VIEW_DEFINITION" | "ROUTINE_DEFINITION" | "ACTION_STATEMENT" | "EVENT_DEFINITION"
    )
}

/// The derived table standing for `view` with `columns`, or `None` for a
/// view about no schema (CHARACTER_SETS, ...), which stays as it is.
pub fn derived_view(view: &str, columns: &[String], names: &LogicalNames) -> Option<String> {
    let filter = columns.iter().find(|c| is_schema_column(c))?;
    let table_column = columns.iter().find(|c| is_table_column(c));
    // information_schema describes itself too, as on MariaDB.
    let databases: Vec<String> = names
        .databases
        .iter()
        .map(|(db, _)| quote(db))
        .chain(std::iter::once(quote("information_schema")))
        .collect();
    let rename_schema = |c: &str| {
        let mut case = format!("CASE `{c}`");
        for (db, logical) in &names.databases {
            case.push_str(&format!(" WHEN {} THEN {}", quote(db), quote(logical)));
        }
        case.push_str(&format!(" ELSE `{c}` END"));
        case
    };
    let rename_table = |c: &str, schema: &str| {
        let mut case = "CASE".to_string();
        for (db, actual, logical) in &names.tables {
            case.push_str(&format!(
                " WHEN `{schema}` = {} AND `{c}` = {} THEN {}",
                quote(db),
                quote(actual),
                quote(logical)
            ));
        }
        if names.tables.is_empty() {
            return format!("`{c}`");
        }
        case.push_str(&format!(" ELSE `{c}` END"));
        case
    };
    let items: Vec<String> = columns
        .iter()
        .map(|c| {
            let expr = if is_schema_column(c) {
                rename_schema(c)
            } else if is_table_column(c) {
                // A referenced table's schema column sits next to it.
                let has = |name: &str| columns.iter().any(|c| c == name);
                let schema = if c.starts_with("REFERENCED_") && has("REFERENCED_TABLE_SCHEMA") {
                    "REFERENCED_TABLE_SCHEMA"
                } else if c.starts_with("REFERENCED_") && has("UNIQUE_CONSTRAINT_SCHEMA") {
                    // REFERENTIAL_CONSTRAINTS names the referenced schema so.
                    "UNIQUE_CONSTRAINT_SCHEMA"
                } else if c == "EVENT_OBJECT_TABLE" {
                    "EVENT_OBJECT_SCHEMA"
                } else {
                    filter.as_str()
                };
                rename_table(c, schema)
            } else if c == "DEFINER" {
                quote(&format!("{}@%", names.definer))
            } else if is_definition_column(c) {
                // A definition names tables qualified by the backend database.
                let mut expr = format!("`{c}`");
                for (db, logical) in &names.databases {
                    let quoted = |name: &str| format!("`{}`.", name.replace('`', "``"));
                    expr = format!(
                        "REPLACE({expr}, {}, {})",
                        quote(&quoted(db)),
                        quote(&quoted(logical))
                    );
                }
                expr
            } else {
                format!("`{c}`")
            };
            format!("{expr} AS `{c}`")
        })
        .collect();
    let mut sql = format!(
        "(SELECT {} FROM information_schema.`{view}` WHERE `{filter}` IN ({})",
        items.join(", "),
        databases.join(", ")
    );
    if let Some(table) = table_column {
        for (db, actual) in &names.hidden {
            sql.push_str(&format!(
                " AND NOT (`{filter}` = {} AND `{table}` = {})",
                quote(db),
                quote(actual)
            ));
        }
    }
    // LIMIT keeps the derived table from being merged into the client's
    // query: MariaDB's information_schema lookup would take a pushed-down
    // `TABLE_NAME = 'x'`, renamed by the CASE above, for the table to open
    // and find no rows. Merged under another derived table, column labels
    // would also turn into the view's upper-case names.
    sql.push_str(" LIMIT 18446744073709551615");
    sql.push(')');
    Some(sql)
}

/// `sql` with each `information_schema.VIEW` replaced by `derived(VIEW)`,
/// aliased as the view unless the client gave an alias.
pub fn replace_views(sql: &str, derived: impl Fn(&str) -> Option<String>) -> String {
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let mut scanner = Scanner::new(sql);
    let mut recent: Vec<(Token<'_>, usize, usize)> = Vec::new();
    let mut last_end = 0;
    while let Some(token) = scanner.next() {
        let end = scanner.offset();
        let start = match token {
            Token::Word(w) => end - w.len(),
            Token::Quoted(w) => end - w.len() - 2,
            _ => end.saturating_sub(1),
        };
        recent.push((token, start, end));
        last_end = end;
        let n = recent.len();
        if n >= 4 {
            // The token after `information_schema . VIEW` decides the alias.
            if let [(Token::Word(s) | Token::Quoted(s), s_start, _), (Token::Punct('.'), _, _), (Token::Word(v) | Token::Quoted(v), _, v_end), (next, _, _)] =
                &recent[n - 4..]
            {
                if s.eq_ignore_ascii_case("information_schema") {
                    if let Some(text) = derived(&v.to_ascii_uppercase()) {
                        let aliased = matches!(next, Token::Word(w) if !is_clause_word(w))
                            || matches!(next, Token::Quoted(_));
                        let alias = if aliased {
                            String::new()
                        } else {
                            format!(" AS `{v}`")
                        };
                        spans.push((*s_start, *v_end, format!("{text}{alias}")));
                    }
                }
            }
        }
    }
    // A view named last has no token after it.
    let n = recent.len();
    if n >= 3 {
        if let [(Token::Word(s) | Token::Quoted(s), s_start, _), (Token::Punct('.'), _, _), (Token::Word(v) | Token::Quoted(v), _, v_end)] =
            &recent[n - 3..]
        {
            if s.eq_ignore_ascii_case("information_schema") && *v_end == last_end {
                if let Some(text) = derived(&v.to_ascii_uppercase()) {
                    spans.push((*s_start, *v_end, format!("{text} AS `{v}`")));
                }
            }
        }
    }
    let mut out = String::with_capacity(sql.len() + 256);
    let mut copied = 0;
    for (start, end, text) in spans {
        out.push_str(&sql[copied..start]);
        out.push_str(&text);
        copied = end;
    }
    out.push_str(&sql[copied..]);
    out
}

/// Words that follow a table reference without being its alias.
fn is_clause_word(word: &str) -> bool {
    [
        "WHERE",
        "ON",
        "JOIN",
        "LEFT",
        "RIGHT",
        "INNER",
        "CROSS",
        "NATURAL",
        "STRAIGHT_JOIN",
        "GROUP",
        "ORDER",
        "LIMIT",
        "HAVING",
        "UNION",
        "USING",
        "WINDOW",
        "FOR",
        "LOCK",
        "INTO",
        "EXCEPT",
        "INTERSECT",
        "SET",
        "PROCEDURE",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_become_derived_tables_with_logical_names() {
        let names = LogicalNames {
            databases: vec![("shop_0".into(), "shop".into())],
            tables: vec![("shop_0".into(), "t_order_0".into(), "t_order".into())],
            hidden: vec![("shop_0".into(), "t_order_1".into())],
            definer: "app".into(),
        };
        let columns: Vec<String> = ["TABLE_SCHEMA", "TABLE_NAME", "TABLE_ROWS"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let derived = derived_view("TABLES", &columns, &names).unwrap();
        assert!(derived.contains("WHEN 'shop_0' THEN 'shop'"), "{derived}");
        assert!(
            derived.contains("AND NOT (`TABLE_SCHEMA` = 'shop_0' AND `TABLE_NAME` = 't_order_1')"),
            "{derived}"
        );
        let sql = replace_views(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
            |_| Some("(D)".into()),
        );
        assert_eq!(
            sql,
            "SELECT TABLE_NAME FROM (D) AS `TABLES` WHERE TABLE_SCHEMA = 'shop'"
        );
        let sql = replace_views("select * from information_schema.columns c", |_| {
            Some("(D)".into())
        });
        assert_eq!(sql, "select * from (D) c");
        let sql = replace_views("select * from information_schema.`COLUMNS`", |_| {
            Some("(D)".into())
        });
        assert_eq!(sql, "select * from (D) AS `COLUMNS`");
        assert_eq!(
            views_named(
                "SELECT * FROM information_schema.tables t JOIN INFORMATION_SCHEMA.COLUMNS c"
            ),
            vec!["TABLES", "COLUMNS"]
        );
    }
}

mod run {
    use super::super::names::backend_database;
    use super::super::reply::Reply;
    use super::super::{Params, Session};
    use super::{derived_view, replace_views, views_named, LogicalNames};
    use crate::error::Error;
    use crate::execute::fetch_rows;
    use crate::hash::HashMap;
    use mysql_common::value::Value;

    impl Session {
        /// A statement reading `information_schema`: run on the default data
        /// source with each view replaced by its logical rows.
        pub(in crate::session) async fn information_schema_query<R: Reply>(
            &mut self,
            sql: &[u8],
            params: Params,
            reply: &mut R,
            more_after: bool,
        ) -> Result<(), Error> {
            // DATABASE() and the like were replaced by the caller.
            let text = super::super::utf8(sql)?;
            let views = views_named(text);
            let rules = self.schema_rules()?.clone();
            let default = rules.default_data_source.clone();
            let names = self.logical_names(&default);
            let list: Vec<String> = views
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect();
            let mut columns: HashMap<String, Vec<String>> = HashMap::default();
            if !list.is_empty() {
                let query = format!(
                    "SELECT UPPER(TABLE_NAME), COLUMN_NAME FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME IN ({}) ORDER BY TABLE_NAME, ORDINAL_POSITION",
                    list.join(", ")
                );
                let (conn, ds) = self.backend_conn(&default).await?;
                for row in fetch_rows(conn, &ds, &query).await?.rows {
                    if let [Value::Bytes(view), Value::Bytes(column)] = row.as_slice() {
                        columns
                            .entry(String::from_utf8_lossy(view).into_owned())
                            .or_default()
                            .push(String::from_utf8_lossy(column).to_ascii_uppercase());
                    }
                }
            }
            let sessions = self.visible_sessions();
            let rewritten = replace_views(text, |view| {
                let c = columns.get(view)?;
                if view == "PROCESSLIST" {
                    return Some(super::super::facts::processlist_view(&sessions, c));
                }
                derived_view(view, c, &names)
            });
            self.pass_through_unsharded(rewritten.as_bytes(), params, reply, more_after)
                .await
        }

        /// The user's schemas whose default data source is `data_source`, by
        /// their backend database there.
        fn logical_names(&self, data_source: &str) -> LogicalNames {
            let config = &self.generation.config;
            let mut names = LogicalNames {
                databases: Vec::new(),
                tables: Vec::new(),
                hidden: Vec::new(),
                definer: self.user_name().to_string(),
            };
            let Some(db) = backend_database(config, data_source) else {
                return names;
            };
            let schemas = self.user_schemas();
            for schema in schemas {
                let Some(rules) = config.rules.schemas.get(&schema) else {
                    continue;
                };
                if rules.default_data_source != data_source {
                    continue;
                }
                names.databases.push((db.clone(), schema.clone()));
                for table in rules.tables.values() {
                    let mut here = table.nodes.iter().filter(|n| n.data_source == data_source);
                    if let Some(first) = here.next() {
                        names.tables.push((
                            db.clone(),
                            first.table.clone(),
                            table.logical_name.clone(),
                        ));
                    }
                    for other in here {
                        if !names.tables.iter().any(|(_, a, _)| *a == other.table) {
                            names.hidden.push((db.clone(), other.table.clone()));
                        }
                    }
                }
            }
            names
        }
    }
}
