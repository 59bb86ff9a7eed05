"""Turfs: drawn by a lead, or cut automatically from a ward or a set of precincts.

A turf's doors are households; `turf_stops.seq` is their walking order,
computed when the turf is made (walk_order.order_stops). The cut itself is
pure geometry (cutting.cut_turfs); this module loads its input, writes its
output set-based, and keeps its quality figures on the turf_cuts row.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union
from sqlalchemy import BigInteger, Integer, LargeBinary, Text, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.geo.boundaries import GeometryError, find_boundary, polygon_from_geojson
from canvass.geo.models import Boundary
from canvass.turfs.cutting import MAX_TARGET_DOORS, CutError, cut_turfs
from canvass.turfs.cutting import Building as CutBuilding
from canvass.turfs.leases import (
    change_turf_status,
    doors_already_leased,
    doors_in_live_leases,
    lock_doors_for_drawing,
    record_turf_event,
)
from canvass.turfs.models import TURF_STATUSES, Turf, TurfCut
from canvass.turfs.walk_order import Stop, order_stops, route_length_m

__all__ = [
    "MAX_DRAWN_TURF_DOORS",
    "MAX_TARGET_DOORS",
    "TurfListing",
    "create_drawn_turf",
    "cut_turfs_for_area",
    "CutView",
    "get_cut",
    "get_turf",
    "list_turfs",
    "get_turf_listing",
    "update_turf",
]

MAX_DRAWN_TURF_DOORS = 5_000
MAX_NAME_LENGTH = 200
MAX_CUT_PRECINCTS = 200


# --- doors and walk order ---------------------------------------------------------------

_DOORS_SQL = """
    SELECT h.id AS household_id, b.id AS building_id, ST_X(b.location) AS lon, ST_Y(b.location) AS lat,
           b.street, b.block, b.side, b.house_number, h.unit, b.ward_id, b.precinct_id
    FROM buildings b
    JOIN households h ON h.organization_id = b.organization_id AND h.building_id = b.id
    WHERE b.organization_id = :org AND {where}
"""


def _stop(row) -> Stop:
    return Stop(
        key=row.household_id, building_id=row.building_id, lon=row.lon, lat=row.lat, street=row.street,
        block=row.block, side=row.side, house_number=row.house_number, unit=row.unit,
    )


def _write_stops(session: Session, organization_id: int, turf_ids: list[int], orders: list[list[Stop]]) -> None:
    """All turfs' stops in one INSERT ... SELECT FROM unnest(...)."""
    turf_column, household_column, seq_column = [], [], []
    for turf_id, ordered in zip(turf_ids, orders):
        turf_column.extend([turf_id] * len(ordered))
        household_column.extend(stop.key for stop in ordered)
        seq_column.extend(range(1, len(ordered) + 1))
    session.execute(
        text(
            "INSERT INTO turf_stops (organization_id, turf_id, household_id, seq) "
            "SELECT :org, t, h, s FROM unnest(:turfs, :households, :seqs) AS u(t, h, s)"
        ).bindparams(
            bindparam("turfs", type_=ARRAY(BigInteger)), bindparam("households", type_=ARRAY(BigInteger)),
            bindparam("seqs", type_=ARRAY(Integer)),
        ),
        {"org": organization_id, "turfs": turf_column, "households": household_column, "seqs": seq_column},
    )


def _name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            f"name must be 1 to {MAX_NAME_LENGTH} characters", details={"name": ["1 to 200 characters"]}
        )
    return name


def _multipolygon(geom) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    return _multipolygon(unary_union(parts)) if parts else MultiPolygon()


# --- drawn turfs ------------------------------------------------------------------------


