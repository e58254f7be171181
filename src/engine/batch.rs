//! Queries planned together and run at once, sharing one scan of the data:
//! a sweep's library over one dataset (see [`crate::scan::SharedTable`]).
//!
//! ```text
//! let run = engine.share_scans()?;
//! let a = run.prepare_esql(query_a, as_of).await?;   // planned, not run
//! let b = run.prepare_hunt(&bound).await?;
//! run.start()?;                                      // the shared scans
//! let (a, b) = tokio::join!(a.run(), b.run());         // each its own plan
//! ```

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::GreedyMemoryPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::DataFrame;

use super::metrics::scan_stats;
use super::{
    Checks, Engine, EsqlCounts, ScanStats, Table, Warning, count_columns, hunt_failed, warnings_of,
};
use crate::error::{Error, Result};
use crate::hunt::{BoundHunt, Hunt};
use crate::optimizer::TapCounts;
use crate::scan::{Hub, SharedScanExec};

/// A query planned and not yet run (see [`SharedRun`]).
pub struct Prepared {
    schema: SchemaRef,
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    then: Then,
}

/// What a prepared query's warnings come from.
enum Then {
    Esql(EsqlCounts),
    Hunt(Box<Hunt>, PreparedChecks),
}

/// A hunt's data checks, planned (see [`Checks`]).
enum PreparedChecks {
    None,
    Tapped(Vec<String>, Arc<TapCounts>),
    Query(Arc<dyn ExecutionPlan>, Arc<TaskContext>),
}

/// A query's physical plan and the context to run it in: the session's
/// runtime, or `runtime` (a shared run's memory pool).
async fn physical(
    df: DataFrame,
    runtime: Option<&Arc<RuntimeEnv>>,
) -> Result<(SchemaRef, Arc<dyn ExecutionPlan>, Arc<TaskContext>)> {
    let schema = Arc::clone(df.schema().inner());
    let mut task = df.task_ctx();
    if let Some(runtime) = runtime {
        task = task.with_runtime(Arc::clone(runtime));
    }
    let plan = df.create_physical_plan().await?;
    Ok((schema, plan, Arc::new(task)))
}

async fn run_plan(
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
) -> Result<Vec<RecordBatch>> {
    use futures::TryStreamExt;
    let stream = crate::cluster::execute(plan, task).await?;
    Ok(stream.try_collect().await?)
}

impl Prepared {
    /// The plans it runs (for what their own scans read).
    #[must_use]
    pub fn plans(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        let mut plans = vec![Arc::clone(&self.plan)];
        if let Then::Hunt(_, PreparedChecks::Query(plan, _)) = &self.then {
            plans.push(Arc::clone(plan));
        }
        plans
    }

    /// Its plans, to rewrite before they run.
    fn plans_mut(&mut self) -> Vec<&mut Arc<dyn ExecutionPlan>> {
        let mut plans = vec![&mut self.plan];
        if let Then::Hunt(_, PreparedChecks::Query(plan, _)) = &mut self.then {
            plans.push(plan);
        }
        plans
    }

    /// Whether it reads through a shared scan.
    #[must_use]
    pub fn shares(&self) -> bool {
        fn any(plan: &Arc<dyn ExecutionPlan>) -> bool {
            plan.downcast_ref::<SharedScanExec>().is_some() || plan.children().into_iter().any(any)
        }
        self.plans().iter().any(any)
    }

    /// Whether one of its plans scans a shared table twice (a join of the
    /// data with itself).
    fn scans_twice(&self) -> bool {
        fn hubs(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<*const Hub>) {
            if let Some(scan) = plan.downcast_ref::<SharedScanExec>() {
                out.push(Arc::as_ptr(scan.hub()));
            }
            for child in plan.children() {
                hubs(child, out);
            }
        }
        self.plans().iter().any(|plan| {
            let mut found = vec![];
            hubs(plan, &mut found);
            let all = found.len();
            found.sort_unstable();
            found.dedup();
            found.len() < all
        })
    }

