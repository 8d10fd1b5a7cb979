//! Backends across a reload: data sources whose definition is unchanged keep
//! their pool (and the connections sessions hold); new ones get a pool;
//! removed ones live on only while a statement or session still holds them.

use super::{Backends, EndpointPool};
use crate::config::Config;
use crate::error::Error;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

impl Backends {
    /// The backends for `new`, reusing this generation's unchanged data sources.
    pub fn rebuilt(&self, old: &Config, new: &Config) -> Result<Backends, Error> {
        let mut sources = BTreeMap::new();
        let interval = super::health_interval(new);
        for (name, ds) in &new.data_sources {
            let kept = self
                .sources
                .get(name)
                .filter(|_| old.data_sources.get(name) == Some(ds));
            let source = match kept {
                Some(existing) => existing.clone(),
                None => {
                    let source =
                        Arc::new(super::data_source(name, ds, self.shed.clone(), interval)?);
                    crate::backend::monitor::start(&source);
                    source
                }
            };
            sources.insert(name.clone(), source);
        }
        Ok(Backends {
            sources,
            shed: self.shed.clone(),
        })
    }

    /// The notification every generation's data sources share.
    pub fn shed_handle(&self) -> Arc<Notify> {
        self.shed.clone()
    }
}

impl EndpointPool {
    /// Statements waiting for a free connection now.
    pub fn pool_waiting(&self) -> usize {
        self.waiting()
    }
}
