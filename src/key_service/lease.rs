//! Leasing the snowflake worker id (`server.worker_id = "auto"`) from
//! `shardgate_worker_id` on the first schema's default data source: one row
//! per id 0..=1023 with its owner and lease expiry (the database's clock
//! decides who may take an id). The lease is renewed well before it
//! expires; locally it counts from before each renewal was sent, minus a
//! margin, so this proxy stops using an id before anyone else may take it.

use super::{int_value, quoted};
use crate::error::Error;
use crate::execute::{exec_drop, fetch_rows, DataSource};
use crate::keygen::{Clock, WorkerLease, MAX_WORKER_ID};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::watch;

/// How long a lease lasts in the table.
pub const LEASE_MS: u64 = 30_000;
/// How much earlier than the table says this proxy stops using its id.
const SAFETY_MS: u64 = 2_000;
/// How often a held lease is renewed.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How soon a failed acquire or renew is retried.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// How long the release on shutdown may take.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(3);

/// The lease table.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS shardgate_worker_id (\
    worker_id SMALLINT NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL DEFAULT '', \
    lease_expires DATETIME(3) NOT NULL DEFAULT '1970-01-01 00:00:00.000') ENGINE=InnoDB";

/// Acquires the lease, keeps it renewed until `stop`, then releases it.
/// Tells `first` when the first attempt is over.
pub(super) async fn serve(
    lease: Arc<WorkerLease>,
    ds: Arc<DataSource>,
    clock: Arc<dyn Clock>,
    owner: String,
    mut stop: watch::Receiver<bool>,
    first: mpsc::Sender<()>,
) {
    let owner = quoted(&owner);
    let mut conn = None;
    let mut table_ready = false;
    loop {
        let held = lease.held();
        let renewed = async {
            if conn.is_none() {
                conn = Some(ds.connect_standalone().await?);
            }
            let Some(conn) = conn.as_mut() else {
                return Err(Error::internal("no connection"));
            };
            let name = ds.name.as_str();
            if !table_ready {
                exec_drop(conn, name, CREATE_TABLE).await?;
                exec_drop(conn, name, &insert_rows()).await?;
                table_ready = true;
            }
            let sent_ms = clock.now_ms();
            let until = (sent_ms + LEASE_MS).saturating_sub(SAFETY_MS);
            let expires = format!(
                "UTC_TIMESTAMP(3) + INTERVAL {} MICROSECOND",
                LEASE_MS * 1000
            );
            if let Some(id) = held {
                let renew = format!(
                    "UPDATE shardgate_worker_id SET lease_expires = {expires} \
                     WHERE worker_id = {id} AND owner = {owner}"
                );
                if exec_drop(conn, name, &renew).await?.affected_rows == 1 {
                    return Ok((id, until));
                }
                // Someone else holds it now: never use it again.
                lease.revoke();
                tracing::warn!("worker id {id} was taken over; leasing another");
            }
            let acquire = format!(
                "UPDATE shardgate_worker_id SET owner = {owner}, lease_expires = {expires} \
                 WHERE lease_expires < UTC_TIMESTAMP(3) ORDER BY worker_id LIMIT 1"
            );
            if exec_drop(conn, name, &acquire).await?.affected_rows != 1 {
                return Err(Error::internal(format!(
                    "all {} worker ids are leased",
                    u32::from(MAX_WORKER_ID) + 1
                )));
            }
            let read =
                format!("SELECT MIN(worker_id) FROM shardgate_worker_id WHERE owner = {owner}");
            let id = int_value(&fetch_rows(conn, name, &read).await?, "shardgate_worker_id")?;
            let id = u16::try_from(id)
                .ok()
                .filter(|id| *id <= MAX_WORKER_ID)
                .ok_or_else(|| Error::internal(format!("worker id {id} is out of range")))?;
            Ok((id, until))
        }
        .await;
        let pause = match renewed {
            Ok((id, until)) => {
                if held != Some(id) {
                    tracing::info!(
                        "leased snowflake worker id {id} from data source '{}'",
                        ds.name
                    );
                }
                lease.grant(id, until);
                RENEW_EVERY
            }
            Err(e) => {
                conn = None;
                tracing::warn!(data_source = %ds.name, "cannot lease a worker id: {}", e.message);
                lease.failed(e.message);
                RETRY_EVERY
            }
        };
        let _ = first.send(());
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => break,
        }
    }
    lease.revoke();
    let Some(id) = lease.held() else { return };
    let release = async {
        if conn.is_none() {
            conn = Some(ds.connect_standalone().await?);
        }
        let Some(conn) = conn.as_mut() else {
            return Err(Error::internal("no connection"));
        };
        let sql = format!(
            "UPDATE shardgate_worker_id SET owner = '', lease_expires = '1970-01-01 00:00:00' \
             WHERE worker_id = {id} AND owner = {owner}"
        );
        exec_drop(conn, &ds.name, &sql).await
    };
    match tokio::time::timeout(RELEASE_TIMEOUT, release).await {
        Ok(Ok(_)) => tracing::info!("released snowflake worker id {id}"),
        Ok(Err(e)) => tracing::warn!("cannot release worker id {id}: {}", e.message),
        Err(_) => tracing::warn!("cannot release worker id {id}: no answer in time"),
    }
}

/// One row per worker id, if missing.
fn insert_rows() -> String {
    let rows: Vec<String> = (0..=MAX_WORKER_ID).map(|id| format!("({id})")).collect();
    format!(
        "INSERT IGNORE INTO shardgate_worker_id (worker_id) VALUES {}",
        rows.join(",")
    )
}
