//! ES|QL text -> tokens, each with its byte offset; comments; identifiers.

use super::{Result, error};

/// A lexical token with its byte offset.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    /// A name that begins in backticks: a field, never a keyword (`` `by` ``).
    Name(String),
    Str(String),
    Int(i64),
    /// A whole number past the long range, up to 2^64 - 1: an unsigned_long.
    Unsigned(u64),
    Float(f64),
    Op(&'static str),
    Pipe,
    LParen,
    RParen,
    /// `{` and `}` around MATCH's options.
    LBrace,
    RBrace,
    /// `[` and `]` around a list literal.
    LBracket,
    RBracket,
    Comma,
    /// `;`, which ends a `SET name = value` statement before the query.
    Semicolon,
}

pub(super) fn lex(text: &str) -> Result<Vec<(Tok, usize)>> {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .ok_or_else(|| error(i, "unterminated /* comment"))?;
                i += end + 4;
            }
            b'|' => {
                out.push((Tok::Pipe, i));
                i += 1;
            }
            b'(' => {
                out.push((Tok::LParen, i));
                i += 1;
            }
            b')' => {
                out.push((Tok::RParen, i));
                i += 1;
            }
            b',' => {
                out.push((Tok::Comma, i));
                i += 1;
            }
            b';' => {
                out.push((Tok::Semicolon, i));
                i += 1;
            }
            b'[' => {
                out.push((Tok::LBracket, i));
                i += 1;
            }
            b']' => {
                out.push((Tok::RBracket, i));
                i += 1;
            }
            b'"' => {
                let (value, end) = if text[i..].starts_with("\"\"\"") {
                    let end = text[i + 3..]
                        .find("\"\"\"")
                        .ok_or_else(|| error(i, "unterminated \"\"\" string"))?;
                    (text[i + 3..i + 3 + end].to_owned(), i + 3 + end + 3)
                } else {
                    let mut value = String::new();
                    let mut j = i + 1;
                    loop {
                        match b.get(j) {
                            None => return Err(error(i, "unterminated string")),
                            Some(b'"') => break,
                            Some(b'\\') => {
                                let escaped = text[j + 1..]
                                    .chars()
                                    .next()
                                    .ok_or_else(|| error(j, "dangling \\"))?;
                                value.push(match escaped {
                                    'n' => '\n',
                                    't' => '\t',
                                    'r' => '\r',
                                    '"' => '"',
                                    '\\' => '\\',
                                    other => {
                                        // ES|QL knows these five escapes only; a
                                        // regex's `\.` is written `\\.` or in """.
                                        return Err(error(
                                            j,
                                            format!(
                                                "unknown escape \\{other} in a string: \
                                                 ES|QL accepts \\t \\n \\r \\\" \\\\ \
                                                 (write \\\\{other}, or use a \"\"\" string)"
                                            ),
                                        ));
                                    }
                                });
                                j += 1 + escaped.len_utf8();
                            }
                            Some(_) => {
                                let ch = text[j..].chars().next().unwrap_or('\u{fffd}');
                                value.push(ch);
                                j += ch.len_utf8();
                            }
                        }
                    }
                    (value, j + 1)
                };
                out.push((Tok::Str(value), start));
                i = end;
            }
            b'`' => {
                let (name, end) = identifier(text, i)?;
                out.push((Tok::Name(name), i));
                i = end;
            }
            b'{' => {
                out.push((Tok::LBrace, i));
                i += 1;
            }
            b'}' => {
                out.push((Tok::RBrace, i));
                i += 1;
            }
            // `.9` is 0.9, as in ES|QL's grammar (DECIMAL_LITERAL: `. DIGIT+`).
            b'0'..=b'9' | b'.' if c != b'.' || b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                // An exponent: `1e300`, `2.5E-3`.
                if matches!(b.get(i), Some(b'e' | b'E')) {
                    let digits = i + 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
                    if b.get(digits).is_some_and(u8::is_ascii_digit) {
                        i = digits;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let number = &text[start..i];
                out.push((
                    if number.contains(['.', 'e', 'E']) {
                        Tok::Float(number.parse().map_err(|_| error(start, "bad number"))?)
                    } else if let Ok(n) = number.parse::<i64>() {
                        Tok::Int(n)
                    } else if let Ok(n) = number.parse::<u64>() {
                        // Past the long range: an unsigned_long, as ES|QL
                        // reads it; past that, a double.
                        Tok::Unsigned(n)
                    } else {
                        Tok::Float(number.parse().map_err(|_| error(start, "bad number"))?)
                    },
                    start,
                ));
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'@' => {
                let (name, end) = identifier(text, i)?;
                out.push((Tok::Ident(name), start));
                i = end;
            }
            _ => {
                let two = text.get(i..i + 2).unwrap_or("");
                let op: &'static str = match two {
                    "::" => "::",
                    "==" => "==",
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    _ => match c {
                        b'<' => "<",
                        b'>' => ">",
                        b'=' => "=",
                        b'+' => "+",
                        b'-' => "-",
                        b'*' => "*",
                        b'/' => "/",
                        b'%' => "%",
                        // The match operator, `field : "query"`.
                        b':' => ":",
                        // Only inside FROM's index patterns (`logs-azure.*`).
                        b'.' => ".",
                        _ => {
                            return Err(error(
                                i,
                                format!(
                                    "unexpected character '{}'",
                                    text[i..].chars().next().unwrap_or('?')
                                ),
                            ));
                        }
                    },
                };
                out.push((Tok::Op(op), i));
                i += op.len();
            }
        }
    }
    Ok(join_qualified(out))
}

