#!/usr/bin/env python3
"""The seed hunt over a lake in S3: lakehunt against DuckDB with httpfs, over
the same objects on the same local S3 server, with the requests and bytes
each one fetches, and how both grow with each request's latency.

    python3 benches/s3.py                 # 10M events, 5 interleaved runs, then +20 ms a request
    python3 benches/s3.py --rows 2000000 --runs 3 --latency-ms 50
    python3 benches/s3.py --tiny          # 100k events, one run: checks only (CI)
    python3 benches/s3.py --runs 1 --latency-runs 0 --trace   # every request, to compare

Steps: a virtual environment (benches/.venv-s3) with moto's S3 server, DuckDB,
and its inet and httpfs extensions from their wheels (nothing downloaded at
run time); `lakehunt sample` writes the events in Amazon Security Lake's
layout (region=/accountId=/eventDay=, 1M-event files); they go up to a moto
server on loopback; then each engine runs the hunt as a whole process,
through a small proxy of this script's that counts requests and the bytes
sent back, and can hold each request back (--latency-ms) as a distant store
would.

- lakehunt gets the lake's root (s3://bench/sl/): it lists the window's date
  folders itself.
- DuckDB gets the one day folder that holds the window (the most it could
  be told), read with read_parquet over httpfs, the peer benchmark's query.

Prints each engine's median wall time, the ratio lakehunt / DuckDB (issue
19's goal: at most 0.5), requests and MB fetched per run, at no added
latency and at --latency-ms; every run in a CSV. Both engines' findings must
be equal. Build lakehunt for speed first (`cargo build --release`).
"""

import argparse
import asyncio
import csv
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peers"))
from run import AS_OF, findings, venv_python  # noqa: E402  (the peer benchmark's helpers)

REQUIREMENTS = """\
moto[server]==5.2.5
duckdb==1.4.4
duckdb-ext-inet==1.4.4.20260205
duckdb-ext-httpfs==1.4.4.20260205
"""
BUCKET = "bench"
DAY = "region=us-east-1/accountId=111111111111/eventDay=20260115"


