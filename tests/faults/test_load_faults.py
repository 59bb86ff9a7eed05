"""PostgreSQL crashing (`pg_ctl stop -m immediate`) and coming back while phones sync over real HTTP
to gunicorn. While it is down every answer is 503 `service_unavailable` with Retry-After (never a
500) and /healthz names the database; the phones keep resending; afterwards every item is stored
exactly once under the id acknowledged, and the rollups equal a full rebuild."""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter

from tests.canvass.canvassing.fieldwork import contact
from tests.faults.phones import Phone, assert_exactly_once, assert_rollups_equal_rebuild, web_server
from tests.faults.test_database_faults import seed
from tests.faults.test_redis_faults import worker_runtime_on

PHONES = 6


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"{}")
    finally:
        connection.close()


def run_safety_net_rollups(settings) -> None:
    """What the worker and the cron would run: the jobs the syncs queued, then the *_all passes."""
    from rq import SimpleWorker

    from workers.dashboard_jobs import rollup_activity_all
    from workers.pipeline_jobs import rollup_pipeline_all

    with worker_runtime_on(settings) as runtime:
        queue = runtime.get_queue()
        queue.enqueue(rollup_activity_all)
        queue.enqueue(rollup_pipeline_all)
        SimpleWorker([queue], connection=runtime.redis_connection()).work(burst=True)


def test_postgres_crashing_under_load_loses_and_doubles_nothing(fault_app, fault_database_url, redis_server,
                                                                pg_cluster):
    canvass = seed(fault_app, doors=10)
    settings = fault_app.config["CANVASS_SETTINGS"]
    with web_server(fault_database_url, redis_server.url, settings.queue_name, workers=2) as (server, port):
        phones = [Phone(port, canvass.headers, f"phone-{n}") for n in range(PHONES)]
        stop = threading.Event()
        errors: list[BaseException] = []

        def shift(phone: Phone) -> None:
            try:
                while not stop.is_set():
                    batch = phone.add([contact(canvass, household=canvass.households[n % 10]) for n in range(5)])
                    phone.sync_until_acknowledged(batch, deadline=120)
            except BaseException as error:  # reported below, in the test thread
                errors.append(error)

        threads = [threading.Thread(target=shift, args=(phone,)) for phone in phones]
        for thread in threads:
            thread.start()
        try:
            time.sleep(2)
            pg_cluster.crash()
            down_at = time.monotonic()
            health = get(port, "/healthz")
            me = get(port, "/v1/me", canvass.headers)
            time.sleep(max(0.0, 2 - (time.monotonic() - down_at)))
        finally:
            pg_cluster.start()
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(150)
        assert not errors, errors

        assert health[0] == 503 and health[2]["checks"]["database"] == "down" and int(health[1]["Retry-After"]) > 0
        assert me[0] == 503 and me[2]["error"]["code"] == "service_unavailable"
        assert me[2]["error"]["details"] == {"dependency": "database"} and int(me[1]["Retry-After"]) > 0
        answers = sum((phone.answers for phone in phones), start=Counter())
        assert answers[200] > 0 and 500 not in answers
        # Syncs cut off by the crash answered 503 (or lost their connection) and were sent again.
        assert answers[503] + answers[0] > 0
        for phone in phones:
            for status, headers, body in phone.unavailable:
                assert status == 503 and int(headers["Retry-After"]) > 0, (status, headers, body)
                assert body["error"]["code"] == "service_unavailable"
        assert get(port, "/healthz")[0] == 200
        assert server.poll() is None
    found = assert_exactly_once(fault_database_url, canvass.org.id, phones)
    assert found["items"] >= PHONES * 5
    run_safety_net_rollups(settings)
    assert_rollups_equal_rebuild(fault_database_url, canvass.org.id)
