//! Which files: `--data` arguments expanded (files, folders, globs), hidden
//! and bookkeeping files skipped, one path per file, and `key=value` folders
//! read as partition values (date folders among them).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub(crate) fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Hidden and bookkeeping files (`.crc`, Spark's `_SUCCESS`, `_temporary/`) are skipped
/// when walking directories and expanding globs.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
}

/// The folder part of a glob before its first wildcard (`lake/2026-*/x` -> `lake`).
fn glob_root(pattern: &str) -> &Path {
    let wildcard = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..wildcard].rfind('/') {
        Some(slash) => Path::new(&pattern[..slash]),
        None => Path::new(""),
    }
}

/// Every file named `*.{extension}` below `dir`, in path order, skipping hidden
/// entries, each folder walked once (a symlink loop ends).
pub fn files_under(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    walk(dir, extension, &mut out, &mut HashSet::new())?;
    Ok(out)
}

/// Collects `*.{extension}` below `dir`, skipping hidden entries; `seen` holds
/// the canonical directories visited, so a symlink loop is walked once.
fn walk(
    dir: &Path,
    extension: &str,
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> Result<()> {
    let canonical = std::fs::canonicalize(dir).map_err(|e| Error::InvalidInput {
        path: dir.to_owned(),
        line: 0,
        message: e.to_string(),
    })?;
    if !seen.insert(canonical) {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::InvalidInput {
            path: dir.to_owned(),
            line: 0,
            message: e.to_string(),
        })?
        .collect::<std::result::Result<_, _>>()?;
    entries.sort_by_cached_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        // The entry's type comes with the listing; only a symlink needs a `stat`.
        let (is_dir, is_file) = match entry.file_type() {
            Ok(kind) if !kind.is_symlink() => (kind.is_dir(), kind.is_file()),
            _ => (path.is_dir(), path.is_file()),
        };
        if is_dir {
            walk(&path, extension, out, seen)?;
        } else if is_file && path.extension().is_some_and(|x| x == extension) {
            // Not a FIFO, socket or device named `*.parquet`: reading one would
            // wait forever.
            out.push(path);
        }
    }
    Ok(())
}

/// Expands `--data` arguments: files as given, directories recursively (`*.parquet`),
/// globs by pattern. Each argument must yield at least one file.
pub fn discover(paths: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = vec![];
    for arg in paths {
        let before = files.len();
        // Per argument: two arguments naming one folder are not an error.
        let mut seen_dirs = HashSet::new();
        let path = Path::new(arg);
        if path.is_file() {
            files.push(path.to_owned());
        } else if path.is_dir() {
            walk(path, "parquet", &mut files, &mut seen_dirs)?;
        } else if path.exists() {
            return Err(Error::InvalidInput {
                path: path.to_owned(),
                line: 0,
                message:
                    "not a regular file (a FIFO, socket or device): reading it would wait forever"
                        .into(),
            });
        } else if let Some(why) = broken_link(path) {
            return Err(Error::UnreadableFile {
                path: path.to_owned(),
                message: why,
            });
        } else if is_glob(arg) {
            let matches = glob::glob(arg).map_err(|e| Error::InvalidGlob {
                pattern: arg.clone(),
                message: e.to_string(),
            })?;
            for m in matches {
                // A folder below the pattern that cannot be listed.
                let m = m.map_err(|e| Error::InvalidInput {
                    path: e.path().to_owned(),
                    line: 0,
                    message: format!("cannot list: {}", e.error()),
                })?;
                // Hidden anywhere below the pattern's fixed folder: `_temporary/`, `.git/`.
                let below = m.strip_prefix(glob_root(arg)).unwrap_or(&m);
                if below
                    .components()
                    .any(|c| is_hidden(Path::new(c.as_os_str())))
                {
                    continue;
                }
                if m.is_dir() {
                    walk(&m, "parquet", &mut files, &mut seen_dirs)?;
                } else if m.is_file() {
                    files.push(m);
                }
            }
        } else {
            return Err(Error::MissingPath(path.to_owned()));
        }
        if files.len() == before {
            return Err(Error::NoParquetFiles(arg.clone()));
        }
    }
    let mut seen = HashSet::new();
    files.retain(|f| seen.insert(FileKey::of(f)));
    Ok(files)
}

/// Why `path`, a symbolic link, cannot be followed (its target is missing,
/// or links loop); `None` if it is not a link.
fn broken_link(path: &Path) -> Option<String> {
    if !std::fs::symlink_metadata(path).ok()?.is_symlink() {
        return None;
    }
    Some(match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "a symbolic link to a file that does not exist".into()
        }
        Err(e) => format!("a symbolic link that cannot be followed: {e}"),
        Ok(_) => "a symbolic link to something that is not a regular file".into(),
    })
}

/// The same for two paths to one file (through `..`, a symlink, a hard link).
#[derive(PartialEq, Eq, Hash)]
enum FileKey {
    /// Its device and inode: one `stat`, where a canonical path takes a
    /// `readlink` per path component.
    Inode(u64, u64),
    /// Its canonical path (or the path as given, if that fails).
    Path(PathBuf),
}