def create_drawn_turf(
    session: Session, *, organization_id: int, actor_id: int | None, name: str, geometry, ward: str | None = None
) -> TurfListing:
    """A turf from a polygon a lead drew: its doors are the households inside.

    Refused (409 doors_already_leased) if some of them are in a live lease, of any campaign.
    Overlapping turfs that are not leased are fine: the answer lists them (`overlaps`).
    """
    name = _name(name)
    try:
        polygon, _ = polygon_from_geojson(geometry, repair=False)
    except GeometryError as error:
        raise ValidationFailed(str(error), code="invalid_geometry", details={"geometry": [str(error)]}) from None
    ward_row = find_boundary(session, organization_id=organization_id, level="ward", name=ward) if ward else None
    rows = session.execute(
        text(_DOORS_SQL.format(where="ST_Intersects(ST_GeomFromWKB(:wkb, 4326), b.location)") + " LIMIT :limit"),
        {"org": organization_id, "wkb": polygon.wkb, "limit": MAX_DRAWN_TURF_DOORS + 1},
    ).all()
    if not rows:
        raise ValidationFailed("there are no households inside this polygon", code="empty_turf",
                               details={"geometry": ["contains no households"]})
    if len(rows) > MAX_DRAWN_TURF_DOORS:
        raise ValidationFailed(
            f"this polygon holds more than {MAX_DRAWN_TURF_DOORS} doors; draw a smaller turf or cut the ward",
            code="turf_too_large", details={"geometry": ["too many doors"]},
        )
    if ward_row is None:
        # The ward most of its doors are in.
        wards = Counter(row.ward_id for row in rows if row.ward_id is not None)
        ward_id = wards.most_common(1)[0][0] if wards else None
    else:
        ward_id = ward_row.id
    turf = Turf(
        organization_id=organization_id, name=name, ward_id=ward_id, origin="drawn", status="ready",
        geom=from_shape(polygon, srid=4326), door_count=len(rows),
        building_count=len({row.building_id for row in rows}), created_by_id=actor_id,
    )
    session.add(turf)
    session.flush()
    _write_stops(session, organization_id, [turf.id], [order_stops([_stop(row) for row in rows])])
    # Held until commit: a lease being made over these doors is seen, or waits and then sees this turf.
    lock_doors_for_drawing(session, organization_id=organization_id)
    leased = doors_in_live_leases(session, organization_id=organization_id, turf_id=turf.id)
    if leased:
        raise doors_already_leased(leased, what="this drawn turf")
    record_turf_event(session, organization_id=organization_id, turf_id=turf.id, action="created",
                      from_status=None, to_status="ready", actor_id=actor_id, details={"origin": "drawn"})
    session.flush()
    return get_turf_listing(session, organization_id=organization_id, turf_id=turf.id)


def update_turf(
    session: Session,
    *,
    organization_id: int,
    turf_id: int,
    actor_id: int | None,
    name: str | None = None,
    status: str | None = None,
    reason: str | None = None,
) -> TurfListing:
    """Rename a turf and/or complete, archive or reopen it (leases.change_turf_status)."""
    turf = get_turf(session, organization_id=organization_id, turf_id=turf_id)
    if name is not None:
        new_name = _name(name)
        if new_name != turf.name:
            record_turf_event(session, organization_id=organization_id, turf_id=turf.id, action="renamed",
                              from_status=turf.status, to_status=turf.status, actor_id=actor_id, reason=reason,
                              details={"from": turf.name, "to": new_name})
            turf.name = new_name
    if status is not None:
        change_turf_status(session, organization_id=organization_id, turf_id=turf.id, status=status,
                           actor_id=actor_id, reason=reason)
    session.flush()
    return get_turf_listing(session, organization_id=organization_id, turf_id=turf.id)


