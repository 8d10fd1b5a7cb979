//! What `shardgate check --config FILE` prints for a valid file: the data
//! sources, users and, per schema, where every sharded table lives.

use super::check::endpoint;
use super::Config;
use std::fmt::Write;

/// A human-readable summary of a validated rule file.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_summary(config, &mut out);
    out
}

/// Writes the summary into `out`.
fn write_summary(config: &Config, out: &mut String) -> std::fmt::Result {
    writeln!(out, "data sources ({}):", config.data_sources.len())?;
    for (name, ds) in &config.data_sources {
        let primary = match endpoint(&ds.primary) {
            Ok(opts) => opts.address(),
            Err(_) => "?".to_string(),
        };
        let replicas = match ds.replicas.len() {
            0 => "no replicas".to_string(),
            1 => "1 replica".to_string(),
            n => format!("{n} replicas"),
        };
        writeln!(out, "  {name}: primary {primary}, {replicas}")?;
    }
    let users: Vec<String> = config
        .users
        .iter()
        .map(|u| {
            let admin = if u.admin { ", admin" } else { "" };
            format!("{} ({}{admin})", u.name, u.schemas.join(", "))
        })
        .collect();
    writeln!(out, "users ({}): {}", users.len(), users.join("; "))?;
    for schema in config.rules.schemas.values() {
        writeln!(
            out,
            "schema {}: default data source {}; data sources {}",
            schema.name,
            schema.default_data_source,
            schema.data_sources.join(", ")
        )?;
        for table in schema.tables.values() {
            let key = table
                .key_generator
                .as_ref()
                .map(|k| format!("; key {} {}", k.column, k.kind.name()))
                .unwrap_or_default();
            writeln!(
                out,
                "  sharded table {}: {} nodes on {}; {}{key}",
                table.logical_name,
                table.nodes.len(),
                table.data_sources.join(", "),
                table.sharding_description()
            )?;
        }
        if !schema.broadcast_tables.is_empty() {
            let names: Vec<&str> = schema.broadcast_tables.iter().map(String::as_str).collect();
            writeln!(out, "  broadcast tables: {}", names.join(", "))?;
        }
        for group in &schema.binding_groups {
            writeln!(out, "  binding group: {}", group.join(", "))?;
        }
    }
    Ok(())
}
