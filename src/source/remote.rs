//! Files in object stores: `s3://`, `gs://`, `az://`/`abfss://` and
//! `http(s)://` URLs, listed and their footers fetched as local files are.
//!
//! A remote file is named by its URL, held as a [`PathBuf`] like a local path
//! (`s3://bucket/lake/eventDay=20260115/part-0.parquet`), so errors, folders
//! (`key=value`) and sorting treat both alike. Each store is built from its
//! crate's own credential chain (`AWS_*` variables, web identity, ECS and EKS
//! roles, instance metadata; `GOOGLE_*` and application default credentials;
//! `AZURE_*` and managed identity), or unsigned with [`StoreOptions::anonymous`].
//! Credentials never reach lakehunt's own messages: an error names the URL
//! the user gave and the store's reason.
//!
//! The source reads synchronously; its requests run on a runtime of their own,
//! on a thread of their own (see `block_on`), with stores built there. The
//! session's scans build their own stores ([`build_store`]) on the session's
//! runtime: a store's pooled connections belong to the runtime that opened them.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{
    Attribute, Attributes, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload,
};

use super::discover::{DayWindow, date_folder_day, day_in_range, is_glob};
use super::footer::TAIL_READ;
use crate::error::{Error, Result};

/// How to reach object stores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Send unsigned requests (public buckets), ignoring any credentials.
    pub anonymous: bool,
}

/// The schemes lakehunt reads.
const SCHEMES: [&str; 7] = ["s3", "gs", "az", "abfs", "abfss", "http", "https"];

/// Footers fetched at once.
const CONCURRENT_FETCHES: usize = 32;

/// What this process has asked of object stores so far, for a progress line
/// while a source is opened: objects listed, footers fetched and their bytes.
/// Process-wide and only ever counting up; take a [`StoreActivity::now`]
/// before and after to see one run's share.
#[derive(Debug, Default)]
pub struct StoreActivity {
    listed: AtomicU64,
    footers: AtomicU64,
    footer_bytes: AtomicU64,
}

/// A reading of [`ACTIVITY`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActivityNow {
    /// Objects listed (every object a listing returned, Parquet or not).
    pub listed: u64,
    /// Footers fetched.
    pub footers: u64,
    /// Bytes those footer requests fetched.
    pub footer_bytes: u64,
}

impl StoreActivity {
    /// The counts so far.
    pub fn now(&self) -> ActivityNow {
        ActivityNow {
            listed: self.listed.load(Ordering::Relaxed),
            footers: self.footers.load(Ordering::Relaxed),
            footer_bytes: self.footer_bytes.load(Ordering::Relaxed),
        }
    }
}

/// The process's object-store activity.
pub static ACTIVITY: StoreActivity = StoreActivity {
    listed: AtomicU64::new(0),
    footers: AtomicU64::new(0),
    footer_bytes: AtomicU64::new(0),
};

/// Whether `text` names an object-store URL (`s3://...`) rather than a path.
#[must_use]
pub fn is_url(text: &str) -> bool {
    text.split_once("://")
        .is_some_and(|(scheme, _)| SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

/// A URL split into its store (`s3://bucket`) and the key below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectUrl {
    /// `scheme://authority`: one store.
    pub store: String,
    /// The key (or prefix) within the store, without a leading `/`.
    pub key: String,
}

impl ObjectUrl {
    /// Splits `text`, a URL [`is_url`] accepts.
    pub fn parse(text: &str) -> Result<ObjectUrl> {
        // The URL as an error repeats it: never a query string (a presigned
        // URL's or a SAS token's signature) nor a user's password.
        let shown = text.split(['?', '#']).next().unwrap_or_default();
        let shown = match shown.split_once('@') {
            Some((before, after)) if before.contains("://") => {
                let scheme = before.split("://").next().unwrap_or_default();
                format!("{scheme}://...@{after}")
            }
            _ => shown.to_owned(),
        };
        let invalid = |message: &str| Error::ObjectStore {
            action: "read",
            url: shown.clone(),
            message: message.to_owned(),
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| invalid("not a URL"))?;
        let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(invalid("the URL names no bucket, container or host"));
        }
        if authority.contains(['?', '#']) || key.contains(['?', '#']) {
            return Err(invalid(
                "query strings and fragments are not read (nor is `?` a wildcard in a URL): \
                 give credentials through the environment",
            ));
        }
        let scheme = scheme.to_ascii_lowercase();
        if matches!(scheme.as_str(), "http" | "https") && authority.contains('@') {
            return Err(invalid(
                "a user and password in the URL are not read: give credentials through the environment",
            ));
        }
        Ok(ObjectUrl {
            store: format!("{scheme}://{authority}"),
            key: key.to_owned(),
        })
    }

    /// The URL under which DataFusion's registry keeps `store`'s client: it
    /// keys clients by scheme and host, so Azure's `container@account`
    /// becomes `container.account` (two containers of one account are two
    /// clients, not one).
    #[must_use]
    pub fn registry_key(store: &str) -> String {
        match store.split_once("://") {
            Some((scheme @ ("az" | "abfs" | "abfss"), authority)) => {
                format!("{scheme}://{}", authority.replacen('@', ".", 1))
            }
            _ => store.to_owned(),
        }
    }

    /// The URL of `location` in this URL's store.
    #[must_use]
    pub fn of(&self, location: &StorePath) -> PathBuf {
        PathBuf::from(format!("{}/{}", self.store, location.as_ref()))
    }
}

