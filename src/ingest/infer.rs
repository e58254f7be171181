//! Documents normalised as Elasticsearch indexes them, and one schema for all.
//!
//! Normalising: dotted keys expand into objects (`"host.name"` next to
//! `"host": {...}` is one field), nested arrays flatten, and nulls, empty
//! arrays and empty objects are absent, as in Elasticsearch. A field that
//! ends up holding two values (`"host.name"` and `host.name` both given) is a
//! multi-valued field.
//!
//! Typing: each field's kind is the join of what every document holds, so the
//! schema does not depend on document order: integers and floats join to
//! floats; text joins with any scalar to text (as a `keyword` field takes
//! `443` as "443"); a field that is an array anywhere is a list everywhere.
//! What cannot join (an object and a scalar, a boolean and a number) is a
//! conflict that names the field and both lines.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::{Map, Value};

/// The time column's name, as in ECS.
pub(crate) const TIMESTAMP: &str = "@timestamp";

/// A field's kind, joined over every document.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    Bool,
    Int,
    Float,
    Text,
    Object,
}

const KINDS: [Kind; 5] = [Kind::Bool, Kind::Int, Kind::Float, Kind::Text, Kind::Object];

/// Where a document starts: its input (an index into the input names) and line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pos {
    pub(crate) input: usize,
    pub(crate) line: usize,
}

impl Pos {
    /// "on line 3" within `current`'s input, else "in FILE on line 3".
    fn describe(self, current: Option<Pos>, inputs: &[String]) -> String {
        match (current, inputs.get(self.input)) {
            (Some(c), _) if c.input == self.input => format!("on line {}", self.line),
            (_, Some(name)) => format!("in {name} on line {}", self.line),
            _ => format!("on line {}", self.line),
        }
    }
}

/// A field: where each kind was first seen, whether any document gives it
/// several values, and its sub-fields if it is an object.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Slot {
    seen: [Option<Pos>; 5],
    pub(crate) list: bool,
    pub(crate) children: BTreeMap<String, Slot>,
}

impl Slot {
    /// The joined kind: the same whatever order the documents came in.
    /// Fails where a boolean and a number meet without text to join them.
    pub(crate) fn kind(&self, path: &str, inputs: &[String]) -> Result<Kind, String> {
        let [bool, int, float, text, object] = self.seen;
        Ok(match (bool, int.or(float)) {
            _ if object.is_some() => Kind::Object,
            _ if text.is_some() => Kind::Text,
            (Some(b), Some(n)) => {
                return Err(format!(
                    "field '{path}' holds a boolean {} but a number {} (a field cannot be both)",
                    b.describe(None, inputs),
                    n.describe(None, inputs)
                ));
            }
            (Some(_), None) => Kind::Bool,
            _ if float.is_some() => Kind::Float,
            _ => Kind::Int,
        })
    }
}

/// `map` with dotted keys expanded, arrays flattened, and nulls, empty
/// arrays and empty objects dropped.
pub(crate) fn normalize(
    map: Map<String, Value>,
    prefix: &str,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (key, value) in map {
        let path = join(prefix, &key);
        if key.split('.').any(str::is_empty) {
            return Err(format!(
                "field name '{path}' has an empty part (Elasticsearch rejects it too)"
            ));
        }
        let Some(value) = normalize_value(value, &path)? else {
            continue;
        };
        let mut segments = key.rsplit('.');
        let mut value = value;
        let mut first = segments.next().unwrap_or_default();
        for parent in segments {
            let mut wrapper = Map::new();
            wrapper.insert(first.to_owned(), value);
            value = Value::Object(wrapper);
            first = parent;
        }
        merge_into(&mut out, first.to_owned(), value);
    }
    Ok(out)
}

fn normalize_value(value: Value, path: &str) -> Result<Option<Value>, String> {
    Ok(match value {
        Value::Null => None,
        Value::Object(map) => {
            let map = normalize(map, path)?;
            (!map.is_empty()).then_some(Value::Object(map))
        }
        Value::Array(items) => {
            let mut flat = Vec::with_capacity(items.len());
            flatten(items, path, &mut flat)?;
            (!flat.is_empty()).then_some(Value::Array(flat))
        }
        scalar => Some(scalar),
    })
}

