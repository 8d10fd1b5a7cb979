//! One XA transaction's end on its branches (one per data source, each on
//! a connection pinned since its `XA START`).
//!
//! Commit: with at most one writing branch, `XA END` everywhere, then `XA
//! COMMIT ... ONE PHASE` on the writer and no log. Otherwise the writers
//! send `XA END` and `XA PREPARE` in one round trip, concurrently (readers
//! only end), the COMMIT decision is written durably, then every writer
//! `XA COMMIT`s concurrently, a failed one retried on new connections for
//! [`COMMIT_RETRY`]. Read-only branches are never prepared: they commit in
//! one phase once the writers are done. A failure before the decision
//! rolls everything back; after it the transaction is committed, whatever
//! a slow branch says, and recovery finishes what the retries could not.
//!
//! A connection whose branch could not be finished is marked broken, so it
//! is closed, never reset: a `COM_RESET_CONNECTION` on a prepared branch
//! leaves a locked transaction that `XA COMMIT` only pretends to commit.

use super::{crash_point, delay_point, xid, Coordinator, Phase};
use crate::error::Error;
use crate::execute::rows::fetch_rows;
use crate::execute::{run_ok, PooledConn};
use futures_util::future::{join, join_all};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a branch's `XA COMMIT` is retried after the decision before
/// the client gets OK with a warning and recovery takes over.
pub const COMMIT_RETRY: Duration = Duration::from_secs(2);

/// One branch: its connection, and whether anything written there.
pub struct Branch<'a> {
    pub conn: &'a mut PooledConn,
    pub wrote: bool,
}

impl Branch<'_> {
    fn name(&self) -> String {
        self.conn.data_source.name.clone()
    }
    fn xid(&self, gtrid: &str) -> String {
        xid::sql(gtrid.as_bytes(), self.conn.data_source.name.as_bytes())
    }
}

/// How a commit ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Every branch committed.
    All,
    /// Decided and committed, but these data sources' branches have not
    /// said so yet (recovery finishes them).
    Pending(Vec<String>),
}

/// Runs one XA statement on a branch; a failure closes the connection
/// unless `keep` says the branch is still in a known state.
async fn xa(conn: &mut PooledConn, sql: &str) -> Result<(), Error> {
    match run_ok(conn, sql, None).await {
        Ok(_) => Ok(()),
        Err(e) => Err(e.on_data_source(&conn.data_source.name)),
    }
}

