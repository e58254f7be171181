//! One scan feeding many plans, for a sweep's queries over the same table.
//!
//! While a [`Hub`] is open on a [`SharedTable`], each query planned over the
//! table gets a [`SharedScanExec`] leaf instead of a Parquet scan: the leaf
//! records the columns, time bounds and files the query reads. Once every
//! query is planned, [`Hub::start`] builds one Parquet scan for each set of
//! files the queries keep by their partition columns (one for the whole table
//! unless it has `--index` patterns or `key=value` folders): the same
//! [`FileSetTable`] scan a query alone gets, over the union of its queries'
//! columns and the hull of their time bounds, handing each of its batches to
//! each of them. Each leaf applies its own query's bounds and projection, so each
//! query sees exactly the rows its own scan would have given it (in another
//! order and other batches); everything above the leaf is the query's own plan.
//!
//! Batches are shared, not copied: each query's queue holds `Arc`ed columns,
//! and a scan waits while any of its queues holds [`QUEUE_BATCHES`] batches, so the
//! batches in flight are a few per query. A query's partitions all take from
//! its one queue, whichever asks first (its leaf promises no partitioning):
//! a plan that reads one partition to its end before another gets every row
//! in the first and cannot stall the scan. A plan that would read the table
//! twice (a join of the data with itself) is not given shared scans (see
//! `crate::engine::SharedRun`): it would wait on one side while the other's
//! queue stayed full.
//!
//! Filter tests that several consumers of one scan have can be evaluated by
//! the scan, once per batch ([`Hub::take_atoms`], chosen by
//! `crate::optimizer::share_tests`): each such consumer's leaf then gives one
//! more column, [`SHARED_MASK`], true where all of its shared tests hold.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow::compute::prep_null_mask_filter;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, ScalarValue, project_schema};
use datafusion::datasource::TableType;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::{BinaryExpr as PhysicalBinary, Column, Literal};
use datafusion::physical_expr::{EquivalenceProperties, Partitioning, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, RecordBatchStream,
};
use futures::{Stream, StreamExt};

use super::table::{FileSetTable, TimeBound};

/// Batches a query's queue may hold before the shared scan waits for it.
const QUEUE_BATCHES: usize = 4;

/// A [`FileSetTable`] whose scans can be shared (see the module's docs);
/// without an open hub it is the table itself.
#[derive(Debug)]
pub struct SharedTable {
    inner: Arc<FileSetTable>,
    hub: Mutex<Option<Arc<Hub>>>,
}

impl SharedTable {
    /// `inner`, shareable.
    #[must_use]
    pub fn new(inner: FileSetTable) -> SharedTable {
        SharedTable {
            inner: Arc::new(inner),
            hub: Mutex::default(),
        }
    }

    /// Opens a hub: until [`SharedTable::close`], every scan of the table is
    /// one of its consumers, `partitions` partitions each.
    pub fn open(&self, partitions: usize) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            table: Arc::clone(&self.inner),
            partitions: partitions.max(1),
            state: Mutex::default(),
            space: tokio::sync::Notify::new(),
            scans: Mutex::default(),
        });
        *lock(&self.hub) = Some(Arc::clone(&hub));
        hub
    }

    /// Scans plan on their own again.
    pub fn close(&self) {
        lock(&self.hub).take();
    }

    /// Scans join `hub` again (after [`SharedTable::close`]).
    pub fn reopen(&self, hub: Arc<Hub>) {
        *lock(&self.hub) = Some(hub);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl TableProvider for SharedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let hub = lock(&self.hub).clone();
        match hub {
            Some(hub) => hub.consumer(state, projection, filters, limit),
            None => self.inner.scan(state, projection, filters, limit).await,
        }
    }
}

/// What one query reads of the shared scan.
#[derive(Debug)]
struct Consumer {
    /// Table columns it reads, in its order.
    projection: Vec<usize>,
    /// The bounds its scan applies exactly (`Exact` pushdown).
    bounds: Vec<TimeBound>,
    limit: Option<usize>,
    /// The table's files its filters on partition columns keep (an
    /// `--index` pattern, `key=value` folders).
    files: Vec<usize>,
    /// Tests of its filters that its scan evaluates once for every query
    /// sharing them (places in [`HubState::atoms`]), handed to it as one
    /// column ([`SHARED_MASK`]); none until [`Hub::take_atoms`].
    atoms: Vec<usize>,
}