# --- automatic cutting ------------------------------------------------------------------


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cut_area(session: Session, organization_id: int, ward: str | None, precincts: list[str] | None):
    """(ward boundary or None, precinct boundaries or None, SQL filter, params) of the area to cut."""
    if bool(ward) == bool(precincts):
        raise ValidationFailed("name a ward, or a list of precincts", details={"ward": ["give ward or precincts"]})
    if ward:
        ward_row = find_boundary(session, organization_id=organization_id, level="ward", name=ward)
        return ward_row, [], "b.ward_id = :ward_id", {"ward_id": ward_row.id}
    if len(precincts) > MAX_CUT_PRECINCTS:
        raise ValidationFailed(f"at most {MAX_CUT_PRECINCTS} precincts per cut", details={"precincts": ["too many"]})
    rows = []
    for label in dict.fromkeys(precincts):
        # "33-12" names precinct 12 of ward 33 (precinct numbers repeat across wards).
        parent, _, name = str(label).rpartition("-")
        rows.append(find_boundary(session, organization_id=organization_id, level="precinct",
                                  name=name, parent=parent or None))
    ward_ids = {p.parent_id for p in rows}
    ward_row = None
    if len(ward_ids) == 1 and None not in ward_ids:
        ward_row = session.get(Boundary, (organization_id, next(iter(ward_ids))))
    return ward_row, rows, "b.precinct_id = ANY(:precinct_ids)", {"precinct_ids": [p.id for p in rows]}