fn flatten(items: Vec<Value>, path: &str, out: &mut Vec<Value>) -> Result<(), String> {
    for item in items {
        match item {
            Value::Array(inner) => flatten(inner, path, out)?,
            other => out.extend(normalize_value(other, path)?),
        }
    }
    Ok(())
}

/// Two objects at one key merge; anything else becomes the values of both.
fn merge_into(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(old) => {
            let merged = match (std::mem::take(old), value) {
                (Value::Object(mut a), Value::Object(b)) => {
                    for (k, v) in b {
                        merge_into(&mut a, k, v);
                    }
                    Value::Object(a)
                }
                (a, b) => {
                    let mut items = into_items(a);
                    items.extend(into_items(b));
                    Value::Array(items)
                }
            };
            *old = merged;
        }
    }
}

fn into_items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => vec![other],
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Adds a normalised document's fields to `slots`.
/// `inputs` names the inputs [`Pos`] points into, for messages.
pub(crate) fn observe(
    slots: &mut BTreeMap<String, Slot>,
    map: &Map<String, Value>,
    prefix: &str,
    at: Pos,
    inputs: &[String],
) -> Result<(), String> {
    for (key, value) in map {
        let path = join(prefix, key);
        match value {
            Value::Array(items) => {
                for item in items {
                    observe_one(slots, key, item, &path, (at, inputs), true)?;
                }
            }
            other => observe_one(slots, key, other, &path, (at, inputs), false)?,
        }
    }
    Ok(())
}

fn observe_one(
    slots: &mut BTreeMap<String, Slot>,
    key: &str,
    value: &Value,
    path: &str,
    (at, inputs): (Pos, &[String]),
    list: bool,
) -> Result<(), String> {
    let here = match value {
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(n) if n.is_u64() => {
            return Err(format!(
                "field '{path}' holds {n}, beyond a signed 64-bit integer"
            ));
        }
        Value::Number(_) => Kind::Float,
        Value::String(_) => Kind::Text,
        Value::Object(_) => Kind::Object,
        // Normalising removed nulls and nested arrays.
        Value::Null | Value::Array(_) => return Ok(()),
    };
    let slot = slots.entry(key.to_owned()).or_default();
    slot.list |= list;
    let object = slot.seen[Kind::Object as usize];
    let scalar = KINDS[..4]
        .iter()
        .find_map(|k| slot.seen[*k as usize].map(|p| (*k, p)));
    let clash = match (here, object, scalar) {
        (Kind::Object, None, Some(first)) => Some(first),
        (Kind::Object, _, _) | (_, None, _) => None,
        (_, Some(first), _) => Some((Kind::Object, first)),
    };
    if let Some((before, first)) = clash {
        return Err(format!(
            "field '{path}' holds {} here but {} {} (a field cannot be both)",
            describe(here),
            describe(before),
            first.describe(Some(at), inputs)
        ));
    }
    slot.seen[here as usize].get_or_insert(at);
    if let Value::Object(map) = value {
        observe(&mut slot.children, map, path, at, inputs)?;
    }
    Ok(())
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "a boolean",
        Kind::Int | Kind::Float => "a number",
        Kind::Text => "text",
        Kind::Object => "an object",
    }
}

/// The Arrow schema for `slots`: `@timestamp` (microseconds, UTC) first, then
/// every field in name order, nested as the documents nest.
pub(crate) fn schema(slots: &BTreeMap<String, Slot>, inputs: &[String]) -> Result<Schema, String> {
    let mut fields = vec![Field::new(
        TIMESTAMP,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )];
    for (name, slot) in slots {
        fields.push(field(name, name, slot, inputs)?);
    }
    Ok(Schema::new(fields))
}

fn field(name: &str, path: &str, slot: &Slot, inputs: &[String]) -> Result<Field, String> {
    let scalar = match slot.kind(path, inputs)? {
        Kind::Bool => DataType::Boolean,
        Kind::Int => DataType::Int64,
        Kind::Float => DataType::Float64,
        Kind::Text => DataType::Utf8,
        Kind::Object => {
            let mut children = Vec::with_capacity(slot.children.len());
            for (n, s) in &slot.children {
                children.push(field(n, &join(path, n), s, inputs)?);
            }
            DataType::Struct(Fields::from(children))
        }
    };
    let data_type = if slot.list {
        DataType::List(Arc::new(Field::new("item", scalar, true)))
    } else {
        scalar
    };
    Ok(Field::new(name, data_type, true))
}

