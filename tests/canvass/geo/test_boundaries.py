"""Ward and precinct import: GeoJSON checks (pure), the real Chicago files, and building placement."""
import copy
import json

import pytest
from sqlalchemy import func, select

from canvass.errors import NotFound, ValidationFailed
from canvass.geo.boundaries import (
    GeometryError,
    find_boundary,
    import_boundaries,
    list_boundaries,
    place_buildings,
    polygon_from_geojson,
)
from canvass.geo.models import Boundary, Building
from tests.data import CHICAGO
from tests.factories import make_building, make_org

SQUARE = [[-87.72, 41.94], [-87.70, 41.94], [-87.70, 41.96], [-87.72, 41.96], [-87.72, 41.94]]
BOW_TIE = [[-87.72, 41.94], [-87.70, 41.96], [-87.70, 41.94], [-87.72, 41.96], [-87.72, 41.94]]


def polygon(ring=SQUARE):
    return {"type": "Polygon", "coordinates": [ring]}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


@pytest.fixture(scope="module")
def chicago_wards():
    with open(CHICAGO / "wards_2023.geojson") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def chicago_precincts():
    with open(CHICAGO / "precincts_2023.geojson") as handle:
        return json.load(handle)


# --- GeoJSON geometry (no database) -------------------------------------------------------


def test_a_valid_polygon_becomes_a_multipolygon_without_repair():
    geom, repaired = polygon_from_geojson(polygon())
    assert geom.geom_type == "MultiPolygon" and repaired is None
    assert geom.bounds == (-87.72, 41.94, -87.70, 41.96)


@pytest.mark.parametrize(
    "geometry, reason",
    [
        ({"type": "Point", "coordinates": [-87.7, 41.9]}, "must be a Polygon or MultiPolygon"),
        ({"type": "LineString", "coordinates": SQUARE}, "must be a Polygon or MultiPolygon"),
        ("POLYGON((0 0, 1 0, 1 1, 0 0))", "must be a GeoJSON object"),
        ({"type": "Polygon", "coordinates": []}, "empty polygon"),
        ({"type": "Polygon", "coordinates": [[]]}, "needs at least 4"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "no rings"),
        (polygon([[-87.72, 41.94], [-87.70, 41.94], [-87.72, 41.94]]), "needs at least 4"),
        (polygon([[-87.72, 41.94], [-87.70, 41.94], [-87.70, 41.96], [-87.72, 41.96]]), "not closed"),
        (polygon([[-87.72, 41.94], [-87.70, 41.94], [-87.70, 41.96], [-87.72, 41.96], [-87.71, 41.95]]), "not closed"),
        (polygon([["-87.72", 41.94], [-87.70, 41.94], [-87.70, 41.96], [-87.72, 41.94]]), "must be numbers"),
        (polygon([[True, 41.94], [-87.70, 41.94], [-87.70, 41.96], [True, 41.94]]), "must be numbers"),
        (polygon([[-187.72, 41.94], [-87.70, 41.94], [-87.70, 41.96], [-187.72, 41.94]]), "out of range"),
        (polygon([[-87.72, 91.0], [-87.70, 41.94], [-87.70, 41.96], [-87.72, 91.0]]), "out of range"),
        (polygon([[-87.72, 41.94], [-87.70, 41.94], [-87.66, 41.94], [-87.72, 41.94]]), "no area"),
        (polygon(BOW_TIE), "Self-intersection"),
    ],
)
def test_unusable_geojson_is_refused_with_a_reason(geometry, reason):
    with pytest.raises(GeometryError, match=reason):
        polygon_from_geojson(geometry)


def test_a_self_intersecting_ring_is_repaired_only_when_asked_and_the_reason_is_kept():
    geom, repaired = polygon_from_geojson(polygon(BOW_TIE), repair=True)
    assert geom.is_valid and geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert "Self-intersection" in repaired


def test_overlapping_parts_of_a_multipolygon_are_not_valid_as_drawn():
    shifted = [[x + 0.01, y] for x, y in SQUARE]
    with pytest.raises(GeometryError, match="invalid polygon"):
        polygon_from_geojson({"type": "MultiPolygon", "coordinates": [[SQUARE], [shifted]]})


# --- import (database) ----------------------------------------------------------------------


def test_the_real_chicago_wards_and_precincts_import_whole_and_link_precincts_to_wards(
    db_session, chicago_wards, chicago_precincts
):
    org = make_org(db_session)
    wards = import_boundaries(db_session, organization_id=org.id, level="ward", geojson=chicago_wards, name_field="ward")
    assert (wards.features, wards.created, wards.repaired) == (50, 50, [])
    # The Ward_Prec label is duplicated once; FIRST_ward + FIRST_prec is the real key.
    precincts = import_boundaries(db_session, organization_id=org.id, level="precinct", geojson=chicago_precincts,
                                  name_field="FIRST_prec", parent_field="FIRST_ward")
    assert (precincts.features, precincts.created) == (1291, 1291)
    # Two precincts of ward 41 have self-intersecting rings: repaired and reported by index.
    assert sorted(r["index"] for r in precincts.repaired) == [1032, 1035]
    assert all("Self-intersection" in r["reason"] for r in precincts.repaired)

    count = lambda level: db_session.execute(  # noqa: E731
        select(func.count()).select_from(Boundary).where(Boundary.organization_id == org.id, Boundary.level == level)
    ).scalar_one()
    assert (count("ward"), count("precinct")) == (50, 1291)
    twenty_one = find_boundary(db_session, organization_id=org.id, level="precinct", name="21", parent="21")
    ward_21 = find_boundary(db_session, organization_id=org.id, level="ward", name="21")
    assert twenty_one.parent_id == ward_21.id and twenty_one.properties["Ward_Prec"] == "21021"

    again = import_boundaries(db_session, organization_id=org.id, level="precinct", geojson=chicago_precincts,
                              name_field="FIRST_prec", parent_field="FIRST_ward")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1291)


