//! The object store a scan reads through: the cloud's own client, with
//! column chunks fetched without most of the gaps between them.
//!
//! object_store's `get_ranges` merges ranges less than 1 MiB apart into one
//! request, so a hunt that reads 9 of a row group's 17 columns also fetches
//! the columns it skips whenever they sit between those it reads: on the
//! seed hunt over 10M nested events in S3, 99.3 MB fetched where the scan
//! needs 71.2 MB (DuckDB fetched 85.7 MB). Merging only ranges closer than
//! [`GAP`] fetched 78.3 MB in 108 requests instead of 60 (64 KiB: 72.5 MB in
//! 140). Against a local S3 server each request costs the server time, so
//! the run went from 1.7 s to 2.5 s, still 0.26 of DuckDB's; against a real
//! store, requests run side by side, up to [`PARALLEL`] at once per call.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// Ranges closer than this are fetched in one request.
pub const GAP: u64 = 256 * 1024;

/// Requests in flight for one `get_ranges` (object_store's own: 10).
const PARALLEL: usize = 32;

/// `ranges` sorted and merged where less than `gap` apart (or overlapping).
fn merge(ranges: &[Range<u64>], gap: u64) -> Vec<Range<u64>> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(gap) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// `inner`, whose `get_ranges` merges only ranges less than `gap` apart.
#[derive(Debug)]
pub struct NarrowRanges {
    inner: Arc<dyn ObjectStore>,
    gap: u64,
}

impl NarrowRanges {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, gap: u64) -> NarrowRanges {
        NarrowRanges { inner, gap }
    }
}

impl fmt::Display for NarrowRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (ranges merged within {} bytes)",
            self.inner, self.gap
        )
    }
}

#[async_trait]
impl ObjectStore for NarrowRanges {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let merged = merge(ranges, self.gap);
        let fetched: Vec<Bytes> = futures::stream::iter(merged.iter().cloned())
            .map(|range| self.inner.get_range(location, range))
            .buffered(PARALLEL)
            .try_collect()
            .await?;
        Ok(ranges
            .iter()
            .map(|range| {
                // The merged range that holds `range`: the last starting at or before it.
                let at = merged
                    .partition_point(|m| m.start <= range.start)
                    .saturating_sub(1);
                let (whole, bytes) = (&merged[at], &fetched[at]);
                let start = (range.start - whole.start) as usize;
                let end = ((range.end - whole.start) as usize).min(bytes.len());
                bytes.slice(start.min(end)..end)
            })
            .collect())
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_only_across_small_gaps() {
        let ranges = [30..40, 0..10, 12..20, 100..120, 35..50];
        assert_eq!(merge(&ranges, 2), vec![0..20, 30..50, 100..120]);
        assert_eq!(merge(&ranges, 0), vec![0..10, 12..20, 30..50, 100..120]);
        assert_eq!(merge(&ranges, 1000), vec![0..120]);
        assert!(merge(&[], 10).is_empty());
    }
}