/// One consumer's batches on their way, read by its partitions.
#[derive(Default)]
struct Queue {
    batches: VecDeque<Result<Scanned, Arc<DataFusionError>>>,
    /// Scan partitions still to end (set at start).
    senders: usize,
    started: bool,
    /// Partitions of the consumer that may still read (each until its
    /// stream ends or is dropped; one never executed, until the plan is).
    readers: usize,
    /// Partitions executed.
    attached: Vec<bool>,
    /// Nobody will read it again.
    gone: bool,
    /// Readers waiting on it while it is empty.
    wakers: Vec<Waker>,
    /// The table columns of its scan's batches, in order (set at start).
    columns: Option<Arc<Vec<usize>>>,
}

impl Queue {
    fn ended(&self) -> bool {
        self.started && self.senders == 0
    }

    fn wake(&mut self) {
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
    }

    /// One reader fewer; the last leaves the queue.
    fn leave(&mut self) {
        self.readers = self.readers.saturating_sub(1);
        if self.readers == 0 {
            self.gone = true;
            self.batches.clear();
            self.wakers.clear();
        }
    }
}

#[derive(Default)]
struct HubState {
    consumers: Vec<Consumer>,
    /// One per consumer, in the same order.
    queues: Vec<Queue>,
    /// Filter tests that several consumers share, over the table's columns
    /// (see [`Hub::take_atoms`]).
    atoms: Vec<Arc<dyn PhysicalExpr>>,
}

/// A batch of a shared scan and the shared tests' results on its rows.
#[derive(Clone)]
struct Scanned {
    batch: RecordBatch,
    /// Each test of the scan's consumers ([`HubState::atoms`]) and where it
    /// holds (true, never NULL), or the error evaluating it.
    masks: Arc<Vec<Mask>>,
}

/// A shared test ([`HubState::atoms`]) and where it holds on a batch's rows.
type Mask = (usize, Result<BooleanArray, Arc<DataFusionError>>);

/// The consumers (their places in [`HubState::queues`]) that one scan feeds.
type Readers = [usize];

impl HubState {
    /// Whether a scan may read its next batch: none of its readers' queues is full.
    fn room(&self, readers: &Readers) -> bool {
        readers.iter().all(|&i| {
            let q = &self.queues[i];
            q.gone || q.batches.len() < QUEUE_BATCHES
        })
    }

    fn all_gone(&self, readers: &Readers) -> bool {
        readers.iter().all(|&i| self.queues[i].gone)
    }

    /// Hands `item` to each of `readers` still reading.
    fn push(&mut self, readers: &Readers, item: &Result<Scanned, Arc<DataFusionError>>) {
        for &i in readers {
            let q = &mut self.queues[i];
            if !q.gone {
                q.batches.push_back(item.clone());
                q.wake();
            }
        }
    }

    /// A partition of the scan feeding `readers` has ended.
    fn end(&mut self, readers: &Readers) {
        for &i in readers {
            let q = &mut self.queues[i];
            q.senders = q.senders.saturating_sub(1);
            if q.ended() {
                q.wake();
            }
        }
    }
}

