//! `SHOW KEY GENERATORS`: one row per table with a key_generator: its type,
//! the snowflake worker id and how long its lease has left, a segment
//! generator's segment in use, the ids left in it and the one claimed ahead.

use super::{int_column, text, text_column, AdminResult};
use crate::keygen::{KeyGenerator, KeyGeneratorKind, WorkerSource};
use crate::rules::ShardingRules;
use mysql_common::value::Value;
use std::ops::Range;

/// The rows for the tables of `schemas`; `now_ms` on the generators' clock.
pub fn key_generators(
    rules: &ShardingRules,
    keys: &KeyGenerator,
    schemas: &[&str],
    now_ms: u64,
) -> AdminResult {
    let columns = vec![
        text_column("schema"),
        text_column("table"),
        text_column("column"),
        text_column("type"),
        int_column("worker_id"),
        int_column("lease_left_ms"),
        text_column("data_source"),
        text_column("segment"),
        int_column("remaining"),
        text_column("next_segment"),
        text_column("state"),
    ];
    let mut rows = Vec::new();
    for (name, schema) in &rules.schemas {
        if !schemas.contains(&name.as_str()) {
            continue;
        }
        for table in schema.tables.values() {
            let Some(key) = &table.key_generator else {
                continue;
            };
            let mut row = vec![
                text(name),
                text(&table.logical_name),
                text(&key.column),
                text(key.kind.name()),
            ];
            match key.kind {
                KeyGeneratorKind::Snowflake => row.extend(snowflake(keys, now_ms)),
                KeyGeneratorKind::Uuid => row.extend(none(7).into_iter().chain([text("ok")])),
                KeyGeneratorKind::Segment => {
                    let sequence = key.segment.as_ref().map(|s| s.sequence.as_str());
                    row.extend(segment(keys, sequence.unwrap_or_default()));
                }
            }
            rows.push(row);
        }
    }
    AdminResult { columns, rows }
}

fn none(n: usize) -> Vec<Value> {
    vec![Value::NULL; n]
}

/// worker_id, lease_left_ms, data_source, (3 NULLs), state.
fn snowflake(keys: &KeyGenerator, now_ms: u64) -> Vec<Value> {
    let (worker, left, data_source, state) = match keys.worker() {
        WorkerSource::Fixed(id) => (Some(*id), None, None, "ok (fixed worker id)".to_string()),
        WorkerSource::Leased(lease) => {
            let status = lease.status();
            let left = i64::try_from(status.valid_until_ms).unwrap_or(i64::MAX)
                - i64::try_from(now_ms).unwrap_or(i64::MAX);
            let state = match (lease.worker_id_at(now_ms), status.last_error) {
                (Ok(_), None) => "ok (leased)".to_string(),
                (Ok(_), Some(e)) => format!("renewing: {e}"),
                (Err(e), _) => format!("refusing: {e}"),
            };
            (
                status.worker_id,
                Some(left.max(0)),
                Some(lease.data_source()),
                state,
            )
        }
    };
    let mut row = vec![
        worker.map_or(Value::NULL, |id| Value::Int(i64::from(id))),
        left.map_or(Value::NULL, Value::Int),
        data_source.map_or(Value::NULL, text),
    ];
    row.extend(none(3));
    row.push(text(&state));
    row
}

/// (2 NULLs), data_source, segment, remaining, next_segment, state.
fn segment(keys: &KeyGenerator, sequence: &str) -> Vec<Value> {
    let Some(buffer) = keys.segment(sequence) else {
        return none(6).into_iter().chain([text("not running")]).collect();
    };
    let status = buffer.status();
    let state = match (&status.failure, status.claiming) {
        (Some(e), _) => format!("claim failed: {e}"),
        (None, true) => "claiming".to_string(),
        (None, false) => "ok".to_string(),
    };
    let shown = |r: &Option<Range<i64>>| {
        r.as_ref().map_or(Value::NULL, |r| {
            text(&format!("{}..={}", r.start, r.end - 1))
        })
    };
    vec![
        Value::NULL,
        Value::NULL,
        text(&buffer.spec().data_source),
        shown(&status.current),
        Value::Int(status.remaining),
        shown(&status.next),
        text(&state),
    ]
}
