//! Metadata statements (`SHOW COLUMNS|INDEX|CREATE TABLE|TABLE STATUS|...`,
//! `DESCRIBE`, `EXPLAIN`, `SHOW WARNINGS`): answered from one actual table
//! (or every one, for sizes and plans) through its data source, with the
//! logical schema and table names in the statement sent and in the rows
//! returned.

use super::local::{self, text_column, LocalResult};
use super::names::{backend_database, rewrite_identifiers, Renamer};
use super::reply::Reply;
use super::{names_routed_table, utf8, Session};
use crate::error::Error;
use crate::execute::{fetch_rows, Rows};
use crate::hash::HashMap;
use crate::rules::{SchemaRules, TableKind};
use crate::sql::classify::{like_matches, unquote_string};
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::constants::StatusFlags;
use mysql_common::value::Value;

impl Session {
    /// A `SHOW`, `DESCRIBE` or `EXPLAIN` statement.
    pub(super) async fn metadata<R: Reply>(
        &mut self,
        sql: &[u8],
        reply: &mut R,
        more: StatusFlags,
    ) -> Result<(), Error> {
        let text = utf8(sql)?;
        let mut words = Scanner::new(text).filter_map(|t| match t {
            Token::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        });
        let first = words.next().unwrap_or_default();
        let second = words.next().unwrap_or_default();
        let third = words.next().unwrap_or_default();
        let explained = matches!(
            second.as_str(),
            "SELECT"
                | "INSERT"
                | "UPDATE"
                | "DELETE"
                | "REPLACE"
                | "WITH"
                | "EXTENDED"
                | "PARTITIONS"
                | "FORMAT"
        ) || text[first.len()..].trim_start().starts_with('(');
        let result = if first != "SHOW" && explained {
            self.explain(text, &first).await?
        } else if first == "SHOW" && second == "TABLE" && third == "STATUS" {
            self.table_status(text).await?
        } else {
            let structural = super::metadata_cache::structural(&first, &second, &third, explained);
            let mut rows = self.metadata_rows(text, structural).await?;
            if second.contains("VARIABLES") || third == "VARIABLES" {
                self.own_version(&mut rows);
            }
            rows
        };
        self.send_local(
            LocalResult {
                columns: result.columns,
                rows: result.rows,
            },
            reply,
            more,
        )
        .await
    }