/// The queries sharing one table's scan (see the module's docs).
pub struct Hub {
    table: Arc<FileSetTable>,
    /// Each consumer's partitions.
    partitions: usize,
    state: Mutex<HubState>,
    /// Wakes the scan's partitions when a queue has room again or is left.
    space: tokio::sync::Notify,
    /// The shared scans, once started (for what they have read).
    scans: Mutex<Vec<Arc<dyn ExecutionPlan>>>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("consumers", &lock(&self.state).consumers.len())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A new consumer's leaf.
    fn consumer(
        self: &Arc<Self>,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let schema = self.table.schema();
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..schema.fields().len()).collect());
        let bounds: Vec<TimeBound> = filters
            .iter()
            .filter_map(|f| self.table.time_bound(f))
            .collect();
        let files = self.table.prune(state, filters)?;
        let output = project_schema(&schema, Some(&projection))?;
        let mut state = lock(&self.state);
        let id = state.consumers.len();
        state.consumers.push(Consumer {
            projection,
            bounds,
            limit,
            files,
            atoms: vec![],
        });
        state.queues.push(Queue {
            readers: self.partitions,
            attached: vec![false; self.partitions],
            ..Queue::default()
        });
        drop(state);
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&output)),
            Partitioning::UnknownPartitioning(self.partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(Arc::new(SharedScanExec {
            hub: Arc::clone(self),
            consumer: Arc::new(Leaving {
                hub: Arc::clone(self),
                id,
            }),
            schema: output,
            properties: Arc::new(properties),
        }))
    }

    /// Number of scans planned over the hub.
    #[must_use]
    pub fn consumers(&self) -> usize {
        lock(&self.state).consumers.len()
    }

    /// Starts the shared scans on the runtime, in `task`. Consumers whose
    /// filters on partition columns keep the same files (all of them, where
    /// the table has no `--index` patterns or `key=value` folders) share one
    /// Parquet scan of those files (the same [`FileSetTable`] scan a query
    /// alone gets) over every column one of them reads and the hull of their
    /// time bounds; each of its batches goes to each of them. A sweep over
    /// several datasets so reads each dataset for the queries of its
    /// patterns only, rather than every dataset for every query; files that
    /// two sets share (`FROM a-*` beside `FROM a-*, b-*`) are read by each.
    /// Nothing happens without consumers.
    pub fn start(
        self: &Arc<Self>,
        state: &dyn Session,
        task: &Arc<TaskContext>,
    ) -> datafusion::common::Result<()> {
        for Group {
            files,
            readers,
            columns,
            filters,
            atoms,
        } in self.groups()
        {
            let readers: Arc<Vec<usize>> = Arc::new(readers);
            if files.is_empty() {
                // No file to read: its readers end at once.
                let mut hub = lock(&self.state);
                for &i in readers.iter() {
                    let q = &mut hub.queues[i];
                    q.started = true;
                    q.wake();
                }
                continue;
            }
            let plan = self
                .table
                .scan_files(state, &files, Some(&columns), &filters, None)?;
            let config = state.config_options();
            let target = state.config().target_partitions();
            // The partitions the optimizer would give the scan in a query's plan:
            // large files split by byte ranges.
            let plan = plan
                .transform_up(|node| {
                    if node.downcast_ref::<DataSourceExec>().is_none() {
                        return Ok(Transformed::no(node));
                    }
                    Ok(match node.repartitioned(target, config)? {
                        Some(split) => Transformed::yes(split),
                        None => Transformed::no(node),
                    })
                })?
                .data;
            let scan_partitions = plan.properties().partitioning.partition_count();
            let mut streams = vec![];
            for j in 0..scan_partitions {
                streams.push(plan.execute(j, Arc::clone(task))?);
            }
            let columns = Arc::new(columns);
            // Before the queues are started: a query whose tests cannot be
            // bound must not wait on a scan that never runs.
            let atoms = Arc::new(self.bind_atoms(&atoms, &columns)?);
            {
                let mut hub = lock(&self.state);
                for &i in readers.iter() {
                    let q = &mut hub.queues[i];
                    q.columns = Some(Arc::clone(&columns));
                    q.senders = scan_partitions;
                    q.started = true;
                    if q.ended() {
                        q.wake();
                    }
                }
            }
            lock(&self.scans).push(Arc::clone(&plan));
            for stream in streams {
                let stream = super::with_named_errors(Arc::clone(&plan), stream);
                tokio::spawn(drive(
                    Arc::clone(self),
                    Arc::clone(&readers),
                    Arc::clone(&atoms),
                    stream,
                ));
            }
        }
        Ok(())
    }

    /// The scans to start, one for each set of files some consumer keeps,
    /// in the order of each set's first consumer.
    fn groups(&self) -> Vec<Group> {
        let hub = lock(&self.state);
        let mut groups: Vec<(&[usize], Vec<usize>)> = vec![];
        for (i, consumer) in hub.consumers.iter().enumerate() {
            match groups
                .iter_mut()
                .find(|(files, _)| *files == consumer.files)
            {
                Some((_, readers)) => readers.push(i),
                None => groups.push((&consumer.files, vec![i])),
            }
        }
        groups
            .into_iter()
            .map(|(files, readers)| {
                let members: Vec<&Consumer> = readers.iter().map(|&i| &hub.consumers[i]).collect();
                let mut columns: Vec<usize> = members
                    .iter()
                    .flat_map(|c| {
                        c.projection
                            .iter()
                            .copied()
                            .chain(c.bounds.iter().map(|b| b.index))
                    })
                    .collect();
                columns.sort_unstable();
                columns.dedup();
                let filters = hull(&self.table.schema(), &members);
                let mut atoms: Vec<usize> = members
                    .iter()
                    .flat_map(|c| c.atoms.iter().copied())
                    .collect();
                atoms.sort_unstable();
                atoms.dedup();
                Group {
                    files: files.to_vec(),
                    readers,
                    columns,
                    filters,
                    atoms,
                }
            })
            .collect()
    }

    /// The shared scans started.
    #[must_use]
    pub fn scans(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        lock(&self.scans).clone()
    }

    /// Filter tests its scans evaluate once for several consumers.
    #[must_use]
    pub fn shared_tests(&self) -> usize {
        lock(&self.state).atoms.len()
    }

    /// Of each consumer's `candidates` (filter tests over the table's
    /// columns, each true on every row its query keeps), those that another
    /// consumer reading the same files also has: worth evaluating once in
    /// their scan. Consumers without any, or without files to read (their
    /// filters on partition columns keep none of the table's), are left out.
    pub(crate) fn shared_atoms(
        &self,
        candidates: &[(usize, Vec<Arc<dyn PhysicalExpr>>)],
    ) -> Vec<(usize, Vec<Arc<dyn PhysicalExpr>>)> {
        let state = lock(&self.state);
        let files = |consumer: usize| {
            state
                .consumers
                .get(consumer)
                .map(|c| &c.files)
                .filter(|files| !files.is_empty())
        };
        candidates
            .iter()
            .filter(|(consumer, _)| files(*consumer).is_some())
            .filter_map(|(consumer, atoms)| {
                let shared: Vec<_> = atoms
                    .iter()
                    .filter(|atom| {
                        candidates.iter().any(|(other, theirs)| {
                            other != consumer
                                && files(*other) == files(*consumer)
                                && theirs.contains(atom)
                        })
                    })
                    .cloned()
                    .collect();
                (!shared.is_empty()).then_some((*consumer, shared))
            })
            .collect()
    }

    /// From its start, `consumer`'s scan evaluates `atoms` (over the table's
    /// columns) once for every consumer that takes them, and hands the
    /// consumer where all of them hold as its [`SHARED_MASK`] column (see
    /// [`SharedScanExec::with_mask`]).
    pub(crate) fn take_atoms(&self, consumer: usize, atoms: &[Arc<dyn PhysicalExpr>]) {
        let mut state = lock(&self.state);
        let mut ids = vec![];
        for atom in atoms {
            let id = state.atoms.iter().position(|a| a == atom);
            ids.push(id.unwrap_or_else(|| {
                state.atoms.push(Arc::clone(atom));
                state.atoms.len() - 1
            }));
        }
        if let Some(c) = state.consumers.get_mut(consumer) {
            c.atoms = ids;
        }
    }

    /// The shared tests `atoms` over a scan's batches of the table's `columns`.
    fn bind_atoms(
        &self,
        atoms: &[usize],
        columns: &[usize],
    ) -> datafusion::common::Result<Vec<(usize, Arc<dyn PhysicalExpr>)>> {
        let state = lock(&self.state);
        atoms
            .iter()
            .map(|&id| {
                let atom = state
                    .atoms
                    .get(id)
                    .ok_or_else(|| DataFusionError::Internal(format!("no shared test {id}")))?;
                let bound = Arc::clone(atom)
                    .transform(|e| {
                        let Some(column) = e.downcast_ref::<Column>() else {
                            return Ok(Transformed::no(e));
                        };
                        let place = columns
                            .iter()
                            .position(|&c| c == column.index())
                            .ok_or_else(|| {
                                DataFusionError::Internal(format!(
                                    "the shared scan lacks column {}",
                                    column.name()
                                ))
                            })?;
                        Ok(Transformed::yes(
                            Arc::new(Column::new(column.name(), place)) as Arc<dyn PhysicalExpr>,
                        ))
                    })?
                    .data;
                Ok((id, bound))
            })
            .collect()
    }
}

