//! The health checks: one thread per data source with a runtime of its
//! own, one task per endpoint probing it on one dedicated connection every
//! `health_check_interval_ms` (each probe, connect included, bounded by
//! [`PROBE_TIMEOUT`]: a stopped or frozen server hangs nothing), and one
//! task that turns the endpoints' answers into the data source's writer
//! and its replicas' lag and eligibility ([`super::topology`]).

use super::conn::{ConnClass, Connection};
use super::group::DataSource;
use super::gtid::GtidPos;
use super::health::{ProbeAnswer, Replication, SlaveStatus};
use super::pool::EndpointPool;
use super::response::{self, Frame};
use super::topology::{Topology, View, Writer};
use crate::protocol::wire::Reader;
use mysql_common::constants::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long one probe (connecting included) may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Role, server and GTID positions in one statement; replication state in
/// a second one of the same packet, where the account may read it.
const PROBE: &str = "SELECT @@read_only, @@server_id, @@gtid_binlog_pos, @@gtid_slave_pos";
const PROBE_WITH_REPLICATION: &str =
    "SELECT @@read_only, @@server_id, @@gtid_binlog_pos, @@gtid_slave_pos; SHOW SLAVE STATUS";

/// ER_SPECIFIC_ACCESS_DENIED_ERROR: the account lacks SLAVE MONITOR.
const ACCESS_DENIED: u16 = 1227;

/// Starts the monitor of `ds`; it ends when `ds` is dropped.
pub fn start(ds: &Arc<DataSource>) {
    let interval = ds.health_interval;
    let endpoints: Vec<Arc<EndpointPool>> = ds.endpoints.clone();
    let stop = ds.stop.clone();
    let evaluate = ds.evaluate.clone();
    let group = Arc::downgrade(ds);
    let name = ds.name.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("health-{name}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(data_source = %name, "cannot start the health checks: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                for endpoint in endpoints {
                    let probe = probe_loop(endpoint, stop.clone(), evaluate.clone(), interval);
                    tasks.push(tokio::spawn(probe));
                }
                evaluate_loop(group, stop, evaluate, interval).await;
                for task in tasks {
                    let _ = task.await;
                }
            });
        });
    if let Err(e) = spawned {
        tracing::error!(data_source = %ds.name, "cannot start the health checks: {e}");
    }
}

/// Probes one endpoint until told to stop.
async fn probe_loop(
    endpoint: Arc<EndpointPool>,
    stop: Arc<AtomicBool>,
    evaluate: Arc<Notify>,
    interval: Duration,
) {
    let mut conn: Option<Connection> = None;
    let mut replication_allowed = true;
    while !stop.load(Ordering::Relaxed) {
        let probe = probe(&endpoint, &mut conn, &mut replication_allowed);
        let outcome = match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(why)) => Err(why),
            Err(_) => Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs_f32())),
        };
        match outcome {
            Ok(answer) => {
                if endpoint.health.probe_ok(answer) {
                    tracing::info!(data_source = %endpoint.name, endpoint = %endpoint.address, "endpoint is up again");
                }
            }
            Err(why) => {
                // A connection that failed or hung is never asked again.
                conn = None;
                if endpoint.health.probe_failed(why.clone()) {
                    tracing::warn!(data_source = %endpoint.name, endpoint = %endpoint.address, "endpoint is down: {why}");
                }
            }
        }
        evaluate.notify_one();
        // Coming back up takes two good probes: the second one soon.
        let pause = if endpoint.health.is_up() {
            interval
        } else {
            (interval / 5).max(Duration::from_millis(10))
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = endpoint.health.wake.notified() => {}
        }
    }
    if let Some(c) = conn {
        c.quit().await;
    }
}

