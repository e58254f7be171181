//! ES|QL's `ENRICH` with a range policy: a lookup table whose key is a range
//! (`ip_range`, `integer_range`/`long_range`, `double_range`, `date_range`),
//! matched by the ranges that hold a value.
//!
//! The table is read once into memory. Its first column holds the ranges as
//! text, in the forms Elastic's own test data writes them:
//! - `172.21.0.0/16`: every address of the block (IPv4 or IPv6);
//! - `FROM..TO`: from `FROM` up to, not including, `TO` (Elasticsearch's
//!   `{"gte": FROM, "lt": TO}`): IPs, whole numbers, decimals, or dates
//!   (`2020-01-01` or RFC 3339);
//! - one value: that value alone.
//!
//! Each of the other columns becomes a function `NAME(key)` giving that
//! column's value in the row whose range holds `key`. Where ranges overlap,
//! or the key is multi-valued, a value may lie in several: the function then
//! gives a list (Elasticsearch's multi-valued field) of every match, in
//! the table's row order; NULL where none matches.
//!
//! Every kind of range is compared in one order: whole numbers, IPs (as
//! IPv6, IPv4 mapped), dates (ns) and doubles (by an order-keeping map of
//! their bits) are `i128` keys, and a range is inclusive at both ends
//! (`lt` becomes the key before).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::gather_lists;
use crate::ip::{Addr, Block, parse_addr, parse_block};

/// What a table's ranges hold, and so how keys are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IP addresses (`ip_range`).
    Ip,
    /// Whole numbers (`integer_range`, `long_range`).
    Long,
    /// Decimals (`double_range`, `float_range`).
    Double,
    /// Times (`date_range`), in ns since the epoch.
    Date,
}

impl Kind {
    /// The Arrow type a key is cast to before it is read.
    fn key_type(self) -> DataType {
        match self {
            Kind::Ip => DataType::Utf8,
            Kind::Long => DataType::Int64,
            Kind::Double => DataType::Float64,
            Kind::Date => DataType::Timestamp(TimeUnit::Nanosecond, None),
        }
    }

    /// The name Elasticsearch gives the range type.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ip => "ip_range",
            Kind::Long => "long_range",
            Kind::Double => "double_range",
            Kind::Date => "date_range",
        }
    }

    /// One bound of a range as written, as a key.
    fn parse(self, text: &str) -> Option<i128> {
        let text = text.trim();
        match self {
            Kind::Ip => parse_addr(text).map(ip_key),
            Kind::Long => text.parse::<i64>().ok().map(i128::from),
            Kind::Double => text.parse::<f64>().ok().and_then(double_key),
            Kind::Date => parse_date(text).map(i128::from),
        }
    }
}

/// An address as a key in ES|QL's IP order (`ip_key`'s bytes, IPv4
/// mapped), the unsigned order kept in a signed key.
fn ip_key(addr: Addr) -> i128 {
    let v6 = u128::from_be_bytes(crate::esql_parse::ip_key(addr));
    (v6 ^ (1 << 127)).cast_signed()
}

/// A double as a key that orders as the double does (NaN has none).
fn double_key(x: f64) -> Option<i128> {
    if x.is_nan() {
        return None;
    }
    // -0.0 and 0.0 are one value.
    let x = if x == 0.0 { 0.0 } else { x };
    let bits = x.to_bits().cast_signed();
    Some(i128::from(if bits < 0 { bits ^ i64::MAX } else { bits }))
}

/// `2020-01-01` (midnight UTC) or an RFC 3339 time, in ns.
fn parse_date(text: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return t.timestamp_nanos_opt();
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt()
}

/// A range as written: `a/n`, `a..b` or `a`; inclusive keys.
fn parse_range(kind: Kind, text: &str) -> Option<(i128, i128)> {
    let text = text.trim();
    if let Some((lo, hi)) = text.split_once("..") {
        let (lo, hi) = (kind.parse(lo)?, kind.parse(hi)?);
        // Up to, not including, `hi`.
        return Some((lo, hi.checked_sub(1)?));
    }
    if kind == Kind::Ip && text.contains('/') {
        return match parse_block(text)? {
            Block::V4(a, b) => Some((ip_key(Addr::V4(a)), ip_key(Addr::V4(b)))),
            Block::V6(a, b) => Some((ip_key(Addr::V6(a)), ip_key(Addr::V6(b)))),
        };
    }
    let v = kind.parse(text)?;
    Some((v, v))
}

