"""The walk list's version (ETag) and its document cache: every change a phone would see changes
both the body and the ETag, through the path that really makes it; nothing else does; a cached
document is never served for another version.

The versions come from walklist_changes, appended by database triggers (migration 0006); the cache
is Redis (api/document_cache.py), live in these tests.
"""
import io
import re
import uuid
from datetime import UTC

import pytest
from redis import Redis
from sqlalchemy import text, update

from canvass.canvassing.records import Contact
from canvass.geo.households import import_households
from canvass.geo.models import Boundary, Building, Household
from canvass.people.models import Person
from canvass.turfs import walklist
from canvass.turfs.models import Assignment, Turf, TurfStop
from tests.canvass.canvassing.fieldwork import contact, make_canvass
from tests.conftest import run_jobs
from tests.factories import (
    auth_header,
    make_assignment,
    make_boundary,
    make_campaign,
    make_household,
    make_person,
    make_turf,
    make_user,
)


@pytest.fixture
def canvass(db_session):
    canvass = make_canvass(db_session)
    canvass.url = f"/v1/assignments/{canvass.assignment.id}/walklist"
    canvass.organizer = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["organizer"]))
    return canvass


def fetch(client, canvass, etag=None):
    headers = {**canvass.headers, **({"If-None-Match": etag} if etag else {})}
    return client.get(canvass.url, headers=headers)


def sync(client, canvass, *contacts):
    response = client.post("/v1/sync", json={"device_id": "phone-1", "contacts": list(contacts)}, headers=canvass.headers)
    assert response.status_code == 200 and {r["status"] for r in response.get_json()["results"]} == {"created"}


def changed_by(client, canvass, change) -> tuple[dict, dict]:
    """(body before, body after) `change()`; asserts the ETag, and only it, told the phone."""
    before = fetch(client, canvass)
    assert before.status_code == 200
    etag = before.headers["ETag"]
    assert fetch(client, canvass, etag).status_code == 304  # current, and cached by now
    change()
    after = fetch(client, canvass, etag)
    assert after.status_code == 200, "the phone's copy was called current after a change it shows"
    assert after.headers["ETag"] != etag
    assert after.get_json() != before.get_json()
    assert fetch(client, canvass, after.headers["ETag"]).status_code == 304
    return before.get_json(), after.get_json()


def unchanged_by(client, canvass, change) -> None:
    before = fetch(client, canvass)
    change()
    again = fetch(client, canvass, before.headers["ETag"])
    assert again.status_code == 304
    assert fetch(client, canvass).data == before.data


def names(body, door=0):
    return [p["first_name"] for p in body["stops"][door]["people"]]


# --- what the phone sees changes: body and ETag -----------------------------------------------


def test_a_contact_synced_for_the_turf_and_campaign(client, canvass):
    before, after = changed_by(client, canvass, lambda: sync(client, canvass, contact(canvass, result_code="come_back")))
    assert (before["stops"][0]["last_result"], after["stops"][0]["last_result"]) == (None, "come_back")


def test_a_household_asking_not_to_be_contacted(client, canvass):
    door = canvass.households[1]
    _, after = changed_by(client, canvass, lambda: sync(client, canvass, contact(
        canvass, household=door, result_code="refused", do_not_contact=True)))
    assert door.id not in [s["household_id"] for s in after["stops"]]


def test_a_wrong_address(client, canvass):
    door = canvass.households[2]
    _, after = changed_by(client, canvass, lambda: sync(client, canvass, contact(
        canvass, household=door, result_code="wrong_address")))
    assert door.id not in [s["household_id"] for s in after["stops"]]


@pytest.mark.parametrize("code", ["moved", "deceased"])
def test_a_resident_moved_or_deceased(client, canvass, code):
    person = canvass.people[0]
    before, after = changed_by(client, canvass, lambda: sync(client, canvass, contact(
        canvass, result_code=code, person_id=person.id)))
    assert person.id in [p["id"] for p in before["stops"][0]["people"]]
    assert person.id not in [p["id"] for p in after["stops"][0]["people"]]


@pytest.mark.parametrize("flag", ["do_not_contact", "wrong_address"])
def test_a_household_flag_set_or_cleared_without_a_contact(client, canvass, db_session, flag):
    def set_flag(value):
        db_session.execute(update(Household).where(Household.id == canvass.households[1].id).values({flag: value}))
        db_session.flush()

    _, after = changed_by(client, canvass, lambda: set_flag(True))
    assert len(after["stops"]) == 2
    _, after = changed_by(client, canvass, lambda: set_flag(False))  # a lead fixed it
    assert len(after["stops"]) == 3