/// The store a URL's objects are in, built from the environment's credential
/// chain for its cloud (or unsigned).
pub fn build_store(store: &str, options: &StoreOptions) -> Result<Arc<dyn ObjectStore>> {
    let failed = |e: object_store::Error| Error::ObjectStore {
        action: "reach",
        url: store.to_owned(),
        message: describe(&e),
    };
    let scheme = store.split_once("://").map_or("", |(s, _)| s);
    Ok(match scheme {
        "s3" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_url(store)
                .with_skip_signature(options.anonymous)
                .build()
                .map_err(failed)?,
        ),
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(store)
                .with_skip_signature(options.anonymous)
                .build()
                .map_err(failed)?,
        ),
        "az" | "abfs" | "abfss" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(store)
                .with_skip_signature(options.anonymous)
                .build()
                .map_err(failed)?,
        ),
        "http" | "https" => Arc::new(
            object_store::http::HttpBuilder::new()
                .with_url(store)
                .with_client_options(
                    object_store::ClientOptions::new().with_allow_http(scheme == "http"),
                )
                .build()
                .map_err(failed)?,
        ),
        other => {
            return Err(Error::ObjectStore {
                action: "reach",
                url: store.to_owned(),
                message: format!("unknown scheme {other}:// (lakehunt reads {})", {
                    SCHEMES.map(|s| format!("{s}://")).join(", ")
                }),
            });
        }
    })
}

/// Runs the future `make` gives to completion on a runtime of its own, on a
/// thread of its own: callable from synchronous code and from within another
/// runtime alike.
pub(crate) fn block_on<T: Send, F: Future<Output = Result<T>>>(
    make: impl FnOnce() -> F + Send,
) -> Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(make())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Parts of a multipart upload; a file no larger is one `PUT`.
const PART: usize = 16 << 20;

/// Uploads `local` to the object `url` names, whole or not at all: one
/// `PUT`, or a multipart upload completed only once every part is in (an
/// upload that fails is aborted). Readers never see a partial object.
pub fn upload(url: &str, local: &Path, content_type: &str, options: &StoreOptions) -> Result<()> {
    let target = ObjectUrl::parse(url)?;
    if target.key.is_empty() || target.key.ends_with('/') {
        return Err(Error::ObjectStore {
            action: "write",
            url: url.to_owned(),
            message: "name an object (s3://bucket/findings/x.parquet), not a prefix".into(),
        });
    }
    let failed = |e: object_store::Error| Error::ObjectStore {
        action: "write",
        url: url.to_owned(),
        message: describe(&e),
    };
    let attributes = Attributes::from_iter([(Attribute::ContentType, content_type.to_owned())]);
    block_on(|| async {
        let store = build_store(&target.store, options)?;
        let key = key_path(&target.key);
        let mut file = std::fs::File::open(local)?;
        let size = file.metadata()?.len();
        if size <= PART as u64 {
            let bytes = std::fs::read(local)?;
            let options = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            store
                .put_opts(&key, PutPayload::from(bytes), options)
                .await
                .map_err(failed)?;
            return Ok(());
        }
        let options = PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        };
        let mut upload = store
            .put_multipart_opts(&key, options)
            .await
            .map_err(failed)?;
        // Every part in, then complete; any failure aborts, so no part
        // lingers (S3 keeps, and bills, the parts of an open upload).
        let done = match send_parts(upload.as_mut(), &mut file).await {
            Ok(()) => upload.complete().await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            let _ = upload.abort().await;
            return Err(failed(e));
        }
        Ok(())
    })
}

