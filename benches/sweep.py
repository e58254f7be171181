#!/usr/bin/env python3
"""A library of 20 hunts in one sweep against the same hunts one process
each, and against one hunt alone, over the same 10M events.

    python3 benches/sweep.py                 # 10M nested events, 3 runs
    python3 benches/sweep.py --rows 2000000 --runs 5
    python3 benches/sweep.py --tiny          # 100k events, one run: checks only (CI)

The library: the seed hunt's ES|QL at four thresholds and three windows, 12
other network hunts (counts, distinct counts, sums, maxima and averages by
host, process, port or destination, with CIDR_MATCH, LIKE and IN filters) and
the shipped egress-bytes hunt through --hunts: 20 queries, all over the
network events (every LIMIT after a total order, so each answer is one). Every query's findings from the sweep must equal its findings
run alone (`lakehunt esql` / `lakehunt run`).

Prints medians of whole-process wall time: one hunt alone (`run
egress-bytes`), the sweep (one shared scan feeding every query), the sweep
with `--no-shared-scan` (each query its own scan, one at a time), and the 20
separate runs together, and the ratio sweep / one hunt (issue 23's goal: at
most 3). Build lakehunt for speed first (`cargo build --release`).

    python3 benches/sweep.py --library detection-rules/hunting

sweeps Elastic's hunting library instead (its licence keeps it out of this
repository: pass a checkout) over the sample with `--processes`, each data
stream its own `--index`, as in a lake exported from Elasticsearch: the
network events (`part-*.parquet`), the process events and the file events (a
copy of `processes-*.parquet`, which holds both). Every query that runs on
those (ES|QL over the endpoint data streams) must find the same in the sweep,
with `--no-shared-scan` (with the same warnings), and in a sweep of its file
alone (as many rows where a LIMIT before any SORT keeps arbitrary ones); the
times are the
sweep, the sweep with `--no-shared-scan`, a sweep process per hunt file, and
the seed hunt alone over the network events.
"""

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peers"))
from run import AS_OF  # noqa: E402  (the peer benchmark's instant)

PRIVATE = ('"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", '
           '"224.0.0.0/4", "::1", "FE80::/10", "FF00::/8"')
SEED = """from logs-endpoint.events.network-*
| where @timestamp > now() - {window}
| where host.os.family == "windows" and event.category == "network" and
  event.action == "disconnect_received" and not CIDR_MATCH(destination.ip, {private})
| keep source.bytes, destination.address, process.executable, process.entity_id
| stats total_bytes_out = sum(source.bytes) by process.entity_id, destination.address, process.executable
| where total_bytes_out >= {threshold}"""
NET = "from logs-endpoint.events.network-*\n| where @timestamp > now() - 24 hour\n"
QUERIES = [
    *(SEED.format(window="8 hour", threshold=t, private=PRIVATE)
      for t in (1073741824, 536870912, 268435456, 2147483648)),
    *(SEED.format(window=w, threshold=1073741824, private=PRIVATE)
      for w in ("4 hour", "12 hour", "24 hour")),
    NET + "| stats n = count(*) by event.action | sort n desc",
    NET + "| where destination.port == 3389 | stats n = count(*) by host.name | sort n desc, host.name | limit 20",
    NET + "| stats peers = count_distinct(destination.ip) by process.entity_id | sort peers desc, process.entity_id | limit 10",
    NET + "| stats bytes = sum(source.bytes) by host.name | sort bytes desc",
    NET + "| where destination.port in (22, 445, 3389) | stats n = count(*) by process.executable, destination.port",
    NET + '| where network.transport == "udp" | stats n = count(*) by destination.port | sort n desc',
    NET + "| stats n = count(*) by destination.port | sort n desc, destination.port | limit 10",
    NET + "| stats biggest = max(source.bytes) by process.executable",
    NET + f"| where CIDR_MATCH(destination.ip, {PRIVATE}) | stats n = count(*) by host.name",
    NET + '| where process.executable like "*powershell*" | stats n = count(*) by destination.address | sort n desc, destination.address | limit 20',
    NET + "| stats mean = avg(source.bytes) by host.name",
    NET + "| stats hosts = count_distinct(host.name) by destination.address | where hosts > 3 | sort hosts desc, destination.address | limit 50",
]


def library(folder):
    """The queries as hunt files in Elastic's layout, one query a file."""
    queries = folder / "network" / "queries"
    queries.mkdir(parents=True, exist_ok=True)
    for i, q in enumerate(QUERIES):
        text = q.replace("'''", "")
        (queries / f"h{i:02d}.toml").write_text(
            f'[hunt]\nname = "network hunt {i:02d}"\nuuid = "bench-{i:02d}"\nquery = [\'\'\'\n{text}\n\'\'\']\n')
    return folder


