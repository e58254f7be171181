//! The shapes Elasticsearch exports come in, unwrapped to documents.
//!
//! - `_search` responses: `{"hits": {"hits": [{"_index", "_id", "_source"}, ...]}}`
//! - elasticdump lines: `{"_index", "_id", "_source"}`, one a line
//! - `_bulk` bodies: an action line (`{"index": {"_index", "_id"}}`) and, but
//!   for `delete`, a source line (for `update`, the source is its `doc`)
//! - bare `_source` documents
//! - a JSON array of any of these

use serde_json::{Map, Value};

/// One document and its Elasticsearch metadata.
pub(crate) struct Doc {
    pub(crate) source: Map<String, Value>,
    pub(crate) index: Option<String>,
    pub(crate) id: Option<String>,
    /// Its place in `hits.hits`, from 1, when it came from a `_search` response.
    pub(crate) hit: Option<usize>,
}

/// A `_bulk` action waiting for its source line.
struct Pending {
    action: String,
    index: Option<String>,
    id: Option<String>,
    line: usize,
}

/// Turns top-level values into documents, remembering a `_bulk` action
/// across lines.
#[derive(Default)]
pub(crate) struct Unwrapper {
    pending: Option<Pending>,
}

impl Unwrapper {
    /// The documents in `value` (found on `line`), appended to `docs`.
    pub(crate) fn unwrap(
        &mut self,
        value: Value,
        line: usize,
        docs: &mut Vec<Doc>,
    ) -> Result<(), String> {
        if let Some(pending) = self.pending.take() {
            let Value::Object(mut body) = value else {
                return Err(format!(
                    "the `_bulk` {} action on line {} is followed by {}, not a document",
                    pending.action,
                    pending.line,
                    kind(&value)
                ));
            };
            let source = if pending.action == "update" {
                match body.remove("doc").or_else(|| body.remove("upsert")) {
                    Some(Value::Object(doc)) => doc,
                    _ => {
                        return Err(format!(
                            "the `_bulk` update on line {} has no `doc` to ingest (updates by script cannot be replayed)",
                            pending.line
                        ));
                    }
                }
            } else {
                body
            };
            docs.push(Doc {
                source,
                index: pending.index,
                id: pending.id,
                hit: None,
            });
            return Ok(());
        }
        match value {
            Value::Array(items) => {
                for item in items {
                    self.unwrap(item, line, docs)?;
                }
                Ok(())
            }
            Value::Object(map) => self.unwrap_object(map, line, docs),
            other => Err(format!("expected a JSON object, found {}", kind(&other))),
        }
    }

    fn unwrap_object(
        &mut self,
        mut map: Map<String, Value>,
        line: usize,
        docs: &mut Vec<Doc>,
    ) -> Result<(), String> {
        // A `_search` response.
        if let Some(Value::Object(hits)) = map.get_mut("hits")
            && let Some(Value::Array(hits)) = hits.get_mut("hits")
        {
            for (n, hit) in std::mem::take(hits).into_iter().enumerate() {
                let at = |m: String| format!("hit {}: {m}", n + 1);
                let Value::Object(hit) = hit else {
                    return Err(at(format!("{}, not an object", kind(&hit))));
                };
                let mut doc = hit_doc(hit).map_err(at)?;
                doc.hit = Some(n + 1);
                docs.push(doc);
            }
            return Ok(());
        }
        // An elasticdump line (or one hit on its own).
        if map.contains_key("_source") {
            docs.push(hit_doc(map)?);
            return Ok(());
        }
        // A `_bulk` action line.
        if map.len() == 1
            && let Some((action, Value::Object(meta))) = map.iter().next()
            && matches!(action.as_str(), "index" | "create" | "update" | "delete")
        {
            let (index, id) = (text(meta.get("_index")), text(meta.get("_id")));
            if action != "delete" {
                self.pending = Some(Pending {
                    action: action.clone(),
                    index,
                    id,
                    line,
                });
            }
            return Ok(());
        }
        docs.push(Doc {
            source: map,
            index: None,
            id: None,
            hit: None,
        });
        Ok(())
    }