/// Reads `file` in parts of [`PART`] bytes (the last may be shorter) and
/// sends each to `upload`, four at once.
async fn send_parts(
    upload: &mut dyn object_store::MultipartUpload,
    file: &mut std::fs::File,
) -> object_store::Result<()> {
    let mut in_flight = futures::stream::FuturesUnordered::new();
    loop {
        let mut part = vec![0; PART];
        let mut filled = 0;
        while filled < PART {
            let read = std::io::Read::read(file, &mut part[filled..]).map_err(|e| {
                object_store::Error::Generic {
                    store: "local",
                    source: Box::new(e),
                }
            })?;
            if read == 0 {
                break;
            }
            filled += read;
        }
        if filled == 0 {
            break;
        }
        part.truncate(filled);
        while in_flight.len() >= 4 {
            if let Some(sent) = in_flight.next().await {
                sent?;
            }
        }
        in_flight.push(upload.put_part(PutPayload::from(part)));
    }
    while let Some(sent) = in_flight.next().await {
        sent?;
    }
    Ok(())
}

/// The text of the object `url` names, or `None` if there is none.
pub(crate) fn read_text(url: &str, options: &StoreOptions) -> Result<Option<String>> {
    let target = ObjectUrl::parse(url)?;
    let failed = |e: &object_store::Error| Error::ObjectStore {
        action: "read",
        url: url.to_owned(),
        message: describe(e),
    };
    block_on(|| async {
        let store = build_store(&target.store, options)?;
        match store.get(&key_path(&target.key)).await {
            Ok(got) => {
                let bytes = got.bytes().await.map_err(|e| failed(&e))?;
                String::from_utf8(bytes.to_vec())
                    .map(Some)
                    .map_err(|_| Error::ObjectStore {
                        action: "read",
                        url: url.to_owned(),
                        message: "not UTF-8 text".into(),
                    })
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed(&e)),
        }
    })
}

/// The keys below the prefix `url` names, relative to it, every level deep.
pub(crate) fn list_below(url: &str, options: &StoreOptions) -> Result<Vec<String>> {
    let target = ObjectUrl::parse(url)?;
    let prefix = target.key.trim_end_matches('/').to_owned();
    block_on(|| async {
        let store = build_store(&target.store, options)?;
        let listed: Vec<ObjectMeta> = store
            .list((!prefix.is_empty()).then(|| key_path(&prefix)).as_ref())
            .try_collect()
            .await
            .map_err(|e| Error::ObjectStore {
                action: "read",
                url: url.to_owned(),
                message: describe(&e),
            })?;
        Ok(listed
            .into_iter()
            .filter_map(|m| {
                let key = m.location.as_ref();
                let rest = if prefix.is_empty() {
                    Some(key)
                } else {
                    key.strip_prefix(prefix.as_str())
                        .and_then(|r| r.strip_prefix('/'))
                };
                rest.map(str::to_owned)
            })
            .collect())
    })
}

/// Deletes the objects `urls` name (all in one store); one already gone is
/// not an error.
pub(crate) fn delete(urls: &[String], options: &StoreOptions) -> Result<()> {
    let Some(first) = urls.first() else {
        return Ok(());
    };
    let store_url = ObjectUrl::parse(first)?.store;
    block_on(|| async {
        let store = build_store(&store_url, options)?;
        for url in urls {
            let key = ObjectUrl::parse(url)?.key;
            match store.delete(&key_path(&key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(Error::ObjectStore {
                        action: "write",
                        url: url.clone(),
                        message: describe(&e),
                    });
                }
            }
        }
        Ok(())
    })
}

/// A key (or prefix) as typed, percent-escapes and all; where it is not a
/// valid object path, as object_store would encode it.
fn key_path(key: &str) -> StorePath {
    StorePath::parse(key).unwrap_or_else(|_| StorePath::from(key))
}

/// A remote file found by listing: its URL and its listing entry.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The object's URL.
    pub path: PathBuf,
    /// Its store (`s3://bucket`).
    pub store: String,
    /// Its key, size and modification time.
    pub meta: ObjectMeta,
}

