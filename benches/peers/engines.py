"""The egress hunt in each peer engine, as idiomatically as that engine allows.

Run as its own process, so the measured time and memory are the whole engine's:

    python engines.py ENGINE DATA_DIR LAYOUT AS_OF OUT_CSV

ENGINE is duckdb, chdb or polars; LAYOUT nested or flat (how the files store ECS
fields); AS_OF an RFC 3339 instant. Writes the findings as CSV with a header
(entity, address, executable, total); an empty cell is NULL.

Each query keeps the hunt's semantics (ES|QL's): the window (as_of - 8h, as_of];
host.os.family == "windows"; event.category single-valued "network" (an array
of one distinct value); event.action == "disconnect_received"; destination.ip a
valid IP outside the 26 private/reserved blocks, an IPv4-mapped IPv6 address
judged as the IPv4 address it carries; total source.bytes per (entity, address,
executable) at least 1 GiB.
"""

import csv
import glob
import ipaddress
import os
import sys
from datetime import datetime, timedelta, timezone

BLOCKS = [
    "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.0.0/29", "192.0.0.8/32", "192.0.0.9/32", "192.0.0.10/32", "192.0.0.170/32",
    "192.0.0.171/32", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
    "192.168.0.0/16", "192.88.99.0/24", "224.0.0.0/4", "100.64.0.0/10",
    "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "240.0.0.0/4", "::1/128", "fe80::/10", "ff00::/8",
]
THRESHOLD = 1 << 30
WINDOW = timedelta(hours=8)

FIELDS = {
    "ts": "@timestamp",
    "os": "host.os.family",
    "cat": "event.category",
    "action": "event.action",
    "ip": "destination.ip",
    "address": "destination.address",
    "entity": "process.entity_id",
    "exe": "process.executable",
    "bytes": "source.bytes",
}


def window(as_of_text, span=WINDOW):
    as_of = datetime.fromisoformat(as_of_text.replace("Z", "+00:00")).astimezone(timezone.utc)
    return as_of - span, as_of


def duckdb_s3_setup():
    """httpfs, from the duckdb-ext-httpfs wheel, pointed at AWS_ENDPOINT_URL
    (an S3-compatible server on loopback) with the AWS_* credentials."""
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    host = endpoint.split("://", 1)[-1].rstrip("/")
    return [
        "LOAD httpfs",
        f"SET s3_endpoint = '{host}'",
        "SET s3_url_style = 'path'",
        f"SET s3_use_ssl = {str(endpoint.startswith('https')).lower()}",
        f"SET s3_region = '{os.environ.get('AWS_REGION', 'us-east-1')}'",
        f"SET s3_access_key_id = '{os.environ['AWS_ACCESS_KEY_ID']}'",
        f"SET s3_secret_access_key = '{os.environ['AWS_SECRET_ACCESS_KEY']}'",
    ]


def duckdb_connect():
    """A DuckDB connection with the inet extension loaded, in UTC."""
    import duckdb

    con = duckdb.connect()
    # The inet extension from the duckdb-ext-inet wheel: no download.
    import duckdb_ext  # noqa: F401  (namespace package of the wheel)

    ext_dir = os.path.join(os.path.dirname(duckdb_ext.__path__[0]), "duckdb_ext", "extensions")
    con.execute(f"SET extension_directory = '{ext_dir}'")
    con.execute("LOAD inet")
    con.execute("SET TimeZone = 'UTC'")
    return con


def duckdb_query(data, layout, as_of_text):
    con = duckdb_connect()
    if data.startswith("s3://"):
        for statement in duckdb_s3_setup():
            con.execute(statement)
    return con.execute(duckdb_sql(data, layout, as_of_text)).fetchall()


def duckdb_sql(data, layout, as_of_text, span=WINDOW, threshold=THRESHOLD, os_family="windows"):
    """The hunt in DuckDB's SQL (inet); `os_family` None for any OS, as
    lakehunt's `--os any`."""
    start, end = window(as_of_text, span)

    def ref(field):
        name = FIELDS[field]
        if layout == "flat" or "." not in name:
            return f'"{name}"'
        return ".".join(f'"{part}"' for part in name.split("."))

    blocks = " OR ".join(f"ip <<= '{b}'::INET" for b in BLOCKS)
    sql = f"""
        WITH e AS (
            SELECT {ref('entity')} AS entity, {ref('address')} AS address,
                   {ref('exe')} AS exe, {ref('bytes')} AS bytes,
                   TRY_CAST(CASE WHEN lower({ref('ip')}) LIKE '::ffff:%.%'
                                 THEN substr({ref('ip')}, 8) ELSE {ref('ip')} END AS INET) AS ip
            FROM read_parquet('{data}/*.parquet')
            WHERE {ref('ts')} > TIMESTAMPTZ '{start.isoformat()}'
              AND {ref('ts')} <= TIMESTAMPTZ '{end.isoformat()}'
              {f"AND {ref('os')} = '{os_family}'" if os_family else ""}
              AND {ref('action')} = 'disconnect_received'
              AND len(list_distinct({ref('cat')})) = 1 AND {ref('cat')}[1] = 'network'
        )
        SELECT entity, address, exe, sum(bytes) AS total
        FROM e
        WHERE ip IS NOT NULL AND NOT ({blocks})
        GROUP BY entity, address, exe
        HAVING sum(bytes) >= {threshold}
        ORDER BY total DESC, entity NULLS LAST, address NULLS LAST, exe NULLS LAST
    """
    return sql


