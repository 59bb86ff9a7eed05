"""Running an export plan as a stream of bytes, and auditing it.

The rows come from PostgreSQL's `COPY (query) TO STDOUT` read row by row from the driver: the
server formats the CSV (fast, correct quoting), nothing is held but the current chunk, and a slow
client slows the server down through the socket instead of filling memory. There is no row limit.

CSV: COPY's own CSV with a header. OSDI: each row is one canvass as JSON text; it is copied as
CSV with a quote and delimiter JSON text can never hold (control characters are escaped in JSON),
so every line arrives verbatim, and the lines are joined into one HAL document:
  {"origin_system": ..., "_embedded": {"osdi:canvasses": [ ... ]}, "total_records": N}
(total_records last: it is known only at the end).

Auditing: who and what filter are written (`export.started`, committed) before the first byte
leaves, so no export goes unrecorded even if the process dies mid-stream; the row count is known
only at the end and is written then in its own transaction (`export.finished`, also when the
client went away: `complete: false`).
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.audit.models import AuditEvent
from canvass.audit.services import record_audit_event
from canvass.exports.plans import ORIGIN_SYSTEM, ExportPlan

CHUNK_BYTES = 64 * 1024


@dataclass
class ExportProgress:
    rows: int = 0
    bytes: int = 0
    complete: bool = False
    started: float = field(default_factory=time.monotonic)


def content_type(plan: ExportPlan) -> str:
    return "text/csv; charset=utf-8" if plan.format == "csv" else "application/hal+json"


def filename(plan: ExportPlan, today: str) -> str:
    return f"{plan.kind}-{today}.{'csv' if plan.format == 'csv' else 'json'}"


def _copy_statement(plan: ExportPlan) -> str:
    if plan.format == "csv":
        return f"COPY ({plan.sql}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    return f"COPY ({plan.sql}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"


def stream_export(session: Session, *, plan: ExportPlan, progress: ExportProgress) -> Iterator[bytes]:
    """Yield the export in chunks of about CHUNK_BYTES; `progress` holds the counts as it goes."""
    # Timestamps render as ISO 8601 in UTC whatever the server's default.
    session.execute(text("SET LOCAL TimeZone = 'UTC'"))
    raw = session.connection().connection.driver_connection  # psycopg: COPY isn't in SQLAlchemy's API
    buffer = bytearray()
    osdi = plan.format == "osdi"
    if osdi:
        buffer += (f'{{"origin_system": {json.dumps(ORIGIN_SYSTEM)}, "kind": "osdi:canvasses", '
                   '"_embedded": {"osdi:canvasses": [\n').encode()
    header = not osdi
    with raw.cursor() as cursor, cursor.copy(_copy_statement(plan), plan.params) as copy:
        # One block is one row (libpq hands COPY data over a row at a time).
        for block in copy:
            if header:
                header = False
            elif osdi:
                if progress.rows:
                    buffer += b",\n"
                block = block[:-1]  # the row's newline
                progress.rows += 1
            else:
                progress.rows += 1
            buffer += block
            if len(buffer) >= CHUNK_BYTES:
                progress.bytes += len(buffer)
                yield bytes(buffer)
                buffer.clear()
    if osdi:
        buffer += f'\n]}}, "total_records": {progress.rows}}}\n'.encode()
    progress.bytes += len(buffer)
    progress.complete = True
    yield bytes(buffer)


def record_export_started(session: Session, *, plan: ExportPlan, actor_user_id: int,
                          ip_address: str | None = None) -> AuditEvent:
    return record_audit_event(
        session, action="export.started", organization_id=plan.organization_id, actor_user_id=actor_user_id,
        target_type="export", target_id=plan.kind, ip_address=ip_address,
        details={"kind": plan.kind, "format": plan.format, "filters": plan.filters},
    )


def record_export_finished(session: Session, *, plan: ExportPlan, started_event_id: int, progress: ExportProgress,
                           actor_user_id: int, ip_address: str | None = None) -> AuditEvent:
    return record_audit_event(
        session, action="export.finished", organization_id=plan.organization_id, actor_user_id=actor_user_id,
        target_type="export", target_id=plan.kind, ip_address=ip_address,
        details={
            "kind": plan.kind, "format": plan.format, "filters": plan.filters, "started_event_id": started_event_id,
            "rows": progress.rows, "bytes": progress.bytes, "complete": progress.complete,
            "seconds": round(time.monotonic() - progress.started, 3),
        },
    )
