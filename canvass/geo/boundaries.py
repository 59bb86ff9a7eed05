"""Wards and precincts: GeoJSON in, validated MultiPolygons out, buildings placed in them.

The import is all-or-nothing: every feature is checked first (geometry, name,
parent) and any problem refuses the whole file with each feature's index and
reason. Invalid rings that can be repaired without losing area are repaired
(and reported); anything else is rejected.

Placement of buildings in wards and precincts is one set-based spatial
UPDATE (`place_buildings`), shared with the household import.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import explain_validity
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from canvass.errors import NotFound, ValidationFailed
from canvass.geo.models import BOUNDARY_LEVELS, Boundary, Building, Household

__all__ = [
    "BoundaryImportSummary",
    "GeometryError",
    "MAX_FEATURES",
    "MAX_VERTICES",
    "find_boundary",
    "get_boundary",
    "import_boundaries",
    "list_boundaries",
    "place_buildings",
    "placement_sql",
    "polygon_from_geojson",
]

MAX_FEATURES = 20_000
MAX_VERTICES = 250_000  # per feature; Chicago's largest ward has ~3,600
MAX_REPORTED_PROBLEMS = 50
# A repair may drop slivers, but a "repair" that changes the area by more than
# this is a different polygon: rejected instead.
MAX_REPAIR_AREA_CHANGE = 0.01


class GeometryError(ValueError):
    """A GeoJSON geometry that cannot be used; the message says why."""


# --- GeoJSON geometry -------------------------------------------------------------


def _ring(ring, where: str) -> list[tuple[float, float]]:
    if not isinstance(ring, (list, tuple)):
        raise GeometryError(f"{where} must be a list of positions")
    if len(ring) < 4:
        raise GeometryError(f"{where} has {len(ring)} positions; a closed ring needs at least 4")
    points = []
    for position in ring:
        if not isinstance(position, (list, tuple)) or not 2 <= len(position) <= 3:
            raise GeometryError(f"{where}: each position must be [longitude, latitude]")
        lon, lat = position[0], position[1]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (lon, lat)):
            raise GeometryError(f"{where}: coordinates must be numbers, got {json.dumps(position)[:60]}")
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise GeometryError(f"{where}: coordinates must be finite numbers")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeometryError(
                f"{where}: position [{lon}, {lat}] is out of range (longitude -180..180, latitude -90..90)"
            )
        points.append((float(lon), float(lat)))
    if points[0] != points[-1]:  # GeoJSON rings are closed explicitly
        raise GeometryError(f"{where} is not closed: its first and last positions differ")
    return points


def _polygonal_parts(geom) -> list[Polygon]:
    parts = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon) and not part.is_empty:
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(p for p in part.geoms if not p.is_empty)
        elif part.geom_type == "GeometryCollection":
            parts.extend(_polygonal_parts(part))
    return parts


def polygon_from_geojson(geometry, *, repair: bool = False) -> tuple[MultiPolygon, str | None]:
    """A GeoJSON Polygon/MultiPolygon as a valid shapely MultiPolygon (lon/lat).

    Returns (multipolygon, repair_reason); repair_reason is None when the input
    was valid. Without `repair`, an invalid polygon (self-intersection...) is an
    error. Raises GeometryError with a human reason.
    """
    if not isinstance(geometry, dict):
        raise GeometryError("geometry must be a GeoJSON object")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeometryError(f"geometry must be a Polygon or MultiPolygon, not {str(kind)[:40]!r}")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, (list, tuple)) or not coordinates:
        raise GeometryError("geometry has no coordinates (an empty polygon)")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    parts, vertices = [], 0
    for p, rings in enumerate(polygons):
        label = "polygon" if kind == "Polygon" else f"polygon {p}"
        if not isinstance(rings, (list, tuple)) or not rings:
            raise GeometryError(f"{label} has no rings (an empty polygon)")
        parsed = []
        for r, ring in enumerate(rings):
            parsed.append(_ring(ring, f"{label} {'exterior ring' if r == 0 else f'hole {r}'}"))
            vertices += len(ring)
            if vertices > MAX_VERTICES:
                raise GeometryError(f"geometry has more than {MAX_VERTICES} positions; simplify it first")
        parts.append(Polygon(parsed[0], parsed[1:]))
    result = MultiPolygon(parts)
    if result.is_valid:
        if result.area == 0:
            raise GeometryError("polygon has no area")
        return result, None
    reason = explain_validity(result)
    fixed_parts = _polygonal_parts(shapely.make_valid(result))
    fixed = MultiPolygon(fixed_parts) if fixed_parts else MultiPolygon()
    if fixed.is_empty or fixed.area == 0:
        raise GeometryError("polygon has no area")
    if not repair:
        raise GeometryError(f"invalid polygon: {reason}")
    if not fixed.is_valid:
        raise GeometryError(f"invalid polygon that cannot be repaired: {reason}")
    # A repair may drop slivers; one that changes the rings' area a lot is a
    # different polygon. (A bow-tie's signed halves cancel: no area to compare.)
    before = sum(abs(Polygon(part.exterior).area) for part in parts)
    if before > 0 and abs(fixed.area - before) / before > MAX_REPAIR_AREA_CHANGE:
        raise GeometryError(f"invalid polygon ({reason}); repairing it would change its area, so fix it at the source")
    return fixed, reason


# --- import ---------------------------------------------------------------------


@dataclass
class BoundaryImportSummary:
    level: str
    features: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # [{"index", "name", "reason"}]: invalid rings that were repaired.
    repaired: list[dict] = field(default_factory=list)
    buildings_placed: int = 0


def _label(value) -> str | None:
    """A property value as a boundary name: 33 -> "33", 33.0 -> "33", " 21 " -> "21"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value) if value.is_integer() else value
    if isinstance(value, (dict, list)):
        return None
    label = str(value).strip()
    return label or None


