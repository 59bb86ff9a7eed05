"""Integrity flags: far from the door with a good fix; a sustained, impossible pace."""
from datetime import UTC, datetime, timedelta

from canvass.canvassing.integrity import flag_pace
from canvass.canvassing.records import Contact
from canvass.canvassing.sync import sync_field_work
from canvass.geo.models import Building
from tests.canvass.canvassing.fieldwork import contact, iso, make_canvass
from tests.factories import make_assignment, make_household, make_turf, tenant_row

DOOR = {"lat": 41.95, "lon": -87.71}  # the first door's building (tests/canvass/canvassing/fieldwork.py)
# ~0.0018 degrees of latitude is ~200 m; ~0.0009 is ~100 m.


def upload(session, canvass, items):
    results = sync_field_work(session, organization_id=canvass.org.id, canvasser_id=canvass.canvasser.id,
                              device_id=None, contacts=items, pledges=[], max_items=500)
    assert {r.status for r in results} == {"created"}, results
    return [tenant_row(session, Contact, r.id) for r in results]


def flags(session, rows):
    for row in rows:
        session.refresh(row)
    return [row.flags for row in rows]


def test_far_from_the_door_is_flagged_only_with_a_good_fix(db_session):
    canvass = make_canvass(db_session)
    rows = upload(db_session, canvass, [
        contact(canvass, location={"lat": 41.9518, "lon": -87.71, "accuracy_m": 12}),  # ~200 m, good fix
        contact(canvass, location={"lat": 41.9518, "lon": -87.71, "accuracy_m": 80}),  # ~200 m, poor fix
        contact(canvass, location={"lat": 41.9518, "lon": -87.71}),  # accuracy unknown
        contact(canvass, location={"lat": 41.9509, "lon": -87.71, "accuracy_m": 5}),  # ~100 m
        contact(canvass),  # no location
    ])
    assert flags(db_session, rows) == [["far_from_door"], [], [], [], []]


def canvass_with_buildings(session, count):
    canvass = make_canvass(session, doors=count)
    return canvass, canvass.households


def run(canvass, doors, start, gap_seconds):
    return [contact(canvass, household=door, occurred_at=iso(start + timedelta(seconds=i * gap_seconds)))
            for i, door in enumerate(doors)]


def test_five_doors_at_different_buildings_under_20_seconds_apart_are_all_flagged_too_fast(db_session):
    canvass, doors = canvass_with_buildings(db_session, 9)
    start = datetime.now(UTC) - timedelta(minutes=30)
    fast = upload(db_session, canvass, run(canvass, doors[:5], start, 12))
    four = upload(db_session, canvass, run(canvass, doors[5:9], start + timedelta(minutes=10), 12))
    assert flags(db_session, fast) == [["too_fast"]] * 5
    assert flags(db_session, four) == [[]] * 4


def test_a_normal_pace_and_the_units_of_one_building_are_not_too_fast(db_session):
    canvass, doors = canvass_with_buildings(db_session, 6)
    start = datetime.now(UTC) - timedelta(minutes=30)
    walking = upload(db_session, canvass, run(canvass, doors, start, 45))
    # A courtyard building: six units, a door every 5 seconds, on a second turf of the same canvasser.
    building = tenant_row(db_session, Building, doors[0].building_id)
    units = [make_household(db_session, org=canvass.org, building=building, unit=f"{n}F") for n in range(1, 7)]
    turf = make_turf(db_session, org=canvass.org, households=units)
    lease = make_assignment(db_session, org=canvass.org, turf=turf, canvasser=canvass.canvasser, campaign=canvass.campaign)
    courtyard = upload(db_session, canvass, [
        contact(canvass, household=unit, assignment_id=lease.id, occurred_at=iso(start + timedelta(minutes=20, seconds=5 * i)))
        for i, unit in enumerate(units)
    ])
    assert flags(db_session, walking) == [[]] * 6
    assert flags(db_session, courtyard) == [[]] * 6


def test_a_run_that_spans_two_uploads_is_flagged_across_both(db_session):
    canvass, doors = canvass_with_buildings(db_session, 6)
    start = datetime.now(UTC) - timedelta(minutes=30)
    items = run(canvass, doors, start, 10)
    first = upload(db_session, canvass, items[:3])
    assert flags(db_session, first) == [[]] * 3  # three contacts are not yet a run
    second = upload(db_session, canvass, items[3:])
    assert flags(db_session, first + second) == [["too_fast"]] * 6


def test_flags_never_reject_and_are_not_added_twice(db_session):
    canvass, doors = canvass_with_buildings(db_session, 5)
    start = datetime.now(UTC) - timedelta(minutes=30)
    items = run(canvass, doors, start, 5)
    items[0]["location"] = {"lat": 41.96, "lon": -87.71, "accuracy_m": 3}  # ~1.1 km away as well
    rows = upload(db_session, canvass, items)
    flag_pace(db_session, organization_id=canvass.org.id, canvasser_id=canvass.canvasser.id,
              since=start, until=start + timedelta(minutes=1))
    assert flags(db_session, rows)[0] == ["far_from_door", "too_fast"]
    assert flags(db_session, rows)[1:] == [["too_fast"]] * 4
