//! `from_base64(text)`: base64 text decoded to UTF-8 text, as ES|QL's
//! `FROM_BASE64`.
//!
//! The standard alphabet (RFC 4648), as Java's `Base64.getDecoder` reads it:
//! padding may be left out, but padding present must be right; white space
//! and the URL-safe alphabet are not base64. Text that is not base64, or whose
//! bytes are not UTF-8, is NULL.
//!
//! ```sql
//! SELECT from_base64("process.command_line") FROM events;
//! ```

use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{for_each_str, is_string_type, map_columnar};

/// The `from_base64` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FromBase64 {
    signature: Signature,
}

impl Default for FromBase64 {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// The singleton `from_base64` function.
#[must_use]
pub fn from_base64_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(FromBase64::default())));
    Arc::clone(&UDF)
}

/// One text's decoding, if it is base64 of UTF-8.
#[must_use]
pub fn decode(text: &str) -> Option<String> {
    // Java neither needs the padding nor checks the unused bits of the last
    // character; padding it does find must be complete.
    const fn engine(padding: DecodePaddingMode) -> GeneralPurpose {
        GeneralPurpose::new(
            &STANDARD,
            GeneralPurposeConfig::new()
                .with_decode_padding_mode(padding)
                .with_decode_allow_trailing_bits(true),
        )
    }
    const PADDED: GeneralPurpose = engine(DecodePaddingMode::RequireCanonical);
    const UNPADDED: GeneralPurpose = engine(DecodePaddingMode::RequireNone);
    let bytes = if text.ends_with('=') {
        PADDED.decode(text)
    } else {
        UNPADDED.decode(text)
    }
    .ok()?;
    String::from_utf8(bytes).ok()
}

fn decode_array(array: &ArrayRef) -> Result<ArrayRef> {
    let mut out = StringBuilder::new();
    for_each_str(array.as_ref(), |row| match row.and_then(decode) {
        Some(text) => out.append_value(text),
        None => out.append_null(),
    })?;
    Ok(Arc::new(out.finish()))
}

impl ScalarUDFImpl for FromBase64 {
    fn name(&self) -> &'static str {
        "from_base64"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] if is_string_type(t) || t == &DataType::Null => Ok(DataType::Utf8),
            [t] => plan_err!("from_base64: argument 1 must be a string, got {t}"),
            _ => plan_err!("from_base64 takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [text] = args.args.as_slice() else {
            return exec_err!("from_base64 takes one argument");
        };
        map_columnar(text, |array| {
            if array.data_type() == &DataType::Null {
                let mut out = StringBuilder::new();
                (0..array.len()).for_each(|_| out.append_null());
                return Ok(Arc::new(out.finish()) as ArrayRef);
            }
            decode_array(array)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_standard_base64_and_rejects_the_rest() {
        assert_eq!(decode("ZWxhc3RpYw==").as_deref(), Some("elastic"));
        assert_eq!(decode("").as_deref(), Some(""));
        assert_eq!(decode("not base64!"), None);
        // As java.util.Base64.getDecoder(): padding optional, but not wrong.
        assert_eq!(decode("ZWxhc3RpYw").as_deref(), Some("elastic"));
        assert_eq!(decode("ZWxhc3RpYw=").as_deref(), None);
        assert_eq!(decode("ZWxhc3RpYx==").as_deref(), Some("elastic"));
        assert_eq!(decode("ZWxhc3RpYw==\n"), None);
        assert_eq!(decode("Z"), None);
        assert_eq!(decode("_w=="), None);
        // Valid base64 of bytes that are not UTF-8.
        assert_eq!(decode("/w=="), None);
    }
}
