#!/usr/bin/env python3
"""The seed hunt locally and on a Ballista cluster of lakehunt processes.

    python3 benches/cluster.py                      # 10M nested events, 5 runs
    python3 benches/cluster.py --rows 100000000 --runs 3
    python3 benches/cluster.py --tiny               # 200k events, one run (CI)

Starts `lakehunt scheduler` and two `lakehunt executor`s on loopback (stopped at
the end), then runs the hunt locally, on the cluster with one executor
registered, and with two: one setup after the other, as an executor cannot
leave between runs. Every run's findings must equal the local
run's. Prints the median wall time of each and its ratio to the local one. On
one machine a cluster adds its costs (plan shipping, stages, shuffle files,
Flight) and no cores: expect overhead, not speed-up; the figure is the price
of the cluster's machinery per run.
"""

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))
from run import AS_OF, findings, generate, timed  # noqa: E402  (the peer script's datasets, timing)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, proc, what):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited: {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on {port} within 60 s")


class Cluster:
    """A scheduler; executors are added one at a time."""

    def __init__(self, lakehunt, work):
        self.lakehunt, self.work, self.procs = str(lakehunt), Path(work), []
        self.port = free_port()
        self.url = f"df://127.0.0.1:{self.port}"
        self.procs.append(subprocess.Popen(
            [self.lakehunt, "scheduler", "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(self.port, self.procs[0], "the scheduler")

    def add_executor(self, tasks):
        flight = free_port()
        work = self.work / f"executor-{len(self.procs)}"
        proc = subprocess.Popen(
            [self.lakehunt, "executor", "--scheduler", f"127.0.0.1:{self.port}",
             "--port", str(flight), "--work-dir", str(work),
             "--concurrent-tasks", str(tasks)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        wait_for(flight, proc, "an executor")

    def stop(self):
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--layout", default="nested")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lakehunt", default=str(HERE.parent / "target" / "release" / "lakehunt"))
    parser.add_argument("--work", default=str(HERE.parent / "target" / "peers"))
    parser.add_argument("--tiny", action="store_true", help="200k events, one run")
    args = parser.parse_args()
    if args.tiny:
        args.rows, args.runs = 200_000, 1
    lakehunt = Path(args.lakehunt).resolve()
    if not lakehunt.exists():
        sys.exit(f"{lakehunt} does not exist: build it (cargo build --release) or pass --lakehunt")
    data = (Path(args.work) / f"{args.layout}-{args.rows}").resolve()
    generate(lakehunt, data, args.rows, args.layout)
    tasks = os.cpu_count() or 2
    hunt = [str(lakehunt), "run", "egress-bytes", "--data", str(data), "--as-of", AS_OF, "--quiet"]

    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(lakehunt, tmp)
        try:
            times = {"local": [], "1 executor": [], "2 executors": []}
            expected = None
            for setup in times:
                if setup == "1 executor":
                    cluster.add_executor(tasks)
                elif setup == "2 executors":
                    cluster.add_executor(tasks)
                cmd = hunt + ([] if setup == "local" else ["--cluster", cluster.url])
                out = Path(tmp) / f"findings-{setup.replace(' ', '-')}.csv"
                seconds, _, code = timed(cmd + ["--out", str(out)])
                if code != 0:
                    sys.exit(f"failed: {' '.join(cmd)}")
                found = findings(out)
                if expected is None:
                    expected = found
                    if not expected:
                        sys.exit("the local run found nothing: nothing to compare")
                elif found != expected:
                    sys.exit(f"{setup}: {len(found)} findings differ from the local run's {len(expected)}")
                for _ in range(args.runs):
                    seconds, _, code = timed(cmd)
                    if code != 0:
                        sys.exit(f"failed: {' '.join(cmd)}")
                    times[setup].append(seconds)
        finally:
            cluster.stop()

    local = statistics.median(times["local"])
    print(f"seed hunt over {args.rows:,} {args.layout} events, {args.runs} runs each, "
          f"{tasks} tasks per executor; every setup's findings equal the local run's")
    writer = csv.writer(sys.stdout)
    writer.writerow(["setup", "median_s", "ratio_to_local", "runs_s"])
    for setup, runs in times.items():
        median = statistics.median(runs)
        writer.writerow([setup, f"{median:.3f}", f"{median / local:.2f}",
                         " ".join(f"{t:.3f}" for t in runs)])


if __name__ == "__main__":
    main()
