//! Metadata answers that depend only on a table's structure (`SHOW COLUMNS`,
//! `SHOW INDEX`, `SHOW CREATE TABLE`, `DESCRIBE`, and the column order an
//! INSERT without a column list needs), kept per actual table so a tool that
//! asks again costs no backend round trip. The cache belongs to a
//! [`Generation`](super::Generation): `RELOAD CONFIG` starts an empty one,
//! and every DDL statement through the proxy empties it. Answers that follow
//! the data (`SHOW TABLE STATUS`, `EXPLAIN`, row counts) are never kept.
//!
//! Prepared statements' metadata is kept the same way: the parameter and
//! column definitions a backend gave for a statement text, so the next
//! client preparing the same text is answered without a backend prepare
//! (each backend connection then prepares it once, at its first execute
//! there), as Vitess and ProxySQL share statement metadata.

use super::Session;
use crate::error::Error;
use crate::execute::{fetch_rows, Rows};
use crate::hash::HashMap;
use std::sync::{Arc, Mutex};

/// More distinct statements than any schema's tools ask; past it, answers
/// are fetched each time rather than kept (a client cannot grow it without bound).
const MAX_ENTRIES: usize = 20_000;

/// (data source, fingerprint of the session state on the connection, the
/// statement sent): `SET NAMES` and `sql_mode` change how a backend answers.
type Key = (String, u64, String);

#[derive(Default)]
pub struct MetadataCache {
    // Held only to copy an answer in or out, never across an await.
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every clear: an answer read before a DDL finished is not stored after it.
    epoch: u64,
    answers: HashMap<Key, Arc<Rows>>,
    described: HashMap<Key, Arc<Described>>,
}

/// A prepared statement's metadata as a backend gave it.
#[derive(Debug)]
pub struct Described {
    pub params: Vec<mysql_common::packets::Column>,
    pub columns: Vec<mysql_common::packets::Column>,
    /// The columns' MariaDB extended metadata fields, as the backend sent them.
    pub extended: Vec<Vec<u8>>,
}

impl MetadataCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &Key) -> Option<Arc<Rows>> {
        self.lock().answers.get(key).cloned()
    }

    pub(super) fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Keeps `rows`, unless the cache was cleared since `epoch` was read.
    fn put(&self, key: Key, epoch: u64, rows: Arc<Rows>) {
        let mut inner = self.lock();
        if inner.epoch == epoch && inner.answers.len() < MAX_ENTRIES {
            inner.answers.insert(key, rows);
        }
    }

    /// The kept metadata of statement `key.2` on data source `key.0`.
    pub(super) fn described(&self, key: &Key) -> Option<Arc<Described>> {
        self.lock().described.get(key).cloned()
    }

    /// Keeps a statement's metadata, unless the cache was cleared since `epoch`.
    pub(super) fn describe(&self, key: Key, epoch: u64, described: Arc<Described>) {
        let mut inner = self.lock();
        if inner.epoch == epoch && inner.described.len() < MAX_ENTRIES {
            inner.described.insert(key, described);
        }
    }

    /// DDL may have changed any table.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.answers.clear();
        inner.described.clear();
    }
}

impl Session {
    /// `sql`'s answer on `data_source`: the kept one, or read and kept.
    /// A session that holds state no fingerprint describes (temporary
    /// tables, which may shadow a table; user variables; SQL-level prepared
    /// statements) neither reads nor fills the cache.
    pub(super) async fn fetch_cached(
        &mut self,
        data_source: &str,
        sql: &str,
    ) -> Result<Rows, Error> {
        let generation = self.generation.clone();
        let cache = &generation.metadata;
        let own_state = self.own_session_state;
        let (conn, ds) = self.backend_conn(data_source).await?;
        if own_state {
            return fetch_rows(conn, &ds, sql).await;
        }
        let key = (ds, conn.state, sql.to_string());
        if let Some(rows) = cache.get(&key) {
            return Ok((*rows).clone());
        }
        let epoch = cache.epoch();
        let rows = fetch_rows(conn, &key.0, sql).await?;
        if !follows_data(&rows) {
            cache.put(key, epoch, Arc::new(rows.clone()));
        }
        Ok(rows)
    }

    /// After a statement that may have changed table definitions: the
    /// cache of this session's generation and of the one in force (a reload
    /// may have installed it meanwhile) are emptied.
    pub(super) fn table_definitions_changed(&self) {
        self.generation.metadata.clear();
        let current = self.shared.current();
        if !Arc::ptr_eq(&current, &self.generation) {
            current.metadata.clear();
        }
    }
}

/// Whether a metadata statement's answer depends only on the structure of
/// the table it names: `SHOW [FULL] COLUMNS|FIELDS`, `SHOW INDEX|INDEXES|KEYS`,
/// `SHOW CREATE TABLE`, `DESCRIBE|DESC t` (upper-cased first words given).
pub fn structural(first: &str, second: &str, third: &str, explained: bool) -> bool {
    match first {
        "SHOW" => match second {
            "COLUMNS" | "FIELDS" | "INDEX" | "INDEXES" | "KEYS" => true,
            "FULL" | "EXTENDED" => {
                matches!(third, "COLUMNS" | "FIELDS" | "INDEX" | "INDEXES" | "KEYS")
            }
            "CREATE" => third == "TABLE",
            _ => false,
        },
        "DESCRIBE" | "DESC" => !explained,
        _ => false,
    }
}

/// `SHOW CREATE TABLE` prints the next AUTO_INCREMENT value, which moves
/// with the data: such an answer is not kept.
fn follows_data(rows: &Rows) -> bool {
    rows.rows.iter().flatten().any(|v| match v {
        mysql_common::value::Value::Bytes(b) => b
            .windows(b"AUTO_INCREMENT=".len())
            .any(|w| w.eq_ignore_ascii_case(b"AUTO_INCREMENT=")),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::structural;

    #[test]
    fn only_definitions_are_kept() {
        for (words, explained, kept) in [
            (["SHOW", "COLUMNS", "FROM"], false, true),
            (["SHOW", "FULL", "FIELDS"], false, true),
            (["SHOW", "KEYS", "FROM"], false, true),
            (["SHOW", "CREATE", "TABLE"], false, true),
            (["DESC", "T_ORDER", ""], false, true),
            (["SHOW", "CREATE", "VIEW"], false, false),
            (["SHOW", "TABLE", "STATUS"], false, false),
            (["DESCRIBE", "SELECT", ""], true, false),
            (["EXPLAIN", "T_ORDER", ""], false, false),
            (["SHOW", "VARIABLES", ""], false, false),
        ] {
            let [a, b, c] = words;
            assert_eq!(structural(a, b, c, explained), kept, "{words:?}");
        }
    }
}
