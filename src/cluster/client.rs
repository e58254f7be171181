//! Submitting a physical plan to a scheduler and reading its answer: what
//! Ballista's `execute_physical_plan` does, keeping the job's id so that the
//! job's metrics (ES|QL's warning counts) can be read once it has succeeded.

use std::time::Duration;

use ballista_core::client::BallistaClient;
use ballista_core::config::BallistaConfig;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::protobuf::execute_query_params::Query;
use ballista_core::serde::protobuf::execute_query_result::Result as Submitted;
use ballista_core::serde::protobuf::job_status::Status;
use ballista_core::serde::protobuf::operator_metric::Metric;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    CancelJobParams, ExecuteQueryParams, GetJobMetricsParams, GetJobStatusParams, KeyValuePair,
    PartitionLocation, SuccessfulJob,
};
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_endpoint};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionConfig;
use datafusion_proto::physical_plan::AsExecutionPlan;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::{StreamExt, TryStreamExt};
use std::sync::Arc;

use super::LakehuntCodec;
use super::warnings::ClientCounts;

/// How often a running job's status is asked for.
const POLL: Duration = Duration::from_millis(50);

fn failed(e: impl std::fmt::Debug) -> DataFusionError {
    DataFusionError::Execution(format!("{e:?}"))
}

/// Runs `plan` on the scheduler at `endpoint` (an `http://` URL) with the
/// session's `config`, adds the job's warning counts to `counts`, and
/// streams the answer from the executors that hold it.
pub(super) async fn submit(
    endpoint: &str,
    plan: Arc<dyn ExecutionPlan>,
    session_id: &str,
    config: SessionConfig,
    counts: &ClientCounts,
) -> Result<SendableRecordBatchStream> {
    let ballista: BallistaConfig = config.ballista_config();
    let grpc = GrpcClientConfig::from(&ballista);
    let max_message_size = ballista.grpc_client_max_message_size();

    let codec = LakehuntCodec::default();
    let plan_bytes = {
        let message = PhysicalPlanNode::try_from_physical_plan(Arc::clone(&plan), &codec)?;
        let mut buf = vec![];
        message.try_encode(&mut buf)?;
        buf
    };
    let settings: Vec<KeyValuePair> = config
        .options()
        .entries()
        .into_iter()
        .map(|entry| KeyValuePair {
            key: entry.key,
            value: entry.value,
        })
        .collect();
    let channel = create_grpc_client_endpoint(endpoint.to_owned(), Some(&grpc))
        .map_err(failed)?
        .connect()
        .await
        .map_err(failed)?;
    let mut scheduler = SchedulerGrpcClient::new(channel)
        .max_encoding_message_size(max_message_size)
        .max_decoding_message_size(max_message_size);

    let mut attempt = 0;
    let (job_id, partition_location) = loop {
        let query = ExecuteQueryParams {
            query: Some(Query::PhysicalPlan(plan_bytes.clone())),
            settings: settings.clone(),
            session_id: session_id.to_owned(),
            operation_id: operation_id(),
        };
        let job_id = start(&mut scheduler, query).await?;
        // A client stopped while the job runs (Ctrl-C) cancels it, so the
        // cluster starts none of its tasks that are left (those running
        // finish: executors pull their tasks, and nothing can stop them).
        let mut guard = Cancel {
            scheduler: Some(scheduler.clone()),
            job_id: job_id.clone(),
        };
        match wait(&mut scheduler, &job_id).await {
            Ok(SuccessfulJob {
                partition_location, ..
            }) => {
                guard.scheduler = None;
                break (job_id, partition_location);
            }
            Err(e) if attempt == 0 && lost_mid_read(&e) => {
                guard.scheduler = None;
                attempt += 1;
                log::warn!(
                    "the cluster lost an executor while a task read its output; \
                     running the job once more ({job_id} failed: {})",
                    first_line(&e.to_string())
                );
            }
            Err(e) => return Err(e),
        }
    };
    if !counts.is_empty() {
        // The rows are right without the counts: a failure to read them is
        // said as `not_counted`, not as a failed run.
        if add_warning_counts(&mut scheduler, &job_id, counts)
            .await
            .is_err()
        {
            counts.lost();
        }
    }

    let retries = grpc.io_retries_times;
    let wait_ms = grpc.io_retry_wait_time_ms;
    let parts = futures::stream::iter(partition_location)
        .then(move |location| fetch(location, max_message_size, retries, wait_ms))
        .try_flatten();
    Ok(Box::pin(RecordBatchStreamAdapter::new(
        plan.schema(),
        parts,
    )))
}

type Scheduler = SchedulerGrpcClient<tonic::transport::Channel>;

/// Cancels its job when dropped while still holding the scheduler.
struct Cancel {
    scheduler: Option<Scheduler>,
    job_id: String,
}