/// The Parquet objects one URL argument names: the object itself, every
/// `*.parquet` object below a prefix, or those a glob matches; hidden and
/// bookkeeping objects (`_SUCCESS`, `.tmp/`) skipped, sorted by key. An
/// argument that names none is an error naming it.
///
/// With `range` (ns, `(lo, hi]`, and the keys of day folders), a prefix is
/// listed folder by folder and day folders (`eventDay=20260115/`) wholly
/// outside it are not listed at all: a month of Security Lake is then a few
/// requests per region and account for the window's days, not a listing of
/// every object of the month. Returns the objects and how many date folders
/// were left unlisted.
pub(crate) async fn list(
    arg: &str,
    options: &StoreOptions,
    range: Option<DayWindow<'_>>,
) -> Result<(Vec<Listed>, usize)> {
    let url = ObjectUrl::parse(arg)?;
    let store = build_store(&url.store, options)?;
    let failed = |e: object_store::Error| Error::ObjectStore {
        action: "read",
        url: arg.to_owned(),
        message: describe(&e),
    };
    let pattern = if is_glob(&url.key) {
        Some(
            glob::Pattern::new(&url.key).map_err(|e| Error::InvalidGlob {
                pattern: arg.to_owned(),
                message: e.to_string(),
            })?,
        )
    } else {
        None
    };
    // A single object, where the argument names one.
    if pattern.is_none() && !url.key.is_empty() && !url.key.ends_with('/') {
        match store.head(&key_path(&url.key)).await {
            // A folder that answers HEAD (some HTTP servers, Azure with a
            // hierarchical namespace) is listed below.
            Ok(meta) if meta.size > 0 => {
                let listed = Listed {
                    path: url.of(&meta.location),
                    store: url.store.clone(),
                    meta,
                };
                return Ok((vec![listed], 0));
            }
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    let root = match &pattern {
        Some(_) => {
            let wildcard = url.key.find(['*', '?', '[']).unwrap_or(url.key.len());
            url.key[..wildcard]
                .rfind('/')
                .map_or("", |slash| &url.key[..slash])
        }
        None => url.key.trim_end_matches('/'),
    };
    let prefix = (!root.is_empty()).then(|| key_path(root));
    let root_key = prefix.as_ref().map_or("", StorePath::as_ref).to_owned();
    let literal_separator = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    let wanted = |meta: &ObjectMeta| {
        let key = meta.location.as_ref();
        let below = key.strip_prefix(root_key.as_str()).unwrap_or(key);
        let hidden = below
            .split('/')
            .any(|part| part.starts_with('.') || part.starts_with('_'));
        let parquet = Path::new(key).extension().is_some_and(|x| x == "parquet");
        // As on disk: a glob names objects, or folders whose Parquet
        // objects all count; `*` stays within one folder.
        let named = match &pattern {
            Some(p) => {
                p.matches_with(key, literal_separator)
                    || (parquet
                        && key
                            .match_indices('/')
                            .any(|(at, _)| p.matches_with(&key[..at], literal_separator)))
            }
            None => parquet,
        };
        named && !hidden
    };
    let (mut found, mut skipped) = match range {
        Some(range) => walk(store.as_ref(), prefix.clone(), range)
            .await
            .map_err(failed)?,
        None => (vec![], 0),
    };
    found.retain(|meta| wanted(meta));
    // Without a range, or where every date folder lay outside it (the run
    // still needs files to check its fields), the whole prefix.
    if range.is_none() || found.is_empty() {
        skipped = 0;
        found = store
            .list(prefix.as_ref())
            .inspect_ok(|_| {
                ACTIVITY.listed.fetch_add(1, Ordering::Relaxed);
            })
            .try_filter(|meta| futures::future::ready(wanted(meta)))
            .try_collect()
            .await
            .map_err(failed)?;
    }
    found.sort_by(|a, b| a.location.cmp(&b.location));
    if found.is_empty() {
        return Err(Error::NoParquetFiles(arg.to_owned()));
    }
    let listed = found
        .into_iter()
        .map(|meta| Listed {
            path: url.of(&meta.location),
            store: url.store.clone(),
            meta,
        })
        .collect();
    Ok((listed, skipped))
}

/// Folders listed at once by [`walk`].
const CONCURRENT_LISTS: usize = 16;

/// Every object below `root`, listed a folder at a time, less date folders
/// wholly outside the window; and how many date folders were left out.
async fn walk(
    store: &dyn ObjectStore,
    root: Option<StorePath>,
    window: DayWindow<'_>,
) -> object_store::Result<(Vec<ObjectMeta>, usize)> {
    let mut pending = vec![root];
    let mut running = futures::stream::FuturesUnordered::new();
    let (mut found, mut skipped) = (vec![], 0);
    loop {
        while running.len() < CONCURRENT_LISTS {
            let Some(folder) = pending.pop() else { break };
            running.push(async move { store.list_with_delimiter(folder.as_ref()).await });
        }
        let Some(listing) = running.next().await else {
            break;
        };
        let listing = listing?;
        ACTIVITY
            .listed
            .fetch_add(listing.objects.len() as u64, Ordering::Relaxed);
        found.extend(listing.objects);
        for folder in listing.common_prefixes {
            let day = folder
                .filename()
                .and_then(|name| name.split_once('='))
                .and_then(|(key, value)| date_folder_day(key, value, window.keys));
            if day.is_some_and(|day| !day_in_range(day, window.lo, window.hi)) {
                skipped += 1;
            } else {
                pending.push(Some(folder));
            }
        }
    }
    Ok((found, skipped))
}

/// Every argument's objects, in argument order, each object once; and the
/// date folders left unlisted (see [`list`]).
pub(crate) fn list_all(
    args: &[&str],
    options: &StoreOptions,
    range: Option<DayWindow<'_>>,
) -> Result<(Vec<Listed>, usize)> {
    block_on(|| async {
        let lists = futures::stream::iter(args.iter().map(|arg| list(arg, options, range)))
            .buffered(8)
            .try_collect::<Vec<_>>()
            .await?;
        let skipped = lists.iter().map(|(_, skipped)| skipped).sum();
        let mut seen = HashSet::new();
        let listed = lists
            .into_iter()
            .flat_map(|(listed, _)| listed)
            .filter(|l| seen.insert(l.path.clone()))
            .collect();
        Ok((listed, skipped))
    })
}

/// The last bytes of each of `files`, enough to hold its footer: the last
/// 16 KiB in one ranged request, and the whole footer in a second where it
/// is larger. Up to 32 files at once; the first failure in `files`' order is
/// the error.
pub(crate) fn fetch_tails(files: &[Listed], options: &StoreOptions) -> Result<Vec<Bytes>> {
    block_on(|| async {
        let mut stores: Vec<(String, Arc<dyn ObjectStore>)> = vec![];
        for file in files {
            if !stores.iter().any(|(s, _)| s == &file.store) {
                stores.push((file.store.clone(), build_store(&file.store, options)?));
            }
        }
        let store_of = |file: &Listed| {
            stores
                .iter()
                .find(|(s, _)| s == &file.store)
                .map(|(_, store)| Arc::clone(store))
        };
        futures::stream::iter(files.iter().map(|file| {
            let store = store_of(file);
            async move {
                let store = store.ok_or_else(|| Error::UnreadableFile {
                    path: file.path.clone(),
                    message: "no store".into(),
                })?;
                let tail = fetch_tail(store.as_ref(), file).await?;
                ACTIVITY.footers.fetch_add(1, Ordering::Relaxed);
                ACTIVITY
                    .footer_bytes
                    .fetch_add(tail.len() as u64, Ordering::Relaxed);
                Ok::<_, Error>(tail)
            }
        }))
        .buffered(CONCURRENT_FETCHES)
        .try_collect()
        .await
    })
}

async fn fetch_tail(store: &dyn ObjectStore, file: &Listed) -> Result<Bytes> {
    let failed = |message: String| Error::UnreadableFile {
        path: file.path.clone(),
        message,
    };
    let size = file.meta.size;
    if size < 8 {
        return Err(failed(format!(
            "{size} bytes is too small for a Parquet file"
        )));
    }
    let get = |range: Range<u64>| async move {
        store
            .get_range(&file.meta.location, range)
            .await
            .map_err(|e| Error::ObjectStore {
                action: "read",
                url: file.path.display().to_string(),
                message: describe(&e),
            })
    };
    let first = size.min(TAIL_READ);
    let tail = get(size - first..size).await?;
    let wanted = footer_length(&tail).map_err(failed)?;
    if wanted > size {
        return Err(failed(format!(
            "the footer says its metadata is {wanted} bytes, in a file of {size}"
        )));
    }
    if wanted <= first {
        return Ok(tail);
    }
    get(size - wanted..size).await
}

/// A store's error in a line: its kind, and S3's or Azure's error code where
/// the response gave one, without the response body.
fn describe(e: &object_store::Error) -> String {
    let text = e.to_string();
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_owned());
    match (e, code.as_deref()) {
        (_, Some("NoSuchBucket" | "ContainerNotFound")) => {
            "the bucket or container does not exist".to_owned()
        }
        (object_store::Error::PermissionDenied { .. }, _) | (_, Some("AccessDenied")) => {
            "access denied".to_owned()
        }
        (object_store::Error::Unauthenticated { .. }, _) => {
            "not authenticated: check the credentials in the environment".to_owned()
        }
        (object_store::Error::NotFound { .. }, _) => "not found".to_owned(),
        // The last link of AWS's credential chain is the instance metadata
        // service; reaching for it means no other link had credentials.
        _ if text.contains("169.254.169.254") => "no credentials found: set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY (or a role), or pass --anonymous for a public bucket"
            .to_owned(),
        (_, Some(code)) => format!("the store answered {code}"),
        _ => text
            .split_once(": <?xml")
            .map_or(text.as_str(), |(head, _)| head)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The length of the footer (metadata and the 8-byte tail) that `tail`, a
/// file's last bytes, ends with.
pub(crate) fn footer_length(tail: &[u8]) -> std::result::Result<u64, String> {
    let last: [u8; 8] = tail
        .get(tail.len().saturating_sub(8)..)
        .and_then(|t| t.try_into().ok())
        .ok_or_else(|| "too small for a Parquet file".to_owned())?;
    let tail = parquet::file::metadata::FooterTail::try_new(&last).map_err(|e| e.to_string())?;
    Ok(tail.metadata_length() as u64 + 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_store_and_key() {
        assert!(is_url("s3://bucket/lake/"));
        assert!(is_url("HTTPS://host/x.parquet"));
        assert!(!is_url("lake/s3://x"));
        assert!(!is_url("/data/lake"));
        assert!(!is_url("ftp://host/x"));
        let url = ObjectUrl::parse("s3://bucket/lake/eventDay=20260115/").unwrap();
        assert_eq!(url.store, "s3://bucket");
        assert_eq!(url.key, "lake/eventDay=20260115/");
        let url = ObjectUrl::parse("abfss://c@acct.dfs.core.windows.net/x.parquet").unwrap();
        assert_eq!(url.store, "abfss://c@acct.dfs.core.windows.net");
        assert_eq!(url.key, "x.parquet");
        assert_eq!(ObjectUrl::parse("gs://b").unwrap().key, "");
        assert!(ObjectUrl::parse("s3:///key").is_err());
        assert!(ObjectUrl::parse("s3://b/k?X-Amz-Signature=secret").is_err());
    }

    #[test]
    fn refused_urls_never_repeat_signatures_or_passwords() {
        for (url, shown) in [
            (
                "s3://b/k.parquet?X-Amz-Signature=s3cr3t",
                "s3://b/k.parquet",
            ),
            ("az://c/k?sv=2024&sig=s3cr3t", "az://c/k"),
            (
                "https://user:s3cr3t@host/k.parquet",
                "https://...@host/k.parquet",
            ),
        ] {
            let message = ObjectUrl::parse(url).unwrap_err().to_string();
            assert!(!message.contains("s3cr3t"), "{message}");
            assert!(message.contains(shown), "{message}");
        }
    }

    #[test]
    fn two_containers_of_one_account_are_two_registry_keys() {
        let one = ObjectUrl::registry_key("abfss://c1@acct.dfs.core.windows.net");
        let two = ObjectUrl::registry_key("abfss://c2@acct.dfs.core.windows.net");
        assert_ne!(one, two);
        assert_eq!(one, "abfss://c1.acct.dfs.core.windows.net");
        assert_eq!(ObjectUrl::registry_key("s3://bucket"), "s3://bucket");
    }

    #[test]
    fn a_footer_length_comes_from_the_tail() {
        let mut tail = vec![0_u8; 10];
        tail.extend_from_slice(&300_u32.to_le_bytes());
        tail.extend_from_slice(b"PAR1");
        assert_eq!(footer_length(&tail), Ok(308));
        assert!(footer_length(b"PAR1").is_err());
        assert!(footer_length(b"xxxxxxxxxxxx").is_err());
    }
}
