"""Two canvassers' results for the same door: both kept, the later-arriving one flagged `conflict`,
listed for leads, resolved by keeping one.

Fixed dates (6 October 2025, Chicago: UTC-5) inside a team lease set to cover them.
"""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from canvass.audit.models import AuditEvent
from canvass.canvassing import sync as sync_service
from canvass.canvassing.records import Contact
from canvass.people.models import Person
from tests.asserts import assert_error
from tests.canvass.canvassing.fieldwork import make_canvass
from tests.concurrency import hold_while
from tests.factories import auth_header, make_assignment, make_org, make_team, make_user, tenant_row

LEASE_START = datetime(2025, 10, 6, 13, 0, tzinfo=UTC)  # 08:00 in Chicago


def at(hour: int, day: int = 6) -> str:
    return f"2025-10-{day:02d}T{hour:02d}:00:00-05:00"


class Door:
    """A team lease of two canvassers (`a`, `b`) and a lead, all of one organization."""

    def __init__(self, session):
        self.canvass = make_canvass(session)
        org = self.canvass.org
        self.a = self.canvass.canvasser
        self.b = make_user(session, org=org, roles=["canvasser"], name="Bea")
        team = make_team(session, org=org, members=[self.a, self.b])
        self.canvass.assignment.status, self.canvass.assignment.ended_at = "released", LEASE_START
        session.flush()
        self.lease = make_assignment(session, org=org, turf=self.canvass.turf, campaign=self.canvass.campaign,
                                     team=team, leased_at=LEASE_START, leased_until=LEASE_START + timedelta(hours=10))
        self.headers = {self.a.id: self.canvass.headers, self.b.id: auth_header(session, self.b)}
        self.lead = make_user(session, org=org, roles=["field_lead"])
        self.lead_headers = auth_header(session, self.lead)
        self.household = self.canvass.households[0]
        self.person = self.canvass.people[0]

    def item(self, when, *, household=None, **fields):
        item = {"client_id": str(uuid.uuid4()), "assignment_id": self.lease.id,
                "household_id": (household or self.household).id, "occurred_at": when}
        if "responses" not in fields:
            item["result_code"] = "not_home"
        item.update(fields)
        return item

    def yes(self, answer=True):
        return [{"question_id": self.canvass.questions["yes_no"], "answer": answer}]


@pytest.fixture
def door(db_session):
    return Door(db_session)


def sync(client, door, user, *items):
    response = client.post("/v1/sync", json={"device_id": "p", "contacts": list(items)}, headers=door.headers[user.id])
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def last_result(client, door):
    response = client.get(f"/v1/assignments/{door.lease.id}/walklist", headers=door.lead_headers)
    assert response.status_code == 200, response.get_json()
    return next(s["last_result"] for s in response.get_json()["stops"] if s["household_id"] == door.household.id)