@pytest.mark.parametrize("change", [{"residence_current": False}, {"deceased": True}, {"last_name": "Renamed"},
                                   {"household_id": None}])
def test_a_resident_changed_without_a_contact(client, canvass, db_session, change):
    def apply():
        db_session.execute(update(Person).where(Person.id == canvass.people[0].id).values(change))
        db_session.flush()

    changed_by(client, canvass, apply)


def test_a_resident_moving_into_the_turf(client, canvass, db_session):
    outsider = make_person(db_session, org=canvass.org, household=make_household(db_session, org=canvass.org),
                           first_name="Arriving")

    def move_in():
        db_session.execute(update(Person).where(Person.id == outsider.id).values(household_id=canvass.households[2].id))
        db_session.flush()

    _, after = changed_by(client, canvass, move_in)
    assert "Arriving" in names(after, 2)


def test_a_unit_renumbered(client, canvass, db_session):
    def renumber():
        db_session.execute(update(Household).where(Household.id == canvass.households[0].id).values(unit="2F"))
        db_session.flush()

    _, after = changed_by(client, canvass, renumber)
    assert after["stops"][0]["address"]["unit"] == "2F"


def test_a_resident_marked_do_not_contact_by_an_organizer(client, canvass):
    person = canvass.people[1]
    _, after = changed_by(client, canvass, lambda: client.patch(
        f"/v1/people/{person.id}", json={"do_not_contact": True}, headers=canvass.organizer))
    assert after["stops"][1]["people"] == []


def test_a_resident_merged_into_another_person(client, canvass, db_session):
    twin = make_person(db_session, org=canvass.org, household=canvass.households[0], first_name="Twin")
    _, after = changed_by(client, canvass, lambda: client.post(
        f"/v1/people/{twin.id}/merge", json={"into_id": canvass.people[0].id}, headers=canvass.organizer))
    assert "Twin" not in names(after)


def test_a_new_resident(client, canvass, db_session):
    before, after = changed_by(client, canvass, lambda: make_person(
        db_session, org=canvass.org, household=canvass.households[2], first_name="Newcomer"))
    assert "Newcomer" in names(after, 2) and "Newcomer" not in names(before, 2)


@pytest.mark.parametrize("edit, field", [
    ({"script": "Hello again, neighbor."}, "script"),
    ({"questions": [{"prompt": "Will you sign the petition?", "kind": "yes_no"}]}, "questions"),
    ({"result_codes": ["not_home", "refused"]}, "result_codes"),
    ({"pledge_types": ["vote"]}, "pledge_types"),
    ({"name": "Spring canvass"}, "name"),
])
def test_a_campaign_edit(client, canvass, edit, field):
    def patch():
        response = client.patch(f"/v1/campaigns/{canvass.campaign.id}", json=edit, headers=canvass.organizer)
        assert response.status_code == 200, response.get_json()

    before, after = changed_by(client, canvass, patch)
    assert before["campaign"][field] != after["campaign"][field]


def test_a_campaign_recontacting_refusals(client, canvass):
    sync(client, canvass, contact(canvass, household=canvass.households[1], result_code="refused"))
    before, after = changed_by(client, canvass, lambda: client.patch(
        f"/v1/campaigns/{canvass.campaign.id}", json={"settings": {"recontact_refused": True}}, headers=canvass.organizer))
    assert (len(before["stops"]), len(after["stops"])) == (2, 3)


def test_a_turf_renamed(client, canvass, db_session):
    lead = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["field_lead"]))
    _, after = changed_by(client, canvass, lambda: client.patch(
        f"/v1/turfs/{canvass.turf.id}", json={"name": "Roscoe east"}, headers=lead))
    assert after["turf"]["name"] == "Roscoe east"