impl Drop for Cancel {
    fn drop(&mut self) {
        let (Some(mut scheduler), Ok(runtime)) =
            (self.scheduler.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let job_id = std::mem::take(&mut self.job_id);
        // Best effort: the process may be on its way out.
        drop(runtime.spawn(async move {
            let _ = scheduler.cancel_job(CancelJobParams { job_id }).await;
        }));
    }
}

/// Submits `query` to the scheduler: the job's id.
async fn start(scheduler: &mut Scheduler, query: ExecuteQueryParams) -> Result<String> {
    let mut request = tonic::Request::new(query);
    ballista_core::version::insert_version_header(request.metadata_mut());
    let submitted = scheduler
        .execute_query(request)
        .await
        .map_err(failed)?
        .into_inner();
    match submitted.result {
        Some(Submitted::Success(ok)) => Ok(ok.job_id),
        Some(Submitted::Failure(failure)) => Err(DataFusionError::Execution(format!(
            "the scheduler refused the job: {failure:?}"
        ))),
        None => Err(DataFusionError::Execution(
            "the scheduler gave no answer".into(),
        )),
    }
}

/// Whether a job failed because a task's read of another executor's output
/// broke off mid-stream: that executor went away after the read began.
/// Ballista reruns the lost stage only where the read fails to start (a
/// fetch failure); a stream cut short fails the job as any task error does.
/// Reads change nothing, so the whole job can run again, on the executors
/// left.
fn lost_mid_read(e: &DataFusionError) -> bool {
    let text = e.to_string();
    text.contains("error reading a body from connection")
        || (text.contains("Ipc error") && text.contains("ConnectionReset"))
}

/// The first line of `text`.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Waits for the job `job_id` to end: how it succeeded, or why it failed.
async fn wait(scheduler: &mut Scheduler, job_id: &str) -> Result<SuccessfulJob> {
    loop {
        let status = scheduler
            .get_job_status(GetJobStatusParams {
                job_id: job_id.to_owned(),
            })
            .await
            .map_err(failed)?
            .into_inner()
            .status
            .and_then(|s| s.status);
        match status {
            Some(Status::Successful(done)) => return Ok(done),
            Some(Status::Failed(err)) => {
                return Err(DataFusionError::Execution(format!(
                    "Job {job_id} failed: {}",
                    err.error
                )));
            }
            None | Some(Status::Queued(_) | Status::Running(_)) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Adds the warning counts in the finished job's operator metrics to
/// `counters` (each partition's from the attempt that succeeded).
async fn add_warning_counts(
    scheduler: &mut Scheduler,
    job_id: &str,
    counts: &ClientCounts,
) -> Result<()> {
    let metrics = scheduler
        .get_job_metrics(GetJobMetricsParams {
            job_id: job_id.to_owned(),
        })
        .await
        .map_err(failed)?
        .into_inner();
    let found = metrics
        .stages
        .iter()
        .flat_map(|stage| &stage.operators)
        .flat_map(|operator| &operator.metrics)
        .filter_map(|metric| match &metric.metric {
            Some(Metric::Count(count)) => Some((count.name.as_str(), count.value)),
            _ => None,
        });
    counts.add(found);
    Ok(())
}

/// One partition of the answer, from the executor that wrote it.
async fn fetch(
    location: PartitionLocation,
    max_message_size: usize,
    retries: u8,
    wait_ms: u64,
) -> Result<SendableRecordBatchStream> {
    let layout = location.layout();
    let (Some(executor), Some(partition)) = (location.executor_meta, location.partition_id) else {
        return Err(DataFusionError::Internal(
            "the scheduler named a result partition without its executor".into(),
        ));
    };
    let mut client = BallistaClient::try_new(
        &executor.host,
        u16::try_from(executor.port).map_err(failed)?,
        max_message_size,
        false,
        None,
        retries,
        wait_ms,
        0,
        0,
    )
    .await
    .map_err(failed)?;
    client
        .fetch_partition(
            &executor.id,
            &partition.into(),
            location.file_id,
            layout,
            true,
        )
        .await
        .map_err(ballista_core::error::BallistaError::into_datafusion)
}

/// A request's id, unique enough for the scheduler to tell requests apart.
fn operation_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "lakehunt-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_cut_off_by_a_lost_executor_runs_the_job_again() {
        // As a job failed when the executor holding a stage's output was
        // killed while another read it (tests/it/cluster.rs).
        let cut = DataFusionError::Execution(
            "Job 038JG5BCTC000 failed: Job failed due to stage 2 failed: Task failed due to \
             runtime execution error: DataFusionError(Shared(External(ArrowError(IpcError(\"Arrow \
             error: Ipc error: code: 'Unknown error', message: \\\"h2 protocol error: error \
             reading a body from connection\\\", source: hyper::Error(Body, Error { kind: \
             Io(Kind(ConnectionReset)) })\")))))"
                .into(),
        );
        assert!(lost_mid_read(&cut));
        // A query's own error fails the run at once.
        let own = DataFusionError::Execution(
            "Job 1 failed: Job failed due to stage 1 failed: Task failed due to runtime \
             execution error: DataFusionError(ArrowError(DivideByZero))"
                .into(),
        );
        assert!(!lost_mid_read(&own));
    }
}