    /// Runs the query (a hunt's checks query beside it) to its end: its
    /// findings and warnings.
    pub async fn run(self) -> Result<(Table, Vec<Warning>)> {
        let Prepared {
            schema,
            plan,
            task,
            then,
        } = self;
        match then {
            Then::Esql(counts) => {
                let batches = run_plan(plan, task).await?;
                Ok((Table { schema, batches }, counts.warnings()))
            }
            Then::Hunt(hunt, checks) => {
                let failed = |e: Error| hunt_failed(&hunt, e);
                let (batches, counts) = match checks {
                    PreparedChecks::None => (run_plan(plan, task).await, vec![]),
                    PreparedChecks::Tapped(names, counts) => {
                        let batches = run_plan(plan, task).await;
                        (batches, names.into_iter().zip(counts.values()).collect())
                    }
                    PreparedChecks::Query(checks, checks_task) => {
                        let checks_schema = checks.schema();
                        let (batches, counted) =
                            tokio::join!(run_plan(plan, task), run_plan(checks, checks_task));
                        let counted = Table {
                            schema: checks_schema,
                            batches: counted.map_err(failed)?,
                        };
                        (batches, count_columns(&counted))
                    }
                };
                let batches = batches.map_err(failed)?;
                let warnings = warnings_of(&hunt, &counts)?;
                Ok((Table { schema, batches }, warnings))
            }
        }
    }
}

/// Queries planned together, sharing one scan of each table once started
/// (see the module's docs). Queries prepared outside a run, or after its
/// start, scan for themselves. Dropping it ends the sharing.
pub struct SharedRun<'a> {
    engine: &'a Engine,
    hubs: Vec<Arc<Hub>>,
    /// The session's runtime with a pool of its own for the run's queries,
    /// when they share scans.
    runtime: Option<Arc<RuntimeEnv>>,
    /// Held to read while a query plans among the shared scans, to write
    /// while one plans alone (the hubs are closed for every table then):
    /// queries may plan on several threads at once.
    planning: tokio::sync::RwLock<()>,
}

impl Engine {
    /// Starts planning queries that share their scans; without
    /// `share_scans` in the engine's options, each keeps its own.
    ///
    /// The run's queries run together, so they take memory from a pool of
    /// their own: the session's splits its cap evenly among the operators
    /// that can spill, which suits one query at a time; 20 queries of four
    /// such operators each made every aggregation spill at 1/80th of the cap
    /// (a 10M-event sweep took 15.8 s instead of 7.7 s). In the run's pool,
    /// operators take memory as they need it until the cap, and the one that
    /// meets it spills or fails: a query that fails so can run again alone
    /// ([`Error::is_resources_exhausted`]).
    pub fn share_scans(&self) -> Result<SharedRun<'_>> {
        let partitions = self.ctx.state().config().target_partitions();
        let hubs = self.shared.iter().map(|t| t.open(partitions)).collect();
        let pool = GreedyMemoryPool::new(super::memory_limit(&self.options));
        let runtime = if self.shared.is_empty() {
            None
        } else {
            Some(
                RuntimeEnvBuilder::from_runtime_env(&self.ctx.runtime_env())
                    .with_memory_pool(Arc::new(pool))
                    .build_arc()?,
            )
        };
        Ok(SharedRun {
            engine: self,
            hubs,
            runtime,
            planning: tokio::sync::RwLock::new(()),
        })
    }

    /// An ES|QL query's plan, to run later (see [`SharedRun`]).
    pub async fn prepare_esql(&self, query: &str, as_of: i64) -> Result<Prepared> {
        self.prepare_esql_in(query, as_of, None).await
    }

    async fn prepare_esql_in(
        &self,
        query: &str,
        as_of: i64,
        runtime: Option<&Arc<RuntimeEnv>>,
    ) -> Result<Prepared> {
        let (session, sql, counts) = self.esql_sql(query, as_of).await?;
        let df = session.sql_with_options(&sql, super::read_only()).await?;
        let (schema, plan, task) = physical(df, runtime).await?;
        Ok(Prepared {
            schema,
            plan,
            task,
            then: Then::Esql(counts),
        })
    }

    /// A hunt's plan and its checks', to run later (see [`SharedRun`]).
    pub async fn prepare_hunt(&self, bound: &BoundHunt) -> Result<Prepared> {
        self.prepare_hunt_in(bound, None).await
    }

    async fn prepare_hunt_in(
        &self,
        bound: &BoundHunt,
        runtime: Option<&Arc<RuntimeEnv>>,
    ) -> Result<Prepared> {
        let failed = |e: Error| hunt_failed(&bound.hunt, e);
        let (df, checks) = self.plan_hunt(bound).await.map_err(failed)?;
        let (schema, plan, task) = physical(df, runtime).await.map_err(failed)?;
        let checks = match checks {
            Checks::None => PreparedChecks::None,
            Checks::Tapped(names, counts) => PreparedChecks::Tapped(names, counts),
            Checks::Query(df) => {
                let (_, plan, task) = physical(df, runtime).await.map_err(failed)?;
                PreparedChecks::Query(plan, task)
            }
        };
        Ok(Prepared {
            schema,
            plan,
            task,
            then: Then::Hunt(Box::new(bound.hunt.clone()), checks),
        })
    }
}

