"""The ingest service itself: one job request per upload, and a constant number of statements per batch."""
import itertools

import pytest

from canvass.canvassing.sync import enter_paper_pledges, sync_field_work
from canvass.errors import TooLarge
from canvass.jobs import pending_jobs
from tests.canvass.canvassing.fieldwork import contact, make_canvass, pledge


def upload(session, canvass, contacts=(), pledges=(), max_items=500):
    return sync_field_work(session, organization_id=canvass.org.id, canvasser_id=canvass.canvasser.id,
                           device_id="phone", contacts=list(contacts), pledges=list(pledges), max_items=max_items)


def test_a_200_item_upload_requests_each_coalesced_rollup_once_in_its_transaction(db_session):
    canvass = make_canvass(db_session)
    results = upload(db_session, canvass, [contact(canvass) for _ in range(180)], [pledge(canvass) for _ in range(20)])
    assert {r.status for r in results} == {"created"}
    org_id = canvass.org.id
    assert [(j.name, j.job_id, j.kwargs) for j in pending_jobs(db_session)] == [
        ("rollup_pipeline", f"rollup-pipeline-org-{org_id}", {"organization_id": org_id}),
        ("rollup_activity", f"rollup-activity-org-{org_id}", {"organization_id": org_id}),
    ]


def test_an_upload_that_stores_nothing_requests_nothing(db_session):
    canvass = make_canvass(db_session)
    upload(db_session, canvass, [contact(canvass, client_id="bad")])
    assert pending_jobs(db_session) == []


def test_the_size_limit_is_checked_before_anything_else(db_session):
    canvass = make_canvass(db_session)
    with pytest.raises(TooLarge) as caught:
        upload(db_session, canvass, [None] * 3, [None] * 3, max_items=5)
    assert caught.value.code == "batch_too_large"
    with pytest.raises(TooLarge):
        enter_paper_pledges(db_session, organization_id=canvass.org.id, pledges=[None] * 6, max_items=5)


def batch(canvass, size):
    doors = canvass.households
    contacts = [contact(canvass, household=doors[i % len(doors)], person_id=canvass.people[i % len(doors)].id,
                        result_code=("moved" if i % 7 == 0 else "not_home"),
                        location={"lat": 41.95, "lon": -87.71, "accuracy_m": 8}) for i in range(size)]
    pledges = [pledge(canvass, person={"first_name": f"New{next(_people)}", "last_name": "Person",
                                       "phone": f"312{next(_people):07d}"}) for _ in range(size // 10)]
    return contacts, pledges


_people = itertools.count(1)


def test_statements_per_upload_do_not_grow_with_the_batch(db_session, statements):
    canvass = make_canvass(db_session, doors=5)
    upload(db_session, canvass, *batch(canvass, 10))  # warm-up: first-use lookups of the connection
    statements.clear()
    upload(db_session, canvass, *batch(canvass, 10))
    small = len(statements)
    statements.clear()
    upload(db_session, canvass, *batch(canvass, 200))
    assert len(statements) == small
    statements.clear()
    upload(db_session, canvass, *batch(canvass, 200))  # a fresh batch again...
    resent = batch(canvass, 200)
    upload(db_session, canvass, *resent)
    statements.clear()
    upload(db_session, canvass, *resent)  # ...and a resend of it: two lookups, nothing else
    assert len(statements) == 2
