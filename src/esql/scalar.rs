//! ES|QL's scalar math, string and hash functions that translate to one SQL
//! expression each: a template per function and arity, `{0}`, `{1}`, ... its
//! arguments (a field argument read as one value, NULL when multi-valued).
//!
//! Math functions return doubles, as ES|QL's do. Where Elasticsearch answers
//! NULL with a warning (the logarithm of 0 or of a negative number, the square
//! root of a negative number, the arcsine of 2, a result past the double
//! range), the double result goes through `esql_finite`, which makes a NaN or
//! an infinity NULL and counts it (see `lakehunt_udfs::esql_warnings`).

/// The template of `name` called with `arity` arguments; `None` when this
/// table has no such function (or not with that many arguments).
pub(super) fn template(name: &str, arity: usize) -> Option<&'static str> {
    Some(match (name, arity) {
        // Constants.
        ("e", 0) => "CAST(2.718281828459045 AS DOUBLE)",
        ("pi", 0) => "pi()",
        ("tau", 0) => "(2.0 * pi())",
        // Math: always a double.
        // Elasticsearch's EXP has no overflow check (Math.exp).
        ("exp", 1) => "exp(CAST({0} AS DOUBLE))",
        // DataFusion's sqrt fails on a negative number: NaN instead, counted.
        ("sqrt", 1) => {
            "esql_finite(CASE WHEN CAST({0} AS DOUBLE) < 0 THEN CAST('NaN' AS DOUBLE) \
             ELSE sqrt(CAST({0} AS DOUBLE)) END)"
        }
        ("cbrt", 1) => "cbrt(CAST({0} AS DOUBLE))",
        ("log10", 1) => "esql_finite(log10(CAST({0} AS DOUBLE)))",
        ("log", 1) => "esql_finite(ln(CAST({0} AS DOUBLE)))",
        ("log", 2) => "esql_finite(log(CAST({0} AS DOUBLE), CAST({1} AS DOUBLE)))",
        ("pow", 2) => "esql_finite(power(CAST({0} AS DOUBLE), CAST({1} AS DOUBLE)))",
        ("signum", 1) => "signum(CAST({0} AS DOUBLE))",
        ("hypot", 2) => {
            "esql_finite(sqrt(power(CAST({0} AS DOUBLE), 2) + power(CAST({1} AS DOUBLE), 2)))"
        }
        ("sin", 1) => "sin(CAST({0} AS DOUBLE))",
        ("cos", 1) => "cos(CAST({0} AS DOUBLE))",
        ("tan", 1) => "tan(CAST({0} AS DOUBLE))",
        ("asin", 1) => "esql_finite(asin(CAST({0} AS DOUBLE)))",
        ("acos", 1) => "esql_finite(acos(CAST({0} AS DOUBLE)))",
        ("atan", 1) => "atan(CAST({0} AS DOUBLE))",
        ("atan2", 2) => "atan2(CAST({0} AS DOUBLE), CAST({1} AS DOUBLE))",
        ("sinh", 1) => "esql_finite(sinh(CAST({0} AS DOUBLE)))",
        ("cosh", 1) => "esql_finite(cosh(CAST({0} AS DOUBLE)))",
        ("tanh", 1) => "tanh(CAST({0} AS DOUBLE))",
        ("acosh", 1) => "esql_finite(acosh(CAST({0} AS DOUBLE)))",
        ("asinh", 1) => "asinh(CAST({0} AS DOUBLE))",
        ("atanh", 1) => "esql_finite(atanh(CAST({0} AS DOUBLE)))",
        // d * 2^n (Math.scalb), NULL with a warning past the double range;
        // 2^n in two halves, so a factor past the range alone stays exact.
        ("scalb", 2) => {
            "esql_finite(CAST({0} AS DOUBLE) * power(2.0, floor(CAST({1} AS DOUBLE) / 2)) \
             * power(2.0, CAST({1} AS DOUBLE) - floor(CAST({1} AS DOUBLE) / 2)))"
        }
        ("to_degrees", 1) => "degrees(CAST({0} AS DOUBLE))",
        ("to_radians", 1) => "radians(CAST({0} AS DOUBLE))",
        // Strings.
        ("bit_length", 1) => "CAST(bit_length({0}) AS INT)",
        ("byte_length", 1) => "CAST(octet_length({0}) AS INT)",
        ("reverse", 1) => "reverse({0})",
        // Positions count characters from 1; 0 is not found. A start of 0 is
        // 1, a negative one counts from the end (Java's indexOf from there).
        ("locate", 2) => "CAST(strpos({0}, {1}) AS INT)",
        ("locate", 3) => {
            "CAST(CASE WHEN strpos(substr({0}, (CASE WHEN {2} > 0 THEN least({2} - 1, \
             character_length({0})) WHEN {2} = 0 THEN 0 ELSE greatest(character_length({0}) \
             + {2}, 0) END) + 1), {1}) = 0 THEN 0 ELSE strpos(substr({0}, (CASE WHEN {2} > 0 \
             THEN least({2} - 1, character_length({0})) WHEN {2} = 0 THEN 0 ELSE \
             greatest(character_length({0}) + {2}, 0) END) + 1), {1}) + (CASE WHEN {2} > 0 \
             THEN least({2} - 1, character_length({0})) WHEN {2} = 0 THEN 0 ELSE \
             greatest(character_length({0}) + {2}, 0) END) END AS INT)"
        }
        // A negative count is NULL with a warning (a literal one is refused).
        ("repeat", 2) => "esql_null_if(repeat({0}, greatest({1}, 0)), {1} < 0)",
        ("space", 1) => "esql_null_if(repeat(' ', greatest({0}, 0)), {0} < 0)",
        ("to_base64", 1) => "to_base64({0})",
        ("contains", 2) => "(strpos({0}, {1}) > 0)",
        // Dates, in English as Elasticsearch's default locale.
        // Bounds; a NULL value stays NULL (SQL's greatest skips NULLs).
        ("clamp", 3) => "CASE WHEN {0} IS NULL THEN NULL ELSE least(greatest({0}, {1}), {2}) END",
        ("clamp_min", 2) => "CASE WHEN {0} IS NULL THEN NULL ELSE greatest({0}, {1}) END",
        ("clamp_max", 2) => "CASE WHEN {0} IS NULL THEN NULL ELSE least({0}, {1}) END",
        // Numbers as text, as Elasticsearch formats them (`esql_fmt`); a value
        // below -1 or an unknown unit is NULL with a warning.
        ("fmt_bytes", 1) => "esql_null_if(esql_fmt('bytes', {0}), {0} < -1)",
        ("fmt_bytes", 2) => {
            "esql_null_if(esql_fmt('bytes', {0}, {1}), {0} IS NOT NULL AND {1} IS NOT NULL \
             AND ({0} < -1 OR lower({1}) NOT IN ('b', 'kb', 'mb', 'gb', 'tb', 'pb')))"
        }
        ("fmt_bytes_si", 1) => "esql_null_if(esql_fmt('bytes_si', {0}), {0} < -1)",
        ("fmt_bytes_si", 2) => {
            "esql_null_if(esql_fmt('bytes_si', {0}, {1}), {0} IS NOT NULL AND {1} IS NOT NULL \
             AND ({0} < -1 OR lower({1}) NOT IN ('b', 'kb', 'mb', 'gb', 'tb', 'pb')))"
        }
        ("fmt_duration", 1) => "esql_null_if(esql_fmt('duration', {0}), {0} < -1)",
        ("fmt_duration", 2) => {
            "esql_null_if(esql_fmt('duration', {0}, {1}), {0} IS NOT NULL AND {1} IS NOT NULL \
             AND ({0} < -1 OR lower({1}) NOT IN ('nanos', 'micros', 'ms', 's', 'm', 'h', 'd')))"
        }
        ("fmt_percent", 1) => "esql_fmt('percent', {0})",
        // Hashes, as lower-case hex.
        ("md5", 1) => "md5({0})",
        ("sha1", 1) => "sha1({0})",
        ("sha256", 1) => "encode(sha256({0}), 'hex')",
        _ => return None,
    })
}

