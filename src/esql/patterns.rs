//! ES|QL's pattern languages as SQL's: LIKE wildcards, Lucene regexes,
//! Java date formats, DISSECT and GROK patterns.

use std::fmt::Write as _;

use super::string_literal;

/// ES|QL's LIKE pattern (`*` any run, `?` one character, `\` escapes; `%` and
/// `_` literal) as an SQL LIKE pattern with `\` as its escape.
pub(super) fn wildcard_to_like(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '\\' => match chars.next() {
                Some(escaped @ ('%' | '_' | '\\')) => {
                    out.push('\\');
                    out.push(escaped);
                }
                Some(escaped) => out.push(escaped),
                None => out.push_str("\\\\"),
            },
            '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

/// A Lucene regular expression as an anchored Rust one: the whole string must
/// match, `.` matches newlines too, and `^`/`$` are ordinary characters in
/// Lucene (outside a bracket expression, where a leading `^` still negates).
pub(super) fn lucene_to_rust(pattern: &str) -> String {
    let mut out = String::from("(?s)^(?:");
    let mut chars = pattern.chars();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
                class_start = false;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                continue;
            }
            ']' if in_class && !class_start => in_class = false,
            '^' | '$' if !in_class => out.push('\\'),
            _ => {}
        }
        class_start = false;
        out.push(c);
    }
    out.push_str(")$");
    out
}

/// A Java date pattern (`yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`) as a chrono format.
pub(super) fn java_date_pattern(java: &str) -> std::result::Result<String, String> {
    java_date_pattern_at(java, Some(0))
}

/// A zone offset as Java's pattern letters write it: `X`, `x` or `Z`, `n`
/// times, for `offset` seconds east of UTC (whole minutes).
fn offset_text(letter: char, n: usize, offset: i64) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (offset.abs() / 3_600, offset.abs() % 3_600 / 60);
    match (letter, n) {
        ('X', _) | ('Z', 5) if offset == 0 => "Z".into(),
        ('X' | 'x', 1) if m == 0 => format!("{sign}{h:02}"),
        ('X' | 'x', 1 | 2 | 4) | ('Z', 1..=3) => format!("{sign}{h:02}{m:02}"),
        ('Z', 4) if offset == 0 => "GMT".into(),
        ('Z', 4) => format!("GMT{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}"),
    }
}