impl SharedRun<'_> {
    /// [`Engine::prepare_esql`], sharing its scans.
    pub async fn prepare_esql(&self, query: &str, as_of: i64) -> Result<Prepared> {
        let runtime = self.runtime.as_ref();
        self.sharing_unless_twice(|| self.engine.prepare_esql_in(query, as_of, runtime))
            .await
    }

    /// [`Engine::prepare_hunt`], sharing its scans.
    pub async fn prepare_hunt(&self, bound: &BoundHunt) -> Result<Prepared> {
        let runtime = self.runtime.as_ref();
        self.sharing_unless_twice(|| self.engine.prepare_hunt_in(bound, runtime))
            .await
    }

    /// `plan()` among the shared scans; planned again alone, with every hub
    /// closed and no other query planning, where it would read the data twice.
    async fn sharing_unless_twice<F: Future<Output = Result<Prepared>>>(
        &self,
        plan: impl Fn() -> F,
    ) -> Result<Prepared> {
        let prepared = {
            let _sharing = self.planning.read().await;
            plan().await?
        };
        if !prepared.scans_twice() {
            return Ok(prepared);
        }
        drop(prepared);
        let _only = self.planning.write().await;
        let _alone = self.alone_for_now();
        plan().await
    }

    /// A plan that reads the data twice (a join of it with itself) scans for
    /// itself: sharing would hold one side's batches while it reads the other.
    fn alone(&self) {
        for table in &self.engine.shared {
            table.close();
        }
    }

    /// Scans plan alone until the guard drops.
    fn alone_for_now(&self) -> Alone<'_, '_> {
        self.alone();
        Alone(self)
    }

    /// Scans that will share (planned so far).
    #[must_use]
    pub fn sharing(&self) -> usize {
        self.hubs.iter().map(|h| h.consumers()).sum()
    }

    /// Shared scans started (one per table and set of files that queries
    /// share).
    #[must_use]
    pub fn scans(&self) -> usize {
        self.hubs.iter().map(|h| h.scans().len()).sum()
    }

    /// Lets the shared scans evaluate, once for all of `prepared`, the cheap
    /// filter tests that several of them have (see
    /// `crate::optimizer::share_tests`); before [`SharedRun::start`].
    /// Nothing happens with `shared_tests` off in the engine's options.
    pub fn share_tests<'p>(
        &self,
        prepared: impl IntoIterator<Item = &'p mut Prepared>,
    ) -> Result<()> {
        if !self.engine.options.shared_tests || self.hubs.is_empty() {
            return Ok(());
        }
        let mut plans: Vec<&mut Arc<dyn ExecutionPlan>> =
            prepared.into_iter().flat_map(Prepared::plans_mut).collect();
        crate::optimizer::share_tests(&mut plans)?;
        Ok(())
    }

    /// Starts the shared scans; run the prepared queries now, together.
    pub fn start(&self) -> Result<()> {
        self.alone();
        let state = self.engine.ctx.state();
        let mut task = TaskContext::from(&state);
        if let Some(runtime) = &self.runtime {
            task = task.with_runtime(Arc::clone(runtime));
        }
        let task = Arc::new(task);
        for hub in &self.hubs {
            hub.start(&state, &task)?;
        }
        Ok(())
    }

    /// Filter tests that the shared scans evaluate once for several queries
    /// (see [`SharedRun::share_tests`]).
    #[must_use]
    pub fn shared_tests(&self) -> usize {
        self.hubs.iter().map(|h| h.shared_tests()).sum()
    }

    /// What the shared scans have read so far.
    #[must_use]
    pub fn read(&self) -> ScanStats {
        self.hubs
            .iter()
            .flat_map(|h| h.scans())
            .map(|plan| scan_stats(&plan))
            .fold(ScanStats::default(), |a, b| a + b)
    }
}