def timed(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        sys.exit(f"{cmd[:3]}... failed: {done.stderr.decode(errors='replace')}")
    return time.perf_counter() - start


def rows(lakehunt, path):
    """A findings file's rows, sorted, as CSV lines."""
    out = subprocess.run([str(lakehunt), "sql", "SELECT * FROM events", "--format", "csv", "--data", str(path)],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return out[:1] + sorted(out[1:])


def saved(results, out_csv):
    """Writes the runs to `out_csv`; each case's median."""
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "run", "seconds"])
        w.writerows(results)
    return {case: statistics.median(r[2] for r in results if r[0] == case)
            for case in ("one", "sweep", "own-scans", "separate")}


def arbitrary(query):
    """Whether the query's LIMIT comes before any SORT: it then keeps any of
    the rows, in Elasticsearch as in lakehunt (which ones may differ run to
    run), so only their number can be compared."""
    commands = [c.split(None, 1)[0].lower() for c in query.split("|")[1:] if c.strip()]
    return "limit" in commands and "sort" not in commands[:commands.index("limit")]


def elastic_library(args, lakehunt, work):
    """Elastic's hunting library over the endpoint data streams (see the docs)."""
    data = work / f"endpoint-{args.rows}"
    if not (data / "processes-00000.parquet").exists():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run([str(lakehunt), "sample", "--out", str(data), "--rows", str(args.rows),
                        "--rows-per-file", "1000000", "--as-of", AS_OF, "--processes"],
                       check=True, stdout=subprocess.DEVNULL)
    files = work / f"endpoint-{args.rows}-file"
    files.mkdir(exist_ok=True)
    for f in data.glob("processes-*.parquet"):
        if not (files / f.name).exists():
            shutil.copyfile(f, files / f.name)
    index = ["--index", f"logs-endpoint.events.network-*={data}/part-*.parquet",
             "--index", f"logs-endpoint.events.process-*={data}/processes-*.parquet",
             "--index", f"logs-endpoint.events.file-*={files}"]
    library = Path(args.library).resolve()
    one = [str(lakehunt), "run", "egress-bytes", "--data", f"{data}/part-*.parquet", "--as-of", AS_OF,
           "--out", str(work / "one.parquet"), "--quiet"]

    def sweep(lib, out, *extra):
        shutil.rmtree(out, ignore_errors=True)  # a sweep refuses a folder holding one
        return timed([str(lakehunt), "sweep", "--library", str(lib), *index, "--as-of", AS_OF,
                      "--out", str(out), "--quiet", *extra])

    # Which files have a query that runs: from a first sweep, not timed.
    sweep(library, work / "lib-sweep")
    summary = json.loads((work / "lib-sweep" / "summary.json").read_text())
    ran = [h for h in summary["hunts"] if h["status"] == "ran"]
    hunt_files = sorted({h["file"] for h in ran})
    singles = []
    for k, file in enumerate(hunt_files):
        lib = work / "single" / f"{k:03d}"
        (lib / Path(file).parent).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library / file, lib / file)
        singles.append(lib)
    results = []
    for run in range(args.runs):
        results.append(("one", run, timed(one)))
        results.append(("sweep", run, sweep(library, work / "lib-sweep")))
        results.append(("own-scans", run, sweep(library, work / "lib-own", "--no-shared-scan")))
        results.append(("separate", run, sum(sweep(lib, work / "separate" / lib.name) for lib in singles)))
    def account(out):
        """Each query's status, findings and warnings in a sweep's summary."""
        hunts = json.loads((out / "summary.json").read_text())["hunts"]
        return {(h["file"], h["query_index"]): (h["status"], h["findings"], h.get("warnings")) for h in hunts}

    shared, own = account(work / "lib-sweep"), account(work / "lib-own")
    if shared != own:
        diff = [k for k in shared if shared[k] != own.get(k)]
        sys.exit(f"FAILED: the sweep's and --no-shared-scan's summaries differ for {diff}")
    for h in ran:
        what = f"{h['file']} query {h['query_index']}"
        k = hunt_files.index(h["file"])
        outputs = [work / "lib-sweep" / h["output"], work / "lib-own" / h["output"],
                   work / "separate" / f"{k:03d}" / h["output"]]
        missing = [str(p) for p in outputs if not p.exists()]
        if missing:
            sys.exit(f"FAILED: {what}: no findings file {missing}")
        query = tomllib.loads((library / h["file"]).read_text())["hunt"]["query"][h["query_index"] - 1]
        same = (lambda a, b: len(a) == len(b)) if arbitrary(query) else (lambda a, b: a == b)
        mine = rows(lakehunt, outputs[0])
        if not same(rows(lakehunt, outputs[1]), mine):
            sys.exit(f"FAILED: {what}: the sweep differs from --no-shared-scan")
        if not same(rows(lakehunt, outputs[2]), mine):
            sys.exit(f"FAILED: {what}: the sweep differs from its file alone")
    out_csv = work / "sweep-library-results.csv"
    median = saved(results, out_csv)
    print(f"Elastic's library, {args.rows} network events and their processes, {len(ran)} queries of "
          f"{len(hunt_files)} files ran ({len(summary['hunts'])} in the library), {args.runs} runs (medians):")
    print(f"  the seed hunt alone       {median['one']:.2f} s")
    print(f"  the sweep                 {median['sweep']:.2f} s   ({median['sweep'] / median['one']:.2f}x one hunt)")
    print(f"  --no-shared-scan          {median['own-scans']:.2f} s   ({median['own-scans'] / median['one']:.2f}x)")
    print(f"  a process per hunt file   {median['separate']:.2f} s   (sweep / these {median['sweep'] / median['separate']:.2f})")
    print(f"every query's findings equal its own scan's and its file's alone (by count where a LIMIT comes "
          f"before any SORT; warnings: its own scan's); runs in {out_csv}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lakehunt", default=str(ROOT / "target" / "release" / "lakehunt"))
    parser.add_argument("--work", default=str(ROOT / "target" / "sweep-bench"))
    parser.add_argument("--tiny", action="store_true", help="100k events, one run: checks only")
    parser.add_argument("--library", help="a checkout of Elastic's hunting library to sweep instead")
    args = parser.parse_args()
    if args.tiny:
        args.rows, args.runs = 100_000, 1
    lakehunt = Path(args.lakehunt)
    if not lakehunt.exists():
        sys.exit(f"{lakehunt} does not exist: build it (cargo build --release) or pass --lakehunt")
    work = Path(args.work)
    if args.library:
        work.mkdir(parents=True, exist_ok=True)
        elastic_library(args, lakehunt, work)
        return
    data = work / f"events-{args.rows}"
    if not (data / "part-00000.parquet").exists():
        subprocess.run([str(lakehunt), "sample", "--out", str(data), "--rows", str(args.rows),
                        "--rows-per-file", "1000000", "--as-of", AS_OF], check=True, stdout=subprocess.DEVNULL)
    lib = library(work / "library")
    one = [str(lakehunt), "run", "egress-bytes", "--data", str(data), "--as-of", AS_OF,
           "--out", str(work / "one.parquet"), "--quiet"]
    sweep = [str(lakehunt), "sweep", "--library", str(lib), "--hunts", "egress-bytes", "--data", str(data),
             "--as-of", AS_OF, "--out", str(work / "sweep"), "--quiet"]
    own = sweep[:-2] + [str(work / "sweep-own"), "--quiet", "--no-shared-scan"]
    alone = [[str(lakehunt), "esql", "--file", str(work / "esql" / f"h{i:02d}.esql"),
              "--data", str(data), "--as-of", AS_OF, "--out", str(work / "alone" / f"h{i:02d}.parquet")]
             for i in range(len(QUERIES))]
    (work / "alone").mkdir(parents=True, exist_ok=True)
    (work / "esql").mkdir(parents=True, exist_ok=True)
    for i, q in enumerate(QUERIES):
        (work / "esql" / f"h{i:02d}.esql").write_text(q)
    results = []
    for run in range(args.runs):
        results.append(("one", run, timed(one)))
        shutil.rmtree(work / "sweep", ignore_errors=True)  # a sweep refuses a folder holding one
        results.append(("sweep", run, timed(sweep)))
        shutil.rmtree(work / "sweep-own", ignore_errors=True)
        results.append(("own-scans", run, timed(own)))
        results.append(("separate", run, sum(timed(cmd) for cmd in alone) + timed(one)))
    # Same findings, query by query.
    summary = json.loads((work / "sweep" / "summary.json").read_text())
    ran = [h for h in summary["hunts"] if h["status"] == "ran"]
    if len(ran) != len(QUERIES) + 1:
        sys.exit(f"FAILED: {len(ran)} of {len(QUERIES) + 1} queries ran: {summary}")
    for i in range(len(QUERIES)):
        mine = rows(lakehunt, work / "sweep" / "network" / f"h{i:02d}__1.parquet")
        theirs = rows(lakehunt, work / "alone" / f"h{i:02d}.parquet")
        if mine != theirs:
            sys.exit(f"FAILED: query h{i:02d}: the sweep's findings differ from the query run alone")
        if rows(lakehunt, work / "sweep-own" / "network" / f"h{i:02d}__1.parquet") != theirs:
            sys.exit(f"FAILED: query h{i:02d}: the sweep without a shared scan differs from the query alone")
    if rows(lakehunt, work / "sweep" / "lakehunt" / "egress-bytes__1.parquet") != rows(lakehunt, work / "one.parquet"):
        sys.exit("FAILED: the shipped hunt's findings differ in the sweep")
    out_csv = work / "sweep-results.csv"
    median = saved(results, out_csv)
    print(f"{args.rows} events, {len(QUERIES) + 1} queries, {args.runs} runs (medians):")
    print(f"  one hunt alone      {median['one']:.2f} s")
    print(f"  the sweep           {median['sweep']:.2f} s   ({median['sweep'] / median['one']:.2f}x one hunt; goal <= 3)")
    print(f"  --no-shared-scan    {median['own-scans']:.2f} s   ({median['own-scans'] / median['one']:.2f}x one hunt)")
    print(f"  separate processes  {median['separate']:.2f} s   (sweep / separate {median['sweep'] / median['separate']:.2f})")
    print(f"every query's findings equal its own run's; runs in {out_csv}")


if __name__ == "__main__":
    main()