def _jsonable(value):
    """Properties as JSONB accepts them: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _features(geojson) -> list:
    if not isinstance(geojson, dict):
        raise ValidationFailed("the file is not a GeoJSON object", code="invalid_geojson")
    kind = geojson.get("type")
    if kind == "FeatureCollection":
        features = geojson.get("features")
        if not isinstance(features, list):
            raise ValidationFailed("a FeatureCollection needs a 'features' list", code="invalid_geojson")
    elif kind == "Feature":
        features = [geojson]
    else:
        raise ValidationFailed(
            f"expected a GeoJSON FeatureCollection or Feature, got {str(kind)[:40]!r}", code="invalid_geojson"
        )
    if not features:
        raise ValidationFailed("the FeatureCollection has no features", code="invalid_geojson")
    if len(features) > MAX_FEATURES:
        raise ValidationFailed(f"at most {MAX_FEATURES} features per import", code="too_many_features")
    return features


def _refuse(problems: list[tuple[int, str]], what: str = "feature") -> None:
    problems.sort()
    first_index, first_reason = problems[0]
    raise ValidationFailed(
        f"{len(problems)} {what}(s) rejected, nothing imported; first: {what} {first_index}: {first_reason}",
        code="invalid_boundaries",
        details={"features": [{"index": i, "reason": r} for i, r in problems[:MAX_REPORTED_PROBLEMS]]},
    )


_STAGE_TABLE = "boundary_import_stage"


def import_boundaries(
    session: Session,
    *,
    organization_id: int,
    level: str,
    geojson,
    name_field: str,
    parent_field: str | None = None,
) -> BoundaryImportSummary:
    """Create or update the organization's wards or precincts from GeoJSON.

    Keyed by (level, parent ward, name): re-importing the same file changes
    nothing. Precincts are linked to their ward by `parent_field` (the ward's
    name) or, without it, to the ward that contains a point of the precinct.
    Afterwards every building of the organization is (re)placed.
    """
    if level not in BOUNDARY_LEVELS:
        raise ValidationFailed(f"level must be one of {', '.join(BOUNDARY_LEVELS)}", details={"level": ["unknown level"]})
    if not (name_field or "").strip():
        raise ValidationFailed("name_field must name a feature property", details={"name_field": ["required"]})
    if level == "ward" and parent_field:
        raise ValidationFailed("wards have no parent; parent_field is for precincts",
                               details={"parent_field": ["only for precincts"]})
    features = _features(geojson)

    rows, problems, repaired, seen = [], [], [], {}
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append((index, "not a GeoJSON Feature"))
            continue
        properties = feature.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        if _holds_nul(properties):
            problems.append((index, "a property holds a NUL character (\\u0000), which cannot be stored"))
            continue
        name = _label(properties.get(name_field))
        if name is None:
            problems.append((index, f"property {name_field!r} is missing or empty"))
            continue
        if len(name) > 200:
            problems.append((index, f"property {name_field!r} is longer than 200 characters"))
            continue
        parent = None
        if parent_field:
            parent = _label(properties.get(parent_field))
            if parent is None:
                problems.append((index, f"property {parent_field!r} is missing or empty"))
                continue
        try:
            geom, reason = polygon_from_geojson(feature.get("geometry"), repair=True)
        except GeometryError as error:
            problems.append((index, str(error)))
            continue
        if reason:
            repaired.append({"index": index, "name": name, "reason": reason})
        if parent is not None:
            key = (parent, name)
            if key in seen:
                problems.append((index, f"same {level} as feature {seen[key]}: {name!r} in {parent!r}"))
                continue
            seen[key] = index
        rows.append({
            "idx": index, "name": name, "parent": parent, "wkb": geom.wkb,
            "properties": json.dumps(_jsonable(properties), default=str),
        })
    if problems:
        _refuse(problems)

    session.execute(text(f"DROP TABLE IF EXISTS {_STAGE_TABLE}"))
    session.execute(text(
        f"CREATE TEMP TABLE {_STAGE_TABLE} (idx int PRIMARY KEY, name text NOT NULL, parent text, "
        "parent_id bigint, geom geometry(MultiPolygon, 4326) NOT NULL, properties jsonb NOT NULL) ON COMMIT DROP"
    ))
    session.execute(
        text(
            f"INSERT INTO {_STAGE_TABLE} (idx, name, parent, geom, properties) "
            "VALUES (:idx, :name, :parent, ST_Multi(ST_GeomFromWKB(:wkb, 4326)), CAST(:properties AS jsonb))"
        ),
        rows,
    )
    params = {"org": organization_id}
    if level == "precinct":
        if parent_field:
            # Link by the ward's name.
            session.execute(text(
                f"UPDATE {_STAGE_TABLE} s SET parent_id = w.id FROM boundaries w "
                "WHERE w.organization_id = :org AND w.level = 'ward' AND w.name = s.parent"
            ), params)
            missing = session.execute(text(
                f"SELECT idx, parent FROM {_STAGE_TABLE} WHERE parent_id IS NULL ORDER BY idx"
            )).all()
            if missing:
                _refuse([(i, f"ward {p!r} is not imported (import the wards first)") for i, p in missing])
        else:
            # Link to the ward holding a point of the precinct's surface.
            session.execute(text(
                f"UPDATE {_STAGE_TABLE} s SET parent_id = w.id, parent = w.name FROM boundaries w "
                "WHERE w.organization_id = :org AND w.level = 'ward' "
                "AND ST_Intersects(w.geom, ST_PointOnSurface(s.geom))"
            ), params)
            missing = session.execute(text(f"SELECT idx FROM {_STAGE_TABLE} WHERE parent_id IS NULL ORDER BY idx")).all()
            if missing:
                _refuse([(i, "lies in no imported ward (import the wards first, or pass parent_field)") for (i,) in missing])
            dupes = session.execute(text(
                f"SELECT array_agg(idx ORDER BY idx), parent, name FROM {_STAGE_TABLE} "
                "GROUP BY parent, name HAVING count(*) > 1"
            )).all()
            if dupes:
                _refuse([
                    (idxs[k], f"same precinct as feature {idxs[0]}: {name!r} in ward {parent!r}")
                    for idxs, parent, name in dupes for k in range(1, len(idxs))
                ])
    else:
        dupes = session.execute(text(
            f"SELECT array_agg(idx ORDER BY idx), name FROM {_STAGE_TABLE} GROUP BY name HAVING count(*) > 1"
        )).all()
        if dupes:
            _refuse([
                (idxs[k], f"same ward name as feature {idxs[0]}: {name!r}")
                for idxs, name in dupes for k in range(1, len(idxs))
            ])

    counts = session.execute(text(f"""
        WITH upserted AS (
            INSERT INTO boundaries (organization_id, level, name, parent_id, parent_key, geom, properties)
            SELECT :org, :level, s.name, s.parent_id, coalesce(s.parent, ''), s.geom, s.properties
            FROM {_STAGE_TABLE} s
            ON CONFLICT (organization_id, level, parent_key, name) DO UPDATE
               SET geom = excluded.geom, properties = excluded.properties, parent_id = excluded.parent_id,
                   updated_at = now()
               WHERE (boundaries.geom, boundaries.properties, boundaries.parent_id)
                     IS DISTINCT FROM (excluded.geom, excluded.properties, excluded.parent_id)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
    """), {**params, "level": level}).one()
    session.execute(text(f"DROP TABLE {_STAGE_TABLE}"))
    created, updated = counts
    summary = BoundaryImportSummary(
        level=level, features=len(rows), created=created, updated=updated,
        unchanged=len(rows) - created - updated, repaired=repaired,
    )
    if created or updated:
        summary.buildings_placed = place_buildings(session, organization_id=organization_id)
    session.flush()
    return summary


# --- placement of buildings -----------------------------------------------------------


def placement_sql(points: str, key: str, location: str = "location") -> str:
    """SQL of the rows (key, ward_id, precinct_id): the ward and precinct holding each point of `points`.

    `points` is a table or subquery with columns `key` and `location`. A point
    on a shared border belongs to the boundary with the lowest id, so the answer
    is deterministic. Boundaries drive the join (outer loop), so each polygon is
    tested against the points its bbox finds in the points' GiST index, one
    after another: PostGIS then reuses one prepared polygon for all of them.
    Needs the parameter :org.
    """
    return f"""
        SELECT pt.{key}, hit.ward_id, hit.precinct_id
        FROM {points} pt
        LEFT JOIN (
            SELECT inside.{key},
                   min(z.id) FILTER (WHERE z.level = 'ward') AS ward_id,
                   min(z.id) FILTER (WHERE z.level = 'precinct') AS precinct_id
            FROM boundaries z
            JOIN {points} inside ON ST_Intersects(z.geom, inside.{location})
            WHERE z.organization_id = :org
            GROUP BY inside.{key}
        ) hit ON hit.{key} = pt.{key}
    """


def place_buildings(session: Session, *, organization_id: int) -> int:
    """Set every building's ward, precinct and `outside_boundaries` flag in one statement.

    Run after boundaries change; imported buildings are placed as they are
    written. Returns the number of buildings whose placement changed.
    """
    placed = placement_sql("(SELECT id, location FROM buildings WHERE organization_id = :org)", "id")
    result = session.execute(text(f"""
        UPDATE buildings b
           SET ward_id = p.ward_id, precinct_id = p.precinct_id, outside_boundaries = (p.ward_id IS NULL),
               updated_at = now()
          FROM ({placed}) p
         WHERE b.organization_id = :org AND b.id = p.id
           AND (b.ward_id, b.precinct_id, b.outside_boundaries)
               IS DISTINCT FROM (p.ward_id, p.precinct_id, p.ward_id IS NULL)
    """), {"org": organization_id})
    return result.rowcount


# --- reading ------------------------------------------------------------------------


def find_boundary(session: Session, *, organization_id: int, level: str, name: str, parent: str | None = None) -> Boundary:
    """The organization's ward (or precinct of a ward) by name; NotFound otherwise."""
    query = select(Boundary).where(
        Boundary.organization_id == organization_id, Boundary.level == level, Boundary.name == (name or "").strip()
    )
    if parent is not None:
        query = query.where(Boundary.parent_key == parent.strip())
    found = session.execute(query.order_by(Boundary.id).limit(2)).scalars().all()
    if not found:
        raise NotFound(f"no {level} named {name!r}", code=f"{level}_not_found")
    if len(found) > 1:
        raise ValidationFailed(
            f"more than one {level} is named {name!r}; name its ward too", code="ambiguous_boundary",
            details={"name": ["ambiguous"]},
        )
    return found[0]


def get_boundary(session: Session, *, organization_id: int, boundary_id: int) -> Boundary:
    boundary = session.execute(
        select(Boundary).where(Boundary.organization_id == organization_id, Boundary.id == boundary_id)
    ).scalar_one_or_none()
    if boundary is None:
        raise NotFound("no such boundary", code="boundary_not_found")
    return boundary


@dataclass(frozen=True)
class BoundaryListing:
    id: int
    level: str
    name: str
    parent_id: int | None
    parent: str
    buildings: int
    households: int


def list_boundaries(
    session: Session, *, organization_id: int, level: str | None = None, parent: str | None = None
) -> list[BoundaryListing]:
    """The organization's boundaries (no geometry), with how many buildings and doors each holds."""
    query = select(Boundary.id, Boundary.level, Boundary.name, Boundary.parent_id, Boundary.parent_key).where(
        Boundary.organization_id == organization_id
    )
    if level:
        query = query.where(Boundary.level == level)
    if parent is not None:
        query = query.where(Boundary.parent_key == parent)
    rows = session.execute(query.order_by(Boundary.level.desc(), Boundary.parent_key, Boundary.name)).all()
    counts: dict[int, tuple[int, int]] = {}
    for column, column_level in ((Building.ward_id, "ward"), (Building.precinct_id, "precinct")):
        if level and level != column_level:
            continue
        counts.update({
            boundary_id: (buildings, households)
            for boundary_id, buildings, households in session.execute(
                select(column, func.count(func.distinct(Building.id)), func.count(Household.id))
                .join(Household, (Household.organization_id == Building.organization_id)
                      & (Household.building_id == Building.id))
                .where(Building.organization_id == organization_id, column.is_not(None))
                .group_by(column)
            )
        })
    return [
        BoundaryListing(id=r.id, level=r.level, name=r.name, parent_id=r.parent_id, parent=r.parent_key,
                        buildings=counts.get(r.id, (0, 0))[0], households=counts.get(r.id, (0, 0))[1])
        for r in rows
    ]
