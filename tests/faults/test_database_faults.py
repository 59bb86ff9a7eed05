"""PostgreSQL crashing under the API: what was acknowledged survives, and while it is down the
API says 503 (retry) rather than 500. Against a cluster of the tests' own (tests/faults/services.py),
made and restarted by scripts/bootstrap.sh, killed with `pg_ctl stop -m immediate`."""
from __future__ import annotations

import psycopg
from sqlalchemy import select

from canvass.canvassing.records import Contact
from tests.asserts import assert_error
from tests.canvass.canvassing.fieldwork import contact, make_canvass


def seed(app, doors=3):
    from api.extensions import db

    with app.app_context():
        canvass = make_canvass(db.session, doors=doors)
        db.session.commit()
        for row in (canvass.assignment, *canvass.households):
            db.session.refresh(row)
        return canvass


def synchronous_commit(pg_cluster) -> str:
    with psycopg.connect(pg_cluster.url("canvass_faults")) as conn:
        return conn.execute("SHOW synchronous_commit").fetchone()[0]


def test_a_cluster_made_by_an_older_bootstrap_commits_durably_after_the_next_start(pg_cluster, fault_database_url):
    # What bootstraps before issue 10 wrote; removed (and reloaded) when `make run` finds it running...
    pg_cluster.append_conf("synchronous_commit = off")
    pg_cluster.start()
    assert synchronous_commit(pg_cluster) == "on"
    # ...and removed before starting a stopped one.
    pg_cluster.crash()
    pg_cluster.append_conf("synchronous_commit = off")
    pg_cluster.start()
    assert "Removing 'synchronous_commit = off'" in pg_cluster.log
    assert synchronous_commit(pg_cluster) == "on"


def test_every_item_a_sync_acknowledged_is_there_after_a_crash(fault_app, pg_cluster):
    canvass = seed(fault_app, doors=5)
    acknowledged = {}
    for _round in range(3):
        with fault_app.test_client() as client:
            body = {"device_id": "phone-1", "contacts": [
                contact(canvass, household=canvass.households[i % 5]) for i in range(40)]}
            response = client.post("/v1/sync", json=body, headers=canvass.headers)
        assert response.status_code == 200
        results = response.get_json()["results"]
        assert {r["status"] for r in results} == {"created"}
        acknowledged.update({r["client_id"]: r["id"] for r in results})
        pg_cluster.crash()  # right after the answer: nothing gets a chance to flush the WAL later
        pg_cluster.start()
    from api.extensions import db

    with fault_app.app_context():
        stored = dict(db.session.execute(
            select(Contact.client_id, Contact.id).where(Contact.organization_id == canvass.org.id)).all())
        db.session.remove()
    assert len(acknowledged) == 120
    assert {str(k): v for k, v in stored.items()} == acknowledged


def test_while_the_database_is_down_the_api_answers_503_and_healthz_names_it(fault_app, pg_cluster):
    canvass = seed(fault_app)
    with fault_app.test_client() as client:
        assert client.get("/v1/me", headers=canvass.headers).status_code == 200
        pg_cluster.crash()
        try:
            response = client.get("/v1/me", headers=canvass.headers)
            assert_error(response, 503, "service_unavailable")
            assert response.get_json()["error"]["details"] == {"dependency": "database"}
            assert int(response.headers["Retry-After"]) > 0
            sync = client.post("/v1/sync", json={"device_id": "p", "contacts": [contact(canvass)]},
                               headers=canvass.headers)
            assert_error(sync, 503, "service_unavailable")
            assert "Retry-After" in sync.headers
            health = client.get("/healthz")
            assert health.status_code == 503
            assert health.get_json() == {"status": "degraded", "checks": {"database": "down", "redis": "ok"}}
            assert "Retry-After" in health.headers
        finally:
            pg_cluster.start()
        # Back: the pool's dead connections are replaced without a failed request.
        assert client.get("/v1/me", headers=canvass.headers).status_code == 200
        assert client.get("/healthz").get_json()["status"] == "ok"
