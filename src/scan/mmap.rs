//! Local Parquet files read through a read-only memory map.
//!
//! DataFusion reads a local file's column chunks with `pread` into fresh,
//! zero-filled buffers (`object_store`'s `read_range`): every byte is zeroed,
//! then copied from the page cache, and every page of the buffer is a new
//! anonymous page the kernel must fault in and clear. A scan reads each chunk
//! once and drops it, so that is pure overhead. Mapped, the chunks are the page
//! cache's own pages: no copy, and a fault maps several cached pages at once
//! (the kernel's fault-around).
//!
//! The price of a map: a file truncated while a scan reads it ends the process
//! with SIGBUS instead of an error. A file that is not the one whose footer was
//! read (another device, inode, size or modification time: replaced, even by
//! one of the same size, or rewritten) is refused, naming it; archives are
//! written once, and `LAKEHUNT_NO_MMAP=1` reads with `pread` as DataFusion
//! does. A file system that refuses to map a file is read with `pread` too.
//! The map is `memmap2`'s; its one `unsafe` call is below, with its reason
//! (the crate's only other one sets a malloc tunable, in `src/cli/mod.rs`;
//! the `udfs` crate has one more, its SSSE3 address parser).
use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use memmap2::Mmap;

/// A whole file, mapped read-only; unmapped when the last reference to it (its
/// reader's, or a [`Bytes`] cut from it) is dropped.
#[derive(Debug)]
pub struct MappedFile {
    map: Mmap,
}

/// Why a file was not mapped.
#[derive(Debug)]
pub enum MapError {
    /// The file is not the one whose footer was read (the message names the
    /// file and what changed): reading it either way would give garbage.
    Changed(String),
    /// The file could not be opened or mapped; reading it otherwise may work.
    #[expect(
        dead_code,
        reason = "the reader falls back to pread on any such error; the cause shows in Debug output"
    )]
    Io(io::Error),
}

/// `path` as `stat` shows it, against what it was: its length, and its
/// identity (device, inode, size, modification time) where one was recorded.
pub fn unchanged(
    path: &Path,
    stat: &std::fs::Metadata,
    expected_len: u64,
    identity: Option<&str>,
) -> Result<(), String> {
    let len = stat.len();
    if len != expected_len {
        return Err(format!(
            "{}: the file is {len} bytes long, but was {expected_len} when listed; \
             was it rewritten during the run?",
            path.display()
        ));
    }
    let now = crate::source::file_identity(stat);
    match identity {
        Some(then) if then != now => Err(format!(
            "{}: the file changed since its footer was read ({then}; now {now}): \
             was it replaced during the run?",
            path.display()
        )),
        _ => Ok(()),
    }
}

impl MappedFile {
    /// Maps `path`, which must still be `expected_len` bytes long and, where
    /// `identity` is given, the same file (see [`unchanged`]); checked on the
    /// open handle, so the map is of the file checked.
    pub fn open(
        path: &Path,
        expected_len: u64,
        identity: Option<&str>,
    ) -> Result<Arc<MappedFile>, MapError> {
        let file = File::open(path).map_err(MapError::Io)?;
        let stat = file.metadata().map_err(MapError::Io)?;
        unchanged(path, &stat, expected_len, identity).map_err(MapError::Changed)?;
        // SAFETY: a read-only private map of a file lakehunt never writes.
        // Another process could still change it under the map; archives are
        // written once, the identity above catches a file replaced before the
        // scan, and a truncation during it ends the process (SIGBUS), as the
        // module says.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(MapError::Io)?;
        Ok(Arc::new(MappedFile { map }))
    }

    /// The file's length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `range` of the file, sharing the mapping; `None` past its end.
    ///
    /// The kernel is asked to read the range ahead (`MADV_WILLNEED`), so that a
    /// file not yet in the page cache is read in large requests, not one
    /// fault at a time.
    #[must_use]
    pub fn slice(self: &Arc<Self>, range: Range<u64>) -> Option<Bytes> {
        let start = usize::try_from(range.start).ok()?;
        let end = usize::try_from(range.end).ok()?;
        if start > end || end > self.len() {
            return None;
        }
        if start == end {
            return Some(Bytes::new());
        }
        #[cfg(unix)]
        {
            // A hint: its result changes nothing.
            let _ = self
                .map
                .advise_range(memmap2::Advice::WillNeed, start, end - start);
        }
        Some(Bytes::from_owner(Slice {
            file: Arc::clone(self),
            start,
            end,
        }))
    }
}

/// Bytes `start..end` of a mapped file.
struct Slice {
    file: Arc<MappedFile>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Slice {
    fn as_ref(&self) -> &[u8] {
        &self.file.map[self.start..self.end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn slices_equal_the_files_bytes() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        file.write_all(&data).expect("write");
        let mapped = MappedFile::open(file.path(), data.len() as u64, None).expect("map");
        assert_eq!(mapped.len(), data.len());
        for range in [
            0..0,
            0..1,
            0..20_000,
            4095..4097,
            8191..12_289,
            19_999..20_000,
        ] {
            let bytes = mapped
                .slice(range.start as u64..range.end as u64)
                .expect("in range");
            assert_eq!(&bytes[..], &data[range]);
        }
        assert!(mapped.slice(19_999..20_001).is_none());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 5..4;
        assert!(mapped.slice(backwards).is_none());
        // A slice keeps the mapping alive after the file's handle is gone.
        let tail = mapped.slice(10_000..10_010).expect("in range");
        drop(mapped);
        assert_eq!(&tail[..], &data[10_000..10_010]);
    }

    #[test]
    fn a_changed_length_is_refused_and_names_the_file() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(b"PAR1").expect("write");
        match MappedFile::open(file.path(), 8, None) {
            Err(MapError::Changed(message)) => {
                assert!(
                    message.contains(&file.path().display().to_string()),
                    "{message}"
                );
            }
            other => panic!("a changed length must be refused, got {other:?}"),
        }
        assert!(matches!(
            MappedFile::open(&file.path().with_extension("gone"), 4, None),
            Err(MapError::Io(_))
        ));
        let empty = tempfile::NamedTempFile::new().expect("temp file");
        let mapped = MappedFile::open(empty.path(), 0, None).expect("empty maps");
        assert_eq!(mapped.len(), 0);
        assert_eq!(mapped.slice(0..0).expect("empty range").len(), 0);
    }

    /// A file replaced by another of the same size (a new inode) or
    /// rewritten in place (a new modification time) is refused, naming it.
    #[test]
    fn a_replaced_file_of_the_same_size_is_refused() {
        let dir = tempfile::tempdir().expect("temp folder");
        let path = dir.path().join("part.parquet");
        std::fs::write(&path, b"PAR1 one PAR1").expect("write");
        let then = crate::source::file_identity(&std::fs::metadata(&path).expect("stat"));
        assert!(MappedFile::open(&path, 13, Some(&then)).is_ok());
        let other = dir.path().join("other.parquet");
        std::fs::write(&other, b"PAR1 two PAR1").expect("write");
        std::fs::rename(&other, &path).expect("replace");
        match MappedFile::open(&path, 13, Some(&then)) {
            Err(MapError::Changed(message)) => {
                assert!(
                    message.contains("part.parquet") && message.contains("replaced"),
                    "{message}"
                );
            }
            other => panic!("a replaced file must be refused, got {other:?}"),
        }
    }
}
