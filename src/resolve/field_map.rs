//! Field maps: ECS fields computed from another schema's columns, as data.
//!
//! A map (`data/maps/*.toml`, embedded in the binary) says how to read a non-ECS
//! schema, OCSF as Amazon Security Lake writes it, as ECS: for each ECS field, the
//! columns it comes from (the first present, row by row), an optional epoch unit,
//! an optional translation of enum ids to ECS keywords, and what the translation
//! loses. Hunts stay written against ECS names and run unchanged.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::prelude::{Expr, cast, lit, when};
use serde::Deserialize;

use super::{Leaf, unify};
use crate::error::{Error, Result};

/// A field map, as its TOML file holds it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    /// What the map reads.
    pub map: MapHeader,
    /// One entry per ECS field it provides.
    #[serde(rename = "field")]
    pub fields: Vec<MappedField>,
}

/// The `[map]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapHeader {
    /// Short name (`ocsf`), as `--schema` takes it.
    pub id: String,
    /// What the map reads, in words.
    pub title: String,
    /// The OCSF version the map is written for; written into output metadata.
    pub ocsf_version: String,
    /// A schema holding every one of these columns is read through the map.
    pub detect: Vec<String>,
}

/// One ECS field and where it comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedField {
    /// The ECS field name.
    pub ecs: String,
    /// Columns it is read from, the first present (and non-NULL) winning.
    pub sources: Vec<SourceColumn>,
    /// Enum id (as text) -> ECS keyword; ids not listed give NULL.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// An id whose keyword is read from another column (OCSF's 99, "Other").
    #[serde(default)]
    pub other: Option<OtherValue>,
    /// What the translation cannot preserve.
    #[serde(default)]
    pub lossy: Option<String>,
}

/// A column a field may come from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceColumn {
    /// Dotted column name in the mapped schema.
    pub column: String,
    /// `s`, `ms`, `us` or `ns`: an integer of epoch time in that unit.
    #[serde(default)]
    pub epoch: Option<String>,
}

/// An enum id whose keyword is another column's text.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherValue {
    /// The id (as text).
    pub id: String,
    /// The column holding the keyword.
    pub column: String,
}

mod shipped {
    include!(concat!(env!("OUT_DIR"), "/shipped_maps.rs"));
}

fn epoch_unit(text: &str) -> Option<TimeUnit> {
    Some(match text {
        "s" => TimeUnit::Second,
        "ms" => TimeUnit::Millisecond,
        "us" => TimeUnit::Microsecond,
        "ns" => TimeUnit::Nanosecond,
        _ => return None,
    })
}

fn parse_id(map: &str, field: &str, id: &str) -> Result<i64> {
    id.parse().map_err(|_| Error::InvalidMap {
        map: map.to_owned(),
        message: format!("field {field}: '{id}' is not an integer id"),
    })
}

impl FieldMap {
    /// Parses and checks a map file's text; `name` is its file name, for errors.
    pub fn parse(name: &str, text: &str) -> Result<FieldMap> {
        let map: FieldMap = toml::from_str(text).map_err(|e| Error::InvalidMap {
            map: name.to_owned(),
            message: e.to_string(),
        })?;
        for f in &map.fields {
            let bad = |message: String| Error::InvalidMap {
                map: name.to_owned(),
                message: format!("field {}: {message}", f.ecs),
            };
            if f.sources.is_empty() {
                return Err(bad("no sources".into()));
            }
            for s in &f.sources {
                if let Some(unit) = s.epoch.as_deref().filter(|u| epoch_unit(u).is_none()) {
                    return Err(bad(format!("epoch '{unit}' is not s, ms, us or ns")));
                }
            }
            for id in f.values.keys().chain(f.other.iter().map(|o| &o.id)) {
                parse_id(name, &f.ecs, id)?;
            }
        }
        Ok(map)
    }

    /// Every shipped map.
    pub fn shipped() -> Result<Vec<FieldMap>> {
        shipped::MAPS
            .iter()
            .map(|(name, text)| FieldMap::parse(name, text))
            .collect()
    }

    /// The shipped map with this id.
    pub fn find(id: &str) -> Result<FieldMap> {
        FieldMap::shipped()?
            .into_iter()
            .find(|m| m.map.id == id)
            .ok_or_else(|| Error::InvalidMap {
                map: id.to_owned(),
                message: "no such map is shipped".into(),
            })
    }

    /// True when a schema with these leaves has every `detect` column.
    #[must_use]
    pub fn detects(&self, leaves: &[Leaf]) -> bool {
        self.map
            .detect
            .iter()
            .all(|c| leaves.iter().any(|l| &l.name == c))
    }

    /// The mapped field for an ECS name.
    #[must_use]
    pub fn field(&self, ecs: &str) -> Option<&MappedField> {
        self.fields.iter().find(|f| f.ecs == ecs)
    }

