//! A MariaDB replication group for the replica tests: a primary and GTID
//! replicas, each a [`MariaDb`] started from the harness's template datadir
//! with binary logs on, the replicas read-only and following the primary
//! with `MASTER_USE_GTID=slave_pos`. The proxy logs in as [`BACKEND_USER`],
//! which has neither SUPER nor READ_ONLY ADMIN, so `read_only` stops its
//! writes as it stops an application's; [`NO_MONITOR_USER`] also lacks
//! SLAVE MONITOR.

use super::MariaDb;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The proxy's backend account.
pub const BACKEND_USER: &str = "sg";
/// Its password.
pub const BACKEND_PASSWORD: &str = "sg_pw";
/// The same privileges without SLAVE MONITOR (no SHOW SLAVE STATUS).
pub const NO_MONITOR_USER: &str = "sg_nomon";

const PRIVILEGES: &str = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, \
     CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, \
     CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER, PROCESS, SHOW DATABASES";

static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A primary (`nodes[0]` at start) and its replicas.
pub struct ReplicaSet {
    pub nodes: Vec<MariaDb>,
}

/// The options that make node `i` (server id `i + 1`) a member of a group.
fn member_options(i: usize) -> Vec<String> {
    let mut args: Vec<String> = [
        "--log-bin=bin",
        "--log-slave-updates=1",
        "--binlog-format=ROW",
        "--gtid-strict-mode=1",
        "--relay-log=relay",
        "--sync-binlog=0",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--server-id={}", i + 1));
    args.push(format!("--read-only={}", u8::from(i > 0)));
    args
}

impl ReplicaSet {
    /// Starts `1 + replicas` servers and sets up replication; returns once
    /// every replica has applied the set-up (the backend accounts).
    pub fn start(replicas: usize) -> ReplicaSet {
        let started = Instant::now();
        let nodes: Vec<MariaDb> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..=replicas)
                .map(|i| s.spawn(move || MariaDb::start_with(&member_options(i))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        // The harness's own set-up statements went to each server's binlog
        // under its own server id: start every binlog empty.
        for node in &nodes {
            node.exec("RESET MASTER; SET GLOBAL gtid_slave_pos = ''");
        }
        nodes[0].exec(&format!(
            "CREATE USER '{BACKEND_USER}'@'%' IDENTIFIED BY '{BACKEND_PASSWORD}';
             GRANT {PRIVILEGES}, SLAVE MONITOR ON *.* TO '{BACKEND_USER}'@'%';
             CREATE USER '{NO_MONITOR_USER}'@'%' IDENTIFIED BY '{BACKEND_PASSWORD}';
             GRANT {PRIVILEGES} ON *.* TO '{NO_MONITOR_USER}'@'%';"
        ));
        let set = ReplicaSet { nodes };
        for i in 1..=replicas {
            set.follow(i, 0);
        }
        set.wait_replicated();
        eprintln!(
            "replica set: primary port {} and {} replicas up in {:?}",
            set.nodes[0].port(),
            replicas,
            started.elapsed()
        );
        set
    }

    /// Points node `i` at node `primary` (GTID, retry every second).
    pub fn follow(&self, i: usize, primary: usize) {
        self.nodes[i].exec(&format!(
            "STOP SLAVE;
             CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root',
               MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1,
               MASTER_HEARTBEAT_PERIOD=1;
             START SLAVE",
            self.nodes[primary].port()
        ));
    }

    /// Makes node `i` the primary as an operator would: it stops
    /// replicating, forgets its primary and becomes writable.
    pub fn promote(&self, i: usize) {
        self.nodes[i].exec("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0");
    }

    /// The rule-file URL of node `i`'s database `db` for the backend account `user`.
    pub fn url_as(&self, user: &str, i: usize, db: &str) -> String {
        format!(
            "mysql://{user}:{BACKEND_PASSWORD}@127.0.0.1:{}/{db}",
            self.nodes[i].port()
        )
    }

    /// `host:port/db` of node `i`, as SHOW BACKENDS prints it.
    pub fn address(&self, i: usize, db: &str) -> String {
        format!("127.0.0.1:{}/{db}", self.nodes[i].port())
    }

    /// A `[data_sources.NAME]` table: node `primary` first, the others as replicas.
    pub fn data_source_toml(&self, name: &str, db: &str, primary: usize, extra: &str) -> String {
        self.data_source_toml_as(BACKEND_USER, name, db, primary, extra)
    }

    /// [`ReplicaSet::data_source_toml`] with the backend account `user`.
    pub fn data_source_toml_as(
        &self,
        user: &str,
        name: &str,
        db: &str,
        primary: usize,
        extra: &str,
    ) -> String {
        let replicas: Vec<String> = (0..self.nodes.len())
            .filter(|&i| i != primary)
            .map(|i| format!("\"{}\"", self.url_as(user, i, db)))
            .collect();
        format!(
            "[data_sources.{name}]\nprimary = \"{}\"\nreplicas = [{}]\n{extra}\n",
            self.url_as(user, primary, db),
            replicas.join(", ")
        )
    }

    /// A new database on the primary (node `primary`), replicated everywhere.
    pub fn fresh_database(&self, prefix: &str, primary: usize) -> String {
        let n = DB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("r_{prefix}_{n}_{}", std::process::id());
        self.nodes[primary].exec(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"));
        self.wait_replicated_from(primary);
        name
    }

    /// Waits until every replica has applied all of node 0's binlog.
    pub fn wait_replicated(&self) {
        self.wait_replicated_from(0);
    }

    /// Waits until every other node has applied all of node `primary`'s binlog.
    pub fn wait_replicated_from(&self, primary: usize) {
        let pos = self.nodes[primary].query("SELECT @@gtid_binlog_pos");
        let pos = pos[0][0].clone().unwrap_or_default();
        for (i, node) in self.nodes.iter().enumerate() {
            if i == primary {
                continue;
            }
            let waited = node.query(&format!("SELECT MASTER_GTID_WAIT('{pos}', 30)"));
            assert_eq!(
                waited[0][0].as_deref(),
                Some("0"),
                "node {i} did not apply {pos} within 30s: {:?}",
                node.query("SHOW SLAVE STATUS")
            );
        }
    }

    /// Every GTID in node `i`'s binlog, as `domain-server-seq` strings.
    pub fn binlog_pos(&self, i: usize) -> String {
        self.nodes[i].query("SELECT @@gtid_binlog_pos")[0][0]
            .clone()
            .unwrap_or_default()
    }

    /// The write guard: no GTID of a replica's own server id is in its
    /// binlog, so nothing ever wrote on it (an errant write would also stop
    /// its replication in strict mode).
    pub fn assert_no_writes_on_replicas(&self, primary: usize) {
        for i in 0..self.nodes.len() {
            if i == primary {
                continue;
            }
            let pos = self.binlog_pos(i);
            let own = format!("-{}-", i + 1);
            assert!(
                !pos.split(',').any(|g| g.contains(&own)),
                "replica node {i} (server id {}) has GTIDs of its own: {pos}",
                i + 1
            );
        }
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