/// A range policy's table: its ranges sorted by their start, and the
/// columns it adds.
#[derive(Debug)]
pub struct RangeTable {
    kind: Kind,
    lo: Vec<i128>,
    hi: Vec<i128>,
    /// The largest `hi` up to each place: where it is below a key, no
    /// range at or before that place holds it.
    max_hi: Vec<i128>,
    /// Each sorted range's row in the table.
    row: Vec<u32>,
    /// Whether two ranges share a value (then a key may match several).
    overlaps: bool,
    /// The columns it adds, one row per range.
    fields: RecordBatch,
}

impl RangeTable {
    /// The table of `batch`, whose first column holds the ranges; an error
    /// names the first range that is not one (row numbers from 1).
    pub fn new(batch: &RecordBatch) -> std::result::Result<RangeTable, String> {
        if batch.num_columns() < 2 {
            return Err("a range policy's table needs a range column and a field".into());
        }
        let texts = cast(batch.column(0), &DataType::Utf8).map_err(|e| e.to_string())?;
        let texts = texts.as_string::<i32>();
        let kinds = [Kind::Ip, Kind::Long, Kind::Double, Kind::Date];
        let kind = kinds
            .into_iter()
            .find(|k| {
                texts
                    .iter()
                    .flatten()
                    .all(|t| parse_range(*k, t).is_some_and(|(lo, hi)| lo <= hi))
            })
            .ok_or_else(|| {
                let bad = texts
                    .iter()
                    .enumerate()
                    .find(|(_, t)| {
                        t.is_some_and(|t| kinds.iter().all(|k| parse_range(*k, t).is_none()))
                    })
                    .map_or_else(
                        || "ranges of different kinds, or one that ends before it starts".into(),
                        |(i, t)| format!("row {}: {:?} is not a range", i + 1, t.unwrap_or("")),
                    );
                format!(
                    "{bad} (ranges are written 10.0.0.0/8, FROM..TO (TO not included) \
                     or one value, of IPs, numbers or dates)"
                )
            })?;
        let mut ranges: Vec<(i128, i128, u32)> = vec![];
        for (i, text) in texts.iter().enumerate() {
            // A row without a range matches nothing.
            if let Some((lo, hi)) = text.and_then(|t| parse_range(kind, t)) {
                let i = u32::try_from(i).map_err(|_| "over 2^32 ranges".to_owned())?;
                ranges.push((lo, hi, i));
            }
        }
        ranges.sort_unstable();
        let mut max_hi = Vec::with_capacity(ranges.len());
        let mut overlaps = false;
        let mut top = i128::MIN;
        for (i, (lo, hi, _)) in ranges.iter().enumerate() {
            overlaps |= i > 0 && *lo <= top;
            top = top.max(*hi);
            max_hi.push(top);
        }
        Ok(RangeTable {
            kind,
            lo: ranges.iter().map(|r| r.0).collect(),
            hi: ranges.iter().map(|r| r.1).collect(),
            row: ranges.iter().map(|r| r.2).collect(),
            max_hi,
            overlaps,
            fields: batch
                .project(&(1..batch.num_columns()).collect::<Vec<_>>())
                .map_err(|e| e.to_string())?,
        })
    }

    /// What the ranges hold.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether two ranges share a value: then a key may match several, and
    /// each field is a list.
    #[must_use]
    pub fn overlaps(&self) -> bool {
        self.overlaps
    }

    /// The rows whose ranges hold `key`, pushed onto `out`.
    fn matches(&self, key: i128, out: &mut Vec<u32>) {
        let end = self.lo.partition_point(|lo| *lo <= key);
        for i in (0..end).rev() {
            if self.max_hi[i] < key {
                break;
            }
            if self.hi[i] >= key {
                out.push(self.row[i]);
            }
        }
    }