/// One probe on the monitor's connection (opened first when needed).
async fn probe(
    endpoint: &EndpointPool,
    conn: &mut Option<Connection>,
    replication_allowed: &mut bool,
) -> Result<ProbeAnswer, String> {
    if conn.is_none() {
        let target = endpoint.endpoint.without_database();
        *conn = Some(Connection::open(&target, ConnClass::default()).await?);
    }
    let Some(c) = conn.as_mut() else {
        return Err("no connection".into());
    };
    let sql = if *replication_allowed {
        PROBE_WITH_REPLICATION
    } else {
        PROBE
    };
    const QUERY: u8 = Command::COM_QUERY as u8;
    c.send_command(QUERY, sql.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (names, rows) = read_result(c).await?.ok_or("the probe answered no rows")?;
    let row = rows.first().ok_or("the probe answered no rows")?;
    let _ = names;
    let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let parse_pos = |i: usize| {
        GtidPos::parse(&text(i)).ok_or_else(|| format!("unreadable GTID position '{}'", text(i)))
    };
    let mut answer = ProbeAnswer {
        read_only: text(0) != "0",
        server_id: text(1).parse().unwrap_or(0),
        binlog_pos: parse_pos(2)?,
        slave_pos: parse_pos(3)?,
        replication: Replication::Unknown,
    };
    if *replication_allowed {
        match read_result(c).await {
            Ok(Some((names, rows))) => answer.replication = slave_status(&names, &rows),
            Ok(None) => answer.replication = Replication::None,
            Err(why) if why.starts_with(&format!("{ACCESS_DENIED} ")) => {
                *replication_allowed = false;
                tracing::warn!(
                    data_source = %endpoint.name,
                    endpoint = %endpoint.address,
                    "the backend account may not read SHOW SLAVE STATUS (it needs SLAVE MONITOR): \
                     replica lag is judged by GTID positions alone"
                );
            }
            Err(why) => return Err(why),
        }
    }
    Ok(answer)
}

type TextRows = (Vec<String>, Vec<Vec<Option<String>>>);

/// Reads one result of the answer: its column names and text rows, `None`
/// for an OK. A server error comes back as `"<code> <message>"`.
async fn read_result(c: &mut Connection) -> Result<Option<TextRows>, String> {
    let caps = c.capabilities;
    let packet = c.read_packet().await.map_err(|e| e.to_string())?;
    let n = match response::frame(packet, caps, "") {
        Frame::Columns(n) => n,
        Frame::Ok(_) => return Ok(None),
        Frame::Err(e) => return Err(format!("{} {}", e.code, e.message)),
        Frame::LocalInfile => return Err("unexpected LOCAL INFILE request".into()),
    };
    let columns = super::statements::read_columns(c, "", n)
        .await
        .map_err(|e| e.message)?;
    let names = columns.iter().map(|c| c.name_str().into_owned()).collect();
    let mut rows = Vec::new();
    loop {
        let packet = c.read_packet().await.map_err(|e| e.to_string())?;
        if response::is_terminator(packet) {
            let end = response::parse_terminator(packet, caps).ok_or("malformed packet")?;
            c.note(&end);
            return Ok(Some((names, rows)));
        }
        if response::is_error(packet) {
            let e = response::server_error(packet, caps, "");
            return Err(format!("{} {}", e.code, e.message));
        }
        rows.push(text_row(packet, n).ok_or("malformed row")?);
    }
}

/// A text-protocol row: each value a length-encoded string, 0xfb for NULL.
fn text_row(packet: &[u8], n: usize) -> Option<Vec<Option<String>>> {
    let mut reader = Reader::new(packet);
    let mut row = Vec::with_capacity(n);
    for _ in 0..n {
        let rest = reader.rest();
        if rest.first() == Some(&0xfb) {
            row.push(None);
            reader = Reader::new(&rest[1..]);
            continue;
        }
        reader = Reader::new(rest);
        let value = reader.lenenc_bytes().ok()?;
        row.push(Some(String::from_utf8_lossy(value).into_owned()));
    }
    Some(row)
}

/// The columns of `SHOW SLAVE STATUS` the proxy uses.
fn slave_status(names: &[String], rows: &[Vec<Option<String>>]) -> Replication {
    let Some(row) = rows.first() else {
        return Replication::None;
    };
    let get = |name: &str| {
        names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .and_then(|i| row.get(i).cloned().flatten())
    };
    Replication::Replica(SlaveStatus {
        io_running: get("Slave_IO_Running").as_deref() == Some("Yes"),
        sql_running: get("Slave_SQL_Running").as_deref() == Some("Yes"),
        master_host: get("Master_Host").unwrap_or_default(),
        master_port: get("Master_Port").and_then(|p| p.parse().ok()).unwrap_or(0),
        seconds_behind: get("Seconds_Behind_Master").and_then(|s| s.parse().ok()),
    })
}

/// Re-evaluates the data source after every probe, and at least every interval.
async fn evaluate_loop(
    group: Weak<DataSource>,
    stop: Arc<AtomicBool>,
    evaluate: Arc<Notify>,
    interval: Duration,
) {
    let mut topology: Option<Topology> = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(ds) = group.upgrade() else {
            break;
        };
        let t = topology.get_or_insert_with(|| Topology::new(ds.endpoints.len()));
        evaluate_once(&ds, t);
        drop(ds);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = evaluate.notified() => {}
        }
    }
}

