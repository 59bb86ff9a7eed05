"""POST /v1/sync: the phone's offline upload, per CONTRACT.md."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from canvass import jobs as job_requests
from canvass.canvassing.records import Contact, Pledge
from canvass.geo.models import Household
from canvass.people.models import Person
from tests.asserts import assert_error
from tests.canvass.canvassing.fieldwork import contact, count, counts, iso, make_canvass, minutes_ago, pledge
from tests.factories import (
    auth_header,
    make_assignment,
    make_household,
    make_org,
    make_person,
    make_turf,
    make_user,
    tenant_row,
)


@pytest.fixture
def canvass(db_session):
    return make_canvass(db_session)


def sync(client, canvass, contacts=(), pledges=(), **body):
    response = client.post(
        "/v1/sync", json={"device_id": "phone-7", "contacts": list(contacts), "pledges": list(pledges), **body},
        headers=canvass.headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def statuses(results):
    return [r["status"] for r in results]


def the_error(result):
    assert result["status"] == "rejected", result
    assert set(result["error"]) == {"code", "message", "details"}
    return result["error"]


def test_sync_stores_each_item_and_answers_created_in_order_contacts_then_pledges(client, canvass, db_session):
    items = [contact(canvass), contact(canvass, household=canvass.households[1], result_code="refused")]
    cards = [pledge(canvass)]
    results = sync(client, canvass, items, cards)
    assert [(r["client_id"], r["kind"], r["status"]) for r in results] == [
        (items[0]["client_id"], "contact", "created"),
        (items[1]["client_id"], "contact", "created"),
        (cards[0]["client_id"], "pledge", "created"),
    ]
    stored = db_session.execute(select(Contact).where(Contact.id == results[0]["id"])).scalar_one()
    assert (stored.client_id, stored.canvasser_id, stored.campaign_id, stored.device_id) == (
        uuid.UUID(items[0]["client_id"]), canvass.canvasser.id, canvass.campaign.id, "phone-7",
    )
    assert stored.occurred_at == datetime.fromisoformat(items[0]["occurred_at"])
    assert stored.occurred_at.utcoffset() == timedelta(0)  # stored in UTC
    assert tenant_row(db_session, Pledge, results[2]["id"]).source == "door"


def test_retry_after_a_lost_response_answers_duplicate_with_the_first_ids_and_stores_once(client, canvass, db_session):
    items, cards = [contact(canvass), contact(canvass)], [pledge(canvass)]
    first = sync(client, canvass, items, cards)
    retry = sync(client, canvass, items, cards)
    assert statuses(retry) == ["duplicate"] * 3
    assert [r["id"] for r in retry] == [r["id"] for r in first]
    assert counts(db_session) == (2, 1)
    assert count(db_session, Person) == 3 + 1  # the card's new person was created once


def test_retry_is_duplicate_even_after_the_lease_ended(client, canvass, db_session):
    item = contact(canvass)
    first = sync(client, canvass, [item])
    canvass.assignment.status, canvass.assignment.ended_at = "released", datetime.now(UTC) - timedelta(minutes=20)
    db_session.flush()
    assert sync(client, canvass, [item]) == [{**first[0], "status": "duplicate"}]


def test_same_client_id_twice_in_one_batch_is_stored_once(client, canvass, db_session):
    item = contact(canvass)
    results = sync(client, canvass, [item, dict(item)])
    assert statuses(results) == ["created", "duplicate"]
    assert results[0]["id"] == results[1]["id"]
    assert count(db_session, Contact) == 1


def test_one_bad_item_among_499_good_is_rejected_and_the_others_are_stored(client, canvass, db_session):
    items = [contact(canvass, household=canvass.households[i % 3]) for i in range(499)]
    items.insert(250, contact(canvass, client_id="not-a-uuid"))
    results = sync(client, canvass, items)
    assert statuses(results).count("created") == 499
    error = the_error(results[250])
    assert error["code"] == "validation_failed" and "client_id" in error["details"]
    assert results[250]["client_id"] == "not-a-uuid"
    assert count(db_session, Contact) == 499


def test_501_items_is_413_and_nothing_is_stored(client, canvass, db_session):
    response = client.post(
        "/v1/sync", json={"contacts": [contact(canvass) for _ in range(401)], "pledges": [pledge(canvass) for _ in range(100)]},
        headers=canvass.headers,
    )
    error = assert_error(response, 413, "batch_too_large")
    assert error["details"] == {"max_items": 500, "items": 501}
    assert counts(db_session) == (0, 0)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"client_id": "12345"}, "client_id"),
        ({"client_id": 12345}, "client_id"),
        ({"occurred_at": "2026-11-21T14:03:00"}, "occurred_at"),  # no offset
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "1970-01-01T00:00:00+00:00"}, "occurred_at"),  # a phone clock reset
        ({"household_id": "12"}, "household_id"),
        ({"assignment_id": ...}, "assignment_id"),
        ({"result_code": "canvassed"}, "result_code"),
        ({"result_code": "not_home", "responses": [{"question_id": 1, "answer": True}]}, "responses"),
        ({"result_code": None}, "result_code"),  # neither result nor responses
        ({"location": {"lat": 141, "lon": -87.7}}, "location"),
        ({"notes": "x" * 2001}, "notes"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_malformed_item_is_rejected_naming_the_field_and_the_rest_is_stored(client, canvass, db_session, change, field):
    good, bad = contact(canvass), contact(canvass, **change)
    results = sync(client, canvass, [bad, good])
    error = the_error(results[0])
    assert error["code"] == "validation_failed"
    assert field in error["details"]
    assert results[1]["status"] == "created"
    assert count(db_session, Contact) == 1


def test_item_that_is_not_an_object_is_rejected_alone(client, canvass, db_session):
    results = sync(client, canvass, [None, "x", contact(canvass)])
    assert [r["client_id"] for r in results[:2]] == [None, None]
    assert [the_error(r)["code"] for r in results[:2]] == ["validation_failed"] * 2
    assert results[2]["status"] == "created"


@pytest.mark.parametrize("minutes_ahead, status", [(30, "rejected"), (2, "created")])
def test_occurred_at_in_the_future_beyond_clock_skew_is_rejected(client, canvass, minutes_ahead, status):
    results = sync(client, canvass, [contact(canvass, occurred_at=minutes_ago(-minutes_ahead))])
    assert results[0]["status"] == status
    if status == "rejected":
        assert the_error(results[0])["code"] == "occurred_in_future"


def test_result_code_the_campaign_does_not_allow_is_rejected(client, db_session):
    canvass = make_canvass(db_session, result_codes=["not_home", "refused"])
    results = sync(client, canvass, [contact(canvass, result_code="moved"), contact(canvass, result_code="refused")])
    assert the_error(results[0])["code"] == "result_code_not_allowed"
    assert results[1]["status"] == "created"


def test_another_organizations_household_is_not_found(client, canvass, db_session):
    foreign = make_household(db_session, org=make_org(db_session))
    results = sync(client, canvass, [contact(canvass, household_id=foreign.id)])
    assert the_error(results[0])["code"] == "household_not_found"


def test_another_organizations_assignment_is_not_found(client, canvass, db_session):
    other = make_canvass(db_session)
    results = sync(client, canvass, [contact(canvass, assignment_id=other.assignment.id)])
    assert the_error(results[0])["code"] == "assignment_not_found"


def test_door_outside_the_canvassers_turfs_is_not_assigned(client, canvass, db_session):
    elsewhere = make_household(db_session, org=canvass.org)
    results = sync(client, canvass, [contact(canvass, household_id=elsewhere.id)])
    error = the_error(results[0])
    assert error["code"] == "not_assigned" and "household_id" in error["details"]


def test_another_canvassers_assignment_is_not_assigned(client, canvass, db_session):
    colleague = make_user(db_session, org=canvass.org, roles=["canvasser"])
    turf = make_turf(db_session, org=canvass.org, households=[make_household(db_session, org=canvass.org)])
    theirs = make_assignment(db_session, org=canvass.org, turf=turf, canvasser=colleague, campaign=canvass.campaign)
    results = sync(client, canvass, [contact(canvass, assignment_id=theirs.id, household_id=turf_household(db_session, turf))])
    assert the_error(results[0])["code"] == "not_assigned"


def turf_household(session, turf):
    return session.execute(text("SELECT household_id FROM turf_stops WHERE turf_id = :t"), {"t": turf.id}).scalar_one()


def test_work_done_before_the_lease_expired_is_accepted_after_it(client, db_session):
    canvass = make_canvass(db_session)
    now = datetime.now(UTC)
    canvass.assignment.leased_at, canvass.assignment.leased_until = now - timedelta(hours=80), now - timedelta(hours=8)
    canvass.assignment.status, canvass.assignment.ended_at = "expired", now - timedelta(hours=7)
    db_session.flush()
    inside = contact(canvass, occurred_at=iso(now - timedelta(hours=9)))
    after = contact(canvass, occurred_at=iso(now - timedelta(hours=2)))
    before = contact(canvass, occurred_at=iso(now - timedelta(hours=90)))
    results = sync(client, canvass, [inside, after, before])
    assert results[0]["status"] == "created"
    assert [the_error(r)["code"] for r in results[1:]] == ["not_assigned", "not_assigned"]
    assert "occurred_at" in results[1]["error"]["details"]


def test_work_after_an_early_release_is_not_assigned(client, canvass, db_session):
    canvass.assignment.status = "released"
    canvass.assignment.ended_at = datetime.now(UTC) - timedelta(minutes=30)
    db_session.flush()
    results = sync(client, canvass, [contact(canvass, occurred_at=minutes_ago(40)), contact(canvass, occurred_at=minutes_ago(10))])
    assert statuses(results) == ["created", "rejected"]


def test_a_conversation_stores_responses_validated_against_the_campaigns_questions(client, canvass, db_session):
    q = canvass.questions
    answers = [
        {"question_id": q["choice"], "answer": "Okafor"},
        {"question_id": q["scale"], "answer": 5},
        {"question_id": q["yes_no"], "answer": True},
        {"question_id": q["text"], "answer": "Wants a speed bump"},
    ]
    results = sync(client, canvass, [contact(canvass, result_code=..., responses=answers)])
    stored = tenant_row(db_session, Contact, results[0]["id"])
    assert (stored.result_code, stored.responses) == (None, answers)


@pytest.mark.parametrize(
    "kind, answer",
    [("choice", "Nobody"), ("scale", 6), ("scale", 0), ("scale", True), ("yes_no", "yes"), ("text", "  "), ("unknown", 1)],
)
def test_an_answer_that_does_not_fit_its_question_is_rejected(client, canvass, db_session, kind, answer):
    question_id = canvass.questions.get(kind, 999_999)
    results = sync(client, canvass, [contact(canvass, result_code=..., responses=[{"question_id": question_id, "answer": answer}])])
    error = the_error(results[0])
    assert error["code"] == "invalid_responses"
    assert "0" in error["details"]["responses"]
    assert count(db_session, Contact) == 0


def test_a_question_of_another_campaign_is_rejected(client, canvass, db_session):
    other = make_canvass(db_session, org=canvass.org)
    answers = [{"question_id": other.questions["yes_no"], "answer": True}]
    results = sync(client, canvass, [contact(canvass, result_code=..., responses=answers)])
    assert the_error(results[0])["code"] == "invalid_responses"


def test_person_must_live_in_the_contacts_household(client, canvass, db_session):
    results = sync(client, canvass, [
        contact(canvass, person_id=canvass.people[1].id),
        contact(canvass, person_id=make_person(db_session, org=make_org(db_session)).id),
        contact(canvass, person_id=canvass.people[0].id),
    ])
    assert [r["status"] == "rejected" and r["error"]["code"] for r in results] == [
        "person_not_in_household", "person_not_found", False,
    ]


def test_a_merged_persons_id_credits_the_person_they_were_merged_into(client, canvass, db_session):
    survivor = make_person(db_session, org=canvass.org, household=canvass.households[0])
    canvass.people[0].merged_into_id = survivor.id
    db_session.flush()
    results = sync(client, canvass, [contact(canvass, person_id=canvass.people[0].id)])
    assert tenant_row(db_session, Contact, results[0]["id"]).person_id == survivor.id


def test_door_results_update_people_and_households(client, canvass, db_session):
    h0, h1, h2 = canvass.households
    moved, deceased = canvass.people[0], canvass.people[1]
    roommate = make_person(db_session, org=canvass.org, household=h2)
    results = sync(client, canvass, [
        contact(canvass, household=h0, person_id=moved.id, result_code="moved"),
        contact(canvass, household=h1, person_id=deceased.id, result_code="deceased"),
        contact(canvass, household=h2, result_code="moved"),  # nobody named: the listed residents moved
        contact(canvass, household=h1, result_code="wrong_address"),
    ])
    assert statuses(results) == ["created"] * 4
    for row in (moved, deceased, roommate, canvass.people[2], h1):
        db_session.refresh(row)
    assert (moved.residence_current, deceased.deceased) == (False, True)
    assert (roommate.residence_current, canvass.people[2].residence_current) == (False, False)
    assert deceased.residence_current is True
    assert h1.wrong_address is True
    assert tenant_row(db_session, Household, h0.id).wrong_address is False


def test_do_not_contact_marks_the_person_or_else_the_household(client, canvass, db_session):
    person = canvass.people[0]
    sync(client, canvass, [
        contact(canvass, person_id=person.id, result_code="refused", do_not_contact=True),
        contact(canvass, household=canvass.households[1], result_code="refused", do_not_contact=True),
    ])
    db_session.refresh(person)
    assert person.do_not_contact is True
    assert tenant_row(db_session, Household, canvass.households[0].id).do_not_contact is False
    household = tenant_row(db_session, Household, canvass.households[1].id)
    db_session.refresh(household)
    assert household.do_not_contact is True


def test_a_duplicate_does_not_apply_its_door_result_again(client, canvass, db_session):
    person = canvass.people[0]
    item = contact(canvass, person_id=person.id, result_code="moved")
    sync(client, canvass, [item])
    person.residence_current = True  # an organizer found they are back
    db_session.flush()
    assert statuses(sync(client, canvass, [item])) == ["duplicate"]
    db_session.refresh(person)
    assert person.residence_current is True


def test_every_stored_row_carries_id_and_received_at_for_the_pipeline(client, canvass, db_session):
    results = sync(client, canvass, [contact(canvass)], [pledge(canvass)])
    stored = [tenant_row(db_session, Contact, results[0]["id"]), tenant_row(db_session, Pledge, results[1]["id"])]
    assert all(row.id and row.received_at for row in stored)


@pytest.mark.parametrize(
    "body, status, code",
    [
        ("{not json", 400, "malformed_json"),
        ({"contacts": "all of them"}, 422, "validation_failed"),
        ({"contacts": [], "extra": 1}, 422, "validation_failed"),
        ({"device_id": 42}, 422, "validation_failed"),
        ([1, 2], 422, "validation_failed"),
    ],
)
def test_malformed_envelope_is_refused_whole(client, canvass, db_session, body, status, code):
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
    response = client.post("/v1/sync", headers=canvass.headers, **kwargs)
    assert_error(response, status, code)
    assert counts(db_session) == (0, 0)


def test_sync_is_for_canvassers_and_field_leads(client, canvass, db_session):
    organizer = make_user(db_session, org=canvass.org, roles=["organizer"])
    response = client.post("/v1/sync", json={"contacts": [contact(canvass)]}, headers=auth_header(db_session, organizer))
    assert_error(response, 403, "forbidden")
    assert_error(client.post("/v1/sync", json={}), 401, "missing_token")
    assert count(db_session, Contact) == 0


def test_a_field_lead_syncs_their_own_assignment(client, db_session):
    org = make_org(db_session)
    lead = make_user(db_session, org=org, roles=["field_lead"])
    canvass = make_canvass(db_session, org=org, canvasser=lead)
    response = client.post("/v1/sync", json={"contacts": [contact(canvass)]}, headers=auth_header(db_session, lead))
    assert response.get_json()["results"][0]["status"] == "created"


def test_database_failure_mid_batch_stores_nothing_and_the_retry_completes_it(client, canvass, db_session):
    # The contacts insert succeeds, then the wrong_address update fails: the whole batch must go.
    db_session.execute(text(
        "CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk gone'; END $$;"
        "CREATE TRIGGER test_fail BEFORE UPDATE ON households FOR EACH ROW EXECUTE FUNCTION test_fail();"
    ))
    items = [contact(canvass), contact(canvass, household=canvass.households[1], result_code="wrong_address")]
    cards = [pledge(canvass)]
    body = {"contacts": items, "pledges": cards}
    response = client.post("/v1/sync", json=body, headers=canvass.headers)
    assert_error(response, 500, "internal_error")
    assert counts(db_session) == (0, 0)
    assert count(db_session, Person) == 3
    db_session.execute(text("DROP TRIGGER test_fail ON households"))
    retry = client.post("/v1/sync", json=body, headers=canvass.headers).get_json()["results"]
    assert statuses(retry) == ["created"] * 3
    assert counts(db_session) == (2, 1)


@pytest.fixture
def dispatcher_spy():
    """Record job requests, then fail the way a stopped Redis fails."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    previous, requests = job_requests._dispatcher, []

    def dead_redis(batch):
        requests.extend(batch)
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    job_requests.set_job_dispatcher(dead_redis)
    yield requests
    job_requests.set_job_dispatcher(previous)


