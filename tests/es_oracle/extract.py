#!/usr/bin/env python3
"""Extracts Elasticsearch's own ES|QL test cases from its csv-spec files.

    extract.py SPEC_DIR OUT.json

Reads every *.csv-spec in SPEC_DIR and writes the cases whose query starts
with ROW (no index needed) or is FROM employees (Elasticsearch's test index,
see make_employees.py), with a result header:
  [{"file", "name", "query", "index": null | "employees",
    "columns": [[name, type], ...], "rows": [[cell, ...], ...],
    "warnings": [...], "capabilities": [...], "ignore_order": bool}, ...]

Format notes (mirrors the ES CsvSpecReader closely enough for these files):
  * Lines starting with `//` or `#` outside a query are comments.  Inside a query,
    `//` lines (e.g. `// tag::x[]`) are dropped too.
  * A test is: name line (anything after `#`, e.g. `#[skip:...]`, is stripped),
    optional directive lines (`required_capability:`, `warning:`, `ignoreOrder:`...),
    query lines up to the first line ending in an unescaped `;`, then an expected
    section up to a line that is just `;`.  The expected section may contain more
    directives (warnings often follow the query), blank lines and `//` comments; the
    first other line is the header `name:type | ...`, the rest are rows.
  * `\\;` inside a query (used by `SET x=y\\;` prefixes) is an escaped semicolon.
  * Cells are split on unescaped `|` and trimmed; values are kept raw (`null`,
    `[a, b]`, `"quoted"` stay exactly as written).
"""
import json
import os
import re
import sys


# Type aliases accepted by the ES csv test framework (CsvTestUtils.Type).
TYPE_ALIASES = {
    "i": "integer", "int": "integer", "l": "long", "d": "double", "ul": "unsigned_long",
    "s": "keyword", "k": "keyword", "string": "keyword", "txt": "text", "n": "null",
    "date": "datetime", "dt": "datetime", "v": "version", "bool": "boolean",
    "b": "boolean", "f": "float",
}

DIRECTIVE_RE = re.compile(r"^(required_capability|required_feature|warning|warningRegex|"
                          r"ignoreOrder|skip|skip_keyword_variant|allowWarnings|"
                          r"requires_?[a-z_]*|mode|unsupported_capability)\s*:", re.I)


# Before the query starts, any `identifier:` line is a directive (e.g. skip_flattened_rewrite:,
# request_stored:); ES|QL queries never start that way.
PRE_QUERY_DIRECTIVE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*:(?!:)")
SET_RE = re.compile(r"^\s*SET\s+[^;]*;\s*", re.I)


