#!/usr/bin/env python3
"""Seeds the esql_parser fuzz corpus with every ES|QL query of the .slt tests.

Each `lakehunt esql [as_of=...] QUERY` statement (continued up to `----`)
becomes one file in fuzz/corpus/esql_parser/, so libFuzzer starts from the
language as the tests use it instead of from empty input.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "fuzz" / "corpus" / "esql_parser"


def queries(text: str):
    lines = iter(text.splitlines())
    for line in lines:
        if not line.startswith("lakehunt esql "):
            continue
        query = [re.sub(r"^lakehunt esql (\S+=\S+ )*", "", line)]
        for more in lines:
            if more.startswith("----") or not more.strip():
                break
            query.append(more)
        yield "\n".join(query)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    count = 0
    for slt in sorted((ROOT / "tests" / "slt").rglob("*.slt")):
        for i, query in enumerate(queries(slt.read_text())):
            (OUT / f"{slt.stem}-{i:03}").write_text(query)
            count += 1
    print(f"esql_parser corpus: {count} queries from the .slt tests")


if __name__ == "__main__":
    main()