def test_a_door_added_to_the_turf_and_the_walk_reordered(client, canvass, db_session):
    door = make_household(db_session, org=canvass.org, lon=-87.7, lat=41.95)

    def add_and_reorder():
        db_session.add(TurfStop(organization_id=canvass.org.id, turf_id=canvass.turf.id, household_id=door.id, seq=4))
        db_session.flush()
        db_session.execute(update(TurfStop).where(TurfStop.turf_id == canvass.turf.id).values(seq=10 - TurfStop.seq))
        db_session.flush()

    before, after = changed_by(client, canvass, add_and_reorder)
    assert [s["household_id"] for s in after["stops"]] == [door.id] + [s["household_id"] for s in before["stops"]][::-1]


def test_the_wards_name(client, canvass, db_session):
    ward = make_boundary(db_session, org=canvass.org, name="33")
    canvass.turf.ward_id = ward.id
    db_session.flush()

    def rename():
        db_session.execute(update(Boundary).where(Boundary.id == ward.id).values(name="33rd"))
        db_session.flush()

    before, after = changed_by(client, canvass, rename)
    assert (before["turf"]["ward"], after["turf"]["ward"]) == ("33", "33rd")


def test_an_address_corrected_in_place(client, canvass, db_session):
    def correct():
        db_session.execute(update(Building).where(Building.id == canvass.households[0].building_id)
                           .values(line1="2151 W ROSCOE ST", zip="60657"))
        db_session.flush()

    _, after = changed_by(client, canvass, correct)
    assert after["stops"][0]["address"]["line1"] == "2151 W ROSCOE ST"


def test_a_lease_extended(client, canvass, db_session):
    lead = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["field_lead"]))
    before, after = changed_by(client, canvass, lambda: client.patch(
        f"/v1/assignments/{canvass.assignment.id}", json={"lease_hours": 200}, headers=lead))
    assert before["leased_until"] != after["leased_until"]


CSV_HEADER = "external_id,address,unit,city,state,zip,latitude,longitude,first_name,last_name\n"


def test_a_re_import_that_moves_a_resident_or_adds_one(client, db_session):
    canvass = make_canvass(db_session, doors=0)
    org = canvass.org
    import_households(db_session, organization_id=org.id, stream=io.BytesIO((
        CSV_HEADER
        + "v1,2150 W Roscoe St,,Chicago,IL,60618,41.9433,-87.6820,Ana,Diaz\n"
        + "v2,2154 W Roscoe St,,Chicago,IL,60618,41.9433,-87.6824,Ben,Cho\n").encode()))
    households = db_session.execute(
        Household.__table__.select().where(Household.organization_id == org.id).order_by(Household.id)).all()
    turf = make_turf(db_session, org=org, households=households)
    assignment = make_assignment(db_session, org=org, turf=turf, canvasser=canvass.canvasser, campaign=canvass.campaign)
    canvass.url = f"/v1/assignments/{assignment.id}/walklist"

    def re_import():
        import_households(db_session, organization_id=org.id, stream=io.BytesIO((
            CSV_HEADER
            + "v1,1 N State St,,Chicago,IL,60602,41.8820,-87.6278,Ana,Diaz\n"  # moved out of the turf
            + "v2,2154 W Roscoe St,,Chicago,IL,60618,41.9433,-87.6824,Ben,Cho\n"
            + "v3,2154 W Roscoe St,,Chicago,IL,60618,41.9433,-87.6824,Cy,Cho\n").encode()))  # moved in

    before, after = changed_by(client, canvass, re_import)
    assert [names(before, 0), names(before, 1)] == [["Ana"], ["Ben"]]
    assert [names(after, 0), sorted(names(after, 1))] == [[], ["Ben", "Cy"]]


# --- what the phone does not see leaves the ETag alone -----------------------------------------


def test_a_contact_of_another_campaign_a_flag_or_another_turf_changes_nothing(client, canvass, db_session):
    other_campaign = make_campaign(db_session, org=canvass.org)
    elsewhere = make_household(db_session, org=canvass.org, lon=-87.69, lat=41.95)
    make_turf(db_session, org=canvass.org, households=[elsewhere])
    stored = Contact(organization_id=canvass.org.id, client_id=uuid.uuid4(), campaign_id=canvass.campaign.id,
                     household_id=canvass.households[0].id, occurred_at=canvass.assignment.leased_at,
                     result_code="not_home")
    db_session.add(stored)
    db_session.flush()

    def elsewhere_or_unseen():
        db_session.add(Contact(organization_id=canvass.org.id, client_id=uuid.uuid4(), campaign_id=other_campaign.id,
                               household_id=canvass.households[0].id, occurred_at=canvass.assignment.leased_at,
                               result_code="refused"))
        make_person(db_session, org=canvass.org, household=elsewhere)
        db_session.execute(update(Contact).where(Contact.id == stored.id).values(flags=["too_fast"], notes="fast"))
        db_session.execute(update(Person).where(Person.household_id == elsewhere.id).values(phone="13125550100"))
        db_session.flush()

    unchanged_by(client, canvass, elsewhere_or_unseen)


