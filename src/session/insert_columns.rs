//! `INSERT INTO t VALUES (...)` into a sharded table: the router needs the
//! column of each value, so the statement gets the table's column list, in
//! the order the first actual table has them (read once, kept until DDL).

use super::Session;
use crate::error::Error;
use crate::execute::fetch_rows;
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::value::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// Column order of logical tables, by (schema, lower-cased table).
#[derive(Default)]
pub struct ColumnOrder {
    // Held only to copy a list in or out, never across an await.
    tables: Mutex<HashMap<(String, String), Vec<String>>>,
}

impl ColumnOrder {
    fn get(&self, schema: &str, table: &str) -> Option<Vec<String>> {
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables
            .get(&(schema.to_string(), table.to_string()))
            .cloned()
    }

    fn put(&self, schema: &str, table: &str, columns: Vec<String>) {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.insert((schema.to_string(), table.to_string()), columns);
    }

    /// DDL may have changed any table.
    pub fn clear(&self) {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The table of an `INSERT|REPLACE [modifiers] [INTO] [schema.]table VALUES`
/// without a column list, and the offset just after its name.
pub fn missing_column_list(sql: &str) -> Option<(String, usize)> {
    let mut scanner = Scanner::new(sql);
    let first = scanner.next()?;
    if !(is_keyword(&first, "INSERT") || is_keyword(&first, "REPLACE")) {
        return None;
    }
    let mut table = None;
    while let Some(token) = scanner.next() {
        let end = scanner.offset();
        match token {
            t if ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"]
                .iter()
                .any(|k| is_keyword(&t, k))
                && table.is_none() => {}
            Token::Punct('.') if table.is_some() => table = None,
            t if table.is_some() => {
                return (is_keyword(&t, "VALUES") || is_keyword(&t, "VALUE"))
                    .then(|| table.take())
                    .flatten();
            }
            Token::Word(w) | Token::Quoted(w) => table = Some((w.replace("``", "`"), end)),
            _ => return None,
        }
    }
    None
}

impl Session {
    /// `sql` with the column list an INSERT into a sharded table lacks, or
    /// `None` when it has one (or is no such INSERT).
    pub(super) async fn with_column_list(&mut self, sql: &str) -> Result<Option<String>, Error> {
        let Some((table, at)) = missing_column_list(sql) else {
            return Ok(None);
        };
        let rules = self.schema_rules()?;
        let Some(rule) = rules.table(&table) else {
            return Ok(None);
        };
        let Some(node) = rule.nodes.first().cloned() else {
            return Ok(None);
        };
        let schema = rules.name.clone();
        let key = table.to_ascii_lowercase();
        let columns = match self.shared.column_order.get(&schema, &key) {
            Some(columns) => columns,
            None => {
                let (conn, ds) = self.backend_conn(&node.data_source).await?;
                let query = format!("SHOW COLUMNS FROM `{}`", node.table.replace('`', "``"));
                let rows = fetch_rows(conn, &ds, &query).await?;
                let columns: Vec<String> = rows
                    .rows
                    .into_iter()
                    .filter_map(|r| match r.into_iter().next() {
                        Some(Value::Bytes(b)) => String::from_utf8(b).ok(),
                        _ => None,
                    })
                    .collect();
                self.shared.column_order.put(&schema, &key, columns.clone());
                columns
            }
        };
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("`{}`", c.replace('`', "``")))
            .collect();
        Ok(Some(format!(
            "{} ({}){}",
            &sql[..at],
            list.join(", "),
            &sql[at..]
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::missing_column_list;

    #[test]
    fn inserts_without_a_column_list() {
        let sql = "INSERT IGNORE INTO shop.t_order VALUES (1, 2)";
        let (table, at) = missing_column_list(sql).unwrap();
        assert_eq!((table.as_str(), &sql[at..]), ("t_order", " VALUES (1, 2)"));
        assert_eq!(
            missing_column_list("insert t_order value (1)").unwrap().0,
            "t_order"
        );
        assert_eq!(
            missing_column_list("INSERT INTO t_order (a) VALUES (1)"),
            None
        );
        assert_eq!(missing_column_list("INSERT INTO t_order SET a = 1"), None);
        assert_eq!(missing_column_list("SELECT 1"), None);
    }
}