    /// Fails if the input ended after a `_bulk` action with no source line.
    pub(crate) fn finish(&self) -> Result<(), (usize, String)> {
        match &self.pending {
            Some(p) => Err((
                p.line,
                format!(
                    "the `_bulk` {} action has no source line after it",
                    p.action
                ),
            )),
            None => Ok(()),
        }
    }
}

fn hit_doc(mut hit: Map<String, Value>) -> Result<Doc, String> {
    let (index, id) = (text(hit.get("_index")), text(hit.get("_id")));
    match hit.remove("_source") {
        Some(Value::Object(source)) => Ok(Doc {
            source,
            index,
            id,
            hit: None,
        }),
        Some(other) => Err(format!("`_source` is {}, not an object", kind(&other))),
        None if hit.contains_key("fields") => Err(
            "a hit has `fields` but no `_source`: export with `_source` (the fields API flattens values into arrays)"
                .to_owned(),
        ),
        None => Err("a hit has no `_source` (was `_source` disabled in the search?)".to_owned()),
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// "an array", "text", ...: a JSON value's kind for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A document as (source, `_index`, `_id`).
    type Seen = (Value, Option<String>, Option<String>);

    fn docs(values: &[Value]) -> Result<Vec<Seen>, String> {
        let mut unwrapper = Unwrapper::default();
        let mut docs = vec![];
        for (line, v) in values.iter().enumerate() {
            unwrapper.unwrap(v.clone(), line + 1, &mut docs)?;
        }
        unwrapper.finish().map_err(|(_, m)| m)?;
        Ok(docs
            .into_iter()
            .map(|d| (Value::Object(d.source), d.index, d.id))
            .collect())
    }

    #[test]
    fn every_export_shape_gives_its_documents() {
        let a = json!({"host": {"name": "a"}});
        let b = json!({"host.name": "b"});
        let some = |s: &str| Some(s.to_owned());
        // _search response
        let search = json!({"took": 3, "hits": {"total": {"value": 2}, "hits": [
            {"_index": "logs", "_id": "1", "_source": a},
            {"_index": "logs", "_id": 2, "_source": b}]}});
        let got = docs(&[search]).expect("search");
        assert_eq!(
            got,
            vec![
                (a.clone(), some("logs"), some("1")),
                (b.clone(), some("logs"), some("2"))
            ]
        );
        // elasticdump lines
        let dump = json!({"_index": "logs", "_type": "_doc", "_id": "x", "_source": a});
        assert_eq!(
            docs(&[dump]).expect("dump"),
            vec![(a.clone(), some("logs"), some("x"))]
        );
        // _bulk: index, delete (no source), update with doc, create
        let bulk = [
            json!({"index": {"_index": "logs", "_id": "1"}}),
            a.clone(),
            json!({"delete": {"_index": "logs", "_id": "9"}}),
            json!({"update": {"_id": "2"}}),
            json!({"doc": b}),
            json!({"create": {}}),
            a.clone(),
        ];
        assert_eq!(
            docs(&bulk).expect("bulk"),
            vec![
                (a.clone(), some("logs"), some("1")),
                (b.clone(), None, some("2")),
                (a.clone(), None, None)
            ]
        );
        // bare sources, and an array of them
        assert_eq!(
            docs(&[json!([a, b])]).expect("bare").len(),
            2,
            "an array is its elements"
        );
    }

    #[test]
    fn shapes_that_cannot_be_documents_say_why() {
        let err = docs(&[json!({"index": {"_id": "1"}})]).expect_err("dangling action");
        assert!(err.contains("no source line"), "{err}");
        let err = docs(&[json!({"hits": {"hits": [{"_id": "1", "fields": {"a": [1]}}]}})])
            .expect_err("fields API");
        assert!(err.contains("fields"), "{err}");
        let err = docs(&[json!(42)]).expect_err("scalar");
        assert_eq!(err, "expected a JSON object, found a number");
        let err = docs(&[json!({"update": {}}), json!({"script": "x"})]).expect_err("script");
        assert!(err.contains("script"), "{err}");
    }
}
