"""People: possible duplicates, merging (audited, nothing lost), reading and do-not-contact."""
import pytest
from sqlalchemy import select

from canvass.audit.models import AuditEvent
from canvass.canvassing.records import Contact, Pledge
from canvass.people.models import Person
from tests.asserts import assert_error
from tests.canvass.canvassing.fieldwork import contact, make_canvass, pledge
from tests.factories import auth_header, make_household, make_org, make_person, make_user, tenant_row


@pytest.fixture
def canvass(db_session):
    return make_canvass(db_session)


@pytest.fixture
def organizer_headers(db_session, canvass):
    return auth_header(db_session, make_user(db_session, org=canvass.org, roles=["organizer"]))


def test_duplicates_pair_same_name_in_a_household_same_phone_and_same_email(client, canvass, db_session, organizer_headers):
    org, home = canvass.org, canvass.households[1]
    a = make_person(db_session, org=org, household=home, first_name="Rosa", last_name="Diaz", phone="13125550001")
    b = make_person(db_session, org=org, household=home, first_name="Rosa", last_name="Diaz")
    c = make_person(db_session, org=org, first_name="R.", last_name="D.", phone="13125550001", email="rd@example.org")
    d = make_person(db_session, org=org, first_name="Other", last_name="Name", email="rd@example.org")
    make_person(db_session, org=org, household=canvass.households[2], first_name="Rosa", last_name="Diaz")  # another home
    merged = make_person(db_session, org=org, household=home, first_name="Rosa", last_name="Diaz", merged_into_id=a.id)
    make_person(db_session, org=make_org(db_session), phone="13125550001")  # another organization
    response = client.get("/v1/people/duplicates", headers=organizer_headers)
    assert response.status_code == 200, response.get_json()
    pairs = [(p["first"]["id"], p["second"]["id"], p["reasons"]) for p in response.get_json()["data"]]
    assert pairs == [(a.id, b.id, ["same_name_in_household"]), (a.id, c.id, ["same_phone"]), (c.id, d.id, ["same_email"])]
    assert merged.id not in {i for pair in pairs for i in pair[:2]}


def test_duplicates_page_with_a_cursor(client, canvass, db_session, organizer_headers):
    people = [make_person(db_session, org=canvass.org, phone="13125550002") for _ in range(3)]  # three pairs
    first = client.get("/v1/people/duplicates", query_string={"limit": 2}, headers=organizer_headers).get_json()
    rest = client.get("/v1/people/duplicates", query_string={"limit": 2, "cursor": first["next_cursor"]},
                      headers=organizer_headers).get_json()
    ids = [(p["first"]["id"], p["second"]["id"]) for p in first["data"] + rest["data"]]
    p0, p1, p2 = (p.id for p in people)
    assert ids == [(p0, p1), (p0, p2), (p1, p2)]
    assert rest["next_cursor"] is None
    assert_error(client.get("/v1/people/duplicates", query_string={"cursor": "1;drop"}, headers=organizer_headers),
                 422, "validation_failed")


