"""Paper walk lists: what a printed sheet shows beyond the phone's document, and keying it back in.

Each door on a sheet carries its entry code (canvass/turfs/entry_codes.py). A lead typing a sheet back
in resolves each code to its door with `resolve_entry_code`: the household, its address, the turfs
that hold it and the leases of those turfs (the one the sheet was printed for, when it can be told).
The sheet's small map (`sheet_map`) and its questions' answer formats (`answer_format`) are pure
functions of the walk list document.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from canvass.campaigns.models import SCALE
from canvass.errors import NotFound, ValidationFailed
from canvass.turfs.entry_codes import decode_entry_code, normalize_entry_code
from canvass.turfs.lease_views import AssignmentView, assignment_views
from canvass.turfs.models import Assignment, TurfStop

__all__ = ["EntryCodeMatch", "SheetMap", "answer_format", "paper_row_client_id", "resolve_entry_code", "sheet_client_id",
           "sheet_map"]

MAX_LEASES_LISTED = 20


@dataclass(frozen=True)
class EntryCodeMatch:
    code: str
    household_id: int
    address: dict  # {line1, unit, city, state, zip}
    location: dict  # {lat, lon}
    people: list  # [{id, first_name, last_name}]: current residents
    turfs: list  # [{id, name, status}]: turfs (not archived) holding the door
    assignment: AssignmentView | None  # the lease the sheet was printed for, when it can be told
    assignments: list  # [AssignmentView]: leases of turfs holding the door, live first, then latest first


_DOOR_SQL = text("""
    SELECT h.id, b.line1, h.unit, b.city, b.state, b.zip, ST_Y(b.location) AS lat, ST_X(b.location) AS lon,
           coalesce((SELECT json_agg(json_build_object('id', p.id, 'first_name', p.first_name,
                                                       'last_name', p.last_name)
                                     ORDER BY p.last_name, p.first_name, p.id)
                     FROM people p
                     WHERE p.organization_id = h.organization_id AND p.household_id = h.id
                       AND p.residence_current AND NOT p.deceased AND p.merged_into_id IS NULL), '[]') AS people,
           coalesce((SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'status', t.status)
                                     ORDER BY t.name, t.id)
                     FROM turf_stops s JOIN turfs t ON t.organization_id = s.organization_id AND t.id = s.turf_id
                     WHERE s.organization_id = h.organization_id AND s.household_id = h.id
                       AND t.status <> 'archived'), '[]') AS turfs
    FROM households h
    JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
    WHERE h.organization_id = :org AND h.id = :household