/// The numbers of arguments `name` takes, if this table has it.
pub(super) fn arity(name: &str) -> Option<std::ops::RangeInclusive<usize>> {
    let takes: Vec<usize> = (0..=3).filter(|&n| template(name, n).is_some()).collect();
    Some(*takes.first()?..=*takes.last()?)
}

/// The template of `HASH(algorithm, text)` for the algorithm named (as Java's
/// `MessageDigest` names them, case-insensitive).
pub(super) fn hash_template(algorithm: &str) -> Option<&'static str> {
    Some(match algorithm.to_ascii_uppercase().as_str() {
        "MD5" => "md5({0})",
        "SHA" | "SHA-1" | "SHA1" => "sha1({0})",
        "SHA-224" | "SHA224" => "encode(digest({0}, 'sha224'), 'hex')",
        "SHA-256" | "SHA256" => "encode(digest({0}, 'sha256'), 'hex')",
        "SHA-384" | "SHA384" => "encode(digest({0}, 'sha384'), 'hex')",
        "SHA-512" | "SHA512" => "encode(digest({0}, 'sha512'), 'hex')",
        _ => return None,
    })
}

/// `template` with its first `{i}` replaced by `first[i]` and any later
/// one by `again[i]`: an argument's multi-valued check counts once per row,
/// however often the template uses it.
pub(super) fn fill(template: &str, first: &[String], again: &[String]) -> String {
    let mut out =
        String::with_capacity(template.len() + first.iter().map(String::len).sum::<usize>());
    let mut used = vec![false; first.len()];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((close, after[..close].parse::<usize>().ok()?)))
        {
            Some((close, i)) if i < first.len() => {
                out.push_str(if used[i] { &again[i] } else { &first[i] });
                used[i] = true;
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_their_arguments_in_order() {
        let t = template("log", 2).unwrap();
        let plain: Vec<String> = vec!["b".into(), "x".into()];
        assert_eq!(
            fill(t, &plain, &plain),
            "esql_finite(log(CAST(b AS DOUBLE), CAST(x AS DOUBLE)))"
        );
        // An argument's own braces are not read as placeholders.
        let args: Vec<String> = vec!["'{1}'".into(), "y".into()];
        assert_eq!(fill("f({0}, {1})", &args, &args), "f('{1}', y)");
        // A repeated argument: its first form once, then the other.
        let (first, again): (Vec<String>, Vec<String>) =
            (vec!["check(x)".into()], vec!["x".into()]);
        assert_eq!(
            fill("g({0}, {0}, {0})", &first, &again),
            "g(check(x), x, x)"
        );
        assert!(template("log", 3).is_none());
        assert_eq!(arity("log"), Some(1..=2));
        assert_eq!(arity("pi"), Some(0..=0));
        assert_eq!(arity("nope"), None);
        assert_eq!(
            hash_template("sha-256"),
            Some("encode(digest({0}, 'sha256'), 'hex')")
        );
        assert!(hash_template("whirlpool").is_none());
    }
}