def test_the_duplicated_ward_prec_label_refuses_the_file_naming_both_features(db_session, chicago_wards, chicago_precincts):
    org = make_org(db_session)
    import_boundaries(db_session, organization_id=org.id, level="ward", geojson=chicago_wards, name_field="ward")
    duplicated = [i for i, f in enumerate(chicago_precincts["features"]) if f["properties"]["Ward_Prec"] == "21021"]
    with pytest.raises(ValidationFailed) as caught:
        import_boundaries(db_session, organization_id=org.id, level="precinct", geojson=chicago_precincts,
                          name_field="Ward_Prec", parent_field="FIRST_ward")
    assert caught.value.code == "invalid_boundaries"
    assert caught.value.details["features"] == [
        {"index": duplicated[1], "reason": f"same precinct as feature {duplicated[0]}: '21021' in '21'"}
    ]
    assert db_session.execute(
        select(func.count()).select_from(Boundary).where(Boundary.organization_id == org.id, Boundary.level == "precinct")
    ).scalar_one() == 0


def test_precincts_without_a_parent_field_are_linked_to_the_ward_they_lie_in(db_session, chicago_wards, chicago_precincts):
    org = make_org(db_session)
    ward_33 = [f for f in chicago_wards["features"] if f["properties"]["ward"] == "33"]
    precincts_33 = [f for f in chicago_precincts["features"] if f["properties"]["FIRST_ward"] == 33]
    import_boundaries(db_session, organization_id=org.id, level="ward", geojson=collection(*ward_33), name_field="ward")
    summary = import_boundaries(db_session, organization_id=org.id, level="precinct",
                                geojson=collection(*precincts_33), name_field="FIRST_prec")
    assert summary.created == len(precincts_33)
    listing = list_boundaries(db_session, organization_id=org.id, level="precinct", parent="33")
    assert len(listing) == len(precincts_33) and {b.parent for b in listing} == {"33"}


def test_a_multipolygon_ward_is_kept_whole_in_one_row(db_session):
    org = make_org(db_session)
    island = [[-87.60, 41.94], [-87.59, 41.94], [-87.59, 41.95], [-87.60, 41.95], [-87.60, 41.94]]
    two_parts = {"type": "MultiPolygon", "coordinates": [[SQUARE], [island]]}
    import_boundaries(db_session, organization_id=org.id, level="ward", geojson=collection(feature(two_parts, ward="5")),
                      name_field="ward")
    ward = find_boundary(db_session, organization_id=org.id, level="ward", name="5")
    assert db_session.execute(select(func.ST_NumGeometries(Boundary.geom)).where(Boundary.id == ward.id)).scalar_one() == 2


def test_precincts_before_their_wards_are_refused(db_session):
    org = make_org(db_session)
    with pytest.raises(ValidationFailed, match="ward '7' is not imported"):
        import_boundaries(db_session, organization_id=org.id, level="precinct",
                          geojson=collection(feature(polygon(), prec=1, ward=7)), name_field="prec", parent_field="ward")
    with pytest.raises(ValidationFailed, match="lies in no imported ward"):
        import_boundaries(db_session, organization_id=org.id, level="precinct",
                          geojson=collection(feature(polygon(), prec=1)), name_field="prec")