# --- the cache ---------------------------------------------------------------------------------


def test_a_cached_document_is_the_built_one_and_is_served_only_for_its_version(client, canvass, app, redis_client):
    first = fetch(client, canvass)
    key = f"{app.config['CANVASS_SETTINGS'].redis_key_prefix}:walklist:{canvass.org.id}:{canvass.assignment.id}"
    etag = first.headers["ETag"].strip('"')
    assert redis_client.get(key) == etag.encode() + first.data
    assert fetch(client, canvass).data == first.data
    # An entry filed under any other version is never served, whatever it holds.
    redis_client.set(key, b"0" * 40 + b'{"forged": true}')
    assert fetch(client, canvass).data == first.data
    redis_client.set(key, etag.encode() + b'{"served from the cache": true}')
    assert fetch(client, canvass).get_json() == {"served from the cache": True}  # it is used when current
    redis_client.delete(key)


def test_redis_down_still_answers_from_the_database(client, canvass, app):
    working = app.extensions["canvass_redis"]
    app.extensions["canvass_redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        response = fetch(client, canvass)
        assert response.status_code == 200 and len(response.get_json()["stops"]) == 3
        assert fetch(client, canvass, response.headers["ETag"]).status_code == 304
    finally:
        app.extensions["canvass_redis"].close()
        app.extensions["canvass_redis"] = working


def test_a_lead_reading_a_lapsed_lease_sees_it_expired(client, canvass, db_session):
    lead = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["field_lead"]))
    live = client.get(canvass.url, headers=lead)
    db_session.execute(update(Assignment).where(Assignment.id == canvass.assignment.id)
                       .values(leased_until=text("now() - interval '1 minute'"), leased_at=text("now() - interval '2 hours'")))
    db_session.flush()
    lapsed = client.get(canvass.url, headers={**lead, "If-None-Match": live.headers["ETag"]})
    assert lapsed.status_code == 200 and lapsed.get_json()["status"] == "expired"


def test_every_table_the_document_reads_is_versioned(db_session):
    """A join added to the document without a trigger on its table would serve stale copies."""
    read = set(re.findall(r"(?:FROM|JOIN)\s+([a-z_]+)\b", walklist._DOCUMENT_SQL.text)) - {
        "head", "stops", "unnest", "walklist_changes"}
    versioned = set(db_session.execute(text(
        "SELECT DISTINCT event_object_table FROM information_schema.triggers WHERE trigger_name LIKE 'walklist_log_%'"
    )).scalars())
    assert read - versioned == {"assignments"}  # its columns are part of the version itself
    assert read >= {"turfs", "turf_stops", "households", "buildings", "people", "contacts", "campaigns", "questions",
                    "boundaries"}


def test_triggers_log_only_rows_of_the_writers_organization_and_scope(db_session, canvass):
    before = db_session.execute(text("SELECT max(id) FROM walklist_changes")).scalar_one()
    make_person(db_session, org=canvass.org, household=canvass.households[0])
    db_session.execute(update(Turf).where(Turf.id == canvass.turf.id).values(name="Renamed"))
    db_session.flush()
    rows = db_session.execute(text(
        "SELECT organization_id, household_id, turf_id, campaign_id FROM walklist_changes WHERE id > :id ORDER BY id"),
        {"id": before}).all()
    assert [tuple(r) for r in rows] == [(canvass.org.id, canvass.households[0].id, None, None),
                                        (canvass.org.id, None, canvass.turf.id, None)]


def test_a_lapsed_lease_has_its_own_version():
    # Only leads read a lapsed lease; time passing alone (no write) must still change its ETag.
    from datetime import datetime
    from types import SimpleNamespace

    row = dict(id=7, status="active", leased_until=datetime(2026, 11, 21, tzinfo=UTC), turf_id=3,
               campaign_id=4, changes=12345)
    assert walklist._etag(1, SimpleNamespace(**row, lapsed=False)) != walklist._etag(1, SimpleNamespace(**row, lapsed=True))
    assert walklist._etag(1, SimpleNamespace(**row, lapsed=False)) != walklist._etag(2, SimpleNamespace(**row, lapsed=False))