def conflicts(client, door, **query):
    response = client.get("/v1/contacts/conflicts", query_string=query, headers=door.lead_headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def resolve(client, door, conflict_id, body, headers=None):
    return client.post(f"/v1/contacts/conflicts/{conflict_id}/resolution", json=body,
                       headers=headers or door.lead_headers)


def conflict_pair(client, door, *, later_code="moved"):
    (first,) = sync(client, door, door.a, door.item(at(10), responses=door.yes(), person_id=door.person.id))
    (second,) = sync(client, door, door.b, door.item(at(11), result_code=later_code, person_id=door.person.id))
    return first, second


def test_a_team_members_different_result_for_the_same_door_is_stored_and_flagged(client, db_session, door):
    first, second = conflict_pair(client, door)
    assert first["status"] == "created" and "conflict" not in first
    assert (second["status"], second["conflict"]) == ("created", True)
    flagged = tenant_row(db_session, Contact, second["id"])
    assert (flagged.conflict_with_id, flagged.flags) == (first["id"], ["conflict"])
    # The door does not flip while it is open: last_result stays the standing result, and the
    # conflicting `moved` waits for a lead (the resident is still current).
    assert last_result(client, door) == "canvassed"
    assert tenant_row(db_session, Person, door.person.id).residence_current is True

    page = conflicts(client, door)
    (listed,) = page["data"]
    assert (listed["id"], listed["status"], page["next_cursor"]) == (second["id"], "open", None)
    assert (listed["contact"]["id"], listed["contact"]["canvasser_id"], listed["recorded_by"]) == (
        second["id"], door.b.id, "Bea")
    assert (listed["conflicts_with"]["id"], listed["conflicts_with"]["canvasser_id"]) == (first["id"], door.a.id)
    assert listed["conflicts_with"]["occurred_at"] and listed["contact"]["received_at"]
    # It fits the existing flagged list too.
    flagged_page = client.get("/v1/contacts/flagged", query_string={"flag": "conflict"},
                              headers=door.lead_headers).get_json()
    assert [row["contact"]["id"] for row in flagged_page["data"]] == [second["id"]]


@pytest.mark.parametrize("case", ["same_outcome", "inconclusive", "same_canvasser", "other_day", "other_person"])
def test_what_is_not_a_conflict(client, db_session, door, case):
    first_by, second_by = door.a, door.b
    first = door.item(at(10), result_code="refused")
    second = door.item(at(11), result_code="language_barrier")
    if case == "same_outcome":
        second["result_code"] = "refused"
    elif case == "inconclusive":
        second["result_code"] = "not_home"  # an attempt says nothing about the door
    elif case == "same_canvasser":
        second_by = door.a  # a canvasser's own revisit
    elif case == "other_day":
        second["occurred_at"] = at(9, day=7)
        door.lease.leased_until = LEASE_START + timedelta(days=2)
        db_session.flush()
    else:
        other = Person(organization_id=door.canvass.org.id, household_id=door.household.id, first_name="Kim")
        db_session.add(other)
        db_session.flush()
        first["person_id"], second["person_id"] = door.person.id, other.id
    sync(client, door, first_by, first)
    (result,) = sync(client, door, second_by, second)
    assert result["status"] == "created" and "conflict" not in result
    assert conflicts(client, door)["data"] == []


def test_different_answers_to_the_same_question_conflict(client, door):
    sync(client, door, door.a, door.item(at(10), responses=door.yes(True)))
    (result,) = sync(client, door, door.b, door.item(at(12), responses=door.yes(False)))
    assert result["conflict"] is True


def test_keeping_the_later_result_supersedes_the_earlier_and_applies_its_door_outcome(client, db_session, door):
    first, second = conflict_pair(client, door)
    response = resolve(client, door, second["id"], {"keep_contact_id": second["id"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["superseded_contact_id"] == first["id"]
    assert tenant_row(db_session, Contact, first["id"]).superseded_at is not None
    assert tenant_row(db_session, Contact, second["id"]).conflict_resolved_at is not None
    assert last_result(client, door) == "moved"
    assert tenant_row(db_session, Person, door.person.id).residence_current is False  # the held `moved`, applied
    assert conflicts(client, door)["data"] == []
    assert [c["id"] for c in conflicts(client, door, status="resolved")["data"]] == [second["id"]]
    event = db_session.execute(select(AuditEvent).where(AuditEvent.action == "contact.conflict_resolved")).scalar_one()
    assert (event.actor_user_id, event.details["kept_contact_id"]) == (door.lead.id, second["id"])


def test_keeping_the_earlier_result_undoes_nothing_it_did_and_supersedes_the_later(client, db_session, door):
    (first,) = sync(client, door, door.a, door.item(at(10), result_code="moved", person_id=door.person.id))
    (second,) = sync(client, door, door.b, door.item(at(11), responses=door.yes(), person_id=door.person.id))
    assert second["conflict"] is True
    assert resolve(client, door, second["id"], {"keep_contact_id": first["id"]}).status_code == 200
    assert tenant_row(db_session, Contact, second["id"]).superseded_at is not None
    assert last_result(client, door) == "moved"
    assert tenant_row(db_session, Person, door.person.id).residence_current is False


def test_keeping_the_later_result_undoes_the_superseded_ones_moved(client, db_session, door):
    (first,) = sync(client, door, door.a, door.item(at(10), result_code="moved", person_id=door.person.id))
    (second,) = sync(client, door, door.b, door.item(at(11), responses=door.yes(), person_id=door.person.id))
    assert tenant_row(db_session, Person, door.person.id).residence_current is False
    assert resolve(client, door, second["id"], {"keep_contact_id": second["id"]}).status_code == 200
    assert tenant_row(db_session, Person, door.person.id).residence_current is True
    assert last_result(client, door) == "canvassed"


def _state(db_session, *ids):
    db_session.expire_all()
    return [(c.superseded_at, c.conflict_resolved_at, c.conflict_with_id)
            for c in (tenant_row(db_session, Contact, i) for i in ids)]


def test_every_bad_resolution_is_a_clear_4xx_and_changes_nothing(client, db_session, door):
    first, second = conflict_pair(client, door)
    before = _state(db_session, first["id"], second["id"])
    other_org = make_org(db_session)
    foreign_lead = make_user(db_session, org=other_org, roles=["field_lead"])

    # another organization's lead: the conflict does not exist for them
    assert_error(resolve(client, door, second["id"], {"keep_contact_id": second["id"]},
                         headers=auth_header(db_session, foreign_lead)), 404, "conflict_not_found")
    # a contact that is not in conflict (the earlier, standing one), and one that does not exist
    assert_error(resolve(client, door, first["id"], {"keep_contact_id": first["id"]}), 404, "conflict_not_found")
    assert_error(resolve(client, door, 2**62, {"keep_contact_id": first["id"]}), 404, "conflict_not_found")
    # keep a contact that is not one of the two
    (third,) = sync(client, door, door.a, door.item(at(12), household=door.canvass.households[1]))
    assert_error(resolve(client, door, second["id"], {"keep_contact_id": third["id"]}), 422, "not_in_this_conflict")
    # wrong types and shapes
    for body in ({"keep_contact_id": str(first["id"])}, {"keep_contact_id": None}, {}, {"keep_contact_id": 1.5},
                 {"keep_contact_id": first["id"], "extra": 1}, {"keep_contact_id": 0}):
        assert_error(resolve(client, door, second["id"], body), 422, "validation_failed")
    # a canvasser may not resolve
    assert_error(resolve(client, door, second["id"], {"keep_contact_id": second["id"]},
                         headers=door.headers[door.b.id]), 403, "forbidden")
    assert _state(db_session, first["id"], second["id"]) == before
    assert db_session.execute(select(AuditEvent).where(AuditEvent.action == "contact.conflict_resolved")).first() is None
    # resolved once: the second resolution is refused and changes nothing
    assert resolve(client, door, second["id"], {"keep_contact_id": first["id"]}).status_code == 200
    after = _state(db_session, first["id"], second["id"])
    assert_error(resolve(client, door, second["id"], {"keep_contact_id": second["id"]}), 409,
                 "conflict_already_resolved")
    assert _state(db_session, first["id"], second["id"]) == after


def test_the_conflict_list_is_for_leads_of_the_organization_and_pages_by_id(client, db_session, door):
    ids = []
    for household in door.canvass.households:
        sync(client, door, door.a, door.item(at(10), household=household, result_code="refused"))
        (second,) = sync(client, door, door.b, door.item(at(11), household=household, result_code="moved"))
        ids.append(second["id"])
    first_page = conflicts(client, door, limit=2)
    assert [c["id"] for c in first_page["data"]] == sorted(ids, reverse=True)[:2]
    rest = conflicts(client, door, limit=2, cursor=first_page["next_cursor"])
    assert [c["id"] for c in rest["data"]] == sorted(ids, reverse=True)[2:]
    assert_error(client.get("/v1/contacts/conflicts", headers=door.headers[door.a.id]), 403, "forbidden")
    foreign_lead = make_user(db_session, org=make_org(db_session), roles=["field_lead"])
    other = client.get("/v1/contacts/conflicts", headers=auth_header(db_session, foreign_lead)).get_json()
    assert other["data"] == []
    for bad in ({"status": "maybe"}, {"limit": 0}, {"cursor": "x"}):
        assert_error(client.get("/v1/contacts/conflicts", query_string=bad, headers=door.lead_headers),
                     422, "validation_failed")


# --- the race: two conflicting uploads at the same moment ------------------------------------


@pytest.fixture(autouse=False)
def _valid_session_mode(committing_app):
    from api.extensions import db

    with committing_app.app_context():
        db.session.remove()
        db.session.configure(join_transaction_mode="conditional_savepoint")


def test_two_conflicting_uploads_at_once_are_both_stored_and_exactly_one_is_flagged(committing_app, _valid_session_mode):
    from api.extensions import db

    with committing_app.app_context():
        door = Door(db.session)
        ids = {"org": door.canvass.org.id, "a": door.a.id, "b": door.b.id}
        items = {door.a.id: door.item(at(10), result_code="refused"), door.b.id: door.item(at(10), result_code="moved")}
        db.session.commit()
    def upload(session, user_id):
        return sync_service.sync_field_work(session, organization_id=ids["org"], canvasser_id=user_id, device_id="p",
                                            contacts=[items[user_id]], pledges=[], max_items=500)

    def second():
        with committing_app.app_context():
            with Session(db.engine) as session:
                stored = upload(session, ids["b"])
                session.commit()
                return stored

    (a,), (b,) = hold_while(committing_app, lambda session: upload(session, ids["a"]), second)
    assert (a.status, b.status) == ("created", "created")
    assert (a.conflict, b.conflict) == (None, True)  # the one that waited sees the other and is flagged
    with committing_app.app_context():
        rows = db.session.execute(select(Contact).order_by(Contact.id)).scalars().all()
        assert sorted((c.id, c.conflict_with_id) for c in rows) == sorted([(a.id, None), (b.id, a.id)])
