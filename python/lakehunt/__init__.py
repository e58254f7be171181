"""Threat hunts over archived security telemetry stored as Parquet, from Python.

The same engine as the ``lakehunt`` command, one call per notebook cell, results
as Arrow::

    import lakehunt
    t = lakehunt.run("egress-bytes", data="lake/", as_of="2026-03-01T08:00:00Z",
                     window="24h", threshold="500MB", os="any")
    t.to_polars()            # or pyarrow.table(t), t.to_pandas(), duckdb.sql("FROM t")

    lakehunt.esql('FROM logs-* | WHERE @timestamp > NOW() - 8 hour | STATS n = COUNT(*) BY host.name',
                  data="lake/", as_of="2026-03-01T08:00:00Z")
    lakehunt.sql('SELECT "event.action", count(*) FROM events GROUP BY 1', data="lake/")
    lakehunt.schema(data="lake/"); lakehunt.hunts()
    lakehunt.sample(out="s/", rows=1_000_000)
    lakehunt.backfill("egress-bytes", data="lake/", start=..., end=..., out="findings/")

``data`` takes a path, a ``pathlib.Path``, a glob (``'lake/**/*.parquet'``), an
object-store URL (``s3://bucket/prefix/``, ``gs://``, ``az://``, ``https://``) or a
list of them. Times are RFC 3339 text or timezone-aware ``datetime`` values;
durations are text (``8h``, ``30m``, ``1d``) or ``timedelta``; sizes are text
(``500MB``, ``1GiB``) or a number of bytes.

Data-quality and ES|QL warnings arrive as Python warnings of class
:class:`LakehuntWarning`; errors raise :class:`InputError` (bad input: a path, a
parameter, a hunt, a query) or :class:`RunError` (the run failed), both
:class:`LakehuntError`, with the command's one-line message. Ctrl-C (a notebook's
interrupt) cancels a run, cleans up, and raises ``KeyboardInterrupt``.

Every data-reading function also takes these settings as keywords:
``memory_limit`` (aggregations and sorts spill to disk beyond it; default half of
the machine's memory), ``target_partitions`` (parallelism; default the cores),
``batch_size``, ``tmp_dir`` (spill folder), ``schema`` (``auto``, ``ecs`` or
``ocsf``), ``anonymous`` (object stores without credentials), ``date_pruning``
(skip files in day folders outside the window; default on) and ``date_folders``
(keys besides ``eventDay`` whose folders are the events' UTC day, as
``--date-folders``).
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import os as _os
import warnings as _warnings
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Union

from . import _lakehunt
from ._lakehunt import InputError, LakehuntError, RunError

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    import polars
    import pyarrow

__version__: str = _lakehunt.__version__

__all__ = [
    "InputError",
    "LakehuntError",
    "LakehuntWarning",
    "Results",
    "RunError",
    "Stream",
    "backfill",
    "esql",
    "functions",
    "hunts",
    "register",
    "run",
    "sample",
    "schema",
    "sql",
    "sweep",
]

PathLike = Union[str, "_os.PathLike[str]"]
Data = Union[PathLike, Iterable[PathLike], None]
Instant = Union[str, _dt.datetime, None]
Duration = Union[str, _dt.timedelta, None]
Size = Union[str, int, None]


class LakehuntWarning(UserWarning):
    """A counted data-quality or ES|QL warning of a run (the command's ``warning:`` lines)."""


class Results:
    """A run's rows as Arrow, with what the run was.

    Implements the Arrow PyCapsule interface (``__arrow_c_stream__``), so
    ``pyarrow.table(r)``, ``polars.DataFrame(r)`` and DuckDB (``duckdb.sql("FROM r")``)
    take the rows without a copy. The rows are held in memory: a run collects
    its result before returning it.
    """

    __slots__ = ("_inner",)

    def __init__(self, inner: _lakehunt.Results) -> None:
        self._inner = inner

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The rows as an Arrow C stream capsule (the batches are shared, not copied)."""
        return self._inner.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> object:
        """The rows' schema as an Arrow C schema capsule."""
        return self._inner.__arrow_c_schema__()

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return self._inner.num_rows

    def __len__(self) -> int:
        return self._inner.num_rows

    @property
    def column_names(self) -> list[str]:
        """Column names, in order."""
        return self._inner.column_names

    @property
    def metadata(self) -> dict[str, str]:
        """What a findings file of this run says of it (``lakehunt.hunt``, ``lakehunt.as_of``, ...)."""
        return dict(self._inner.metadata)

    @property
    def hunt(self) -> str | None:
        """The hunt's id, for :func:`run`."""
        return self.metadata.get("lakehunt.hunt")

    @property
    def as_of(self) -> _dt.datetime | None:
        """The instant the run answered as of (``None`` for :func:`sql`)."""
        text = self.metadata.get("lakehunt.as_of")
        if text is None:
            return None
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    @property
    def parameters(self) -> dict[str, str]:
        """The hunt's bound parameters, as text (for :func:`run`)."""
        prefix = "lakehunt.param."
        return {k[len(prefix) :]: v for k, v in self.metadata.items() if k.startswith(prefix)}

    @property
    def warnings(self) -> dict[str, int]:
        """Each warning's count (the events or values it concerns)."""
        return {name: count for name, count, _ in self._inner.warnings}

    def to_arrow(self) -> "pyarrow.Table":
        """A ``pyarrow.Table`` over the same buffers."""
        import pyarrow

        return pyarrow.table(self)

    def to_reader(self) -> "pyarrow.RecordBatchReader":
        """A ``pyarrow.RecordBatchReader`` over the batches, one at a time."""
        import pyarrow

        return pyarrow.RecordBatchReader.from_stream(self)

    def to_polars(self) -> "polars.DataFrame":
        """A ``polars.DataFrame`` (through the Arrow C stream)."""
        import polars

        return polars.DataFrame(self)

    def to_pandas(self) -> "pandas.DataFrame":
        """A ``pandas.DataFrame`` (through pyarrow)."""
        return self.to_arrow().to_pandas()

    def write(self, path: PathLike, format: str | None = None) -> None:
        """Write the rows with the run's metadata, as the command's ``--out`` does.

        ``format`` is ``parquet`` or ``csv`` (default: from the extension). The
        file appears under its name only when complete; ``path`` may be an
        object-store URL (``s3://bucket/findings/x.parquet``).
        """
        self._inner.write(_os.fspath(path), format)

    def __repr__(self) -> str:
        head = f"<lakehunt.Results: {self.num_rows} rows{self._about()}>"
        shown = min(self.num_rows, 20)
        more = f"\n... {self.num_rows - shown} more rows" if self.num_rows > shown else ""
        return f"{head}\n{self._inner.text(shown)}{more}"

    def _repr_html_(self) -> str:
        import html

        shown = min(self.num_rows, 20)
        more = f"<p>... {self.num_rows - shown} more rows</p>" if self.num_rows > shown else ""
        caption = html.escape(f"{self.num_rows} rows{self._about()}")
        return f"<p><b>lakehunt</b>: {caption}</p>{self._inner.html(shown)}{more}"

    def _about(self) -> str:
        parts = []
        if self.hunt:
            parts.append(f"hunt {self.hunt}")
        meta = self.metadata
        if "lakehunt.as_of" in meta:
            parts.append(f"as of {meta['lakehunt.as_of']}")
        if "lakehunt.window" in meta:
            parts.append(f"window {meta['lakehunt.window']}")
        if self.warnings:
            parts.append("warnings " + ", ".join(f"{k} {v}" for k, v in self.warnings.items()))
        return "; " + "; ".join(parts) if parts else ""


class Stream:
    """A query's rows as they are made: ``sql(..., stream=True)``, ``esql(..., stream=True)``.

    For results larger than memory. The query runs on while the rows are read,
    a few batches ahead, and stops when the reader stops. Read it once, through
    the Arrow PyCapsule interface: ``to_reader()`` (a ``pyarrow.RecordBatchReader``),
    ``pyarrow.RecordBatchReader.from_stream(s)``, ``polars.from_arrow(s)`` or
    ``duckdb.sql("FROM s")``; ``to_arrow()`` collects it. ``close()`` (or
    ``with lakehunt.sql(..., stream=True) as s:``) stops the run early and
    removes its spill files. An error while running (a bad value deep in the
    data) surfaces in the reader; ES|QL's warnings are counted once the last
    row is read (``warnings``, and as :class:`LakehuntWarning`).
    """

    __slots__ = ("_inner", "_warned")

    def __init__(self, inner: _lakehunt.Stream) -> None:
        self._inner = inner
        self._warned = False

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The rows as an Arrow C stream capsule; only once."""
        return self._inner.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> object:
        """The rows' schema as an Arrow C schema capsule."""
        return self._inner.__arrow_c_schema__()

    @property
    def column_names(self) -> list[str]:
        """Column names, in order."""
        return self._inner.column_names

    @property
    def metadata(self) -> dict[str, str]:
        """What a file of this run would say of it (``lakehunt.sql``, ``lakehunt.as_of``, ...)."""
        return dict(self._inner.metadata)

    @property
    def consumed(self) -> bool:
        """Whether the stream was handed to a reader (or closed)."""
        return self._inner.consumed

    @property
    def warnings(self) -> dict[str, int] | None:
        """Each ES|QL warning's count, once the last row was read; ``None`` before."""
        counted = self._warn_once()
        return None if counted is None else {name: count for name, count, _ in counted}

    def _warn_once(self) -> list[tuple[str, int, str]] | None:
        """Raises the counted warnings as :class:`LakehuntWarning`, the first time they are there."""
        counted = self._inner.warnings
        if counted is not None and not self._warned:
            self._warned = True
            for _name, _count, message in counted:
                _warnings.warn(message, LakehuntWarning, stacklevel=3)
        return counted

    def to_reader(self) -> "pyarrow.RecordBatchReader":
        """A ``pyarrow.RecordBatchReader`` that pulls each batch from the run as it is read."""
        import pyarrow

        return pyarrow.RecordBatchReader.from_stream(self)

    def to_arrow(self) -> "pyarrow.Table":
        """All the rows, collected into a ``pyarrow.Table``."""
        table = self.to_reader().read_all()
        self._warn_once()
        return table

    def to_polars(self) -> "polars.DataFrame":
        """All the rows, collected into a ``polars.DataFrame``."""
        import polars

        return polars.from_arrow(self.to_arrow())

    def close(self) -> None:
        """Stops the run if it is still going; the stream can no longer be read."""
        self._inner.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "read" if self.consumed else "not read yet"
        return f"<lakehunt.Stream: columns {', '.join(self.column_names)}; {state}>"


def _fail(name: str, message: str) -> InputError:
    return InputError(f"invalid value for {name}: {message}")


def _paths(data: Data, name: str = "data") -> list[str]:
    if data is None:
        return []
    if isinstance(data, (str, _os.PathLike)):
        return [_os.fspath(data)]
    if isinstance(data, bytes):
        raise _fail(name, "give paths as str or pathlib.Path, not bytes")
    try:
        items = list(data)
    except TypeError:
        raise _fail(name, f"expected a path, a URL or a list of them, got {type(data).__name__}") from None
    out = []
    for item in items:
        if not isinstance(item, (str, _os.PathLike)):
            raise _fail(name, f"expected a path or a URL, got {type(item).__name__}")
        out.append(_os.fspath(item))
    return out


def _instant(name: str, value: Instant) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _fail(name, f"{value} has no time zone; give one (datetime.timezone.utc)")
        return value.isoformat()
    raise _fail(name, f"expected RFC 3339 text or a datetime, got {type(value).__name__}")


def _duration(name: str, value: Duration) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _dt.timedelta):
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        if micros <= 0:
            raise _fail(name, f"{value} is not a positive duration")
        if micros % 1_000:
            raise _fail(name, f"{value} is finer than a millisecond")
        return f"{micros // 1_000}ms"
    raise _fail(name, f"expected text such as '8h' or a timedelta, got {type(value).__name__}")


