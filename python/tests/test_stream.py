"""`stream=True`: rows handed over as the engine makes them.

The oracle is the collected result of the same call (itself checked against
the command in test_lakehunt.py): a stream must give the same rows, the same
metadata and the same warnings, and must stop its run when it is closed.
"""

from __future__ import annotations

import os
import pathlib
import time

import pyarrow as pa
import pytest

import lakehunt
from test_lakehunt import AS_OF, data, sorted_rows  # noqa: F401 - the session fixture

# 100 million rows, one a recursion step: collecting them takes minutes, a
# stream's first batch a moment.
ENDLESS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100000000) SELECT n FROM r"


def threads() -> int:
    """Threads of this process (the engine's runtime threads included)."""
    return len(os.listdir("/proc/self/task"))


def steady() -> int:
    """The thread count once it has not changed for half a second (earlier runs' workers gone)."""
    count, since = threads(), time.monotonic()
    deadline = since + 15
    while time.monotonic() - since < 0.5 and time.monotonic() < deadline:
        time.sleep(0.05)
        if (now := threads()) != count:
            count, since = now, time.monotonic()
    return count


def settle(at_most: int, seconds: float = 15.0) -> int:
    """Waits for the thread count to fall to `at_most`; returns the last count."""
    deadline = time.monotonic() + seconds
    while (count := threads()) > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_sql_stream_gives_the_collected_rows_in_many_batches(data: pathlib.Path) -> None:
    query = 'SELECT "source.port" AS port, "destination.ip" AS ip, "source.bytes" AS bytes FROM events'
    collected = lakehunt.sql(query, data=data)
    stream = lakehunt.sql(query, data=data, stream=True, batch_size=1000)
    assert isinstance(stream, lakehunt.Stream)
    assert stream.column_names == ["port", "ip", "bytes"] and not stream.consumed
    assert stream.metadata == collected.metadata
    batches = list(stream.to_reader())
    assert len(batches) > 1 and stream.consumed
    assert sum(b.num_rows for b in batches) == collected.num_rows > 30_000  # network and process events
    assert sorted_rows(pa.Table.from_batches(batches)) == sorted_rows(collected.to_arrow())


def test_esql_stream_counts_the_same_warnings(data: pathlib.Path) -> None:
    query = "FROM logs-* | EVAL q = source.port / 0 | STATS n = COUNT(*), q = MAX(q) BY event.action | SORT event.action"
    with pytest.warns(lakehunt.LakehuntWarning) as collected_warnings:
        collected = lakehunt.esql(query, data=data, as_of=AS_OF)
    stream = lakehunt.esql(query, data=data, as_of=AS_OF, stream=True)
    assert stream.metadata == collected.metadata
    assert stream.warnings is None  # not read yet
    with pytest.warns(lakehunt.LakehuntWarning) as stream_warnings:
        table = stream.to_arrow()
    assert table.to_pylist() == collected.to_arrow().to_pylist()
    assert stream.warnings == collected.warnings and collected.warnings
    assert [str(w.message) for w in stream_warnings] == [str(w.message) for w in collected_warnings]


def test_other_readers_take_a_stream(data: pathlib.Path) -> None:
    import duckdb
    import polars

    query = 'SELECT "event.action" AS action, count(*) AS n FROM events GROUP BY 1'
    expected = sorted_rows(lakehunt.sql(query, data=data).to_arrow())
    frame = polars.from_arrow(pa.RecordBatchReader.from_stream(lakehunt.sql(query, data=data, stream=True)))
    assert sorted_rows(frame.to_arrow()) == expected
    s = lakehunt.sql(query, data=data, stream=True)
    assert sorted_rows(duckdb.sql("FROM s").to_arrow_table()) == expected


def test_a_stream_is_read_once(data: pathlib.Path) -> None:
    stream = lakehunt.sql("SELECT 1 AS one", data=data, stream=True)
    assert stream.to_arrow().to_pylist() == [{"one": 1}]
    with pytest.raises(lakehunt.InputError, match="already read"):
        stream.to_reader()


def test_a_bad_query_raises_at_the_call(data: pathlib.Path) -> None:
    with pytest.raises(lakehunt.LakehuntError, match="no.such"):
        lakehunt.sql('SELECT "no.such" FROM events', data=data, stream=True)
    with pytest.raises(lakehunt.InputError, match="FROBNICATE"):
        lakehunt.esql("FROM logs-* | FROBNICATE", data=data, stream=True)


def test_an_error_while_running_reaches_the_reader(data: pathlib.Path) -> None:
    stream = lakehunt.sql('SELECT CAST("host.name" AS INT) AS n FROM events', data=data, stream=True)
    with pytest.raises(Exception, match="(?i)cast"):
        stream.to_arrow()


def test_rows_arrive_before_the_run_ends_and_closing_stops_it(data: pathlib.Path) -> None:
    before = steady()
    started = time.monotonic()
    stream = lakehunt.sql(ENDLESS, data=data, stream=True)
    reader = stream.to_reader()
    first = reader.read_next_batch()
    assert first.num_rows > 0 and first.column(0)[0].as_py() == 1
    assert time.monotonic() - started < 20, "the first batch waited for the whole run"
    assert threads() > before  # the run's worker and runtime
    reader.close()
    stream.close()
    assert settle(before) <= before, "the run went on after its reader was closed"

    # The same when the reader is simply dropped after a few batches.
    with lakehunt.sql(ENDLESS, data=data, stream=True) as again:
        batches = again.to_reader()
        for _ in range(3):
            batches.read_next_batch()
        del batches
    assert settle(before) <= before