impl FileKey {
    fn of(path: &Path) -> FileKey {
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::MetadataExt;
            return FileKey::Inode(meta.dev(), meta.ino());
        }
        FileKey::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()))
    }
}
/// The `key=value` folders of a path, outermost first.
#[must_use]
pub fn hive_partitions(path: &Path) -> Vec<(String, String)> {
    let Some(dir) = path.parent() else {
        return vec![];
    };
    dir.components()
        .filter_map(|c| {
            let part = c.as_os_str().to_str()?;
            let (key, value) = part.split_once('=')?;
            (!key.is_empty()).then(|| (key.to_owned(), value.to_owned()))
        })
        .collect()
}
/// Folder keys taken as the UTC day of the events under them unless told
/// otherwise: Amazon Security Lake's `eventDay`, which `lakehunt ingest`
/// writes too. Keys such as `date=`, `dt=` or `day=` often name an ingest
/// day or a local-time day instead; a lake that files events by their UTC day
/// under such a key says so with `--date-folders KEY`.
pub const DAY_FOLDERS: [&str; 1] = ["eventDay"];

/// [`DAY_FOLDERS`] and the keys a user declared (`--date-folders`), blanks dropped.
#[must_use]
pub fn day_folder_keys(declared: &[String]) -> Vec<String> {
    DAY_FOLDERS
        .iter()
        .map(|&k| k.to_owned())
        .chain(declared.iter().map(|k| k.trim().to_owned()))
        .filter(|k| !k.is_empty())
        .collect()
}

/// A run's window `(lo, hi]` (ns) and the folder keys (any case) whose value
/// is the UTC day of the events filed under them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DayWindow<'a> {
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    pub(crate) keys: &'a [String],
}

/// The UTC day (ns since the epoch, at midnight) a day folder of `path` names.
fn folder_day(path: &Path, keys: &[String]) -> Option<i64> {
    hive_partitions(path)
        .into_iter()
        .find_map(|(key, value)| date_folder_day(&key, &value, keys))
}

/// The UTC day (ns, at midnight) of one `key=value` folder, if `key` is one of
/// `keys` (any case) and the value a date: `20260301`, `2026-03-01`.
pub(crate) fn date_folder_day(key: &str, value: &str, keys: &[String]) -> Option<i64> {
    const DAY_NS: i64 = 86_400_000_000_000;
    if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
        return None;
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let (y, m, d) = (
        digits.get(0..4)?.parse().ok()?,
        digits.get(4..6)?.parse().ok()?,
        digits.get(6..8)?.parse().ok()?,
    );
    if digits.len() != 8 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc();
    midnight
        .timestamp_nanos_opt()
        .map(|ns| ns - ns.rem_euclid(DAY_NS))
}

/// Whether a day's folder (its midnight, ns) can hold events of `(lo, hi]`.
pub(crate) fn day_in_range(day: i64, lo: i64, hi: i64) -> bool {
    const DAY_NS: i64 = 86_400_000_000_000;
    day + DAY_NS > lo && day <= hi
}

/// `files`, less those in day folders (`window.keys`) wholly outside
/// `(lo, hi]`, and how many were left out. A day's folder is kept when
/// any instant of that UTC day is inside, so events filed under their own day
/// are never lost. When no file would be left, none is skipped (the time
/// filter then finds nothing, and the run still checks its fields).
pub(crate) fn in_range_files(files: Vec<PathBuf>, window: DayWindow) -> (Vec<PathBuf>, usize) {
    let found = files.len();
    let kept: Vec<PathBuf> = files
        .iter()
        .filter(|f| {
            folder_day(f, window.keys).is_none_or(|day| day_in_range(day, window.lo, window.hi))
        })
        .cloned()
        .collect();
    let kept = if kept.is_empty() { files } else { kept };
    let skipped = found - kept.len();
    (kept, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::footer::tests::file;

    #[test]
    fn a_file_reached_by_several_paths_is_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("d01");
        std::fs::create_dir(&day).unwrap();
        let a = file(&day, 0, 0, 1);
        let b = file(&day, 1, 0, 2);
        let arg = |p: &Path| p.to_string_lossy().into_owned();
        let mut paths = vec![
            arg(dir.path()),
            arg(&day.join("..").join("d01").join("part-000.parquet")),
            arg(&b),
            format!("{}/*/*.parquet", dir.path().display()),
        ];
        #[cfg(unix)]
        {
            let link = dir.path().join("link.parquet");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            let hard = dir.path().join("hard.parquet");
            std::fs::hard_link(&b, &hard).unwrap();
            paths.push(arg(&link));
            paths.push(arg(&hard));
        }
        let found = discover(&paths).unwrap();
        // The folder's walk comes first; every later spelling is the same file.
        assert_eq!(found, vec![a, b]);
    }

    #[test]
    fn key_value_folders_anywhere_in_the_path() {
        let path =
            Path::new("/lake/region=us-east-1/accountId=123/eventDay=20260115/part-0.parquet");
        assert_eq!(
            hive_partitions(path),
            vec![
                ("region".to_owned(), "us-east-1".to_owned()),
                ("accountId".to_owned(), "123".to_owned()),
                ("eventDay".to_owned(), "20260115".to_owned()),
            ]
        );
        assert!(hive_partitions(Path::new("lake/x/part=1.parquet")).is_empty());
        assert!(hive_partitions(Path::new("lake/=1/a.parquet")).is_empty());
    }
}
