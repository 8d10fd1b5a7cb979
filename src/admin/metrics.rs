//! The proxy's metrics, rendered in the Prometheus text format by
//! prometheus-client. Everything a statement touches is a plain atomic
//! counter resolved once at start-up (no label lookup, no lock per
//! statement); pool gauges are read from the backends at scrape time.

use crate::sql::scan::{is_keyword, Scanner};
use crate::sql::StatementKind;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What kind of statement a client ran, as the `kind` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementLabel {
    Select,
    Insert,
    Update,
    Delete,
    Ddl,
    Transaction,
    Set,
    Show,
    Admin,
    Other,
}

impl StatementLabel {
    /// The label of a classified statement; writes and the rest by their first word.
    pub fn of(kind: &StatementKind, sql: &[u8]) -> StatementLabel {
        match kind {
            StatementKind::Select => StatementLabel::Select,
            StatementKind::Begin | StatementKind::Commit | StatementKind::Rollback => {
                StatementLabel::Transaction
            }
            StatementKind::Set | StatementKind::Use(_) => StatementLabel::Set,
            StatementKind::ShowDatabases { .. } | StatementKind::ShowTables { .. } => {
                StatementLabel::Show
            }
            StatementKind::Admin => StatementLabel::Admin,
            StatementKind::Write | StatementKind::Other => {
                let first = Scanner::new(sql).next();
                let is = |kw: &str| first.as_ref().is_some_and(|t| is_keyword(t, kw));
                if is("INSERT") || is("REPLACE") {
                    StatementLabel::Insert
                } else if is("UPDATE") {
                    StatementLabel::Update
                } else if is("DELETE") {
                    StatementLabel::Delete
                } else if ["CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME"]
                    .iter()
                    .any(|kw| is(kw))
                {
                    StatementLabel::Ddl
                } else if is("SHOW") || is("DESCRIBE") || is("DESC") || is("EXPLAIN") {
                    StatementLabel::Show
                } else {
                    StatementLabel::Other
                }
            }
            _ => StatementLabel::Other,
        }
    }

    const ALL: [StatementLabel; 10] = [
        StatementLabel::Select,
        StatementLabel::Insert,
        StatementLabel::Update,
        StatementLabel::Delete,
        StatementLabel::Ddl,
        StatementLabel::Transaction,
        StatementLabel::Set,
        StatementLabel::Show,
        StatementLabel::Admin,
        StatementLabel::Other,
    ];

    fn name(self) -> &'static str {
        match self {
            StatementLabel::Select => "select",
            StatementLabel::Insert => "insert",
            StatementLabel::Update => "update",
            StatementLabel::Delete => "delete",
            StatementLabel::Ddl => "ddl",
            StatementLabel::Transaction => "transaction",
            StatementLabel::Set => "set",
            StatementLabel::Show => "show",
            StatementLabel::Admin => "admin",
            StatementLabel::Other => "other",
        }
    }
}

/// How many execution units a statement ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fanout {
    /// One data node.
    Single,
    /// More than one data node, fewer than all of the table's.
    Several,
    /// Every data node of the table.
    Scatter,
}

/// Histogram bucket bounds, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A latency histogram of atomic buckets: prometheus-client's own takes a
/// lock per observation, which the statement path must not.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Observations at or below each bound (not cumulative; summed when encoded).
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_ns: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // Per-bucket counts: the encoder accumulates them itself.
        let mut count = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
        for (i, counter) in self.buckets.iter().enumerate() {
            let in_bucket = counter.load(Ordering::Relaxed);
            count += in_bucket;
            let bound = LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::MAX);
            buckets.push((bound, in_bucket));
        }
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// One endpoint's pool, as the backends report it at scrape time.
#[derive(Debug, Clone)]
pub struct PoolReading {
    pub data_source: String,
    /// What the endpoint is now (it changes with a failover).
    pub role: &'static str,
    /// `host:port/db`.
    pub endpoint: String,
    pub in_use: i64,
    pub idle: i64,
    pub max: i64,
    pub waiting: i64,
    pub healthy: bool,
    /// Seconds behind the primary (replicas; `None` when unknown).
    pub lag_s: Option<f64>,
    /// Sessions that had to wait for a connection, since start.
    pub waits: u64,
    /// How long statements used their connection to it.
    pub backend_latency: Arc<LatencyHistogram>,
}

