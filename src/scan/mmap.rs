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
//! with SIGBUS instead of an error. A file whose size differs from the one it
//! was listed with is refused; archives are written once, and
//! `LAKEHUNT_NO_MMAP=1` reads with `pread` as DataFusion does. A file system
//! that refuses to map a file (`mmap` fails) is read with `pread` too. Unix
//! only; elsewhere every file is read with `pread`.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

use bytes::Bytes;

/// A whole file, mapped read-only; unmapped when the last reference to it (its
/// reader's, or a [`Bytes`] cut from it) is dropped.
#[derive(Debug)]
pub struct MappedFile {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and never written through; its pages may be
// read from any thread, and it is unmapped once, on drop.
unsafe impl Send for MappedFile {}
// SAFETY: as above: shared access is read-only.
unsafe impl Sync for MappedFile {}

/// Why a file was not mapped.
#[derive(Debug)]
pub enum MapError {
    /// The file's length is not the one it was listed with (the message names
    /// the file): reading it either way would give garbage.
    Changed(String),
    /// The file could not be opened or mapped; reading it otherwise may work.
    #[expect(
        dead_code,
        reason = "the reader falls back to pread on any such error; the cause shows in Debug output"
    )]
    Io(io::Error),
}

impl MappedFile {
    /// Maps `path`, which must still be `expected_len` bytes long.
    pub fn open(path: &Path, expected_len: u64) -> Result<Arc<MappedFile>, MapError> {
        let file = File::open(path).map_err(MapError::Io)?;
        let len = file.metadata().map_err(MapError::Io)?.len();
        if len != expected_len {
            return Err(MapError::Changed(format!(
                "{}: the file is {len} bytes long, but was {expected_len} when listed; \
                 was it rewritten during the run?",
                path.display()
            )));
        }
        let len = usize::try_from(len).map_err(|e| MapError::Io(io::Error::other(e)))?;
        if len == 0 {
            return Ok(Arc::new(MappedFile {
                ptr: NonNull::dangling(),
                len: 0,
            }));
        }
        let ptr = map(&file, len).map_err(MapError::Io)?;
        Ok(Arc::new(MappedFile { ptr, len }))
    }

    /// The file's length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
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
        if start > end || end > self.len {
            return None;
        }
        if start == end {
            return Some(Bytes::new());
        }
        will_need(self.ptr, start, end);
        Some(Bytes::from_owner(Slice {
            file: Arc::clone(self),
            start,
            end,
        }))
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        if self.len > 0 {
            unmap(self.ptr, self.len);
        }
    }
}

#[cfg(unix)]
fn map(file: &File, len: usize) -> io::Result<NonNull<u8>> {
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh read-only private mapping of an open file; the kernel
    // picks the address. The file may be closed once mapped.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned address 0"))
}

#[cfg(not(unix))]
fn map(_file: &File, _len: usize) -> io::Result<NonNull<u8>> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(unix)]
fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the mapping made by `map`, unmapped once, when its `MappedFile`
    // drops; no `Slice` outlives it (each holds an `Arc` to it).
    unsafe {
        libc::munmap(ptr.as_ptr().cast(), len);
    }
}

#[cfg(not(unix))]
fn unmap(_ptr: NonNull<u8>, _len: usize) {}

/// Asks the kernel to read `start..end` of the mapping ahead.
#[cfg(unix)]
fn will_need(ptr: NonNull<u8>, start: usize, end: usize) {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let aligned = start - start % page.max(1);
    // SAFETY: `aligned..end` lies inside the mapping (the caller checked
    // `end`); the advice starts read-ahead and changes no contents. Its result
    // is ignored: it is a hint.
    unsafe {
        libc::madvise(
            ptr.as_ptr().add(aligned).cast(),
            end - aligned,
            libc::MADV_WILLNEED,
        );
    }
}

#[cfg(not(unix))]
fn will_need(_ptr: NonNull<u8>, _start: usize, _end: usize) {}

/// Bytes `start..end` of a mapped file.
struct Slice {
    file: Arc<MappedFile>,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Slice {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `start..end` was checked against the mapping's length in
        // `slice`, the mapping lives as long as `file`, and it is read-only.
        unsafe {
            std::slice::from_raw_parts(
                self.file.ptr.as_ptr().add(self.start),
                self.end - self.start,
            )
        }
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
        let mapped = MappedFile::open(file.path(), data.len() as u64).expect("map");
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
        match MappedFile::open(file.path(), 8) {
            Err(MapError::Changed(message)) => {
                assert!(
                    message.contains(&file.path().display().to_string()),
                    "{message}"
                );
            }
            other => panic!("a changed length must be refused, got {other:?}"),
        }
        assert!(matches!(
            MappedFile::open(&file.path().with_extension("gone"), 4),
            Err(MapError::Io(_))
        ));
        let empty = tempfile::NamedTempFile::new().expect("temp file");
        let mapped = MappedFile::open(empty.path(), 0).expect("empty maps");
        assert_eq!(mapped.len(), 0);
        assert_eq!(mapped.slice(0..0).expect("empty range").len(), 0);
    }
}
