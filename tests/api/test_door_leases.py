"""A door is in at most one live lease per campaign: overlapping turfs (a drawn turf over a cut one) may
exist, but the second lease of the same doors for the same campaign is refused with 409
doors_already_leased naming the turfs; the lead sees overlaps on the map."""
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import func, select

from canvass.turfs.models import Assignment, Turf, TurfEvent
from tests.asserts import assert_error
from tests.factories import (
    auth_header,
    make_assignment,
    make_campaign,
    make_household,
    make_org,
    make_team,
    make_turf,
    make_user,
    tenant_row,
)

LAT = 41.95


def lon(i: int) -> float:
    return -87.719 + i * 0.002


@pytest.fixture
def field(db_session):
    """Six doors in a row; turf A = doors 0-3, B = doors 2-5 (sharing 2 and 3 with A), C = doors 4-5."""
    org = make_org(db_session)
    doors = [make_household(db_session, org=org, lon=lon(i), lat=LAT) for i in range(6)]
    lead = make_user(db_session, org=org, roles=["field_lead"])
    canvassers = [make_user(db_session, org=org, roles=["canvasser"]) for _ in range(3)]
    turfs = {
        "A": make_turf(db_session, org=org, households=doors[0:4], name="A"),
        "B": make_turf(db_session, org=org, households=doors[2:6], name="B"),
        "C": make_turf(db_session, org=org, households=doors[4:6], name="C"),
    }
    return type("Field", (), dict(
        org=org, doors=doors, lead=lead, canvassers=canvassers, turfs=turfs,
        campaign=make_campaign(db_session, org=org), other_campaign=make_campaign(db_session, org=org),
        team=make_team(db_session, org=org, members=canvassers[1:]), headers=auth_header(db_session, lead),
    ))


def assign(client, field, turf, *, canvasser=0, campaign=None, team=False, method="post", **extra):
    holder = {"team_id": field.team.id} if team else {"canvasser_id": field.canvassers[canvasser].id}
    body = {**holder, "campaign_id": (campaign or field.campaign).id, **extra}
    return getattr(client, method)(f"/v1/turfs/{field.turfs[turf].id}/assignment", json=body, headers=field.headers)


def leases_of(session, turf) -> list:
    return session.execute(select(Assignment.status).where(Assignment.turf_id == turf.id)).scalars().all()


def test_leasing_a_turf_whose_doors_another_live_lease_of_the_campaign_holds_is_refused(client, field, db_session):
    first = assign(client, field, "A")
    assert first.status_code == 201, first.get_json()
    error = assert_error(assign(client, field, "B", canvasser=1), 409, "doors_already_leased")
    assert error["details"] == {
        "shared_doors": 2,
        "turfs": [{"id": field.turfs["A"].id, "name": "A", "assignment_id": first.get_json()["id"],
                   "campaign_id": field.campaign.id, "shared_doors": 2}],
    }
    assert "A" in error["message"]
    # Nothing changed: B is still ready, with no lease and no event but its creation.
    db_session.expire_all()
    assert tenant_row(db_session, Turf, field.turfs["B"].id).status == "ready" and leases_of(db_session, field.turfs["B"]) == []
    assert db_session.execute(select(func.count()).select_from(TurfEvent).where(
        TurfEvent.turf_id == field.turfs["B"].id)).scalar_one() == 0
    # C shares no door with A: leased.
    assert assign(client, field, "C", canvasser=1).status_code == 201


def test_the_same_turf_again_is_still_turf_already_assigned(client, field):
    assert assign(client, field, "A").status_code == 201
    assert_error(assign(client, field, "A", canvasser=1), 409, "turf_already_assigned")


def test_the_same_doors_may_be_leased_for_another_campaign(client, field):
    assert assign(client, field, "A").status_code == 201
    assert assign(client, field, "B", canvasser=1, campaign=field.other_campaign).status_code == 201


@pytest.mark.parametrize("team_first", [True, False])
def test_a_team_lease_blocks_and_is_blocked_like_a_canvassers(client, field, team_first):
    assert assign(client, field, "A", team=team_first).status_code == 201
    assert_error(assign(client, field, "B", team=not team_first), 409, "doors_already_leased")


def test_reassigning_checks_the_doors_too(client, field):
    assert assign(client, field, "A").status_code == 201
    # PUT on a ready turf assigns it: checked.
    assert_error(assign(client, field, "B", canvasser=1, method="put"), 409, "doors_already_leased")
    # B leased for another campaign, then handed over to this campaign: its doors are A's.
    assert assign(client, field, "B", canvasser=1, campaign=field.other_campaign).status_code == 201
    assert_error(assign(client, field, "B", canvasser=2, method="put"), 409, "doors_already_leased")
    # Handed to someone else within its own campaign: fine.
    moved = assign(client, field, "B", canvasser=2, campaign=field.other_campaign, method="put")
    assert moved.status_code == 200, moved.get_json()


