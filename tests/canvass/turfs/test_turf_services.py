"""Drawn and cut turfs: doors, walk order, the cut's guarantees, re-cuts."""
import pytest
from shapely.geometry import box, mapping
from sqlalchemy import func, select, text

from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.geo.models import Building, Household
from canvass.turfs.models import Turf, TurfEvent, TurfStop
from canvass.turfs.services import create_drawn_turf, cut_turfs_for_area, list_turfs, update_turf
from tests.canvass.turfs.areas import WARD_BOX, load_area
from tests.factories import make_org

WEST_HALF = mapping(box(WARD_BOX[0], WARD_BOX[1], -87.6935, WARD_BOX[3]))


def stops_of(session, turf_id):
    return session.execute(text("""
        SELECT s.seq, s.household_id, h.building_id FROM turf_stops s
        JOIN households h ON h.id = s.household_id WHERE s.turf_id = :turf ORDER BY s.seq
    """), {"turf": turf_id}).all()


# --- drawn turfs ------------------------------------------------------------------------------


def test_a_drawn_turf_holds_the_households_inside_in_walking_order(db_session):
    org = make_org(db_session)
    load_area(db_session, org, households=300)
    listing = create_drawn_turf(db_session, organization_id=org.id, actor_id=None, name="West side", geometry=WEST_HALF)
    inside = db_session.execute(
        select(func.count(Household.id)).join(Building, Building.id == Household.building_id)
        .where(Building.organization_id == org.id, func.ST_X(Building.location) <= -87.6935)
    ).scalar_one()
    assert listing.door_count == inside > 0 and listing.ward == "1" and listing.origin == "drawn"
    stops = stops_of(db_session, listing.id)
    assert [s.seq for s in stops] == list(range(1, inside + 1))
    # The units of a building are knocked one after another.
    buildings = [s.building_id for s in stops]
    runs = [b for i, b in enumerate(buildings) if i == 0 or buildings[i - 1] != b]
    assert len(runs) == len(set(buildings)) == listing.building_count
    event = db_session.execute(select(TurfEvent).where(TurfEvent.turf_id == listing.id)).scalar_one()
    assert (event.action, event.to_status) == ("created", "ready")


@pytest.mark.parametrize(
    "geometry, code, message",
    [
        ({"type": "Polygon", "coordinates": [[[-87.70, 41.94], [-87.69, 41.95], [-87.69, 41.94], [-87.70, 41.95],
                                              [-87.70, 41.94]]]}, "invalid_geometry", "Self-intersection"),
        ({"type": "Point", "coordinates": [-87.69, 41.94]}, "invalid_geometry", "Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": []}, "invalid_geometry", "empty polygon"),
        ({"type": "Polygon", "coordinates": [[[-87.7, 141.9], [-87.6, 41.9], [-87.6, 42], [-87.7, 141.9]]]},
         "invalid_geometry", "out of range"),
        (mapping(box(-87.60, 41.80, -87.59, 41.81)), "empty_turf", "no households inside"),
    ],
)
def test_a_bad_drawn_turf_is_refused_and_nothing_is_written(db_session, geometry, code, message):
    org = make_org(db_session)
    load_area(db_session, org, households=50)
    with pytest.raises(ValidationFailed, match=message) as caught:
        create_drawn_turf(db_session, organization_id=org.id, actor_id=None, name="Bad", geometry=geometry)
    assert caught.value.code == code
    assert db_session.execute(select(func.count()).select_from(Turf).where(Turf.organization_id == org.id)).scalar_one() == 0


def test_a_drawn_turf_over_too_many_doors_is_refused(db_session):
    org = make_org(db_session)
    load_area(db_session, org, households=5001)
    with pytest.raises(ValidationFailed, match="more than 5000 doors") as caught:
        create_drawn_turf(db_session, organization_id=org.id, actor_id=None, name="Everything",
                          geometry=mapping(box(*WARD_BOX)))
    assert caught.value.code == "turf_too_large"


