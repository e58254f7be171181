//! How lakehunt's plans travel to a cluster: Ballista's codec, with lakehunt's
//! scan, its list filter and its string-view equality added.
//!
//! DataFusion serializes a Parquet scan (`DataSourceExec`) itself and never
//! asks an extension codec, but it leaves out two things lakehunt's scans
//! carry: each file part's row groups (a `ParquetAccessPlan`: the scan of a
//! hunt's window reads a file's row groups inside the window on their own,
//! and the rest with the window's bounds) and the reader that decodes strings
//! as views and maps local files. Without the first, a file split in parts
//! would be read whole by each part, its rows counted twice. So before a plan
//! is sent, each scan is wrapped in a [`ShippedScan`], its one child, which
//! this codec encodes as the row groups of each of the child's file parts,
//! and decodes by putting them back on the child, with lakehunt's reader.
//!
//! The scan stays a plain `DataSourceExec` child so that the scheduler can
//! restrict it to each task's partitions (its file groups): a scan it cannot
//! see into would be left whole, and each task would read partitions that
//! are not its own.

use std::fmt;
use std::sync::Arc;

use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::physical_plan::parquet::ParquetAccessPlan;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion_proto::bytes::{
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

use super::warnings::CountWarnings;
use crate::optimizer::{ListFilterExec, ViewEq};
use crate::scan::ViewReaderFactory;

/// Marks lakehunt's nodes among Ballista's (whose protobuf never starts with
/// this byte), then a version byte.
const MAGIC: &[u8] = b"\xF0LKH\x01";
/// The node that follows [`MAGIC`]: a [`ShippedScan`] ...
const SCAN: u8 = 1;
/// ... a `ListFilterExec` ...
const LIST_FILTER: u8 = 2;
/// ... or (an expression) a `ViewEq` ...
const VIEW_EQ: u8 = 3;
/// ... or a `CountWarnings` (nothing follows: its input is its child).
const COUNT_WARNINGS: u8 = 4;

/// Ballista's physical codec (its shuffle nodes), with lakehunt's scan.
#[derive(Debug, Default)]
pub struct LakehuntCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for LakehuntCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match buf.strip_prefix(MAGIC) {
            Some([SCAN, rest @ ..]) => {
                let [scan] = inputs else {
                    return Err(truncated());
                };
                ShippedScan::decode(rest, scan, ctx)
            }
            Some([LIST_FILTER, rest @ ..]) => {
                // The filter was encoded over an empty input of its input's
                // schema; the real input is the node's child.
                let [input] = inputs else {
                    return Err(truncated());
                };
                let plan = physical_plan_from_bytes_with_extension_codec(rest, ctx, self)?;
                let Some(filter) = plan.downcast_ref::<FilterExec>() else {
                    return Err(truncated());
                };
                let filter = FilterExecBuilder::from(filter)
                    .with_input(Arc::clone(input))
                    .build()?;
                Ok(Arc::new(ListFilterExec::new(filter)))
            }
            Some([COUNT_WARNINGS]) => {
                let [input] = inputs else {
                    return Err(truncated());
                };
                Ok(Arc::new(CountWarnings::new(Arc::clone(input))))
            }
            Some(_) => Err(DataFusionError::Internal(
                "a plan node from a newer lakehunt: run the same version everywhere".into(),
            )),
            None => self.ballista.try_decode(buf, inputs, ctx, converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(scan) = node.downcast_ref::<ShippedScan>() {
            buf.extend_from_slice(MAGIC);
            buf.push(SCAN);
            return scan.encode(buf);
        }
        if let Some(list) = node.downcast_ref::<ListFilterExec>() {
            let filter = list.filter();
            let empty = Arc::new(EmptyExec::new(filter.input().schema()));
            let filter = FilterExecBuilder::from(filter).with_input(empty).build()?;
            let bytes = physical_plan_to_bytes_with_extension_codec(Arc::new(filter), self)?;
            buf.extend_from_slice(MAGIC);
            buf.push(LIST_FILTER);
            buf.extend_from_slice(&bytes);
            return Ok(());
        }
        if node.downcast_ref::<CountWarnings>().is_some() {
            buf.extend_from_slice(MAGIC);
            buf.push(COUNT_WARNINGS);
            return Ok(());
        }
        self.ballista.try_encode(node, buf, converter)
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        _ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let (Some([VIEW_EQ, negated, text @ ..]), [expr]) = (buf.strip_prefix(MAGIC), inputs)
        else {
            return Err(DataFusionError::Internal(
                "an expression lakehunt does not know: run the same version everywhere".into(),
            ));
        };
        let text = std::str::from_utf8(text).map_err(|_| truncated())?;
        Ok(Arc::new(ViewEq::new(
            Arc::clone(expr),
            text.to_owned(),
            *negated == 1,
        )))
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        _ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> Result<()> {
        let Some(view_eq) = node.downcast_ref::<ViewEq>() else {
            return Err(DataFusionError::NotImplemented(format!(
                "no encoding for the expression {node}"
            )));
        };
        let (text, negated) = view_eq.constant();
        buf.extend_from_slice(MAGIC);
        buf.push(VIEW_EQ);
        buf.push(u8::from(negated));
        buf.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.ballista.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.ballista.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode_udaf(node, buf)
    }
}

/// `plan` with each Parquet scan wrapped for the trip (see the module).
pub(crate) fn ship_scans(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    if plan.exists(|node| Ok(node.is::<ShippedScan>()))? {
        return Ok(plan);
    }
    plan.transform_up(|node| {
        let is_parquet = node
            .downcast_ref::<DataSourceExec>()
            .and_then(|scan| scan.downcast_to_file_source::<ParquetSource>())
            .is_some();
        Ok(if is_parquet {
            Transformed::yes(Arc::new(ShippedScan { scan: node }) as Arc<dyn ExecutionPlan>)
        } else {
            Transformed::no(node)
        })
    })
    .map(|t| t.data)
}

/// A Parquet scan on its way to (or run on) a cluster: it runs as the scan it
/// holds (its child), and the codec encodes what DataFusion's own encoding of
/// the scan drops.
#[derive(Debug)]
pub(crate) struct ShippedScan {
    scan: Arc<dyn ExecutionPlan>,
}

/// Per file part, in the scan's order: the row groups it reads, when it reads
/// only some (`None`: the whole file).
type Parts = Vec<Option<(usize, Vec<usize>)>>;

impl ShippedScan {
    /// The scan's Parquet configuration.
    fn parts(&self) -> Result<Parts> {
        let Some((config, _)) = self
            .scan
            .downcast_ref::<DataSourceExec>()
            .and_then(|s| s.downcast_to_file_source::<ParquetSource>())
        else {
            return Err(DataFusionError::Internal(
                "a shipped scan holds no Parquet scan".into(),
            ));
        };
        Ok(config
            .file_groups
            .iter()
            .flat_map(FileGroup::iter)
            .map(|file| {
                file.extensions
                    .get::<ParquetAccessPlan>()
                    .map(|access| (access.len(), access.row_group_indexes()))
            })
            .collect())
    }

    /// `[parts]`, each part `0` (whole) or `1`, the file's row group count,
    /// how many it reads and which.
    fn encode(&self, buf: &mut Vec<u8>) -> Result<()> {
        let parts = self.parts()?;
        put(buf, parts.len());
        for part in parts {
            match part {
                None => put(buf, 0),
                Some((len, groups)) => {
                    put(buf, 1);
                    put(buf, len);
                    put(buf, groups.len());
                    for group in groups {
                        put(buf, group);
                    }
                }
            }
        }
        Ok(())
    }

    /// `scan` (as DataFusion decoded it) with the parts [`ShippedScan::encode`]
    /// wrote, reading with lakehunt's reader on `ctx`'s runtime (a memory map
    /// for local files).
    fn decode(
        mut buf: &[u8],
        scan: &Arc<dyn ExecutionPlan>,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let buf = &mut buf;
        let Some((config, source)) = scan
            .downcast_ref::<DataSourceExec>()
            .and_then(|s| s.downcast_to_file_source::<ParquetSource>())
        else {
            return Err(DataFusionError::Internal(
                "a shipped scan decoded into something else than a Parquet scan".into(),
            ));
        };
        let mut parts = Vec::new();
        for _ in 0..take(buf)? {
            let whole = take(buf)? == 0;
            parts.push(if whole {
                None
            } else {
                let len = take(buf)?;
                let mut access = ParquetAccessPlan::new_none(len);
                for _ in 0..take(buf)? {
                    let group = take(buf)?;
                    if group >= len {
                        return Err(truncated());
                    }
                    access.scan(group);
                }
                Some(access)
            });
        }
        let mut parts = parts.into_iter();
        let groups = config
            .file_groups
            .iter()
            .map(|group| {
                let files = group
                    .iter()
                    .map(|file| {
                        let part = parts.next().ok_or_else(truncated)?;
                        let mut file = file.clone();
                        if let Some(access) = part {
                            file = file.with_extension(access);
                        }
                        Ok(file)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(FileGroup::new(files))
            })
            .collect::<Result<Vec<_>>>()?;
        if parts.next().is_some() {
            return Err(truncated());
        }
        // Local files are mapped wherever they are read: the cluster's
        // executors read the same paths (a shared mount).
        let local = config.object_store_url.as_str().starts_with("file://");
        let factory =
            ViewReaderFactory::new(ctx.runtime_env().as_ref(), &config.object_store_url, local)?;
        let source = source
            .clone()
            .with_parquet_file_reader_factory(Arc::new(factory));
        let config = FileScanConfigBuilder::from(config.clone())
            .with_source(Arc::new(source))
            .with_file_groups(groups)
            .build();
        Ok(Arc::new(ShippedScan {
            scan: DataSourceExec::from_data_source(config),
        }))
    }
}

/// Appends `n` as 8 little-endian bytes.
fn put(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&(n as u64).to_le_bytes());
}

/// Reads what [`put`] wrote.
fn take(buf: &mut &[u8]) -> Result<usize> {
    let Some((head, rest)) = buf.split_first_chunk::<8>() else {
        return Err(truncated());
    };
    *buf = rest;
    usize::try_from(u64::from_le_bytes(*head)).map_err(|_| truncated())
}

fn truncated() -> DataFusionError {
    DataFusionError::Internal("a shipped scan's encoding is cut short or damaged".into())
}

impl DisplayAs for ShippedScan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = self.parts().unwrap_or_default();
        let some = parts.iter().filter(|p| p.is_some()).count();
        write!(
            f,
            "ShippedScan: {} file parts, {some} reading some row groups",
            parts.len()
        )
    }
}

impl ExecutionPlan for ShippedScan {
    fn name(&self) -> &'static str {
        "ShippedScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.scan.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.scan]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [scan] = <[_; 1]>::try_from(children)
            .map_err(|_| DataFusionError::Internal("a shipped scan has one child".into()))?;
        Ok(Arc::new(ShippedScan { scan }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.scan.execute(partition, context)
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }
}