def _size(name: str, value: Size) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _fail(name, f"expected a number of bytes or text such as '1GiB', got {type(value).__name__}")


def _param(name: str, value: Any) -> str:
    if isinstance(value, bool):
        raise _fail(name, "expected text or a number, got a bool")
    if isinstance(value, _dt.timedelta):
        return _duration(name, value) or ""
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _fail(name, f"expected text or a number, got {type(value).__name__}")


def _env_switch(name: str) -> bool:
    value = _os.environ.get(name, "")
    return value not in ("", "0")


def _settings(
    memory_limit: Size = None,
    target_partitions: int | None = None,
    batch_size: int | None = None,
    tmp_dir: PathLike | None = None,
    schema: str = "auto",
    anonymous: bool = False,
    date_pruning: bool = True,
    date_folders: Iterable[str] = (),
    cluster: str | None = None,
) -> _lakehunt.Settings:
    if isinstance(date_folders, str):
        date_folders = [date_folders]
    return _lakehunt.Settings(
        memory_limit=_size("memory_limit", memory_limit),
        target_partitions=target_partitions,
        batch_size=batch_size,
        tmp_dir=None if tmp_dir is None else _os.fspath(tmp_dir),
        schema=schema,
        anonymous=anonymous,
        date_pruning=date_pruning,
        date_folders=list(date_folders),
        # The command's switches, so a notebook and the command agree.
        mmap=not _env_switch("LAKEHUNT_NO_MMAP"),
        threshold_pruning=not _env_switch("LAKEHUNT_NO_THRESHOLD"),
        threshold_spill=not _env_switch("LAKEHUNT_NO_THRESHOLD_SPILL"),
        compact_views=not _env_switch("LAKEHUNT_NO_COMPACT_VIEWS"),
        merge_headroom=not _env_switch("LAKEHUNT_NO_MERGE_HEADROOM"),
        spill_fan_in=not _env_switch("LAKEHUNT_NO_SPILL_FAN_IN"),
        hashed_count_distinct=not _env_switch("LAKEHUNT_NO_HASHED_COUNT_DISTINCT"),
        null_as_false=not _env_switch("LAKEHUNT_NO_NULL_AS_FALSE"),
        regex_once=not _env_switch("LAKEHUNT_NO_REGEX_ONCE"),
        shared_tests=not _env_switch("LAKEHUNT_NO_SHARED_TESTS"),
        cluster=cluster,
    )


