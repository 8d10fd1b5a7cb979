//! The last row of the XA crash table: a primary fails over between prepare
//! and commit. Data source `ds_0` is a GTID group (a primary and one
//! replica, which applies the prepared branch from the binary log); `ds_1`
//! a single server. The proxy dies right after its commit decision, the
//! primary of `ds_0` is killed and its replica promoted; the restarted proxy
//! follows the promotion and commits the branch on the new primary.
#![cfg(feature = "failpoints")]

mod common;
mod xa_env;

use common::replica_proxy::{blocking, wait};
use common::replication::ReplicaSet;
use common::{MariaDb, Proxy};
use std::time::Duration;
use xa_env::*;

#[tokio::test]
async fn primary_failover_between_prepare_and_commit_commits_on_the_new_primary() {
    let (mut set, other, dbs) = blocking(|| {
        let set = ReplicaSet::start(1);
        let other = MariaDb::start();
        let db0 = set.fresh_database("bank_fo", 0);
        let db1 = "bank_fo_1".to_string();
        other.exec(&format!("CREATE DATABASE {db1}"));
        let dbs = vec![db0, db1];
        create_bank(&[&set.nodes[0], &other], &dbs);
        set.wait_replicated();
        (set, other, dbs)
    })
    .await;
    let instance = instance_name();
    let rules = rules(&[&set.nodes[0], &other], &dbs, "xa", &instance)
        .replacen(
            "[server]\n",
            "[server]\nhealth_check_interval_ms = 100\n",
            1,
        )
        .replacen(
            &format!("primary = \"{}\"\n", set.nodes[0].data_source_url(&dbs[0])),
            &format!(
                "primary = \"{}\"\nreplicas = [\"{}\"]\n",
                set.nodes[0].data_source_url(&dbs[0]),
                set.nodes[1].data_source_url(&dbs[0])
            ),
            1,
        );
    assert!(rules.contains("replicas = ["), "{rules}");
    let failpoints = vec![(
        "FAILPOINTS".to_string(),
        "xa-after-decision=return".to_string(),
    )];
    let mut proxy = Proxy::start_with_env(&rules, &failpoints);
    let mut c = client(proxy.port()).await;
    let result = transfer(&mut c, "fo", 0, 1, 10).await;
    assert!(
        result.is_err(),
        "the proxy should have died after its decision"
    );
    assert!(
        proxy.wait_exit(Duration::from_secs(10)).is_some(),
        "the proxy is still running"
    );
    // The replica holds the prepared branch too before its primary dies.
    wait(
        "the replica's prepared branch",
        Duration::from_secs(10),
        || (!ours(&set.nodes[1], &instance).is_empty()).then_some(()),
    );
    set.nodes[0].kill_hard();
    set.promote(1);

    proxy.restart_with_env(&[]);
    let new_group = [&set.nodes[1], &other];
    wait(
        "the branch committed on the new primary",
        Duration::from_secs(30),
        || {
            let settled =
                ours(&set.nodes[1], &instance).is_empty() && ours(&other, &instance).is_empty();
            let b = balances(&new_group, &dbs);
            (settled && b[0] == (0, 990) && b[1] == (1, 1010)).then_some(())
        },
    );
    assert_eq!(ledger(&new_group, &dbs).len(), 2, "both ledger rows");
    assert_eq!(total(&new_group, &dbs), ACCOUNTS * START_BALANCE);
}
