#!/usr/bin/env python3
"""lakehunt against DuckDB (inet), chDB (ClickHouse) and Polars on the egress hunt.

    python3 benches/peers/run.py                 # 10M events, nested and flat, 5 runs
    python3 benches/peers/run.py --rows 100000000 --layouts nested
    python3 benches/peers/run.py --tiny          # correctness only (CI)
    sudo python3 benches/peers/run.py --cache both   # warm and cold page cache

Steps: creates a virtual environment (benches/peers/.venv) with the pinned peers
of requirements.txt; generates the datasets with `lakehunt sample` (zstd, time
ordered, 1M rows per file, 128Ki-row row groups) unless present; runs each
engine as a whole process, interleaved run by run so that a noisy machine
slows every engine alike; checks every engine's findings equal lakehunt's;
prints per engine the median wall time, the peak RSS and the ratio to lakehunt,
and writes every measurement to a CSV.

`--cache cold` drops the page cache (`sync`, then 1 into
/proc/sys/vm/drop_caches: root only) before every timed run, so that each
engine reads the Parquet files, and loads its own binary and libraries, from
the disk; `--cache both` runs each engine cold, then warm.

Build lakehunt for speed first (`cargo build --release`); `--lakehunt PATH`
picks another binary.
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
AS_OF = "2026-01-15T12:00:00Z"
PEERS = ["duckdb", "chdb", "polars"]


def venv_python(env_dir, requirements, offline_ok):
    """The Python of the virtual environment `env_dir`, with `requirements`
    (a requirements file's text) installed; reinstalled when they change.
    None if they cannot be installed and `offline_ok`."""
    python = env_dir / "bin" / "python"
    stamp = env_dir / "installed.txt"
    if not python.exists():
        try:
            venv.create(env_dir, with_pip=True)
        except Exception as e:  # no ensurepip on this Python, say
            if offline_ok:
                print(f"cannot create a virtual environment in {env_dir} ({e})")
                return None
            raise
    if not stamp.exists() or stamp.read_text() != requirements:
        (env_dir / "requirements.txt").write_text(requirements)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(env_dir / "requirements.txt")],
            check=False,
        )
        if done.returncode != 0:
            if offline_ok:
                return None
            sys.exit(f"could not install {env_dir}'s packages (pip failed; see above)")
        stamp.write_text(requirements)
    return python


def peers_python(offline_ok):
    """The venv's Python, with the pinned peers installed; None if they cannot be."""
    return venv_python(HERE / ".venv", (HERE / "requirements.txt").read_text(), offline_ok)


def generate(lakehunt, path, rows, layout):
    if (path / "part-00000.parquet").exists():
        return
    subprocess.run(
        [str(lakehunt), "sample", "--out", str(path), "--rows", str(rows), "--layout", layout,
         "--as-of", AS_OF, "--rows-per-file", "1000000"],
        check=True,
    )


def timed(cmd):
    """Runs cmd; returns (seconds, peak RSS in MiB, exit code)."""
    # stderr goes to a file: a pipe could fill up while we wait for the child.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        errors.seek(0)
        err = errors.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(err)
    return seconds, usage.ru_maxrss / 1024, code


def drop_page_cache():
    """Empties the page cache (clean pages only, after writing the dirty ones
    back); exits with the reason where this process may not."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
    except OSError as e:
        sys.exit(f"--cache cold needs to write /proc/sys/vm/drop_caches (root, outside a "
                 f"read-only /proc): {e}")


def findings(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return sorted((e, a, x, int(t)) for e, a, x, t in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--layouts", default="nested,flat")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="lakehunt," + ",".join(PEERS))
    parser.add_argument("--lakehunt", default=str(ROOT / "target" / "release" / "lakehunt"))
    parser.add_argument("--work", default=str(ROOT / "target" / "peers"))
    parser.add_argument("--csv", default=None, help="results file (default WORK/results.csv)")
    parser.add_argument("--cache", choices=["warm", "cold", "both"], default="warm",
                        help="warm: as the files are after the last run; cold: page cache dropped "
                             "before each timed run (root); both: cold, then warm, per engine and run")
    parser.add_argument("--tiny", action="store_true",
                        help="200k events, one run, correctness only")
    parser.add_argument("--peers-optional", action="store_true",
                        help="say so and exit 0 when the peers cannot be installed (offline machines); "
                             "without it that is a failure")
    args = parser.parse_args()
    if args.tiny:
        args.rows, args.runs = 200_000, 1
    lakehunt = Path(args.lakehunt)
    if not lakehunt.exists():
        sys.exit(f"{lakehunt} does not exist: build it (cargo build --release) or pass --lakehunt")
    python = peers_python(offline_ok=args.peers_optional)
    if python is None:
        print("peers: could not install duckdb/chdb/polars; NOT checked (--peers-optional)")
        return
    engines = args.engines.split(",")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    failures = []
    # Cold first: the warm run then finds what the engine's cold run read
    # (its files, its binary and libraries) in the page cache.
    caches = ["cold", "warm"] if args.cache == "both" else [args.cache]
    for layout in args.layouts.split(","):
        data = work / f"{layout}-{args.rows}"
        generate(lakehunt, data, args.rows, layout)
        commands = {
            "lakehunt": lambda out: [str(lakehunt), "run", "egress-bytes", "--data", str(data),
                                     "--as-of", AS_OF, "--out", str(out), "--quiet"],
        }
        for peer in PEERS:
            commands[peer] = (lambda peer: lambda out: [
                str(python), str(HERE / "engines.py"), peer, str(data), layout, AS_OF, str(out)])(peer)
        # Interleaved: each run, each engine, cold then warm.
        for run, engine, cache in ((r, e, c) for r in range(args.runs) for e in engines for c in caches):
            out = work / f"{engine}-{layout}.csv"
            # An earlier run's file must never stand in for this one's.
            out.unlink(missing_ok=True)
            if cache == "cold":
                drop_page_cache()
            seconds, rss, code = timed(commands[engine](out))
            if code != 0:
                failures.append(f"{engine} {layout} ({cache}): exit {code}")
                continue
            if not out.exists():
                failures.append(f"{engine} {layout} ({cache}): exit 0 but no findings file")
                continue
            results.append((engine, layout, args.rows, run, cache, seconds, rss))
            if run == 0 and engine != "lakehunt":
                ours = work / f"lakehunt-{layout}.csv"
                if not ours.exists():
                    failures.append(f"{engine} {layout}: lakehunt's own run failed; nothing to compare")
                    continue
                mine = findings(ours)
                if findings(out) != mine:
                    failures.append(f"{engine} {layout}: findings differ from lakehunt's")
                elif not mine:
                    failures.append(f"{layout}: no findings at all")
    out_csv = Path(args.csv) if args.csv else work / "results.csv"
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["engine", "layout", "rows", "run", "cache", "seconds", "peak_rss_mib"])
        w.writerows(results)
    print(f"{'engine':<10} {'layout':<7} {'cache':<6} {'median s':>9} {'peak MiB':>9} "
          f"{'lakehunt / engine':>18}")
    for layout in args.layouts.split(","):
        for cache in caches:
            def measured(engine, column):
                return [r[column] for r in results if r[:2] == (engine, layout) and r[4] == cache]
            ours = measured("lakehunt", 5)
            for engine in engines:
                times, rss = measured(engine, 5), measured(engine, 6)
                if not times:
                    continue
                ratio = statistics.median(ours) / statistics.median(times) if ours else float("nan")
                print(f"{engine:<10} {layout:<7} {cache:<6} {statistics.median(times):>9.2f} "
                      f"{max(rss):>9.0f} {ratio:>18.2f}")
    print(f"measurements: {out_csv}")
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))
    print("every engine's findings equal lakehunt's")


if __name__ == "__main__":
    main()
