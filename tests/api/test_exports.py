"""Exports: streamed CSV and OSDI canvasses, filters, do-not-contact, the audit trail, bad input."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from canvass.audit.models import AuditEvent
from canvass.geo.models import Household
from canvass.people.models import Person
from canvass.pipeline.dues import record_payment
from canvass.pipeline.rollup import refresh_pipeline
from tests.asserts import assert_error
from tests.canvass.dashboards.fieldwork import add_contact, add_pledge, at, make_ward
from tests.factories import auth_header, make_campaign, make_org, make_user, org_today


@pytest.fixture
def ward(db_session):
    ward = make_ward(db_session)
    add_contact(db_session, ward, turf=0, door=0, when=at(20, 10), notes='said "maybe", call back\nafter 6')
    add_contact(db_session, ward, turf=0, door=1, when=at(21, 10), talked=True)
    add_contact(db_session, ward, turf=1, door=0, when=at(22, 10))
    add_pledge(db_session, ward, turf=0, door=1, when=at(21, 10))
    return ward


def export(client, db_session, user, kind, **query):
    response = client.get(f"/v1/exports/{kind}", query_string=query, headers=auth_header(db_session, user))
    body = response.get_data()
    response.close()
    return response, body


def rows(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def audit_events(db_session, org_id):
    return list(db_session.execute(
        select(AuditEvent).where(AuditEvent.organization_id == org_id, AuditEvent.action.like("export.%"))
        .order_by(AuditEvent.id)
    ).scalars())


def test_contacts_export_is_a_csv_in_id_order_with_quoting_intact(client, db_session, ward):
    response, body = export(client, db_session, ward.organizer, "contacts")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'filename="contacts-' in response.headers["Content-Disposition"]
    data = rows(body)
    assert [int(r["id"]) for r in data] == sorted(int(r["id"]) for r in data) and len(data) == 3
    assert data[0]["notes"] == 'said "maybe", call back\nafter 6'
    assert data[0]["ward"] == "33" and data[0]["campaign"] == "Fall canvass" and data[0]["result"] == "not_home"
    assert data[0]["occurred_at"] == "2026-11-20T16:00:00+00:00"
    assert data[1]["result"] == "canvassed" and json.loads(data[1]["responses"])[0]["answer"] is True


def test_contacts_export_filters_by_dates_ward_and_campaign(client, db_session, ward):
    other = make_campaign(db_session, org=ward.org)
    add_contact(db_session, ward, turf=1, door=1, when=at(22, 11), campaign=other)
    _, body = export(client, db_session, ward.organizer, "contacts", **{"from": "2026-11-21", "to": "2026-11-22"})
    assert [r["occurred_at"][:10] for r in rows(body)] == ["2026-11-21", "2026-11-22", "2026-11-22"]
    _, body = export(client, db_session, ward.organizer, "contacts", campaign_id=other.id, ward="33")
    assert [r["campaign_id"] for r in rows(body)] == [str(other.id)]


def test_do_not_contact_people_and_households_are_left_out_of_contact_lists(client, db_session, ward):
    person = ward.people[ward.doors[0][1].id]
    db_session.execute(update(Person).where(Person.id == person.id).values(do_not_contact=True))
    db_session.execute(update(Household).where(Household.id == ward.doors[1][0].id).values(do_not_contact=True))
    add_contact(db_session, ward, turf=0, door=2, when=at(22), do_not_contact=True)
    _, body = export(client, db_session, ward.organizer, "contacts")
    assert [r["household_id"] for r in rows(body)] == [str(ward.doors[0][0].id)]
    _, body = export(client, db_session, ward.organizer, "pledges")
    assert rows(body) == []  # the only card is the do-not-contact person's
    _, body = export(client, db_session, ward.organizer, "canvasses")
    assert json.loads(body)["total_records"] == 1


def test_people_export_marks_do_not_contact_and_blanks_their_phone_and_email(client, db_session, ward):
    marked = ward.people[ward.doors[0][1].id]
    db_session.execute(update(Person).where(Person.organization_id == ward.org.id)
                       .values(phone="13125550100", email="someone@example.org"))
    db_session.execute(update(Person).where(Person.id == marked.id).values(do_not_contact=True))
    admin = make_user(db_session, org=ward.org, roles=["admin"])
    _, body = export(client, db_session, admin, "people")
    by_id = {int(r["id"]): r for r in rows(body)}
    assert len(by_id) == 8
    assert (by_id[marked.id]["do_not_contact"], by_id[marked.id]["phone"], by_id[marked.id]["email"]) == ("t", "", "")
    other = by_id[ward.people[ward.doors[0][0].id].id]
    assert (other["do_not_contact"], other["phone"]) == ("f", "13125550100")


def test_people_export_changed_since_gives_only_what_changed(client, db_session, ward):
    response, _ = export(client, db_session, ward.organizer, "people")
    next_since = datetime.fromisoformat(response.headers["X-Next-Changed-Since"])
    # Everything so far was written before the overlap window starts: push it back in time.
    db_session.execute(text("UPDATE people SET updated_at = now() - interval '1 day' WHERE organization_id = :org"),
                       {"org": ward.org.id})
    db_session.execute(text("UPDATE households SET updated_at = now() - interval '1 day' WHERE organization_id = :org"),
                       {"org": ward.org.id})
    changed = ward.people[ward.doors[1][3].id]
    db_session.execute(text("UPDATE people SET first_name = 'Renamed', updated_at = now() WHERE id = :id"),
                       {"id": changed.id})
    _, body = export(client, db_session, ward.organizer, "people", changed_since=next_since.isoformat())
    assert [int(r["id"]) for r in rows(body)] == [changed.id]


def test_pledges_export_takes_the_persons_household_when_the_card_has_none(client, db_session, ward):
    add_pledge(db_session, ward, turf=1, door=3, when=at(22), with_household=False, pledge_type="volunteer")
    _, body = export(client, db_session, ward.organizer, "pledges", ward="33")
    volunteer = [r for r in rows(body) if r["pledge_type"] == "volunteer"]
    assert volunteer[0]["household_id"] == str(ward.doors[1][3].id) and volunteer[0]["ward"] == "33"


def test_members_export_lists_standing(awkward_clock, client, db_session, ward):
    member = ward.people[ward.doors[0][0].id]
    today = org_today(ward.org)
    record_payment(db_session, organization_id=ward.org.id, person_id=member.id, amount_cents=1000,
                   paid_on=today - timedelta(days=3), method="cash", period_start=today - timedelta(days=3),
                   period_end=today + timedelta(days=27))
    refresh_pipeline(db_session, organization_id=ward.org.id, mode="full")
    _, body = export(client, db_session, ward.organizer, "members")
    (row,) = rows(body)
    assert (int(row["person_id"]), row["status"], row["may_vote"]) == (member.id, "member", "t")


def test_osdi_canvasses_embed_answers_target_and_canvasser(client, db_session, ward):
    response, body = export(client, db_session, ward.organizer, "canvasses")
    assert response.headers["Content-Type"] == "application/hal+json"
    document = json.loads(body)
    canvasses = document["_embedded"]["osdi:canvasses"]
    assert document["total_records"] == len(canvasses) == 3
    talked = canvasses[1]
    assert talked["success"] is True and talked["status_code"] == ""
    assert talked["_embedded"]["osdi:answers"][0]["responses"] == [True]
    assert talked["_embedded"]["osdi:answers"][0]["question"]["title"] == "Will you vote?"
    target = ward.people[ward.doors[0][1].id]
    assert talked["_embedded"]["osdi:target"]["identifiers"] == [f"canvass:person-{target.id}"]
    assert canvasses[0]["status_code"] == "not-home" and canvasses[0]["success"] is False


def test_every_export_is_audited_with_who_what_filter_and_how_many_rows(client, db_session, ward):
    export(client, db_session, ward.organizer, "contacts", ward="33", **{"from": "2026-11-21"})
    started, finished = audit_events(db_session, ward.org.id)
    assert (started.action, finished.action) == ("export.started", "export.finished")
    assert started.actor_user_id == finished.actor_user_id == ward.organizer.id
    assert started.details["filters"] == {"ward": "33", "from": "2026-11-21"}
    assert finished.details["rows"] == 2 and finished.details["complete"] is True
    assert finished.details["started_event_id"] == started.id


def test_a_stream_the_client_abandons_is_still_audited(client, db_session, ward):
    db_session.execute(text("""
        INSERT INTO contacts (organization_id, client_id, campaign_id, household_id, occurred_at, result_code, notes)
        SELECT :org, gen_random_uuid(), :campaign, :household, now(), 'not_home', repeat('x', 200)
        FROM generate_series(1, 2000)
    """), {"org": ward.org.id, "campaign": ward.campaign.id, "household": ward.doors[0][2].id})
    response = client.get("/v1/exports/contacts", headers=auth_header(db_session, ward.organizer), buffered=False)
    first = next(response.response)
    assert first.startswith(b"id,client_id")
    response.close()
    finished = audit_events(db_session, ward.org.id)[-1]
    assert finished.action == "export.finished" and finished.details["complete"] is False
    assert 0 < finished.details["rows"] < 2003


def test_organization_sees_only_its_own_rows_even_as_a_coalition(client, db_session, ward):
    coalition = make_org(db_session)
    db_session.execute(text("UPDATE organizations SET parent_id = :parent WHERE id = :org"),
                       {"parent": coalition.id, "org": ward.org.id})
    organizer = make_user(db_session, org=coalition, roles=["organizer"])
    for kind in ("contacts", "pledges", "people", "members"):
        _, body = export(client, db_session, organizer, kind)
        assert rows(body) == []
    _, body = export(client, db_session, organizer, "canvasses")
    assert json.loads(body)["total_records"] == 0


@pytest.mark.parametrize("kind", ["contacts", "pledges", "people", "members", "canvasses"])
def test_canvassers_and_leads_may_not_export(client, db_session, ward, kind):
    for user in (ward.canvassers[0], ward.lead):
        response, _ = export(client, db_session, user, kind)
        assert_error(response, 403, "forbidden")
    assert audit_events(db_session, ward.org.id) == []


@pytest.mark.parametrize("kind", ["contacts", "people", "canvasses"])
def test_bad_filters_are_refused_before_anything_streams(client, db_session, ward, kind):
    foreign = make_ward(db_session, ward_name="44")
    cases = [
        ({"from": "2026-11-22", "to": "2026-11-01"}, 422, "invalid_date_range"),
        ({"from": "soon"}, 422, "validation_failed"),
        ({"ward": "44"}, 404, "ward_not_found"),
        ({"campaign_id": foreign.campaign.id}, 404, "campaign_not_found"),
        ({"changed_since": "2026-11-20T10:00:00"}, 422, "validation_failed"),  # no offset
        ({"limit": 10}, 422, "validation_failed"),
    ]
    for query, status, code in cases:
        response, _ = export(client, db_session, ward.organizer, kind, **query)
        assert_error(response, status, code)
    assert audit_events(db_session, ward.org.id) == []


def test_unknown_export_kind_is_not_found(client, db_session, ward):
    response, _ = export(client, db_session, ward.organizer, "households")
    assert_error(response, 404, "not_found")


def test_next_changed_since_overlaps_the_export(client, db_session, ward):
    before = datetime.now(UTC)
    response, _ = export(client, db_session, ward.organizer, "contacts")
    next_since = datetime.fromisoformat(response.headers["X-Next-Changed-Since"])
    assert next_since <= before - timedelta(minutes=5)
