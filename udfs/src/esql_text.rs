//! Text functions of ES|QL that `DataFusion` has no exact namesake for:
//!
//! - `to_base64(text)`: the UTF-8 bytes in standard, padded base64 (ES|QL's
//!   `TO_BASE64`; `DataFusion`'s `encode(.., 'base64')` leaves the padding out);
//! - `sha1(text)`: the SHA-1 digest of the UTF-8 bytes as lower-case hex (ES|QL's
//!   `SHA1` and `HASH("sha1", ..)`; `DataFusion`'s `digest` has no SHA-1).
//!
//! ```sql
//! SELECT sha1("process.executable"), to_base64("process.name") FROM events;
//! ```

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
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
    fn base64_is_padded() {
        let f = TextFunction::new(Op::ToBase64);
        assert_eq!(f.apply("elastic"), "ZWxhc3RpYw==");
        assert_eq!(f.apply(""), "");
        assert_eq!(f.apply("é"), "w6k=");
    }
}