""")


def resolve_entry_code(session: Session, *, organization_id: int, code: str,
                       assignment_id: int | None = None) -> EntryCodeMatch:
    """The door an entry code names, in the caller's organization.

    422 entry_code_invalid: not a code, or a typo (the check character does not match).
    404 entry_code_not_found: a well-formed code of no door of this organization (another
    organization's door included: codes are global, so it is never taken for another door).
    `assignment_id` (printed on the sheet): the lease the sheet was printed for; 404
    assignment_not_found if it is not the organization's, 422 entry_code_not_on_assignment if
    the door is not on its turf. Without it, the door's one live lease if it has exactly one.
    """
    normalized = normalize_entry_code(code)
    household_id = decode_entry_code(normalized)
    row = None
    if household_id is not None and household_id <= 2 ** 63 - 1:
        row = session.execute(_DOOR_SQL, {"org": organization_id, "household": household_id}).one_or_none()
    if row is None:
        raise NotFound("no door of this organization has this code: check the sheet", code="entry_code_not_found")
    on_door = (select(TurfStop.turf_id)
               .where(TurfStop.organization_id == organization_id, TurfStop.household_id == row.id))
    now = session.execute(select(func.now())).scalar_one()
    live = (Assignment.status == "active") & (Assignment.leased_until > now)
    leases = assignment_views(session, select(Assignment).where(
        Assignment.organization_id == organization_id, Assignment.turf_id.in_(on_door),
    ).order_by(case((live, 0), else_=1), Assignment.leased_at.desc(), Assignment.id.desc()).limit(MAX_LEASES_LISTED))
    if assignment_id is not None:
        chosen = assignment_views(session, select(Assignment).where(
            Assignment.organization_id == organization_id, Assignment.id == assignment_id))
        if not chosen:
            raise NotFound("no such assignment", code="assignment_not_found")
        printed_for = chosen[0]
        if printed_for.turf["id"] not in session.execute(on_door).scalars().all():
            raise ValidationFailed(
                f"this door is not on assignment {assignment_id}'s turf: check the code and the sheet's number",
                code="entry_code_not_on_assignment", details={"assignment_id": ["the door is not on its turf"]},
            )
    else:
        live_leases = [lease for lease in leases if lease.status == "active" and lease.leased_until > now]
        printed_for = live_leases[0] if len(live_leases) == 1 else None
    return EntryCodeMatch(
        code=normalized, household_id=row.id,
        address={"line1": row.line1, "unit": row.unit, "city": row.city, "state": row.state, "zip": row.zip},
        location={"lat": row.lat, "lon": row.lon}, people=row.people, turfs=row.turfs,
        assignment=printed_for, assignments=leases,
    )


# --- the printed sheet -----------------------------------------------------------------------


def sheet_client_id(sheet: uuid.UUID, household_id: int) -> uuid.UUID:
    """The client_id of a printed sheet's row (its contact, POST /v1/sync): the same for the same sheet
    and door, so a row keyed in twice is stored once."""
    return uuid.uuid5(sheet, str(household_id))


PAPER_ROW_NAMESPACE = uuid.UUID("6f0c8a52-3f5e-4d1b-9a57-2b8d4c1e7a90")


def paper_row_client_id(*, organization_id: int, assignment_id: int, household_id: int, walked_on: str) -> uuid.UUID:
    """The client_id of a paper walk list's row keyed in from the console: the same for the same
    assignment, door and day walked, so a resubmitted form stores nothing twice."""
    return uuid.uuid5(PAPER_ROW_NAMESPACE, f"{organization_id}:{assignment_id}:{household_id}:{walked_on}")


def answer_format(question: dict) -> str:
    """How a question is answered on paper: 'circle one: A / B', 'circle 1 2 3 4 5', 'yes / no', or a line."""
    kind = question.get("kind")
    if kind == "choice":
        return "circle one: " + " / ".join(str(choice) for choice in question.get("choices") or [])
    if kind == "scale":
        low, high = SCALE
        return f"circle one: {' '.join(str(n) for n in range(low, high + 1))} ({low} = least, {high} = most)"
    if kind == "yes_no":
        return "circle one: yes / no"
    return "write the answer"


@dataclass(frozen=True)
class SheetMap:
    """A turf and its stops drawn in a width x height box (SVG user units, y down)."""

    width: int
    height: int
    outline: list  # SVG path data, one per polygon
    route: str  # SVG polyline points, the stops in walking order
    stops: list  # [(x, y, seq)]


def _rings(geometry: dict) -> list[list[list[tuple[float, float]]]]:
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
    return [[[(float(x), float(y)) for x, y, *_ in ring] for ring in polygon] for polygon in polygons]


def sheet_map(geometry: dict, points: list[tuple[float, float, int]], *, width: int = 360, height: int = 240,
              margin: int = 8) -> SheetMap:
    """Project the turf (GeoJSON) and its stops ((lon, lat, seq) in walking order) into the box.

    Equirectangular around the turf's middle latitude (metres east and north in proportion),
    scaled to fit with the aspect kept, north up.
    """
    polygons = _rings(geometry)
    xs = [x for polygon in polygons for ring in polygon for x, _ in ring] + [p[0] for p in points]
    ys = [y for polygon in polygons for ring in polygon for _, y in ring] + [p[1] for p in points]
    if not xs:
        return SheetMap(width=width, height=height, outline=[], route="", stops=[])
    west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x, span_y = max((east - west) * squeeze, 1e-9), max(north - south, 1e-9)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    offset_x = (width - span_x * scale) / 2
    offset_y = (height - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (round(offset_x + (lon - west) * squeeze * scale, 1), round(offset_y + (north - lat) * scale, 1))

    outline = []
    for polygon in polygons:
        parts = []
        for ring in polygon:
            projected = [project(x, y) for x, y in ring]
            parts.append("M" + " L".join(f"{x} {y}" for x, y in projected) + " Z")
        outline.append(" ".join(parts))
    stops = [(*project(lon, lat), seq) for lon, lat, seq in points]
    route = " ".join(f"{x},{y}" for x, y, _ in stops)
    return SheetMap(width=width, height=height, outline=outline, route=route, stops=stops)
