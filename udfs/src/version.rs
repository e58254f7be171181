//! `version_key(text)`: a version's sort key, as Elasticsearch's `version`
//! type orders versions (its `VersionEncoder`).
//!
//! A valid version is a main part of dot-separated numbers without leading
//! zeros (`1`, `1.2.3`, `1.2.3.4`), then an optional `-pre.release` of
//! dot-separated identifiers, then an optional `+build`. Its key orders as
//! Elasticsearch orders versions:
//! - each number as `0x80 | digits`, then its digits: numbers compare as
//!   numbers (no leading zeros: a longer one is larger);
//! - after the main part, `0x01` where a pre-release follows, else `0x02`:
//!   so `1.2.3-alpha` < `1.2.3` < `1.2.3.0`, and `1.2-x` < `1.2.0`;
//! - each pre-release identifier: a number as above, a word as `0xfe`, its
//!   text and `0x01` (numbers before words, `alpha` < `alpha.1` <
//!   `alphabet`); then `0x00`, so a shorter pre-release sorts first;
//! - the build suffix as written, so `1.2.3+b` sorts after `1.2.3`.
//!
//! Anything else (`bad`, `01.2`) is invalid and sorts after every valid
//! version: `0xff` then its bytes, invalid ones among themselves bytewise.
//! NULL stays NULL.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, BinaryBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{for_each_str, map_columnar};

/// `version_key` (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct VersionKey {
    signature: Signature,
}

/// `version_key`.
#[must_use]
pub fn version_key_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(VersionKey {
            signature: Signature::string(1, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

fn number(part: &str) -> bool {
    !part.is_empty()
        && part.bytes().all(|b| b.is_ascii_digit())
        && (part == "0" || !part.starts_with('0'))
}

fn push_number(key: &mut Vec<u8>, digits: &str) {
    key.push(0x80 | u8::try_from(digits.len()).unwrap_or(0x7d));
    key.extend_from_slice(digits.as_bytes());
}

/// The longest number a key spells (its length byte stays below `0xfe`).
const LONGEST: usize = 0x7d;

/// The sort key of `text` (see the module).
#[must_use]
pub fn key(text: &str) -> Vec<u8> {
    valid_key(text).unwrap_or_else(|| {
        let mut key = vec![0xff];
        key.extend_from_slice(text.as_bytes());
        key
    })
}

fn valid_key(text: &str) -> Option<Vec<u8>> {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) if !build.is_empty() => (rest, Some(build)),
        Some(_) => return None,
        None => (text, None),
    };
    let (main, pre) = match rest.split_once('-') {
        Some((main, pre)) if !pre.is_empty() => (main, Some(pre)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut key = Vec::with_capacity(text.len() + 8);
    for part in main.split('.') {
        if !number(part) || part.len() > LONGEST {
            return None;
        }
        push_number(&mut key, part);
    }
    match pre {
        Some(pre) => {
            key.push(0x01);
            for ident in pre.split('.') {
                if ident.is_empty()
                    || !ident
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return None;
                }
                if number(ident) && ident.len() <= LONGEST {
                    push_number(&mut key, ident);
                } else {
                    key.push(0xfe);
                    key.extend_from_slice(ident.as_bytes());
                    key.push(0x01);
                }
            }
            key.push(0x00);
        }
        None => key.push(0x02),
    }
    if let Some(build) = build {
        key.push(b'+');
        key.extend_from_slice(build.as_bytes());
    }
    Some(key)
}

impl ScalarUDFImpl for VersionKey {
    fn name(&self) -> &'static str {
        "version_key"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_columnar(&args.args[0], |array| {
            let mut out = BinaryBuilder::new();
            for_each_str(array.as_ref(), |s| match s {
                Some(s) => out.append_value(key(s)),
                None => out.append_null(),
            })?;
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn versions_sort_as_elasticsearch_sorts_them() {
        // version.csv-spec's orderByVersion: 1, 1.2.3.4, 1.11.0, 2.1, 2.3.4,
        // 2.12.0, 5.2.9-SNAPSHOT, 5.2.9, bad.
        let order = [
            "1",
            "1.2.3.4",
            "1.11.0",
            "2.1",
            "2.3.4",
            "2.12.0",
            "5.2.9-SNAPSHOT",
            "5.2.9",
            "bad",
        ];
        for pair in order.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert!(key("1.2.3") < key("1.11.4"));
        assert!(key("1.2") < key("1.2.0"));
        assert!(key("1.2-x") < key("1.2.0"));
        assert!(key("1.0.0-alpha") < key("1.0.0-alpha.1"));
        assert!(key("1.0.0-alpha.1") < key("1.0.0-alpha.beta"));
        assert!(key("1.0.0-alpha.1") < key("1.0.0-alphabet"));
        assert!(key("1.0.0-2") < key("1.0.0-11"));
        assert!(key("1.0.0") < key("1.0.0+build"));
        assert!(key("9.9.9") < key("01.2"));
        assert!(key("1.bad") > key("99"));
    }
}
