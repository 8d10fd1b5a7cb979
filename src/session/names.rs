//! Actual names back to logical ones in what a backend says (error
//! messages, warnings, metadata rows), and logical names to actual ones in
//! the metadata statements the proxy sends: a client never sees a backend
//! database or an actual table's name.

use crate::config::Config;
use crate::error::{Error, Origin};
use crate::sql::scan::{Scanner, Token};
use mysql_common::value::Value;

/// Actual name → logical name, for one user's schemas.
#[derive(Debug, Default, Clone)]
pub struct Renamer {
    /// (actual, logical), actual names compared case-insensitively.
    words: Vec<(String, String)>,
}

impl Renamer {
    /// Every backend database of `schemas`' data sources and every actual
    /// table of their sharded tables.
    pub fn new(config: &Config, schemas: &[String]) -> Renamer {
        let mut words: Vec<(String, String)> = Vec::new();
        for name in schemas {
            let Some(rules) = config.rules.schemas.get(name) else {
                continue;
            };
            for ds in &rules.data_sources {
                if let Some(db) = backend_database(config, ds) {
                    if !words.iter().any(|(a, _)| a.eq_ignore_ascii_case(&db)) {
                        words.push((db, name.clone()));
                    }
                }
            }
            for table in rules.tables.values() {
                for node in &table.nodes {
                    if !words
                        .iter()
                        .any(|(a, _)| a.eq_ignore_ascii_case(&node.table))
                    {
                        words.push((node.table.clone(), table.logical_name.clone()));
                    }
                }
            }
        }
        words.retain(|(a, l)| a != l);
        Renamer { words }
    }

    fn logical(&self, word: &str) -> Option<&str> {
        self.words
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(word))
            .map(|(_, l)| l.as_str())
    }

    /// `text` with every actual name (a whole identifier) replaced.
    pub fn text(&self, text: &str) -> String {
        if self.words.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut word_start = None;
        for (i, c) in text.char_indices() {
            let ident = c.is_alphanumeric() || c == '_' || c == '$';
            match (ident, word_start) {
                (true, None) => word_start = Some(i),
                (false, Some(start)) => {
                    self.push_word(&mut out, &text[start..i]);
                    word_start = None;
                    out.push(c);
                }
                (false, None) => out.push(c),
                (true, Some(_)) => {}
            }
        }
        if let Some(start) = word_start {
            self.push_word(&mut out, &text[start..]);
        }
        out
    }

    fn push_word(&self, out: &mut String, word: &str) {
        out.push_str(self.logical(word).unwrap_or(word));
    }

    /// A text cell renamed; other values as they are.
    pub fn value(&self, value: Value) -> Value {
        match value {
            Value::Bytes(bytes) if !self.words.is_empty() => match String::from_utf8(bytes) {
                Ok(s) => Value::Bytes(self.text(&s).into_bytes()),
                Err(e) => Value::Bytes(e.into_bytes()),
            },
            other => other,
        }
    }

    /// A backend's error with logical names; the proxy's own errors as they are.
    pub fn error(&self, mut error: Error) -> Error {
        if error.origin == Origin::Backend {
            error.message = self.text(&error.message);
        }
        error
    }
}

/// The database a data source's primary names.
pub fn backend_database(config: &Config, data_source: &str) -> Option<String> {
    config
        .data_sources
        .get(data_source)
        .and_then(|ds| crate::config::backend_database(&ds.primary))
}

/// `sql` with identifiers replaced where `f` gives a replacement; `f` gets
/// the identifier and whether a `.` follows it (a qualifier).
pub fn rewrite_identifiers(sql: &str, f: impl Fn(&str, bool) -> Option<String>) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut copied = 0;
    let mut scanner = Scanner::new(sql);
    let mut pending: Option<(usize, usize, &str)> = None;
    loop {
        let token = scanner.next();
        let end = scanner.offset();
        if let Some((start, stop, word)) = pending.take() {
            let qualifier = token == Some(Token::Punct('.'));
            if let Some(new) = f(word, qualifier) {
                out.push_str(&sql[copied..start]);
                out.push('`');
                out.push_str(&new.replace('`', "``"));
                out.push('`');
                copied = stop;
            }
        }
        match token {
            None => break,
            Some(Token::Word(w)) => pending = Some((end - w.len(), end, w)),
            Some(Token::Quoted(w)) => pending = Some((end - w.len() - 2, end, w)),
            Some(_) => {}
        }
    }
    out.push_str(&sql[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_replaced_whole() {
        let r = Renamer {
            words: vec![
                ("shop_0".into(), "shop".into()),
                ("t_order_1".into(), "t_order".into()),
            ],
        };
        assert_eq!(
            r.text("Table 'shop_0.t_order_1' doesn't exist; t_order_10 stays"),
            "Table 'shop.t_order' doesn't exist; t_order_10 stays"
        );
        let sql = rewrite_identifiers(
            "SHOW COLUMNS FROM `t_order` FROM shop LIKE 'shop'",
            |w, _| match w {
                "t_order" => Some("t_order_0".into()),
                "shop" => Some("shop_0".into()),
                _ => None,
            },
        );
        assert_eq!(
            sql,
            "SHOW COLUMNS FROM `t_order_0` FROM `shop_0` LIKE 'shop'"
        );
    }
}