/// A Java date pattern as a chrono format for dates written at `offset`
/// seconds east of UTC: the zone letters write that offset; `None` for a
/// named zone, whose offset the formatting writes per date (`%:z`; where a
/// date's offset is zero the caller writes the format made for offset 0).
pub(super) fn java_date_pattern_at(
    java: &str,
    offset: Option<i64>,
) -> std::result::Result<String, String> {
    let chars: Vec<char> = java.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted text; '' is a quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() {
                match (chars[i], chars.get(i + 1)) {
                    // '' inside quoted text is a quote too.
                    ('\'', Some('\'')) => {
                        out.push('\'');
                        i += 1;
                    }
                    ('\'', _) => break,
                    ('%', _) => out.push_str("%%"),
                    (other, _) => out.push(other),
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            if c == '%' {
                out.push_str("%%");
            } else {
                out.push(c);
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('e', _) => "%u",
            ('w', _) => "%V",
            ('Y', _) => "%G",
            // The zone's offset as Java writes it (UTC: Z, +00, +0000, ...).
            ('X' | 'x' | 'Z', _) => {
                let text = match offset {
                    Some(offset) => offset_text(c, n, offset).replace('%', "%%"),
                    None => match (c, n) {
                        ('X' | 'x', 3 | 5) | ('Z', 5) => "%:z".into(),
                        ('Z', 4) => "GMT%:z".into(),
                        _ => "%z".into(),
                    },
                };
                out.push_str(&text);
                i += n;
                continue;
            }
            _ => {
                return Err(format!(
                    "DATE_FORMAT: pattern letter {} is not supported",
                    c.to_string().repeat(n)
                ));
            }
        };
        out.push_str(spec);
        i += n;
    }
    Ok(out)
}

/// Capture group `group` (from 1) of regex `re` on `value`, NULL without a match.
pub(super) fn capture(value: &str, re: &str, group: usize) -> String {
    // Not regexp_match, which leaves out the groups that took no part. The
    // call is the same for every group, so it is evaluated once a row.
    format!(
        "array_element(esql_captures({value}, {}), {group})",
        string_literal(re)
    )
}

/// Text matched literally by a Rust regex.
pub(super) fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// DISSECT's output keys, each with the capture groups it joins.
pub(super) type DissectKeys = Vec<(String, Vec<usize>)>;

/// GROK's named captures: `(name, group, type)`.
pub(super) type GrokKeys = Vec<(String, usize, GrokType)>;

/// A DISSECT pattern as an anchored regex, and for each output key the capture
/// groups (1-based) whose texts it joins: `%{key}` takes text up to the next
/// delimiter, `%{}` and `%{?key}` skip, `%{+key}` appends to `key`, and
/// `%{key->}` lets the delimiter after it repeat. The last key takes the rest.
pub(super) fn dissect_regex(pattern: &str) -> std::result::Result<(String, DissectKeys), String> {
    let mut re = String::from("(?s)^");
    // Each key's capture groups, with the order `%{+key/N}` gives them.
    let mut keys: Vec<(String, Vec<(u32, usize)>)> = vec![];
    let mut group = 0;
    let mut rest = pattern;
    let mut pad_next = false;
    let mut pieces = 0;
    while !rest.is_empty() {
        let Some(open) = rest.find("%{") else {
            let lit = regex_escape(rest);
            let _ = write!(re, "{}", if pad_next { format!("(?:{lit})+") } else { lit });
            break;
        };
        if open > 0 {
            let lit = regex_escape(&rest[..open]);
            let _ = write!(re, "{}", if pad_next { format!("(?:{lit})+") } else { lit });
        } else if pieces > 0 {
            return Err("DISSECT: two keys need a delimiter between them".into());
        }
        pad_next = false;
        let close = rest[open..]
            .find('}')
            .ok_or("DISSECT: a %{ without its }")?
            + open;
        let mut key = &rest[open + 2..close];
        rest = &rest[close + 1..];
        pieces += 1;
        if let Some(k) = key.strip_suffix("->") {
            key = k;
            pad_next = true;
        }
        let last = rest.is_empty();
        re.push_str(if last { "(.*)" } else { "(.*?)" });
        group += 1;
        if key.is_empty() || key.starts_with('?') {
            continue;
        }
        if key.starts_with('*') || key.starts_with('&') {
            return Err(format!(
                "DISSECT: reference keys (%{{{key}}}) are not supported yet"
            ));
        }
        let (name, append, order) = match key.strip_prefix('+') {
            // `%{+key/2}`: appended second (unnumbered: 0), ties in the
            // order of appearance, as Elasticsearch's DissectParser.
            Some(k) => match k.split_once('/') {
                Some((name, n)) => {
                    let order = n
                        .parse()
                        .map_err(|_| format!("DISSECT: %{{+{k}}} needs a number after /"))?;
                    (name, true, order)
                }
                None => (k, true, 0),
            },
            None => (key, false, 0),
        };
        match keys.iter_mut().find(|(n, _)| n == name) {
            Some((_, groups)) if append => groups.push((order, group)),
            // A key written twice takes the later capture (dissect.csv-spec
            // shadowingInternal: "%{foo} %{foo}" of "Georgi1 Facello" is
            // Facello).
            Some((_, groups)) => *groups = vec![(order, group)],
            None => keys.push((name.to_owned(), vec![(order, group)])),
        }
    }
    if pieces == 0 {
        return Err("DISSECT: the pattern has no %{key}".into());
    }
    re.push('$');
    let keys = keys
        .into_iter()
        .map(|(name, mut groups)| {
            groups.sort_by_key(|(order, _)| *order);
            (name, groups.into_iter().map(|(_, group)| group).collect())
        })
        .collect();
    Ok((re, keys))
}

/// The type a GROK capture is converted to (`%{NUMBER:n:int}`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum GrokType {
    Text,
    Int,
    Long,
    Float,
    Boolean,
}

/// The grok patterns lakehunt knows, after Logstash's `grok-patterns` (Rust
/// regex has no look-around or atomic groups, so those are written without).
pub(super) const GROK_PATTERNS: &[(&str, &str)] = &[
    ("USERNAME", r"[a-zA-Z0-9._-]+"),
    ("USER", r"%{USERNAME}"),
    (
        "EMAILLOCALPART",
        r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+)*",
    ),
    ("EMAILADDRESS", r"%{EMAILLOCALPART}@%{HOSTNAME}"),
    ("INT", r"(?:[+-]?(?:[0-9]+))"),
    ("BASE10NUM", r"(?:[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))"),
    ("NUMBER", r"(?:%{BASE10NUM})"),
    ("BASE16NUM", r"(?:0[xX]?[0-9a-fA-F]+)"),
    ("POSINT", r"\b(?:[1-9][0-9]*)\b"),
    ("NONNEGINT", r"\b(?:[0-9]+)\b"),
    ("WORD", r"\b\w+\b"),
    ("NOTSPACE", r"\S+"),
    ("SPACE", r"\s*"),
    ("DATA", r".*?"),
    ("GREEDYDATA", r".*"),
    (
        "QUOTEDSTRING",
        r#"(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)"#,
    ),
    (
        "UUID",
        r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
    ),
    (
        "MAC",
        r"(?:(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}|(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4})",
    ),
    (
        "IPV4",
        r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)",
    ),
    (
        "IPV6",
        r"(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|:(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:)|::ffff:%{IPV4})",
    ),
    ("IP", r"(?:%{IPV6}|%{IPV4})"),
    (
        "HOSTNAME",
        r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*\.?",
    ),
    ("IPORHOST", r"(?:%{IP}|%{HOSTNAME})"),
    ("HOSTPORT", r"%{IPORHOST}:%{POSINT}"),
    ("UNIXPATH", r"(?:/[\w_%!$@:.,+~-]*)+"),
    ("WINPATH", r"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+"),
    ("PATH", r"(?:%{UNIXPATH}|%{WINPATH})"),
    ("URIPROTO", r"[A-Za-z](?:[A-Za-z0-9+\-.]+)+"),
    ("URIHOST", r"%{IPORHOST}(?::%{POSINT})?"),
    ("URIPATH", r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+"),
    ("YEAR", r"(?:\d\d){1,2}"),
    ("MONTHNUM", r"(?:0?[1-9]|1[0-2])"),
    ("MONTHDAY", r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])"),
    ("HOUR", r"(?:2[0123]|[01]?[0-9])"),
    ("MINUTE", r"(?:[0-5][0-9])"),
    ("SECOND", r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)"),
    ("ISO8601_TIMEZONE", r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))"),
    (
        "TIMESTAMP_ISO8601",
        r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    ),
    (
        "LOGLEVEL",
        r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?|INFO?(?:RMATION)?|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    ),
];

