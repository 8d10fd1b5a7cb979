//! Recovery: every prepared branch of this instance that no session is
//! finishing is committed if the decision log holds its COMMIT, else
//! rolled back (presumed abort), the rollback made durable with a flush of
//! the engine logs. Runs at start-up before clients are accepted, then
//! periodically (sooner while a primary is unreachable, so a data source
//! that comes back is seen within a second).
//!
//! Only primaries are asked (`XA RECOVER`; a replica holds the branches it
//! applied at PREPARE, and finishing them there would break replication),
//! each server once however many data sources it holds. Only xids with
//! our formatID and gtrid prefix are touched. A COMMIT decision is marked
//! done once a pass that reached every primary found none of its branches.

use super::{xid, Coordinator};
use crate::backend::DataSource;
use crate::error::Error;
use crate::execute::rows::fetch_rows;
use crate::execute::{run_ok, Backends};
use crate::hash::{HashMap, HashSet};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The pause between passes when the last one reached every primary.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// ... and when it did not.
pub const RETRY: Duration = Duration::from_secs(1);

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub committed: usize,
    pub rolled_back: usize,
    /// Branches left for the next pass (unreachable, owned by a live session, ...).
    pub left: usize,
    /// Prepared branches of other instances or applications, untouched.
    pub foreign: usize,
    /// Every primary was reached.
    pub complete: bool,
}

/// The data sources sharing one server, by `host:port`.
fn servers(backends: &Backends) -> BTreeMap<String, Vec<Arc<DataSource>>> {
    let mut by_server: BTreeMap<String, Vec<Arc<DataSource>>> = BTreeMap::new();
    for ds in backends.iter() {
        // The server that takes the writes now (replicas hold copies of
        // prepared branches that are not theirs to end).
        let endpoint = match ds.primary() {
            Ok(primary) => &primary.endpoint,
            Err(_) => &ds.endpoints[0].endpoint,
        };
        let key = format!("{}:{}", endpoint.host, endpoint.port);
        by_server.entry(key).or_default().push(ds.clone());
    }
    by_server
}

/// One recovery pass over every primary.
pub async fn pass(coordinator: &Coordinator, backends: &Backends) -> Pass {
    let _one = coordinator.recovering.lock().await;
    let mut report = Pass {
        complete: true,
        ..Pass::default()
    };
    // Branches of ours still prepared somewhere after this pass, by gtrid.
    let mut remaining: HashSet<String> = HashSet::default();
    let mut left_now: HashSet<(String, String)> = HashSet::default();
    for (server, data_sources) in servers(backends) {
        let Some(ds) = data_sources.first() else {
            continue;
        };
        match recover_server(coordinator, ds, &mut report).await {
            Ok(found) => {
                for (gtrid, bqual, busy) in found {
                    remaining.insert(gtrid.clone());
                    if !busy {
                        left_now.insert((gtrid, bqual));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(server, "XA recovery could not scan the server: {e}");
                report.complete = false;
            }
        }
    }
    report.left = left_now.len();
    if report.complete {
        for gtrid in coordinator.log.open_decisions().into_keys() {
            if !remaining.contains(&gtrid) && !coordinator.is_in_flight(&gtrid) {
                coordinator.log.done(&gtrid);
            }
        }
        coordinator.counts.recovery_passes.inc();
    }
    let mut in_doubt = coordinator
        .in_doubt
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    in_doubt.retain(|key, _| left_now.contains(key));
    for key in left_now {
        in_doubt.entry(key).or_insert_with(Instant::now);
    }
    drop(in_doubt);
    if report.committed + report.rolled_back + report.left > 0 {
        tracing::info!(
            committed = report.committed,
            rolled_back = report.rolled_back,
            left = report.left,
            foreign = report.foreign,
            complete = report.complete,
            "XA recovery pass"
        );
    }
    report
}

/// Finishes our prepared branches on one server; returns those still
/// prepared: (gtrid, bqual, whether a session is finishing it).
async fn recover_server(
    coordinator: &Coordinator,
    ds: &Arc<DataSource>,
    report: &mut Pass,
) -> Result<Vec<(String, String, bool)>, Error> {
    let mut conn = ds.connect_control().await?;
    let rows = fetch_rows(&mut conn, "XA RECOVER").await?;
    let mut left = Vec::new();
    let mut rolled_back = false;
    for row in &rows.rows {
        let Some(branch) = xid::Recovered::from_row(row) else {
            continue;
        };
        let Some(gtrid) = branch.ours(coordinator.proxy_id()).map(str::to_string) else {
            report.foreign += 1;
            continue;
        };
        let bqual = String::from_utf8_lossy(&branch.bqual).into_owned();
        // A session is between its PREPAREs and its COMMITs: its own.
        if coordinator.is_in_flight(&gtrid) {
            left.push((gtrid, bqual, true));
            continue;
        }
        // Read after the in-flight check: a transaction that left the table
        // wrote its decision before it did.
        let commit = coordinator.log.is_open(&gtrid);
        let sql = format!(
            "XA {} {}",
            if commit { "COMMIT" } else { "ROLLBACK" },
            branch.sql()
        );
        match run_ok(&mut conn, &sql, None).await {
            Ok(_) if commit => {
                report.committed += 1;
                coordinator.counts.recovered_commits.inc();
            }
            Ok(_) => {
                report.rolled_back += 1;
                rolled_back = true;
                coordinator.counts.recovered_rollbacks.inc();
            }
            // Rolled back by the server already (a read-only branch whose
            // session ended): nothing is left of it.
            Err(e) if e.code == 1402 => {
                if commit {
                    tracing::error!(
                        gtrid,
                        bqual,
                        "a branch decided COMMIT was rolled back by its server (1402)"
                    );
                }
            }
            Err(e) if conn.conn.broken => return Err(e),
            // 1397: a live session still owns it; anything else: next pass.
            Err(e) => {
                tracing::warn!(gtrid, bqual, "XA recovery left a branch: {e}");
                left.push((gtrid, bqual, false));
            }
        }
    }
    if rolled_back {
        // An XA ROLLBACK of a prepared branch is not durable until the redo log is flushed.
        run_ok(&mut conn, "FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS", None).await?;
    }
    Ok(left)
}

/// Runs passes forever: every [`INTERVAL`], or [`RETRY`] after a pass
/// that did not reach every primary or left branches.
pub async fn run_periodically<F>(coordinator: Arc<Coordinator>, backends: F)
where
    F: Fn() -> Option<Arc<crate::session::Generation>>,
{
    let mut wait = INTERVAL;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = coordinator.wake.notified() => tokio::time::sleep(RETRY).await,
        }
        let Some(generation) = backends() else {
            return;
        };
        let report = pass(&coordinator, &generation.backends).await;
        wait = if report.complete && report.left == 0 {
            INTERVAL
        } else {
            RETRY
        };
    }
}

/// For SHOW XA TRANSACTIONS: decisions not yet done, by gtrid, with their data sources.
pub fn open_decisions(coordinator: &Coordinator) -> HashMap<String, Vec<String>> {
    coordinator
        .log
        .open_decisions()
        .into_iter()
        .map(|(g, d)| (g, d.data_sources))
        .collect()
}
