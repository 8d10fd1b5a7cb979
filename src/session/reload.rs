//! Hot reload (`RELOAD CONFIG`, SIGHUP): the rule file is read and validated
//! again; a valid one becomes the next [`Generation`], swapped in whole, and
//! each session moves to it at its next command.

use super::{Generation, Session, Shared};
use crate::config::{self, Config};
use crate::error::{Error, Origin};
use crate::security::Security;
use arc_swap::Guard;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

impl Shared {
    /// Re-reads the rule file. Refused (the running rules stay) when it does
    /// not validate, with the same key-path messages as at start-up.
    /// Returns a one-line summary of what changed.
    pub async fn reload(self: &Arc<Self>) -> Result<String, Error> {
        let _one_at_a_time = self.reloading.lock().await;
        let Some(path) = self.config_path.clone() else {
            return Err(Error::not_supported(
                "RELOAD CONFIG for a proxy not started from a rule file",
            ));
        };
        // Reading, validating and building the next generation is CPU work
        // (milliseconds for a thousand tables): off this worker thread, whose
        // other sessions' statements would otherwise wait for it.
        let shared = Arc::clone(self);
        let summary = tokio::task::spawn_blocking(move || shared.load_and_install(&path))
            .await
            .map_err(|e| Error::internal(format!("reload: {e}")))??;
        self.reopen_audit_log();
        // New tables' sharding column types; statements meanwhile already run on the new rules.
        self.refresh_column_kinds().await;
        Ok(summary)
    }

    fn load_and_install(&self, path: &Path) -> Result<String, Error> {
        let started = Instant::now();
        let config = match config::load(path) {
            Ok(config) => config,
            Err(problems) => {
                self.metrics.reloads_refused.inc();
                tracing::warn!(
                    "reload refused, the running rules stay: {} is not valid:\n{problems}",
                    path.display()
                );
                return Err(refused(&format!(
                    "{} is not valid:\n{problems}",
                    path.display()
                )));
            }
        };
        let summary = self.install(config).inspect_err(|e| {
            self.metrics.reloads_refused.inc();
            tracing::warn!("reload refused, the running rules stay: {e}");
        })?;
        self.metrics.reloads_ok.inc();
        tracing::info!(
            "reloaded {} in {:.1} ms: {summary}",
            path.display(),
            started.elapsed().as_secs_f64() * 1e3
        );
        Ok(summary)
    }

    /// Swaps `config` in as the next generation.
    pub fn install(&self, config: Config) -> Result<String, Error> {
        let old = self.current();
        let mut summary = changes(&old.config, &config);
        for (key, before, after) in [
            (
                "server.listen",
                &old.config.server.listen,
                &config.server.listen,
            ),
            (
                "server.admin_listen",
                &format!("{:?}", old.config.server.admin_listen),
                &format!("{:?}", config.server.admin_listen),
            ),
            (
                "server.worker_id",
                &format!("{:?}", old.config.server.worker_id),
                &format!("{:?}", config.server.worker_id),
            ),
        ] {
            if before != after {
                summary.push_str(&format!("; {key} changes only at restart"));
            }
        }
        // Certificate files are read again: a renewed certificate takes effect here.
        let security =
            Security::load(&config.server, Some(&old.security)).map_err(|e| refused(&e))?;
        let backends = old.backends.rebuilt(&old.config, &config)?;
        self.generation.store(Arc::new(Generation {
            config: Arc::new(config),
            backends,
            security: Arc::new(security),
            metadata: super::metadata_cache::MetadataCache::default(),
        }));
        Ok(summary)
    }
}

fn refused(why: &str) -> Error {
    Error::new(
        1105,
        "HY000",
        format!("RELOAD CONFIG refused, the running rules stay: {why}"),
        Origin::Client,
    )
}

/// What a reload changes, in a few words.
fn changes(old: &Config, new: &Config) -> String {
    let tables = |c: &Config| -> usize { c.rules.schemas.values().map(|s| s.tables.len()).sum() };
    let added: Vec<&str> = new
        .data_sources
        .keys()
        .filter(|k| !old.data_sources.contains_key(*k))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = old
        .data_sources
        .keys()
        .filter(|k| !new.data_sources.contains_key(*k))
        .map(String::as_str)
        .collect();
    format!(
        "{} schemas, {} sharded tables (was {}), {} users, data sources added [{}], removed [{}]",
        new.rules.schemas.len(),
        tables(new),
        tables(old),
        new.users.len(),
        added.join(", "),
        removed.join(", ")
    )
}

impl Session {
    /// Moves the session to the generation in force, if a reload installed
    /// a new one: its user's password and privileges are those of the new
    /// file. A user the new file removed is logged out (1045).
    pub fn begin_command(&mut self) -> Result<(), Error> {
        let current = self.shared.generation.load();
        if Arc::ptr_eq(&current, &self.generation) {
            return Ok(());
        }
        self.generation = Guard::into_inner(current);
        let Some(name) = self.user.as_ref().map(|u| u.name.clone()) else {
            return Ok(());
        };
        match self.find_user(&name).cloned() {
            Some(user) => {
                if let Some(schema) = &self.schema {
                    if !user.may_use(schema) || !self.config().rules.schemas.contains_key(schema) {
                        self.schema = None;
                    }
                }
                self.user = Some(user);
                Ok(())
            }
            None => Err(Error::new(
                1045,
                "28000",
                format!("Access denied for user '{name}': the user was removed by a reload"),
                Origin::Client,
            )),
        }
    }
}
