#!/usr/bin/env python3
"""Cost follows the window: an 8-hour hunt over a 30-day archive against the
same hunt over a file holding only those 8 hours.

    python3 benches/window.py                  # 30 days, 333,333 events a day, 21 runs
    python3 benches/window.py --days 90 --runs 11
    python3 benches/window.py --tiny           # 3 small days, one run: checks only (CI)

Steps: generates the archive with `lakehunt sample`, one day per folder (`dNN/`,
time-ordered, 3 files a day of one row group each, flat ECS; each day's sample
spans 25 hours, so days overlap by one hour); writes the last 8 hours of it to
one file with `lakehunt sql ... --out`; checks both give the same findings and
that `lakehunt explain --analyze` leaves the archive's other files unopened;
then runs, interleaved run by run so a noisy machine slows every case alike:

- `8h`: the hunt over the 8-hour file;
- `archive`: the same hunt over the whole archive, as of the same instant;
- `8h-empty`, `archive-empty`: both as of a year earlier (no row in the window:
  footers, planning and process start, what the archive adds before any row);
- `archive-aligned`: the archive with a window that holds the last day's middle
  file exactly (no row group across an edge), so what the edges cost shows.

Prints each case's median wall time (whole process) and peak RSS, the ratio
archive / 8h (issue 7's target: at most 1.3), and writes every run to a CSV.
Build lakehunt for speed first (`cargo build --release`); `--lakehunt PATH`
picks another binary.
"""

import argparse
import csv
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches" / "peers"))
from run import timed  # noqa: E402  (the peer script's whole-process timing)
FIRST_DAY = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
WINDOW = dt.timedelta(hours=8)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MICROSECOND = dt.timedelta(microseconds=1)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(lakehunt, archive, days, per_day):
    """One folder per day; returns the instant the hunts run at (the last day's sample end)."""
    for day in range(days):
        folder = archive / f"d{day + 1:02d}"
        as_of = FIRST_DAY + dt.timedelta(days=day)
        if not (folder / "part-00000.parquet").exists():
            subprocess.run(
                [str(lakehunt), "sample", "--out", str(folder), "--rows", str(per_day),
                 "--rows-per-file", str(-(-per_day // 3)), "--layout", "flat",
                 "--seed", str(day + 1), "--as-of", rfc3339(as_of)],
                check=True, stdout=subprocess.DEVNULL,
            )
    return FIRST_DAY + dt.timedelta(days=days - 1)


def cut_window(lakehunt, archive, days, as_of, out):
    """The last day's events in the hunt's window, as one file."""
    if out.exists():
        return
    lo, hi = rfc3339(as_of - WINDOW), rfc3339(as_of)
    ts = "'Timestamp(Microsecond, Some(\"UTC\"))'"
    sql = (f'SELECT * FROM events WHERE "@timestamp" > arrow_cast(\'{lo}\', {ts}) '
           f'AND "@timestamp" <= arrow_cast(\'{hi}\', {ts})')
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(lakehunt), "sql", sql, "--data", str(archive / f"d{days:02d}"), "--out", str(out)],
        check=True,
    )


def time_range(lakehunt, path):
    """The least and greatest `@timestamp` of one file, in µs since the epoch."""
    sql = 'SELECT min("@timestamp") AS lo, max("@timestamp") AS hi FROM events'
    done = subprocess.run([str(lakehunt), "sql", sql, "--data", str(path), "--format", "csv"],
                          check=True, capture_output=True, text=True)
    row = next(csv.DictReader(done.stdout.splitlines()))
    micros = lambda t: (dt.datetime.fromisoformat(t.replace("Z", "+00:00")) - EPOCH) // MICROSECOND
    return micros(row["lo"]), micros(row["hi"])


def middle_file_window(lakehunt, archive, days):
    """(--as-of, --window) whose window holds the last day's middle file whole and
    no event of its neighbours: no row group across an edge. None if the gaps
    between the files are too narrow for a window of whole milliseconds."""
    day = archive / f"d{days:02d}"
    (_, before), (lo, hi), (after, _) = (
        time_range(lakehunt, day / f"part-0000{i}.parquet") for i in range(3))
    # The window is (as_of - window, as_of]: its lower edge may sit on the
    # previous file's last event, its upper edge on the middle file's last.
    for start in range(lo - 1, max(before, lo - 1000) - 1, -1):
        millis = -(-(hi - start) // 1000)
        end = start + millis * 1000
        if end < after:
            as_of = EPOCH + end * MICROSECOND
            return as_of.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), f"{millis}ms"
    return None


