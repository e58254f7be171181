"""`lakehunt.register(ctx)`: lakehunt's functions inside datafusion-python.

Oracles: Python's `ipaddress` for CIDR_MATCH, exact Python integers for
checked_sum, and lakehunt's own session (`lakehunt.sql`, whose functions the
Rust tests check against independent implementations) for the rest: the same
query over the same file must give the same rows in both engines.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import pathlib
import random

import datafusion
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakehunt

BLOCKS = ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "100.64.0.0/10"]


def addresses(count: int) -> list[str | None]:
    """Addresses near the blocks' edges and anywhere, IPv4 and IPv6, some null."""
    rng = random.Random(20261205)
    out: list[str | None] = [None, "10.0.0.0", "9.255.255.255", "10.255.255.255", "11.0.0.0", "::ffff:10.1.2.3", "2001:db8::1", "2001:db9::"]
    while len(out) < count:
        if rng.random() < 0.5:
            out.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        elif rng.random() < 0.5:
            block = ipaddress.ip_network(rng.choice(BLOCKS))
            out.append(str(block[rng.randrange(block.num_addresses)]))
        else:
            out.append(str(ipaddress.IPv6Address(rng.getrandbits(128))))
    return out


def in_blocks(text: str | None) -> bool | None:
    if text is None:
        return None
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(block) for block in BLOCKS if address.version == ipaddress.ip_network(block).version)


@pytest.fixture()
def ctx() -> datafusion.SessionContext:
    context = datafusion.SessionContext()
    lakehunt.register(context)
    return context


def test_register_adds_every_function() -> None:
    context = datafusion.SessionContext()
    names = lakehunt.register(context)
    assert set(names) == {f.name for f in lakehunt.functions()}
    assert {"cidr_match", "ip_is_global", "mv_single", "checked_sum"} <= set(names)
    assert context.sql("SELECT cidr_match('10.1.2.3', '10.0.0.0/8') AS m").to_pylist() == [{"m": True}]


def test_cidr_match_agrees_with_ipaddress(ctx: datafusion.SessionContext) -> None:
    ips = addresses(2000)
    ctx.register_record_batches("t", [pa.table({"ip": ips}).to_batches()])
    blocks = ", ".join(f"'{b}'" for b in BLOCKS)
    got = ctx.sql(f"SELECT ip, cidr_match(ip, {blocks}) AS m FROM t").to_arrow_table().to_pylist()
    assert len(got) == len(ips)
    for row in got:
        assert row["m"] == in_blocks(row["ip"]), row


def test_same_rows_as_lakehunts_own_session(ctx: datafusion.SessionContext, tmp_path: pathlib.Path) -> None:
    ips = addresses(500)
    start = dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc)
    table = pa.table(
        {
            "@timestamp": pa.array([start + dt.timedelta(seconds=i) for i in range(len(ips))], pa.timestamp("ms", tz="UTC")),
            "destination.ip": ips,
            "source.bytes": pa.array(list(range(len(ips))), pa.int64()),
        }
    )
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    query = (
        'SELECT "destination.ip" AS ip, ip_is_global("destination.ip") AS global, '
        "cidr_match(\"destination.ip\", '10.0.0.0/8', '2001:db8::/32') AS internal "
        "FROM events ORDER BY \"source.bytes\""
    )
    ctx.register_parquet("events", str(path))
    theirs = ctx.sql(query).to_arrow_table().to_pylist()
    ours = lakehunt.sql(query, data=str(path)).to_arrow().to_pylist()
    assert theirs == ours
    assert any(row["global"] for row in ours) and any(row["global"] is False for row in ours)

    total = 'SELECT checked_sum("source.bytes") AS s FROM events WHERE ip_is_global("destination.ip")'
    expected = sum(i for i, ip in enumerate(ips) if row_global(ours, ip))
    assert ctx.sql(total).to_pylist() == [{"s": expected}]
    assert lakehunt.sql(total, data=str(path)).to_arrow().to_pylist() == [{"s": expected}]


def row_global(rows: list[dict], ip: str | None) -> bool:
    return any(r["ip"] == ip and r["global"] for r in rows)


def test_checked_sum_fails_rather_than_wraps(ctx: datafusion.SessionContext) -> None:
    big = 2**63 - 1
    ctx.register_record_batches("t", [pa.table({"v": pa.array([big, 1, 5], pa.int64())}).to_batches()])
    assert ctx.sql("SELECT checked_sum(v) AS s FROM t WHERE v < 10").to_pylist() == [{"s": 6}]
    assert ctx.sql("SELECT sum(v) AS s FROM t").to_pylist() != [{"s": big + 6}]  # the built-in wraps
    with pytest.raises(Exception, match="outside the BIGINT range"):
        ctx.sql("SELECT checked_sum(v) FROM t").to_pylist()


def test_register_refuses_what_it_cannot_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(lakehunt.InputError, match="takes a datafusion.SessionContext, not dict"):
        lakehunt.register({})
    monkeypatch.setattr(datafusion, "__version__", "54.1.0")
    with pytest.raises(lakehunt.InputError, match=r"needs datafusion 55\.x .*found 54\.1\.0"):
        lakehunt.register(datafusion.SessionContext())
