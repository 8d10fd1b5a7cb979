//! `SET TRANSACTION` (no scope) on multiplexed connections: the
//! characteristics wait in the session for its next transaction and are
//! set on each connection a statement runs on, with the server's
//! transaction-characteristics tracking on, until the server reports them
//! used up; a connection they were set on is put back before another
//! session uses it.

use crate::backend::PooledConn;
use crate::error::Error;
use crate::execute::run_ok;
use std::collections::BTreeMap;

/// The tracking that reports transaction characteristics.
const TRACKING: &str = "session_track_transaction_info";

/// Turns the tracking on and sets the waiting `characteristics` (`SET
/// TRANSACTION` statements) on `conn`; what that reported is dropped, and
/// the connection is marked to be put back before another session uses it.
pub async fn apply(
    conn: &mut PooledConn,
    characteristics: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let mut sql = format!("SET SESSION {TRACKING} = 'CHARACTERISTICS'");
    for statement in characteristics.values() {
        sql.push_str(";\n");
        sql.push_str(statement);
    }
    conn.stale_characteristics = true;
    run_ok(conn, &sql, None).await?;
    conn.conn.characteristics = None;
    Ok(())
}

/// Whether what the server reported after a statement says the waiting
/// characteristics are used up: empty once a transaction took them (and
/// ended), or naming the transaction they started.
pub fn used_up(reported: &str) -> bool {
    reported.is_empty() || reported.contains("START TRANSACTION")
}

/// The statements that put a connection's transaction characteristics back
/// to its session values (a waiting `SET TRANSACTION` is dropped) and the
/// tracking back to what `applied` (the connection's session state) set,
/// else to the default.
pub fn forget(applied: &BTreeMap<String, String>) -> String {
    let tracking = applied
        .get(TRACKING)
        .cloned()
        .unwrap_or_else(|| format!("SET SESSION {TRACKING} = DEFAULT"));
    format!(
        "SET SESSION tx_isolation = @@session.tx_isolation, tx_read_only = @@session.tx_read_only;\n{tracking}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_that_use_up_the_characteristics() {
        assert!(used_up(""));
        assert!(used_up(
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; START TRANSACTION;"
        ));
        assert!(used_up("START TRANSACTION READ ONLY;"));
        assert!(!used_up("SET TRANSACTION READ ONLY;"));
    }

    #[test]
    fn forgetting_keeps_the_tracking_the_session_set() {
        let mut applied = BTreeMap::new();
        assert!(forget(&applied).ends_with("session_track_transaction_info = DEFAULT"));
        applied.insert(
            TRACKING.to_string(),
            "SET SESSION session_track_transaction_info = 'STATE'".to_string(),
        );
        assert!(forget(&applied).ends_with("= 'STATE'"));
    }
}