def rollup_requests(org_id):
    """What one upload asks for: each rollup (member pipeline, dashboard activity) once."""
    return [
        ("rollup_pipeline", f"rollup-pipeline-org-{org_id}", {"organization_id": org_id}),
        ("rollup_activity", f"rollup-activity-org-{org_id}", {"organization_id": org_id}),
    ]


def test_sync_succeeds_with_redis_stopped_and_asks_for_each_rollup_once(client, canvass, db_session, dispatcher_spy):
    results = sync(client, canvass, [contact(canvass) for _ in range(20)], [pledge(canvass)])
    assert statuses(results) == ["created"] * 21
    assert counts(db_session) == (20, 1)  # committed: the pipeline catches up from its watermarks
    assert [(r.name, r.job_id, r.kwargs) for r in dispatcher_spy] == rollup_requests(canvass.org.id)


def test_a_batch_of_duplicates_asks_for_no_rollup(client, canvass, dispatcher_spy):
    items = [contact(canvass)]
    sync(client, canvass, items)
    sync(client, canvass, items)
    assert len(dispatcher_spy) == len(rollup_requests(canvass.org.id))


def test_after_commit_the_rollup_job_is_queued_once_per_organization(client, canvass, worker_runtime):
    from rq.job import Job

    job_ids = [job_id for _, job_id, _ in rollup_requests(canvass.org.id)]
    # Earlier uploads may have queued jobs, and ids repeat once committing tests restart the
    # sequences: a job hash left with this id would coalesce ours away.
    worker_runtime.get_queue().empty()
    worker_runtime.redis_connection().delete(*[Job.key_for(job_id) for job_id in job_ids])
    sync(client, canvass, [contact(canvass)])
    sync(client, canvass, [contact(canvass)])
    assert worker_runtime.get_queue().job_ids == job_ids


