"""Household import (`canvass import households`) vs a raw COPY of the same file into a plain table.

`python -m bench import` (or `python -m bench.bench_import --rows 1000000`; BENCH_IMPORT_ROWS=200000
sets the default row count, for quick iterations).

A seeded synthetic CSV (CONTRACT columns, one row per person, ~2.1 people per
household, Chicago's building mix) of about --rows rows inside the real 33rd
ward is written once. In a throwaway database (on BENCH_DATABASE_URL's server):

* baseline: psycopg `COPY plain FROM STDIN (FORMAT csv)` of the file's bytes
  into a table of twelve text columns, no indexes, no checks;
* ours: `import_households` of the same file into an organization that has the
  real wards and precincts: per-row checks and address normalization, COPY into
  the staging table, set-based upserts into buildings / households / people
  (with their indexes and tenant foreign keys), the spatial placement of every
  building in its ward and precinct; one transaction, committed;
* ours again: re-importing the same file (changes nothing);
* floor: the rows that import stored (this organization's buildings,
  households and people) written again, by the fastest path PostgreSQL has
  (`CREATE TABLE AS`, no indexes, no foreign keys, nothing to parse or check),
  then the same indexes as the real tables built in bulk. No implementation
  that stores those rows with those indexes can beat it, so floor / baseline
  bounds the ratio any household import can reach on this schema and machine.

Reported: rows/s of each and ours / baseline, with ours split into its
read-check-COPY phase and its database phase; and the targets of issue 16
(the 0.25x-of-COPY target was shown unreachable: the floor alone is slower):

* first import into an organization with no people >= 0.5 of the in-run ideal,
  where ideal = raw COPY time (parsing the file) + storage floor time, i.e.
  ideal / ours >= 0.5;
* re-import of the unchanged file <= 0.25 of the first import's time;
* memory flat: the process's peak RSS grows by at most 64 MiB over the first
  import (the file is streamed, never held).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from shapely.geometry import shape
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import CHICAGO, markdown_table, psycopg_dsn, throwaway_database

TARGET_RATIO = 0.25  # the old target (vs raw COPY alone), still reported
IDEAL_TARGET = 0.5  # first import: (raw COPY + storage floor) / ours
REIMPORT_TARGET = 0.25  # re-import / first import
MEMORY_TARGET_MIB = 64  # growth of peak RSS over the first import
HOUSEHOLD_SIZE = 2.08  # mean people per household of canvass.geo.synthetic


def write_file(path: Path, rows: int, seed: int) -> int:
    from canvass.geo.synthetic import generate_households, write_households_csv

    wards = json.loads((CHICAGO / "wards_2023.geojson").read_text())["features"]
    ward = shape(next(f for f in wards if f["properties"]["ward"] == "33")["geometry"])
    return write_households_csv(generate_households(ward, count=round(rows / HOUSEHOLD_SIZE), seed=seed), path)


class RssSampler:
    """The process's resident memory sampled every 50 ms while the block runs: its growth over the
    value at the start (peak RSS since process start would hide an import below the file-writing peak)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._peak = self._start = 0
        self.growth_mib = 0.0

    @staticmethod
    def _rss_bytes() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self._peak = max(self._peak, self._rss_bytes())

    def __enter__(self) -> RssSampler:
        self._start = self._peak = self._rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._rss_bytes())
        self.growth_mib = (self._peak - self._start) / 2**20