/// Scans join the run's hubs again when it drops (see
/// [`SharedRun::alone_for_now`]).
struct Alone<'r, 'e>(&'r SharedRun<'e>);

impl Drop for Alone<'_, '_> {
    fn drop(&mut self) {
        for (table, hub) in self.0.engine.shared.iter().zip(&self.0.hubs) {
            table.reopen(Arc::clone(hub));
        }
    }
}

impl Drop for SharedRun<'_> {
    fn drop(&mut self) {
        self.alone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineOptions;
    use crate::sample::{SampleLayout, SampleSpec};
    use futures::TryStreamExt;

    /// 4,000 sample events in files of 1,500 rows, row groups of 500: with
    /// 100-row batches, 40 batches or more through each shared scan.
    async fn engine(dir: &std::path::Path) -> Engine {
        let mut spec = SampleSpec::new(4_000, 7, 1_768_478_400_000_000_000, SampleLayout::Flat);
        spec.rows_per_file = 1_500;
        spec.row_group_rows = 500;
        crate::sample::write(&spec, dir).unwrap();
        let options = EngineOptions {
            share_scans: true,
            batch_size: Some(100),
            target_partitions: Some(2),
            ..EngineOptions::default()
        };
        Engine::open(&[dir.to_string_lossy().into_owned()], &options)
            .await
            .unwrap()
    }

    /// A plan that reads its scan's second partition to the end before its
    /// first, beside one that reads both at once, over one shared scan: its
    /// partitions take from one queue, so the second gets every row and the
    /// scan never waits on the first (see `crate::scan::shared`); both plans
    /// see every row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_plan_reading_one_partition_at_a_time_does_not_stop_the_shared_scan() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path()).await;
        let run = engine.share_scans().unwrap();
        let ctx = engine.context();
        let plan = |sql: &'static str| async move {
            let df = ctx.sql(sql).await.unwrap();
            let task = Arc::new(df.task_ctx());
            (df.create_physical_plan().await.unwrap(), task)
        };
        let (slow, slow_task) = plan("SELECT \"event.action\" FROM events_raw").await;
        let (fast, fast_task) = plan("SELECT \"host.name\" FROM events_raw").await;
        assert_eq!(run.sharing(), 2);
        assert_eq!(slow.properties().partitioning.partition_count(), 2);
        run.start().unwrap();
        let second = slow.execute(1, Arc::clone(&slow_task)).unwrap();
        let first = slow.execute(0, slow_task).unwrap();
        let both = datafusion::physical_plan::execute_stream(fast, fast_task).unwrap();
        let counted = async {
            let rows = |batches: Vec<RecordBatch>| {
                batches.iter().map(RecordBatch::num_rows).sum::<usize>()
            };
            let fast = tokio::spawn(both.try_collect::<Vec<_>>());
            let second = rows(second.try_collect().await.unwrap());
            let first = rows(first.try_collect().await.unwrap());
            (first + second, rows(fast.await.unwrap().unwrap()))
        };
        let (slow_rows, fast_rows) =
            tokio::time::timeout(std::time::Duration::from_mins(1), counted)
                .await
                .expect("the shared scan went on");
        assert_eq!((slow_rows, fast_rows), (4_000, 4_000));
    }

    /// The first shared scan leaf of `plan`.
    fn shared_leaf(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
        if plan.downcast_ref::<SharedScanExec>().is_some() {
            return Some(Arc::clone(plan));
        }
        plan.children().into_iter().find_map(shared_leaf)
    }

    /// A query whose scan has its LIMIT's rows is done with the shared scan
    /// even while its parent keeps the stream: the others read to the end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scan_done_at_its_limit_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path()).await;
        let run = engine.share_scans().unwrap();
        let ctx = engine.context();
        let limited = ctx
            .sql("SELECT \"host.name\" FROM events_raw LIMIT 5")
            .await
            .unwrap();
        let limited = limited.create_physical_plan().await.unwrap();
        let all = ctx
            .sql("SELECT \"event.action\" FROM events_raw")
            .await
            .unwrap();
        let task = Arc::new(all.task_ctx());
        let all = all.create_physical_plan().await.unwrap();
        run.start().unwrap();
        // The limited leaf, its partitions read to their end and kept.
        let leaf = shared_leaf(&limited).expect("a shared leaf");
        let mut kept = vec![];
        for partition in 0..2 {
            let mut stream = leaf.execute(partition, Arc::clone(&task)).unwrap();
            let mut rows = 0;
            while let Some(batch) = futures::StreamExt::next(&mut stream).await {
                rows += batch.unwrap().num_rows();
            }
            assert!(rows <= 5, "{rows}");
            kept.push(stream);
        }
        let read = datafusion::physical_plan::collect(all, task);
        let batches = tokio::time::timeout(std::time::Duration::from_mins(1), read)
            .await
            .expect("the shared scan went on")
            .unwrap();
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            4_000
        );
        drop(kept);
    }

    /// Each query gets its own window's rows from a scan over the widest;
    /// a query planned after the start scans for itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_query_sees_its_own_window_of_the_shared_scan() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path()).await;
        let as_of = 1_768_478_400_000_000_000;
        let count = |hours: u32| {
            format!("FROM logs-* | WHERE @timestamp > NOW() - {hours} hours | STATS n = COUNT(*)")
        };
        let mut expected = vec![];
        for hours in [1, 3, 24] {
            let (table, _) = engine
                .prepare_esql(&count(hours), as_of)
                .await
                .unwrap()
                .run()
                .await
                .unwrap();
            expected.push(table);
        }
        let run = engine.share_scans().unwrap();
        let mut prepared = vec![];
        for hours in [1, 3, 24] {
            prepared.push(run.prepare_esql(&count(hours), as_of).await.unwrap());
        }
        assert!(prepared.iter().all(Prepared::shares));
        run.start().unwrap();
        let late = run.prepare_esql(&count(2), as_of).await.unwrap();
        assert!(!late.shares(), "planned after the start");
        let got = futures::future::join_all(prepared.into_iter().map(Prepared::run)).await;
        let text = |t: &Table| {
            arrow::util::pretty::pretty_format_batches(&t.batches)
                .unwrap()
                .to_string()
        };
        for (got, want) in got.into_iter().zip(&expected) {
            assert_eq!(text(&got.unwrap().0), text(want));
        }
        let distinct: std::collections::HashSet<String> = expected.iter().map(text).collect();
        assert_eq!(distinct.len(), 3, "three windows, three counts");
        assert!(late.run().await.is_ok());
    }

    /// Two ES|QL queries translated before either is planned, as a sweep's
    /// queries planned on several threads may be: each counts its own
    /// warnings. Each registered its counters in the engine's one session,
    /// and the first, planned after the second registered, counted into the
    /// second's.
    #[tokio::test]
    async fn issue_23_queries_planned_at_once_count_their_own_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path()).await;
        let as_of = 1_768_478_400_000_000_000;
        let warns =
            "FROM logs-* | WHERE TO_INTEGER(destination.address) IS NULL | STATS n = COUNT(*)";
        let quiet = "FROM logs-* | STATS n = COUNT(*)";
        let (first, first_sql, first_counts) = engine.esql_sql(warns, as_of).await.unwrap();
        let (second, second_sql, second_counts) = engine.esql_sql(quiet, as_of).await.unwrap();
        for (session, sql) in [(first, first_sql), (second, second_sql)] {
            let df = session
                .sql_with_options(&sql, crate::engine::read_only())
                .await
                .unwrap();
            df.collect().await.unwrap();
        }
        let warned = first_counts.warnings();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].message.contains("do not convert"), "{warned:?}");
        assert!(second_counts.warnings().is_empty());
    }

    /// Of three queries with one test in common, the two whose filter
    /// counts no ES|QL warning take it from the shared scan; the one whose
    /// filter converts (and counts what does not convert) keeps it. Each
    /// finds what it finds alone, with the warnings it has without shared
    /// tests.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_filter_that_counts_warnings_keeps_its_tests() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path()).await;
        let windows = "host.os.family == \"windows\"";
        let queries = [
            format!(
                "FROM logs-* | WHERE {windows} AND destination.port == 443 | STATS n = COUNT(*)"
            ),
            format!("FROM logs-* | WHERE {windows} AND source.bytes > 1000 | STATS n = COUNT(*)"),
            format!(
                "FROM logs-* | WHERE TO_INTEGER(destination.address) IS NULL AND {windows} | STATS n = COUNT(*)"
            ),
        ];
        let mut alone = vec![];
        for query in &queries {
            let (table, _) = engine
                .esql_observed(query, AS_OF, &mut |_| {})
                .await
                .unwrap();
            alone.push(crate::output::render_table(&table).unwrap());
        }
        let (masked, tests, shared) = shared_run(&engine, &queries, true).await;
        assert_eq!(masked, [true, true, false]);
        assert_eq!(tests, 1);
        let (masked, tests, plain) = shared_run(&engine, &queries, false).await;
        assert_eq!((masked, tests), (vec![false; 3], 0));
        assert_eq!(shared, plain);
        let rows: Vec<String> = shared.into_iter().map(|(rows, _)| rows).collect();
        assert_eq!(rows, alone);
        assert!(!plain[2].1.is_empty(), "the conversion warns");
    }

    /// The sample's end (see [`engine`]).
    const AS_OF: i64 = 1_768_478_400_000_000_000;

    /// `queries` run together over shared scans, with the tests they share
    /// taken from the scan or not: which plans take some, how many tests the
    /// scans evaluate, and each query's rows and warnings.
    async fn shared_run(
        engine: &Engine,
        queries: &[String],
        share: bool,
    ) -> (Vec<bool>, usize, Vec<(String, Vec<String>)>) {
        let run = engine.share_scans().unwrap();
        let mut prepared = vec![];
        for query in queries {
            prepared.push(run.prepare_esql(query, AS_OF).await.unwrap());
        }
        if share {
            run.share_tests(prepared.iter_mut()).unwrap();
        }
        let masked = prepared
            .iter()
            .map(|p| {
                datafusion::physical_plan::displayable(p.plans()[0].as_ref())
                    .indent(false)
                    .to_string()
                    .contains(crate::scan::SHARED_MASK)
            })
            .collect();
        let tests = run.shared_tests();
        run.start().unwrap();
        // Together: the shared scan waits for each query's queue.
        let ran = futures::future::join_all(prepared.into_iter().map(Prepared::run)).await;
        let out = ran
            .into_iter()
            .map(|ran| {
                let (table, warnings) = ran.unwrap();
                let rows = crate::output::render_table(&table).unwrap();
                (rows, warnings.into_iter().map(|w| w.message).collect())
            })
            .collect();
        (masked, tests, out)
    }
}
