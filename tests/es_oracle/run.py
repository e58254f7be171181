#!/usr/bin/env python3
"""Runs Elasticsearch's own ES|QL test cases through lakehunt and compares rows.

    run.py CASES.json EMPLOYEES.parquet [--lakehunt PATH] [--only FILE] [--show]

CASES.json comes from extract.py; EMPLOYEES.parquet from make_employees.py.
Each case runs as `lakehunt esql --format csv` (FROM employees reads the
Parquet through --index). Rows compare leniently, as Elasticsearch's own
runner does: numbers by value, one-value lists as the value, quotes around
text and a time's trailing zeros ignored; the order only where the case
does not say ignoreOrder. Prints a count per outcome (ok, rows, columns,
error, timeout) and, with --show, each case that is not ok.
"""
import argparse
import collections
import csv
import io
import ipaddress
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor


def split_list(s):
    out, cur, quoted = [], "", False
    for ch in s:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [x.strip().strip('"') for x in out]


def norm(v, kind=""):
    v = v.strip()
    # A date alone in a datetime column is its midnight: csv-spec files
    # write datetime values so.
    if kind.startswith("date") and re.match(r"^\d{4}-\d\d-\d\d$", v):
        v += "T00:00:00Z"
    # Elasticsearch's runner reads null in any case.
    if v == "" or v.lower() == "null":
        return None
    if v.startswith("[") and v.endswith("]"):
        items = [norm(x, kind) for x in split_list(v[1:-1])]
        return tuple(items) if len(items) != 1 else items[0]
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        v = v[1:-1]
    # Text stays text ("10" is not 10); addresses compare as addresses
    # (`::0` is `::`), as Elasticsearch's runner compares them.
    if kind in ("keyword", "text"):
        return v
    if kind == "ip":
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            return v
    try:
        f = float(v)
        return round(f, 9) if abs(f) < 1e15 else float("%.12g" % f)
    except ValueError:
        pass
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        v = v[1:-1]
    # A year before 0000 or past 9999 is signed (-0006, +10000).
    m = re.match(r"^([+-]?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z?$", v)
    if m:
        frac = (m.group(2) or ".0").rstrip("0")
        return m.group(1) + (frac if frac != "." else "") + "Z"
    return v


def run(args, case):
    cmd = [args.lakehunt, "esql", "--as-of", "2026-01-15T12:00:00Z", "--format", "csv"]
    if case["index"]:
        cmd += ["--index", f"employees={args.employees}"]
    # Lookup indexes and enrich policies the query names, where converted
    # (`make_employees.py` on Elasticsearch's languages CSVs; README.md).
    if args.lookups:
        for kind, name in re.findall(r"(?i)\b(lookup\s+join|enrich)\s+([a-z_]+)", case["query"]):
            path = f"{args.lookups}/{name}.parquet"
            if os.path.exists(path):
                flag = "--enrich" if kind.lower() == "enrich" else "--index"
                if f"{name}={path}" not in cmd:
                    cmd += [flag, f"{name}={path}"]
    try:
        # The case's settings (`SET time_zone = "+10:00";`) go before it.
        query = "".join(f"{setting}\n" for setting in case.get("settings") or []) + case["query"]
        p = subprocess.run(cmd + [query], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "timeout", None
    if p.returncode != 0:
        lines = p.stderr.strip().splitlines()
        return "error", lines[-1] if lines else f"exit {p.returncode}"
    rows = list(csv.reader(io.StringIO(p.stdout)))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    want = [name for name, _ in case["columns"]]
    if header != want:
        return "columns", f"got {header} want {want}"
    kinds = [kind for _, kind in case["columns"]]
    got = [[norm(x, k) for x, k in zip(r, kinds)] for r in body]
    expected = [[norm(x, k) for x, k in zip(r, kinds)] for r in case["rows"]]
    if case["ignore_order"]:
        got, expected = sorted(map(repr, got)), sorted(map(repr, expected))
    if got != expected:
        return "rows", f"got {got[:3]} want {expected[:3]}"
    return "ok", None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cases")
    parser.add_argument("employees")
    parser.add_argument("--lakehunt", default="target/debug/lakehunt")
    parser.add_argument("--lookups", help="a folder of NAME.parquet lookup indexes and enrich policies")
    parser.add_argument("--only", help="only the cases of this csv-spec file")
    parser.add_argument("--show", action="store_true", help="print each case that is not ok")
    args = parser.parse_args()
    cases = [c for c in json.load(open(args.cases, encoding="utf-8"))
             if not args.only or c["file"] == args.only]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: (c, *run(args, c)), cases))
    for kind in ("ROW", "FROM employees"):
        mine = [r for r in results if (r[0]["index"] is None) == (kind == "ROW")]
        counts = collections.Counter(status for _, status, _ in mine)
        print(f"{kind}: {len(mine)} cases, " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    if args.show:
        for case, status, why in results:
            if status != "ok":
                print(f"{status}\t{case['file']}:{case['name']}\t{case['query'][:160]!r}\t{(why or '')[:300]}")


if __name__ == "__main__":
    main()