    /// The leaves of a schema read through the map: every mapped ECS field with
    /// at least one source present, then the schema's own leaves that no ECS
    /// field shadows.
    pub fn apply(&self, raw: &[Leaf]) -> Result<Vec<Leaf>> {
        let find = |name: &str| raw.iter().find(|l| l.name == name);
        let mut out = vec![];
        for f in &self.fields {
            let mut present = vec![];
            for s in &f.sources {
                let Some(leaf) = find(&s.column) else {
                    continue;
                };
                let (expr, data_type) = match s.epoch.as_deref().and_then(epoch_unit) {
                    Some(unit) => {
                        let t = DataType::Timestamp(unit, Some("UTC".into()));
                        // Integers only: an epoch given as text is not guessed at.
                        if !leaf.data_type.is_integer() {
                            return Err(Error::InvalidMap {
                                map: self.map.id.clone(),
                                message: format!(
                                    "column {} is {}, expected integer epoch {}",
                                    s.column,
                                    leaf.data_type,
                                    s.epoch.as_deref().unwrap_or_default()
                                ),
                            });
                        }
                        (cast(cast(leaf.expr.clone(), DataType::Int64), t.clone()), t)
                    }
                    None => (leaf.expr.clone(), leaf.data_type.clone()),
                };
                present.push((expr, data_type));
            }
            let Some(first_type) = present.first().map(|(_, t)| t.clone()) else {
                continue;
            };
            let (expr, data_type) = if f.values.is_empty() {
                let mut unified = first_type;
                for (_, t) in &present[1..] {
                    unified = unify(&f.ecs, &unified, t).ok_or_else(|| Error::InvalidMap {
                        map: self.map.id.clone(),
                        message: format!("the sources of {} have types {unified} and {t}", f.ecs),
                    })?;
                }
                let exprs: Vec<Expr> = present
                    .into_iter()
                    .map(|(e, _)| cast(e, unified.clone()))
                    .collect();
                let expr = match <[Expr; 1]>::try_from(exprs) {
                    Ok([one]) => one,
                    Err(many) => coalesce(many),
                };
                (expr, unified)
            } else {
                let id = cast(
                    coalesce(present.into_iter().map(|(e, _)| e).collect()),
                    DataType::Int64,
                );
                let mut cases = f.values.iter();
                let none = lit(ScalarValue::Utf8(None));
                let Some((first_id, first_value)) = cases.next() else {
                    continue;
                };
                let mut case = when(
                    id.clone()
                        .eq(lit(parse_id(&self.map.id, &f.ecs, first_id)?)),
                    lit(first_value.as_str()),
                );
                for (k, v) in cases {
                    case = case.when(
                        id.clone().eq(lit(parse_id(&self.map.id, &f.ecs, k)?)),
                        lit(v.as_str()),
                    );
                }
                if let Some(other) = &f.other
                    && let Some(column) = find(&other.column)
                {
                    case = case.when(
                        id.clone()
                            .eq(lit(parse_id(&self.map.id, &f.ecs, &other.id)?)),
                        cast(column.expr.clone(), DataType::Utf8),
                    );
                }
                (case.otherwise(none)?, DataType::Utf8)
            };
            out.push(Leaf {
                name: f.ecs.clone(),
                data_type,
                expr,
            });
        }
        for leaf in raw {
            if !out.iter().any(|l| l.name == leaf.name) {
                out.push(leaf.clone());
            }
        }
        Ok(out)
    }

    /// `(ECS field, what is lost)` for each of `fields` the map translates lossily.
    pub fn lossy<'a>(
        &'a self,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Vec<(&'a str, &'a str)> {
        fields
            .into_iter()
            .filter_map(|name| {
                let f = self.field(name)?;
                Some((f.ecs.as_str(), f.lossy.as_deref()?))
            })
            .collect()
    }

    /// How the map reads each of `fields`, one line each, for `hunts show`.
    #[must_use]
    pub fn describe<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        fields
            .into_iter()
            .map(|name| match self.field(name) {
                None => format!("{name}: not mapped (absent on this data)"),
                Some(f) => {
                    let sources: Vec<String> = f
                        .sources
                        .iter()
                        .map(|s| match &s.epoch {
                            Some(unit) => format!("{} (epoch {unit})", s.column),
                            None => s.column.clone(),
                        })
                        .collect();
                    let mut line = format!("{name} <- {}", sources.join(", else "));
                    if !f.values.is_empty() {
                        let mut values: Vec<String> =
                            f.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                        if let Some(other) = &f.other {
                            values.push(format!("{} = the text of {}", other.id, other.column));
                        }
                        let _ = write!(line, " ({})", values.join(", "));
                    }
                    if let Some(lossy) = &f.lossy {
                        let _ = write!(line, "\n    lossy: {lossy}");
                    }
                    line
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_maps_parse_and_the_ocsf_map_covers_the_egress_hunt() {
        let ocsf = FieldMap::find("ocsf").unwrap();
        assert_eq!(ocsf.map.ocsf_version, "1.1.0");
        let hunt = crate::hunt::find("egress-bytes").unwrap();
        for field in hunt.lakehunt.fields.keys() {
            assert!(ocsf.field(field).is_some(), "{field} is mapped");
        }
        let lossy = ocsf.lossy(["event.action", "destination.ip"]);
        assert_eq!(lossy.len(), 1);
        assert!(lossy[0].1.contains("Close"));
    }

    #[test]
    fn bad_maps_are_named_errors() {
        for (text, needle) in [
            ("[map]\nid = 'x'\n", "missing field"),
            (
                "[map]\nid='x'\ntitle='t'\nocsf_version='1'\ndetect=[]\n[[field]]\necs='a'\nsources=[]\n",
                "no sources",
            ),
            (
                "[map]\nid='x'\ntitle='t'\nocsf_version='1'\ndetect=[]\n[[field]]\necs='a'\nsources=[{column='b', epoch='days'}]\n",
                "epoch 'days'",
            ),
            (
                "[map]\nid='x'\ntitle='t'\nocsf_version='1'\ndetect=[]\n[[field]]\necs='a'\nsources=[{column='b'}]\nvalues={ one = 'x' }\n",
                "'one' is not an integer id",
            ),
        ] {
            let err = FieldMap::parse("bad.toml", text).unwrap_err().to_string();
            assert!(err.contains("bad.toml") && err.contains(needle), "{err}");
        }
    }
}