@pytest.mark.parametrize(
    "geojson, code, message",
    [
        ([], "invalid_geojson", "not a GeoJSON object"),
        ({"type": "Polygon", "coordinates": [SQUARE]}, "invalid_geojson", "FeatureCollection or Feature"),
        ({"type": "FeatureCollection"}, "invalid_geojson", "'features' list"),
        (collection(), "invalid_geojson", "no features"),
        (collection(feature(polygon(), ward="1"), feature(polygon(BOW_TIE + [[0, 0]]), ward="2")),
         "invalid_boundaries", "feature 1: polygon exterior ring is not closed"),
        (collection(feature(polygon(), ward="1"), feature({"type": "Point", "coordinates": [0, 0]}, ward="2")),
         "invalid_boundaries", "feature 1: geometry must be a Polygon"),
        (collection(feature(polygon(), other="1")), "invalid_boundaries", "property 'ward' is missing"),
        (collection(feature(polygon(), ward="1"), feature(polygon(), ward=1)), "invalid_boundaries",
         "same ward name as feature 0"),
        (collection(feature(polygon(), ward="1"), {"type": "Feature"}), "invalid_boundaries", "property 'ward'"),
        (collection(feature(polygon(), ward="1"), "nope"), "invalid_boundaries", "not a GeoJSON Feature"),
        # PostgreSQL text and JSONB cannot hold NUL (bodies past the API's NUL check reach the service).
        (collection(feature(polygon(), ward="1", notes={"a": ["x\x00y"]})), "invalid_boundaries",
         "feature 0: a property holds a NUL character"),
        (collection(feature(polygon(), ward="1\x00")), "invalid_boundaries", "feature 0: a property holds a NUL"),
    ],
)
def test_a_bad_boundary_file_is_refused_whole_and_writes_nothing(db_session, geojson, code, message):
    org = make_org(db_session)
    with pytest.raises(ValidationFailed, match=message) as caught:
        import_boundaries(db_session, organization_id=org.id, level="ward", geojson=geojson, name_field="ward")
    assert caught.value.code == code
    assert db_session.execute(
        select(func.count()).select_from(Boundary).where(Boundary.organization_id == org.id)
    ).scalar_one() == 0


def test_wards_take_no_parent_field_and_level_must_be_known(db_session):
    org = make_org(db_session)
    with pytest.raises(ValidationFailed, match="wards have no parent"):
        import_boundaries(db_session, organization_id=org.id, level="ward", geojson=collection(feature(polygon(), w=1)),
                          name_field="w", parent_field="x")
    with pytest.raises(ValidationFailed, match="level must be one of"):
        import_boundaries(db_session, organization_id=org.id, level="county", geojson=collection(), name_field="w")


def test_reimport_with_a_changed_shape_updates_and_replaces_buildings(db_session):
    org = make_org(db_session)
    inside_later = make_building(db_session, org=org, lon=-87.69, lat=41.95)
    import_boundaries(db_session, organization_id=org.id, level="ward", geojson=collection(feature(polygon(), ward="47")),
                      name_field="ward")
    db_session.refresh(inside_later)
    assert inside_later.ward_id is None and inside_later.outside_boundaries
    wider = [[-87.72, 41.94], [-87.68, 41.94], [-87.68, 41.96], [-87.72, 41.96], [-87.72, 41.94]]
    summary = import_boundaries(db_session, organization_id=org.id, level="ward",
                                geojson=collection(feature(polygon(wider), ward="47")), name_field="ward")
    assert (summary.created, summary.updated, summary.buildings_placed) == (0, 1, 1)
    db_session.refresh(inside_later)
    ward = find_boundary(db_session, organization_id=org.id, level="ward", name="47")
    assert inside_later.ward_id == ward.id and not inside_later.outside_boundaries


def test_a_point_on_the_shared_border_of_two_wards_goes_to_one_of_them(db_session):
    org = make_org(db_session)
    west = [[-87.72, 41.94], [-87.71, 41.94], [-87.71, 41.96], [-87.72, 41.96], [-87.72, 41.94]]
    east = [[-87.71, 41.94], [-87.70, 41.94], [-87.70, 41.96], [-87.71, 41.96], [-87.71, 41.94]]
    on_border = make_building(db_session, org=org, lon=-87.71, lat=41.95)
    import_boundaries(db_session, organization_id=org.id, level="ward",
                      geojson=collection(feature(polygon(west), ward="1"), feature(polygon(east), ward="2")),
                      name_field="ward")
    db_session.refresh(on_border)
    first = find_boundary(db_session, organization_id=org.id, level="ward", name="1")
    assert on_border.ward_id == first.id
    assert place_buildings(db_session, organization_id=org.id) == 0  # already placed: nothing changes


def test_boundaries_are_per_organization(db_session):
    mine, theirs = make_org(db_session), make_org(db_session)
    import_boundaries(db_session, organization_id=theirs.id, level="ward",
                      geojson=collection(feature(polygon(), ward="1")), name_field="ward")
    building = make_building(db_session, org=mine)
    assert place_buildings(db_session, organization_id=mine.id) == 1  # flagged outside: mine has no wards
    db_session.refresh(building)
    assert building.ward_id is None and building.outside_boundaries
    with pytest.raises(NotFound):
        find_boundary(db_session, organization_id=mine.id, level="ward", name="1")


def test_nan_properties_are_stored_as_null(db_session):
    org = make_org(db_session)
    data = collection(feature(polygon(), ward="9", area=float("nan"), nested={"x": [float("inf")]}))
    import_boundaries(db_session, organization_id=org.id, level="ward", geojson=copy.deepcopy(data), name_field="ward")
    ward = find_boundary(db_session, organization_id=org.id, level="ward", name="9")
    assert ward.properties == {"ward": "9", "area": None, "nested": {"x": [None]}}


def test_building_placement_counts_only_changes(db_session):
    org = make_org(db_session)
    make_building(db_session, org=org)
    import_boundaries(db_session, organization_id=org.id, level="ward", geojson=collection(feature(polygon(), ward="1")),
                      name_field="ward")
    placed = db_session.execute(select(Building.ward_id).where(Building.organization_id == org.id)).scalar_one()
    assert placed is not None
