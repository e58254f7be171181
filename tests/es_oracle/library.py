#!/usr/bin/env python3
"""Every ES|QL query of Elastic's hunting library, run over data that has
every field the library reads.

    tests/es_oracle/library.py path/to/detection-rules/hunting
    tests/es_oracle/library.py hunting/ --lakehunt target/release/lakehunt --show

The sample data holds network events only, so a sweep over the library
skips most queries for a field the data lacks and says nothing about
whether they would run. This builds one Parquet file with every field the
library's queries read (found by sweeping, adding the fields the skips
name, until none is missing), three rows of typed values (NULLs, and two
rows of plausible values), and sweeps the library over it with the two
enrich policies it names given as small tables. What is left failed or
skipped for its own reasons: EQL, osquery, or ES|QL Elasticsearch itself
rejects (printed with the error, and listed in `REJECTED`). It exits 1 when
any other query fails. A query that runs has run without error over these
rows; what it finds is not compared with anything.

Field types follow ECS's where a name says them (`*.port`, `*.bytes`:
long; `*.trusted`: boolean; `@timestamp`, `*.created`: date) and are
keyword otherwise; `TYPES` lists the names those rules type wrongly (by
ECS: `registry.data.bytes` is text); a query comparing a field with a
number says the field is a number (`*_count`, `*.as.number`).
Needs python3 with pyarrow; not part of CI (the library is fetched, not
kept here).
"""

import argparse
import collections
import datetime
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-01-15T12:00:00Z"
DATE = pa.timestamp("ms", tz="UTC")
LONG_SUFFIXES = (".port", ".bytes", ".pid", ".ppid", ".packets", ".size", ".sequence", ".duration",
                 ".uptime", ".entropy", ".code", ".count", ".error_code", "risk_score", ".severity",
                 ".ttl", "_tokens", ".request_size", "authentication_step", "_creation_time",
                 "response_time", ".as.number", "_count")
BOOL_SUFFIXES = (".trusted", ".exists", ".valid", ".elevated", ".interactive", ".enabled", ".is_admin",
                 ".is_compliant", ".is_managed", ".is_interactive", ".runatload", ".keepalive")
DATE_SUFFIXES = ("timestamp", ".created", ".start", ".end", "_time")
# Exceptions to the suffix rules above.
TYPES = {"registry.data.bytes": pa.string()}
# Queries of the library (December 2026) that Elasticsearch rejects too, or
# that ask for relevance scores, with what lakehunt says.
REJECTED = {
    "aws/queries/servicequotas_discovery_multi_region_get_service_quota_calls.toml":
        "expected == to compare",
    "azure/queries/aks_kubelet_proxy_command_execution_from_external_source.toml":
        "unknown escape",
    "azure/queries/entra_authentication_attempts_behind_rare_user_agents.toml":
        "expected an expression",
    "cross-platform/queries/potentially_spoofed_microsoft_authentication_domain.toml":
        "METADATA _score",
    "okta/queries/credential_access_rapid_reset_password_requests_for_different_users.toml":
        "expected an expression after",
    "windows/queries/execution_via_windows_scheduled_task_with_low_occurrence_frequency.toml":
        "expected an expression",
}


def field_type(name):
    low = name.lower()
    if name in TYPES:
        return TYPES[name]
    if low.endswith(LONG_SUFFIXES) or ".relative_" in low:
        return pa.int64()
    if low.endswith(BOOL_SUFFIXES):
        return pa.bool_()
    if low == "@timestamp" or low.endswith(DATE_SUFFIXES):
        return DATE
    return pa.string()


def values(name, kind):
    """Three rows: NULL, and two plausible values of the type."""
    if pa.types.is_timestamp(kind):
        an_hour_ago = datetime.datetime(2026, 1, 15, 11, tzinfo=datetime.timezone.utc)
        return [None, an_hour_ago, an_hour_ago - datetime.timedelta(minutes=5)]
    if pa.types.is_integer(kind):
        return [None, 1, 443]
    if pa.types.is_boolean(kind):
        return [None, False, True]
    if name.endswith((".ip", "ips")):
        return [None, "10.1.2.3", "8.8.8.8"]
    return [None, "C:\\Windows\\System32\\svchost.exe", "user.account.reset_password"]


def sweep(lakehunt, library, data, out, enrich):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [lakehunt, "sweep", "--library", str(library), "--data", str(data), "--as-of", AS_OF,
           "--out", str(out), "--quiet"]
    for policy, path in enrich.items():
        cmd += ["--enrich", f"{policy}={path}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if not (out / "summary.json").exists():
        sys.exit(f"the sweep wrote no summary (exit {done.returncode}): {done.stderr}")
    return json.loads((out / "summary.json").read_text())["hunts"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("library", help="a checkout's hunting/ folder")
    parser.add_argument("--lakehunt", default=str(ROOT / "target" / "debug" / "lakehunt"))
    parser.add_argument("--work", default=str(ROOT / "target" / "es-library"))
    parser.add_argument("--show", action="store_true", help="every query that did not run, with why")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    # The two policies the library names, keyed by the field they match.
    enrich = {}
    for policy, key in (("libs-policy-defend", "dll.name"), ("libs-policy-sysmon", "file.name")):
        path = work / f"{policy}.csv"
        path.write_text(f"{key},native\nsvchost.exe,yes\n")
        enrich[policy] = path
    fields = {}
    for _ in range(100):
        columns = {"@timestamp": values("@timestamp", DATE)}
        types = {"@timestamp": DATE}
        for name, kind in fields.items():
            columns[name], types[name] = values(name, kind), kind
        data = work / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        table = pa.table({n: pa.array(v, type=types[n]) for n, v in columns.items()})
        pq.write_table(table, data / "part-00000.parquet")
        hunts = sweep(args.lakehunt, args.library, data, work / "sweep", enrich)
        missing = {m.group(1) for h in hunts
                   if (m := re.match(r"the data has no field (\S+)", h.get("reason") or ""))}
        if not missing - set(fields):
            break
        for name in missing:
            fields[name] = field_type(name)
    language = collections.Counter(h["language"] for h in hunts)
    esql = [h for h in hunts if h["language"] == "ES|QL"]
    status = collections.Counter(h["status"] for h in esql)
    print(f"{len(hunts)} queries ({dict(language)}); {len(fields) + 1} fields in the data")
    print(f"ES|QL: {len(esql)} queries, {status['ran']} ran, {status['failed']} failed, "
          f"{status['skipped']} skipped")
    unexpected = 0
    for h in esql:
        known = REJECTED.get(h["file"], "\0") in (h["reason"] or "")
        if h["status"] == "failed" and not known:
            unexpected += 1
        if h["status"] != "ran" and (args.show or h["status"] == "failed"):
            mark = "known" if known else "NEW"
            print(f"  {h['status']} ({mark}): {h['file']} #{h['query_index']}: {h['reason']}")
    if unexpected:
        sys.exit(f"{unexpected} queries failed that Elasticsearch would run")


if __name__ == "__main__":
    main()
