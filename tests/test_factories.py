from tests.factories import (
    make_assignment,
    make_boundary,
    make_campaign,
    make_household,
    make_org,
    make_person,
    make_turf,
    make_user,
)


def test_factories_build_a_consistent_canvass(db_session):
    org = make_org(db_session)
    ward = make_boundary(db_session, org=org, level="ward", name="33")
    make_boundary(db_session, org=org, level="precinct", name="1", parent=ward)
    households = [make_household(db_session, org=org, ward=ward) for _ in range(3)]
    make_person(db_session, org=org, household=households[0])
    turf = make_turf(db_session, org=org, households=households, ward=ward)
    campaign = make_campaign(db_session, org=org)
    assignment = make_assignment(db_session, org=org, turf=turf, canvasser=make_user(db_session, org=org),
                                 campaign=campaign)
    assert assignment.id and turf.status == "checked_out" and turf.door_count == 3
