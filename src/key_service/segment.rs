//! Claiming segments from `shardgate_sequence` (algorithms.md): the table
//! and the sequence's row are created if missing; a claim is one
//! `UPDATE ... SET next_id = next_id + step` and the read of the value it
//! left, in one transaction, so proxies sharing the table never overlap.

use super::{int_value, quoted};
use crate::error::Error;
use crate::execute::{exec_drop, fetch_rows, DataSource};
use crate::keygen::{SegmentBuffer, SegmentSpec};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// After a failed claim, the next one waits this long (a data source that
/// is down is not hammered by every INSERT).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// The sequence table, as algorithms.md defines it.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS shardgate_sequence (\
    name VARCHAR(128) NOT NULL PRIMARY KEY, next_id BIGINT NOT NULL, step INT NOT NULL) \
    ENGINE=InnoDB";

/// Claims a segment whenever `buffer` asks, until `stop`.
pub(super) async fn serve(
    buffer: Arc<SegmentBuffer>,
    ds: Arc<DataSource>,
    mut stop: watch::Receiver<bool>,
) {
    let spec = buffer.spec().clone();
    let mut conn = None;
    let mut table_ready = false;
    loop {
        tokio::select! {
            _ = buffer.claim_wanted() => {}
            _ = stop.changed() => return,
        }
        let claimed = async {
            if conn.is_none() {
                conn = Some(ds.connect_standalone().await?);
            }
            let Some(conn) = conn.as_mut() else {
                return Err(Error::internal("no connection"));
            };
            let name = ds.name.as_str();
            if !table_ready {
                exec_drop(conn, name, CREATE_TABLE).await?;
                exec_drop(conn, name, &insert_row(&spec)).await?;
                table_ready = true;
            }
            exec_drop(conn, name, "START TRANSACTION").await?;
            let sequence = quoted(&spec.sequence);
            let claim = format!(
                "UPDATE shardgate_sequence SET next_id = next_id + {step}, step = {step} \
                 WHERE name = {sequence}",
                step = spec.step
            );
            if exec_drop(conn, name, &claim).await?.affected_rows != 1 {
                table_ready = false;
                return Err(Error::internal(format!(
                    "the row '{}' of shardgate_sequence is missing",
                    spec.sequence
                )));
            }
            let read = format!("SELECT next_id FROM shardgate_sequence WHERE name = {sequence}");
            let next = int_value(&fetch_rows(conn, name, &read).await?, "shardgate_sequence")?;
            exec_drop(conn, name, "COMMIT").await?;
            segment_before(next, spec.step)
        }
        .await;
        match claimed {
            Ok(segment) => {
                tracing::debug!(sequence = %spec.sequence, "claimed ids {segment:?}");
                buffer.supply(segment);
            }
            Err(e) => {
                // The connection's transaction state is unknown: start afresh.
                conn = None;
                tracing::warn!(sequence = %spec.sequence, data_source = %ds.name, "cannot claim a segment: {}", e.message);
                buffer.fail(e.message);
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// The sequence's row, if missing: its first segment starts at `start`.
fn insert_row(spec: &SegmentSpec) -> String {
    format!(
        "INSERT IGNORE INTO shardgate_sequence (name, next_id, step) VALUES ({}, {}, {})",
        quoted(&spec.sequence),
        spec.start,
        spec.step
    )
}

/// The segment a claim that left `next_id` at `next` took.
fn segment_before(next: i64, step: i64) -> Result<Range<i64>, Error> {
    match next.checked_sub(step) {
        Some(first) if first >= 0 => Ok(first..next),
        _ => Err(Error::internal(format!(
            "shardgate_sequence.next_id {next} is below the step {step}"
        ))),
    }
}