def cut_turfs_for_area(
    session: Session,
    *,
    organization_id: int,
    actor_id: int | None,
    target_doors: int,
    ward: str | None = None,
    precincts: list[str] | None = None,
) -> CutView:
    """Cut a ward (or precincts: "WARD-PRECINCT" labels) into turfs of about `target_doors` doors.

    Every household of the area lands in exactly one turf of the cut. Turfs of
    earlier cuts that hold doors of this area are archived; if one of them is
    checked out the cut is refused (release it first).
    """
    if isinstance(target_doors, bool) or not isinstance(target_doors, int) or not 1 <= target_doors <= MAX_TARGET_DOORS:
        raise ValidationFailed(
            f"target_doors must be a whole number from 1 to {MAX_TARGET_DOORS}", code="invalid_target",
            details={"target_doors": ["out of range"]},
        )
    ward_row, precinct_rows, where, params = _cut_area(session, organization_id, ward, precincts)
    params = {"org": organization_id, **params}
    query = text(_DOORS_SQL.format(where=where) + " ORDER BY b.id, h.id")
    if precinct_rows:
        query = query.bindparams(bindparam("precinct_ids", type_=ARRAY(BigInteger)))
    rows = session.execute(query, params).all()
    if not rows:
        raise ValidationFailed("there are no households in this area to cut", code="no_households")

    # Earlier cut turfs over these doors give way to the new cut.
    superseded = session.execute(text("""
        SELECT DISTINCT t.id, t.status FROM turfs t
        JOIN turf_stops s ON s.organization_id = t.organization_id AND s.turf_id = t.id
        WHERE t.organization_id = :org AND t.origin = 'cut' AND t.status <> 'archived'
          AND s.household_id = ANY(:households)
        ORDER BY t.id
    """).bindparams(bindparam("households", type_=ARRAY(BigInteger))),
        {"org": organization_id, "households": [row.household_id for row in rows]}).all()
    checked_out = [turf_id for turf_id, status in superseded if status == "checked_out"]
    if checked_out:
        raise Conflict(
            f"{len(checked_out)} turf(s) of an earlier cut of this area are checked out; release them first",
            code="turfs_checked_out", details={"turf_ids": checked_out},
        )

    buildings: dict[int, dict] = {}
    for row in rows:
        entry = buildings.setdefault(row.building_id, {"row": row, "stops": []})
        entry["stops"].append(_stop(row))
    cut_input = [
        CutBuilding(
            building_id=building_id, lon=entry["row"].lon, lat=entry["row"].lat, doors=len(entry["stops"]),
            precinct=str(entry["row"].precinct_id) if entry["row"].precinct_id is not None else None,
            street=entry["row"].street, block=entry["row"].block, side=entry["row"].side,
        )
        for building_id, entry in buildings.items()
    ]
    if precinct_rows:
        boundary = unary_union([to_shape(p.geom) for p in precinct_rows])
    else:
        boundary = to_shape(ward_row.geom)
    try:
        # Walk orders are computed below at the door level; no need to route twice.
        result = cut_turfs(cut_input, target_doors=target_doors, boundary=boundary, measure_routes=False)
    except CutError as error:
        raise ValidationFailed(str(error), code=error.code, details={"target_doors": [str(error)]}) from None

    orders, routes, ward_ids = [], [], []
    for cut_turf in result.turfs:
        stops = [stop for building_id in cut_turf.building_ids for stop in buildings[building_id]["stops"]]
        ordered = order_stops(stops)
        orders.append(ordered)
        routes.append(route_length_m(ordered))
        wards = Counter(buildings[b]["row"].ward_id for b in cut_turf.building_ids)
        ward_ids.append(wards.most_common(1)[0][0])

    quality = {key: _finite(value) for key, value in asdict(result.quality).items()}
    quality["mean_route_length_m"] = float(np.mean(routes))
    quality["total_route_length_m"] = float(np.sum(routes))
    quality["households"] = len(rows)
    quality["buildings"] = len(buildings)
    cut = TurfCut(
        organization_id=organization_id, ward_id=ward_row.id if ward_row else None, target_doors=target_doors,
        parameters={"ward": ward, "precincts": list(dict.fromkeys(precincts or [])) or None},
        quality=quality, created_by_id=actor_id,
    )
    session.add(cut)
    session.flush()

    if superseded:
        superseded_ids = [turf_id for turf_id, _ in superseded]
        session.execute(text("""
            WITH archived AS (
                UPDATE turfs SET status = 'archived', updated_at = now()
                WHERE organization_id = :org AND id = ANY(:ids)
                RETURNING id, organization_id
            ), previous AS (
                SELECT id, status FROM unnest(:ids, :statuses) AS p(id, status)
            )
            INSERT INTO turf_events (organization_id, turf_id, action, from_status, to_status, actor_user_id, reason, details)
            SELECT a.organization_id, a.id, 'archived', p.status, 'archived', :actor, 'replaced by a new cut',
                   jsonb_build_object('cut_id', :cut_id)
            FROM archived a JOIN previous p ON p.id = a.id
        """).bindparams(bindparam("ids", type_=ARRAY(BigInteger)), bindparam("statuses", type_=ARRAY(Text))),
            {"org": organization_id, "ids": superseded_ids, "statuses": [s for _, s in superseded],
             "actor": actor_id, "cut_id": cut.id})

    label = ward_row.name if ward_row and not precincts else f"cut{cut.id}"
    width = max(3, len(str(len(result.turfs))))
    turf_rows = [
        {
            "org": organization_id, "name": f"{label}-{t.index + 1:0{width}d}", "ward_id": ward_id, "cut_id": cut.id,
            "wkb": _multipolygon(t.polygon).wkb, "doors": t.door_count, "buildings": len(t.building_ids),
            "actor": actor_id,
        }
        for t, ward_id in zip(result.turfs, ward_ids)
    ]
    inserted = session.execute(text("""
        INSERT INTO turfs (organization_id, name, ward_id, cut_id, origin, status, geom, door_count, building_count,
                           created_by_id)
        SELECT :org, name, ward_id, :cut_id, 'cut', 'ready', ST_Multi(ST_GeomFromWKB(wkb, 4326)), doors, buildings, :actor
        FROM unnest(:names, :ward_ids, :wkbs, :doors, :buildings) AS u(name, ward_id, wkb, doors, buildings)
        RETURNING id, name
    """).bindparams(
        bindparam("names", type_=ARRAY(Text)), bindparam("ward_ids", type_=ARRAY(BigInteger)),
        bindparam("wkbs", type_=ARRAY(LargeBinary)), bindparam("doors", type_=ARRAY(Integer)),
        bindparam("buildings", type_=ARRAY(Integer)),
    ), {
        "org": organization_id, "cut_id": cut.id, "actor": actor_id,
        "names": [r["name"] for r in turf_rows], "ward_ids": [r["ward_id"] for r in turf_rows],
        "wkbs": [r["wkb"] for r in turf_rows], "doors": [r["doors"] for r in turf_rows],
        "buildings": [r["buildings"] for r in turf_rows],
    }).all()
    id_by_name = {name: turf_id for turf_id, name in inserted}
    turf_ids = [id_by_name[r["name"]] for r in turf_rows]
    _write_stops(session, organization_id, turf_ids, orders)
    session.execute(text("""
        INSERT INTO turf_events (organization_id, turf_id, action, from_status, to_status, actor_user_id, details)
        SELECT :org, id, 'created', NULL, 'ready', :actor, jsonb_build_object('origin', 'cut', 'cut_id', :cut_id)
        FROM unnest(:ids) AS id
    """).bindparams(bindparam("ids", type_=ARRAY(BigInteger))),
        {"org": organization_id, "actor": actor_id, "cut_id": cut.id, "ids": list(turf_ids)})
    session.flush()
    return get_cut(session, organization_id=organization_id, cut_id=cut.id)


