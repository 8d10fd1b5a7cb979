//! What the admin HTTP endpoints report about the running proxy: metrics
//! with the pools as the backends expose them, and readiness.

use super::Shared;
use crate::admin::http::Probe;
use crate::admin::metrics::PoolReading;
use crate::execute::Backends;
use crate::rules::value::ColumnKind;
use std::time::Duration;

/// How long `/readyz` waits for a primary to accept a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The pool gauges of every endpoint. The one place that knows how the
/// backends expose their pools.
pub fn pool_readings(backends: &Backends) -> Vec<PoolReading> {
    let mut readings = Vec::new();
    for ds in backends.iter() {
        for e in &ds.endpoints {
            let (in_use, idle) = e.pool_usage();
            let (lag_s, eligible) = {
                let h = e.health.lock();
                (h.lag_s, h.eligible)
            };
            let primary = ds.is_primary(e);
            // A replica is healthy when it may serve reads (up, replicating, within the lag).
            let healthy = e.is_healthy() && (primary || !ds.has_replicas() || eligible);
            readings.push(PoolReading {
                data_source: ds.name.clone(),
                role: if primary { "primary" } else { "replica" },
                endpoint: e.address.to_string(),
                in_use: in_use as i64,
                idle: idle as i64,
                max: e.pool_max as i64,
                waiting: e.pool_waiting() as i64,
                healthy,
                lag_s: if primary { None } else { lag_s },
                waits: e.waits(),
                backend_latency: e.backend_latency.clone(),
            });
        }
    }
    readings
}

impl Shared {
    /// Sharding columns whose type is not known yet, as `schema.table.column`.
    fn unloaded_columns(&self) -> Vec<String> {
        let generation = self.current();
        let mut missing = Vec::new();
        for (schema_name, schema) in &generation.config.rules.schemas {
            for (table_name, table) in &schema.tables {
                for column in table.sharding_columns() {
                    if self.column_kinds.get(schema_name, table_name, column) == ColumnKind::Unknown
                    {
                        missing.push(format!("{schema_name}.{table_name}.{column}"));
                    }
                }
            }
        }
        missing
    }

    /// Primaries that do not accept a connection now, with the cause.
    async fn unreachable_primaries(&self) -> Vec<String> {
        let generation = self.current();
        let probes = generation.backends.iter().map(|ds| async move {
            if ds.has_replicas() {
                // The monitor knows: one reachable writer, or reads go on from replicas.
                return match ds.primary() {
                    Ok(e) if e.is_healthy() => None,
                    Ok(_) => Some(format!("data source {}: the primary is down", ds.name)),
                    Err(e) => Some(format!("data source {}: {}", ds.name, e.message)),
                };
            }
            match tokio::time::timeout(PROBE_TIMEOUT, ds.connect_control()).await {
                Ok(Ok(conn)) => {
                    drop(conn);
                    None
                }
                Ok(Err(e)) => Some(format!("data source {}: {}", ds.name, e.message)),
                Err(_) => Some(format!(
                    "data source {}: no answer within {}s",
                    ds.name,
                    PROBE_TIMEOUT.as_secs()
                )),
            }
        });
        futures_util::future::join_all(probes)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

impl Probe for Shared {
    async fn metrics_text(&self) -> String {
        let pools = pool_readings(&self.current().backends);
        let ready = pools.iter().all(|p| p.healthy) && self.unloaded_columns().is_empty();
        if let Some(xa) = &self.xa {
            let oldest = xa.oldest_in_doubt_secs();
            self.metrics.xa.oldest_in_doubt_seconds.set(oldest as i64);
        }
        self.metrics.render(&pools, ready)
    }

    async fn not_ready(&self) -> Vec<String> {
        let mut problems = self.unreachable_primaries().await;
        if problems.is_empty() && !self.unloaded_columns().is_empty() {
            // Tables created since start-up (or backends that came up late): read again.
            self.refresh_column_kinds().await;
        }
        problems.extend(
            self.unloaded_columns()
                .into_iter()
                .map(|c| format!("sharding column type not loaded: {c}")),
        );
        problems
    }
}
