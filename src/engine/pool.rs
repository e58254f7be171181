//! The session's memory pool: DataFusion's fair pool, with room kept for
//! the merge that ends a sort.
//!
//! A sort that spilled merges its runs in each partition, and each merge
//! takes as much of the pool as it can seat runs in (DataFusion's
//! multi-level merge, apache/datafusion#16908), so with two partitions the
//! `SortPreservingMergeExec` above them found 40 KB left where it needed
//! 352 KB, and a 10M-event sort under a 64 MiB cap failed 6 runs in 6.
//!
//! While a `SortPreservingMergeExec` holds a reservation, the partitions'
//! merges (`ExternalSorterMerge[N]`) may not grow past their own
//! reservation (`sort_spill_reservation_bytes`) into the last [`headroom`] of
//! the pool: a merge of spilled runs that cannot grow merges fewer runs at a
//! time, as DataFusion already does when the pool is full. The same consumer
//! also merges a sort's batches held in memory, which then fails where it
//! would have taken the headroom: the price of keeping it. A refusal names
//! the pool's five largest holders (DataFusion's `TrackConsumersPool`).

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::{Result, resources_datafusion_err};
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
};

/// What the partitions' sort merges leave free of a pool of `limit` bytes
/// shared by `partitions`: a 16th, between 2 and 32 MiB, and never more than
/// half of one partition's share, so that many partitions at their fair
/// share still get their merges' reservations back after a spill.
#[must_use]
pub(crate) fn headroom(limit: usize, partitions: usize) -> usize {
    (limit / 16)
        .clamp(2 << 20, 32 << 20)
        .min(limit / (2 * partitions.max(1)))
}

/// How many spill files one merge pass of a pool of `limit` bytes opens:
/// one per 32 MiB, 4 to 64.
///
/// DataFusion's merge of spilled runs (a sort's, an aggregation's) seats as
/// many runs as the pool lets it, each with two batches reserved
/// (apache/datafusion#16908); two partitions' sorts and aggregations
/// merging at once then left none for the last to start: the seed hunt
/// with every pair a group failed under 128 MiB, and a 100M-event sort or
/// GROUP BY capped at 256 MiB peaked 200 MiB over the cap (a merge holding
/// memory the pool granted, and what it read besides). Fewer runs a pass
/// means more passes over the spill files, and merges that fit beside each
/// other.
#[must_use]
pub(crate) fn spill_fan_in(limit: usize) -> usize {
    (limit / (32 << 20)).clamp(4, 64)
}

/// How many rows a batch holds under a pool of `limit` bytes shared by
/// `partitions`: one per 16 KiB of a partition's share, a power of two from
/// 1,024 to DataFusion's 8,192.
///
/// A spilling sort merges its batches held in memory into one run, and an
/// aggregation that spilled merges its runs, each holding batches of every
/// run it reads: their working memory grows with the batch. Two partitions'
/// sorts and final aggregations under a 64 MiB cap needed more than the pool
/// had with 8,192-row batches (the seed hunt with every pair a group failed
/// 7 runs of 7 at 10M events) and fit with 2,048.
#[must_use]
pub(crate) fn batch_rows(limit: usize, partitions: usize) -> usize {
    let rows = limit / partitions.max(1) / (16 << 10);
    if rows >= 8192 {
        8192
    } else {
        (1 << rows.max(1).ilog2()).max(1024)
    }
}

/// How many of the largest holders a refusal names.
const TOP: usize = 5;

/// What a [`SessionPool`] keeps from sort merges.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Headroom {
    /// The bytes kept (see [`headroom`]).
    pub(crate) bytes: usize,
    /// A merge's own reservation (`sort_spill_reservation_bytes`): growth
    /// within it is never refused, as DataFusion counts on getting it back.
    pub(crate) floor: usize,
}

/// A [`FairSpillPool`] whose sort merges leave a [`Headroom`] free while a
/// merge of sorted partitions runs, and whose refusals name the five largest
/// holders.
#[derive(Debug)]
pub(crate) struct SessionPool {
    inner: TrackConsumersPool<FairSpillPool>,
    limit: usize,
    /// `None`: DataFusion's fair pool (`LAKEHUNT_NO_MERGE_HEADROOM`).
    headroom: Option<Headroom>,
    /// Live `SortPreservingMergeExec` reservations: without one there is no
    /// final merge to keep room for.
    final_merges: AtomicUsize,
}

