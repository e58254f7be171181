//! Past one machine: plans run on an Apache DataFusion Ballista cluster whose
//! scheduler and executors are lakehunt's own binary (`lakehunt scheduler`,
//! `lakehunt executor`), so lakehunt's functions and nodes are the same
//! everywhere.
//!
//! Planning stays with the caller: the session that plans a local run (the
//! `events` view, lakehunt's rules, the scan's pruning by the window) plans
//! the cluster's run too, and the physical plan is sent to the scheduler
//! through [`LakehuntCodec`]; the scheduler only cuts it into stages at its
//! exchanges. A session sends its plans to a cluster when
//! [`EngineOptions::cluster`](crate::engine::EngineOptions::cluster) names
//! one; every execution in the engine goes through `cluster::execute`.
//!
//! What cannot travel is left out of a cluster's plans, never half sent:
//! the tap counts where the scan runs, out of reach (a hunt's data checks run
//! as a second query, whose counts come back as its one row), and threshold
//! pruning would gather every filtered row into one task. ES|QL's warnings
//! are counted on the executors into operator metrics, which the client reads
//! back from the scheduler once the job has succeeded (see `warnings`).

mod client;
mod codec;
pub mod log;
mod process;
mod stores;
mod warnings;

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::Arc;

use ballista_core::config::BallistaConfig;
use datafusion::common::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;

pub use codec::LakehuntCodec;
pub use process::{ExecutorOptions, run_executor, run_scheduler};
pub(crate) use stores::ClusterSettings;

use crate::error::{Error, Result};

/// The port a scheduler listens on unless told otherwise (Ballista's).
pub const DEFAULT_PORT: u16 = 50050;

/// Seconds a client waits to connect to a scheduler.
const CONNECT_TIMEOUT_S: u64 = 10;

/// A cluster's scheduler: `df://HOST:PORT` (the port defaults to 50050).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterUrl {
    host: String,
    port: u16,
}

impl ClusterUrl {
    /// The scheduler's gRPC endpoint.
    fn endpoint(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

impl fmt::Display for ClusterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "df://{}:{}", self.host, self.port)
    }
}

impl FromStr for ClusterUrl {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let Some(rest) = text.strip_prefix("df://") else {
            return Err(format!(
                "'{text}' is not a cluster URL: expected df://HOST:PORT (a `lakehunt scheduler`)"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    format!("'{text}': the port must be a number from 1 to 65535")
                })?;
                (host, port)
            }
            _ => (rest, DEFAULT_PORT),
        };
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "'{text}' is not a cluster URL: expected df://HOST:PORT"
            ));
        }
        Ok(ClusterUrl {
            host: host.to_owned(),
            port,
        })
    }
}

/// Marks a session whose plans run on a cluster (a [`SessionConfig`]
/// extension, so that whatever executes a plan can find it).
#[derive(Debug)]
pub(crate) struct OnCluster(pub(crate) ClusterUrl);

/// Whether plans of a session with `config` run on a cluster.
pub(crate) fn on_cluster(config: &SessionConfig) -> bool {
    config.get_extension::<OnCluster>().is_some()
}

/// Runs `plan` where its session says: on its cluster, or here.
pub(crate) async fn execute(
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
) -> Result<SendableRecordBatchStream> {
    let Some(cluster) = task.session_config().get_extension::<OnCluster>() else {
        let stream = datafusion::physical_plan::execute_stream(Arc::clone(&plan), task)?;
        return Ok(crate::scan::with_named_errors(plan, stream));
    };
    let url = &cluster.0;
    let config = client_config(task.session_config())?;
    let plan = codec::ship_scans(plan)?;
    let (plan, counts) = warnings::ship_warnings(plan)?;
    client::submit(&url.endpoint(), plan, &task.session_id(), config, &counts)
        .await
        .map_err(|e| unreachable_or(url, e.into()))
}

/// `plan` cut into the stages a scheduler runs (each ends in a shuffle write,
/// the last one's output goes to the client), as text.
pub fn stages(
    plan: Arc<dyn ExecutionPlan>,
    options: &datafusion::config::ConfigOptions,
) -> Result<String> {
    use ballista_scheduler::planner::{DefaultDistributedPlanner, DistributedPlanner};
    use datafusion::physical_plan::displayable;
    let plan = codec::ship_scans(plan)?;
    let (plan, _) = warnings::ship_warnings(plan)?;
    let stages = DefaultDistributedPlanner::new()
        .plan_query_stages(&ballista_core::JobId::from("explain"), plan, options)
        .map_err(|e| DataFusionError::Plan(format!("cutting the plan into stages: {e}")))?;
    let mut text = String::new();
    for stage in &stages {
        let tasks = stage.input_partition_count();
        let _ = writeln!(
            text,
            "Stage {} ({tasks} task{})\n{}",
            stage.stage_id(),
            if tasks == 1 { "" } else { "s" },
            displayable(stage.as_ref() as &dyn ExecutionPlan).indent(false)
        );
    }
    Ok(text)
}

/// The settings sent with a plan: the session's own, with Ballista's client
/// settings added (not Ballista's restricted defaults: the plan was made
/// under the session's).
fn client_config(session: &SessionConfig) -> Result<SessionConfig> {
    let mut config = SessionConfig::from(session.options().as_ref().clone());
    if config
        .options()
        .extensions
        .get::<BallistaConfig>()
        .is_none()
    {
        config = config.with_option_extension(BallistaConfig::default());
    }
    config.options_mut().set(
        "ballista.client.grpc_connect_timeout_seconds",
        &CONNECT_TIMEOUT_S.to_string(),
    )?;
    Ok(config)
}

/// A scheduler that cannot be reached, said in one line; other errors as they are.
pub(crate) fn unreachable_or(url: &ClusterUrl, e: Error) -> Error {
    let text = e.to_string();
    let reason = if text.contains("Connection refused") {
        "connection refused"
    } else if text.contains("tcp connect error") || text.contains("ConnectError") {
        "cannot connect"
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        "unknown host"
    } else if text.contains("timed out") && text.contains("transport") {
        "timed out"
    } else {
        return e;
    };
    Error::Cluster {
        url: url.to_string(),
        message: format!(
            "{reason}: is a `lakehunt scheduler` listening there, with executors registered?"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_name_a_host_and_a_port() {
        let url: ClusterUrl = "df://10.0.0.5:50050".parse().unwrap();
        assert_eq!(url.endpoint(), "http://10.0.0.5:50050");
        let url: ClusterUrl = "df://scheduler".parse().unwrap();
        assert_eq!(url.to_string(), "df://scheduler:50050");
        let url: ClusterUrl = "df://[::1]:7000/".parse().unwrap();
        assert_eq!(url.endpoint(), "http://[::1]:7000");
        for bad in [
            "http://h:1",
            "df://",
            "df://h:0",
            "df://h:99999",
            "df://h:x",
            "df://u@h:1",
        ] {
            assert!(bad.parse::<ClusterUrl>().is_err(), "{bad}");
        }
    }
}