def _lookups(
    index: Mapping[str, Data] | None,
    enrich: Mapping[str, PathLike] | None,
    enrich_range: Mapping[str, PathLike] | None,
) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str, bool]]]:
    """Index patterns with their paths, and ENRICH policies with their tables
    (``True``: a range policy), as the native module takes them."""
    indexes = [(pattern, _paths(paths, "index")) for pattern, paths in (index or {}).items()]
    enrich_list = [(policy, _os.fspath(path), False) for policy, path in (enrich or {}).items()]
    enrich_list += [(policy, _os.fspath(path), True) for policy, path in (enrich_range or {}).items()]
    return indexes, enrich_list


def _results(inner: _lakehunt.Results) -> Results:
    results = Results(inner)
    for _name, _count, message in inner.warnings:
        _warnings.warn(message, LakehuntWarning, stacklevel=3)
    return results


def run(
    hunt: str,
    data: Data = None,
    *,
    as_of: Instant = None,
    window: Duration = None,
    sample: bool = False,
    memory_limit: Size = None,
    target_partitions: int | None = None,
    batch_size: int | None = None,
    tmp_dir: PathLike | None = None,
    schema: str = "auto",
    anonymous: bool = False,
    cluster: str | None = None,
    date_pruning: bool = True,
    date_folders: Iterable[str] = (),
    **params: Any,
) -> Results:
    """Run a shipped hunt over Parquet events (``lakehunt run``).

    ``hunt`` is an id from :func:`hunts` (``egress-bytes``). The hunt looks at
    ``(as_of - window, as_of]``: ``as_of`` defaults to now, ``window`` to the
    hunt's; events after ``as_of`` are not counted, so an archive answers as the
    hunt would have at that instant. Any hunt parameter is a keyword
    (``threshold="500MB"``, ``os="any"``, ``public_only="global"``; see
    ``hunts()[i]["parameters"]``). ``sample=True`` hunts a generated sample of
    200,000 events with planted findings instead of ``data`` (as of its end).

    Returns the findings as :class:`Results`; the hunt's data checks arrive as
    :class:`LakehuntWarning` warnings and in ``Results.warnings``.

    ``cluster="df://HOST:PORT"`` runs it on a lakehunt cluster (``lakehunt
    scheduler`` and ``lakehunt executor``, docs/cluster.md): the same rows and
    warnings, the data read by the executors (an object store, or paths they see).

    Example::

        t = lakehunt.run("egress-bytes", data="/lake/endpoint/", as_of="2026-03-01T08:00:00Z",
                         window="24h", threshold="500MB", os="any")
    """
    inner = _lakehunt.run(
        hunt,
        _paths(data),
        _instant("as_of", as_of),
        _duration("window", window),
        [(name, _param(name, value)) for name, value in params.items()],
        sample,
        _settings(memory_limit, target_partitions, batch_size, tmp_dir, schema, anonymous, date_pruning, date_folders, cluster=cluster),
    )
    return _results(inner)