def test_released_and_lapsed_leases_hold_no_doors_and_a_lapsed_one_is_not_extended_over_them(
        client, field, db_session):
    assert assign(client, field, "A").status_code == 201
    released = client.delete(f"/v1/turfs/{field.turfs['A'].id}/assignment", headers=field.headers)
    assert released.status_code == 200
    assert assign(client, field, "B", canvasser=1).status_code == 201
    # C is held by a lease past its end that the cron has not expired yet: it blocks nothing...
    now = datetime.now(UTC)
    lapsed = make_assignment(db_session, org=field.org, turf=field.turfs["C"], campaign=field.other_campaign,
                             canvasser=field.canvassers[2], leased_at=now - timedelta(days=3),
                             leased_until=now - timedelta(hours=1))
    blocking = assign(client, field, "B", canvasser=1, campaign=field.other_campaign, method="put")
    assert blocking.status_code == 200, blocking.get_json()
    # ... and extending it now would put two live leases on doors 4 and 5.
    error = assert_error(client.patch(f"/v1/assignments/{lapsed.id}", json={"lease_hours": 24},
                                      headers=field.headers), 409, "doors_already_leased")
    assert error["details"]["shared_doors"] == 2


def test_an_extension_without_overlap_goes_through(client, field):
    lease = assign(client, field, "A").get_json()
    extended = client.patch(f"/v1/assignments/{lease['id']}", json={"lease_hours": 200}, headers=field.headers)
    assert extended.status_code == 200, extended.get_json()


def test_two_live_leases_on_the_same_doors_from_before_the_rule_are_not_extended(client, field, db_session):
    a = make_assignment(db_session, org=field.org, turf=field.turfs["A"], campaign=field.campaign,
                        canvasser=field.canvassers[0])
    make_assignment(db_session, org=field.org, turf=field.turfs["B"], campaign=field.campaign,
                    canvasser=field.canvassers[1])
    assert_error(client.patch(f"/v1/turfs/{field.turfs['A'].id}/assignment", json={"lease_hours": 100},
                              headers=field.headers), 409, "doors_already_leased")
    db_session.expire_all()
    assert tenant_row(db_session, Assignment, a.id).leased_until < datetime.now(UTC) + timedelta(hours=100)


def drawn(client, field, first: int, last: int, name="Drawn"):
    """Draw a turf around doors first..last."""
    polygon = box(lon(first) - 0.0005, LAT - 0.0005, lon(last) + 0.0005, LAT + 0.0005)
    return client.post("/v1/turfs", json={"name": name, "geometry": mapping(polygon)}, headers=field.headers)


def test_a_drawn_turf_over_ready_turfs_is_made_and_names_them(client, field):
    response = drawn(client, field, 3, 5)
    assert response.status_code == 201, response.get_json()
    overlaps = response.get_json()["properties"]["overlaps"]
    assert overlaps == [
        {"id": field.turfs["A"].id, "name": "A", "status": "ready", "shared_doors": 1},
        {"id": field.turfs["B"].id, "name": "B", "status": "ready", "shared_doors": 3},
        {"id": field.turfs["C"].id, "name": "C", "status": "ready", "shared_doors": 2},
    ]


@pytest.mark.parametrize("campaign", ["campaign", "other_campaign"])
def test_a_drawn_turf_over_doors_of_any_live_lease_is_refused(client, field, db_session, campaign):
    lease = assign(client, field, "C", campaign=getattr(field, campaign)).get_json()
    error = assert_error(drawn(client, field, 3, 5), 409, "doors_already_leased")
    assert error["details"] == {"shared_doors": 2, "turfs": [
        {"id": field.turfs["C"].id, "name": "C", "assignment_id": lease["id"],
         "campaign_id": getattr(field, campaign).id, "shared_doors": 2}]}
    assert db_session.execute(select(func.count()).select_from(Turf).where(
        Turf.organization_id == field.org.id)).scalar_one() == 3
    # Around the leased doors: fine.
    assert drawn(client, field, 0, 3).status_code == 201


def test_the_turf_list_shows_each_turfs_overlaps_for_the_map(client, field, db_session):
    make_turf(db_session, org=field.org, households=field.doors[0:1], name="Old", status="archived")
    assert assign(client, field, "B").status_code == 201
    features = {f["properties"]["name"]: f["properties"]
                for f in client.get("/v1/turfs", headers=field.headers).get_json()["features"]}
    a, b, c = (field.turfs[name].id for name in "ABC")
    assert features["A"]["overlaps"] == [{"id": b, "name": "B", "status": "checked_out", "shared_doors": 2}]
    assert features["B"]["overlaps"] == [{"id": a, "name": "A", "status": "ready", "shared_doors": 2},
                                         {"id": c, "name": "C", "status": "ready", "shared_doors": 2}]
    assert features["C"]["overlaps"] == [{"id": b, "name": "B", "status": "checked_out", "shared_doors": 2}]
    one = client.get(f"/v1/turfs/{c}", headers=field.headers).get_json()["properties"]
    assert one["overlaps"] == features["C"]["overlaps"]
