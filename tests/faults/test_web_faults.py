"""The web process under faults, over real HTTP to the Procfile's gunicorn: a worker SIGKILLed in
the middle of a sync, a phone whose connection drops half-way through its upload, and one that
never reads the answer. Each time the phone sends the same items again, and afterwards every item
is stored exactly once under the id acknowledged."""
from __future__ import annotations

import os
import signal
import socket
import threading

import psycopg

from tests.canvass.canvassing.fieldwork import contact
from tests.faults.phones import Phone, assert_exactly_once, child_pids, web_server
from tests.faults.services import wait_until
from tests.faults.test_database_faults import seed


def waiting_on_a_lock(pg_cluster) -> bool:
    with psycopg.connect(pg_cluster.url("canvass_faults"), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'canvass_faults' "
                            "AND wait_event_type = 'Lock'").fetchone()[0] > 0


def items(canvass, count):
    return [contact(canvass, household=canvass.households[i % len(canvass.households)]) for i in range(count)]


def test_a_web_worker_killed_mid_sync_stores_nothing_and_the_retry_stores_each_item_once(
        fault_app, fault_database_url, redis_server, pg_cluster):
    canvass = seed(fault_app, doors=5)
    queue = fault_app.config["CANVASS_SETTINGS"].queue_name
    with web_server(fault_database_url, redis_server.url, queue, workers=1) as (server, port):
        phone = Phone(port, canvass.headers)
        batch = phone.add(items(canvass, 20))
        # Hold the sync at its INSERT, so the kill lands inside its transaction.
        blocker = psycopg.connect(pg_cluster.url("canvass_faults"))
        blocker.execute("LOCK TABLE contacts IN EXCLUSIVE MODE")
        answer = {}
        upload = threading.Thread(target=lambda: answer.update(status=phone.sync(batch, timeout=60)))
        upload.start()
        try:
            wait_until(lambda: waiting_on_a_lock(pg_cluster), 30, what="the sync to reach its INSERT")
            (worker,) = child_pids(server.pid)
            os.kill(worker, signal.SIGKILL)
            upload.join(30)
        finally:
            blocker.rollback()
            blocker.close()
        assert answer == {"status": 0}  # no answer at all: the phone keeps the items and retries
        assert phone.unacknowledged() == batch
        wait_until(lambda: [pid for pid in child_pids(server.pid) if pid != worker], 30,
                   what="gunicorn to start a new worker")
        phone.sync_until_acknowledged(batch)
        assert {phone.ledger[c]["status"] for c in batch} == {"created"}  # the killed one committed nothing
        assert phone.sync(batch) == 200
        assert {phone.ledger[c]["status"] for c in batch} == {"duplicate"}
        assert server.poll() is None
    assert assert_exactly_once(fault_database_url, canvass.org.id, [phone])["items"] == 20


def test_a_phone_that_drops_mid_upload_or_before_the_answer_resends_and_each_item_is_stored_once(
        fault_app, fault_database_url, redis_server):
    canvass = seed(fault_app, doors=5)
    queue = fault_app.config["CANVASS_SETTINGS"].queue_name
    with web_server(fault_database_url, redis_server.url, queue, workers=2) as (server, port):
        phone = Phone(port, canvass.headers)

        def raw_upload(client_ids, *, send_fraction: float) -> None:
            """Send the request (all or part of its body), then close without reading the answer."""
            body = phone.body(client_ids)
            head = (f"POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    f"Authorization: {canvass.headers['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n")
            with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
                connection.sendall(head.encode() + body[:int(len(body) * send_fraction)])

        half = phone.add(items(canvass, 30))
        raw_upload(half, send_fraction=0.5)  # the phone left the building
        unread = phone.add(items(canvass, 30))
        raw_upload(unread, send_fraction=1.0)  # the answer is lost
        # The half body stored nothing; the full one may have been committed before the close.
        phone.sync_until_acknowledged(half)
        assert {phone.ledger[c]["status"] for c in half} == {"created"}
        phone.sync_until_acknowledged(unread)
        assert {phone.ledger[c]["status"] for c in unread} <= {"created", "duplicate"}
        assert server.poll() is None and len(child_pids(server.pid)) == 2
    assert assert_exactly_once(fault_database_url, canvass.org.id, [phone])["items"] == 60
