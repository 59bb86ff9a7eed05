"""The demo's geography: the real 33rd ward and its precincts, and seeded synthetic households.

Everything goes through the product's own paths (boundary import, household
CSV import), so the demo exercises what a real ward would; canvass/demo.py then cuts the turfs.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import shape
from sqlalchemy.orm import Session

from canvass.errors import ValidationFailed
from canvass.geo.boundaries import import_boundaries
from canvass.geo.households import import_households
from canvass.geo.synthetic import generate_households, write_households_csv

DEMO_WARD = "33"
# The ward-33 slice of the public Chicago files ships with the package, so the
# demo needs nothing outside the repository (see demo_data/README.md).
WARDS_FILE = "ward33_2023.geojson"
PRECINCTS_FILE = "ward33_precincts_2023.geojson"


def default_data_dir() -> Path:
    return Path(__file__).resolve().parent / "demo_data"


@dataclass
class DemoGeography:
    ward: str
    precincts: int
    households: int
    people: int


def _load(data_dir: Path, name: str) -> dict:
    path = data_dir / name
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise ValidationFailed(
            f"demo boundary data not found at {path}",
            code="demo_data_missing",
        ) from None


def seed_demo_geography(
    session: Session,
    *,
    organization_id: int,
    households: int = 20_000,
    seed: int = 33,
    echo=print,
    data_dir: Path | None = None,
) -> DemoGeography:
    """Ward 33 and its precincts, and `households` synthetic households inside it."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    wards = _load(data_dir, WARDS_FILE)
    ward_feature = next(f for f in wards["features"] if str(f["properties"].get("ward")) == DEMO_WARD)
    import_boundaries(session, organization_id=organization_id, level="ward",
                      geojson={"type": "FeatureCollection", "features": [ward_feature]}, name_field="ward")
    precincts = _load(data_dir, PRECINCTS_FILE)
    ward_precincts = [f for f in precincts["features"] if str(f["properties"].get("FIRST_ward")) == DEMO_WARD]
    import_boundaries(session, organization_id=organization_id, level="precinct",
                      geojson={"type": "FeatureCollection", "features": ward_precincts},
                      name_field="FIRST_prec", parent_field="FIRST_ward")
    echo(f"imported ward {DEMO_WARD} and its {len(ward_precincts)} precincts")
    result = DemoGeography(ward=DEMO_WARD, precincts=len(ward_precincts), households=0, people=0)
    if households <= 0:
        return result

    rows = generate_households(shape(ward_feature["geometry"]), count=households, seed=seed, id_prefix=f"demo{seed}")
    with tempfile.TemporaryFile(mode="w+b") as buffer:
        with open(buffer.fileno(), "w", encoding="utf-8", newline="", closefd=False) as text_buffer:
            write_households_csv(rows, text_buffer)
        buffer.seek(0)
        summary = import_households(session, organization_id=organization_id, stream=buffer)
    result.households, result.people = summary.households_in_file, summary.people_created
    echo(f"imported {result.households} synthetic households ({result.people} people) in ward {DEMO_WARD}")
    return result
