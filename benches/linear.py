#!/usr/bin/env python3
"""Time per scanned row of the egress hunt at several sizes: is the cost linear?

    python3 benches/linear.py                        # 10M, 30M, 100M flat events, 7 runs
    python3 benches/linear.py --sizes 10000000,30000000 --runs 9
    python3 benches/linear.py --tiny                 # 100k and 300k events, one run (CI)

Generates the datasets with `lakehunt sample` as `benches/peers/run.py` does (the
same folders, so either script reuses the other's; the 100M set takes 3.6 GB),
reads each one's scanned rows from `lakehunt explain --analyze` ("read: N of M
rows"), then runs the hunt over each size, interleaved run by run, with the
sample's window and with an empty one (what a run costs before any row). Prints
the median wall time, ns per scanned row with and without that fixed cost, and
the spread (largest over smallest, minus one; issue 7's target: at most 20%).
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))
from run import AS_OF, findings, generate, timed  # noqa: E402  (the peer script's datasets, timing, findings)

EMPTY_AS_OF = "2020-01-15T12:00:00Z"


def scanned_rows(lakehunt, data):
    explain = subprocess.run(
        [str(lakehunt), "explain", "egress-bytes", "--data", str(data), "--as-of", AS_OF,
         "--analyze"], check=True, capture_output=True, text=True).stdout
    line = next((l for l in explain.splitlines() if l.strip().startswith("read:")), None)
    if line is None:
        sys.exit(f"explain --analyze over {data} printed no 'read:' line")
    return int(line.split()[1])


def wall(cmd):
    seconds, _, code = timed(cmd)
    if code != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000000,30000000,100000000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lakehunt", default=str(HERE.parent / "target" / "release" / "lakehunt"))
    parser.add_argument("--work", default=str(HERE.parent / "target" / "peers"))
    parser.add_argument("--tiny", action="store_true", help="100k and 300k events, one run")
    args = parser.parse_args()
    if args.tiny:
        args.sizes, args.runs = "100000,300000", 1
    lakehunt = Path(args.lakehunt)
    if not lakehunt.exists():
        sys.exit(f"{lakehunt} does not exist: build it (cargo build --release) or pass --lakehunt")
    sizes = [int(s) for s in args.sizes.split(",")]
    data = {}
    rows = {}
    for size in sizes:
        data[size] = Path(args.work) / f"flat-{size}"
        generate(lakehunt, data[size], size, "flat")
        rows[size] = scanned_rows(lakehunt, data[size])
        if rows[size] == 0:
            sys.exit(f"the hunt over {data[size]} scans no row")
    hunt = lambda size, as_of: [str(lakehunt), "run", "egress-bytes", "--data", str(data[size]),
                                "--as-of", as_of, "--quiet"]
    # What is timed must find what it should: the planted findings, the same
    # at every size (one seed plants the same groups whatever the size).
    found = {}
    for size in sizes:
        out = Path(args.work) / f"linear-findings-{size}.csv"
        out.unlink(missing_ok=True)
        wall(hunt(size, AS_OF) + ["--out", str(out)])
        found[size] = findings(out)
        if not found[size]:
            sys.exit(f"the hunt over {data[size]} found nothing; the sample plants findings")
    if any(found[size] != found[sizes[0]] for size in sizes):
        sys.exit("the hunt's findings differ between sizes: " +
                 ", ".join(f"{size}: {len(found[size])}" for size in sizes))
    print(f"findings: {len(found[sizes[0]])} at every size, the same")
    times = {size: [] for size in sizes}
    empty = {size: [] for size in sizes}
    for _ in range(args.runs):
        for size in sizes:
            times[size].append(wall(hunt(size, AS_OF)))
            empty[size].append(wall(hunt(size, EMPTY_AS_OF)))
    print(f"\n{args.runs} interleaved runs, flat layout")
    print(f"{'events':>12s} {'scanned':>11s} {'median s':>9s} {'empty s':>8s} "
          f"{'ns/row':>7s} {'ns/row less empty':>18s}")
    per_row, per_row_less = [], []
    for size in sizes:
        m, e = statistics.median(times[size]), statistics.median(empty[size])
        per_row.append(m / rows[size] * 1e9)
        per_row_less.append((m - e) / rows[size] * 1e9)
        print(f"{size:12d} {rows[size]:11d} {m:9.3f} {e:8.3f} {per_row[-1]:7.0f} "
              f"{per_row_less[-1]:18.0f}")
    spread = lambda v: max(v) / min(v) - 1
    print(f"\nspread of ns/row: {spread(per_row):.0%} ({spread(per_row_less):.0%} less the "
          f"empty window's cost); target: at most 20%")


if __name__ == "__main__":
    main()
