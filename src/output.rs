//! Writing findings: Parquet and CSV files, or a table for a terminal.
//!
//! Files are written under a temporary name in the target folder and renamed into
//! place only when complete, so a failed or interrupted run never leaves a
//! half-written file where a scheduler would read it. String views are written as
//! plain strings so every Parquet and CSV reader (pandas, polars, DuckDB) opens the
//! output without surprises.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::engine::Table;
use crate::error::{Error, Result};
use crate::source::remote::{self, StoreOptions};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet, zstd-compressed, with run metadata.
    Parquet,
    /// CSV with a header row.
    Csv,
    /// An aligned text table.
    Table,
}

impl Format {
    /// The format a file name implies, from its extension.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "txt" => Some(Format::Table),
            _ => None,
        }
    }
}

fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, v) => plain_type(v),
        other => other.clone(),
    }
}

/// Rewrites the columns whose type `target` maps to a new type, with `convert`;
/// other columns, and the schema's metadata, pass through unchanged.
fn convert_columns(
    table: &Table,
    target: impl Fn(&DataType) -> Option<DataType>,
    convert: impl Fn(&ArrayRef, &DataType) -> Result<ArrayRef>,
) -> Result<Table> {
    let targets: Vec<Option<DataType>> = table
        .schema
        .fields()
        .iter()
        .map(|f| target(f.data_type()))
        .collect();
    if targets.iter().all(Option::is_none) {
        return Ok(table.clone());
    }
    let fields: Vec<Field> = table
        .schema
        .fields()
        .iter()
        .zip(&targets)
        .map(|(f, t)| {
            f.as_ref()
                .clone()
                .with_data_type(t.clone().unwrap_or_else(|| f.data_type().clone()))
        })
        .collect();
    let schema: SchemaRef = Arc::new(Schema::new_with_metadata(
        fields,
        table.schema.metadata().clone(),
    ));
    let batches = table
        .batches
        .iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .zip(&targets)
                .map(|(c, t)| match t {
                    Some(t) => convert(c, t),
                    None => Ok(Arc::clone(c)),
                })
                .collect::<Result<Vec<ArrayRef>>>()?;
            Ok(RecordBatch::try_new(Arc::clone(&schema), columns)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Table { schema, batches })
}

/// Casts string/binary views and dictionaries to plain arrays.
pub fn normalize(table: &Table) -> Result<Table> {
    convert_columns(
        table,
        |t| Some(plain_type(t)).filter(|plain| plain != t),
        |c, t| Ok(cast(c, t)?),
    )
}

/// A temporary file beside its final name, hidden (`.name.XXXX.tmp`) and readable
/// by others once renamed (0644 on Unix, like any file a tool writes; tempfile's
/// default 0600 would surprise whoever reads the findings next).
pub(crate) fn temp_file_in(
    dir: &Path,
    final_name: &str,
) -> std::io::Result<tempfile::NamedTempFile> {
    let prefix = format!(".{final_name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(dir)
}

/// Nested columns (lists, structs, maps) rendered as text, since CSV has no
/// nested values: `["network", "process"]` becomes `[network, process]`.
pub fn flatten_nested_to_text(table: &Table) -> Result<Table> {
    let options = arrow::util::display::FormatOptions::default();
    convert_columns(
        table,
        |t| t.is_nested().then_some(DataType::Utf8),
        |c, _| {
            let formatter = arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options)?;
            let text: arrow::array::StringArray = (0..c.len())
                .map(|i| c.is_valid(i).then(|| formatter.value(i).to_string()))
                .collect();
            Ok(Arc::new(text) as ArrayRef)
        },
    )
}

/// Renders a table for a terminal. Text comes from the events, and so from
/// the attacker's host: control characters (C0, DEL, C1: an ESC that would
/// recolour or retitle the terminal, a BEL) and bidirectional overrides
/// (U+202A-202E, U+2066-2069: a name that reads backwards) are shown escaped,
/// `\u{1b}`, in cells and headers alike. Files keep the exact bytes.
pub fn render_table(table: &Table) -> Result<String> {
    let table = visible_text(&flatten_nested_to_text(&normalize(table)?)?)?;
    if table.batches.is_empty() {
        let empty = RecordBatch::new_empty(Arc::clone(&table.schema));
        return Ok(arrow::util::pretty::pretty_format_batches(&[empty])?.to_string());
    }
    Ok(arrow::util::pretty::pretty_format_batches(&table.batches)?.to_string())
}

/// Renders a table as an HTML `<table>` (for notebooks): every name and
/// value HTML-escaped, and control and bidirectional characters shown
/// escaped as in [`render_table`]; nulls are empty cells.
pub fn render_html_table(table: &Table) -> Result<String> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    use std::fmt::Write as _;
    let table = visible_text(&flatten_nested_to_text(&normalize(table)?)?)?;
    let mut html = String::from("<table>\n<thead><tr>");
    for field in table.schema.fields() {
        let _ = write!(html, "<th>{}</th>", crate::html::escape(field.name()));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    let options = FormatOptions::default();
    for batch in &table.batches {
        let columns = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            html.push_str("<tr>");
            for column in &columns {
                let text = column.value(row).try_to_string()?;
                let _ = write!(html, "<td>{}</td>", crate::html::escape(&text));
            }
            html.push_str("</tr>\n");
        }
    }
    html.push_str("</tbody>\n</table>");
    Ok(html)
}

