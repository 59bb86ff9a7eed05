"""The household import: a CSV of people at addresses -> buildings, households, people.

A row is a person at a household (building address + unit); a row without a
name is a household only. Buildings are keyed by the normalized
(line1, city, zip), households by (building, normalized unit), people by
`external_id` when there is one, else by (household, name key).

Streaming, in one transaction:
  csv reader (line by line, never the whole file) -> per-row checks and
  normalization -> COPY into a temporary staging table -> set-based upserts
  (INSERT ... SELECT ... ON CONFLICT), each building placed in its ward and
  precinct by a spatial join inside its upsert statement.
Bad rows are skipped and reported by line number; a file that cannot be read
as a whole (missing columns, not UTF-8 text, no rows) is refused before
anything is written.
"""
from __future__ import annotations

import csv
import gc
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import gt, itemgetter
from typing import BinaryIO
from zlib import crc32

from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.errors import ValidationFailed
from canvass.geo.addresses import normalize_line1, normalize_unit, parse_street_address
from canvass.geo.boundaries import placement_sql
from canvass.geo.partitions import PARTITIONED_TABLES, attach_load_tables, create_load_tables, has_no_rows_or_partitions
from canvass.normalize import clean_email, clean_language_tag, clean_phone, name_key

__all__ = ["COLUMN_ALIASES", "HouseholdImportSummary", "RowProblem", "import_households"]

