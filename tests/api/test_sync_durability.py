"""`created` means committed to disk: the sync transaction runs with synchronous_commit on, so
PostgreSQL acknowledges its commit only once the WAL is flushed (CONTRACT.md: "A stored item is
never lost"). Read from inside the transaction that stores the items, just before it commits."""
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.api.test_sync_race import _valid_session_mode, committed_canvass  # noqa: F401  (fixture)
from tests.canvass.canvassing.fieldwork import contact, pledge


def test_the_sync_transaction_commits_with_synchronous_commit_on(committing_app):
    canvass, ids = committed_canvass(committing_app)
    seen = []

    def read_setting(session):
        seen.append(session.connection().exec_driver_sql("SHOW synchronous_commit").scalar_one())

    event.listen(Session, "before_commit", read_setting)
    try:
        with committing_app.app_context(), committing_app.test_client() as client:
            body = {"device_id": "phone-1", "contacts": [contact(canvass)], "pledges": [pledge(canvass)]}
            response = client.post("/v1/sync", json=body, headers=ids["headers"])
    finally:
        event.remove(Session, "before_commit", read_setting)
    assert [r["status"] for r in response.get_json()["results"]] == ["created", "created"]
    assert seen and set(seen) == {"on"}
