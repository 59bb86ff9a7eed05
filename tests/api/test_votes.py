"""Endorsement votes over HTTP: organizers open them, members vote once with their own token,
organizers record ballots at the meeting; results only once closed."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from canvass.db import utcnow
from canvass.pipeline.models import Ballot, Vote
from canvass.pipeline.votes import link_user_to_person
from tests.asserts import assert_error
from tests.canvass.pipeline.builders import dues, resident
from tests.factories import auth_header, make_boundary, make_org, make_user, tenant_row


def iso(moment):
    return moment.isoformat()


@pytest.fixture
def assembly(db_session):
    org = make_org(db_session)
    make_boundary(db_session, org=org, name="33")
    organizer = make_user(db_session, org=org, roles=["organizer"])
    today = utcnow().date()
    members, accounts = [], []
    for n in range(3):
        person = resident(db_session, org, first_name=f"Member{n}")
        dues(db_session, person=person, amount_cents=12000, paid_on=str(today - timedelta(days=30)),
             period_start=str(today - timedelta(days=30)), period_end=str(today + timedelta(days=300)))
        account = make_user(db_session, org=org, roles=["canvasser"])
        link_user_to_person(db_session, organization_id=org.id, person_id=person.id, user_id=account.id)
        members.append(person)
        accounts.append(auth_header(db_session, account))
    outsider = resident(db_session, org, first_name="Outsider")
    outsider_account = make_user(db_session, org=org, roles=["canvasser"])
    link_user_to_person(db_session, organization_id=org.id, person_id=outsider.id, user_id=outsider_account.id)
    return {"org": org, "organizer": auth_header(db_session, organizer), "members": members, "accounts": accounts,
            "outsider": outsider, "outsider_account": auth_header(db_session, outsider_account),
            "unlinked": auth_header(db_session, make_user(db_session, org=org, roles=["canvasser"]))}


def vote_body(**changes):
    now = utcnow()
    body = {"title": "Endorse for alderperson", "scope": "organization",
            "options": ["Rivera", "Chen", "No endorsement"], "cutoff_at": iso(now - timedelta(days=1)),
            "opens_at": iso(now - timedelta(minutes=5)), "closes_at": iso(now + timedelta(hours=2)),
            "quorum_percent": 50}
    body.update(changes)
    return body


def open_vote(client, assembly, **changes):
    response = client.post("/v1/votes", headers=assembly["organizer"], json=vote_body(**changes))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def close(db_session, vote_id):
    vote = tenant_row(db_session, Vote, vote_id)
    vote.closes_at = utcnow() - timedelta(seconds=1)
    db_session.flush()


def test_a_member_votes_once_with_their_own_token(client, assembly, db_session):
    vote = open_vote(client, assembly)
    assert (vote["status"], vote["eligible_count"], vote["ballots_cast"]) == ("open", 3, 0)
    rivera = vote["options"][0]["id"]
    url = f"/v1/votes/{vote['id']}/ballot"
    first = client.post(url, headers=assembly["accounts"][0], json={"option_id": rivera})
    assert first.status_code == 201, first.get_json()
    assert (first.get_json()["method"], first.get_json()["person_id"]) == ("self", assembly["members"][0].id)
    assert_error(client.post(url, headers=assembly["accounts"][0], json={"option_id": rivera}), 409, "already_voted")
    mine = client.get(f"/v1/votes/{vote['id']}", headers=assembly["accounts"][0]).get_json()
    assert mine["mine"] == {"eligible": True, "voted": True} and mine["ballots_cast"] == 1


def test_ineligible_and_unlinked_accounts_get_403(client, assembly, db_session):
    vote = open_vote(client, assembly)
    url, body = f"/v1/votes/{vote['id']}/ballot", {"option_id": vote["options"][0]["id"]}
    assert_error(client.post(url, headers=assembly["outsider_account"], json=body), 403, "not_eligible")
    assert_error(client.post(url, headers=assembly["unlinked"], json=body), 403, "not_eligible")
    assert db_session.execute(select(func.count()).select_from(Ballot)).scalar_one() == 0


def test_a_ballot_after_close_is_409(client, assembly, db_session):
    vote = open_vote(client, assembly)
    close(db_session, vote["id"])
    assert_error(client.post(f"/v1/votes/{vote['id']}/ballot", headers=assembly["accounts"][1],
                             json={"option_id": vote["options"][0]["id"]}), 409, "vote_closed")


def test_a_ballot_before_opening_is_409(client, assembly):
    now = utcnow()
    vote = open_vote(client, assembly, opens_at=iso(now + timedelta(hours=1)), closes_at=iso(now + timedelta(hours=3)))
    assert vote["status"] == "scheduled" and vote["eligible_count"] is None
    assert_error(client.post(f"/v1/votes/{vote['id']}/ballot", headers=assembly["accounts"][1],
                             json={"option_id": vote["options"][0]["id"]}), 409, "vote_not_open")


def test_an_organizer_records_ballots_and_results_come_once_closed(client, assembly, db_session):
    vote = open_vote(client, assembly)
    chen = vote["options"][1]["id"]
    url = f"/v1/votes/{vote['id']}/recorded-ballots"
    for member in assembly["members"][:2]:
        response = client.post(url, headers=assembly["organizer"], json={"option_id": chen, "person_id": member.id})
        assert response.status_code == 201 and response.get_json()["method"] == "recorded"
    assert_error(client.post(url, headers=assembly["organizer"],
                             json={"option_id": chen, "person_id": assembly["outsider"].id}), 403, "not_eligible")
    assert_error(client.get(f"/v1/votes/{vote['id']}/results", headers=assembly["organizer"]), 409, "vote_not_closed")
    eligible = client.get(f"/v1/votes/{vote['id']}/eligibility", headers=assembly["organizer"]).get_json()
    assert sorted(row["voted"] for row in eligible) == [False, True, True]

    close(db_session, vote["id"])
    results = client.get(f"/v1/votes/{vote['id']}/results", headers=assembly["accounts"][2]).get_json()
    assert [(o["label"], o["votes"]) for o in results["options"]] == [("Rivera", 0), ("Chen", 2),
                                                                      ("No endorsement", 0)]
    assert (results["ballots_cast"], results["eligible"], results["turnout"], results["quorum_met"]) == (
        2, 3, 0.6667, True)


def test_only_organizers_open_votes_and_record_ballots(client, assembly):
    assert_error(client.post("/v1/votes", headers=assembly["accounts"][0], json=vote_body()), 403, "forbidden")
    vote = open_vote(client, assembly)
    assert_error(client.post(f"/v1/votes/{vote['id']}/recorded-ballots", headers=assembly["accounts"][0],
                             json={"option_id": vote["options"][0]["id"], "person_id": assembly["members"][1].id}),
                 403, "forbidden")
    assert_error(client.get(f"/v1/votes/{vote['id']}/eligibility", headers=assembly["accounts"][0]), 403,
                 "forbidden")


@pytest.mark.parametrize("changes, status, code", [
    ({"options": ["Only one"]}, 422, "validation_failed"),
    ({"scope": "ward"}, 422, "validation_failed"),
    ({"scope": "ward", "ward": "99"}, 404, "ward_not_found"),
    ({"scope": "precinct"}, 422, "validation_failed"),
    ({"quorum_percent": 150}, 422, "validation_failed"),
    ({"closes_at": "2020-01-01T00:00:00+00:00", "opens_at": "2019-12-01T00:00:00+00:00",
      "cutoff_at": "2019-11-01T00:00:00+00:00"}, 422, "validation_failed"),
    ({"cutoff_at": "2030-01-01T00:00:00"}, 422, "validation_failed"),
    ({"secret": True}, 422, "validation_failed"),
])
def test_impossible_votes_are_refused(client, assembly, db_session, changes, status, code):
    assert_error(client.post("/v1/votes", headers=assembly["organizer"], json=vote_body(**changes)), status, code)
    assert db_session.execute(select(func.count()).select_from(Vote)).scalar_one() == 0


def test_bad_ballots_are_clear_errors(client, assembly, db_session):
    vote = open_vote(client, assembly)
    url = f"/v1/votes/{vote['id']}/ballot"
    assert_error(client.post(url, headers=assembly["accounts"][0], json={"option_id": 10**12}), 422, "unknown_option")
    assert_error(client.post(url, headers=assembly["accounts"][0], json={"option_id": "1"}), 422, "validation_failed")
    assert_error(client.post(url, headers=assembly["accounts"][0], data="{", content_type="application/json"), 400,
                 "malformed_json")
    foreign_org = make_org(db_session)
    foreign_vote = Vote(organization_id=foreign_org.id, title="x", scope="organization", cutoff_at=utcnow(),
                        opens_at=utcnow(), closes_at=utcnow() + timedelta(hours=1), quorum_percent=50)
    db_session.add(foreign_vote)
    db_session.flush()
    assert_error(client.post(f"/v1/votes/{foreign_vote.id}/ballot", headers=assembly["accounts"][0],
                             json={"option_id": 1}), 404, "vote_not_found")
    assert_error(client.get(f"/v1/votes/{foreign_vote.id}/results", headers=assembly["accounts"][0]), 404,
                 "vote_not_found")


def test_votes_are_listed(client, assembly):
    open_vote(client, assembly)
    listed = client.get("/v1/votes", headers=assembly["accounts"][0]).get_json()
    assert [v["title"] for v in listed["data"]] == ["Endorse for alderperson"] and listed["next_cursor"] is None


def test_an_organizer_closes_an_open_vote_early_with_a_reason(client, assembly, db_session):
    from canvass.audit.models import AuditEvent

    vote = open_vote(client, assembly)
    rivera = vote["options"][0]["id"]
    assert client.post(f"/v1/votes/{vote['id']}/ballot", headers=assembly["accounts"][0],
                       json={"option_id": rivera}).status_code == 201
    url = f"/v1/votes/{vote['id']}/close"
    assert_error(client.post(url, headers=assembly["organizer"], json={}), 422, "validation_failed")
    assert_error(client.post(url, headers=assembly["organizer"], json={"reason": " "}), 422, "reason_required")
    assert_error(client.post(url, headers=assembly["accounts"][1], json={"reason": "done"}), 403, "forbidden")
    assert client.get(f"/v1/votes/{vote['id']}", headers=assembly["organizer"]).get_json()["status"] == "open"

    closed = client.post(url, headers=assembly["organizer"], json={"reason": "the meeting voted"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"
    results = client.get(f"/v1/votes/{vote['id']}/results", headers=assembly["organizer"]).get_json()
    assert results["ballots_cast"] == 1
    assert_error(client.post(f"/v1/votes/{vote['id']}/ballot", headers=assembly["accounts"][1],
                             json={"option_id": rivera}), 409, "vote_closed")
    assert_error(client.post(url, headers=assembly["organizer"], json={"reason": "again"}), 409, "vote_closed")
    event = db_session.execute(select(AuditEvent).where(AuditEvent.action == "vote.closed_early")).scalar_one()
    assert (event.target_id, event.details["reason"]) == (str(vote["id"]), "the meeting voted")


def test_a_scheduled_or_foreign_vote_cannot_be_closed(client, assembly, db_session):
    later = utcnow() + timedelta(hours=1)
    scheduled = open_vote(client, assembly, opens_at=iso(later), closes_at=iso(later + timedelta(hours=1)))
    assert_error(client.post(f"/v1/votes/{scheduled['id']}/close", headers=assembly["organizer"],
                             json={"reason": "too early"}), 409, "vote_not_open")
    other_org = make_org(db_session)
    stranger = auth_header(db_session, make_user(db_session, org=other_org, roles=["organizer"]))
    running = open_vote(client, assembly)
    assert_error(client.post(f"/v1/votes/{running['id']}/close", headers=stranger, json={"reason": "mine"}),
                 404, "vote_not_found")
    assert client.get(f"/v1/votes/{running['id']}", headers=assembly["organizer"]).get_json()["status"] == "open"