/// The name of the column that a consumer's scan adds where it takes shared
/// tests: true where all of them hold.
pub(crate) const SHARED_MASK: &str = "__lakehunt_shared_tests";

/// Whether `schema`'s last column is the [`SHARED_MASK`].
pub(crate) fn ends_in_mask(schema: &Schema) -> bool {
    schema
        .fields()
        .last()
        .is_some_and(|f| f.name() == SHARED_MASK)
}

/// Where each of `atoms` holds on `batch` (NULL as false).
fn masks(atoms: &[(usize, Arc<dyn PhysicalExpr>)], batch: &RecordBatch) -> Vec<Mask> {
    let mask = |atom: &Arc<dyn PhysicalExpr>| -> datafusion::common::Result<BooleanArray> {
        let value = atom.evaluate(batch)?.into_array(batch.num_rows())?;
        let Some(holds) = value.as_boolean_opt() else {
            return Err(DataFusionError::Internal(format!(
                "a shared test is not a boolean: {atom}"
            )));
        };
        Ok(if holds.null_count() > 0 {
            prep_null_mask_filter(holds)
        } else {
            holds.clone()
        })
    };
    atoms
        .iter()
        .map(|(id, atom)| (*id, mask(atom).map_err(Arc::new)))
        .collect()
}

/// One shared scan to start: the files it reads, the consumers it feeds,
/// the table columns they read and the hull of their bounds.
struct Group {
    files: Vec<usize>,
    readers: Vec<usize>,
    columns: Vec<usize>,
    filters: Vec<Expr>,
    /// The shared tests its readers take ([`HubState::atoms`]).
    atoms: Vec<usize>,
}