/// `a . b` as `a.b`: ES|QL's grammar reads a qualified name as names and
/// dots, white space allowed between them (`process.parent.name .caseless`).
fn join_qualified(toks: Vec<(Tok, usize)>) -> Vec<(Tok, usize)> {
    let mut out: Vec<(Tok, usize)> = Vec::with_capacity(toks.len());
    let mut rest = toks.into_iter().peekable();
    while let Some(tok) = rest.next() {
        let joins = matches!(
            (out.last(), &tok.0, rest.peek()),
            (
                Some((Tok::Ident(_) | Tok::Name(_), _)),
                Tok::Op("."),
                Some((Tok::Ident(_) | Tok::Name(_), _))
            )
        );
        if !joins {
            out.push(tok);
            continue;
        }
        let (Some((Tok::Ident(a) | Tok::Name(a), at)), Some((Tok::Ident(b) | Tok::Name(b), _))) =
            (out.pop(), rest.next())
        else {
            continue;
        };
        out.push((Tok::Ident(format!("{a}.{b}")), at));
    }
    out
}

/// A field name from byte `i`: parts joined by dots, each plain (letters,
/// digits, `_`, `@`) or quoted in backticks (`` `o365`.audit ``, `` a.`0`.b ``;
/// a doubled backtick inside quotes is one); returns it and the byte after it.
pub(super) fn identifier(text: &str, mut i: usize) -> Result<(String, usize)> {
    let b = text.as_bytes();
    let mut name = String::new();
    loop {
        if b.get(i) == Some(&b'`') {
            let start = i;
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(error(start, "unterminated `identifier`")),
                    Some(b'`') if b.get(i + 1) == Some(&b'`') => {
                        name.push('`');
                        i += 2;
                    }
                    Some(b'`') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                        name.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
        } else {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'@')) {
                i += 1;
            }
            name.push_str(&text[start..i]);
        }
        // Another part follows a dot directly.
        if b.get(i) == Some(&b'.')
            && b.get(i + 1)
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'`'))
        {
            name.push('.');
            i += 1;
        } else {
            return Ok((name, i));
        }
    }
}

/// `text` without its `//` and `/* */` comments.
pub(crate) fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('/') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("//") {
            rest = tail.find('\n').map_or("", |end| &tail[end..]);
        } else if let Some(body) = tail.strip_prefix("/*") {
            rest = body.find("*/").map_or("", |end| &body[end + 2..]);
            out.push(' ');
        } else {
            out.push('/');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}
