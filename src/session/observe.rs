//! What a finished statement leaves behind besides metrics: a WARN line when
//! it was slower than `server.slow_query_ms`, and a line in the audit log.

use super::{Session, Shared};
use crate::error::Error;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The data sources the statement running now used (for the slow log,
/// the audit log and XA). Cleared after every statement but its strings
/// kept: a passthrough statement would otherwise copy its data source's
/// name into a new one.
#[derive(Debug, Default)]
pub struct Touched {
    names: Vec<String>,
    len: usize,
}

impl Touched {
    pub fn push(&mut self, name: &str) {
        match self.names.get_mut(self.len) {
            Some(kept) => {
                kept.clear();
                kept.push_str(name);
            }
            None => self.names.push(name.to_string()),
        }
        self.len += 1;
    }

    pub fn extend_from_slice(&mut self, names: &[String]) {
        for name in names {
            self.push(name);
        }
    }

    pub fn as_slice(&self) -> &[String] {
        &self.names[..self.len]
    }

    pub fn clear(&mut self) {
        self.len = 0;
        // A statement over many data sources leaves no large list behind.
        self.names.truncate(4);
    }
}

/// Statement text longer than this is cut in logs.
const LOGGED_STATEMENT_CHARS: usize = 1024;

/// The audit log file, opened for appending; reopened on SIGHUP so log
/// rotation can move the old one away.
#[derive(Default)]
pub struct AuditLog {
    file: arc_swap::ArcSwapOption<std::fs::File>,
}

impl AuditLog {
    /// Opens (or, given `None`, closes) the audit log.
    pub fn open(&self, path: Option<&Path>) -> std::io::Result<()> {
        let file = match path {
            Some(path) => Some(Arc::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
            None => None,
        };
        self.file.store(file);
        Ok(())
    }

    fn enabled(&self) -> bool {
        self.file.load().is_some()
    }

    /// Appends one line; an O_APPEND write of one buffer is not interleaved
    /// with other sessions' lines.
    fn write_line(&self, mut line: Vec<u8>) {
        if let Some(file) = self.file.load().as_ref() {
            line.push(b'\n');
            if let Err(e) = (&**file).write_all(&line) {
                tracing::warn!("cannot write the audit log: {e}");
            }
        }
    }
}

impl Shared {
    /// Reopens the audit log at the path the rules in force name.
    pub fn reopen_audit_log(&self) {
        let generation = self.current();
        let path = generation.config.server.audit_log.as_deref();
        if let Err(e) = self.audit.open(path) {
            tracing::error!(
                "cannot open server.audit_log {}: {e}",
                path.map(|p| p.display().to_string()).unwrap_or_default()
            );
        }
    }
}

/// `sql` as text, cut to a loggable length.
fn truncated(sql: &[u8]) -> String {
    let text = String::from_utf8_lossy(sql);
    match text.char_indices().nth(LOGGED_STATEMENT_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.into_owned(),
    }
}

impl Session {
    /// Logs a finished statement: slow ones at WARN, every one to the audit
    /// log; `rows` were sent or affected.
    pub(super) fn statement_done(
        &mut self,
        sql: &[u8],
        elapsed: Duration,
        rows: u64,
        error: Option<&Error>,
    ) {
        let slow_ms = self.config().server.slow_query_ms;
        let slow = elapsed >= Duration::from_millis(slow_ms);
        let audit = self.shared.audit.enabled();
        if !slow && !audit {
            self.touched.clear();
            return;
        }
        let statement = truncated(sql);
        let data_sources = self.touched.as_slice().join(",");
        if slow {
            tracing::warn!(
                user = self.user_name(),
                schema = self.schema.as_deref().unwrap_or(""),
                data_sources = %data_sources,
                ms = elapsed.as_millis() as u64,
                statement = %statement,
                "slow statement"
            );
        }
        if audit {
            let line = serde_json::json!({
                "time": unix_seconds(),
                "connection_id": self.connection_id,
                "user": self.user_name(),
                "client": self.client_host,
                "schema": self.schema,
                "statement": statement,
                "data_sources": self.touched.as_slice(),
                "rows": rows,
                "duration_ms": elapsed.as_secs_f64() * 1e3,
                "error": error.map(|e| e.to_string()),
            });
            self.shared.audit.write_line(line.to_string().into_bytes());
        }
        self.touched.clear();
    }
}

fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
