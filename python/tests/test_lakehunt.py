"""The Python module against the command on the same data.

The command (`target/debug/lakehunt`, or `LAKEHUNT_BIN`) is the oracle here: its
own tests check it against brute-force hunts and hand-worked ES|QL. Each test
below asks the module and the command the same question and compares the
rows, or checks what only the module does (Arrow hand-off, warnings,
exceptions, interrupts).
"""

from __future__ import annotations

import datetime as dt
import os
import ipaddress
import json
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import duckdb
import pandas
import polars
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakehunt

REPO = pathlib.Path(__file__).resolve().parents[2]
AS_OF = "2026-01-15T12:00:00Z"
ESQL = (
    "FROM logs-endpoint.events.network-* | WHERE @timestamp > NOW() - 8 hour "
    "| STATS n = COUNT(*) BY event.action | SORT event.action"
)


def cli() -> str:
    path = os.environ.get("LAKEHUNT_BIN", str(REPO / "target" / "debug" / "lakehunt"))
    if not pathlib.Path(path).is_file():
        raise RuntimeError(f"the command is needed as the oracle: build it (cargo build --bin lakehunt) or set LAKEHUNT_BIN; {path} is missing")
    return path


def lakehunt_cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([cli(), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"lakehunt {' '.join(args)} failed: {done.stderr}"
    return done


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """30,000 sample events with process events beside them, written by the command."""
    out = tmp_path_factory.mktemp("sample")
    lakehunt_cli("sample", "--out", str(out), "--rows", "30000", "--as-of", AS_OF, "--processes")
    return out


def sorted_rows(table: pa.Table) -> list[tuple]:
    """Rows as tuples in a fixed order, strings of any Arrow layout compared as str."""
    table = table.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or str(f.type) == "string_view" else f for f in table.schema]))
    rows = [tuple(r.values()) for r in table.to_pylist()]
    return sorted(rows, key=repr)


def cli_rows(path: pathlib.Path) -> list[tuple]:
    return sorted_rows(pq.read_table(path))


def test_run_equals_the_command(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "cli.parquet"
    lakehunt_cli("run", "egress-bytes", "--data", str(data), "--as-of", AS_OF, "--out", str(out))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lakehunt.LakehuntWarning)
        r = lakehunt.run("egress-bytes", data=data, as_of=AS_OF)
    assert r.num_rows > 0
    assert sorted_rows(r.to_arrow()) == cli_rows(out)
    # The same metadata the command writes into the file's footer.
    footer = {k.decode(): v.decode() for k, v in pq.read_metadata(out).metadata.items() if k.startswith(b"lakehunt.")}
    assert r.metadata == footer
    assert r.hunt == "egress-bytes"
    assert r.as_of == dt.datetime(2026, 1, 15, 12, tzinfo=dt.timezone.utc)
    assert r.parameters["threshold"] == "1073741824"


