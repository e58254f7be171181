//! The `events` view: every schema group's table, projected onto the
//! canonical ECS columns (see [`crate::resolve`]), in one union.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::prelude::{DataFrame, SessionContext, cast, ident, lit};

use datafusion::execution::object_store::ObjectStoreUrl;

use super::EngineOptions;
use crate::error::Result;
use crate::resolve::convert;
use crate::scan::{
    FILE_COLUMN, FileSetTable, GAP, NarrowRanges, OutsideBounds, ROW_COLUMN, SharedTable,
};
use crate::source::Source;
use crate::source::remote::build_store;

/// Registers the raw tables (`events_raw`, or `events_raw_N` per schema) and
/// `events`, the union of every group projected onto the canonical columns;
/// and `events_id`, the same with a column `_id` (`file:row`, the event's
/// row in its file) for ES|QL's `METADATA _id`, unless the data has its own.
/// With `options.share_scans`, the raw tables can share one scan between
/// queries (see [`crate::scan::SharedTable`]); they are returned.
pub(crate) async fn register(
    source: &Source,
    ctx: &SessionContext,
    options: &EngineOptions,
    outside: &Arc<OutsideBounds>,
) -> Result<Vec<Arc<SharedTable>>> {
    register_as("events", true, source, ctx, options, outside).await
}

/// [`register`] under another name (`name`, `name_raw`, ...): a lookup
/// index for ES|QL's `LOOKUP JOIN`; `id_view` adds `name_id`.
pub(crate) async fn register_as(
    name: &str,
    id_view: bool,
    source: &Source,
    ctx: &SessionContext,
    options: &EngineOptions,
    outside: &Arc<OutsideBounds>,
) -> Result<Vec<Arc<SharedTable>>> {
    let mut shared = vec![];
    // Each object store the groups read from, built on this runtime.
    for store in source.groups.iter().filter_map(|g| g.store.as_deref()) {
        let url = ObjectStoreUrl::parse(crate::source::remote::ObjectUrl::registry_key(store))?;
        if ctx.runtime_env().object_store(&url).is_err() {
            let narrow = NarrowRanges::new(build_store(store, &options.stores)?, GAP);
            ctx.register_object_store(url.as_ref(), Arc::new(narrow));
        }
    }
    let ip_to_string = lakehunt_udfs::ip_to_string::ip_to_string_udf();
    let (mut events, mut events_id): (Option<DataFrame>, Option<DataFrame>) = (None, None);
    // Files that have columns of the provenance columns' names get no `events_id`.
    let provenance = id_view
        && [FILE_COLUMN, ROW_COLUMN]
            .iter()
            .all(|c| source.schema.field_with_name(c).is_err());
    for (i, group) in source.groups.iter().enumerate() {
        let suffix = if source.groups.len() == 1 {
            String::new()
        } else {
            format!("_{}", i + 1)
        };
        // One table per group (its files stat'ed once); the `_id` view reads
        // the same table with the provenance columns added.
        let table = FileSetTable::try_new(
            &group.files,
            &group.statistics,
            Arc::clone(&group.schema),
            &group.partition_keys,
            source.index_of.as_ref(),
            group.store.as_deref(),
        )?
        .counting_into(Arc::clone(outside))
        .reading_mapped(options.mmap);
        let (raw, raw_id) = (
            format!("{name}_raw{suffix}"),
            format!("{name}_raw_id{suffix}"),
        );
        if provenance {
            ctx.register_table(&raw_id, Arc::new(table.clone().with_provenance(true)))?;
        }
        if options.share_scans && id_view {
            let table = Arc::new(SharedTable::new(table));
            shared.push(Arc::clone(&table));
            ctx.register_table(&raw, table)?;
        } else {
            ctx.register_table(&raw, Arc::new(table))?;
        }
        let columns = source
            .schema
            .fields()
            .iter()
            .map(|field| {
                let to = field.data_type();
                let expr = match group.leaves.iter().find(|l| &l.name == field.name()) {
                    Some(leaf) => convert(leaf.expr.clone(), &leaf.data_type, to, &ip_to_string),
                    None => cast(lit(ScalarValue::Null), to.clone()),
                };
                expr.alias(field.name())
            })
            .collect::<Vec<_>>();
        let mut with_id = columns.clone();
        // Data that has its own `_id` (Elasticsearch's, kept by `ingest`) answers
        // `METADATA _id` itself.
        let own_id = source.schema.field_with_name("_id").is_ok();
        with_id.extend((!own_id).then(|| {
            datafusion::functions::string::expr_fn::concat(vec![
                ident(FILE_COLUMN),
                lit(":"),
                cast(ident(ROW_COLUMN), DataType::Utf8),
            ])
            .alias("_id")
        }));
        let views = [
            (&mut events, &raw, columns),
            (&mut events_id, &raw_id, with_id),
        ];
        for (union, name, columns) in views.into_iter().take(1 + usize::from(provenance)) {
            let projected = ctx.table(name.as_str()).await?.select(columns)?;
            *union = Some(match union.take() {
                None => projected,
                Some(all) => all.union(projected)?,
            });
        }
    }
    for (name, union) in [(name.to_owned(), events), (format!("{name}_id"), events_id)] {
        if let Some(view) = union {
            ctx.register_table(name, view.into_view())?;
        }
    }
    Ok(shared)
}
