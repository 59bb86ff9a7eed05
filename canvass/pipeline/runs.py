"""Small reads and notes about pipeline runs that the rest of the area (and the layers above)
use without depending on the rollup itself: when it last ran, and people it must recompute."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from canvass.jobs import request_rollup
from canvass.pipeline.models import PersonChange, PipelineWatermark


def note_people_changed(session: Session, *, organization_id: int, person_ids: Iterable[int | None], reason: str) -> None:
    """Tell the rollup to recompute these people: for edits it can't see in its sources (an event
    moved, a user linked to a person, a merge that moved someone's records)."""
    ids = sorted({int(p) for p in person_ids if p is not None})
    if not ids:
        return
    session.execute(insert(PersonChange), [
        {"organization_id": organization_id, "person_id": person_id, "reason": reason[:32]} for person_id in ids
    ])
    request_rollup(session, organization_id=organization_id)


def last_run_at(session: Session, *, organization_id: int) -> datetime | None:
    return session.execute(
        select(PipelineWatermark.last_run_at).where(PipelineWatermark.organization_id == organization_id)
    ).scalar_one_or_none()