/// One evaluation: the writer, then each replica's lag and eligibility.
fn evaluate_once(ds: &DataSource, topology: &mut Topology) {
    let states: Vec<_> = ds
        .endpoints
        .iter()
        .map(|e| e.health.lock().clone())
        .collect();
    let views: Vec<View<'_>> = ds
        .endpoints
        .iter()
        .zip(&states)
        .map(|(e, s)| View {
            host: &e.endpoint.host,
            port: e.endpoint.port,
            up: s.up,
            answer: s.answer.as_ref(),
            answered_at: s.answered_at,
        })
        .collect();
    if let Some(change) = topology.choose_writer(&views) {
        if ds.has_replicas() {
            match topology.writer {
                Writer::One(_) => tracing::info!(data_source = %ds.name, "{change}"),
                _ => tracing::warn!(data_source = %ds.name, "{change}"),
            }
        }
    }
    ds.set_writer(topology.writer.clone());
    topology.sample_writer(&views);
    let now = Instant::now();
    let max = ds.max_replica_lag_s as f64;
    for (i, e) in ds.endpoints.iter().enumerate() {
        let before = (states[i].eligible, states[i].good_checks);
        let verdict = topology.eligibility(&views, i, before, max, now);
        let mut h = e.health.lock();
        if h.eligible && !verdict.eligible && ds.has_replicas() && i > 0 {
            tracing::info!(data_source = %ds.name, endpoint = %e.address, lag_s = ?verdict.lag_s, "replica gets no reads");
        }
        // A statement may have taken it down since the snapshot.
        h.eligible = verdict.eligible && h.up;
        h.good_checks = verdict.good_checks;
        h.lag_s = verdict.lag_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_rows_and_slave_status() {
        let packet = [3, b'Y', b'e', b's', 0xfb, 4, b'3', b'3', b'0', b'6'];
        let row = text_row(&packet, 3).unwrap();
        assert_eq!(
            row,
            vec![Some("Yes".to_string()), None, Some("3306".to_string())]
        );
        assert_eq!(text_row(&packet[..3], 3), None);
        let names: Vec<String> = ["Slave_IO_Running", "Seconds_Behind_Master", "Master_Port"]
            .map(String::from)
            .to_vec();
        match slave_status(&names, &[row]) {
            Replication::Replica(s) => {
                assert!(s.io_running && !s.sql_running);
                assert_eq!((s.master_port, s.seconds_behind), (3306, None));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(slave_status(&names, &[]), Replication::None);
    }
}
