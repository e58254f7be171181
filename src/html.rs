//! What lakehunt's HTML pages share: escaping and the base style. Pages are
//! self-contained (inline CSS, no scripts, nothing fetched).

/// `text` safe inside HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The pages' CSS.
pub(crate) const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1d2330;background:#fff}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #dde1e8;padding-bottom:.2rem}
h3{font-size:1rem;margin:1.5rem 0 .3rem}
.scope{color:#4a5263;margin:0 0 1rem}.scope code{background:#f2f4f7;padding:0 .25rem;border-radius:3px}
.counts span{display:inline-block;margin-right:1rem;padding:.2rem .6rem;border-radius:1rem;background:#eef1f6}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:.4rem 0}
th,td{border-bottom:1px solid #e6e9ef;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f6f7f9;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.t{white-space:nowrap}
.wrap{max-height:26rem;overflow:auto;border:1px solid #e6e9ef;border-radius:4px}
.ran{color:#146c2e}.skipped{color:#7a5b00}.failed{color:#a1261b;font-weight:600}
.self{color:#2f5fc4}.child{color:#1d7a3a}.parent{color:#b05a00}
.desc{color:#4a5263;max-width:60rem}.tech{font-family:ui-monospace,monospace;font-size:12px;background:#f2f4f7;padding:0 .3rem;border-radius:3px;margin-right:.3rem}
.more{color:#4a5263;font-style:italic}
svg text{font:11px system-ui,sans-serif;fill:#4a5263}
";

/// Writes `html` to `path` whole: a temporary file beside it, then a rename.
pub(crate) fn write_page(path: &std::path::Path, html: &str) -> crate::Result<()> {
    let failed = |message: String| crate::Error::OutputWrite {
        path: path.to_owned(),
        message,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("page.html");
    let mut tmp = crate::output::temp_file_in(dir, name).map_err(|e| failed(e.to_string()))?;
    std::io::Write::write_all(&mut tmp, html.as_bytes()).map_err(|e| failed(e.to_string()))?;
    tmp.persist(path).map_err(|e| failed(e.error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            escape("<script>alert('x&y')</script>\""),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;"
        );
    }
}