/// A GROK pattern as a regex (unanchored, as grok searches), and each named
/// capture: `(name, group, type)`. `%{SYNTAX}` matches without capturing,
/// `%{SYNTAX:name}` captures, `%{SYNTAX:name:int}` (or `long`, `float`,
/// `double`, `boolean`) converts. Other groups in the pattern do not capture.
pub(super) fn grok_regex(pattern: &str) -> std::result::Result<(String, GrokKeys), String> {
    fn expand(
        pattern: &str,
        depth: usize,
        keys: &mut GrokKeys,
        out: &mut String,
    ) -> std::result::Result<(), String> {
        if depth > 16 {
            return Err("GROK: patterns nest too deeply".into());
        }
        let mut rest = pattern;
        while let Some(open) = rest.find("%{") {
            push_plain(&rest[..open], keys, out);
            let close = rest[open..].find('}').ok_or("GROK: a %{ without its }")? + open;
            let inner = &rest[open + 2..close];
            rest = &rest[close + 1..];
            let mut parts = inner.splitn(3, ':');
            let syntax = parts.next().unwrap_or("");
            let name = parts.next();
            let kind = match parts.next() {
                None => GrokType::Text,
                Some("int" | "integer") => GrokType::Int,
                Some("long") => GrokType::Long,
                Some("float" | "double") => GrokType::Float,
                Some("boolean") => GrokType::Boolean,
                Some(other) => return Err(format!("GROK: unknown type {other} in %{{{inner}}}")),
            };
            let Some((_, body)) = GROK_PATTERNS.iter().find(|(n, _)| *n == syntax) else {
                return Err(format!("GROK: pattern {syntax} is not known here"));
            };
            if let Some(name) = name {
                out.push('(');
                let group = 1 + keys.len();
                keys.push((name.to_owned(), group, kind));
            } else {
                out.push_str("(?:");
            }
            expand(body, depth + 1, keys, out)?;
            out.push(')');
        }
        push_plain(rest, keys, out);
        Ok(())
    }
    /// Regex text: its named groups `(?<name>...)` capture as fields, its other
    /// groups are made non-capturing (so the fields keep their numbers).
    fn push_plain(text: &str, keys: &mut GrokKeys, out: &mut String) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut in_class = false;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '\\' => {
                    out.push(c);
                    if let Some(next) = chars.get(i + 1) {
                        out.push(*next);
                        i += 1;
                    }
                }
                '[' => {
                    in_class = true;
                    out.push(c);
                }
                ']' => {
                    in_class = false;
                    out.push(c);
                }
                '(' if !in_class => {
                    let rest: String = chars[i + 1..].iter().collect();
                    let named = rest
                        .strip_prefix("?<")
                        .or_else(|| rest.strip_prefix("?P<"))
                        .filter(|r| !r.starts_with('=') && !r.starts_with('!'))
                        .and_then(|r| r.split_once('>'));
                    if let Some((name, _)) = named {
                        keys.push((name.to_owned(), 1 + keys.len(), GrokType::Text));
                        out.push('(');
                        i += rest.find('>').map_or(0, |p| p + 1);
                    } else if rest.starts_with('?') {
                        out.push('(');
                    } else {
                        out.push_str("(?:");
                    }
                }
                _ => out.push(c),
            }
            i += 1;
        }
    }
    let mut keys = vec![];
    let mut re = String::from("(?s)");
    expand(pattern, 0, &mut keys, &mut re)?;
    if keys.is_empty() {
        return Err("GROK: the pattern names no field (%{SYNTAX:name})".into());
    }
    // A name captured more than once is multi-valued (see the GROK command).
    Ok((re, keys))
}