def environment(offline_ok):
    """benches/.venv-s3's Python, with moto and DuckDB; None if they cannot install."""
    return venv_python(HERE / ".venv-s3", REQUIREMENTS, offline_ok)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """TCP proxy on loopback in front of the S3 server: counts requests (each
    request head, a blank line, as GETs and HEADs carry no body) and the bytes
    sent back, and holds each request back by `delay` seconds."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.delay = 0.0
        self.requests = 0
        self.bytes_back = 0
        self.trace = None  # a list to append (method, path, range) to, when tracing
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        started.wait()

    def _serve(self, started):
        asyncio.set_event_loop(self.loop)

        async def main():
            server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
            started.set()
            async with server:
                await server.serve_forever()

        self.loop.run_until_complete(main())

    async def _client(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return

        async def upstream():
            while data := await reader.read(65536):
                heads = data.count(b"\r\n\r\n")
                if heads:
                    self.requests += heads
                    if self.trace is not None:
                        self._note(data)
                    if self.delay:
                        await asyncio.sleep(self.delay * heads)
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream():
            while data := await up_reader.read(65536):
                self.bytes_back += len(data)
                writer.write(data)
                await writer.drain()
            writer.close()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)

    def _note(self, data):
        for head in data.split(b"\r\n\r\n")[:-1]:
            lines = head.decode(errors="replace").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) < 2:
                continue
            ranges = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("range:")]
            self.trace.append((parts[0], parts[1], ranges[0] if ranges else ""))

    def reset(self):
        self.requests, self.bytes_back = 0, 0


def run_timed(cmd, env):
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
    return seconds, done.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--latency-runs", type=int, default=3)
    parser.add_argument("--lakehunt", default=str(ROOT / "target" / "release" / "lakehunt"))
    parser.add_argument("--work", default=str(ROOT / "target" / "s3-bench"))
    parser.add_argument("--trace", action="store_true",
                        help="write each engine's requests (method, path, range) of its first run "
                             "to WORK/trace-ENGINE.csv")
    parser.add_argument("--tiny", action="store_true",
                        help="100k events, one run each: checks only; skips if moto/DuckDB cannot install")
    args = parser.parse_args()
    if args.tiny:
        args.rows, args.runs, args.latency_runs = 100_000, 1, 1
    lakehunt = Path(args.lakehunt)
    if not lakehunt.exists():
        sys.exit(f"{lakehunt} does not exist: build it (cargo build --release) or pass --lakehunt")
    python = environment(offline_ok=args.tiny)
    if python is None:
        print("s3 bench: could not install moto and DuckDB; skipping")
        return
    work = Path(args.work)
    lake = work / f"sl-{args.rows}"
    if not (lake / DAY / "part-00000.parquet").exists():
        subprocess.run(
            [str(lakehunt), "sample", "--out", str(lake / DAY), "--rows", str(args.rows),
             "--rows-per-file", "1000000", "--as-of", AS_OF],
            check=True,
        )
    s3_port = free_port()
    moto = subprocess.Popen(
        [str(python.parent / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        direct = f"http://127.0.0.1:{s3_port}"
        upload = (
            "import boto3, sys, pathlib\n"
            "s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',"
            " aws_access_key_id='bench', aws_secret_access_key='bench')\n"
            "for _ in range(100):\n"
            "    try:\n"
            "        s3.create_bucket(Bucket=sys.argv[2]); break\n"
            "    except Exception:\n"
            "        import time; time.sleep(0.2)\n"
            "root = pathlib.Path(sys.argv[3])\n"
            "for f in sorted(root.rglob('*.parquet')):\n"
            "    s3.upload_file(str(f), sys.argv[2], 'sl/' + str(f.relative_to(root)),"
            " ExtraArgs={'ContentType': 'application/octet-stream'})\n"
        )
        subprocess.run([str(python), "-c", upload, direct, BUCKET, str(lake)], check=True)
        proxy = Proxy(s3_port)
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}", AWS_ALLOW_HTTP="true",
                   AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        commands = {
            "lakehunt": lambda out: [str(lakehunt), "run", "egress-bytes", "--data", f"s3://{BUCKET}/sl/",
                                     "--as-of", AS_OF, "--out", str(out), "--quiet"],
            "duckdb": lambda out: [str(python), str(HERE / "peers" / "engines.py"), "duckdb",
                                   f"s3://{BUCKET}/sl/{DAY}", "nested", AS_OF, str(out)],
        }
        results, failures = [], []
        for latency_ms, runs in [(0.0, args.runs), (args.latency_ms, args.latency_runs)]:
            proxy.delay = latency_ms / 1000
            for run in range(runs):
                for engine, command in commands.items():
                    out = work / f"{engine}-s3.csv"
                    proxy.reset()
                    tracing = args.trace and run == 0 and latency_ms == 0
                    proxy.trace = [] if tracing else None
                    seconds, code = run_timed(command(out), env)
                    if tracing:
                        with open(work / f"trace-{engine}.csv", "w", newline="") as f:
                            csv.writer(f).writerows([("method", "path", "range"), *proxy.trace])
                    if code != 0:
                        failures.append(f"{engine} at +{latency_ms:g} ms: exit {code}")
                        continue
                    results.append((engine, args.rows, latency_ms, run, seconds, proxy.requests,
                                    proxy.bytes_back))
                if run == 0 and not failures:
                    mine, theirs = findings(work / "lakehunt-s3.csv"), findings(work / "duckdb-s3.csv")
                    if mine != theirs:
                        failures.append(f"findings differ at +{latency_ms:g} ms")
                    elif not mine:
                        failures.append("no findings at all")
    finally:
        moto.terminate()
        moto.wait()
    out_csv = work / "s3-results.csv"
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["engine", "rows", "latency_ms", "run", "seconds", "requests", "bytes_fetched"])
        w.writerows(results)
    print(f"{'engine':<9} {'+ms':>4} {'median s':>9} {'requests':>9} {'MB fetched':>11} {'lakehunt / duckdb':>18}")
    for latency_ms in sorted({r[2] for r in results}):
        rows = [r for r in results if r[2] == latency_ms]
        ours = [r[4] for r in rows if r[0] == "lakehunt"]
        for engine in commands:
            mine = [r for r in rows if r[0] == engine]
            if not mine:
                continue
            median = statistics.median(r[4] for r in mine)
            ratio = statistics.median(ours) / median if ours else float("nan")
            print(f"{engine:<9} {latency_ms:>4g} {median:>9.2f} {mine[0][5]:>9} "
                  f"{mine[0][6] / 1e6:>11.1f} {ratio:>18.2f}")
    print(f"measurements: {out_csv}")
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))
    print("lakehunt's findings equal DuckDB's")


if __name__ == "__main__":
    main()