/// The bounds every consumer's rows meet: per timestamp column and side, the
/// loosest of the consumers' own tightest bounds; a side that some consumer
/// leaves open stays open.
fn hull(schema: &Schema, consumers: &[&Consumer]) -> Vec<Expr> {
    let Some(first) = consumers.first() else {
        return vec![];
    };
    let mut sides: Vec<(usize, bool)> = first
        .bounds
        .iter()
        .map(|b| (b.index, is_lower(b.op)))
        .collect();
    sides.sort_unstable();
    sides.dedup();
    let mut out = vec![];
    'sides: for (index, lower) in sides {
        let mut loosest: Option<(i64, &TimeBound)> = None;
        for consumer in consumers {
            // This consumer's tightest bound on the side, as an inclusive value.
            let tightest = consumer
                .bounds
                .iter()
                .filter(|b| b.index == index && is_lower(b.op) == lower)
                .filter_map(|b| inclusive(b).map(|v| (v, b)))
                .reduce(|a, b| if (b.0 > a.0) == lower { b } else { a });
            let Some(tightest) = tightest else {
                continue 'sides;
            };
            loosest = Some(match loosest {
                Some(l) if (tightest.0 < l.0) != lower => l,
                _ => tightest,
            });
        }
        let Some((value, bound)) = loosest else {
            continue;
        };
        let Some(literal) = with_value(&bound.literal, value) else {
            continue;
        };
        let op = if lower {
            Operator::GtEq
        } else {
            Operator::LtEq
        };
        let column = datafusion::common::Column::from_name(schema.field(index).name());
        out.push(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(Expr::Column(column)),
            op,
            Box::new(Expr::Literal(literal, None)),
        )));
    }
    out
}

fn is_lower(op: Operator) -> bool {
    matches!(op, Operator::Gt | Operator::GtEq)
}

/// A bound's value as an inclusive one (`> v` is `>= v + 1`).
fn inclusive(bound: &TimeBound) -> Option<i64> {
    match bound.op {
        Operator::Gt => bound.value.checked_add(1),
        Operator::Lt => bound.value.checked_sub(1),
        Operator::GtEq | Operator::LtEq => Some(bound.value),
        _ => None,
    }
}

/// `literal`, a timestamp, with another value in its unit and zone.
fn with_value(literal: &ScalarValue, v: i64) -> Option<ScalarValue> {
    Some(match literal {
        ScalarValue::TimestampSecond(_, tz) => ScalarValue::TimestampSecond(Some(v), tz.clone()),
        ScalarValue::TimestampMillisecond(_, tz) => {
            ScalarValue::TimestampMillisecond(Some(v), tz.clone())
        }
        ScalarValue::TimestampMicrosecond(_, tz) => {
            ScalarValue::TimestampMicrosecond(Some(v), tz.clone())
        }
        ScalarValue::TimestampNanosecond(_, tz) => {
            ScalarValue::TimestampNanosecond(Some(v), tz.clone())
        }
        _ => return None,
    })
}

/// One partition of a shared scan: reads while its readers' queues have
/// room, and hands each batch to each of them.
async fn drive(
    hub: Arc<Hub>,
    readers: Arc<Vec<usize>>,
    atoms: Arc<Vec<(usize, Arc<dyn PhysicalExpr>)>>,
    mut stream: SendableRecordBatchStream,
) {
    loop {
        let go = loop {
            let notified = hub.space.notified();
            {
                let state = lock(&hub.state);
                if state.all_gone(&readers) {
                    break false;
                }
                if state.room(&readers) {
                    break true;
                }
            }
            notified.await;
        };
        if !go {
            break;
        }
        let next = stream.next().await.map(|item| {
            item.map(|batch| Scanned {
                masks: Arc::new(masks(&atoms, &batch)),
                batch,
            })
        });
        let mut state = lock(&hub.state);
        match next {
            Some(Ok(scanned)) => state.push(&readers, &Ok(scanned)),
            Some(Err(e)) => {
                state.push(&readers, &Err(Arc::new(e)));
                break;
            }
            None => break,
        }
    }
    lock(&hub.state).end(&readers);
}