/// Commits the transaction `gtrid` on `branches`.
pub async fn commit(
    coordinator: &Coordinator,
    gtrid: &str,
    mut branches: Vec<Branch<'_>>,
) -> Result<Committed, Error> {
    // Same order in every session, for the messages and the tests.
    branches.sort_by(|a, b| a.conn.data_source.name.cmp(&b.conn.data_source.name));
    if branches.iter().filter(|b| b.wrote).count() <= 1 {
        return commit_one_phase(coordinator, gtrid, branches).await;
    }
    let (mut writers, mut readers): (Vec<_>, Vec<_>) = branches.into_iter().partition(|b| b.wrote);
    let names: Vec<String> = writers.iter().map(Branch::name).collect();
    coordinator.set_phase(gtrid, Phase::Preparing, &names);
    // Told to the log now, so that it can sync this COMMIT with others'.
    let coming = coordinator.log.coming();
    // A writer's END and PREPARE go in one round trip; MariaDB runs the
    // PREPARE only if the END succeeded. Readers only end.
    let readers_ended = join_all(readers.iter_mut().map(|b| {
        let sql = ["XA END ", &b.xid(gtrid)].concat();
        async move { xa(b.conn, &sql).await }
    }));
    let prepared = join_all(writers.iter_mut().enumerate().map(|(i, b)| {
        let xid = b.xid(gtrid);
        let sql = ["XA END ", &xid, "; XA PREPARE ", &xid].concat();
        async move {
            if i > 0 {
                delay_point("xa-delay-later-prepares").await;
            }
            let result = xa(b.conn, &sql).await;
            if i == 0 && result.is_ok() {
                crash_point("xa-after-first-prepare");
            }
            result
        }
    }));
    let (readers_ended, prepared) = join(readers_ended, prepared).await;
    let failed = readers_ended
        .iter()
        .chain(&prepared)
        .find_map(|r| r.as_ref().err())
        .cloned();
    if let Some(e) = failed {
        coordinator.set_phase(gtrid, Phase::Aborting, &names);
        // A writer whose statement failed is either still active or was
        // rolled back by its failed PREPARE: its XA ROLLBACK fails and its
        // connection is closed, which ends the branch on the server.
        let flush: Vec<bool> = prepared.iter().map(Result::is_ok).collect();
        abort_prepared(gtrid, &mut writers, &flush).await;
        rollback(coordinator, gtrid, readers).await;
        coordinator.finished(gtrid);
        return Err(rolled_back(e));
    }
    crash_point("xa-after-prepares");
    delay_point("xa-delay-before-decision").await;
    coordinator.log.commit(coming, gtrid, &names).await;
    coordinator.set_phase(gtrid, Phase::Committing, &names);
    coordinator.counts.commits.inc();
    crash_point("xa-after-decision");
    let committed = join_all(writers.iter_mut().enumerate().map(|(i, b)| async move {
        if i > 0 {
            delay_point("xa-delay-later-commits").await;
        }
        let ok = commit_branch(gtrid, b).await;
        if i == 0 {
            crash_point("xa-after-first-commit");
        }
        ok
    }))
    .await;
    finish_readers(gtrid, &mut readers).await;
    crash_point("xa-after-commits");
    let pending: Vec<String> = names
        .iter()
        .zip(&committed)
        .filter(|(_, ok)| !**ok)
        .map(|(n, _)| n.clone())
        .collect();
    coordinator.finished(gtrid);
    if pending.is_empty() {
        coordinator.log.done_lazily(gtrid);
        Ok(Committed::All)
    } else {
        tracing::warn!(
            gtrid,
            ?pending,
            "XA transaction committed; branches still committing"
        );
        coordinator.wake.notify_one();
        Ok(Committed::Pending(pending))
    }
}

/// At most one writing branch: every branch ended, then `XA COMMIT ... ONE
/// PHASE` on the writer, no log.
async fn commit_one_phase(
    coordinator: &Coordinator,
    gtrid: &str,
    mut branches: Vec<Branch<'_>>,
) -> Result<Committed, Error> {
    let ended = join_all(branches.iter_mut().map(|b| {
        let sql = ["XA END ", &b.xid(gtrid)].concat();
        async move { xa(b.conn, &sql).await }
    }))
    .await;
    if let Some(e) = ended.into_iter().find_map(Result::err) {
        rollback(coordinator, gtrid, branches).await;
        return Err(rolled_back(e));
    }
    let (mut writers, mut readers): (Vec<_>, Vec<_>) = branches.into_iter().partition(|b| b.wrote);
    if let Some(w) = writers.first_mut() {
        let sql = ["XA COMMIT ", &w.xid(gtrid), " ONE PHASE"].concat();
        if let Err(e) = xa(w.conn, &sql).await {
            // A failed one-phase commit rolled the branch back, unless the
            // connection broke: then, as for any COMMIT, nobody knows.
            w.conn.conn.broken = true;
            rollback(coordinator, gtrid, readers).await;
            return Err(e);
        }
        coordinator.counts.one_phase.inc();
    }
    finish_readers(gtrid, &mut readers).await;
    Ok(Committed::All)
}

/// `XA COMMIT` of a prepared branch, retried on new connections for
/// [`COMMIT_RETRY`]; true once it is committed (or known gone).
async fn commit_branch(gtrid: &str, branch: &mut Branch<'_>) -> bool {
    let sql = ["XA COMMIT ", &branch.xid(gtrid)].concat();
    if xa(branch.conn, &sql).await.is_ok() {
        return true;
    }
    // Closed, never reset: the branch stays prepared on the server.
    branch.conn.conn.broken = true;
    let data_source = branch.conn.data_source.clone();
    let deadline = Instant::now() + COMMIT_RETRY;
    let mut pause = Duration::from_millis(50);
    while Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(400));
        if let Ok(true) = commit_elsewhere(&data_source, gtrid, &sql).await {
            return true;
        }
    }
    false
}