@dataclass
class CutView:
    cut: TurfCut
    ward: str | None
    turfs: list


def get_cut(session: Session, *, organization_id: int, cut_id: int) -> CutView:
    """A cut with its quality figures and its turfs (archived ones included)."""
    row = session.execute(
        select(TurfCut, Boundary.name)
        .outerjoin(Boundary, (Boundary.organization_id == TurfCut.organization_id) & (Boundary.id == TurfCut.ward_id))
        .where(TurfCut.organization_id == organization_id, TurfCut.id == cut_id)
    ).one_or_none()
    if row is None:
        raise NotFound("no such turf cut", code="cut_not_found")
    cut, ward = row
    turfs = list_turfs(session, organization_id=organization_id, cut_id=cut.id, include_archived=True)
    return CutView(cut=cut, ward=ward, turfs=turfs)


# --- reading ----------------------------------------------------------------------------


def get_turf(session: Session, *, organization_id: int, turf_id: int) -> Turf:
    turf = session.execute(
        select(Turf).where(Turf.organization_id == organization_id, Turf.id == turf_id)
    ).scalar_one_or_none()
    if turf is None:
        raise NotFound("no such turf", code="turf_not_found")
    return turf


@dataclass
class TurfListing:
    id: int
    name: str
    ward: str | None
    status: str
    origin: str
    cut_id: int | None
    door_count: int
    building_count: int
    knocked: int
    contacted: int
    geometry: dict
    assignment: dict | None
    updated_at: object
    overlaps: list = field(default_factory=list)  # [{id, name, status, shared_doors}]: other turfs sharing doors