/// Leaves a consumer's queue for the partitions its plan never read, when
/// the plan is dropped (a query that failed before it ran).
struct Leaving {
    hub: Arc<Hub>,
    id: usize,
}

impl Drop for Leaving {
    fn drop(&mut self) {
        {
            let mut state = lock(&self.hub.state);
            if let Some(q) = state.queues.get_mut(self.id) {
                let unread = q.attached.iter().filter(|a| !**a).count();
                for _ in 0..unread {
                    q.leave();
                }
            }
        }
        self.hub.space.notify_waiters();
    }
}

/// A query's scan of a shared table (see the module's docs).
pub struct SharedScanExec {
    hub: Arc<Hub>,
    consumer: Arc<Leaving>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl fmt::Debug for SharedScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedScanExec({})", self.consumer.id)
    }
}

impl DisplayAs for SharedScanExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let names: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "SharedScanExec: scan {} of a shared scan, projection=[{}]",
            self.consumer.id,
            names.join(", ")
        )?;
        if self.masked() {
            let state = lock(&self.hub.state);
            let tests: Vec<String> = state
                .consumers
                .get(self.consumer.id)
                .map(|c| {
                    c.atoms
                        .iter()
                        .filter_map(|&i| state.atoms.get(i).map(ToString::to_string))
                        .collect()
                })
                .unwrap_or_default();
            write!(f, ", shared tests=[{}]", tests.join(", "))?;
        }
        Ok(())
    }
}

impl SharedScanExec {
    /// The hub it reads from.
    #[must_use]
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Its place among the hub's consumers.
    pub(crate) fn consumer(&self) -> usize {
        self.consumer.id
    }

    /// The table's columns it gives, in its order.
    pub(crate) fn table_columns(&self) -> Vec<usize> {
        lock(&self.hub.state)
            .consumers
            .get(self.consumer.id)
            .map(|c| c.projection.clone())
            .unwrap_or_default()
    }

    /// Whether its last column is the [`SHARED_MASK`].
    pub(crate) fn masked(&self) -> bool {
        ends_in_mask(&self.schema)
    }

    /// The same scan with one more column, [`SHARED_MASK`]: where each test
    /// its consumer takes from the hub holds ([`Hub::take_atoms`]).
    pub(crate) fn with_mask(&self) -> Arc<SharedScanExec> {
        let mut fields: Vec<_> = self.schema.fields().iter().cloned().collect();
        if !self.masked() {
            fields.push(Arc::new(Field::new(SHARED_MASK, DataType::Boolean, false)));
        }
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            self.schema.metadata().clone(),
        ));
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            self.properties.partitioning.clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Arc::new(SharedScanExec {
            hub: Arc::clone(&self.hub),
            consumer: Arc::clone(&self.consumer),
            schema,
            properties: Arc::new(properties),
        })
    }
}

impl ExecutionPlan for SharedScanExec {
    fn name(&self) -> &'static str {
        "SharedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::common::Result<TreeNodeRecursion>,
    ) -> datafusion::common::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "SharedScanExec has no inputs".into(),
            ))
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> datafusion::common::Result<SendableRecordBatchStream> {
        let p = self.hub.partitions;
        if partition >= p {
            return Err(DataFusionError::Internal(format!(
                "SharedScanExec has {p} partitions, not {}",
                partition + 1
            )));
        }
        let queue = self.consumer.id;
        let limit = {
            let mut state = lock(&self.hub.state);
            let attached = &mut state.queues[queue].attached[partition];
            if *attached {
                return Err(DataFusionError::Internal(format!(
                    "a shared scan's partition {partition} is read twice"
                )));
            }
            *attached = true;
            state.consumers[queue].limit
        };
        let stream = SharedStream {
            hub: Arc::clone(&self.hub),
            queue,
            consumer: self.consumer.id,
            schema: Arc::clone(&self.schema),
            view: None,
            remaining: limit,
            left: false,
        };
        Ok(Box::pin(stream))
    }
}