impl SessionPool {
    /// A pool of `limit` bytes.
    pub(crate) fn new(limit: usize, headroom: Option<Headroom>) -> SessionPool {
        SessionPool {
            inner: TrackConsumersPool::new(
                FairSpillPool::new(limit),
                NonZeroUsize::new(TOP).unwrap_or(NonZeroUsize::MIN),
            ),
            limit,
            headroom,
            final_merges: AtomicUsize::new(0),
        }
    }
}

/// Whether `consumer` is the merge of sorted partitions.
fn final_merge(consumer: &MemoryConsumer) -> bool {
    consumer.name().starts_with("SortPreservingMergeExec")
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
        if final_merge(consumer) {
            self.final_merges.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if final_merge(consumer) {
            self.final_merges.fetch_sub(1, Ordering::Relaxed);
        }
        self.inner.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        // Checked apart from the grant: two merges growing at once may both
        // pass, and take a little of the headroom.
        if let Some(Headroom { bytes, floor }) = self.headroom
            && self.final_merges.load(Ordering::Relaxed) > 0
            && reservation
                .consumer()
                .name()
                .starts_with("ExternalSorterMerge")
            && reservation.size().saturating_add(additional) > floor
            && self
                .inner
                .reserved()
                .saturating_add(additional)
                .saturating_add(bytes)
                > self.limit
        {
            return Err(resources_datafusion_err!(
                "Failed to allocate additional {additional} bytes for {}: the last {bytes} bytes of \
                 the {}-byte pool are kept for the sort's final merge; the largest holders: {}",
                reservation.consumer().name(),
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
    fn a_merge_opens_one_spill_file_per_32_mib_of_the_cap() {
        assert_eq!(spill_fan_in(64 << 20), 4);
        assert_eq!(spill_fan_in(256 << 20), 8);
        assert_eq!(spill_fan_in(1 << 30), 32);
        assert_eq!(spill_fan_in(12 << 30), 64);
    }

    #[test]
    fn a_small_cap_makes_smaller_batches() {
        assert_eq!(batch_rows(64 << 20, 2), 2048);
        assert_eq!(batch_rows(128 << 20, 2), 4096);
        assert_eq!(batch_rows(100 << 20, 2), 2048);
        assert_eq!(batch_rows(256 << 20, 2), 8192);
        assert_eq!(batch_rows(8 << 30, 16), 8192);
        assert_eq!(batch_rows(32 << 20, 16), 1024);
        assert_eq!(batch_rows(0, 0), 1024);
    }

    #[test]
    fn sort_merges_leave_the_headroom_to_others() {
        assert_eq!(headroom(64 << 20, 2), 4 << 20);
        // Many partitions: at most half of one's share.
        assert_eq!(headroom(64 << 20, 16), 2 << 20);
        assert_eq!(headroom(14 << 20, 16), (14 << 20) / 32);
        let room = Headroom {
            bytes: 4 << 20,
            floor: 1 << 20,
        };
        let pool: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(64 << 20, Some(room)));
        let merge = MemoryConsumer::new("ExternalSorterMerge[0]").register(&pool);
        // No final merge yet: nothing is kept.
        merge.try_grow(62 << 20).unwrap();
        merge.shrink(2 << 20);
        let top = MemoryConsumer::new("SortPreservingMergeExec[0]").register(&pool);
        let err = merge.try_grow(1).unwrap_err().to_string();
        assert!(err.contains("kept for the sort's final merge"), "{err}");
        assert!(err.contains("ExternalSorterMerge[0]#"), "{err}");
        assert_eq!(merge.size(), 60 << 20);
        // The rest is there for the final merge, and no more.
        top.try_grow(4 << 20).unwrap();
        let err = top.try_grow(1).unwrap_err().to_string();
        assert!(err.contains("top memory consumers"), "{err}");
        drop(top);
        // Within its own reservation a merge always grows back.
        let other = MemoryConsumer::new("ExternalSorterMerge[1]").register(&pool);
        let _top = MemoryConsumer::new("SortPreservingMergeExec[0]").register(&pool);
        merge.shrink(1 << 20);
        other.try_grow(1 << 20).unwrap();
        drop((other, merge));
        assert_eq!(pool.reserved(), 0);
    }
}