def list_turfs(
    session: Session,
    *,
    organization_id: int,
    ward: str | None = None,
    status: str | None = None,
    cut_id: int | None = None,
    campaign_id: int | None = None,
    turf_id: int | None = None,
    include_archived: bool = False,
) -> list[TurfListing]:
    """Turfs with their progress: doors, knocked (a contact since the turf was made), contacted (a conversation).

    Archived turfs are left out unless asked for (`status='archived'` or `include_archived`).
    `campaign_id` counts only that campaign's contacts.
    """
    conditions, params = ["t.organization_id = :org"], {"org": organization_id}
    if ward:
        ward_row = find_boundary(session, organization_id=organization_id, level="ward", name=ward)
        conditions.append("t.ward_id = :ward_id")
        params["ward_id"] = ward_row.id
    if status:
        if status not in TURF_STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(TURF_STATUSES)}", details={"status": ["unknown"]})
        conditions.append("t.status = :status")
        params["status"] = status
    elif not include_archived:
        conditions.append("t.status <> 'archived'")
    if cut_id is not None:
        conditions.append("t.cut_id = :cut_id")
        params["cut_id"] = cut_id
    if turf_id is not None:
        conditions.append("t.id = :turf_id")
        params["turf_id"] = turf_id
    campaign_filter = ""
    if campaign_id is not None:
        campaign_filter = "AND c.campaign_id = :campaign_id"
        params["campaign_id"] = campaign_id
    rows = session.execute(text(f"""
        WITH selected AS (
            SELECT t.* FROM turfs t WHERE {' AND '.join(conditions)}
        ), progress AS (
            SELECT s.turf_id,
                   count(DISTINCT c.household_id) AS knocked,
                   count(DISTINCT c.household_id) FILTER (WHERE c.result_code IS NULL) AS contacted
            FROM selected t
            JOIN turf_stops s ON s.organization_id = t.organization_id AND s.turf_id = t.id
            JOIN contacts c ON c.organization_id = s.organization_id AND c.household_id = s.household_id
                           AND c.occurred_at >= t.created_at {campaign_filter}
            GROUP BY s.turf_id
        ), shared AS (
            SELECT mine.turf_id, other.turf_id AS other_id, count(*) AS shared_doors
            FROM selected t
            JOIN turf_stops mine ON mine.organization_id = t.organization_id AND mine.turf_id = t.id
            JOIN turf_stops other ON other.organization_id = mine.organization_id
                                 AND other.household_id = mine.household_id AND other.turf_id <> mine.turf_id
            GROUP BY mine.turf_id, other.turf_id
        ), turf_overlaps AS (
            SELECT sh.turf_id,
                   json_agg(json_build_object('id', o.id, 'name', o.name, 'status', o.status,
                                              'shared_doors', sh.shared_doors) ORDER BY o.name, o.id) AS shared_with
            FROM shared sh
            JOIN turfs o ON o.organization_id = :org AND o.id = sh.other_id AND o.status <> 'archived'
            GROUP BY sh.turf_id
        )
        SELECT t.id, t.name, w.name AS ward, t.status, t.origin, t.cut_id, t.door_count, t.building_count,
               coalesce(p.knocked, 0) AS knocked, coalesce(p.contacted, 0) AS contacted,
               ST_AsGeoJSON(t.geom, 6) AS geometry, t.updated_at,
               a.id AS assignment_id, a.canvasser_id, u.name AS canvasser_name, a.team_id, tm.name AS team_name,
               a.campaign_id, a.leased_until, coalesce(ov.shared_with, '[]') AS shared_with
        FROM selected t
        LEFT JOIN boundaries w ON w.organization_id = t.organization_id AND w.id = t.ward_id
        LEFT JOIN progress p ON p.turf_id = t.id
        LEFT JOIN turf_overlaps ov ON ov.turf_id = t.id
        LEFT JOIN assignments a ON a.organization_id = t.organization_id AND a.turf_id = t.id AND a.status = 'active'
        LEFT JOIN users u ON u.organization_id = a.organization_id AND u.id = a.canvasser_id
        LEFT JOIN teams tm ON tm.organization_id = a.organization_id AND tm.id = a.team_id
        ORDER BY t.name, t.id
    """), params).all()
    return [
        TurfListing(
            id=r.id, name=r.name, ward=r.ward, status=r.status, origin=r.origin, cut_id=r.cut_id,
            door_count=r.door_count, building_count=r.building_count, knocked=r.knocked, contacted=r.contacted,
            geometry=json.loads(r.geometry), updated_at=r.updated_at, overlaps=r.shared_with,
            assignment=None if r.assignment_id is None else {
                "id": r.assignment_id, "canvasser_id": r.canvasser_id, "canvasser_name": r.canvasser_name,
                "team_id": r.team_id, "team_name": r.team_name,
                "campaign_id": r.campaign_id, "leased_until": r.leased_until,
            },
        )
        for r in rows
    ]


def get_turf_listing(session: Session, *, organization_id: int, turf_id: int, campaign_id: int | None = None) -> TurfListing:
    """One turf as listed (with progress and its live assignment), whatever its status."""
    turf = get_turf(session, organization_id=organization_id, turf_id=turf_id)
    return list_turfs(session, organization_id=organization_id, turf_id=turf.id, include_archived=True,
                      campaign_id=campaign_id)[0]