/// One try of a branch's `XA COMMIT` from a new connection: `Ok(true)` once
/// committed or no longer prepared there.
async fn commit_elsewhere(
    data_source: &Arc<crate::backend::EndpointPool>,
    gtrid: &str,
    sql: &str,
) -> Result<bool, Error> {
    let mut conn = data_source.connect_control().await?;
    match run_ok(&mut conn, sql, None).await {
        Ok(_) => Ok(true),
        // Unknown xid: committed already, or still owned by the connection
        // that broke (the server has not noticed yet): look.
        Err(e) if e.code == 1397 => Ok(!still_prepared(&mut conn, gtrid).await?),
        Err(e) => Err(e),
    }
}

/// Whether `XA RECOVER` still lists a branch of `gtrid`.
pub async fn still_prepared(conn: &mut PooledConn, gtrid: &str) -> Result<bool, Error> {
    let rows = fetch_rows(conn, "XA RECOVER").await?;
    Ok(rows.rows.iter().any(|row| {
        xid::Recovered::from_row(row)
            .is_some_and(|r| r.format_id == xid::FORMAT_ID && r.gtrid == gtrid.as_bytes())
    }))
}

/// Read-only branches end after the writers: one-phase commit (they hold
/// only read locks; a failure loses nothing, the connection is closed).
async fn finish_readers(gtrid: &str, readers: &mut [Branch<'_>]) {
    join_all(readers.iter_mut().map(|b| {
        let sql = ["XA COMMIT ", &b.xid(gtrid), " ONE PHASE"].concat();
        async move {
            if xa(b.conn, &sql).await.is_err() {
                b.conn.conn.broken = true;
            }
        }
    }))
    .await;
}

/// Rolls back writers of which those marked in `prepared` were prepared,
/// and makes the rollback durable there (an `XA ROLLBACK` of a prepared
/// branch is not redo-flushed for about a second).
async fn abort_prepared(gtrid: &str, writers: &mut [Branch<'_>], prepared: &[bool]) {
    join_all(writers.iter_mut().zip(prepared).map(|(b, &was_prepared)| {
        let sql = ["XA ROLLBACK ", &b.xid(gtrid)].concat();
        async move {
            match xa(b.conn, &sql).await {
                Ok(()) if was_prepared => {
                    if xa(b.conn, "FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS")
                        .await
                        .is_err()
                    {
                        b.conn.conn.broken = true;
                    }
                }
                Ok(()) => {}
                // A failed PREPARE rolled its branch back; anything else is
                // left to recovery (presumed abort) on a closed connection.
                Err(_) => b.conn.conn.broken = true,
            }
        }
    }))
    .await;
}

/// Rolls back branches that were never prepared: `XA END` (refused for a
/// branch a deadlock made rollback-only, which needs none), then `XA
/// ROLLBACK`. A connection where that fails is closed, which rolls the
/// branch back on the server.
pub async fn rollback(coordinator: &Coordinator, gtrid: &str, mut branches: Vec<Branch<'_>>) {
    coordinator.counts.rollbacks.inc();
    join_all(branches.iter_mut().map(|b| {
        let end = ["XA END ", &b.xid(gtrid)].concat();
        let rollback = ["XA ROLLBACK ", &b.xid(gtrid)].concat();
        async move {
            let _ = xa(b.conn, &end).await;
            if xa(b.conn, &rollback).await.is_err() {
                b.conn.conn.broken = true;
            }
        }
    }))
    .await;
}

/// The error of a transaction that was rolled back before its decision.
fn rolled_back(mut e: Error) -> Error {
    e.message = format!(
        "{}; the XA transaction was rolled back on every data source",
        e.message
    );
    e
}
