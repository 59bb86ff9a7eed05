"""Retries racing their original upload, on real commits from separate connections."""
import threading
import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.canvassing import sync
from canvass.canvassing.records import Contact, Pledge
from canvass.people.models import Person
from tests.canvass.canvassing.fieldwork import contact, count, make_canvass, pledge
from tests.concurrency import run_at_once


@pytest.fixture(autouse=True)
def _valid_session_mode(committing_app):
    """tests/conftest.py's db_session teardown leaves join_transaction_mode="conservative_savepoint",
    which SQLAlchemy 2.1 rejects when the next session is made; put back its default."""
    from api.extensions import db

    with committing_app.app_context():
        db.session.remove()
        db.session.configure(join_transaction_mode="conditional_savepoint")


def committed_canvass(app, doors=3):
    from api.extensions import db

    with app.app_context():
        canvass = make_canvass(db.session, doors=doors)
        db.session.commit()
        # Load what the item builders read, so it outlives this session.
        for row in (canvass.org, canvass.canvasser, canvass.campaign, canvass.assignment, *canvass.households):
            db.session.refresh(row)
        ids = {
            "org": canvass.org.id, "canvasser": canvass.canvasser.id, "headers": canvass.headers,
            "people": count(db.session, Person),
        }
        return canvass, ids


def test_two_identical_batches_racing_store_each_item_once_and_answer_consistently(committing_app):
    canvass, ids = committed_canvass(committing_app, doors=10)
    with committing_app.app_context():
        body = {
            "device_id": "phone-1",
            "contacts": [contact(canvass, household=canvass.households[i % 10]) for i in range(150)],
            "pledges": [pledge(canvass, person={"first_name": f"New{i}", "last_name": "Member"}) for i in range(20)],
        }
    def upload():
        with committing_app.test_client() as client:
            response = client.post("/v1/sync", json=body, headers=ids["headers"])
            return response.status_code, response.get_json()

    answers = run_at_once(upload, upload, timeout=60)
    assert [status for status, _ in answers] == [200, 200], answers
    first, second = (body_["results"] for _, body_ in answers)
    for a, b in zip(first, second):
        assert a["client_id"] == b["client_id"] and a["id"] == b["id"]
        assert {a["status"], b["status"]} == {"created", "duplicate"}
    from api.extensions import db

    with committing_app.app_context():
        assert (count(db.session, Contact), count(db.session, Pledge)) == (150, 20)
        assert count(db.session, Person) == ids["people"] + 20


def _wait_until_blocked(engine, pid: int, timeout: float = 10.0) -> None:
    with engine.connect() as probe:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = probe.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar()
            if waiting == "Lock":
                return
            probe.rollback()
            time.sleep(0.02)
    raise AssertionError("the racing upload never waited on the first one's rows")


@pytest.mark.parametrize("contacts, cards", [(3, 0), (0, 2)])
def test_a_retry_that_waits_on_the_uncommitted_original_answers_duplicate_and_leaves_no_stray_person(
    committing_app, contacts, cards
):
    """The unique constraint decides, not the read before it: both uploads pass the
    'already stored?' check, the second then waits on the first's rows and inserts nothing."""
    from api.extensions import db

    canvass, ids = committed_canvass(committing_app)
    with committing_app.app_context():
        engine = db.engine
        items = [contact(canvass) for _ in range(contacts)]
        cards = [pledge(canvass, person={"first_name": "Brand", "last_name": "New", "phone": "3125550123"})
                 for _ in range(cards)]

    def upload(session):
        return sync.sync_field_work(session, organization_id=ids["org"], canvasser_id=ids["canvasser"],
                                    device_id="phone", contacts=items, pledges=cards, max_items=500)

    original, retry = Session(engine), Session(engine)
    try:
        stored = upload(original)  # not committed yet
        retry_pid = retry.execute(text("SELECT pg_backend_pid()")).scalar_one()
        outcome = {}
        worker = threading.Thread(target=lambda: outcome.update(results=upload(retry)))
        worker.start()
        _wait_until_blocked(engine, retry_pid)
        original.commit()
        worker.join(timeout=30)
        retry.commit()
    finally:
        original.close()
        retry.close()
    assert [r.status for r in stored] == ["created"] * (len(items) + len(cards))
    assert [(r.status, r.id) for r in outcome["results"]] == [("duplicate", r.id) for r in stored]
    with committing_app.app_context():
        assert (count(db.session, Contact), count(db.session, Pledge)) == (len(items), len(cards))
        # The retry created "Brand New" before its cards lost the race; that person is gone again.
        assert count(db.session, Person) == ids["people"] + (1 if cards else 0)


def test_client_ids_are_unique_per_organization_not_globally(committing_app):
    from api.extensions import db

    first, first_ids = committed_canvass(committing_app)
    second, second_ids = committed_canvass(committing_app)
    shared = str(uuid.uuid4())
    with committing_app.test_client() as client:
        a = client.post("/v1/sync", json={"contacts": [contact(first, client_id=shared)]}, headers=first_ids["headers"])
        b = client.post("/v1/sync", json={"contacts": [contact(second, client_id=shared)]}, headers=second_ids["headers"])
    assert [a.get_json()["results"][0]["status"], b.get_json()["results"][0]["status"]] == ["created", "created"]
    with committing_app.app_context():
        assert count(db.session, Contact) == 2