def chdb_query(data, layout, as_of_text):
    import chdb

    start, end = window(as_of_text)

    def ref(field):
        name = FIELDS[field]
        if layout == "flat" or "." not in name:
            return f"`{name}`"
        root, *rest = name.split(".")
        out = f"`{root}`"
        for part in rest:
            out = f"tupleElement({out}, '{part}')"
        return out

    blocks = " OR ".join(f"isIPAddressInRange(ip, '{b}')" for b in BLOCKS)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    sql = f"""
        SELECT entity, address, exe, sum(bytes) AS total
        FROM (
            SELECT {ref('entity')} AS entity, {ref('address')} AS address,
                   {ref('exe')} AS exe, {ref('bytes')} AS bytes,
                   if(startsWith(lower({ref('ip')}), '::ffff:') AND position({ref('ip')}, '.') > 0,
                      substring({ref('ip')}, 8), {ref('ip')}) AS text,
                   isIPv4String(text) OR isIPv6String(text) AS valid,
                   -- isIPAddressInRange throws on text that is not an IP, and
                   -- ClickHouse does not short-circuit WHERE: stand a valid one in.
                   if(valid, text, '0.0.0.0') AS ip
            FROM file('{data}/*.parquet', Parquet)
            WHERE {ref('ts')} > toDateTime64('{start.strftime(fmt)}', 6, 'UTC')
              AND {ref('ts')} <= toDateTime64('{end.strftime(fmt)}', 6, 'UTC')
              AND {ref('os')} = 'windows'
              AND {ref('action')} = 'disconnect_received'
              AND length(arrayDistinct({ref('cat')})) = 1 AND {ref('cat')}[1] = 'network'
        )
        WHERE valid AND NOT ({blocks})
        GROUP BY entity, address, exe
        HAVING total >= {THRESHOLD}
        ORDER BY total DESC, entity ASC NULLS LAST, address ASC NULLS LAST, exe ASC NULLS LAST
        SETTINGS format_csv_null_representation = ''
    """
    text = chdb.query(sql, "CSV").bytes().decode()
    return [
        tuple(None if cell == "" else cell for cell in row)
        for row in csv.reader(text.splitlines())
    ]


def is_public(text):
    """ES|QL's `NOT CIDR_MATCH(ip, blocks...)`, None for a malformed IP."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if "%" in text:  # Python accepts IPv6 scope ids; ES|QL does not.
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not any(ip in net for net in NETS)


NETS = [ipaddress.ip_network(b) for b in BLOCKS]


def polars_query(data, layout, as_of_text):
    import polars as pl

    start, end = window(as_of_text)

    def ref(field):
        name = FIELDS[field]
        if layout == "flat" or "." not in name:
            return pl.col(name)
        root, *rest = name.split(".")
        expr = pl.col(root)
        for part in rest:
            expr = expr.struct.field(part)
        return expr

    candidates = (
        pl.scan_parquet(sorted(glob.glob(f"{data}/*.parquet")))
        .filter(
            (ref("ts") > start)
            & (ref("ts") <= end)
            & (ref("os") == "windows")
            & (ref("action") == "disconnect_received")
            & (ref("cat").list.unique().list.len() == 1)
            & (ref("cat").list.first() == "network")
        )
        .select(
            ref("entity").alias("entity"),
            ref("address").alias("address"),
            ref("exe").alias("exe"),
            ref("bytes").alias("bytes"),
            ref("ip").alias("ip"),
        )
        .collect()
    )
    # Polars has no IP type: judge each distinct address once, in Python.
    verdicts = {ip: is_public(ip) for ip in candidates["ip"].drop_nulls().unique().to_list()}
    public = pl.Series("public", [verdicts.get(ip) for ip in candidates["ip"].to_list()])
    found = (
        candidates.with_columns(public)
        .filter(pl.col("public") == True)  # noqa: E712  (NULL is not True)
        .group_by(["entity", "address", "exe"])
        .agg(pl.col("bytes").sum().alias("total"), pl.col("bytes").count().alias("n"))
        .filter((pl.col("n") > 0) & (pl.col("total") >= THRESHOLD))
        .sort(
            ["total", "entity", "address", "exe"],
            descending=[True, False, False, False],
            nulls_last=True,
        )
    )
    return [(r[0], r[1], r[2], r[3]) for r in found.iter_rows()]


def main():
    engine, data, layout, as_of, out = sys.argv[1:6]
    run = {"duckdb": duckdb_query, "chdb": chdb_query, "polars": polars_query}[engine]
    rows = run(data, layout, as_of)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["entity", "address", "executable", "total"])
        for entity, address, exe, total in rows:
            w.writerow(["" if v is None else v for v in (entity, address, exe)] + [int(total)])


if __name__ == "__main__":
    main()