def esql(
    query: str,
    data: Data = None,
    *,
    index: Mapping[str, Data] | None = None,
    enrich: Mapping[str, PathLike] | None = None,
    enrich_range: Mapping[str, PathLike] | None = None,
    as_of: Instant = None,
    esql_default_limit: bool = False,
    memory_limit: Size = None,
    target_partitions: int | None = None,
    batch_size: int | None = None,
    tmp_dir: PathLike | None = None,
    schema: str = "auto",
    anonymous: bool = False,
    cluster: str | None = None,
    stream: bool = False,
) -> Results | Stream:
    """Run an ES|QL query, as Elastic's hunts are written, over Parquet (``lakehunt esql``).

    A query that starts with ``ROW`` (constants, no index) needs no ``data``.
    FROM's index patterns all read ``data``, or each its own dataset:
    ``index={"logs-endpoint.events.network-*": "lake/network/"}`` (``METADATA _index``
    then names each row's pattern); beside ``data``, ``index`` datasets are
    lookup indexes for ``LOOKUP JOIN`` only. ``enrich={"policy": "hosts.parquet"}``
    gives ENRICH its lookup tables (Parquet, or CSV with a header; the first column
    is the key); ``enrich_range={"nets": "nets.csv"}`` its range policies (the
    first column holds ranges: ``10.0.0.0/8``, ``FROM..TO`` with TO not included,
    or one value). ``NOW()`` is ``as_of`` (default now) and later events are invisible.
    All rows are returned unless ``esql_default_limit=True`` (ES|QL's implicit
    LIMIT 1000). ES|QL's warnings arrive as :class:`LakehuntWarning`.
    ``stream=True`` returns a :class:`Stream` instead: rows as they are made, for
    results larger than memory.

    ``cluster="df://HOST:PORT"`` runs it on a lakehunt cluster (``lakehunt
    scheduler`` and ``lakehunt executor``, docs/cluster.md): the same rows and
    warnings, the data read by the executors (an object store, or paths they see).
    """
    indexes, enrich_list = _lookups(index, enrich, enrich_range)
    inner = (_lakehunt.esql_stream if stream else _lakehunt.esql)(
        query,
        _paths(data),
        indexes,
        enrich_list,
        _instant("as_of", as_of),
        esql_default_limit,
        _settings(memory_limit, target_partitions, batch_size, tmp_dir, schema, anonymous, cluster=cluster),
    )
    return Stream(inner) if stream else _results(inner)


