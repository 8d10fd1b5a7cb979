//! The proxy's client sessions, for `SHOW PROCESSLIST`,
//! `information_schema.PROCESSLIST` and `KILL`: who is connected, what each
//! runs, and on which backend threads, so a `KILL QUERY` can cancel it there.

use crate::sql::scan::ScanText;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Every live session by connection id.
#[derive(Default)]
pub struct Registry {
    // Held only to copy or update a few fields, never across an await.
    sessions: Mutex<BTreeMap<u32, Arc<Entry>>>,
}

/// One session as others may see it.
pub struct Entry {
    pub id: u32,
    pub host: String,
    activity: Mutex<Activity>,
    /// Set by `KILL id`: the session ends before its next statement.
    killed: AtomicBool,
}

/// What a session is doing now.
#[derive(Debug, Clone)]
pub struct Activity {
    pub user: String,
    pub schema: Option<String>,
    /// `Query` while a statement runs, else `Sleep`.
    pub command: &'static str,
    pub since: Instant,
    pub statement: Option<String>,
    /// The last statement's buffer while none runs, kept for the next one:
    /// one allocation per session instead of one per statement.
    spare: String,
    /// (endpoint address, backend thread id) the running statement uses.
    pub backend_threads: Vec<(Arc<str>, u32)>,
}

/// A copy of one session's row.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: u32,
    pub host: String,
    pub activity: Activity,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Registry {
    /// Registers a session after its login.
    pub fn add(&self, id: u32, host: &str, user: &str, schema: Option<&str>) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            id,
            host: host.to_string(),
            activity: Mutex::new(Activity {
                user: user.to_string(),
                schema: schema.map(str::to_string),
                command: "Sleep",
                since: Instant::now(),
                statement: None,
                spare: String::new(),
                backend_threads: Vec::new(),
            }),
            killed: AtomicBool::new(false),
        });
        lock(&self.sessions).insert(id, entry.clone());
        entry
    }

    pub fn remove(&self, id: u32) {
        lock(&self.sessions).remove(&id);
    }

    pub fn get(&self, id: u32) -> Option<Arc<Entry>> {
        lock(&self.sessions).get(&id).cloned()
    }

    /// Every session's row, by id.
    pub fn snapshot(&self) -> Vec<Snapshot> {
        let entries: Vec<Arc<Entry>> = lock(&self.sessions).values().cloned().collect();
        entries
            .into_iter()
            .map(|e| Snapshot {
                id: e.id,
                host: e.host.clone(),
                activity: lock(&e.activity).clone(),
            })
            .collect()
    }
}

impl Entry {
    /// A statement starts.
    pub fn running(&self, statement: &(impl ScanText + ?Sized), schema: Option<&str>) {
        let mut a = lock(&self.activity);
        a.command = "Query";
        a.since = Instant::now();
        let mut text = std::mem::take(&mut a.spare);
        text.clear();
        match statement.parts() {
            (_, Some(valid)) => text.push_str(valid),
            (bytes, None) => text.push_str(&String::from_utf8_lossy(bytes)),
        }
        a.statement = Some(text);
        if a.schema.as_deref() != schema {
            a.schema = schema.map(str::to_string);
        }
        a.backend_threads.clear();
    }

    /// The running statement uses backend thread `thread` of the endpoint at `data_source`.
    pub fn on_backend(&self, data_source: &Arc<str>, thread: u32) {
        let mut a = lock(&self.activity);
        if !a
            .backend_threads
            .iter()
            .any(|(d, t)| **d == **data_source && *t == thread)
        {
            a.backend_threads.push((Arc::clone(data_source), thread));
        }
    }

    /// The statement ended.
    pub fn idle(&self) {
        let mut a = lock(&self.activity);
        a.command = "Sleep";
        a.since = Instant::now();
        // A big statement's buffer is not kept for an idle session.
        if let Some(text) = a.statement.take().filter(|t| t.capacity() <= 256) {
            a.spare = text;
        }
        a.backend_threads.clear();
    }

    pub fn user(&self) -> String {
        lock(&self.activity).user.clone()
    }

    pub fn backend_threads(&self) -> Vec<(Arc<str>, u32)> {
        lock(&self.activity).backend_threads.clone()
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }
}
