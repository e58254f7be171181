//! Top-level JSON values out of a byte stream, each with the line it starts on.
//!
//! Exports come as one document a line (NDJSON), as `_bulk` pairs, or as a
//! pretty-printed `_search` response over many lines. A small scanner that
//! tracks strings and bracket depth cuts the stream into whole values without
//! parsing them, so any of these shapes streams in bounded memory and every
//! error can name the line its value starts on.

use std::io::{self, BufRead};

/// Cuts a reader into top-level JSON values.
pub(crate) struct Values<R> {
    reader: R,
    /// Lines read so far (the next byte is on line `line + 1`).
    line: usize,
    value: Vec<u8>,
    /// Bytes of a leading byte-order mark seen (`BOM.len()` once past it).
    bom: usize,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One value: its text and the line (from 1) it starts on.
pub(crate) struct Value<'a> {
    pub(crate) line: usize,
    pub(crate) text: &'a [u8],
}

impl<R: BufRead> Values<R> {
    pub(crate) fn new(reader: R) -> Self {
        Values {
            reader,
            line: 0,
            value: Vec::new(),
            bom: 0,
        }
    }

    /// The next value, `None` at the end. A value cut off by the end of the
    /// input is returned as it is: parsing it then fails with a clear error.
    /// A top-level scalar runs to the end of its line.
    pub(crate) fn next_value(&mut self) -> io::Result<Option<Value<'_>>> {
        self.value.clear();
        // Skip whitespace (and a byte-order mark at the very start).
        let start_line = loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let mut skip = 0;
            while skip < buf.len() {
                let b = buf[skip];
                // A byte-order mark at the very start, however the reads cut it.
                if self.bom < BOM.len() && b == BOM[self.bom] {
                    self.bom += 1;
                } else if b.is_ascii_whitespace() {
                    self.bom = BOM.len();
                    if b == b'\n' {
                        self.line += 1;
                    }
                } else {
                    self.bom = BOM.len();
                    break;
                }
                skip += 1;
            }
            let found = skip < buf.len();
            self.reader.consume(skip);
            if found {
                break self.line + 1;
            }
        };
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut scalar = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                used += 1;
                if b == b'\n' {
                    self.line += 1;
                }
                if self.value.is_empty() && !matches!(b, b'{' | b'[') {
                    scalar = true;
                }
                if scalar {
                    if b == b'\n' {
                        done = true;
                        break;
                    }
                    self.value.push(b);
                    continue;
                }
                self.value.push(b);
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            self.reader.consume(used);
            if done {
                break;
            }
        }
        Ok(Some(Value {
            line: start_line,
            text: &self.value,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> Vec<(usize, String)> {
        // A one-byte buffer exercises every chunk boundary.
        let mut values = Values::new(io::BufReader::with_capacity(1, text.as_bytes()));
        let mut out = vec![];
        while let Some(v) = values.next_value().expect("read") {
            out.push((v.line, String::from_utf8(v.text.to_vec()).expect("utf8")));
        }
        out
    }

    #[test]
    fn one_value_a_line_and_pretty_values_across_lines() {
        let text = "\u{feff}{\"a\":1}\n\n{\"b\":\"}{\\\"\"}\n{\n  \"c\": [1,\n 2]\n}\n[{\"d\":{}}]";
        assert_eq!(
            cut(text),
            vec![
                (1, "{\"a\":1}".to_owned()),
                (3, "{\"b\":\"}{\\\"\"}".to_owned()),
                (4, "{\n  \"c\": [1,\n 2]\n}".to_owned()),
                (8, "[{\"d\":{}}]".to_owned()),
            ]
        );
    }

    #[test]
    fn scalars_run_to_the_end_of_their_line_and_truncation_is_kept() {
        assert_eq!(
            cut("nope nope\n{\"a\":\n"),
            vec![(1, "nope nope".to_owned()), (2, "{\"a\":\n".to_owned())]
        );
    }
}