/// Where a consumer's rows and columns are in the shared scan's batches.
struct View {
    /// Its bounds, over the scan's batch (`None`: it has none).
    predicate: Option<Arc<dyn PhysicalExpr>>,
    /// Its columns' places in the scan's batch.
    places: Vec<usize>,
    /// The shared tests it takes ([`HubState::atoms`]), where its output
    /// has the [`SHARED_MASK`].
    atoms: Option<Vec<usize>>,
}

/// An item of a queue, and the table columns of the scan's batches.
type Item = (
    Result<Scanned, Arc<DataFusionError>>,
    Option<Arc<Vec<usize>>>,
);

/// One partition of one consumer.
struct SharedStream {
    hub: Arc<Hub>,
    queue: usize,
    consumer: usize,
    schema: SchemaRef,
    view: Option<View>,
    /// Rows still wanted, under a limit.
    remaining: Option<usize>,
    /// It has left its queue (its limit reached, or dropped).
    left: bool,
}

impl SharedStream {
    /// Reads no more: one reader fewer on its queue (once).
    fn leave(&mut self) {
        if !self.left {
            self.left = true;
            lock(&self.hub.state).queues[self.queue].leave();
            self.hub.space.notify_waiters();
        }
    }

    /// The consumer's view of batches of the table's `columns`.
    fn view(&self, columns: &[usize]) -> datafusion::common::Result<View> {
        let state = lock(&self.hub.state);
        let consumer = &state.consumers[self.consumer];
        let place = |index: usize| {
            columns.iter().position(|&c| c == index).ok_or_else(|| {
                DataFusionError::Internal(format!("the shared scan lacks column {index}"))
            })
        };
        let schema = self.hub.table.schema();
        let predicate = consumer
            .bounds
            .iter()
            .map(|b| {
                let name = schema.field(b.index).name();
                Ok(Arc::new(PhysicalBinary::new(
                    Arc::new(Column::new(name, place(b.index)?)),
                    b.op,
                    Arc::new(Literal::new(b.literal.clone())),
                )) as Arc<dyn PhysicalExpr>)
            })
            .collect::<datafusion::common::Result<Vec<_>>>()?
            .into_iter()
            .reduce(|a, b| Arc::new(PhysicalBinary::new(a, Operator::And, b)));
        let places = consumer
            .projection
            .iter()
            .map(|&i| place(i))
            .collect::<datafusion::common::Result<_>>()?;
        let atoms = ends_in_mask(&self.schema).then(|| consumer.atoms.clone());
        Ok(View {
            predicate,
            places,
            atoms,
        })
    }

    /// `scanned` of the shared scan as this consumer's scan gives it.
    fn apply(&self, view: &View, scanned: &Scanned) -> datafusion::common::Result<RecordBatch> {
        let batch = &scanned.batch;
        // Its own columns first: filtering copies only what it reads.
        let mut columns: Vec<ArrayRef> = view
            .places
            .iter()
            .map(|&i| Arc::clone(batch.column(i)))
            .collect();
        if let Some(atoms) = &view.atoms {
            columns.push(Arc::new(mask_of(atoms, scanned)?));
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let own = RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options)?;
        let Some(predicate) = &view.predicate else {
            return Ok(own);
        };
        let keep = predicate.evaluate(batch)?.into_array(batch.num_rows())?;
        let Some(keep) = keep.as_boolean_opt() else {
            return Err(DataFusionError::Internal(
                "a time bound is not a boolean".into(),
            ));
        };
        if keep.true_count() == keep.len() {
            return Ok(own);
        }
        Ok(arrow::compute::filter_record_batch(&own, keep)?)
    }

