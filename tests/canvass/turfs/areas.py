"""A small ward with two precincts and seeded synthetic households, loaded through the real import paths."""
from __future__ import annotations

import io
from dataclasses import dataclass

from shapely.geometry import box, mapping

from canvass.geo.boundaries import import_boundaries
from canvass.geo.households import import_households
from canvass.geo.synthetic import generate_households, write_households_csv

# About 1.1 km x 0.9 km in Chicago's north side grid.
WARD_BOX = (-87.700, 41.940, -87.687, 41.948)
MID_LON = -87.6935


@dataclass
class Area:
    org: object
    ward: str
    precincts: tuple[str, str]
    households: int


def load_area(session, org, *, households: int = 600, seed: int = 5, ward: str = "1") -> Area:
    west, south, east, north = WARD_BOX
    feature = lambda geom, **props: {"type": "Feature", "properties": props, "geometry": mapping(geom)}  # noqa: E731
    import_boundaries(session, organization_id=org.id, level="ward", name_field="ward", geojson={
        "type": "FeatureCollection", "features": [feature(box(*WARD_BOX), ward=ward)]})
    import_boundaries(session, organization_id=org.id, level="precinct", name_field="prec", parent_field="ward", geojson={
        "type": "FeatureCollection", "features": [
            feature(box(west, south, MID_LON, north), ward=ward, prec="1"),
            feature(box(MID_LON, south, east, north), ward=ward, prec="2"),
        ]})
    if households:
        text = io.StringIO()
        write_households_csv(generate_households(box(*WARD_BOX), count=households, seed=seed, id_prefix=f"o{org.id}"), text)
        import_households(session, organization_id=org.id, stream=io.BytesIO(text.getvalue().encode()))
    return Area(org=org, ward=ward, precincts=(f"{ward}-1", f"{ward}-2"), households=households)
