//! Text functions of ES|QL that `DataFusion` has no exact namesake for:
//!
//! - `to_base64(text)`: the UTF-8 bytes in standard, padded base64 (ES|QL's
//!   `TO_BASE64`; `DataFusion`'s `encode(.., 'base64')` leaves the padding out);
//! - `sha1(text)`: the SHA-1 digest of the UTF-8 bytes as lower-case hex (ES|QL's
//!   `SHA1` and `HASH("sha1", ..)`; `DataFusion`'s `digest` has no SHA-1);
//! - `java_double_string(x)`: a number as a double in Java's
//!   `Double.toString` spelling (ES|QL's `TO_STRING` of a double: `1.0E20`,
//!   `1.0E-4`, `1.23456789E8`, where SQL's cast writes `1e20`, `0.0001`,
//!   `123456789.0`);
//! - `esql_boolean_list(list)`: ES|QL's `TO_BOOLEAN` of each value of a list:
//!   text is true where it is "true" in any case, a number where it is not
//!   zero.
//!
//! ```sql
//! SELECT sha1("process.executable"), to_base64("process.name") FROM events;
//! ```

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, ListArray, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{for_each_str, is_string_type, map_columnar};

/// The SHA-1 digest of `bytes` (FIPS 180-4), with the standard's names.
#[must_use]
#[allow(clippy::many_single_char_names)]
pub fn sha1(bytes: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut message = bytes.to_vec();
    let bits = (bytes.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, word) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*word);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (state, add) in h.iter_mut().zip([a, b, c, d, e]) {
            *state = state.wrapping_add(add);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// `d` as Java's `Double.toString` writes it (Java 19 and later): the
/// shortest digits that read back as `d`, which Rust's `{:e}` also gives;
/// from 10^-3 up to (not including) 10^7 as a decimal with at least one
/// digit after the point, else as `d.dddE[-]n`.
#[must_use]
pub fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if d.is_sign_negative() { "-" } else { "" };
    if d == 0.0 {
        return format!("{sign}0.0");
    }
    let mut sci = format!("{:e}", d.abs());
    if !sci.contains('.') {
        // One digit would do; Java writes at least two, the pair closest to
        // `d` (4.9E-324 for the smallest double, where `{:e}` says 5e-324).
        sci = format!("{:.1e}", d.abs());
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0",
        kept => kept,
    };
    if (-3..7).contains(&exp) {
        if exp >= 0 {
            let whole = exp.unsigned_abs() as usize + 1;
            if digits.len() > whole {
                format!("{sign}{}.{}", &digits[..whole], &digits[whole..])
            } else {
                format!("{sign}{digits}{}.0", "0".repeat(whole - digits.len()))
            }
        } else {
            let zeros = "0".repeat(exp.unsigned_abs() as usize - 1);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// `java_double_string(x)` (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JavaDoubleString {
    signature: Signature,
}

/// The `java_double_string` function.
#[must_use]
pub fn java_double_string_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(JavaDoubleString {
            signature: Signature::any(1, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for JavaDoubleString {
    fn name(&self) -> &'static str {
        "java_double_string"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] if t.is_numeric() || t == &DataType::Null => Ok(DataType::Utf8),
            [t] => plan_err!("java_double_string: argument 1 must be a number, got {t}"),
            _ => plan_err!("java_double_string takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [x] = args.args.as_slice() else {
            return exec_err!("java_double_string takes one argument");
        };
        map_columnar(x, |array| {
            let doubles = cast(array, &DataType::Float64)?;
            let out: StringArray = doubles
                .as_primitive::<Float64Type>()
                .iter()
                .map(|d| d.map(java_double))
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// `esql_boolean_list(list)` (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BooleanList {
    signature: Signature,
}

/// The `esql_boolean_list` function.
#[must_use]
pub fn boolean_list_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::new_from_impl(BooleanList {
            signature: Signature::any(1, Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for BooleanList {
    fn name(&self) -> &'static str {
        "esql_boolean_list"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [DataType::List(item)]
                if is_string_type(item.data_type()) || item.data_type().is_numeric() =>
            {
                Ok(DataType::new_list(DataType::Boolean, true))
            }
            [t] => plan_err!("esql_boolean_list: expected a list of text or numbers, got {t}"),
            _ => plan_err!("esql_boolean_list takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [list] = args.args.as_slice() else {
            return exec_err!("esql_boolean_list takes one argument");
        };
        map_columnar(list, |array| {
            let list = array.as_list::<i32>();
            let values = list.values();
            let booleans: ArrayRef = if is_string_type(values.data_type()) {
                let mut out = BooleanBuilder::with_capacity(values.len());
                for_each_str(values.as_ref(), |v| {
                    out.append_option(v.map(|v| v.eq_ignore_ascii_case("true")));
                })?;
                Arc::new(out.finish())
            } else {
                // Any number but zero is true (Arrow's cast says the same).
                cast(values, &DataType::Boolean)?
            };
            let field = Arc::new(Field::new_list_field(DataType::Boolean, true));
            Ok(Arc::new(ListArray::try_new(
                field,
                list.offsets().clone(),
                booleans,
                list.nulls().cloned(),
            )?) as ArrayRef)
        })
    }
}

/// Which text function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    ToBase64,
    Sha1,
}

/// `to_base64` or `sha1` (see the module).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TextFunction {
    op: Op,
    signature: Signature,
}

impl TextFunction {
    fn new(op: Op) -> TextFunction {
        TextFunction {
            op,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn apply(self: &TextFunction, text: &str) -> String {
        match self.op {
            Op::ToBase64 => base64::engine::general_purpose::STANDARD.encode(text),
            Op::Sha1 => {
                sha1(text.as_bytes())
                    .iter()
                    .fold(String::with_capacity(40), |mut hex, b| {
                        let _ = write!(hex, "{b:02x}");
                        hex
                    })
            }
        }
    }
}

/// The `to_base64` function.
#[must_use]
pub fn to_base64_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(TextFunction::new(Op::ToBase64))));
    Arc::clone(&UDF)
}

/// The `sha1` function.
#[must_use]
pub fn sha1_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(TextFunction::new(Op::Sha1))));
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for TextFunction {
    fn name(&self) -> &'static str {
        match self.op {
            Op::ToBase64 => "to_base64",
            Op::Sha1 => "sha1",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] if is_string_type(t) || t == &DataType::Null => Ok(DataType::Utf8),
            [t] => plan_err!("{}: argument 1 must be a string, got {t}", self.name()),
            _ => plan_err!("{} takes one argument", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [text] = args.args.as_slice() else {
            return exec_err!("{} takes one argument", self.name());
        };
        map_columnar(text, |array| {
            let mut out = StringBuilder::new();
            if array.data_type() == &DataType::Null {
                (0..array.len()).for_each(|_| out.append_null());
            } else {
                for_each_str(array.as_ref(), |row| match row {
                    Some(text) => out.append_value(self.apply(text)),
                    None => out.append_null(),
                })?;
            }
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }

    #[test]
    fn sha1_matches_the_standard_vectors() {
        // FIPS 180 / RFC 3174 test vectors, and one past a block boundary.
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&sha1(&vec![b'a'; 1_000_000])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn doubles_are_spelled_as_java_spells_them() {
        // Each expected string is what the JDK's Double.toString returns by
        // its javadoc's rules: decimal from 10^-3 up to 10^7, else
        // computerized scientific notation; at least two digits.
        for (d, java) in [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (100.0, "100.0"),
            (2.5e-3, "0.0025"),
            (1.0e-5, "1.0E-5"),
            (123.456, "123.456"),
            (1_000_000.0, "1000000.0"),
            (9_999_999.0, "9999999.0"),
            (10_000_000.0, "1.0E7"),
            (123_456_789.0, "1.23456789E8"),
            (1e20, "1.0E20"),
            (f64::MAX, "1.7976931348623157E308"),
            (4.9e-324, "4.9E-324"),
            // Two digits where one would do, the pair closest to the value
            // (Java 19's rule; Java 17 wrote 1.0E-323 here).
            (f64::from_bits(2), "9.9E-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::from(0.1f32), "0.10000000149011612"),
        ] {
            assert_eq!(java_double(d), java, "{d:e}");
        }
    }

    #[test]
    fn base64_is_padded() {
        let f = TextFunction::new(Op::ToBase64);
        assert_eq!(f.apply("elastic"), "ZWxhc3RpYw==");
        assert_eq!(f.apply(""), "");
        assert_eq!(f.apply("é"), "w6k=");
    }
}