def test_merge_moves_every_contact_and_pledge_and_is_audited(client, canvass, db_session, organizer_headers):
    home = canvass.households[0]
    keep = canvass.people[0]
    dupe = make_person(db_session, org=canvass.org, household=home, first_name=keep.first_name, last_name=keep.last_name,
                       phone="13125550003", do_not_contact=True)
    earlier = make_person(db_session, org=canvass.org, merged_into_id=dupe.id)
    results = client.post("/v1/sync", headers=canvass.headers, json={
        "contacts": [contact(canvass, person_id=dupe.id), contact(canvass, person_id=keep.id)],
        "pledges": [pledge(canvass, person_id=dupe.id, person=None)],
    }).get_json()["results"]
    response = client.post(f"/v1/people/{dupe.id}/merge", json={"into_id": keep.id}, headers=organizer_headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == keep.id
    db_session.expire_all()
    assert {tenant_row(db_session, Contact, r["id"]).person_id for r in results[:2]} == {keep.id}
    assert tenant_row(db_session, Pledge, results[2]["id"]).person_id == keep.id
    kept, gone = tenant_row(db_session, Person, keep.id), tenant_row(db_session, Person, dupe.id)
    assert (gone.merged_into_id, kept.phone, kept.do_not_contact) == (keep.id, "13125550003", True)
    assert tenant_row(db_session, Person, earlier.id).merged_into_id == keep.id  # never a chain
    audit = db_session.execute(select(AuditEvent).where(AuditEvent.action == "person.merged")).scalar_one()
    assert (audit.target_id, audit.details["merged_id"], audit.details["contacts_moved"], audit.details["pledges_moved"]) == (
        str(keep.id), dupe.id, 1, 1,
    )


def test_merge_refusals(client, canvass, db_session, organizer_headers):
    a, b = canvass.people[0], canvass.people[1]
    foreign = make_person(db_session, org=make_org(db_session))
    url = f"/v1/people/{a.id}/merge"
    assert_error(client.post(url, json={"into_id": a.id}, headers=organizer_headers), 422, "cannot_merge_self")
    assert_error(client.post(url, json={"into_id": foreign.id}, headers=organizer_headers), 404, "person_not_found")
    assert_error(client.post(f"/v1/people/{foreign.id}/merge", json={"into_id": a.id}, headers=organizer_headers),
                 404, "person_not_found")
    assert_error(client.post(url, json={"into_id": "b"}, headers=organizer_headers), 422, "validation_failed")
    assert_error(client.post(url, json={"into_id": 10**30}, headers=organizer_headers), 422, "validation_failed")
    assert_error(client.post(url, json={}, headers=organizer_headers), 422, "validation_failed")
    assert_error(client.post(url, json={"into_id": b.id}, headers=canvass.headers), 403, "forbidden")
    assert client.post(url, json={"into_id": b.id}, headers=organizer_headers).status_code == 200
    assert_error(client.post(url, json={"into_id": b.id}, headers=organizer_headers), 409, "person_already_merged")
    c = canvass.people[2]
    assert_error(client.post(f"/v1/people/{c.id}/merge", json={"into_id": a.id}, headers=organizer_headers),
                 409, "merge_target_merged")
    db_session.expire_all()
    assert tenant_row(db_session, Person, c.id).merged_into_id is None


def test_person_detail_shows_contacts_and_pledges_to_organizers_and_leads(client, canvass, db_session):
    person = canvass.people[0]
    client.post("/v1/sync", headers=canvass.headers, json={
        "contacts": [contact(canvass, person_id=person.id)], "pledges": [pledge(canvass, person_id=person.id, person=None)],
    })
    lead = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["field_lead"]))
    body = client.get(f"/v1/people/{person.id}", headers=lead).get_json()
    assert body["person"]["id"] == person.id
    assert [(c["result"], c["person_id"]) for c in body["contacts"]] == [("not_home", person.id)]
    assert [p["pledge_type"] for p in body["pledges"]] == ["vote"]
    assert_error(client.get(f"/v1/people/{person.id}", headers=canvass.headers), 403, "forbidden")
    foreign = make_person(db_session, org=make_org(db_session))
    assert_error(client.get(f"/v1/people/{foreign.id}", headers=lead), 404, "person_not_found")


def test_organizer_sets_do_not_contact_and_corrects_details_audited(client, canvass, db_session, organizer_headers):
    person = canvass.people[0]
    response = client.patch(f"/v1/people/{person.id}", json={"do_not_contact": True, "phone": "312 555 0104",
                                                            "email": "P@Example.org"}, headers=organizer_headers)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["do_not_contact"], response.get_json()["phone"], response.get_json()["email"]) == (
        True, "13125550104", "p@example.org",
    )
    audit = db_session.execute(select(AuditEvent).where(AuditEvent.action == "person.updated")).scalar_one()
    assert audit.details["do_not_contact"] == [False, True]
    cleared = client.patch(f"/v1/people/{person.id}", json={"phone": ""}, headers=organizer_headers).get_json()
    assert cleared["phone"] is None


@pytest.mark.parametrize("body, field", [({"phone": "12"}, "phone"), ({"email": "nope"}, "email"),
                                         ({"do_not_contact": "yes"}, "do_not_contact"), ({"name": "x"}, "name")])
def test_bad_person_updates_are_422_and_change_nothing(client, canvass, db_session, organizer_headers, body, field):
    person = canvass.people[0]
    error = assert_error(client.patch(f"/v1/people/{person.id}", json=body, headers=organizer_headers), 422,
                         "validation_failed")
    assert field in error["details"]
    db_session.refresh(person)
    assert (person.phone, person.email, person.do_not_contact) == (None, None, False)


def test_people_of_another_household_are_not_duplicates_by_name(client, db_session, canvass, organizer_headers):
    other_home = make_household(db_session, org=canvass.org)
    make_person(db_session, org=canvass.org, household=other_home, first_name=canvass.people[0].first_name,
                last_name=canvass.people[0].last_name)
    assert client.get("/v1/people/duplicates", headers=organizer_headers).get_json()["data"] == []