def sql(
    query: str,
    data: Data = None,
    *,
    memory_limit: Size = None,
    target_partitions: int | None = None,
    batch_size: int | None = None,
    tmp_dir: PathLike | None = None,
    schema: str = "auto",
    anonymous: bool = False,
    cluster: str | None = None,
    stream: bool = False,
) -> Results | Stream:
    """Run read-only SQL over the table ``events`` (``lakehunt sql``).

    ``events`` has one column per ECS field, named with dots whatever the files'
    layout; quote such names (``"destination.ip"``, ``"@timestamp"``). The files as
    they are stay available as ``events_raw``. lakehunt's functions are there:
    ``cidr_match(ip, block, ...)``, ``ip_is_global(ip)``, ``mv_single(field)``,
    ``mv_count(field)``. Statements that write (COPY, CREATE, INSERT, SET) are refused.
    ``stream=True`` returns a :class:`Stream` instead: rows as they are made, for
    results larger than memory.

    ``cluster="df://HOST:PORT"`` runs it on a lakehunt cluster (``lakehunt
    scheduler`` and ``lakehunt executor``, docs/cluster.md): the same rows and
    warnings, the data read by the executors (an object store, or paths they see).
    """
    inner = (_lakehunt.sql_stream if stream else _lakehunt.sql)(
        query,
        _paths(data),
        _settings(memory_limit, target_partitions, batch_size, tmp_dir, schema, anonymous, cluster=cluster),
    )
    return Stream(inner) if stream else _results(inner)