def test_with_redis_stopped_the_upload_is_kept_and_the_pipeline_catches_up_when_it_returns(
    client, canvass, db_session, worker_runtime, settings
):
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from canvass.pipeline.runs import last_run_at
    from tests.conftest import run_jobs
    from workers.runtime import enqueue_requests

    stopped = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    job_requests.set_job_dispatcher(lambda batch: enqueue_requests(batch, queue=Queue(settings.queue_name, connection=stopped)))
    try:
        first = sync(client, canvass, [contact(canvass) for _ in range(5)], [pledge(canvass)])
    finally:
        stopped.close()
        job_requests.set_job_dispatcher(lambda batch: enqueue_requests(batch, queue=worker_runtime.get_queue()))
    assert statuses(first) == ["created"] * 6
    assert counts(db_session) == (5, 1)
    # Redis is back: the next upload's rollup also covers the rows whose enqueue was lost.
    queue = worker_runtime.get_queue()
    queue.empty()
    job_ids = [job_id for _, job_id, _ in rollup_requests(canvass.org.id)]
    worker_runtime.redis_connection().delete(*[Job.key_for(job_id) for job_id in job_ids])
    sync(client, canvass, [contact(canvass)])
    assert queue.job_ids == job_ids
    run_jobs(worker_runtime)
    assert last_run_at(db_session, organization_id=canvass.org.id) is not None
    assert queue.failed_job_registry.count == 0
