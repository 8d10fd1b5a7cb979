//! Admin SQL for users with `admin = true`: the route of a statement
//! (`PREVIEW`), the rules (`SHOW SHARDING RULES`) and the backends
//! (`SHOW BACKENDS`), the key generators (`SHOW KEY GENERATORS`). Each
//! builds a small result set from pure data.

mod key_generators;

pub use key_generators::key_generators;

pub mod http;
pub mod metrics;

use crate::execute::Backends;
use crate::plan::ExecutionPlan;
use crate::rules::ShardingRules;
use crate::sql::scan::{is_keyword, Scanner, Token};
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::packets::Column;
use mysql_common::value::Value;

/// A result set built by the proxy.
#[derive(Debug, Clone)]
pub struct AdminResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// An admin statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminStatement<'a> {
    /// `PREVIEW <statement>`: the statement's text.
    Preview(&'a str),
    /// `SHOW SHARDING RULES [FROM schema]`.
    ShowShardingRules(Option<String>),
    /// `SHOW BACKENDS`.
    ShowBackends,
    /// `SHOW KEY GENERATORS [FROM schema]`.
    ShowKeyGenerators(Option<String>),
    /// `RELOAD CONFIG`.
    ReloadConfig,
    /// `SHOW XA TRANSACTIONS`.
    ShowXaTransactions,
}

/// Recognises an admin statement, or `None`.
pub fn parse(sql: &str) -> Option<AdminStatement<'_>> {
    let mut scanner = Scanner::new(sql);
    let first = scanner.next()?;
    if is_keyword(&first, "PREVIEW") {
        return Some(AdminStatement::Preview(sql[scanner.offset()..].trim()));
    }
    let words: Vec<Token<'_>> = std::iter::once(first).chain(scanner).collect();
    let is = |i: usize, kw: &str| words.get(i).is_some_and(|t| is_keyword(t, kw));
    if is(0, "RELOAD") && is(1, "CONFIG") && words.len() == 2 {
        return Some(AdminStatement::ReloadConfig);
    }
    if is(0, "SHOW") && is(1, "XA") && is(2, "TRANSACTIONS") && words.len() == 3 {
        return Some(AdminStatement::ShowXaTransactions);
    }
    if is(0, "SHOW") && is(1, "BACKENDS") && words.len() == 2 {
        return Some(AdminStatement::ShowBackends);
    }
    let from = |rest: Option<&[Token<'_>]>| match rest {
        Some([]) => Some(None),
        Some([from, Token::Word(s) | Token::Quoted(s)]) if is_keyword(from, "FROM") => {
            Some(Some(s.to_string()))
        }
        _ => None,
    };
    if is(0, "SHOW") && is(1, "SHARDING") && is(2, "RULES") {
        return from(words.get(3..)).map(AdminStatement::ShowShardingRules);
    }
    if is(0, "SHOW") && is(1, "KEY") && is(2, "GENERATORS") {
        return from(words.get(3..)).map(AdminStatement::ShowKeyGenerators);
    }
    None
}

fn text_column(name: &str) -> Column {
    Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
        .with_name(name.as_bytes())
        .with_org_name(name.as_bytes())
        .with_character_set(45)
        .with_column_length(1024)
}

fn int_column(name: &str) -> Column {
    Column::new(ColumnType::MYSQL_TYPE_LONGLONG)
        .with_name(name.as_bytes())
        .with_org_name(name.as_bytes())
        .with_character_set(63)
        .with_column_length(20)
        .with_flags(ColumnFlags::BINARY_FLAG)
}

fn text(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

/// `PREVIEW`: one row per execution unit: `data_source`, `actual_sql`.
pub fn preview(plan: &ExecutionPlan) -> AdminResult {
    AdminResult {
        columns: vec![text_column("data_source"), text_column("actual_sql")],
        rows: plan
            .units
            .iter()
            .map(|u| vec![text(&u.data_source), text(&u.sql)])
            .collect(),
    }
}

/// `SHOW SHARDING RULES`: one row per sharded or broadcast table.
pub fn sharding_rules(rules: &ShardingRules, schemas: &[&str]) -> AdminResult {
    let columns = [
        "schema",
        "table",
        "nodes",
        "sharding",
        "key_generator",
        "binding_group",
    ]
    .map(text_column)
    .to_vec();
    let mut rows = Vec::new();
    for (name, schema) in &rules.schemas {
        if !schemas.contains(&name.as_str()) {
            continue;
        }
        for table in schema.tables.values() {
            let key = table
                .key_generator
                .as_ref()
                .map(|k| format!("{} {}", k.column, k.kind.name()))
                .unwrap_or_default();
            let group = schema
                .binding_group_of(&table.logical_name)
                .map(|g| g.join(", "))
                .unwrap_or_default();
            rows.push(vec![
                text(name),
                text(&table.logical_name),
                text(&table.nodes_description()),
                text(&table.sharding_description()),
                text(&key),
                text(&group),
            ]);
        }
        for table in &schema.broadcast_tables {
            let nodes: Vec<String> = schema
                .data_sources
                .iter()
                .map(|ds| format!("{ds}.{table}"))
                .collect();
            rows.push(vec![
                text(name),
                text(table),
                text(&nodes.join(", ")),
                text("broadcast"),
                text(""),
                text(""),
            ]);
        }
    }
    AdminResult { columns, rows }
}

/// `SHOW BACKENDS`: one row per endpoint with its role now, health, lag
/// and its pool's use.
pub fn backends(backends: &Backends) -> AdminResult {
    let columns = vec![
        text_column("data_source"),
        text_column("role"),
        text_column("address"),
        int_column("healthy"),
        int_column("lag_s"),
        int_column("pool_in_use"),
        int_column("pool_idle"),
        int_column("pool_max"),
    ];
    let rows = crate::session::health::pool_readings(backends)
        .into_iter()
        .map(|p| {
            vec![
                text(&p.data_source),
                text(p.role),
                text(&p.endpoint),
                Value::Int(i64::from(p.healthy)),
                // Whole seconds, as the column says; NULL for a primary or when unknown.
                p.lag_s
                    .map_or(Value::NULL, |l| Value::Int(l.floor() as i64)),
                Value::Int(p.in_use),
                Value::Int(p.idle),
                Value::Int(p.max),
            ]
        })
        .collect();
    AdminResult { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_statements() {
        assert_eq!(
            parse("PREVIEW SELECT * FROM t_order WHERE user_id = 1"),
            Some(AdminStatement::Preview(
                "SELECT * FROM t_order WHERE user_id = 1"
            ))
        );
        assert_eq!(
            parse("show sharding rules from `shop`"),
            Some(AdminStatement::ShowShardingRules(Some("shop".into())))
        );
        assert_eq!(parse("SHOW BACKENDS"), Some(AdminStatement::ShowBackends));
        assert_eq!(parse("reload config"), Some(AdminStatement::ReloadConfig));
        assert_eq!(parse("SHOW SHARDING"), None);
        assert_eq!(
            parse("show key generators"),
            Some(AdminStatement::ShowKeyGenerators(None))
        );
        assert_eq!(
            parse("SHOW KEY GENERATORS FROM shop"),
            Some(AdminStatement::ShowKeyGenerators(Some("shop".into())))
        );
        assert_eq!(parse("SHOW KEY GENERATORS shop"), None);
    }
}