def schema(data: Data, *, schema: str = "auto", anonymous: bool = False) -> dict[str, Any]:
    """The census of a dataset (``lakehunt schema --format json``), from the footers only.

    Its schemas (grouped files), their fields, and which shipped hunts can run.
    """
    return _json.loads(_lakehunt.schema(_paths(data), _settings(schema=schema, anonymous=anonymous)))


def hunts() -> list[dict[str, Any]]:
    """The shipped hunts: id, name, description, ATT&CK techniques, window, parameters, fields, SQL."""
    return _json.loads(_lakehunt.hunts())


def sample(
    out: PathLike,
    *,
    rows: int = 1_000_000,
    seed: int = 42,
    as_of: Instant = None,
    layout: str = "nested",
    rows_per_file: int = 1_000_000,
    processes: bool = False,
) -> dict[str, Any]:
    """Write synthetic Elastic Endpoint network events as Parquet into ``out`` (``lakehunt sample``).

    Planted findings and near-miss decoys sit just before ``as_of`` (default now).
    ``layout`` is ``nested`` (ECS structs), ``flat`` (dotted columns) or ``ocsf``
    (Amazon Security Lake's OCSF). ``processes=True`` adds process and file
    events beside them (for pivoting). Returns the files written and their rows.
    """
    files, n, process_files, process_events = _lakehunt.sample(
        _os.fspath(out), rows, seed, _instant("as_of", as_of), layout, rows_per_file, processes
    )
    return {
        "files": [str(f) for f in files],
        "rows": n,
        "process_files": [str(f) for f in process_files],
        "process_events": process_events,
    }


def backfill(
    hunt: str,
    data: Data,
    *,
    start: Instant,
    end: Instant,
    out: PathLike,
    every: Duration = None,
    window: Duration = None,
    resume: bool = False,
    force: bool = False,
    memory_limit: Size = None,
    target_partitions: int | None = None,
    batch_size: int | None = None,
    tmp_dir: PathLike | None = None,
    schema: str = "auto",
    anonymous: bool = False,
    cluster: str | None = None,
    date_pruning: bool = True,
    date_folders: Iterable[str] = (),
    **params: Any,
) -> dict[str, Any]:
    """Run a hunt over every window of a stretch of archive (``lakehunt backfill``); resumable.

    Windows end at ``start + k*every`` up to ``end`` and cover ``(end - window,
    end]``; ``every`` defaults to the window (tumbling). Findings go to
    ``out/window_date=YYYY-MM-DD/part-00000.parquet`` (or an object-store prefix)
    with a manifest of finished days: after an interruption, ``resume=True``
    finishes the rest exactly; ``force=True`` starts over. Returns a summary.

    ``cluster="df://HOST:PORT"`` runs it on a lakehunt cluster (``lakehunt
    scheduler`` and ``lakehunt executor``, docs/cluster.md): the same rows and
    warnings, the data read by the executors (an object store, or paths they see).
    """
    if start is None or end is None:
        raise _fail("start" if start is None else "end", "backfill needs both start and end")
    summary = _lakehunt.backfill(
        hunt,
        _paths(data),
        _instant("start", start),
        _instant("end", end),
        _os.fspath(out),
        _duration("every", every),
        _duration("window", window),
        [(name, _param(name, value)) for name, value in params.items()],
        resume,
        force,
        _settings(memory_limit, target_partitions, batch_size, tmp_dir, schema, anonymous, date_pruning, date_folders, cluster=cluster),
    )
    return _json.loads(summary)


