//! The sharding columns' types, read from the backends' table definitions:
//! placement converts a value the way the column stores it (algorithms.md),
//! so `'042'` on an integer column is 42. Read at start-up and after DDL that
//! runs through the proxy; a column not read yet is `Unknown`.

use super::{Backends, UnitRows};
use crate::backend::conn::ConnClass;
use crate::error::Error;
use crate::hash::{HashMap, HashSet};
use crate::merge::RowSource;
use crate::rules::value::ColumnKind;
use crate::rules::ShardingRules;
use arc_swap::ArcSwap;
use mysql_common::value::Value;
use std::sync::Arc;

/// `schema \0 logical table \0 column`, lower-case ([`key_into`]): one
/// string, so a lookup borrows a reused buffer rather than allocating.
type Key = String;

thread_local! {
    /// The buffer [`ColumnKinds::get`] builds its key in.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Writes the key of `schema.table.column` into `out`.
fn key_into(out: &mut String, schema: &str, table: &str, column: &str) {
    out.clear();
    out.push_str(schema);
    out.push('\0');
    out.push_str(table);
    out.push('\0');
    out.push_str(column);
    out.make_ascii_lowercase();
}

/// The kinds known so far; swapped whole on every refresh.
#[derive(Default)]
pub struct ColumnKinds {
    kinds: ArcSwap<HashMap<Key, ColumnKind>>,
    /// (schema, logical table) whose key_generator column is BINARY or
    /// VARBINARY: a UUID key goes there as 16 bytes.
    binary_keys: ArcSwap<HashSet<(String, String)>>,
}

impl ColumnKinds {
    /// The kind of `schema.table.column`, `Unknown` when not read.
    pub fn get(&self, schema: &str, table: &str, column: &str) -> ColumnKind {
        let kinds = self.kinds.load();
        SCRATCH
            .with(|scratch| {
                let mut key = scratch.borrow_mut();
                key_into(&mut key, schema, table, column);
                kinds.get(key.as_str()).copied()
            })
            .unwrap_or(ColumnKind::Unknown)
    }

    /// Whether the key_generator column of `schema.table` (lower-case) is binary.
    pub fn is_binary_key(&self, schema: &str, table: &str) -> bool {
        self.binary_keys
            .load()
            .contains(&(schema.to_string(), table.to_ascii_lowercase()))
    }

    /// Reads every sharding column's type from the first data node of its
    /// table: one query per data source for all its tables (a rule file of
    /// a thousand tables costs a few round trips, not a thousand). Tables
    /// that do not exist yet stay `Unknown`; a data source that cannot be
    /// reached is reported and skipped.
    pub async fn refresh(&self, rules: &ShardingRules, backends: &Backends) -> Vec<Error> {
        let mut kinds = (**self.kinds.load()).clone();
        let mut binary_keys = (**self.binary_keys.load()).clone();
        let mut problems = Vec::new();
        // Each data source's columns, by lower-case actual table; `None`
        // when the data source could not be read.
        let mut read: HashMap<String, Option<TableColumns>> = HashMap::default();
        for (schema_name, schema) in &rules.schemas {
            for (table_name, table) in &schema.tables {
                let Some(node) = table.nodes.first() else {
                    continue;
                };
                if !read.contains_key(&node.data_source) {
                    let columns = match read_types(backends, &node.data_source).await {
                        Ok(columns) => Some(columns),
                        Err(e) => {
                            problems.push(e);
                            None
                        }
                    };
                    read.insert(node.data_source.clone(), columns);
                }
                let Some(Some(columns)) = read.get(&node.data_source) else {
                    continue;
                };
                let key = table.key_generator.as_ref().map(|k| k.column.as_str());
                let at = (schema_name.clone(), table_name.clone());
                binary_keys.remove(&at);
                let found = columns
                    .get(&node.table.to_ascii_lowercase())
                    .map_or(&[][..], Vec::as_slice);
                for (column, data_type) in found {
                    if key == Some(column.as_str()) && data_type.contains("binary") {
                        binary_keys.insert(at.clone());
                    }
                    if table.sharding_columns().contains(column) {
                        let mut key = String::new();
                        key_into(&mut key, schema_name, table_name, column);
                        kinds.insert(key, kind_of(data_type));
                    }
                }
            }
        }
        self.kinds.store(Arc::new(kinds));
        self.binary_keys.store(Arc::new(binary_keys));
        problems
    }
}

/// (column, data type) of each table, by lower-case table name.
type TableColumns = HashMap<String, Vec<(String, String)>>;

/// Every column of every table in `data_source`'s database with its data
/// type, lower-case.
async fn read_types(backends: &Backends, data_source: &str) -> Result<TableColumns, Error> {
    let ds = backends.get(data_source)?;
    // Taken from the pool and closed after: this thread may keep no connection.
    let mut conn = ds.acquire(ConnClass::default(), 0).await?;
    let mut unit = UnitRows::open(
        &mut conn,
        "SELECT LOWER(TABLE_NAME), LOWER(COLUMN_NAME), LOWER(DATA_TYPE) \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
        None,
    )
    .await?;
    let text = |v: &Value| match v {
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let mut found: TableColumns = HashMap::default();
    while let Some(row) = unit.next_row().await? {
        if let [table, name, data_type] = row.as_slice() {
            found
                .entry(text(table))
                .or_default()
                .push((text(name), text(data_type)));
        }
    }
    Ok(found)
}

/// The placement kind of a MySQL data type.
pub fn kind_of(data_type: &str) -> ColumnKind {
    match data_type {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => ColumnKind::Integer,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "binary"
        | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => ColumnKind::String,
        _ => ColumnKind::Unknown,
    }
}
