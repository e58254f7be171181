//! `lakehunt scheduler`, `lakehunt executor`, and `--cluster`: the cluster's
//! processes, and the flag that sends a run to them.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use lakehunt::cluster::{self, ClusterUrl, ExecutorOptions};

use super::Outcome;

pub(crate) const CLUSTER_EXAMPLES: &str = "\
Examples (one machine, loopback; on a real cluster each on its own host):
  lakehunt scheduler --bind 127.0.0.1:50050 &
  lakehunt executor --scheduler 127.0.0.1:50050 --port 50051 --work-dir /tmp/ex1 &
  lakehunt run egress-bytes --data /shared/lake/ --cluster df://127.0.0.1:50050

The executors read the --data paths themselves: give paths every executor sees
(a shared mount). The stock Ballista binaries cannot run lakehunt's plans: run
these. See docs/cluster.md.";

/// `--cluster`, on the commands that can run on one.
#[derive(Clone, Debug, Args)]
pub(crate) struct ClusterArgs {
    /// Run on a cluster: a `lakehunt scheduler` at df://HOST:PORT with
    /// `lakehunt executor`s registered. Planning stays here; the executors read
    /// the data, so --data must name paths they see (a shared mount).
    #[arg(long, value_name = "df://HOST:PORT", value_parser = parse_cluster)]
    pub(crate) cluster: Option<ClusterUrl>,
}

fn parse_cluster(text: &str) -> Result<ClusterUrl, String> {
    text.parse()
}

/// `lakehunt scheduler`.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on for clients and executors (gRPC). Executors are
    /// told to call back on it: bind a reachable address, not 0.0.0.0.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    bind: String,
    /// Seconds without word from an executor (it asks for tasks every 50 ms
    /// when idle, every 5 s when busy) before it is taken as lost and its
    /// tasks run again on the others.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(10..))]
    executor_timeout: u64,
    /// What the process logs to stderr: off, error, warn, info (each task),
    /// debug or trace.
    #[arg(long, value_name = "LEVEL", default_value = "warn", value_parser = parse_level)]
    log: log::LevelFilter,
}

/// `lakehunt executor`.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler's address.
    #[arg(long, value_name = "HOST:PORT")]
    scheduler: String,
    /// Host to listen on, also given to the scheduler and clients to reach it.
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    bind: String,
    /// Arrow Flight port: shuffle data and results are read from it.
    #[arg(long, value_name = "PORT", default_value_t = 50051)]
    port: u16,
    /// Folder for shuffle files (default: a temporary folder).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Tasks run at once (default: the machine's cores).
    #[arg(long, value_name = "N", value_parser = super::at_least_one)]
    concurrent_tasks: Option<usize>,
    /// What the process logs to stderr: off, error, warn, info (each task),
    /// debug or trace.
    #[arg(long, value_name = "LEVEL", default_value = "warn", value_parser = parse_level)]
    log: log::LevelFilter,
}

fn parse_level(text: &str) -> Result<log::LevelFilter, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not one of off, error, warn, info, debug, trace"))
}

/// `HOST:PORT` resolved, naming the flag when it does not.
fn address(flag: &str, text: &str) -> anyhow::Result<SocketAddr> {
    text.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .with_context(|| format!("{flag}: '{text}' is not a HOST:PORT that resolves"))
}

/// A runtime whose threads have room for deep plans.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(lakehunt::engine::WORKER_STACK)
        .build()
        .context("cannot start the async runtime")
}

pub(crate) fn scheduler(args: &SchedulerArgs) -> anyhow::Result<Outcome> {
    let bind = address("--bind", &args.bind)?;
    if bind.ip().is_unspecified() {
        anyhow::bail!(
            "--bind {bind}: executors call the scheduler back on this address; bind one they can reach"
        );
    }
    cluster::log::to_stderr(args.log);
    let runtime = runtime()?;
    runtime.block_on(async {
        // Bound here first, so that a taken port is one clear line.
        drop(
            tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("--bind {bind}: cannot listen there"))?,
        );
        eprintln!("lakehunt scheduler listening on df://{bind} (Ctrl-C stops it)");
        tokio::select! {
            ran = cluster::run_scheduler(bind, args.executor_timeout) => ran.map_err(anyhow::Error::from),
            stopped = super::stop_signal() => {
                eprintln!("lakehunt scheduler: {}, stopped", stopped?.name);
                Ok(())
            }
        }
    })?;
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(Outcome::Clean)
}

pub(crate) fn executor(args: &ExecutorArgs) -> anyhow::Result<Outcome> {
    let scheduler = address("--scheduler", &args.scheduler)?;
    if let Some(dir) = &args.work_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--work-dir {}: cannot create it", dir.display()))?;
    }
    let options = ExecutorOptions {
        scheduler,
        bind: args.bind.clone(),
        port: args.port,
        work_dir: args.work_dir.clone(),
        concurrent_tasks: args.concurrent_tasks,
    };
    cluster::log::to_stderr(args.log);
    let runtime = runtime()?;
    eprintln!(
        "lakehunt executor on {}:{}, for df://{scheduler}",
        args.bind, args.port
    );
    // Ballista's executor stops itself on SIGINT and SIGTERM: it tells the
    // scheduler, then waits for its running tasks (pulling, it may take new
    // ones meanwhile; see docs/cluster.md).
    runtime.block_on(cluster::run_executor(&options))?;
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(Outcome::Clean)
}