def test_a_drawn_turf_needs_a_name_and_a_known_ward(db_session):
    org = make_org(db_session)
    load_area(db_session, org, households=20)
    with pytest.raises(ValidationFailed, match="name must be"):
        create_drawn_turf(db_session, organization_id=org.id, actor_id=None, name="  ", geometry=WEST_HALF)
    with pytest.raises(NotFound) as caught:
        create_drawn_turf(db_session, organization_id=org.id, actor_id=None, name="T", geometry=WEST_HALF, ward="99")
    assert caught.value.code == "ward_not_found"


# --- automatic cutting ------------------------------------------------------------------------


def assert_cut_invariants(session, org, cut, households, target):
    ids = [t.id for t in cut.turfs]
    covered = session.execute(text("""
        SELECT count(*), count(DISTINCT household_id) FROM turf_stops WHERE turf_id = ANY(:ids)
    """), {"ids": ids}).one()
    assert tuple(covered) == (households, households)  # every household in exactly one turf
    split_buildings = session.execute(text("""
        SELECT count(*) FROM (
            SELECT h.building_id FROM turf_stops s JOIN households h ON h.id = s.household_id
            WHERE s.turf_id = ANY(:ids) GROUP BY h.building_id HAVING count(DISTINCT s.turf_id) > 1
        ) split
    """), {"ids": ids}).scalar_one()
    assert split_buildings == 0
    overlaps = session.execute(text("""
        SELECT count(*) FROM turfs a JOIN turfs b ON a.id < b.id
        WHERE a.id = ANY(:ids) AND b.id = ANY(:ids) AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1
    """), {"ids": ids}).scalar_one()
    assert overlaps == 0
    uncovered = session.execute(text("""
        SELECT count(*) FROM turf_stops s JOIN turfs t ON t.id = s.turf_id
        JOIN households h ON h.id = s.household_id JOIN buildings b ON b.id = h.building_id
        WHERE s.turf_id = ANY(:ids) AND NOT ST_Covers(t.geom, b.location)
    """), {"ids": ids}).scalar_one()
    assert uncovered == 0
    for turf in cut.turfs:
        assert abs(turf.door_count - target) <= 0.15 * target, turf.door_count
        assert turf.geometry["type"] == "MultiPolygon" and len(turf.geometry["coordinates"]) == 1  # contiguous
    quality = cut.cut.quality
    assert quality["turf_count"] == len(cut.turfs) and quality["share_within_15pct"] == 1.0
    assert quality["mean_route_length_m"] > 0 and 0 < quality["mean_compactness"] <= 1


def test_cutting_a_ward_puts_every_household_in_exactly_one_balanced_compact_turf(db_session):
    org = make_org(db_session)
    area = load_area(db_session, org, households=800)
    cut = cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=80, ward=area.ward)
    assert len(cut.turfs) == 10 and cut.ward == "1"
    assert_cut_invariants(db_session, org, cut, 800, 80)
    assert {t.name for t in cut.turfs} == {f"1-{i:03d}" for i in range(1, 11)}
    assert cut.cut.parameters == {"ward": "1", "precincts": None}


def test_cutting_precincts_cuts_only_their_households(db_session):
    org = make_org(db_session)
    area = load_area(db_session, org, households=600)
    in_west = db_session.execute(text("""
        SELECT count(*) FROM households h JOIN buildings b ON b.id = h.building_id
        JOIN boundaries p ON p.id = b.precinct_id WHERE b.organization_id = :org AND p.name = '1'
    """), {"org": org.id}).scalar_one()
    cut = cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=60,
                             precincts=[area.precincts[0]])
    assert sum(t.door_count for t in cut.turfs) == in_west
    assert cut.ward == "1" and {t.ward for t in cut.turfs} == {"1"}


