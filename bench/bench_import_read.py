"""The household import's Python half (read, check, normalize, pack the COPY rows) vs Python's csv module
reading the same file: `python -m bench import_read` (BENCH_IMPORT_ROWS sets the row count, default 1M).

No database: the import runs against a stand-in session whose COPY takes the packed rows and drops them,
and stops where its database phase would begin. So this measures what the import costs in Python alone,
the half that keeps its first import from 0.5 of the in-run ideal (bench_import.py, docs/benchmarks.md).
The baseline is the least any Python reader of the file does: `csv.reader` over its lines, nothing else.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_import import write_file
from bench.common import markdown_table


class _ReadPhaseDone(Exception):
    pass


class _NoDatabase:
    """Just enough of a Session for import_households to read a file: statements return a falsy scalar,
    COPY drops the rows it is given."""

    class _Result:
        def scalar_one(self) -> bool:
            return False

    class _Copy:
        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            pass

        def set_types(self, types) -> None:
            pass

        def write_row(self, row) -> None:
            pass

    class _Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            pass

        def copy(self, statement: str):
            return _NoDatabase._Copy()

    def execute(self, *args, **kwargs):
        return self._Result()

    def connection(self):
        driver = type("Driver", (), {"cursor": lambda _self: self._Cursor()})()
        dbapi = type("DBAPI", (), {"driver_connection": driver})()
        return type("Connection", (), {"connection": dbapi})()


def csv_only(path: Path) -> float:
    started = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as handle:
        for _ in csv.reader(handle):
            pass
    return time.perf_counter() - started


def import_read(path: Path) -> float:
    from canvass.geo.households import import_households

    def stop(_stage: str) -> None:
        raise _ReadPhaseDone

    started = time.perf_counter()
    try:
        with open(path, "rb") as stream:
            import_households(_NoDatabase(), organization_id=1, stream=stream, on_stage=stop)  # type: ignore[arg-type]
    except _ReadPhaseDone:
        pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_IMPORT_ROWS", 1_000_000)))
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds; the best of each is kept")
    args = parser.parse_args(argv or [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "households.csv"
        rows = write_file(path, args.rows, seed=1)
        baseline, ours = [], []
        for _ in range(args.rounds):  # alternated, so both see the same machine
            baseline.append(csv_only(path))
            ours.append(import_read(path))
    result = {"rows": rows, "csv_reader_seconds": min(baseline), "import_read_seconds": min(ours),
              "ratio": min(baseline) / min(ours)}
    print(markdown_table(["path", "seconds", "rows/s", "vs csv.reader"], [
        ["baseline: csv.reader over the file", min(baseline), rows / min(baseline), 1.0],
        ["ours: the import's read, checks, normalization and COPY rows (no database)", min(ours),
         rows / min(ours), result["ratio"]],
    ]))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