def split_cells(line):
    cells, cur, i = [], [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if c == "|":
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def parse_header(line):
    cols = []
    for cell in split_cells(line):
        if ":" in cell:
            name, typ = cell.rsplit(":", 1)
        else:
            name, typ = cell, ""
        typ = typ.strip()
        cols.append([name.strip(), TYPE_ALIASES.get(typ.lower(), typ.lower())])
    return cols


def apply_directive(test, line):
    key, _, val = line.partition(":")
    k = key.strip()
    v = val.strip()
    if k in ("warning", "warningRegex"):
        test["warnings"].append(line.strip())
    elif k == "required_capability":
        test["capabilities"].append(v)
    elif k.lower() == "ignoreorder":
        test["ignore_order"] = v.lower() == "true"
    else:
        test.setdefault("other_directives", []).append(line.strip())


KNOWN_TYPES = set(TYPE_ALIASES) | {
    "integer", "long", "double", "float", "half_float", "scaled_float", "short", "byte",
    "keyword", "text", "boolean", "datetime", "date_nanos", "ip", "version", "null",
    "unsigned_long", "geo_point", "geo_shape", "cartesian_point", "cartesian_shape",
    "date_period", "time_duration", "dense_vector", "aggregate_metric_double",
    "counter_long", "counter_double", "counter_integer", "_source", "unsupported",
    "exponential_histogram", "tdigest", "histogram", "date_range", "geohash", "geotile",
    "geohex"}
HEADER_CELL_RE = re.compile(r"^.+:\s*([A-Za-z_]+)\s*$")


def looks_like_header(line):
    cells = split_cells(line.strip())
    for c in cells:
        m = HEADER_CELL_RE.match(c)
        if not m or m.group(1).lower() not in KNOWN_TYPES:
            return False
    return True


def query_terminated(line):
    s = line.rstrip()
    return s.endswith(";") and not s.endswith("\\;")


def parse_spec(text, fname):
    tests = []
    lines = text.splitlines()
    state = "outside"
    test = None
    qlines = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if state == "outside":
            if not stripped or stripped.startswith("//") or stripped.startswith("#"):
                continue
            name = stripped.split("#", 1)[0].strip()
            test = {"file": fname, "name": name, "line": lineno, "query": "", "columns": None, "rows": [],
                    "warnings": [], "capabilities": [], "ignore_order": False}
            skip = re.search(r"#\[(skip:[^\]]*)\]", stripped)
            if skip:
                test.setdefault("other_directives", []).append(skip.group(1))
            qlines = []
            state = "query"
        elif state == "query":
            if stripped.startswith("//"):
                continue
            if not qlines and (not stripped or stripped.startswith("#")):
                continue
            if not qlines and (DIRECTIVE_RE.match(stripped) or PRE_QUERY_DIRECTIVE_RE.match(stripped)):
                apply_directive(test, stripped)
                continue
            if qlines and not qlines[-1].strip() and looks_like_header(stripped):
                # query without a terminating ';' (seen in some -Ignore tests)
                test["query"] = "\n".join(qlines).strip()
                test.setdefault("other_directives", []).append("parse:query_missing_semicolon")
                test["columns"] = parse_header(stripped)
                state = "expected"
                continue
            qlines.append(line)
            if query_terminated(line):
                q = "\n".join(qlines).rstrip()
                q = q[:-1]  # drop terminating ';'
                test["query"] = q.replace("\\;", ";").strip()
                state = "expected"
        elif state == "expected":
            if stripped == ";":
                tests.append(test)
                test = None
                state = "outside"
                continue
            if not stripped or stripped.startswith("//"):
                continue
            if DIRECTIVE_RE.match(stripped):
                apply_directive(test, stripped)
                continue
            if test["columns"] is None:
                test["columns"] = parse_header(stripped)
            else:
                test["rows"].append(split_cells(stripped))
    if test is not None:
        print(f"WARN {fname}: unterminated test {test['name']!r}", file=sys.stderr)
    return tests


FROM_EMPLOYEES_RE = re.compile(r"from\s+employees\s*(\||$)", re.I)


def main():
    spec_dir, out_path = sys.argv[1], sys.argv[2]
    out, problems = [], []
    for fname in sorted(os.listdir(spec_dir)):
        if not fname.endswith(".csv-spec"):
            continue
        with open(os.path.join(spec_dir, fname), encoding="utf-8") as f:
            text = f.read()
        # '#' comment lines become '//' lines (dropped by the parser).
        text = "\n".join("//" if l.lstrip().startswith("#") else l for l in text.splitlines())
        for t in parse_spec(text, fname):
            q = t["query"]
            while m := SET_RE.match(q):
                t.setdefault("settings", []).append(m.group(0).strip())
                q = q[m.end():]
            q = q.strip()
            if not t["columns"]:
                continue
            if re.match(r"row\b", q, re.I):
                t["index"] = None
            elif FROM_EMPLOYEES_RE.match(q):
                t["index"] = "employees"
            else:
                continue
            t["query"] = q
            t["es_ignored"] = t["name"].endswith("-Ignore")
            for r in t["rows"]:
                if len(r) != len(t["columns"]):
                    problems.append(f"{fname}:{t['name']}: {len(r)} cells, header {len(t['columns'])}")
            out.append(t)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    rows = sum(1 for t in out if t["index"] is None)
    print(f"{len(out)} cases: {rows} ROW, {len(out) - rows} FROM employees")
    for p in problems:
        print("MISMATCH", p)


if __name__ == "__main__":
    main()
