//! Object stores on a cluster's executors: a lake in S3, GCS or Azure is read
//! by the executors themselves, each with its own credentials.
//!
//! The client lists the lake and plans the scan as for a local run; the plan
//! names each file by its store's URL (`s3://bucket`). An executor's runtime
//! holds a registry ([`ExecutorStores`]) that builds the client for a store
//! the first time a task reads from it, from the executor's environment (the
//! same credential chains as a local run: `AWS_*`, instance and pod roles,
//! `GOOGLE_*`, `AZURE_*`, managed identity), and keeps it for every later task.
//! Credentials never travel with a plan. Whether requests are unsigned
//! (`--anonymous`) does, as the setting `lakehunt.anonymous`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ballista_core::RuntimeProducer;
use datafusion::common::extensions_options;
use datafusion::common::{DataFusionError, Result};
use datafusion::config::ConfigExtension;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;
use object_store::ObjectStore;
use url::Url;

use crate::scan::{GAP, NarrowRanges};
use crate::source::remote::{StoreOptions, build_store};

extensions_options! {
    /// lakehunt's settings that travel with a job to the executors.
    pub struct ClusterSettings {
        /// Unsigned requests to object stores (`--anonymous`).
        pub anonymous: bool, default = false
    }
}

impl ConfigExtension for ClusterSettings {
    const PREFIX: &'static str = "lakehunt";
}

/// Whether a job with `config` reads object stores unsigned.
fn anonymous(config: &SessionConfig) -> bool {
    config
        .options()
        .extensions
        .get::<ClusterSettings>()
        .is_some_and(|s| s.anonymous)
}

/// The store URL (`az://container@account`) a registry key
/// (`az://container.account`, see `ObjectUrl::registry_key`) stands for.
fn store_of(key: &Url) -> String {
    let scheme = key.scheme();
    let host = key.host_str().unwrap_or_default();
    match scheme {
        "az" | "abfs" | "abfss" => format!("{scheme}://{}", host.replacen('.', "@", 1)),
        _ => match key.port() {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        },
    }
}

/// An executor's object stores, built on first use (see the module); one for
/// signed and one for unsigned requests.
#[derive(Debug)]
pub(crate) struct ExecutorStores {
    anonymous: bool,
    /// Local files, and stores registered by hand.
    fixed: DefaultObjectStoreRegistry,
    built: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl ExecutorStores {
    fn new(anonymous: bool) -> ExecutorStores {
        ExecutorStores {
            anonymous,
            fixed: DefaultObjectStoreRegistry::new(),
            built: Mutex::default(),
        }
    }
}

impl ObjectStoreRegistry for ExecutorStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.fixed.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.fixed.get_store(url) {
            return Ok(store);
        }
        let key = store_of(url);
        // A panic elsewhere while holding the lock leaves the map whole.
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(store) = built.get(&key) {
            return Ok(Arc::clone(store));
        }
        let options = StoreOptions {
            anonymous: self.anonymous,
        };
        let store =
            build_store(&key, &options).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let store: Arc<dyn ObjectStore> = Arc::new(NarrowRanges::new(store, GAP));
        built.insert(key, Arc::clone(&store));
        Ok(store)
    }
}

/// This process's registry for jobs with `config`: built once, shared by
/// every job (and a scheduler's, which decodes plans but reads nothing).
pub(crate) fn registry_for(config: &SessionConfig) -> Arc<dyn ObjectStoreRegistry> {
    static SIGNED: OnceLock<Arc<ExecutorStores>> = OnceLock::new();
    static UNSIGNED: OnceLock<Arc<ExecutorStores>> = OnceLock::new();
    let anonymous = anonymous(config);
    let stores = if anonymous { &UNSIGNED } else { &SIGNED };
    Arc::clone(stores.get_or_init(|| Arc::new(ExecutorStores::new(anonymous)))) as _
}

/// The runtime an executor gives each job: spill files under `work_dir`,
/// and the executor's object stores.
pub(crate) fn runtime_producer(work_dir: PathBuf) -> RuntimeProducer {
    Arc::new(move |config: &SessionConfig| {
        let runtime = RuntimeEnvBuilder::new()
            .with_temp_file_path(work_dir.clone())
            .with_object_store_registry(registry_for(config))
            .build()?;
        Ok(Arc::new(runtime))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_keys_name_their_stores() {
        let key = |s: &str| store_of(&Url::parse(s).unwrap());
        assert_eq!(key("s3://bucket/"), "s3://bucket");
        assert_eq!(key("az://logs.account"), "az://logs@account");
        assert_eq!(key("https://example.com:8443/"), "https://example.com:8443");
        assert_eq!(key("gs://b"), "gs://b");
    }

    #[test]
    fn the_setting_travels_as_text() {
        let mut config = SessionConfig::new().with_option_extension(ClusterSettings::default());
        assert!(!anonymous(&config));
        config
            .options_mut()
            .set("lakehunt.anonymous", "true")
            .unwrap();
        assert!(anonymous(&config));
    }
}