def raw_copy(url: str, path: Path) -> float:
    with psycopg.connect(psycopg_dsn(url)) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE plain (external_id text, address text, unit text, city text, state text, zip text, "
                       "latitude text, longitude text, first_name text, last_name text, phone text, email text)")
        connection.commit()
        started = time.perf_counter()
        with open(path, "rb") as handle, cursor.copy("COPY plain FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        connection.commit()
        took = time.perf_counter() - started
        cursor.execute("DROP TABLE plain")
        connection.commit()
    return took


FLOOR_TABLES = ("buildings", "households", "people")


def storage_floor(url: str, slug: str) -> dict:
    """Seconds to write the organization's imported rows into index-free copies and build the real indexes on them
    (the same statements an organization's own partitions are indexed by)."""
    from canvass.geo.partitions import index_statements

    seconds = {}
    engine = create_engine(url)
    with Session(engine) as session:
        session.execute(text("SET jit = off"))
        org_id = session.execute(text("SELECT id FROM organizations WHERE slug = :slug"), {"slug": slug}).scalar_one()
        for table in FLOOR_TABLES:
            statements = index_statements(session, table, f"floor_{table}")
            started = time.perf_counter()
            session.execute(text(f"CREATE TABLE floor_{table} AS SELECT * FROM {table} WHERE organization_id = :org"),
                            {"org": org_id})
            for statement in statements:
                session.execute(text(statement))
            session.commit()
            seconds[table] = time.perf_counter() - started
            session.execute(text(f"DROP TABLE floor_{table}"))
            session.commit()
    engine.dispose()
    return seconds


def ours(url: str, path: Path, slug: str) -> dict:
    import canvass.models  # noqa: F401
    from canvass.geo.boundaries import import_boundaries
    from canvass.geo.households import import_households
    from canvass.orgs.services import create_organization, get_organization_by_slug

    engine = create_engine(url)
    with Session(engine) as session:
        try:
            org = get_organization_by_slug(session, slug)
        except Exception:
            org = create_organization(session, slug=slug, name=slug)
            for level, name, parent, file in (("ward", "ward", None, "wards_2023.geojson"),
                                              ("precinct", "FIRST_prec", "FIRST_ward", "precincts_2023.geojson")):
                import_boundaries(session, organization_id=org.id, level=level, name_field=name, parent_field=parent,
                                  geojson=json.loads((CHICAGO / file).read_text()))
            session.commit()
        marks = {}
        started = time.perf_counter()
        with open(path, "rb") as stream:
            summary = import_households(session, organization_id=org.id, stream=stream,
                                        on_stage=lambda _stage: marks.setdefault("read", time.perf_counter()))
        session.commit()
        finished = time.perf_counter()
    engine.dispose()
    return {"seconds": finished - started, "read_seconds": marks["read"] - started,
            "database_seconds": finished - marks["read"], "summary": summary}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_IMPORT_ROWS", 1_000_000)))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv or [])

    with tempfile.TemporaryDirectory() as tmp, throwaway_database("canvass_bench_import") as url:
        path = Path(tmp) / "households.csv"
        rows = write_file(path, args.rows, args.seed)
        size_mb = path.stat().st_size / 1e6
        baseline = raw_copy(url, path)
        with RssSampler() as rss:
            first = ours(url, path, "bench-import")
        rss_growth = rss.growth_mib
        again = ours(url, path, "bench-import")
        floor = storage_floor(url, "bench-import")
        baseline_after = raw_copy(url, path)  # the machine may have slowed down meanwhile: take the better

    raw = min(baseline, baseline_after)
    summary = first["summary"]
    result = {
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "raw_copy_seconds": raw,
        "raw_copy_rows_per_s": rows / raw,
        "import_seconds": first["seconds"],
        "import_rows_per_s": rows / first["seconds"],
        "import_read_check_copy_seconds": first["read_seconds"],
        "import_database_seconds": first["database_seconds"],
        "reimport_seconds": again["seconds"],
        "storage_floor_seconds": sum(floor.values()),
        "storage_floor_by_table": floor,
        "storage_floor_ratio": raw / sum(floor.values()),
        "ratio": raw / first["seconds"],
        "read_phase_ratio": raw / first["read_seconds"],
        "target_ratio": TARGET_RATIO,
        "ideal_seconds": raw + sum(floor.values()),
        "ideal_ratio": (raw + sum(floor.values())) / first["seconds"],
        "ideal_target": IDEAL_TARGET,
        "reimport_ratio": again["seconds"] / first["seconds"],
        "reimport_target": REIMPORT_TARGET,
        "peak_rss_growth_mib": rss_growth,
        "memory_target_mib": MEMORY_TARGET_MIB,
        "created": {"buildings": summary.buildings_created, "households": summary.households_created,
                    "people": summary.people_created},
        "reimport_changes": {"buildings": again["summary"].buildings_created + again["summary"].buildings_updated,
                             "households": again["summary"].households_created,
                             "people": again["summary"].people_created + again["summary"].people_updated},
    }
    print(f"{rows:,} rows ({size_mb:.0f} MB): {summary.buildings_created:,} buildings, "
          f"{summary.households_created:,} households, {summary.people_created:,} people\n")
    print(markdown_table(
        ["path", "seconds", "rows/s", "vs raw COPY"],
        [
            ["baseline: raw COPY into a plain table", raw, rows / raw, 1.0],
            ["ours: import (total)", first["seconds"], rows / first["seconds"], result["ratio"]],
            ["  read, check, normalize, COPY to staging", first["read_seconds"], rows / first["read_seconds"],
             result["read_phase_ratio"]],
            ["  upserts + spatial placement", first["database_seconds"], rows / first["database_seconds"],
             raw / first["database_seconds"]],
            ["ours: re-import of the same file", again["seconds"], rows / again["seconds"], raw / again["seconds"]],
            ["floor: the stored rows rewritten + indexes built in bulk", sum(floor.values()),
             rows / sum(floor.values()), result["storage_floor_ratio"]],
            *[[f"  {table}", took, rows / took, raw / took] for table, took in floor.items()],
        ],
    ))
    verdict = "meets" if result["ratio"] >= TARGET_RATIO else "misses"
    print(f"\nimport rate = {result['ratio']:.3f} x raw COPY ({verdict} the {TARGET_RATIO} target); "
          f"re-import changed {sum(result['reimport_changes'].values())} rows; no import storing these rows "
          f"with these indexes can pass {result['storage_floor_ratio']:.3f} x raw COPY on this machine")
    def met(ok: bool) -> str:
        return "meets" if ok else "misses"

    print(f"first import = {result['ideal_ratio']:.3f} x the in-run ideal (raw COPY + floor, "
          f"{result['ideal_seconds']:.1f} s; {met(result['ideal_ratio'] >= IDEAL_TARGET)} the {IDEAL_TARGET} target); "
          f"re-import = {result['reimport_ratio']:.3f} x the first import "
          f"({met(result['reimport_ratio'] <= REIMPORT_TARGET)} the {REIMPORT_TARGET} target); "
          f"peak RSS +{rss_growth:.0f} MiB over the first import "
          f"({met(rss_growth <= MEMORY_TARGET_MIB)} the {MEMORY_TARGET_MIB} MiB bound)")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
