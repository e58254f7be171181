//! The cluster's processes: Ballista's scheduler and executor, with
//! lakehunt's functions in their registries and its codec on their wires.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};
use lakehunt_udfs::esql_warnings::EsqlWarnings;

use super::LakehuntCodec;
use super::stores::{ClusterSettings, registry_for, runtime_producer};
use crate::error::{Error, Result};

/// A session with lakehunt's functions, for the scheduler's and executors'
/// decoding of plans (functions travel by name).
fn session_state(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    // Decoding a scan looks up its object store (never read here).
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(registry_for(&config))
        .build_arc()?;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    let mut ctx = SessionContext::new_with_state(state);
    lakehunt_udfs::register_all(&mut ctx)?;
    // ES|QL's checks count their warnings into counters of the query's own
    // session; here, where no one reads them, into counters of their own.
    let _unread = EsqlWarnings::register(&ctx);
    Ok(ctx.state())
}

/// The settings a job starts from before the client's are applied.
fn base_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_option_extension(ClusterSettings::default())
        .with_ballista_physical_extension_codec(Arc::new(LakehuntCodec::default()))
}

/// A process of the cluster at `url` (its scheduler's) that failed.
fn failed(url: String, role: &str, e: impl std::fmt::Display) -> Error {
    Error::Cluster {
        url,
        message: format!("{role}: {e}"),
    }
}

/// Runs a scheduler on `bind` until the process ends. An executor that has
/// not been heard from for `executor_timeout_s` is taken as lost, and its
/// tasks rerun on the others; with none left for as long again, its running
/// jobs fail.
pub async fn run_scheduler(bind: SocketAddr, executor_timeout_s: u64) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        // What executors are told to call back on.
        external_host: bind.ip().to_string(),
        override_session_builder: Some(Arc::new(session_state)),
        override_config_producer: Some(Arc::new(base_config)),
        override_physical_codec: Some(Arc::new(LakehuntCodec::default())),
        executor_timeout_seconds: executor_timeout_s,
        expire_dead_executor_interval_seconds: (executor_timeout_s / 4).clamp(1, 15),
        // With every executor lost, running jobs fail after this long without
        // one coming back (Ballista's default is 180 s, not its CLI's).
        no_executors_grace_period_seconds: executor_timeout_s,
        // Executors ask for tasks with their own free slots. Under Ballista
        // 55's push scheduling the scheduler counts each executor's slots,
        // and never gives back those of tasks whose stage was rolled back
        // (an executor lost) or whose job was cancelled (apache/
        // datafusion-ballista#2418): one lost executor could wedge a job.
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        ..SchedulerConfig::default()
    };
    let url = format!("df://{bind}");
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| failed(url.clone(), "scheduler", e))?;
    start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(|e| failed(url, "scheduler", e))
}

/// Where an executor listens and whom it serves.
#[derive(Clone, Debug)]
pub struct ExecutorOptions {
    /// The scheduler's address.
    pub scheduler: SocketAddr,
    /// The host it listens on, and gives to the scheduler and clients.
    pub bind: String,
    /// Arrow Flight: shuffle and result reads.
    pub port: u16,
    /// Shuffle files (default: a temporary folder).
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once (default: the machine's cores).
    pub concurrent_tasks: Option<usize>,
}

/// Runs an executor until SIGINT or SIGTERM (it then finishes its tasks and
/// tells the scheduler).
pub async fn run_executor(options: &ExecutorOptions) -> Result<()> {
    let state = session_state(base_config())?;
    let url = format!("df://{}", options.scheduler);
    // A work folder of its own unless given, removed when the executor stops.
    let temporary = match &options.work_dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| failed(url.clone(), "executor", e))?),
    };
    let work_dir = options
        .work_dir
        .clone()
        .or_else(|| temporary.as_ref().map(|t| t.path().to_owned()))
        .unwrap_or_default();
    let config = ExecutorProcessConfig {
        bind_host: options.bind.clone(),
        external_host: Some(options.bind.clone()),
        port: options.port,
        scheduler_host: options.scheduler.ip().to_string(),
        scheduler_port: options.scheduler.port(),
        vcores: options.concurrent_tasks.unwrap_or(0),
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_runtime_producer: Some(runtime_producer(work_dir)),
        override_config_producer: Some(Arc::new(base_config)),
        override_physical_codec: Some(Arc::new(LakehuntCodec::default())),
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        // Nothing listens for the scheduler in pull mode. The scheduler still
        // dials this port to cancel tasks (a cancelled job, a lost executor):
        // port 0 fails at once, where the default (50052) could reach
        // another process.
        grpc_port: 0,
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| failed(url, "executor", e))
}