    /// The next item of the queue, its batch's columns, or `None` when it
    /// has ended; `Pending` registers the waker.
    fn next_item(&mut self, cx: &Context<'_>) -> Poll<Option<Item>> {
        let mut guard = lock(&self.hub.state);
        let state = &mut *guard;
        let q = &mut state.queues[self.queue];
        let item = match q.batches.pop_front() {
            Some(item) => {
                let room = q.batches.len() + 1 == QUEUE_BATCHES;
                let columns = q.columns.clone();
                drop(guard);
                // A queue with room again may let the scan on.
                if room {
                    self.hub.space.notify_waiters();
                }
                return Poll::Ready(Some((item, columns)));
            }
            None if q.ended() => Poll::Ready(None),
            None => {
                if !q.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    q.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        };
        drop(guard);
        item
    }
}

/// Where all of `atoms` hold on `scanned`'s rows.
fn mask_of(atoms: &[usize], scanned: &Scanned) -> datafusion::common::Result<BooleanArray> {
    let mut all: Option<BooleanArray> = None;
    for id in atoms {
        let Some((_, holds)) = scanned.masks.iter().find(|(i, _)| i == id) else {
            return Err(DataFusionError::Internal(format!(
                "the shared scan did not evaluate shared test {id}"
            )));
        };
        let holds = holds
            .as_ref()
            .map_err(|e| DataFusionError::Shared(Arc::clone(e)))?;
        all = Some(match all {
            None => holds.clone(),
            Some(all) => arrow::compute::and(&all, holds)?,
        });
    }
    Ok(all.unwrap_or_else(|| BooleanArray::from(vec![true; scanned.batch.num_rows()])))
}

impl Stream for SharedStream {
    type Item = datafusion::common::Result<RecordBatch>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.remaining == Some(0) {
                // Done before the scan is: the scan must not wait on it, even
                // while its parent keeps the stream.
                this.leave();
                return Poll::Ready(None);
            }
            let (item, columns) = match this.next_item(cx) {
                Poll::Ready(Some(next)) => next,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            let scanned = match item {
                Ok(scanned) => scanned,
                Err(e) => return Poll::Ready(Some(Err(DataFusionError::Shared(e)))),
            };
            if this.view.is_none() {
                let Some(columns) = columns else {
                    return Poll::Ready(Some(Err(DataFusionError::Internal(
                        "a shared scan's batch came before its start".into(),
                    ))));
                };
                match this.view(&columns) {
                    Ok(view) => this.view = Some(view),
                    Err(e) => return Poll::Ready(Some(Err(e))),
                }
            }
            let Some(view) = &this.view else {
                continue;
            };
            let mut out = match this.apply(view, &scanned) {
                Ok(out) => out,
                Err(e) => return Poll::Ready(Some(Err(e))),
            };
            if out.num_rows() == 0 {
                continue;
            }
            if let Some(remaining) = this.remaining {
                out = out.slice(0, out.num_rows().min(remaining));
                this.remaining = Some(remaining - out.num_rows());
            }
            return Poll::Ready(Some(Ok(out)));
        }
    }
}

impl Drop for SharedStream {
    fn drop(&mut self) {
        self.leave();
    }
}

impl RecordBatchStream for SharedStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, TimeUnit};

    fn bound(op: Operator, value: i64) -> TimeBound {
        TimeBound {
            index: 1,
            op,
            literal: ScalarValue::TimestampMicrosecond(Some(value), Some("UTC".into())),
            value,
        }
    }

    fn consumer(bounds: Vec<TimeBound>) -> Consumer {
        Consumer {
            projection: vec![0],
            bounds,
            limit: None,
            files: vec![],
            atoms: vec![],
        }
    }

    fn shown(exprs: &[Expr]) -> Vec<String> {
        exprs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_hull_is_the_loosest_of_each_querys_tightest_bounds() {
        let schema = Schema::new(vec![
            Field::new("x", DataType::Int64, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]);
        // (10, 20] and [5, 15): [5, 20]. The first's second lower bound (> 3) is
        // looser than its first, so the first starts at 11.
        let first = consumer(vec![
            bound(Operator::Gt, 10),
            bound(Operator::Gt, 3),
            bound(Operator::LtEq, 20),
        ]);
        let second = consumer(vec![bound(Operator::GtEq, 5), bound(Operator::Lt, 15)]);
        assert_eq!(
            shown(&hull(&schema, &[&first, &second])),
            [
                "ts <= TimestampMicrosecond(20, Some(\"UTC\"))",
                "ts >= TimestampMicrosecond(5, Some(\"UTC\"))"
            ]
        );
        // > 7 and >= 8 are the same rows: the hull is [8, ...), with no upper
        // bound since one query has none.
        let open = consumer(vec![bound(Operator::Gt, 7), bound(Operator::Lt, 9)]);
        let closed = consumer(vec![bound(Operator::GtEq, 8)]);
        assert_eq!(
            shown(&hull(&schema, &[&open, &closed])),
            ["ts >= TimestampMicrosecond(8, Some(\"UTC\"))"]
        );
        // A query without bounds reads everything: no hull.
        let bounded = consumer(vec![bound(Operator::Gt, 7)]);
        assert!(hull(&schema, &[&bounded, &consumer(vec![])]).is_empty());
    }
}
