//! Reading: the table over an exact list of Parquet files, its row-group
//! pruning by time bounds, and the reader under it (strings as views, local
//! files through a memory map).

mod diagnose;
mod mmap;
mod reader;
mod shared;
mod store;
mod table;

pub(crate) use diagnose::with_named_errors;
pub(crate) use reader::ViewReaderFactory;
pub use shared::{Hub, SharedScanExec, SharedTable};
pub(crate) use shared::{SHARED_MASK, ends_in_mask};
pub use store::{GAP, NarrowRanges};
pub use table::{FILE_COLUMN, FileSetTable, OutsideBounds, ROW_COLUMN};
pub(crate) use table::{is_split_scan, row_groups_inside_bounds};