def test_run_parameters_as_keywords_and_python_values(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "cli.parquet"
    lakehunt_cli(
        "run", "egress-bytes", "--data", str(data), "--as-of", AS_OF, "--window", "24h",
        "--threshold", "500MB", "--os", "any", "--out", str(out),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lakehunt.LakehuntWarning)
        r = lakehunt.run(
            "egress-bytes",
            data=[pathlib.Path(data)],
            as_of=dt.datetime(2026, 1, 15, 13, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            window=dt.timedelta(hours=24),
            threshold=500_000_000,
            os="any",
        )
    assert r.parameters == {"os": "any", "public_only": "list", "threshold": "500000000"}
    assert r.metadata["lakehunt.window"] == "1d"
    assert sorted_rows(r.to_arrow()) == cli_rows(out)


def test_run_on_the_embedded_sample_warns_like_the_command() -> None:
    done = lakehunt_cli("run", "egress-bytes", "--sample")
    cli_warnings = [line[len("warning: "):] for line in done.stderr.splitlines() if line.startswith("warning: ")]
    with pytest.warns(lakehunt.LakehuntWarning) as caught:
        r = lakehunt.run("egress-bytes", sample=True)
    assert [str(w.message) for w in caught] == cli_warnings
    assert r.warnings == {"malformed_destination_ip": 442, "multi_valued_category": 228}
    assert r.num_rows == 8


def test_sql_equals_the_command(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    query = 'SELECT "event.action" AS action, count(*) AS n, sum("source.bytes") AS bytes FROM events GROUP BY 1'
    out = tmp_path / "cli.parquet"
    lakehunt_cli("sql", query, "--data", str(data / "part-00000.parquet"), "--out", str(out))
    r = lakehunt.sql(query, data=str(data / "part-00000.parquet"))
    assert r.column_names == ["action", "n", "bytes"]
    assert sorted_rows(r.to_arrow()) == cli_rows(out)
    assert r.metadata["lakehunt.sql"] == query


def test_esql_equals_the_command(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "cli.parquet"
    lakehunt_cli("esql", ESQL, "--data", str(data), "--as-of", AS_OF, "--out", str(out))
    r = lakehunt.esql(ESQL, data=data, as_of=AS_OF)
    assert sorted_rows(r.to_arrow()) == cli_rows(out)
    assert r.metadata["lakehunt.esql"] == ESQL
    # Each pattern its own dataset, as --index PATTERN=PATH.
    network, processes = data / "part-00000.parquet", data / "processes-00000.parquet"
    query = "FROM logs-a*, logs-b* METADATA _index | STATS n = COUNT(*) BY _index | SORT _index"
    out = tmp_path / "indexed.parquet"
    lakehunt_cli("esql", query, "--index", f"logs-a*={network}", "--index", f"logs-b*={processes}", "--as-of", AS_OF, "--out", str(out))
    indexed = lakehunt.esql(query, index={"logs-a*": network, "logs-b*": [processes]}, as_of=AS_OF)
    assert [row["_index"] for row in indexed.to_arrow().to_pylist()] == ["logs-a*", "logs-b*"]
    assert sorted_rows(indexed.to_arrow()) == cli_rows(out)


def test_esql_lookup_join_and_range_policies_equal_the_command(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    # A lookup index beside the data, and a range policy: the command's rows.
    owners = tmp_path / "owners.parquet"
    lakehunt_cli(
        "esql",
        'ROW destination.address = ["s3.amazonaws.com", "updates.example.net"] | MV_EXPAND destination.address '
        '| EVAL owner = CASE(destination.address == "s3.amazonaws.com", "storage", "web")',
        "--out",
        str(owners),
    )
    nets = tmp_path / "nets.csv"
    nets.write_text("network,zone\n0.0.0.0/1,low\n128.0.0.0/1,high\n")
    query = (
        "FROM logs-* | STATS n = COUNT(*) BY destination.address, destination.ip "
        "| LOOKUP JOIN owners ON destination.address | ENRICH nets ON destination.ip "
        "| WHERE owner IS NOT NULL | SORT destination.address, destination.ip | LIMIT 20"
    )
    out = tmp_path / "cli.parquet"
    lakehunt_cli(
        "esql", query, "--data", str(data), "--index", f"owners={owners}", "--enrich-range", f"nets={nets}",
        "--as-of", AS_OF, "--out", str(out),
    )
    r = lakehunt.esql(query, data=data, index={"owners": owners}, enrich_range={"nets": nets}, as_of=AS_OF)
    rows = r.to_arrow().to_pylist()
    assert rows and {row["owner"] for row in rows} <= {"storage", "web"}
    def zone(text: str) -> str | None:  # the oracle: Python's ipaddress
        ip = ipaddress.ip_address(text)
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if ip.version == 6:
            return None
        return "low" if ip in ipaddress.ip_network("0.0.0.0/1") else "high"

    assert any(row["zone"] for row in rows)
    assert all(row["zone"] == zone(row["destination.ip"]) for row in rows)
    assert sorted_rows(r.to_arrow()) == cli_rows(out)


def test_esql_default_limit(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    query = "FROM logs-* | KEEP source.port"
    out = tmp_path / "all.parquet"
    lakehunt_cli("esql", query, "--data", str(data), "--as-of", AS_OF, "--out", str(out))
    assert lakehunt.esql(query, data=data, as_of=AS_OF).num_rows == pq.read_metadata(out).num_rows > 1000
    limited = lakehunt.esql(query, data=data, as_of=AS_OF, esql_default_limit=True)
    assert limited.num_rows == 1000
    assert limited.metadata["lakehunt.esql_limit"] == "1000 (ES|QL's default)"


def test_schema_and_hunts_equal_the_command(data: pathlib.Path) -> None:
    import json

    done = lakehunt_cli("schema", "--data", str(data), "--format", "json")
    assert lakehunt.schema(data) == json.loads(done.stdout)
    hunts = lakehunt.hunts()
    ids = [h["id"] for h in hunts]
    listed = [line.split()[0] for line in lakehunt_cli("hunts").stdout.splitlines() if line.strip()]
    assert ids == listed
    egress = next(h for h in hunts if h["id"] == "egress-bytes")
    assert egress["window"] == "8h"
    assert set(egress["parameters"]) == {"os", "public_only", "threshold"}
    assert "destination.ip" in egress["fields"]


def test_sample_writes_what_the_command_writes(tmp_path: pathlib.Path) -> None:
    written = lakehunt.sample(tmp_path / "py", rows=5000, seed=7, as_of=AS_OF, processes=True)
    lakehunt_cli("sample", "--out", str(tmp_path / "cli"), "--rows", "5000", "--seed", "7", "--as-of", AS_OF, "--processes")
    assert written["rows"] == 5000
    assert written["process_events"] > 0
    for path in written["files"] + written["process_files"]:
        name = pathlib.Path(path).name
        assert pq.read_table(path).equals(pq.read_table(tmp_path / "cli" / name)), name


def test_backfill_equals_the_command(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    args = dict(start="2026-01-14T12:00:00Z", end=AS_OF, window="4h", threshold="100MB", os="any")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lakehunt.LakehuntWarning)
        summary = lakehunt.backfill("egress-bytes", data, out=tmp_path / "py", **args)
    lakehunt_cli(
        "backfill", "egress-bytes", "--data", str(data), "--from", args["start"], "--to", AS_OF,
        "--window", "4h", "--threshold", "100MB", "--os", "any", "--out", str(tmp_path / "cli"), "--quiet",
    )
    assert summary["windows"] == 6
    assert summary["findings"] > 0
    py_files = sorted(p.relative_to(tmp_path / "py") for p in (tmp_path / "py").rglob("*.parquet"))
    cli_files = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*.parquet"))
    assert py_files == cli_files and py_files
    for rel in py_files:
        assert cli_rows(tmp_path / "py" / rel) == cli_rows(tmp_path / "cli" / rel)
    again = lakehunt.backfill("egress-bytes", data, out=tmp_path / "py", resume=True, **args)
    assert again["resumed_days"] == again["days"]


def test_sweep_equals_the_command(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    summary = lakehunt.sweep(tmp_path / "py", data, hunts=["all"], as_of=AS_OF)
    lakehunt_cli("sweep", "--hunts", "all", "--data", str(data), "--as-of", AS_OF, "--out", str(tmp_path / "cli"), "--quiet")
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary == json.loads((tmp_path / "py" / "summary.json").read_text())
    # Everything but the timings is the command's.
    def untimed(s: dict) -> dict:
        return {**s, "hunts": [{k: v for k, v in h.items() if k != "seconds"} for h in s["hunts"]]}

    assert untimed(summary) == untimed(cli)
    ran = [h for h in summary["hunts"] if h["status"] == "ran"]
    assert len(ran) == len(summary["hunts"]) and sum(h["findings"] for h in ran) > 0
    for h in ran:
        assert cli_rows(tmp_path / "py" / h["output"]) == cli_rows(tmp_path / "cli" / h["output"])
    # One query at a time, and windows, find the same.
    alone = lakehunt.sweep(tmp_path / "alone", data, hunts=["all"], as_of=AS_OF, shared_scan=False)
    assert [h["findings"] for h in alone["hunts"]] == [h["findings"] for h in ran]
    windows = lakehunt.sweep(tmp_path / "w", data, hunts=["egress-bytes"], start="2026-01-15T00:00:00Z", end=AS_OF, every="4h")
    assert windows["windows"] == ["2026-01-15T04:00:00Z", "2026-01-15T08:00:00Z", AS_OF]
    assert [w["as_of"] for w in windows["hunts"][0]["windows"]] == windows["windows"]
    # The last window is the single sweep's instant: the same findings.
    last = windows["hunts"][0]["windows"][-1]
    egress = next(h for h in ran if h["file"] == "lakehunt:egress-bytes")
    assert cli_rows(tmp_path / "w" / last["output"]) == cli_rows(tmp_path / "py" / egress["output"])
    with pytest.raises(lakehunt.InputError, match="no hunts to sweep"):
        lakehunt.sweep(tmp_path / "none", data)
    with pytest.raises(lakehunt.InputError, match="start= and end= together"):
        lakehunt.sweep(tmp_path / "half", data, hunts=["all"], start="2026-01-15T00:00:00Z")


def test_results_are_arrow_without_a_copy(data: pathlib.Path) -> None:
    r = lakehunt.sql('SELECT "source.port" AS port, "process.name" AS name FROM events ORDER BY port LIMIT 1000', data=data)
    a, b = pa.table(r), pa.table(r)
    # Two imports of the same result point at the same memory: nothing was copied.
    assert a.column("port").chunk(0).buffers()[1].address == b.column("port").chunk(0).buffers()[1].address
    assert a.num_rows == 1000
    reader = r.to_reader()
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.read_all().equals(a)
    # polars and DuckDB take the object itself (the PyCapsule interface), not pyarrow's table.
    frame = polars.DataFrame(r)
    assert frame.shape == (1000, 2)
    assert frame["port"].to_list() == a.column("port").to_pylist()
    assert duckdb.sql("SELECT count(*), min(port), max(port) FROM r").fetchall() == [
        (1000, min(a.column("port").to_pylist()), max(a.column("port").to_pylist()))
    ]
    assert isinstance(r.to_polars(), polars.DataFrame)
    assert isinstance(r.to_pandas(), pandas.DataFrame)
    assert len(r) == 1000


def test_write_matches_the_command_output(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lakehunt.LakehuntWarning)
        r = lakehunt.run("egress-bytes", data=data, as_of=AS_OF)
    r.write(tmp_path / "f.parquet")
    r.write(str(tmp_path / "f.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "f.parquet"]
    assert cli_rows(tmp_path / "f.parquet") == sorted_rows(r.to_arrow())
    assert pq.read_metadata(tmp_path / "f.parquet").metadata[b"lakehunt.hunt"] == b"egress-bytes"
    with pytest.raises(lakehunt.InputError, match="cannot tell the format"):
        r.write(tmp_path / "f.xyz")
    with pytest.raises(lakehunt.RunError, match="missing-folder"):
        r.write(tmp_path / "missing-folder" / "f.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "f.parquet"]


def test_repr_escapes_hostile_text(data: pathlib.Path) -> None:
    r = lakehunt.sql("SELECT '<script>alert(1)</script>' || chr(27) || '[31m' || chr(8238) AS name", data=data)
    html = r._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\x1b" not in html and "\\u{1b}" in html and "\\u{202e}" in html
    text = repr(r)
    assert "\x1b" not in text and "\\u{1b}" in text
    # The data itself keeps the exact characters.
    assert r.to_arrow().column("name")[0].as_py() == "<script>alert(1)</script>\x1b[31m\u202e"


def test_errors_are_typed_with_the_commands_message(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    with pytest.raises(lakehunt.InputError, match=r"unknown hunt 'nope'"):
        lakehunt.run("nope", data=data)
    with pytest.raises(lakehunt.InputError, match=r"invalid value for threshold"):
        lakehunt.run("egress-bytes", data=data, threshold="lots")
    with pytest.raises(lakehunt.InputError, match=r"has no such parameter"):
        lakehunt.run("egress-bytes", data=data, colour="red")
    with pytest.raises(lakehunt.InputError, match=r"no time zone"):
        lakehunt.run("egress-bytes", data=data, as_of=dt.datetime(2026, 1, 15))
    with pytest.raises(lakehunt.InputError, match=r"no such file or directory: .*nowhere"):
        lakehunt.sql("SELECT 1", data=tmp_path / "nowhere")
    with pytest.raises(lakehunt.InputError, match=r"no events given"):
        lakehunt.sql("SELECT 1")
    with pytest.raises(lakehunt.InputError, match=r"ES\|QL, at 1:"):
        lakehunt.esql("FROM x | WHERE", data=data)
    with pytest.raises(lakehunt.InputError, match=r"memory_limit"):
        lakehunt.sql("SELECT 1", data=data, memory_limit="0")
    with pytest.raises(lakehunt.InputError, match=r"read-only|not allowed|refused"):
        lakehunt.sql(f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'", data=data)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(lakehunt.InputError, match=r"bad\.parquet"):
        lakehunt.sql("SELECT 1", data=bad)
    with pytest.raises(lakehunt.RunError, match=r"(?i)divide by zero|division by zero"):
        lakehunt.sql('SELECT sum("source.port") / 0 FROM events', data=data)
    with pytest.raises(lakehunt.InputError, match=r"invalid value for end"):
        lakehunt.backfill("egress-bytes", data, start=AS_OF, end=None, out=tmp_path / "b")
    with pytest.raises(lakehunt.InputError, match=r"not both"):
        lakehunt.run("egress-bytes", data=data, sample=True)
    assert issubclass(lakehunt.InputError, lakehunt.LakehuntError)
    assert issubclass(lakehunt.RunError, lakehunt.LakehuntError)


def test_the_gil_is_released_while_a_run_works(data: pathlib.Path) -> None:
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    started = time.perf_counter()
    lakehunt.sql(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3000) SELECT count(*) FROM r",
        data=data,
    )
    elapsed = time.perf_counter() - started
    done.set()
    counter.join()
    # A held GIL would leave the counter at a handful of ticks for the whole run.
    assert elapsed > 0.2, "the query should take a while in a debug build"
    assert ticks > elapsed * 100


def test_interrupt_cancels_the_run_and_cleans_up(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    spill = tmp_path / "spill"
    spill.mkdir()
    script = textwrap.dedent(
        f"""
        import signal, sys, time
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import lakehunt
        print("started", flush=True)
        try:
            lakehunt.sql(
                "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100000000) "
                "SELECT count(*) FROM r",
                data={str(data)!r}, tmp_dir={str(spill)!r})
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    time.sleep(2)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    code = child.wait(timeout=30)
    assert code == 130, child.stdout.read()
    assert time.monotonic() - sent < 10
    assert child.stdout.read().strip() == "interrupted"
    assert list(spill.iterdir()) == []


def test_help_teaches() -> None:
    doc = lakehunt.run.__doc__ or ""
    assert "egress-bytes" in doc and "threshold" in doc and "as_of" in doc
    assert "LakehuntWarning" in (lakehunt.__doc__ or "")
    for name in lakehunt.__all__:
        assert getattr(lakehunt, name).__doc__, name


def test_date_folders_as_the_command(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    lakehunt_cli("sample", "--out", str(lake / "dt=2026-01-14"), "--rows", "20000", "--as-of", AS_OF)
    lakehunt_cli("sample", "--out", str(lake / "dt=2026-01-15"), "--rows", "10", "--as-of", AS_OF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lakehunt.LakehuntWarning)
        # dt= may be a local or ingest day: read unless declared.
        assert lakehunt.run("egress-bytes", data=lake, as_of=AS_OF).num_rows > 0
        assert lakehunt.run("egress-bytes", data=lake, as_of=AS_OF, date_folders=["dt"]).num_rows == 0
        assert lakehunt.run("egress-bytes", data=lake, as_of=AS_OF, date_folders="dt", date_pruning=False).num_rows > 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    import socket

    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"{what} exited before listening"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"{what} did not listen on {port} within 60 s"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A scheduler and one executor of the command, on loopback; stopped after."""
    port, flight = _free_port(), _free_port()
    work = tmp_path_factory.mktemp("executor")
    procs = [subprocess.Popen([cli(), "scheduler", "--bind", f"127.0.0.1:{port}", "--executor-timeout", "10"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_listening(port, procs[0], "the scheduler")
        procs.append(subprocess.Popen(
            [cli(), "executor", "--scheduler", f"127.0.0.1:{port}", "--port", str(flight),
             "--concurrent-tasks", "2", "--work-dir", str(work)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_listening(flight, procs[1], "the executor")
        yield f"df://127.0.0.1:{port}"
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_cluster_runs_give_the_local_rows_and_warnings(data: pathlib.Path, cluster: str) -> None:
    # A hunt (its data checks) and ES|QL (its warnings, counted on the
    # executor): the same rows and the same warnings as here.
    query = (
        "FROM logs-* | EVAL z = source.port - source.port "
        "| STATS n = COUNT(*), q = SUM(source.bytes / z) BY event.action | SORT event.action"
    )
    for call, warned in (
        (lambda **kw: lakehunt.run("egress-bytes", data=str(data), as_of=AS_OF, window="24h", **kw), True),
        (lambda **kw: lakehunt.esql(query, data=str(data), as_of=AS_OF, **kw), True),
        (lambda **kw: lakehunt.sql("SELECT count(*) AS n FROM events", data=str(data), **kw), False),
    ):
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            local = call()
            remote = call(cluster=cluster)
        local_rows = local.to_arrow().to_pylist()
        assert local_rows
        assert sorted(remote.to_arrow().to_pylist(), key=repr) == sorted(local_rows, key=repr)
        assert bool(local.warnings) == warned, local.warnings
        assert remote.warnings == local.warnings


def test_cluster_urls_are_checked() -> None:
    with pytest.raises(lakehunt.InputError, match="invalid value for cluster"):
        lakehunt.sql("SELECT 1", data=[], cluster="http://host:1")
    port = _free_port()
    with pytest.raises(lakehunt.RunError, match=f"cluster df://127.0.0.1:{port}: connection refused"):
        lakehunt.run("egress-bytes", sample=True, cluster=f"df://127.0.0.1:{port}")


def test_row_queries_need_no_data() -> None:
    # Elastic's MV_MEDIAN example; the command gives the same row.
    t = lakehunt.esql("ROW a = [3, 7, 1, 6] | EVAL m = MV_MEDIAN(a) | KEEP m").to_arrow()
    assert t.to_pylist() == [{"m": 4}]
    assert lakehunt_cli("esql", "ROW a = [3, 7, 1, 6] | EVAL m = MV_MEDIAN(a) | KEEP m", "--format", "csv").stdout == "m\n4\n"
    with pytest.raises(lakehunt.InputError, match="no events given"):
        lakehunt.esql("FROM logs-* | LIMIT 1")