type Labels = Vec<(&'static str, String)>;

/// Every metric of the proxy.
#[derive(Debug, Default)]
pub struct Metrics {
    pub connections_current: Gauge,
    pub connections_total: Counter,
    /// Refused by `max_connections` (1040).
    pub connections_refused: Counter,
    /// Failed logins (wrong password, unknown user, 3159, ...).
    pub logins_refused: Counter,
    /// `statements[kind][ok = 0, error = 1]`.
    statements: Vec<[Counter; 2]>,
    pub statement_latency: Arc<LatencyHistogram>,
    /// Single, several, scatter.
    units: [Counter; 3],
    pub rows_merged: Counter,
    /// Errors sent to clients, by MySQL code.
    errors: Family<Labels, Counter>,
    pub reloads_ok: Counter,
    pub reloads_refused: Counter,
    /// XA transactions and their recovery (the coordinator counts them).
    pub xa: XaMetrics,
}

/// XA two-phase commit and recovery.
#[derive(Debug, Default, Clone)]
pub struct XaMetrics {
    /// Two-phase commits decided COMMIT.
    pub commits: Counter,
    /// One writing branch: `XA COMMIT ... ONE PHASE`, no log.
    pub one_phase: Counter,
    /// XA transactions rolled back (by the client, a failure, a deadlock).
    pub rollbacks: Counter,
    /// Prepared branches recovery committed / rolled back.
    pub recovered_commits: Counter,
    pub recovered_rollbacks: Counter,
    /// Recovery passes that reached every primary.
    pub recovery_passes: Counter,
    /// Seconds since recovery first saw the oldest branch it could not finish.
    pub oldest_in_doubt_seconds: Gauge,
}

impl XaMetrics {
    fn register(&self, registry: &mut Registry) {
        let outcomes = Family::<Labels, Counter>::default();
        for (name, counter) in [
            ("committed", &self.commits),
            ("one_phase", &self.one_phase),
            ("rolled_back", &self.rollbacks),
        ] {
            outcomes
                .get_or_create(&vec![("outcome", name.to_string())])
                .inc_by(counter.get());
        }
        registry.register(
            "xa_transactions",
            "XA transactions ended, by outcome (two-phase commit, one phase, rollback)",
            outcomes,
        );
        let recovered = Family::<Labels, Counter>::default();
        for (name, counter) in [
            ("committed", &self.recovered_commits),
            ("rolled_back", &self.recovered_rollbacks),
        ] {
            recovered
                .get_or_create(&vec![("outcome", name.to_string())])
                .inc_by(counter.get());
        }
        registry.register(
            "xa_recovered_branches",
            "Prepared branches recovery finished, by outcome",
            recovered,
        );
        registry.register(
            "xa_recovery_passes",
            "XA recovery passes that reached every primary",
            self.recovery_passes.clone(),
        );
        registry.register(
            "xa_oldest_in_doubt_seconds",
            "Age of the oldest prepared branch recovery could not finish yet",
            self.oldest_in_doubt_seconds.clone(),
        );
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            statements: StatementLabel::ALL
                .iter()
                .map(|_| [Counter::default(), Counter::default()])
                .collect(),
            ..Metrics::default()
        }
    }

    /// One statement ended: `error` is the MySQL code sent, if any.
    pub fn statement(&self, kind: StatementLabel, error: Option<u16>, elapsed: Duration) {
        let index = kind as usize;
        if let Some(counters) = self.statements.get(index) {
            counters[usize::from(error.is_some())].inc();
        }
        self.statement_latency.observe(elapsed);
        if let Some(code) = error {
            self.error(code);
        }
    }

    /// An error packet went to a client (errors are rare: a label lookup is fine).
    pub fn error(&self, code: u16) {
        self.errors
            .get_or_create(&vec![("code", code.to_string())])
            .inc();
    }

    /// A routed statement ran `fanout` execution units.
    pub fn units(&self, fanout: Fanout) {
        self.units[fanout as usize].inc();
    }

    /// The Prometheus text of every metric, with the pools as read now.
    pub fn render(&self, pools: &[PoolReading], ready: bool) -> String {
        let mut registry = Registry::with_prefix("shardgate");
        registry.register(
            "client_connections",
            "Client connections open now",
            self.connections_current.clone(),
        );
        registry.register(
            "client_connections_opened",
            "Client connections accepted",
            self.connections_total.clone(),
        );
        registry.register(
            "client_connections_refused",
            "Client connections refused by max_connections (1040)",
            self.connections_refused.clone(),
        );
        registry.register(
            "logins_refused",
            "Logins refused (bad credentials, unknown schema, insecure transport)",
            self.logins_refused.clone(),
        );
        let statements = Family::<Labels, Counter>::default();
        for (kind, counters) in StatementLabel::ALL.iter().zip(&self.statements) {
            for (outcome, counter) in ["ok", "error"].iter().zip(counters) {
                let labels = vec![
                    ("kind", kind.name().to_string()),
                    ("outcome", outcome.to_string()),
                ];
                statements.get_or_create(&labels).inc_by(counter.get());
            }
        }
        registry.register(
            "statements",
            "Client statements by kind and outcome",
            statements,
        );
        registry.register(
            "statement_duration_seconds",
            "Whole-statement latency as the proxy sees it",
            SharedHistogram(self.statement_latency.clone()),
        );
        let units = Family::<Labels, Counter>::default();
        for (name, counter) in ["single", "several", "scatter"].iter().zip(&self.units) {
            units
                .get_or_create(&vec![("fanout", name.to_string())])
                .inc_by(counter.get());
        }
        registry.register(
            "routed_statements",
            "Routed statements by how many execution units they ran",
            units,
        );
        registry.register(
            "rows_merged",
            "Rows the proxy merged from several data nodes",
            self.rows_merged.clone(),
        );
        registry.register(
            "errors",
            "Errors sent to clients, by MySQL code",
            self.errors.clone(),
        );
        let reloads = Family::<Labels, Counter>::default();
        reloads
            .get_or_create(&vec![("outcome", "ok".into())])
            .inc_by(self.reloads_ok.get());
        reloads
            .get_or_create(&vec![("outcome", "refused".into())])
            .inc_by(self.reloads_refused.get());
        registry.register("reloads", "Rule file reloads", reloads);
        self.xa.register(&mut registry);
        register_pools(&mut registry, pools);
        let ready_gauge: Gauge = Gauge::default();
        ready_gauge.set(i64::from(ready));
        registry.register("ready", "1 when /readyz answers 200", ready_gauge);
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Reads one gauge's value off a pool reading.
type PoolValue = fn(&PoolReading) -> i64;

/// The pool gauges, one series per endpoint.
fn register_pools(registry: &mut Registry, pools: &[PoolReading]) {
    let gauges: [(&str, &str, PoolValue); 5] = [
        (
            "pool_in_use",
            "Backend connections running a statement or pinned",
            |p| p.in_use,
        ),
        ("pool_idle", "Backend connections open and idle", |p| p.idle),
        ("pool_max", "pool_max of the endpoint", |p| p.max),
        (
            "pool_waiting",
            "Statements waiting for a backend connection",
            |p| p.waiting,
        ),
        (
            "endpoint_healthy",
            "1 when the endpoint is up (its health checks pass)",
            |p| i64::from(p.healthy),
        ),
    ];
    for (name, help, value) in gauges {
        let family = Family::<Labels, Gauge>::default();
        for pool in pools {
            family
                .get_or_create(&endpoint_labels(pool))
                .set(value(pool));
        }
        registry.register(name, help, family);
    }
    let lag = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    for pool in pools {
        if let Some(l) = pool.lag_s {
            lag.get_or_create(&endpoint_labels(pool)).set(l);
        }
    }
    registry.register(
        "endpoint_lag_seconds",
        "How far a replica is behind its primary (absent when unknown)",
        lag,
    );
    let waits = Family::<Labels, Counter>::default();
    for pool in pools {
        waits
            .get_or_create(&vec![("data_source", pool.data_source.clone())])
            .inc_by(pool.waits);
    }
    registry.register(
        "pool_waits",
        "Statements that had to wait for a backend connection",
        waits,
    );
    for pool in pools {
        let labels = [
            ("data_source", pool.data_source.clone()),
            ("endpoint", pool.endpoint.clone()),
        ]
        .map(|(k, v)| (std::borrow::Cow::Borrowed(k), std::borrow::Cow::Owned(v)));
        registry
            .sub_registry_with_labels(labels.into_iter())
            .register(
                "backend_duration_seconds",
                "How long each statement used its backend connection, per endpoint",
                SharedHistogram(pool.backend_latency.clone()),
            );
    }
}

/// An endpoint's series: its data source, role now and address.
fn endpoint_labels(pool: &PoolReading) -> Labels {
    vec![
        ("data_source", pool.data_source.clone()),
        ("role", pool.role.to_string()),
        ("endpoint", pool.endpoint.clone()),
    ]
}

/// A histogram shared with the statement path, registered by reference.
#[derive(Debug)]
struct SharedHistogram(Arc<LatencyHistogram>);

impl TypedMetric for SharedHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for SharedHistogram {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_pools() {
        let metrics = Metrics::new();
        metrics.statement(StatementLabel::Select, None, Duration::from_micros(300));
        metrics.statement(StatementLabel::Insert, Some(1062), Duration::from_millis(3));
        metrics.units(Fanout::Scatter);
        metrics.connections_total.inc();
        metrics.xa.commits.inc();
        metrics.xa.oldest_in_doubt_seconds.set(12);
        let pools = [PoolReading {
            data_source: "ds_0".into(),
            role: "primary",
            endpoint: "h:1/db".into(),
            in_use: 2,
            idle: 1,
            max: 64,
            waiting: 0,
            healthy: true,
            lag_s: None,
            waits: 3,
            backend_latency: Arc::default(),
        }];
        let mut pools = pools.to_vec();
        pools.push(PoolReading {
            role: "replica",
            endpoint: "h:2/db".into(),
            lag_s: Some(1.5),
            waits: 0,
            ..pools[0].clone()
        });
        pools[0].backend_latency.observe(Duration::from_micros(200));
        let text = metrics.render(&pools, true);
        for line in [
            "shardgate_statements_total{kind=\"select\",outcome=\"ok\"} 1",
            "shardgate_statements_total{kind=\"insert\",outcome=\"error\"} 1",
            "shardgate_errors_total{code=\"1062\"} 1",
            "shardgate_statement_duration_seconds_count 2",
            "shardgate_statement_duration_seconds_bucket{le=\"0.0005\"} 1",
            "shardgate_statement_duration_seconds_bucket{le=\"0.005\"} 2",
            "shardgate_routed_statements_total{fanout=\"scatter\"} 1",
            "shardgate_pool_in_use{data_source=\"ds_0\",role=\"primary\",endpoint=\"h:1/db\"} 2",
            "shardgate_pool_max{data_source=\"ds_0\",role=\"primary\",endpoint=\"h:1/db\"} 64",
            "shardgate_client_connections_opened_total 1",
            "shardgate_ready 1",
            "shardgate_pool_waits_total{data_source=\"ds_0\"} 3",
            "shardgate_backend_duration_seconds_count{data_source=\"ds_0\",endpoint=\"h:1/db\"} 1",
            "shardgate_endpoint_lag_seconds{data_source=\"ds_0\",role=\"replica\",endpoint=\"h:2/db\"} 1.5",
            "shardgate_pool_max{data_source=\"ds_0\",role=\"replica\",endpoint=\"h:2/db\"} 64",
            "shardgate_xa_transactions_total{outcome=\"committed\"} 1",
            "shardgate_xa_oldest_in_doubt_seconds 12",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