/// A normalised document made to fit `slots` (whose kinds [`schema`]
/// checked): single values of list fields wrapped in arrays, scalars of text
/// fields as text.
pub(crate) fn conform(
    slots: &BTreeMap<String, Slot>,
    map: Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in map {
        let Some(slot) = slots.get(&key) else {
            continue;
        };
        let value = if slot.list {
            Value::Array(
                into_items(value)
                    .into_iter()
                    .map(|v| conform_one(slot, v))
                    .collect(),
            )
        } else {
            conform_one(slot, value)
        };
        out.insert(key, value);
    }
    out
}

fn conform_one(slot: &Slot, value: Value) -> Value {
    let text = slot.seen[Kind::Text as usize].is_some();
    match value {
        Value::Number(n) if text => Value::String(n.to_string()),
        Value::Bool(b) if text => Value::String(b.to_string()),
        Value::Object(map) => Value::Object(conform(&slot.children, map)),
        other => other,
    }
}

/// `@timestamp` in microseconds since the epoch, read as Elasticsearch's
/// default date format reads it (`strict_date_optional_time||epoch_millis`):
/// RFC 3339 text, a date-time without zone (UTC), a date, or epoch
/// milliseconds as a number or digits.
pub(crate) fn timestamp_micros(value: Option<&Value>) -> Result<i64, String> {
    let bad =
        |what: String| format!("`@timestamp` {what}: expected RFC 3339 text or epoch milliseconds");
    match value {
        None | Some(Value::Null) => Err("the document has no `@timestamp`".to_owned()),
        Some(Value::Number(n)) => millis_to_micros(n.as_f64(), n.as_i64())
            .ok_or_else(|| bad(format!("{n} is out of range"))),
        Some(Value::String(text)) => {
            parse_time(text).ok_or_else(|| bad(format!("'{text}' is not a date")))
        }
        Some(other) => Err(bad(format!("is {}", super::shape::kind(other)))),
    }
}

fn millis_to_micros(float: Option<f64>, int: Option<i64>) -> Option<i64> {
    match int {
        Some(ms) => ms.checked_mul(1000),
        None => float
            .filter(|f| f.is_finite() && f.abs() < 9.0e15)
            .map(|f| (f * 1000.0).round() as i64),
    }
}

