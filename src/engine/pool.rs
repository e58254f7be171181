//! The session's memory pool: DataFusion's fair pool, with room kept for
//! the merge that ends a sort.
//!
//! A sort that spilled merges its runs in each partition, and each merge
//! takes as much of the pool as it can seat runs in (DataFusion's
//! multi-level merge, apache/datafusion#16908), so with two partitions the
//! `SortPreservingMergeExec` above them found 40 KB left where it needed
//! 352 KB, and a 10M-event sort under a 64 MiB cap failed 6 runs in 6. The
//! partitions' merges (`ExternalSorterMerge[N]`) may not take the last
//! [`headroom`] of the pool: a merge that cannot grow merges fewer runs at a
//! time, which DataFusion already does when the pool is full. A refusal
//! names the pool's five largest holders (DataFusion's `TrackConsumersPool`).

use std::fmt;
use std::num::NonZeroUsize;

use datafusion::common::{Result, resources_datafusion_err};
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
};

/// What the partitions' sort merges leave free of a pool of `limit` bytes:
/// a 16th, between 2 and 32 MiB.
#[must_use]
pub(crate) fn headroom(limit: usize) -> usize {
    (limit / 16).clamp(2 << 20, 32 << 20)
}

/// How many of the largest holders a refusal names.
const TOP: usize = 5;

/// A [`FairSpillPool`] whose sort merges leave [`headroom`] free, and whose
/// refusals name the five largest holders.
#[derive(Debug)]
pub(crate) struct SessionPool {
    inner: TrackConsumersPool<FairSpillPool>,
    limit: usize,
    /// Whether merges leave the headroom (`LAKEHUNT_NO_MERGE_HEADROOM`).
    keep: bool,
}

impl SessionPool {
    /// A pool of `limit` bytes; without `keep`, DataFusion's fair pool.
    pub(crate) fn new(limit: usize, keep: bool) -> SessionPool {
        SessionPool {
            inner: TrackConsumersPool::new(
                FairSpillPool::new(limit),
                NonZeroUsize::new(TOP).unwrap_or(NonZeroUsize::MIN),
            ),
            limit,
            keep,
        }
    }
}

impl fmt::Display for SessionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} with merge headroom", self.inner)
    }
}

impl MemoryPool for SessionPool {
    fn name(&self) -> &'static str {
        "lakehunt"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let merge = self.keep
            && reservation
                .consumer()
                .name()
                .starts_with("ExternalSorterMerge");
        let after = self.inner.reserved().saturating_add(additional);
        if merge && after.saturating_add(headroom(self.limit)) > self.limit {
            return Err(resources_datafusion_err!(
                "Failed to allocate additional {additional} bytes for {}: the last {} bytes of the \
                 {}-byte pool are kept for the sort's final merge; the largest holders: {}",
                reservation.consumer().name(),
                headroom(self.limit),
                self.limit,
                self.inner.report_top(TOP)
            ));
        }
        self.inner.try_grow(reservation, additional)
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn sort_merges_leave_the_headroom_to_others() {
        let pool: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(64 << 20, true));
        assert_eq!(headroom(64 << 20), 4 << 20);
        let merge = MemoryConsumer::new("ExternalSorterMerge[0]").register(&pool);
        let top = MemoryConsumer::new("SortPreservingMergeExec[0]").register(&pool);
        merge.try_grow(60 << 20).unwrap();
        let err = merge.try_grow(1).unwrap_err().to_string();
        assert!(err.contains("kept for the sort's final merge"), "{err}");
        assert!(err.contains("ExternalSorterMerge[0]#"), "{err}");
        let err = top.try_grow(10 << 20).unwrap_err().to_string();
        assert!(err.contains("top memory consumers"), "{err}");
        assert_eq!(merge.size(), 60 << 20);
        // The rest is there for the final merge, and no more.
        top.try_grow(4 << 20).unwrap();
        assert!(top.try_grow(1).is_err());
        drop(top);
        drop(merge);
        assert_eq!(pool.reserved(), 0);
    }
}