/// `text` with control characters and bidirectional controls escaped.
#[must_use]
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `table` with every text column and name passed through [`visible`].
fn visible_text(table: &Table) -> Result<Table> {
    let fields: Vec<Field> = table
        .schema
        .fields()
        .iter()
        .map(|f| {
            let data_type = match f.data_type() {
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                other => other.clone(),
            };
            Field::new(visible(f.name()), data_type, f.is_nullable())
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let mut batches = Vec::with_capacity(table.batches.len());
    for batch in &table.batches {
        let mut columns = Vec::with_capacity(batch.num_columns());
        for column in batch.columns() {
            if matches!(
                column.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) {
                let text = arrow::compute::cast(column, &DataType::Utf8)?;
                let text = arrow::array::AsArray::as_string::<i32>(&text);
                let shown: arrow::array::StringArray =
                    text.iter().map(|v| v.map(visible)).collect();
                columns.push(Arc::new(shown) as ArrayRef);
            } else {
                columns.push(Arc::clone(column));
            }
        }
        batches.push(RecordBatch::try_new(Arc::clone(&schema), columns)?);
    }
    Ok(Table { schema, batches })
}

/// Writes `table` to `path` atomically (temporary file in the same folder, then
/// rename), or to the object an `s3://`, `gs://`, `az://` or `http(s)://` URL
/// names (written to a temporary file, then uploaded whole: see
/// [`remote::upload`]). `metadata` goes into the Parquet footer's key/value
/// metadata.
pub fn write_file(
    path: &Path,
    format: Format,
    table: &Table,
    metadata: &[(String, String)],
) -> Result<()> {
    let mut sink = FileSink::create(path, format, &table.schema, metadata)?;
    for batch in &table.batches {
        sink.write(batch)?;
    }
    sink.finish()
}

/// A file written batch by batch, as [`write_file`] writes a whole table:
/// under a temporary name beside `path` (or in the temporary folder, for an
/// object URL), renamed (or uploaded) by [`FileSink::finish`]. Dropped
/// unfinished, it leaves nothing. Parquet holds one row group in memory at a
/// time and CSV a batch, so a result larger than memory can be written; a
/// text table is aligned over all its rows and so holds them.
pub struct FileSink {
    path: std::path::PathBuf,
    format: Format,
    tmp: tempfile::NamedTempFile,
    /// The object URL the finished file is uploaded to.
    url: Option<String>,
    /// The schema batches are written with (plain strings; nested columns as
    /// text for CSV).
    schema: SchemaRef,
    writer: Writer,
}

enum Writer {
    Parquet(ArrowWriter<std::fs::File>),
    Csv(arrow::csv::Writer<std::fs::File>),
    /// Rows kept for the aligned table, and its file.
    Table(Vec<RecordBatch>, std::fs::File),
}

impl FileSink {
    /// Opens the temporary file for `path` and its writer for rows of `schema`.
    pub fn create(
        path: &Path,
        format: Format,
        schema: &SchemaRef,
        metadata: &[(String, String)],
    ) -> Result<FileSink> {
        let failed = |message: String| Error::OutputWrite {
            path: path.to_owned(),
            message,
        };
        let url = path
            .to_str()
            .filter(|p| remote::is_url(p))
            .map(str::to_owned);
        let tmp = if url.is_some() {
            tempfile::NamedTempFile::new().map_err(|e| failed(e.to_string()))?
        } else {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Err(failed(format!("folder {} does not exist", dir.display())));
            }
            let file_name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("findings");
            temp_file_in(dir, file_name).map_err(|e| failed(e.to_string()))?
        };
        let empty = Table {
            schema: Arc::clone(schema),
            batches: vec![],
        };
        let mut plain = normalize(&empty)?;
        if format == Format::Csv {
            plain = flatten_nested_to_text(&plain)?;
        }
        let file = tmp.reopen().map_err(|e| failed(e.to_string()))?;
        let writer = match format {
            Format::Parquet => {
                let kv = metadata
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                    .collect();
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .set_key_value_metadata(Some(kv))
                    .build();
                Writer::Parquet(
                    ArrowWriter::try_new(file, Arc::clone(&plain.schema), Some(props))
                        .map_err(|e| failed(e.to_string()))?,
                )
            }
            Format::Csv => {
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(file);
                // The header, also when no row follows.
                writer
                    .write(&RecordBatch::new_empty(Arc::clone(&plain.schema)))
                    .map_err(|e| failed(e.to_string()))?;
                Writer::Csv(writer)
            }
            Format::Table => Writer::Table(vec![], file),
        };
        Ok(FileSink {
            path: path.to_owned(),
            format,
            tmp,
            url,
            schema: plain.schema,
            writer,
        })
    }

    /// Writes one batch (of the schema given to [`FileSink::create`]).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let one = Table {
            schema: batch.schema(),
            batches: vec![batch.clone()],
        };
        let mut plain = normalize(&one)?;
        if self.format == Format::Csv {
            plain = flatten_nested_to_text(&plain)?;
        }
        let failed = |message: String| Error::OutputWrite {
            path: self.path.clone(),
            message,
        };
        for batch in &plain.batches {
            let batch = RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())?;
            match &mut self.writer {
                Writer::Parquet(w) => w.write(&batch).map_err(|e| failed(e.to_string()))?,
                Writer::Csv(w) => w.write(&batch).map_err(|e| failed(e.to_string()))?,
                Writer::Table(rows, _) => rows.push(batch),
            }
        }
        Ok(())
    }

    /// Adds key-value metadata known only once the rows are written (a
    /// hunt's warning counts); Parquet keeps it in the footer, after what
    /// [`FileSink::create`] was given. Other formats have no place for it.
    pub fn add_metadata(&mut self, metadata: &[(String, String)]) {
        if let Writer::Parquet(w) = &mut self.writer {
            for (k, v) in metadata {
                w.append_key_value_metadata(KeyValue::new(k.clone(), v.clone()));
            }
        }
    }

    /// Closes the writer and puts the file in place: renamed over `path`
    /// after a sync, or uploaded whole to its URL.
    pub fn finish(self) -> Result<()> {
        let failed = |message: String| Error::OutputWrite {
            path: self.path.clone(),
            message,
        };
        match self.writer {
            Writer::Parquet(w) => {
                w.close().map_err(|e| failed(e.to_string()))?;
            }
            Writer::Csv(w) => {
                drop(w.into_inner());
            }
            Writer::Table(rows, mut file) => {
                let table = Table {
                    schema: Arc::clone(&self.schema),
                    batches: rows,
                };
                let text = render_table(&table)?;
                writeln!(file, "{text}").map_err(|e| failed(e.to_string()))?;
            }
        }
        if let Some(url) = &self.url {
            let content_type = match self.format {
                Format::Parquet => "application/vnd.apache.parquet",
                Format::Csv => "text/csv",
                Format::Table => "text/plain",
            };
            return remote::upload(url, self.tmp.path(), content_type, &StoreOptions::default());
        }
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| failed(e.to_string()))?;
        self.tmp
            .persist(&self.path)
            .map_err(|e| failed(e.error.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringViewArray};

    fn sample() -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringViewArray::from(vec![Some("a"), None])),
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        Table {
            schema,
            batches: vec![batch],
        }
    }

    #[test]
    fn parquet_output_is_plain_utf8_and_carries_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.parquet");
        write_file(
            &path,
            Format::Parquet,
            &sample(),
            &[("lakehunt.hunt".into(), "x".into())],
        )
        .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(builder.schema().field(0).data_type(), &DataType::Utf8);
        let kv = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap();
        assert!(
            kv.iter()
                .any(|e| e.key == "lakehunt.hunt" && e.value.as_deref() == Some("x"))
        );
        // Only the final file is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Rows reach the file as they come, not at the end: past a row group
    /// (1,048,576 rows), the temporary file holds it before `finish`. A sink
    /// dropped unfinished leaves nothing, under either name.
    #[test]
    fn a_sink_writes_as_it_goes_and_leaves_nothing_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from_iter_values(0..600_000))],
        )
        .unwrap();
        let size = |dir: &Path| -> u64 {
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().metadata().unwrap().len())
                .sum()
        };
        let mut sink = FileSink::create(&path, Format::Parquet, &schema, &[]).unwrap();
        sink.write(&batch).unwrap();
        sink.write(&batch).unwrap();
        assert!(!path.exists());
        assert!(size(dir.path()) > 1_000_000, "a row group is on disk");
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let mut sink = FileSink::create(&path, Format::Parquet, &schema, &[]).unwrap();
        sink.write(&batch).unwrap();
        sink.write(&batch).unwrap();
        sink.finish().unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        let rows = parquet::file::reader::FileReader::metadata(&reader)
            .file_metadata()
            .num_rows();
        assert_eq!(rows, 1_200_000);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn empty_csv_still_has_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let mut table = sample();
        table.batches.clear();
        write_file(&path, Format::Csv, &table, &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "k,n\n");
    }

    #[test]
    fn files_are_readable_by_others_and_a_failed_rename_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        write_file(&path, Format::Csv, &sample(), &[]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        // The target is a directory: the data is written, the rename fails.
        let blocked = dir.path().join("blocked.csv");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("keep"), b"x").unwrap();
        let err = write_file(&blocked, Format::Csv, &sample(), &[]).unwrap_err();
        assert!(err.to_string().contains("blocked.csv"), "{err}");
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["blocked.csv", "f.csv"], "no temporary file left");
    }

    #[test]
    fn missing_target_folder_is_an_error_naming_the_file() {
        let err = write_file(
            Path::new("/nonexistent/dir/f.csv"),
            Format::Csv,
            &sample(),
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/dir/f.csv"), "{err}");
    }
}
