"""The native half of lakehunt (pyo3); use the functions of ``lakehunt`` instead."""

from typing import Any

__version__: str
SAMPLE_AS_OF: str

class LakehuntError(Exception): ...
class InputError(LakehuntError): ...
class RunError(LakehuntError): ...

class Settings:
    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        target_partitions: int | None = None,
        batch_size: int | None = None,
        tmp_dir: str | None = None,
        schema: str = "auto",
        anonymous: bool = False,
        date_pruning: bool = True,
        date_folders: list[str] = ...,
        mmap: bool = True,
        threshold_pruning: bool = True,
        threshold_spill: bool = True,
        compact_views: bool = True,
        merge_headroom: bool = True,
        spill_fan_in: bool = True,
        hashed_count_distinct: bool = True,
        null_as_false: bool = True,
        regex_once: bool = True,
        shared_tests: bool = True,
        cluster: str | None = None,
    ) -> None: ...

class Results:
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    def __arrow_c_schema__(self) -> object: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    @property
    def metadata(self) -> list[tuple[str, str]]: ...
    @property
    def warnings(self) -> list[tuple[str, int, str]]: ...
    def text(self, limit: int) -> str: ...
    def html(self, limit: int) -> str: ...
    def write(self, path: str, format: str | None = None) -> None: ...

def run(
    hunt: str,
    data: list[str],
    as_of: str | None,
    window: str | None,
    params: list[tuple[str, str]],
    sample: bool,
    settings: Settings,
) -> Results: ...
def sql(query: str, data: list[str], settings: Settings) -> Results: ...
def esql(
    query: str,
    data: list[str],
    index: list[tuple[str, list[str]]],
    enrich: list[tuple[str, str, bool]],
    as_of: str | None,
    default_limit: bool,
    settings: Settings,
) -> Results: ...
def schema(data: list[str], settings: Settings) -> str: ...
def hunts() -> str: ...
def sample(
    out: str,
    rows: int,
    seed: int,
    as_of: str | None,
    layout: str,
    rows_per_file: int,
    processes: bool,
) -> tuple[list[Any], int, list[Any], int]: ...
def backfill(
    hunt: str,
    data: list[str],
    start: str,
    end: str,
    out: str,
    every: str | None,
    window: str | None,
    params: list[tuple[str, str]],
    resume: bool,
    force: bool,
    settings: Settings,
) -> str: ...

def sweep(
    data: list[str],
    out: str,
    library: str | None,
    hunts: list[str],
    index: list[tuple[str, list[str]]],
    enrich: list[tuple[str, str, bool]],
    as_of: str | None,
    start: str | None,
    end: str | None,
    every: str,
    resume: bool,
    shared_scan: bool,
    settings: Settings,
) -> str: ...

class ScalarFunction:
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> list[str]: ...
    def __datafusion_scalar_udf__(self) -> object: ...

class AggregateFunction:
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> list[str]: ...
    def __datafusion_aggregate_udf__(self) -> object: ...

def scalar_functions() -> list[ScalarFunction]: ...
def aggregate_functions() -> list[AggregateFunction]: ...
def ffi_version() -> int: ...

class Stream:
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    def __arrow_c_schema__(self) -> object: ...
    def close(self) -> None: ...
    @property
    def consumed(self) -> bool: ...
    @property
    def column_names(self) -> list[str]: ...
    @property
    def metadata(self) -> list[tuple[str, str]]: ...
    @property
    def warnings(self) -> list[tuple[str, int, str]] | None: ...

def sql_stream(query: str, data: list[str], settings: Settings) -> Stream: ...
def esql_stream(
    query: str,
    data: list[str],
    index: list[tuple[str, list[str]]],
    enrich: list[tuple[str, str, bool]],
    as_of: str | None,
    default_limit: bool,
    settings: Settings,
) -> Stream: ...