def test_a_household_joining_the_turf_while_its_resident_changes_is_not_missed(committing_app):
    """Real commits on separate connections: a resident's change that commits after their household
    was added to the turf (and after a phone read the list) still changes the version. A trigger
    that looked up the household's turfs at write time would not have seen the new stop."""
    from api.extensions import db
    from tests.factories import make_org

    with committing_app.app_context():
        session = db.session
        org = make_org(session)
        canvasser = make_user(session, org=org, roles=["canvasser"])
        inside, joining = make_household(session, org=org), make_household(session, org=org, lon=-87.705)
        resident = make_person(session, org=org, household=joining, first_name="Before")
        turf = make_turf(session, org=org, households=[inside])
        assignment = make_assignment(session, org=org, turf=turf, canvasser=canvasser,
                                     campaign=make_campaign(session, org=org))
        headers, url = auth_header(session, canvasser), f"/v1/assignments/{assignment.id}/walklist"
        ids = dict(org=org.id, turf=turf.id, joining=joining.id, resident=resident.id)
        session.commit()
        engine = db.engine
    client = committing_app.test_client()
    with engine.connect() as editing, engine.connect() as cutting:
        editing.execute(update(Person).where(Person.id == ids["resident"]).values(first_name="After"))
        cutting.execute(TurfStop.__table__.insert().values(organization_id=ids["org"], turf_id=ids["turf"],
                                                          household_id=ids["joining"], seq=2))
        cutting.commit()
        read = client.get(url, headers=headers)
        assert [p["first_name"] for p in read.get_json()["stops"][1]["people"]] == ["Before"]
        editing.commit()
    again = client.get(url, headers={**headers, "If-None-Match": read.headers["ETag"]})
    assert again.status_code == 200
    assert [p["first_name"] for p in again.get_json()["stops"][1]["people"]] == ["After"]


def _many_households(db_session, org, count):
    building = db_session.execute(text("SELECT building_id FROM households WHERE organization_id = :org LIMIT 1"),
                                  {"org": org.id}).scalar_one()
    return db_session.execute(text(
        "INSERT INTO households (organization_id, building_id, unit) SELECT :org, :building, 'bulk-' || n "
        "FROM generate_series(1, :count) n RETURNING id"), {"org": org.id, "building": building, "count": count}
    ).scalars().all()


@pytest.mark.parametrize("table", ["people", "contacts"])
def test_a_bulk_write_logs_its_organization_or_campaign_once_and_still_changes_the_version(
        client, canvass, db_session, table):
    many = _many_households(db_session, canvass.org, 1000) + [h.id for h in canvass.households]
    params = {"org": canvass.org.id, "ids": many, "campaign": canvass.campaign.id}
    last = db_session.execute(text("SELECT max(id) FROM walklist_changes")).scalar_one()

    def bulk():
        if table == "people":
            db_session.execute(text("INSERT INTO people (organization_id, household_id, first_name) "
                                    "SELECT :org, id, 'Bulk' FROM unnest(CAST(:ids AS bigint[])) id"), params)
        else:
            db_session.execute(text(
                "INSERT INTO contacts (organization_id, client_id, campaign_id, household_id, occurred_at, result_code) "
                "SELECT :org, gen_random_uuid(), :campaign, id, now(), 'not_home' FROM unnest(CAST(:ids AS bigint[])) id"),
                params)

    _, after = changed_by(client, canvass, bulk)
    logged = db_session.execute(text(
        "SELECT household_id, turf_id, campaign_id FROM walklist_changes WHERE id > :last"), {"last": last}).all()
    wide = (None, None, canvass.campaign.id) if table == "contacts" else (None, None, None)
    assert [tuple(row) for row in logged] == [wide]
    if table == "people":
        assert "Bulk" in names(after)
    else:
        assert {s["last_result"] for s in after["stops"]} == {"not_home"}