    /// The functions that add each field: `NAME_1(key)`, `NAME_2(key)`, ...
    /// in the order of the table's columns after the range.
    #[must_use]
    pub fn udfs(self: &Arc<Self>, name: &str) -> Vec<ScalarUDF> {
        (0..self.fields.num_columns())
            .map(|field| {
                ScalarUDF::new_from_impl(EnrichRange {
                    name: format!("{name}_{}", field + 1),
                    table: Arc::clone(self),
                    field,
                    signature: Signature::any(1, Volatility::Immutable),
                })
            })
            .collect()
    }
}

/// One field of a range policy, looked up by a key (see the module).
#[derive(Debug)]
struct EnrichRange {
    name: String,
    table: Arc<RangeTable>,
    field: usize,
    signature: Signature,
}

impl PartialEq for EnrichRange {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.table, &other.table)
    }
}

impl Eq for EnrichRange {}

impl std::hash::Hash for EnrichRange {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_))
}

impl ScalarUDFImpl for EnrichRange {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let field = self
            .table
            .fields
            .schema()
            .field(self.field)
            .data_type()
            .clone();
        let key = &args[0];
        let readable = is_list(key)
            || key.is_null()
            || key.is_numeric()
            || key.is_string()
            || matches!(
                key,
                DataType::Timestamp(..)
                    | DataType::Date32
                    | DataType::Date64
                    | DataType::Dictionary(..)
            );
        if !readable {
            return plan_err!("ENRICH ({}) cannot look up a {key}", self.table.kind.name());
        }
        Ok(if self.table.overlaps || is_list(key) {
            DataType::List(Arc::new(Field::new("item", field, true)))
        } else {
            field
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let key = args.args[0].to_array(rows)?;
        let column = self.table.fields.column(self.field);
        let list = self.table.overlaps || is_list(key.data_type());
        // Each row's values as one flat array, and where each row's start.
        let flat = match key.data_type() {
            DataType::LargeList(item) => cast(&key, &DataType::List(Arc::clone(item)))?,
            _ => Arc::clone(&key),
        };
        let (values, offsets): (ArrayRef, Vec<usize>) = match flat.data_type() {
            DataType::List(_) => {
                let l = flat.as_list::<i32>();
                let o = l.offsets().iter().map(|o| o.unsigned_abs() as usize);
                (Arc::clone(l.values()), o.collect())
            }
            _ => (Arc::clone(&key), (0..=rows).collect()),
        };
        let keys = self.keys(&values)?;
        let mut found: Vec<u32> = vec![];
        let mut ends: Vec<i32> = vec![0];
        let mut first: Vec<Option<u32>> = Vec::with_capacity(rows);
        let mut row_matches = vec![];
        for row in 0..rows {
            row_matches.clear();
            if key.is_valid(row) {
                for k in keys[offsets[row]..offsets[row + 1]].iter().flatten() {
                    self.table.matches(*k, &mut row_matches);
                }
            }
            row_matches.sort_unstable();
            first.push(row_matches.first().copied());
            found.extend_from_slice(&row_matches);
            let Ok(end) = i32::try_from(found.len()) else {
                return exec_err!("ENRICH: over 2^31 matches in one batch");
            };
            ends.push(end);
        }
        if !list {
            let picked = UInt32Array::from(first);
            return Ok(ColumnarValue::Array(take(column, &picked, None)?));
        }
        Ok(ColumnarValue::Array(gather_lists(column, found, ends)?))
    }
}

impl EnrichRange {
    /// Each value as a key of the table's kind; `None` where it is NULL or
    /// not one (a text that is not an IP, a number or a time).
    fn keys(&self, values: &ArrayRef) -> Result<Vec<Option<i128>>> {
        let kind = self.table.kind;
        // A decimal key lies between whole numbers: its floor says which
        // ranges hold it (-0.5 is not in 0..10).
        if kind == Kind::Long && values.data_type().is_floating() {
            return Ok(cast(values, &DataType::Float64)?
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .iter()
                .map(|v| v.filter(|x| x.is_finite()).map(|x| x.floor() as i128))
                .collect());
        }
        let as_key = cast(values, &kind.key_type())?;
        Ok(match kind {
            Kind::Ip => as_key
                .as_string::<i32>()
                .iter()
                .map(|t| t.and_then(parse_addr).map(ip_key))
                .collect(),
            Kind::Long => as_key
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .iter()
                .map(|v| v.map(i128::from))
                .collect(),
            Kind::Double => as_key
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .iter()
                .map(|v| v.and_then(double_key))
                .collect(),
            Kind::Date => as_key
                .as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
                .iter()
                .map(|v| v.map(i128::from))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::Schema;

    fn table(ranges: &[&str]) -> RangeTable {
        let schema = Arc::new(Schema::new(vec![
            Field::new("range", DataType::Utf8, true),
            Field::new("row", DataType::Int64, true),
        ]));
        let n = i64::try_from(ranges.len()).unwrap();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(ranges.to_vec())),
                Arc::new(Int64Array::from((1..=n).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        RangeTable::new(&batch).unwrap()
    }

    fn hits(t: &RangeTable, key: &str) -> Vec<u32> {
        let mut out = vec![];
        t.matches(t.kind.parse(key).unwrap(), &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn ranges_hold_from_up_to_not_including_to() {
        // Elastic's ages.csv: 0..2 Baby, 2..4 Toddler, 3..5 Preschooler.
        let t = table(&["0..2", "2..4", "3..5", "60..80"]);
        assert_eq!(t.kind, Kind::Long);
        assert!(t.overlaps);
        assert_eq!(hits(&t, "0"), [0]);
        assert_eq!(hits(&t, "2"), [1]);
        assert_eq!(hits(&t, "3"), [1, 2]);
        assert_eq!(hits(&t, "5"), Vec::<u32>::new());
        assert_eq!(hits(&t, "60"), [3]);
        assert_eq!(hits(&t, "80"), Vec::<u32>::new());
        assert_eq!(hits(&t, "-1"), Vec::<u32>::new());
    }

    #[test]
    fn blocks_hold_every_address() {
        // Elastic's client_cidr.csv.
        let t = table(&[
            "172.21.0.0/16",
            "172.21.2.0/24",
            "172.21.3.0/24",
            "2001:db8::/32",
        ]);
        assert_eq!(t.kind, Kind::Ip);
        assert_eq!(hits(&t, "172.21.0.5"), [0]);
        assert_eq!(hits(&t, "172.21.2.113"), [0, 1]);
        assert_eq!(hits(&t, "172.21.3.255"), [0, 2]);
        assert_eq!(hits(&t, "172.22.0.0"), Vec::<u32>::new());
        assert_eq!(hits(&t, "::ffff:172.21.3.1"), [0, 2]);
        assert_eq!(hits(&t, "2001:db8:ffff::1"), [3]);
    }

    #[test]
    fn doubles_and_dates_order_as_values() {
        let t = table(&["0.0..1.5", "1.5..1.6", "-2.5..-0.0"]);
        assert_eq!(t.kind, Kind::Double);
        assert!(!t.overlaps);
        assert_eq!(hits(&t, "1.4999999"), [0]);
        assert_eq!(hits(&t, "1.5"), [1]);
        assert_eq!(hits(&t, "-1"), [2]);
        // 0.0 is -0.0: the first range's start, past the third's end.
        assert_eq!(hits(&t, "-0.0"), [0]);
        let t = table(&["1900-01-01..1910-01-01", "2020-01-01..2030-01-01"]);
        assert_eq!(t.kind, Kind::Date);
        assert_eq!(hits(&t, "1909-12-31T23:59:59.999Z"), [0]);
        assert_eq!(hits(&t, "1910-01-01T00:00:00Z"), Vec::<u32>::new());
        assert_eq!(hits(&t, "2026-01-15T12:00:00+01:00"), [1]);
    }

    #[test]
    fn a_table_that_is_not_ranges_is_refused_by_row() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("range", DataType::Utf8, true),
            Field::new("x", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["1..2", "three"])),
                Arc::new(StringArray::from(vec!["a", "b"])),
            ],
        )
        .unwrap();
        let e = RangeTable::new(&batch).unwrap_err();
        assert!(e.starts_with("row 2: \"three\" is not a range"), "{e}");
    }
}