def sweep(
    out: PathLike,
    data: Data = None,
    *,
    library: PathLike | None = None,
    hunts: Iterable[str] = (),
    index: Mapping[str, Data] | None = None,
    enrich: Mapping[str, PathLike] | None = None,
    enrich_range: Mapping[str, PathLike] | None = None,
    as_of: Instant = None,
    start: Instant = None,
    end: Instant = None,
    every: Duration = "1d",
    resume: bool = False,
    shared_scan: bool = True,
    memory_limit: Size = None,
    target_partitions: int | None = None,
    batch_size: int | None = None,
    tmp_dir: PathLike | None = None,
    schema: str = "auto",
    anonymous: bool = False,
) -> dict[str, Any]:
    """Run a hunt library over the data in one pass (``lakehunt sweep``); returns its summary.

    ``library`` is a folder of hunt files (a checkout of Elastic's hunting
    library, or any folder of TOML hunts); ``hunts`` names shipped hunts
    (``["all"]`` for every one). Every query runs as of ``as_of`` (default now),
    or, with ``start`` and ``end``, as of each window's end ``start + k*every``
    (resumable with ``resume=True``). Queries that read the same data share one
    scan (``shared_scan=False``: one query at a time). ``index`` and ``enrich``
    are as in :func:`esql`. Findings, ``summary.json`` and ``report.html`` go
    to ``out``; the returned dict is ``summary.json``.
    """
    if isinstance(hunts, str):
        hunts = [hunts]
    indexes, enrich_list = _lookups(index, enrich, enrich_range)
    summary = _lakehunt.sweep(
        _paths(data),
        _os.fspath(out),
        None if library is None else _os.fspath(library),
        list(hunts),
        indexes,
        enrich_list,
        _instant("as_of", as_of),
        _instant("start", start),
        _instant("end", end),
        _duration("every", every) or "1d",
        resume,
        shared_scan,
        _settings(memory_limit, target_partitions, batch_size, tmp_dir, schema, anonymous),
    )
    return _json.loads(summary)


def functions() -> list[Any]:
    """lakehunt's SQL functions as datafusion-python objects (the FFI PyCapsule protocol).

    Scalar ones (``cidr_match``, ``ip_is_global``, ``mv_single``, ...) have
    ``__datafusion_scalar_udf__``, aggregate ones (``checked_sum``)
    ``__datafusion_aggregate_udf__``; each has ``name`` and ``aliases``.
    :func:`register` is the usual way in.
    """
    return [*_lakehunt.scalar_functions(), *_lakehunt.aggregate_functions()]


def register(ctx: Any) -> list[str]:
    """Add lakehunt's SQL functions to a ``datafusion.SessionContext`` (datafusion-python 55).

    ::

        from datafusion import SessionContext
        ctx = SessionContext()
        lakehunt.register(ctx)
        ctx.sql("SELECT cidr_match('10.1.2.3', '10.0.0.0/8')")

    The functions run in lakehunt's library through ``datafusion-ffi``, with the
    command's semantics (``CIDR_MATCH`` as ES|QL means it, ``checked_sum`` failing
    on overflow rather than wrapping). Aliases are registered too. Returns the
    names registered. ES|QL warnings such functions raise inside lakehunt
    (a value that is not an IP, ...) are not reported through datafusion-python:
    the row gets null, as in lakehunt, without the warning.

    Needs the ``datafusion`` package, major version equal to
    ``lakehunt._lakehunt.ffi_version()``; raises :class:`InputError` otherwise.
    """
    try:
        import datafusion
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise InputError("lakehunt.register needs the datafusion package (pip install 'datafusion==55.*')") from error
    major = str(getattr(datafusion, "__version__", "")).split(".")[0]
    if major != str(_lakehunt.ffi_version()):
        raise InputError(
            f"lakehunt.register needs datafusion {_lakehunt.ffi_version()}.x (its FFI must match), "
            f"found {getattr(datafusion, '__version__', 'unknown')}"
        )
    if not hasattr(ctx, "register_udf") or not hasattr(ctx, "register_udaf"):
        raise InputError(f"lakehunt.register takes a datafusion.SessionContext, not {type(ctx).__name__}")
    names = []
    for function in _lakehunt.scalar_functions():
        udf = datafusion.udf(function)
        ctx.register_udf(udf)
        names.append(function.name)
    for function in _lakehunt.aggregate_functions():
        ctx.register_udaf(datafusion.udaf(function))
        names.append(function.name)
    return names
