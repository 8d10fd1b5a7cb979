//! `INSERT INTO t VALUES (...)` into a sharded table: the router needs the
//! column of each value, so the statement gets the table's column list, in
//! the order the first actual table has them (read once, kept in the
//! metadata cache until DDL or a reload).

use super::Session;
use crate::error::Error;
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::value::Value;

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
        let query = format!("SHOW COLUMNS FROM `{}`", node.table.replace('`', "``"));
        let rows = self.fetch_cached(&node.data_source, &query).await?;
        let list: Vec<String> = rows
            .rows
            .into_iter()
            .filter_map(|r| match r.into_iter().next() {
                Some(Value::Bytes(b)) => String::from_utf8(b).ok(),
                _ => None,
            })
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
