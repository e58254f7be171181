//! Field resolution: a logical ECS name (`destination.ip`) -> an expression
//! over what a schema group's files hold.
//!
//! A leaf is a flat column (`"destination.ip"`), a struct field
//! (`get_field(destination, 'ip')`), or, through a field map ([`field_map`],
//! OCSF as data), an expression over another schema's columns. Where groups
//! give one field different types, [`unify`] names the type all widen to and
//! `convert` reads each group's version as it.

pub mod field_map;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{Expr, cast, ident, lit, when};

pub use field_map::FieldMap;

use crate::error::{Error, Result};

/// One leaf column of a group: its dotted name, type, and how to read it.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// Dotted ECS name (`destination.ip`).
    pub name: String,
    /// Type in this group's files.
    pub data_type: DataType,
    /// Expression over the group's raw table.
    pub(crate) expr: Expr,
}

/// The leaf columns of one schema: struct fields become `parent.child`. A leaf
/// that is both a flat column and a struct field is an error naming `file`.
pub(crate) fn leaves(schema: &Schema, file: &Path) -> Result<Vec<Leaf>> {
    fn walk(
        parent: Option<&Expr>,
        prefix: &str,
        fields: &Fields,
        out: &mut Vec<Leaf>,
        names: &mut HashSet<String>,
        file: &Path,
    ) -> Result<()> {
        for field in fields {
            let name = if prefix.is_empty() {
                field.name().clone()
            } else {
                format!("{prefix}.{}", field.name())
            };
            let expr = match parent {
                None => ident(field.name()),
                Some(p) => get_field(p.clone(), field.name().as_str()),
            };
            if let DataType::Struct(children) = field.data_type() {
                walk(Some(&expr), &name, children, out, names, file)?;
            } else {
                if !names.insert(name.clone()) {
                    return Err(Error::DuplicateField {
                        field: name,
                        path: file.to_owned(),
                    });
                }
                out.push(Leaf {
                    name,
                    data_type: field.data_type().clone(),
                    expr,
                });
            }
        }
        Ok(())
    }
    let mut out = vec![];
    walk(
        None,
        "",
        schema.fields(),
        &mut out,
        &mut HashSet::new(),
        file,
    )?;
    Ok(out)
}

fn is_string_like(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_string_like(value),
        _ => false,
    }
}

fn is_binary_ip(t: &DataType) -> bool {
    match t {
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(4 | 16) => true,
        DataType::Dictionary(_, value) => is_binary_ip(value),
        _ => false,
    }
}

fn list_item(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => Some(f.data_type()),
        _ => None,
    }
}

/// An ECS IP field: `source.ip`, `destination.ip`, `related.ip`, ...
fn is_ip_field(name: &str) -> bool {
    name.rsplit('.').next() == Some("ip")
}

/// The type two files' versions of field `name` both widen to, if any.
///
/// - equal types stay;
/// - integers of any width: Int64; integers and floats: Float64;
/// - timestamps: the finer unit, UTC when either has a zone (ECS times are UTC);
/// - strings of any layout (dictionary too): Utf8View (how files are read,
///   see [`crate::source::with_string_views`]);
/// - an IP field (`*.ip`) stored as text in some files and as 4/16 bytes in
///   others: Utf8View, the bytes shown as text ([`ip_to_string`](lakehunt_udfs::ip_to_string));
/// - a value in some files and a list in others (`event.category`): a list of
///   the unified item type, the lone value becoming a one-item list.
#[must_use]
pub fn unify(name: &str, a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType as T;
    if a == b {
        return Some(a.clone());
    }
    let int = |t: &T| t.is_integer();
    let num = |t: &T| t.is_integer() || t.is_floating();
    Some(match (a, b) {
        (T::Null, other) | (other, T::Null) => other.clone(),
        _ if int(a) && int(b) => T::Int64,
        _ if num(a) && num(b) => T::Float64,
        (T::Timestamp(ua, za), T::Timestamp(ub, zb)) => {
            let finer = |u: &TimeUnit| match u {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 2,
                TimeUnit::Nanosecond => 3,
            };
            let unit = if finer(ua) >= finer(ub) { ua } else { ub };
            let zone = (za.is_some() || zb.is_some()).then(|| Arc::from("UTC"));
            T::Timestamp(*unit, zone)
        }
        _ if is_string_like(a) && is_string_like(b) => T::Utf8View,
        _ if is_ip_field(name)
            && (is_string_like(a) || is_binary_ip(a))
            && (is_string_like(b) || is_binary_ip(b)) =>
        {
            T::Utf8View
        }
        _ => match (list_item(a), list_item(b)) {
            (Some(x), Some(y)) => list_of(unify(name, x, y)?),
            (Some(x), None) => list_of(unify(name, x, b)?),
            (None, Some(y)) => list_of(unify(name, a, y)?),
            (None, None) => return None,
        },
    })
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// `expr` (of type `from`) as canonical type `to`.
pub(crate) fn convert(
    expr: Expr,
    from: &DataType,
    to: &DataType,
    ip_to_string: &Arc<ScalarUDF>,
) -> Expr {
    if from == to {
        return expr;
    }
    if let Some(item) = list_item(to).filter(|_| list_item(from).is_none()) {
        // One value: a one-item list (NULL stays NULL, not a list holding NULL).
        let item = convert(expr.clone(), from, item, ip_to_string);
        let list = datafusion::functions_nested::expr_fn::make_array(vec![item]);
        return when(expr.is_null(), cast(lit(ScalarValue::Null), to.clone()))
            .otherwise(cast(list, to.clone()))
            .unwrap_or_else(|_| cast(lit(ScalarValue::Null), to.clone()));
    }
    if is_string_like(to) && is_binary_ip(from) {
        return cast(ip_to_string.call(vec![expr]), to.clone());
    }
    cast(expr, to.clone())
}