# Canonical column -> accepted header names (case-insensitive).
COLUMN_ALIASES = {
    "address": ("address", "line1", "address1", "street_address"),
    "unit": ("unit", "apt", "apartment", "unit_number"),
    "city": ("city",),
    "state": ("state",),
    "zip": ("zip", "zipcode", "zip_code", "postal_code"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "external_id": ("external_id", "voter_id", "member_id"),
    "first_name": ("first_name", "firstname"),
    "last_name": ("last_name", "lastname"),
    "phone": ("phone", "phone_number"),
    "email": ("email", "email_address"),
    "language": ("language", "preferred_language", "lang"),
}
REQUIRED_COLUMNS = ("address", "latitude", "longitude")
# Longest value accepted per column (the database columns are bounded or indexed).
MAX_LENGTH = {
    "address": 300, "unit": 40, "city": 100, "state": 32, "zip": 10,
    "external_id": 100, "first_name": 100, "last_name": 100,
}
MAX_REPORTED = 100
_ADDRESS_CACHE_LIMIT = 50_000  # distinct addresses remembered (rows of a building are usually adjacent)
_STAGE = "household_import_stage"
_KEYS = "household_import_buildings"
_PLACES = "household_import_addresses"
_HOUSEHOLDS = "household_import_households"
# Part of every row's hash: change it when a record's meaning changes (normalization, columns), so
# that the next import reads every row again instead of skipping rows read under the old rules.
ROW_FORMAT = b"canvass household row 1"
# A re-import skips what an earlier import applied, by chunks of rows cut where the content says (a row
# whose hash is 0 modulo _CHUNK_AVERAGE_ROWS ends a chunk, as in rsync), so a row added or removed
# changes only the chunk around it. About one stored key per 64 rows: cheap to write on a first import.
_CHUNK_AVERAGE_ROWS = 64
_CHUNK_MAX_ROWS = 1_024
# Rows read (and looked up, by their chunks) per COPY; progress is reported after each batch.
_BATCH_ROWS = 10_000
# A first import of at least this many rows into an organization with no places nor people loads its
# own partitions (canvass/geo/partitions.py); below it, the shared ones are as quick.
OWN_PARTITION_MIN_ROWS = 20_000

_STAGE_COLUMNS = (
    "line", "address_key", "line1", "city", "state", "zip", "lon", "lat", "street", "house_number", "block",
    "side", "unit", "external_id", "first_name", "last_name", "name_key", "phone", "email", "has_person",
    "language", "chunk_hash",
)
# Their types, for binary COPY (psycopg packs each row in C: ~3x faster than CSV text).
_STAGE_TYPES = (
    "int4", "text", "text", "text", "text", "text", "float8", "float8", "text", "int4", "int4",
    "text", "text", "text", "text", "text", "text", "text", "text", "bool", "text", "int8",
)


@dataclass(frozen=True)
class RowProblem:
    line: int  # line number in the file (the header is line 1)
    reason: str


@dataclass
class HouseholdImportSummary:
    rows_read: int = 0
    rows_imported: int = 0  # read and applied (rows_read = imported + unchanged + skipped)
    rows_unchanged: int = 0  # the same as a row an earlier import of the organization applied: not read again
    rows_skipped: int = 0
    errors: list[RowProblem] = field(default_factory=list)  # the first MAX_REPORTED skipped rows
    warnings: list[RowProblem] = field(default_factory=list)  # imported, but a value was dropped
    warning_count: int = 0
    buildings_created: int = 0
    buildings_updated: int = 0
    households_created: int = 0
    households_in_file: int = 0
    people_created: int = 0
    people_updated: int = 0
    outside_boundaries: int = 0
    unparsed_addresses: int = 0
    ignored_columns: list[str] = field(default_factory=list)


class _RowError(Exception):
    pass


class _Reader:
    """Decodes the byte stream line by line, remembering lines that are not UTF-8."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.line_no = 0
        self.bytes_read = 0
        self.bad_lines: dict[int, str] = {}

    def lines(self) -> Iterator[str]:
        for raw in self.stream:
            self.line_no += 1
            self.bytes_read += len(raw)
            if self.line_no == 1:
                raw = self._check_start(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                self.bad_lines[self.line_no] = (
                    f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at position {error.start + 1}); "
                    "save the file as UTF-8"
                )
                line = raw.decode("utf-8", "replace")
            if "\x00" in line:
                self.bad_lines.setdefault(self.line_no, "contains a NUL byte")
                line = line.replace("\x00", "")
            yield line

    def _check_start(self, raw: bytes) -> bytes:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ValidationFailed("the file is UTF-16 text; save it as UTF-8 CSV", code="unsupported_encoding")
        if raw.startswith(b"PK\x03\x04"):
            raise ValidationFailed("the file is a spreadsheet workbook; export it as CSV (UTF-8)", code="not_csv")
        if b"\x00" in raw:
            raise ValidationFailed("the file is not CSV text", code="not_csv")
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(
                "the header line is not UTF-8 text; save the file as UTF-8 CSV", code="unsupported_encoding"
            ) from None
        return raw


def _header_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    names = [h.strip().lower().replace(" ", "_") for h in header]
    positions: dict[str, int] = {}
    for column, aliases in COLUMN_ALIASES.items():
        found = [i for i, name in enumerate(names) if name in aliases]
        if len(found) > 1:
            raise ValidationFailed(
                f"the header names the {column} column more than once ({', '.join(header[i] for i in found)})",
                code="duplicate_columns",
            )
        if found:
            positions[column] = found[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise ValidationFailed(
            f"missing required column(s): {', '.join(missing)}; the header has: {', '.join(h for h in header if h)[:300]}",
            code="missing_columns",
            details={"columns": missing},
        )
    used = set(positions.values())
    ignored = [header[i] for i in range(len(header)) if i not in used and header[i].strip()]
    return positions, ignored


def _coordinate(raw: str, name: str, low: float, high: float) -> float:
    raw = raw.strip()
    if not raw:
        raise _RowError(f"missing {name}")
    try:
        value = float(raw)
    except ValueError:
        raise _RowError(f"{name} {raw[:30]!r} is not a number") from None
    if not (low <= value <= high):  # NaN fails this too
        raise _RowError(f"{name} {raw[:30]} is out of range ({low:g} to {high:g})")
    return value


class _Normalizer:
    """Per-row normalization with caches: a file repeats the same addresses, units and cities."""

    def __init__(self):
        self.addresses: dict[str, tuple] = {}
        self.units: dict[str, str] = {}
        self.cities: dict[str, str] = {}

    def address(self, line1: str) -> tuple:
        cached = self.addresses.get(line1)
        if cached is None:
            if len(self.addresses) > _ADDRESS_CACHE_LIMIT:
                self.addresses.clear()
            normalized = normalize_line1(line1)
            # A unit written inside line 1 ("12 N Elm St Apt 2") is not part of the building.
            base, _, inline_unit = normalized.partition(" # ")
            parsed = parse_street_address(line1)
            display = line1 if not inline_unit else base
            if parsed is None:
                cached = (base, inline_unit, display, None, None, None, None)
            else:
                cached = (base, inline_unit, display, parsed.street, parsed.number, parsed.block, parsed.side)
            self.addresses[line1] = cached
        return cached

    def unit(self, raw: str) -> str:
        cached = self.units.get(raw)
        if cached is None:
            cached = self.units[raw] = normalize_unit(raw)
        return cached

    def city(self, raw: str) -> str:
        cached = self.cities.get(raw)
        if cached is None:
            cached = self.cities[raw] = " ".join(raw.upper().split())
        return cached


_pause_lock = threading.Lock()
_pauses = 0
_collector_was_enabled = False


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector (not reference counting, which frees the rows) while a
    file is read: the read makes millions of lists and tuples, none in a cycle, and the collector would
    walk them every few hundred allocations (~1.3 s of ~10 s for a million rows). The pause is the
    process's: other threads' cycles wait until it ends (gunicorn runs sync workers, one request each).
    Imports on other threads share the pause; the last one out restores the collector as it was."""
    global _pauses, _collector_was_enabled
    with _pause_lock:
        if _pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_enabled:
                gc.enable()


def import_households(
    session: Session,
    *,
    organization_id: int,
    stream: BinaryIO,
    on_progress: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> HouseholdImportSummary:
    """Import a household/people CSV (see CONTRACT.md) read from a binary stream.

    `on_progress(bytes_read)` is called as the file is read; `on_stage(text)`
    when the database phases begin. Re-importing the same file changes nothing.
    """
    summary = HouseholdImportSummary()
    reader = _Reader(stream)
    records = csv.reader(reader.lines(), strict=False)
    try:
        header = next(records)
    except StopIteration:
        raise ValidationFailed("the file is empty", code="empty_file") from None
    except csv.Error as error:
        raise ValidationFailed(f"the header line is not valid CSV: {error}", code="not_csv") from None
    positions, summary.ignored_columns = _header_map(header)
    width = len(header)

    # One import per organization at a time: two would race on the same keys.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('household_import:' || :org, 0))"),
                    {"org": organization_id})
    session.execute(text("SET LOCAL work_mem = '128MB'"))
    # JIT compiles the big INSERT/DELETE ... SELECTs over the staging table for
    # longer than it saves (0.15 s for the duplicate check of 200k rows).
    session.execute(text("SET LOCAL jit = off"))
    for table in (_STAGE, _PLACES, _KEYS, _HOUSEHOLDS):
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    session.execute(text(f"""
        CREATE TEMP TABLE {_STAGE} (
            line int NOT NULL, address_key text NOT NULL, line1 text NOT NULL, city text NOT NULL,
            state text NOT NULL, zip text NOT NULL, lon float8 NOT NULL, lat float8 NOT NULL, street text,
            house_number int, block int, side text, unit text NOT NULL, external_id text, first_name text NOT NULL,
            last_name text NOT NULL, name_key text NOT NULL, phone text, email text, has_person bool NOT NULL,
            language text, chunk_hash int8 NOT NULL
        ) ON COMMIT DROP
    """))

    def problem(target: list, line: int, reason: str) -> None:
        if len(target) < MAX_REPORTED:
            target.append(RowProblem(line, reason))

    normalizer = _Normalizer()
    languages: dict[str, str | None] = {}  # a file repeats a few tags: each is checked once
    i_address, i_lat, i_lon = positions["address"], positions["latitude"], positions["longitude"]
    optional = {c: positions.get(c) for c in COLUMN_ALIASES if c not in REQUIRED_COLUMNS}
    i_unit, i_city, i_state, i_zip = optional["unit"], optional["city"], optional["state"], optional["zip"]
    i_ext, i_first, i_last = optional["external_id"], optional["first_name"], optional["last_name"]
    i_phone, i_email, i_language = optional["phone"], optional["email"], optional["language"]
    length_checks = [(positions[c], c, limit) for c, limit in MAX_LENGTH.items() if c in positions]
    checked_fields = lambda record: tuple(record[i] for i, _, _ in length_checks)  # noqa: E731
    if len(length_checks) > 1:
        checked_fields = itemgetter(*(i for i, _, _ in length_checks))
    length_limits = [limit for _, _, limit in length_checks]

    raw_connection = session.connection().connection.driver_connection
    chunk_hasher = hashlib.blake2b(ROW_FORMAT + b"\x1e" + "\x1f".join(header).encode("utf-8", "replace"), digest_size=8)
    # Chunks an earlier import applied are skipped unread (a re-import of last month's file costs the
    # reading, not the normalizing and writing); a first import has nothing to look up.
    remembered = session.execute(
        text("SELECT EXISTS (SELECT 1 FROM household_import_chunks WHERE organization_id = :org)"),
        {"org": organization_id}).scalar_one()

    def numbered_records() -> Iterator[tuple[int, int, list[str]]]:
        """(first line, last line, fields) of each non-blank record; one that is not CSV is reported."""
        previous_end = records.line_num
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except csv.Error as error:
                summary.rows_read += 1
                summary.rows_skipped += 1
                problem(summary.errors, previous_end + 1, f"not valid CSV: {error}")
                previous_end = records.line_num
                continue
            start, previous_end = previous_end + 1, records.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            summary.rows_read += 1
            yield start, previous_end, record

    def batches() -> Iterator[list[tuple[int, list[tuple[int, int, list[str]]]]]]:
        """Lists of (chunk hash, rows) of about _BATCH_ROWS rows. A row's CRC-32 says where a chunk ends;
        the chunk's 64-bit hash (BLAKE2b of its rows under the header) is what is remembered."""
        batch: list[tuple[int, list[tuple[int, int, list[str]]]]] = []
        rows: list[tuple[int, int, list[str]]] = []
        encoded: list[bytes] = []
        in_batch = 0

        def chunk_hash() -> int:
            digest = chunk_hasher.copy()
            digest.update(b"\x1e".join(encoded))
            return int.from_bytes(digest.digest(), "big", signed=True)

        for numbered in numbered_records():
            row = "\x1f".join(numbered[2]).encode("utf-8", "surrogatepass")
            rows.append(numbered)
            encoded.append(row)
            if crc32(row) % _CHUNK_AVERAGE_ROWS == 0 or len(rows) >= _CHUNK_MAX_ROWS:
                batch.append((chunk_hash(), rows))
                in_batch += len(rows)
                rows, encoded = [], []
                if in_batch >= _BATCH_ROWS:
                    yield batch
                    batch, in_batch = [], 0
        if rows:
            batch.append((chunk_hash(), rows))
        if batch:
            yield batch

    def staged_row(start: int, end: int, record: list[str], chunk_hash: int) -> tuple | None:
        """The row as the staging table holds it, or None (reported) when it cannot be imported."""
        try:
            if reader.bad_lines:
                bad = next((reader.bad_lines[n] for n in range(start, end + 1) if n in reader.bad_lines), None)
                if bad:
                    raise _RowError(bad)
            if len(record) != width:
                raise _RowError(f"expected {width} fields, found {len(record)}")
            if any(map(gt, map(len, checked_fields(record)), length_limits)):  # all in C; rarely true
                for index, column, limit in length_checks:
                    if len(record[index]) > limit:
                        raise _RowError(f"{column} is longer than {limit} characters")
            address = record[i_address].strip()
            if not address:
                raise _RowError("missing address")
            lat = _coordinate(record[i_lat], "latitude", -90.0, 90.0)
            lon = _coordinate(record[i_lon], "longitude", -180.0, 180.0)
            if lat == 0 and lon == 0:
                raise _RowError("latitude and longitude are both 0 (not geocoded)")
            base, inline_unit, display, street, number, block, side = normalizer.address(address)
            if not base:
                raise _RowError("missing address")
        except _RowError as error:
            summary.rows_skipped += 1
            problem(summary.errors, start, str(error))
            return None
        unit = normalizer.unit(record[i_unit].strip()) if i_unit is not None else ""
        unit = unit or inline_unit
        city = record[i_city].strip() if i_city is not None else ""
        state = record[i_state].strip() if i_state is not None else ""
        zip_code = record[i_zip].strip() if i_zip is not None else ""
        first = record[i_first].strip() if i_first is not None else ""
        last = record[i_last].strip() if i_last is not None else ""
        has_person = bool(first or last)
        external_id = phone = email = language = None
        key = ""
        if has_person:
            key = name_key(first, last)
            if i_ext is not None:
                external_id = record[i_ext].strip() or None
            if i_phone is not None and record[i_phone]:
                try:
                    phone = clean_phone(record[i_phone])
                except ValueError as error:
                    warn(start, f"{error}; phone not imported")
            if i_email is not None and record[i_email]:
                try:
                    email = clean_email(record[i_email])
                except ValueError as error:
                    warn(start, f"{error}; email not imported")
            if i_language is not None and record[i_language].strip():
                try:
                    language = languages.get(record[i_language])
                    if language is None:
                        language = languages[record[i_language]] = clean_language_tag(record[i_language])
                except ValueError as error:
                    warn(start, f"{error}; language not imported")
        if street is None:
            summary.unparsed_addresses += 1
        return (
            start, f"{base}|{normalizer.city(city)}|{zip_code[:5]}", display, city, state, zip_code, lon, lat,
            street, number, block, side, unit, external_id, first, last, key, phone, email, has_person,
            language, chunk_hash,
        )

    def warn(line: int, reason: str) -> None:
        summary.warning_count += 1
        problem(summary.warnings, line, reason)

    unremembered: set[int] = set()  # chunks with a row that was not imported: read again next time
    # Rows go to COPY in binary, packed by psycopg's C code; psycopg buffers
    # the writes, so memory stays flat and the writes stay large.
    with _cycle_collector_paused(), raw_connection.cursor() as cursor:
        for batch in batches():
            known: set[int] = set()
            if remembered:
                cursor.execute(
                    "SELECT chunk_hash FROM household_import_chunks WHERE organization_id = %s AND chunk_hash = ANY(%s)",
                    (organization_id, [chunk_hash for chunk_hash, _ in batch]))
                known = {chunk_hash for (chunk_hash,) in cursor.fetchall()}
            with cursor.copy(f"COPY {_STAGE} ({', '.join(_STAGE_COLUMNS)}) FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(_STAGE_TYPES)
                for chunk_hash, rows in batch:
                    if chunk_hash in known:
                        summary.rows_unchanged += len(rows)
                        continue
                    for start, end, record in rows:
                        if (staged := staged_row(start, end, record, chunk_hash)) is None:
                            unremembered.add(chunk_hash)
                        else:
                            copy.write_row(staged)
            if on_progress:
                on_progress(reader.bytes_read)
    staged = summary.rows_read - summary.rows_skipped - summary.rows_unchanged
    if summary.rows_read == 0:
        raise ValidationFailed("the file has a header but no rows", code="no_rows")
    if staged == 0 and summary.rows_unchanged == 0:
        first = summary.errors[0]
        raise ValidationFailed(
            f"none of the {summary.rows_read} row(s) could be imported; line {first.line}: {first.reason}",
            code="no_valid_rows",
            details={"errors": [{"line": p.line, "reason": p.reason} for p in summary.errors]},
        )
    if on_stage:
        on_stage("writing buildings, households and people")
    if staged:
        unremembered |= _upsert(session, organization_id, summary, staged=staged)
        # Remembered once applied, in this transaction.
        session.execute(text(f"""
            INSERT INTO household_import_chunks (organization_id, chunk_hash)
            SELECT DISTINCT :org, chunk_hash FROM {_STAGE} WHERE chunk_hash <> ALL(:unremembered)
            ON CONFLICT DO NOTHING
        """), {"org": organization_id, "unremembered": sorted(unremembered)})
    summary.rows_imported = summary.rows_read - summary.rows_skipped - summary.rows_unchanged
    summary.errors.sort(key=lambda p: p.line)
    del summary.errors[MAX_REPORTED:]
    for table in (_STAGE, _PLACES, _KEYS, _HOUSEHOLDS):
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    return summary


_BUILDING_FIELDS = (
    "line1", "city", "state", "zip", "location", "street", "house_number", "block", "side",
    "ward_id", "precinct_id", "outside_boundaries",
)


def _prefixed(alias: str, columns) -> str:
    return ", ".join(f"{alias}.{c}" for c in columns)


def _changed_rows(source: str, table: str, key: str, columns) -> str:
    """Rows of `source` that are new to `table` (is_new) or differ from it: an unchanged re-import then
    writes (and locks) nothing, where ON CONFLICT DO UPDATE alone locks every conflicting row."""
    return f"""
        SELECT s.*, t.id IS NULL AS is_new FROM {source} s
        LEFT JOIN {table} t ON t.organization_id = :org AND t.{key} = s.{key}
        WHERE t.id IS NULL OR ({_prefixed("t", columns)}) IS DISTINCT FROM ({_prefixed("s", columns)})
    """


def _upsert(session: Session, organization_id: int, summary: HouseholdImportSummary, *, staged: int) -> set[int]:
    """Writes the staged rows; returns the chunks of rows it refused (read again next time)."""
    org = {"org": organization_id}
    run = lambda sql, **params: session.execute(text(sql), {**org, **params})  # noqa: E731
    own_partitions = staged >= OWN_PARTITION_MIN_ROWS and has_no_rows_or_partitions(session, organization_id)
    # Where the rows go: the partitioned tables, or the organization's load tables (the buildings' keys
    # are built at once: few rows, and their upsert needs its unique key).
    target = (create_load_tables(session, organization_id, indexed_now=("buildings",)) if own_partitions
              else {table: table for table in PARTITIONED_TABLES})
    buildings, households, people = target["buildings"], target["households"], target["people"]

    # Statistics for the planner (a small sample: row counts and key spreads are what it needs).
    run("SET LOCAL default_statistics_target = 10")
    run(f"ANALYZE {_STAGE}")
    run("SET LOCAL default_statistics_target TO DEFAULT")
    # The same external_id twice in one file: the first row wins, the others are reported. Neither
    # row's chunk is remembered: a re-import reads both again and refuses the same row again.
    duplicates = []
    if run(f"""SELECT EXISTS (SELECT FROM {_STAGE} WHERE external_id IS NOT NULL
                              GROUP BY external_id HAVING count(*) > 1)""").scalar_one():
        duplicates = run(f"""
            DELETE FROM {_STAGE} s USING (
                SELECT line, external_id, min(line) OVER w AS first_line, first_value(chunk_hash) OVER w AS first_chunk
                FROM {_STAGE} WHERE external_id IS NOT NULL
                WINDOW w AS (PARTITION BY external_id ORDER BY line)
            ) d
            WHERE s.line = d.line AND d.line <> d.first_line
            RETURNING s.line, d.external_id, d.first_line, s.chunk_hash, d.first_chunk
        """).all()
    for line, external_id, first_line, *_ in sorted(duplicates):
        summary.rows_skipped += 1
        if len(summary.errors) < MAX_REPORTED:
            summary.errors.append(RowProblem(line, f"external_id {external_id!r} already on line {first_line}"))

    # Buildings: the first row of an address gives its spelling and point; each
    # is placed in its ward and precinct as it is written (one spatial join on
    # a GiST-indexed table of the file's addresses), so nothing is written twice.
    run(f"""
        CREATE TEMP TABLE {_PLACES} ON COMMIT DROP AS
        SELECT s.address_key, s.line1, s.city, s.state, s.zip,
               ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS location, s.street, s.house_number, s.block, s.side
        FROM {_STAGE} s JOIN (SELECT min(line) AS line FROM {_STAGE} GROUP BY address_key) f USING (line)
    """)
    run(f"CREATE INDEX ON {_PLACES} USING gist (location)")
    # Row counts for the planner (no geometry statistics: identical points make them slow).
    run(f"ANALYZE {_PLACES} (address_key)")
    fields = ", ".join(_BUILDING_FIELDS)
    summary.buildings_created, summary.buildings_updated = run(f"""
        WITH placed AS ({placement_sql(_PLACES, "address_key")}),
        incoming AS (
            SELECT a.address_key, a.line1, a.city, a.state, a.zip, a.location, a.street, a.house_number, a.block,
                   a.side, p.ward_id, p.precinct_id, p.ward_id IS NULL AS outside_boundaries
            FROM {_PLACES} a JOIN placed p USING (address_key)
        ), changed AS (
            {_changed_rows("incoming", buildings, "address_key", _BUILDING_FIELDS)}
        ), upserted AS (
            INSERT INTO {buildings} AS b (organization_id, address_key, {fields})
            SELECT :org, address_key, {fields} FROM changed
            ON CONFLICT (organization_id, address_key) DO UPDATE
               SET {", ".join(f"{c} = excluded.{c}" for c in _BUILDING_FIELDS)}, updated_at = now()
             WHERE ({_prefixed("b", _BUILDING_FIELDS)}) IS DISTINCT FROM ({_prefixed("excluded", _BUILDING_FIELDS)})
        )
        -- Counted from what was found (the import lock keeps it true), not from RETURNING xmax:
        -- a partitioned table has no system columns to return.
        SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM changed
    """).one()
    run(f"""
        CREATE TEMP TABLE {_KEYS} ON COMMIT DROP AS
        SELECT b.address_key, b.id AS building_id FROM {buildings} b
        WHERE b.organization_id = :org AND b.address_key IN (SELECT address_key FROM {_PLACES})
    """)
    run(f"ALTER TABLE {_KEYS} ADD PRIMARY KEY (address_key)")
    run(f"ANALYZE {_KEYS}")

    summary.households_created, summary.households_in_file = run(f"""
        WITH src AS (
            SELECT DISTINCT k.building_id, s.unit FROM {_STAGE} s JOIN {_KEYS} k USING (address_key)
        ), inserted AS (
            INSERT INTO {households} (organization_id, building_id, unit)
            SELECT :org, building_id, unit FROM src
            WHERE NOT EXISTS (SELECT 1 FROM {households} h WHERE h.organization_id = :org
                              AND h.building_id = src.building_id AND h.unit = src.unit)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM src)
    """).one()

    # The file's households with their ids, in a small analyzed table: the big
    # households table was just written to, and its statistics are stale.
    run(f"""
        CREATE TEMP TABLE {_HOUSEHOLDS} ON COMMIT DROP AS
        SELECT k.address_key, h.unit, h.id AS household_id
        FROM {_KEYS} k
        JOIN {households} h ON h.organization_id = :org AND h.building_id = k.building_id
        WHERE h.unit IN (SELECT DISTINCT unit FROM {_STAGE})
    """)
    run(f"ANALYZE {_HOUSEHOLDS}")
    # The rows meet their households by a hash join: the planner, short of statistics on the join's
    # selectivity, picks a merge join that sorts the whole staging table (on disk, for a million rows).
    run("SET LOCAL enable_mergejoin = off")
    people_src = f"""
        SELECT s.line, s.external_id, h.household_id, s.first_name, s.last_name, s.name_key, s.phone, s.email,
               s.language
        FROM {_STAGE} s
        JOIN {_HOUSEHOLDS} h ON h.address_key = s.address_key AND h.unit = s.unit
        WHERE s.has_person
    """
    if own_partitions:
        # The organization has no one yet: every person is new, written without lookups.
        columns = "household_id, external_id, first_name, last_name, name_key, phone, email, language"
        created = session.execute(text(f"""
            INSERT INTO {people} (organization_id, {columns}, source)
            SELECT :org, {columns}, 'import' FROM ({people_src}) src WHERE external_id IS NOT NULL
            UNION ALL
            SELECT :org, {columns}, 'import' FROM (
                SELECT DISTINCT ON (household_id, name_key) * FROM ({people_src}) p
                WHERE external_id IS NULL ORDER BY household_id, name_key, line
            ) plain
        """), org).rowcount
        updated = created_plain = updated_plain = 0
    else:
        # People with an external_id: re-import updates them (moved, renamed, new phone), never duplicates.
        # A blank phone or e-mail in the file keeps what is known (e.g. learned at the door).
        # New people are a plain INSERT and known ones an UPDATE of only the rows that
        # differ: cheaper than ON CONFLICT (no speculative insertion per row, no lock
        # on unchanged rows), and safe because only this import writes external_ids
        # and it holds the organization's import lock (the unique index still guards).
        created, updated = run(f"""
            WITH src AS (
                SELECT src.household_id, src.external_id, src.first_name, src.last_name, src.name_key, src.phone,
                       src.email, src.language, p.id AS person_id
                FROM ({people_src}) src
                LEFT JOIN {people} p ON p.organization_id = :org AND p.external_id = src.external_id
                WHERE src.external_id IS NOT NULL
            ), inserted AS (
                INSERT INTO {people} (organization_id, household_id, external_id, first_name, last_name, name_key,
                                    phone, email, language, source)
                SELECT :org, household_id, external_id, first_name, last_name, name_key, phone, email, language, 'import'
                FROM src WHERE person_id IS NULL
                RETURNING 1
            ), updated AS (
                UPDATE {people} p
                   SET household_id = src.household_id, first_name = src.first_name, last_name = src.last_name,
                       name_key = src.name_key, phone = coalesce(src.phone, p.phone), email = coalesce(src.email, p.email),
                       language = coalesce(src.language, p.language),
                       residence_current = p.residence_current OR p.household_id IS DISTINCT FROM src.household_id,
                       updated_at = now()
                  FROM src
                 WHERE p.organization_id = :org AND p.id = src.person_id
                   AND (p.household_id, p.first_name, p.last_name, p.phone, p.email, p.language)
                       IS DISTINCT FROM (src.household_id, src.first_name, src.last_name,
                                         coalesce(src.phone, p.phone), coalesce(src.email, p.email),
                                         coalesce(src.language, p.language))
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated)
        """).one()
        # People without one: the same name in the same household is the same person.
        created_plain, updated_plain = run(f"""
            WITH src AS (
                SELECT DISTINCT ON (household_id, name_key) * FROM ({people_src}) p
                WHERE external_id IS NULL ORDER BY household_id, name_key, line
            ), updated AS (
                UPDATE {people} p SET phone = coalesce(src.phone, p.phone), email = coalesce(src.email, p.email),
                       language = coalesce(src.language, p.language), updated_at = now()
                  FROM src
                 WHERE p.organization_id = :org AND p.household_id = src.household_id AND p.name_key = src.name_key
                   AND (p.phone, p.email, p.language)
                       IS DISTINCT FROM (coalesce(src.phone, p.phone), coalesce(src.email, p.email),
                                         coalesce(src.language, p.language))
                RETURNING 1
            ), inserted AS (
                INSERT INTO {people} (organization_id, household_id, first_name, last_name, name_key, phone, email, language,
                                    source)
                SELECT :org, household_id, first_name, last_name, name_key, phone, email, language, 'import' FROM src
                WHERE NOT EXISTS (
                    SELECT 1 FROM {people} p
                    WHERE p.organization_id = :org AND p.household_id = src.household_id AND p.name_key = src.name_key
                )
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated)
        """).one()
    run("SET LOCAL enable_mergejoin TO DEFAULT")
    summary.people_created = created + created_plain
    if own_partitions:
        attach_load_tables(session, organization_id)
    summary.people_updated = updated + updated_plain
    summary.outside_boundaries = run(f"""
        SELECT count(*) FROM buildings b JOIN {_KEYS} k ON k.building_id = b.id
        WHERE b.organization_id = :org AND b.outside_boundaries
    """).scalar_one()
    session.flush()
    return {chunk_hash for *_, chunk_hash, first_chunk in duplicates} | {first_chunk for *_, first_chunk in duplicates}