    /// `SHOW [FULL] TABLES`: the logical tables of a schema.
    pub(super) async fn show_tables<R: Reply>(
        &mut self,
        full: bool,
        from: Option<String>,
        like: Option<String>,
        reply: &mut R,
        more: StatusFlags,
    ) -> Result<(), Error> {
        let schema = match from {
            Some(s) => {
                let user = self
                    .user
                    .clone()
                    .ok_or_else(|| Error::internal("not logged in"))?;
                self.check_schema(&user, &s)?;
                s
            }
            None => self.schema.clone().ok_or_else(Error::no_database)?,
        };
        let rules = self
            .generation
            .config
            .rules
            .schemas
            .get(&schema)
            .ok_or_else(|| Error::unknown_database(&schema))?
            .clone();
        let text = |v: &Value| match v {
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        // Each data source's tables, read once: a logical table is listed
        // when its first actual table exists, as MariaDB lists only tables
        // that exist.
        let mut listed: HashMap<String, Vec<(String, String)>> = HashMap::default();
        let mut wanted = vec![rules.default_data_source.clone()];
        wanted.extend(
            rules
                .tables
                .values()
                .filter_map(|t| Some(t.nodes.first()?.data_source.clone())),
        );
        for data_source in wanted {
            if listed.contains_key(&data_source) {
                continue;
            }
            let rows: Vec<(String, String)> = self
                .fetch(&data_source, "SHOW FULL TABLES")
                .await?
                .rows
                .iter()
                .filter_map(|r| Some((text(r.first()?), text(r.get(1)?))))
                .collect();
            listed.insert(data_source, rows);
        }
        let type_of = |data_source: &str, table: &str| {
            listed.get(data_source).and_then(|rows| {
                rows.iter()
                    .find(|(t, _)| t.eq_ignore_ascii_case(table))
                    .map(|(_, kind)| kind.clone())
            })
        };
        let default = &rules.default_data_source;
        let mut logical: Vec<(String, String)> = Vec::new();
        for table in rules.tables.values() {
            let Some(node) = table.nodes.first() else {
                continue;
            };
            if let Some(kind) = type_of(&node.data_source, &node.table) {
                logical.push((table.logical_name.clone(), kind));
            }
        }
        for table in &rules.broadcast_tables {
            if let Some(kind) = type_of(default, table) {
                logical.push((table.clone(), kind));
            }
        }
        let rows = listed.remove(default).unwrap_or_default();
        let actual: Vec<String> = actual_table_names(&rules);
        let result = local::show_tables(&schema, full, like.as_deref(), rows, &logical, &actual);
        self.send_local(result, reply, more).await
    }

    /// The rules of the schema a metadata statement names (`FROM crm`,
    /// `crm.t`), else of the schema in use.
    fn named_schema(&self, text: &str) -> Result<SchemaRules, Error> {
        let user_schemas = self.user_schemas();
        let named = Scanner::new(text).find_map(|t| match t {
            Token::Word(w) | Token::Quoted(w) => user_schemas.iter().find(|s| *s == w).cloned(),
            _ => None,
        });
        match named {
            Some(name) => self
                .generation
                .config
                .rules
                .schemas
                .get(&name)
                .cloned()
                .ok_or_else(|| Error::unknown_database(&name)),
            None => self.schema_rules().cloned(),
        }
    }

    fn renamer(&self) -> Renamer {
        let schemas = self.user_schemas();
        Renamer::new(&self.generation.config, &schemas)
    }

    /// Runs `sql` on `data_source` and reads the whole (small) result.
    async fn fetch(&mut self, data_source: &str, sql: &str) -> Result<Rows, Error> {
        let (conn, ds) = self.backend_conn(data_source).await?;
        fetch_rows(conn, &ds, sql).await
    }

    /// The statement on the data source of the first actual table of the
    /// table it names, names made actual; the rows made logical. A
    /// `structural` answer (one on the table's definition alone) is cached.
    async fn metadata_rows(&mut self, text: &str, structural: bool) -> Result<Rows, Error> {
        let rules = self.named_schema(text)?;
        let (data_source, actual) = match names_routed_table(&rules, text.as_bytes()) {
            Some(table) => match rules.table_kind(table) {
                TableKind::Sharded(rule) => match rule.nodes.first() {
                    Some(node) => (
                        node.data_source.clone(),
                        Some((rule.logical_name.clone(), node.table.clone())),
                    ),
                    None => (rules.default_data_source.clone(), None),
                },
                _ => (rules.default_data_source.clone(), None),
            },
            None => (rules.default_data_source.clone(), None),
        };
        let database = backend_database(&self.generation.config, &data_source).unwrap_or_default();
        let sql = rewrite_identifiers(text, |word, _| {
            if let Some((logical, actual)) = &actual {
                if word.eq_ignore_ascii_case(logical) {
                    return Some(actual.clone());
                }
            }
            (word == rules.name).then(|| database.clone())
        });
        let rows = if structural {
            self.fetch_cached(&data_source, &sql).await?
        } else {
            self.fetch(&data_source, &sql).await?
        };
        Ok(self.logical_rows(rows))
    }

    /// Rows and column names with logical names, and the session's user
    /// wherever the backend account would show as a definer.
    fn logical_rows(&self, rows: Rows) -> Rows {
        let renamer = self.renamer();
        let user = self.user_name().to_string();
        let definer_columns: Vec<bool> = rows
            .columns
            .iter()
            .map(|c| c.name_str().eq_ignore_ascii_case("definer"))
            .collect();
        let columns = rows
            .columns
            .into_iter()
            .map(|c| {
                let name = renamer.text(&c.name_str());
                c.with_name(name.as_bytes())
            })
            .collect();
        let rows = rows
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        if definer_columns.get(i) == Some(&true) && v != Value::NULL {
                            return Value::Bytes(format!("{user}@%").into_bytes());
                        }
                        match renamer.value(v) {
                            Value::Bytes(b) => match String::from_utf8(b) {
                                Ok(s) => Value::Bytes(hide_definer(&s, &user).into_bytes()),
                                Err(e) => Value::Bytes(e.into_bytes()),
                            },
                            other => other,
                        }
                    })
                    .collect()
            })
            .collect();
        Rows { columns, rows }
    }

    /// `version` says the proxy's `server.server_version`.
    fn own_version(&self, rows: &mut Rows) {
        let version = self.generation.config.server.server_version.clone();
        for row in &mut rows.rows {
            if row.first() == Some(&Value::Bytes(b"version".to_vec())) && row.len() > 1 {
                row[1] = Value::Bytes(version.clone().into_bytes());
            }
        }
    }

    /// `EXPLAIN <statement>`: on sharded tables, every execution unit's plan
    /// with its data source (a last column); otherwise the backend's.
    async fn explain(&mut self, text: &str, keyword: &str) -> Result<Rows, Error> {
        let start = text
            .to_ascii_uppercase()
            .find(keyword)
            .map(|i| i + keyword.len())
            .unwrap_or(0);
        let statement = text[start..].trim_start();
        let routed = names_routed_table(self.schema_rules()?, statement.as_bytes()).is_some();
        if !routed {
            return self.metadata_rows(text, false).await;
        }
        let plan = self.plan(statement, &[])?;
        let mut result = Rows::default();
        for unit in plan.units {
            let rows = self
                .fetch(&unit.data_source, &format!("EXPLAIN {}", unit.sql))
                .await?;
            if result.columns.is_empty() {
                result.columns = rows.columns;
                result.columns.push(text_column("data_source"));
            }
            for mut row in rows.rows {
                row.push(Value::Bytes(unit.data_source.clone().into_bytes()));
                result.rows.push(row);
            }
        }
        Ok(self.logical_rows(result))
    }

    /// `SHOW TABLE STATUS [FROM db] [LIKE p]`: one row per logical table; a
    /// sharded table's rows and sizes summed over its actual tables.
    async fn table_status(&mut self, text: &str) -> Result<Rows, Error> {
        let rules = self.named_schema(text)?;
        let mut tokens = Scanner::new(text);
        let like = loop {
            match tokens.next() {
                None => break None,
                Some(t) if is_keyword(&t, "LIKE") => match tokens.next() {
                    Some(Token::Str(p)) => break Some(unquote_string(p)),
                    _ => break None,
                },
                _ => {}
            }
        };
        let default = rules.default_data_source.clone();
        let database = backend_database(&self.generation.config, &default).unwrap_or_default();
        let mut status = self
            .fetch(
                &default,
                &format!("SHOW TABLE STATUS FROM `{}`", database.replace('`', "``")),
            )
            .await?;
        let actual: Vec<String> = rules
            .tables
            .values()
            .flat_map(|t| t.nodes.iter().map(|n| n.table.to_ascii_lowercase()))
            .chain(rules.tables.keys().cloned())
            .collect();
        status
            .rows
            .retain(|row| !actual.contains(&cell_text(row.first()).to_ascii_lowercase()));
        for rule in rules.tables.values() {
            let mut summed: Option<Vec<Value>> = None;
            for node in &rule.nodes {
                let db = backend_database(&self.generation.config, &node.data_source)
                    .unwrap_or_default();
                let rows = self
                    .fetch(
                        &node.data_source,
                        &format!(
                            "SHOW TABLE STATUS FROM `{}` WHERE Name = '{}'",
                            db.replace('`', "``"),
                            node.table.replace('\'', "''")
                        ),
                    )
                    .await?;
                let Some(row) = rows.rows.into_iter().next() else {
                    continue;
                };
                match &mut summed {
                    None => summed = Some(row),
                    Some(total) => {
                        // Rows, Avg_row_length is left, Data_length, Index_length, Data_free.
                        for i in [4, 6, 8, 9] {
                            if let (Some(a), Some(b)) = (total.get(i), row.get(i)) {
                                let sum = number(a) + number(b);
                                total[i] = Value::Bytes(sum.to_string().into_bytes());
                            }
                        }
                    }
                }
            }
            if let Some(mut row) = summed {
                row[0] = Value::Bytes(rule.logical_name.clone().into_bytes());
                status.rows.push(row);
            }
        }
        status.rows.retain(|row| {
            like.as_deref()
                .is_none_or(|p| like_matches(p, &cell_text(row.first())))
        });
        status
            .rows
            .sort_by_key(|row| cell_text(row.first()).to_ascii_lowercase());
        Ok(self.logical_rows(status))
    }
}

/// Every actual table name of a schema's sharded tables.
fn actual_table_names(rules: &SchemaRules) -> Vec<String> {
    rules
        .tables
        .values()
        .flat_map(|t| t.nodes.iter().map(|n| n.table.clone()))
        .collect()
}

fn cell_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

fn number(value: &Value) -> u64 {
    match value {
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        Value::UInt(n) => *n,
        Value::Int(n) => (*n).max(0) as u64,
        _ => 0,
    }
}

/// `DEFINER=`account`@`host`` in a definition shows the session's user.
fn hide_definer(text: &str, user: &str) -> String {
    let upper = text.to_ascii_uppercase();
    let Some(at) = upper.find("DEFINER=") else {
        return text.to_string();
    };
    let from = at + "DEFINER=".len();
    let end = text[from..]
        .find(char::is_whitespace)
        .map_or(text.len(), |n| from + n);
    format!(
        "{}`{}`@`%`{}",
        &text[..from],
        user.replace('`', "``"),
        &text[end..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn definers_show_the_proxy_user() {
        assert_eq!(
            super::hide_definer(
                "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1",
                "app"
            ),
            "CREATE ALGORITHM=UNDEFINED DEFINER=`app`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
    }
}