def test_a_recut_archives_the_earlier_cut_and_records_why(db_session):
    org = make_org(db_session)
    area = load_area(db_session, org, households=400)
    first = cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=100, ward=area.ward)
    second = cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=50, ward=area.ward)
    statuses = db_session.execute(select(Turf.status).where(Turf.cut_id == first.cut.id)).scalars().all()
    assert set(statuses) == {"archived"}
    assert len(list_turfs(db_session, organization_id=org.id, ward=area.ward)) == len(second.turfs)
    reasons = db_session.execute(
        select(TurfEvent.reason).where(TurfEvent.turf_id.in_([t.id for t in first.turfs]), TurfEvent.action == "archived")
    ).scalars().all()
    assert reasons == ["replaced by a new cut"] * len(first.turfs)


def test_a_recut_over_a_checked_out_turf_is_refused_and_changes_nothing(db_session):
    org = make_org(db_session)
    area = load_area(db_session, org, households=200)
    first = cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=100, ward=area.ward)
    db_session.execute(text("UPDATE turfs SET status = 'checked_out' WHERE id = :id"), {"id": first.turfs[0].id})
    before = db_session.execute(select(func.count()).select_from(Turf).where(Turf.organization_id == org.id)).scalar_one()
    with pytest.raises(Conflict) as caught:
        cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=50, ward=area.ward)
    assert caught.value.code == "turfs_checked_out" and caught.value.details == {"turf_ids": [first.turfs[0].id]}
    assert db_session.execute(select(func.count()).select_from(Turf).where(Turf.organization_id == org.id)).scalar_one() == before


@pytest.mark.parametrize("target", [0, -5, 1_000_000, 2.5, True])
def test_a_cut_target_out_of_range_is_refused(db_session, target):
    org = make_org(db_session)
    with pytest.raises(ValidationFailed) as caught:
        cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=target, ward="1")
    assert caught.value.code == "invalid_target"


def test_a_cut_needs_a_known_area_with_households(db_session):
    org = make_org(db_session)
    load_area(db_session, org, households=0)
    with pytest.raises(ValidationFailed) as caught:
        cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=50, ward="1")
    assert caught.value.code == "no_households"
    with pytest.raises(NotFound) as caught:
        cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=50, ward="2")
    assert caught.value.code == "ward_not_found"
    with pytest.raises(NotFound) as caught:
        cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=50, precincts=["1-9"])
    assert caught.value.code == "precinct_not_found"
    with pytest.raises(ValidationFailed, match="name a ward, or a list of precincts"):
        cut_turfs_for_area(db_session, organization_id=org.id, actor_id=None, target_doors=50, ward="1",
                           precincts=["1-1"])


def test_another_organizations_ward_is_not_found(db_session):
    mine, theirs = make_org(db_session), make_org(db_session)
    load_area(db_session, theirs, households=50)
    with pytest.raises(NotFound):
        cut_turfs_for_area(db_session, organization_id=mine.id, actor_id=None, target_doors=50, ward="1")


def test_renaming_and_archiving_a_turf_is_recorded(db_session):
    org = make_org(db_session)
    load_area(db_session, org, households=40)
    turf = create_drawn_turf(db_session, organization_id=org.id, actor_id=None, name="A", geometry=WEST_HALF)
    listing = update_turf(db_session, organization_id=org.id, turf_id=turf.id, actor_id=None, name="B",
                          status="archived", reason="flooded street")
    assert (listing.name, listing.status) == ("B", "archived")
    actions = db_session.execute(
        select(TurfEvent.action, TurfEvent.reason).where(TurfEvent.turf_id == turf.id).order_by(TurfEvent.id)
    ).all()
    assert [tuple(a) for a in actions] == [("created", None), ("renamed", "flooded street"), ("archived", "flooded street")]
    assert db_session.execute(select(func.count()).select_from(TurfStop).where(TurfStop.turf_id == turf.id)).scalar_one() > 0