fn parse_time(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let text = text.trim();
    if !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && let Ok(ms) = text.parse::<i64>()
    {
        return ms.checked_mul(1000);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    // RFC 3339 without seconds' fraction rules: `2026-12-01T10:00Z`, a comma.
    for format in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.timestamp_micros());
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(value: Value) -> Value {
        let Value::Object(map) = value else {
            panic!("object expected")
        };
        Value::Object(normalize(map, "").expect("normalize"))
    }

    #[test]
    fn dotted_keys_expand_and_merge_like_elasticsearch() {
        assert_eq!(
            norm(
                json!({"host.name": "a", "host": {"os": {"type": "linux"}}, "host.os.family": "debian"})
            ),
            json!({"host": {"name": "a", "os": {"type": "linux", "family": "debian"}}})
        );
        // The same field given twice is multi-valued.
        assert_eq!(
            norm(json!({"host.name": "a", "host": {"name": "b"}})),
            json!({"host": {"name": ["b", "a"]}})
        );
    }

    #[test]
    fn nulls_empty_values_and_nested_arrays() {
        assert_eq!(
            norm(
                json!({"a": null, "b": {}, "c": [], "d": [[1, [2]], null, 3], "e": {"f": {}}, "g": [null]})
            ),
            json!({"d": [1, 2, 3]})
        );
        let Value::Object(map) = json!({"a..b": 1}) else {
            unreachable!()
        };
        let err = normalize(map, "").expect_err("empty part");
        assert!(err.contains("'a..b'"), "{err}");
    }

    fn infer(docs: &[Value]) -> Result<BTreeMap<String, Slot>, String> {
        let mut slots = BTreeMap::new();
        for (i, d) in docs.iter().enumerate() {
            let Value::Object(map) = norm(d.clone()) else {
                unreachable!()
            };
            observe(
                &mut slots,
                &map,
                "",
                Pos {
                    input: 0,
                    line: i + 1,
                },
                &[],
            )?;
        }
        Ok(slots)
    }

    #[test]
    fn kinds_join_the_same_in_any_order() {
        let docs = [
            json!({"port": 443, "tag": "x", "n": 1, "host": {"ip": "10.0.0.1"}}),
            json!({"port": "https", "tag": ["y", "z"], "n": 1.5, "host": [{"ip": ["10.0.0.2"]}]}),
        ];
        let forward = schema(&infer(&docs).expect("infer"), &[]).expect("schema");
        let mut reversed = docs.clone();
        reversed.reverse();
        assert_eq!(
            forward,
            schema(&infer(&reversed).expect("infer"), &[]).expect("schema")
        );
        let list = |dt| DataType::List(Arc::new(Field::new("item", dt, true)));
        let ip = Field::new("ip", list(DataType::Utf8), true);
        let expected = Schema::new(vec![
            Field::new(
                TIMESTAMP,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("host", list(DataType::Struct(Fields::from(vec![ip]))), true),
            Field::new("n", DataType::Float64, true),
            Field::new("port", DataType::Utf8, true),
            Field::new("tag", list(DataType::Utf8), true),
        ]);
        assert_eq!(forward, expected);
    }

    #[test]
    fn conflicts_name_the_field_and_both_lines() {
        let err = infer(&[
            json!({"a": 1}),
            json!({"host": {"name": "x"}}),
            json!({"host": "x"}),
        ])
        .expect_err("object and text");
        assert_eq!(
            err,
            "field 'host' holds text here but an object on line 2 (a field cannot be both)"
        );
        let err = infer(&[json!({"a": [{"b": 1}]}), json!({"a": [2]})]).expect_err("in a list");
        assert!(
            err.starts_with("field 'a' holds a number here but an object on line 1"),
            "{err}"
        );
        let slots = infer(&[json!({"x": {"up": true}}), json!({"x.up": 1})]).expect("infer");
        assert_eq!(
            schema(&slots, &[]).expect_err("bool and number"),
            "field 'x.up' holds a boolean on line 1 but a number on line 2 (a field cannot be both)"
        );
        // With text anywhere, booleans and numbers are text, in any order.
        for docs in [
            [json!({"v": true}), json!({"v": 1}), json!({"v": "s"})],
            [json!({"v": "s"}), json!({"v": true}), json!({"v": 1})],
        ] {
            let slots = infer(&docs).expect("infer");
            assert_eq!(slots["v"].kind("v", &[]), Ok(Kind::Text));
        }
    }

    #[test]
    fn conform_wraps_single_values_and_renders_text() {
        let slots =
            infer(&[json!({"p": 1, "t": ["a"]}), json!({"p": "x", "t": "b"})]).expect("infer");
        let Value::Object(doc) = norm(json!({"p": 443, "t": "c"})) else {
            unreachable!()
        };
        assert_eq!(
            Value::Object(conform(&slots, doc)),
            json!({"p": "443", "t": ["c"]})
        );
    }

    #[test]
    fn timestamps_as_elasticsearch_reads_them() {
        let at = |v: Value| timestamp_micros(Some(&v));
        let t = 1_764_583_200_000_000; // 2025-12-01T10:00:00Z
        assert_eq!(at(json!("2025-12-01T10:00:00Z")), Ok(t));
        assert_eq!(at(json!("2025-12-01T11:00:00.000001+01:00")), Ok(t + 1));
        assert_eq!(at(json!("2025-12-01T10:00:00")), Ok(t));
        assert_eq!(at(json!("2025-12-01T10:00Z")), Ok(t));
        assert_eq!(at(json!("2025-12-01")), Ok(t - 36_000_000_000));
        assert_eq!(at(json!(1_764_583_200_000_i64)), Ok(t));
        assert_eq!(at(json!("1764583200000")), Ok(t));
        assert!(
            at(json!("yesterday"))
                .expect_err("text")
                .contains("'yesterday'")
        );
        assert!(at(json!([1])).expect_err("array").contains("an array"));
        assert_eq!(
            timestamp_micros(None),
            Err("the document has no `@timestamp`".to_owned())
        );
    }
}