def test_access_is_checked_before_the_304_and_the_cache(client, canvass, db_session):
    """A cached document or a known ETag never lets anyone past the access check."""
    from tests.factories import make_org

    first = fetch(client, canvass)  # built and cached
    etag = first.headers["ETag"]
    other = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["canvasser"]))
    stranger = auth_header(db_session, make_user(db_session, org=make_org(db_session), roles=["field_lead"]))
    for headers in (other, stranger):
        for conditional in ({}, {"If-None-Match": etag}):
            response = client.get(canvass.url, headers={**headers, **conditional})
            assert response.status_code == 404 and response.get_json()["error"]["code"] == "assignment_not_found"
    released = client.delete(f"/v1/assignments/{canvass.assignment.id}", headers=canvass.headers)
    assert released.status_code == 200
    for conditional in ({}, {"If-None-Match": etag}):
        response = client.get(canvass.url, headers={**canvass.headers, **conditional})
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "assignment_ended"
    assert client.delete("/v1/auth/token", headers=canvass.headers).status_code == 204
    response = client.get(canvass.url, headers={**canvass.headers, "If-None-Match": etag})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"


# --- compaction: the log shrinks, no version moves ----------------------------------------------


def test_compacting_the_change_log_folds_rows_without_changing_any_version(client, canvass, db_session):
    from datetime import timedelta

    for code in ("not_home", "come_back", "not_home"):
        sync(client, canvass, contact(canvass, result_code=code))
    db_session.execute(update(Turf).where(Turf.id == canvass.turf.id).values(name="Renamed"))
    db_session.execute(update(Turf).where(Turf.id == canvass.turf.id).values(name="Renamed again"))
    db_session.flush()
    count = lambda: db_session.execute(text("SELECT count(*) FROM walklist_changes WHERE organization_id = :o"),  # noqa: E731
                                       {"o": canvass.org.id}).scalar_one()
    before, rows_before = fetch(client, canvass), count()

    removed = walklist.compact_walklist_changes(db_session, organization_id=canvass.org.id, older_than=timedelta(0))

    assert removed > 0 and count() == rows_before - removed
    after = fetch(client, canvass, before.headers["ETag"])
    assert after.status_code == 304  # same version: the phone's copy is still current
    assert fetch(client, canvass).data == before.data
    # and the log still versions what comes next
    changed_by(client, canvass, lambda: sync(client, canvass, contact(canvass, result_code="refused")))


def test_compaction_leaves_recent_rows_and_other_organizations_alone(client, canvass, db_session):
    from datetime import timedelta

    other = make_canvass(db_session)
    for run in (canvass, other):
        for code in ("not_home", "come_back"):
            response = client.post("/v1/sync", json={"device_id": "p", "contacts": [contact(run, result_code=code)]},
                                   headers=run.headers)
            assert response.status_code == 200
    rows = lambda org: db_session.execute(text("SELECT count(*) FROM walklist_changes WHERE organization_id = :o"),  # noqa: E731
                                          {"o": org.id}).scalar_one()
    counts = rows(canvass.org), rows(other.org)
    assert walklist.compact_walklist_changes(db_session, organization_id=canvass.org.id,
                                             older_than=timedelta(hours=1)) == 0
    assert walklist.compact_walklist_changes(db_session, organization_id=canvass.org.id, older_than=timedelta(0)) > 0
    assert rows(other.org) == counts[1]


def test_the_nightly_cron_job_compacts_every_organizations_log(client, canvass, db_session, worker_runtime):
    from workers.cron_schedule import SCHEDULE
    from workers.jobs import JOBS

    for code in ("not_home", "come_back"):
        sync(client, canvass, contact(canvass, result_code=code))
    # Written more than an hour ago, as the job wants its rows.
    db_session.execute(text("UPDATE walklist_changes SET created_at = created_at - interval '2 hours' "
                            "WHERE organization_id = :o"), {"o": canvass.org.id})
    db_session.commit()
    etag = fetch(client, canvass).headers["ETag"]
    rows_per_scope = text("SELECT count(*) FROM walklist_changes WHERE organization_id = :o "
                          "GROUP BY household_id, turf_id, campaign_id")
    assert max(db_session.execute(rows_per_scope, {"o": canvass.org.id}).scalars()) >= 2  # e.g. the two contacts
    assert "compact_walklist_changes_all" in dict(SCHEDULE)
    worker_runtime.get_queue().enqueue(JOBS["compact_walklist_changes_all"])
    run_jobs(worker_runtime)
    assert set(db_session.execute(rows_per_scope, {"o": canvass.org.id}).scalars()) == {1}
    assert fetch(client, canvass, etag).status_code == 304
