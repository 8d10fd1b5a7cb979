//! Checks of a table's `key_generator` (config.md): its type, column and,
//! for `segment`, the data source, `start` and `step`.

use super::column;
use crate::config::file::{DataSourceConfig, KeyGeneratorConfig};
use crate::keygen::{KeyGeneratorKind, SegmentSpec};
use crate::rules::table::KeyGeneratorRule;
use std::collections::BTreeMap;

/// The largest `step`: the sequence table's column is an INT.
const MAX_STEP: i64 = i32::MAX as i64;

/// Builds `{path}.key_generator` of table `table` in schema `schema`.
pub(super) fn key_generator(
    path: &str,
    schema: &str,
    table: &str,
    config: &KeyGeneratorConfig,
    data_sources: &BTreeMap<String, DataSourceConfig>,
    problems: &mut Vec<String>,
) -> Option<KeyGeneratorRule> {
    let path = format!("{path}.key_generator");
    let before = problems.len();
    let kind = KeyGeneratorKind::parse(&config.kind);
    if kind.is_none() {
        problems.push(format!(
            "{path}.type: unknown key generator `{}`; give one of {}",
            config.kind,
            KeyGeneratorKind::NAMES
        ));
    }
    column(&path, &config.column, problems);
    let segment = match kind {
        Some(KeyGeneratorKind::Segment) => {
            segment(&path, schema, table, config, data_sources, problems)
        }
        _ => {
            for (key, given) in [
                ("data_source", config.data_source.is_some()),
                ("step", config.step.is_some()),
                ("start", config.start.is_some()),
            ] {
                if given {
                    problems.push(format!(
                        "{path}.{key}: only a `segment` key generator takes `{key}`, this one is `{}`",
                        config.kind
                    ));
                }
            }
            None
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(KeyGeneratorRule {
        column: config.column.to_ascii_lowercase(),
        kind: kind?,
        segment,
    })
}

/// A segment generator's properties.
fn segment(
    path: &str,
    schema: &str,
    table: &str,
    config: &KeyGeneratorConfig,
    data_sources: &BTreeMap<String, DataSourceConfig>,
    problems: &mut Vec<String>,
) -> Option<SegmentSpec> {
    let known = || data_sources.keys().cloned().collect::<Vec<_>>().join(", ");
    let data_source = match &config.data_source {
        Some(ds) if data_sources.contains_key(ds) => ds.clone(),
        Some(ds) => {
            problems.push(format!(
                "{path}.data_source: unknown data source `{ds}`; known: {}",
                known()
            ));
            return None;
        }
        None => {
            problems.push(format!(
                "{path}.data_source: a `segment` key generator names the data source that holds its sequence table; known: {}",
                known()
            ));
            return None;
        }
    };
    let step = config.step.unwrap_or(1000);
    if !(1..=MAX_STEP).contains(&step) {
        problems.push(format!(
            "{path}.step: {step} is out of range; give 1..={MAX_STEP} (ids per claimed segment)"
        ));
    }
    let start = config.start.unwrap_or(1);
    if start < 0 {
        problems.push(format!(
            "{path}.start: {start} is negative; give the first id, 0 or more"
        ));
    }
    Some(SegmentSpec {
        sequence: format!("{schema}.{table}"),
        data_source,
        start,
        step,
    })
}