def findings(lakehunt, data, as_of):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "findings.csv"
        subprocess.run([str(lakehunt), "run", "egress-bytes", "--data", str(data), "--as-of", as_of,
                        "--out", str(out), "--quiet"], check=True)
        with open(out, newline="") as f:
            return sorted(tuple(r) for r in list(csv.reader(f))[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=333_333)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--lakehunt", default=str(ROOT / "target" / "release" / "lakehunt"))
    parser.add_argument("--work", default=str(ROOT / "target" / "window"))
    parser.add_argument("--csv", default=None, help="results file (default WORK/results.csv)")
    parser.add_argument("--tiny", action="store_true",
                        help="3 days of 30,000 events, one run: checks only")
    args = parser.parse_args()
    if args.tiny:
        args.days, args.rows_per_day, args.runs = 3, 30_000, 1
    if args.days < 2:
        sys.exit("--days must be at least 2")
    lakehunt = Path(args.lakehunt)
    if not lakehunt.exists():
        sys.exit(f"{lakehunt} does not exist: build it (cargo build --release) or pass --lakehunt")
    work = Path(args.work) / f"{args.days}x{args.rows_per_day}"
    archive = work / "archive"
    as_of_t = generate(lakehunt, archive, args.days, args.rows_per_day)
    as_of = rfc3339(as_of_t)
    only = work / "8h" / "part-0.parquet"
    cut_window(lakehunt, archive, args.days, as_of_t, only)

    # The same findings, and the archive's other files never opened.
    expected = findings(lakehunt, only.parent, as_of)
    got = findings(lakehunt, archive, as_of)
    if got != expected:
        sys.exit(f"the archive gives {len(got)} findings, its 8 hours {len(expected)}: they differ")
    explain = subprocess.run(
        [str(lakehunt), "explain", "egress-bytes", "--data", str(archive), "--as-of", as_of,
         "--analyze"], check=True, capture_output=True, text=True).stdout
    outside = next((l.strip() for l in explain.splitlines() if "wholly outside" in l), None)
    files = 3 * args.days
    if outside is None or f"{files - 2} files of only those, not opened" not in outside:
        sys.exit(f"expected {files - 2} of {files} files not opened; explain says: {outside}")
    print(f"{len(got)} findings, equal; {outside}")

    year_before = rfc3339(as_of_t - dt.timedelta(days=365))
    aligned = middle_file_window(lakehunt, archive, args.days)
    hunt = [str(lakehunt), "run", "egress-bytes", "--quiet"]
    cases = {
        "8h": hunt + ["--data", str(only.parent), "--as-of", as_of],
        "archive": hunt + ["--data", str(archive), "--as-of", as_of],
        "8h-empty": hunt + ["--data", str(only.parent), "--as-of", year_before],
        "archive-empty": hunt + ["--data", str(archive), "--as-of", year_before],
    }
    if aligned:
        cases["archive-aligned"] = hunt + ["--data", str(archive), "--as-of", aligned[0],
                                           "--window", aligned[1]]
        explain = subprocess.run(
            [str(lakehunt), "explain", "egress-bytes", "--data", str(archive), "--as-of",
             aligned[0], "--window", aligned[1], "--analyze"],
            check=True, capture_output=True, text=True).stdout
        if "row groups wholly inside the window: 1 " not in explain or \
                f"{files - 1} files of only those, not opened" not in explain:
            sys.exit(f"the aligned window ({aligned}) is not one whole file:\n{explain}")
    results = []
    for run in range(args.runs):
        for case, cmd in cases.items():
            seconds, rss, code = timed(cmd)
            if code != 0:
                sys.exit(f"failed: {' '.join(cmd)}")
            results.append((case, run, seconds, rss))
    out = Path(args.csv) if args.csv else work / "results.csv"
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["case", "run", "seconds", "peak_rss_mib"])
        writer.writerows(results)
    medians = {}
    print(f"\n{args.days} days, {args.rows_per_day} events a day, {args.runs} interleaved runs")
    print(f"{'case':16s} {'median ms':>10s} {'peak MiB':>9s}")
    for case in cases:
        seconds = [s for c, _, s, _ in results if c == case]
        rss = [r for c, _, _, r in results if c == case]
        medians[case] = statistics.median(seconds)
        print(f"{case:16s} {medians[case] * 1000:10.1f} {statistics.median(rss):9.0f}")
    print(f"\narchive / 8h: {medians['archive'] / medians['8h']:.3f} (target: at most 1.3)")
    print(f"before any row (archive-empty - 8h-empty): "
          f"{(medians['archive-empty'] - medians['8h-empty']) * 1000:.1f} ms")
    if aligned:
        print(f"the window's edges (archive - archive-aligned): "
              f"{(medians['archive'] - medians['archive-aligned']) * 1000:.1f} ms")
    print(f"measurements: {out}")


if __name__ == "__main__":
    main()
