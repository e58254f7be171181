#!/usr/bin/env python3
"""Converts Elasticsearch's ES|QL test index `employees` (its CSV) to Parquet.

    make_employees.py EMPLOYEES.csv OUT.parquet      (needs pyarrow)

CSV format (mirrors CsvTestsDataLoader / CsvTestUtils.multiValuesAwareCsvToStringArray):
  * first non-comment line is the header, `name:type` per column; lines starting with `//` are
    comments; every line is trimmed.
  * cells are split on unescaped `,` and trimmed; an empty cell is null.
  * `[a,b,c]` is a multi-value (commas inside may be escaped as `\\,`); `[x]` is one value and
    `[]` is null.
  * sub-fields (`languages.long`, `height.float`, `salary_change.keyword`, ...) are their own
    columns; they are kept here as top-level columns with the dotted name.

To reproduce what ES|QL returns from a real index (the csv-spec expectations were written against
that), values are normalised the way Elasticsearch stores them:
  * multi-values come from doc values, so they are sorted (numbers/booleans/dates ascending,
    duplicates kept; keywords by UTF-8 bytes, de-duplicated);
  * float / half_float / scaled_float(scaling_factor 100) are rounded to the stored precision
    and then widened to double (e.g. height.float 2.03 -> 2.0299999713897705,
    half_float -> 2.029296875, scaled_float -> 203 * 0.01 = 2.0300000000000002);
  * byte/short are widened to integer (int32), as ES|QL reports them as `integer`.
Columns are written in alphabetical order, the order ES|QL uses for `FROM employees`.
"""
import datetime as dt
import math
import re
import struct
import sys

import pyarrow as pa
import pyarrow.parquet as pq

ESCAPED_COMMA = "\\,"


def split_line(line):
    """multiValuesAwareCsvToStringArray: returns a list of (cell, is_mv_bracketed)."""
    # split on commas not preceded by a backslash
    parts = re.split(r"(?<!\\),", line)
    out, mv = [], None
    for raw in parts:
        e = raw.strip()
        if mv is None:
            if e.startswith("["):
                if e.endswith("]"):
                    out.append((e[1:-1], True))
                else:
                    mv = [e[1:]]
            else:
                out.append((e, False))
        else:
            if e.endswith("]"):
                mv.append(e[:-1])
                out.append((",".join(mv), True))
                mv = None
            else:
                if not e:
                    raise ValueError(f"empty value inside multi-value: {line!r}")
                mv.append(e)
    if mv is not None:
        raise ValueError(f"unterminated multi-value: {line!r}")
    return out


def split_mv(cell):
    return [v.strip().replace(ESCAPED_COMMA, ",") for v in re.split(r"(?<!\\),", cell)]


def to_float32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def to_half(x):
    return struct.unpack('<e', struct.pack('<e', to_float32(x)))[0]


def to_scaled(x, factor=100.0):
    # ScaledFloatFieldMapper: stores Math.round(value * factor), decodes as long * (1 / factor)
    return math.floor(x * factor + 0.5) * (1.0 / factor)  # Math.round == floor(v + 0.5)


def parse_bool(s):
    s2 = s.lower()
    if s2 == "true":
        return True
    if s2 == "false":
        return False
    raise ValueError(f"bad boolean {s!r}")


def parse_date(s):
    d = dt.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z") if "." not in s else \
        dt.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return d.astimezone(dt.timezone.utc)


# type -> (arrow type, converter, kind for sorting)
TYPES = {
    "integer": (pa.int32(), int, "num"),
    "short": (pa.int32(), int, "num"),
    "byte": (pa.int32(), int, "num"),
    "long": (pa.int64(), int, "num"),
    "double": (pa.float64(), float, "num"),
    "float": (pa.float64(), lambda s: to_float32(float(s)), "num"),
    "half_float": (pa.float64(), lambda s: to_half(float(s)), "num"),
    "scaled_float": (pa.float64(), lambda s: to_scaled(float(s)), "num"),
    "keyword": (pa.string(), str, "kw"),
    "text": (pa.string(), str, "text"),
    "version": (pa.string(), str, "kw"),
    "ip": (pa.string(), str, "kw"),
    "boolean": (pa.bool_(), parse_bool, "num"),
    "date": (pa.timestamp("ms", tz="UTC"), parse_date, "num"),
}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    header = None
    rows = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            cells = split_line(line)
            if header is None:
                header = []
                for c, _ in cells:
                    name, _, typ = c.partition(":")
                    header.append((name.strip(), typ.strip()))
                continue
            if len(cells) != len(header):
                sys.exit(f"row has {len(cells)} cells, header has {len(header)}: {line}")
            rows.append(cells)

    columns = {}
    for i, (name, typ) in enumerate(header):
        if typ not in TYPES:
            sys.exit(f"unsupported type {typ!r} for column {name}")
        atype, conv, kind = TYPES[typ]
        values, any_mv = [], False
        for r in rows:
            cell, bracketed = r[i]
            if cell == "":
                values.append(None)
                continue
            vals = [conv(v) for v in split_mv(cell)] if bracketed else [conv(cell.replace(ESCAPED_COMMA, ","))]
            if len(vals) > 1:
                any_mv = True
                if kind == "num":
                    vals = sorted(vals)
                elif kind == "kw":
                    vals = sorted(set(vals), key=lambda s: s.encode("utf-8"))
            values.append(vals)
        if any_mv:
            arr = pa.array(values, type=pa.list_(atype))
        else:
            arr = pa.array([None if v is None else v[0] for v in values], type=atype)
        columns[name] = arr

    names = sorted(columns)
    table = pa.table({n: columns[n] for n in names})
    pq.write_table(table, dst)
    print(f"wrote {dst}: {table.num_rows} rows, {table.num_columns} columns")
    print(table.schema)


if __name__ == "__main__":
    main()
