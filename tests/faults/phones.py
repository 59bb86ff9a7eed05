"""Phones for the fault tests: real HTTP against a real gunicorn (the Procfile's server, started
by bench.common.start_app_server), each with a ledger of every item it made and what the server
said, checked afterwards with the load test's own checks (bench/loadtest/verify.py)."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager

from bench.common import free_port, start_app_server, stop_process
from bench.loadtest import verify
from tests.faults.services import REPO_ROOT, wait_until


class Phone:
    def __init__(self, port: int, headers: dict, name: str = "phone"):
        self.port, self.headers, self.name = port, {**headers, "Content-Type": "application/json"}, name
        self.ledger: dict[str, dict] = {}
        self.answers: Counter = Counter()  # status -> count
        self.unavailable: list[tuple[int, dict, dict]] = []  # (status, headers, body) of the 5xx seen

    def add(self, items: list[dict], kind: str = "contact") -> list[str]:
        for item in items:
            self.ledger[item["client_id"]] = {"kind": kind, "item": item, "status": None, "id": None}
        return [item["client_id"] for item in items]

    def body(self, client_ids: list[str]) -> bytes:
        entries = [self.ledger[c] for c in client_ids]
        return json.dumps(verify.body_of(self.name, entries)).encode()

    def sync(self, client_ids: list[str], *, timeout: float = 30) -> int:
        """One attempt; the status (0: no answer). Acknowledged items are marked in the ledger."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("POST", "/v1/sync", body=self.body(client_ids), headers=self.headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.answers[0] += 1
            return 0
        finally:
            connection.close()
        self.answers[response.status] += 1
        if response.status == 200:
            for result in json.loads(payload)["results"]:
                entry = self.ledger[result["client_id"]]
                if entry["status"] in ("created", "duplicate") and result.get("id") != entry["id"]:
                    entry["conflict"] = result  # a second id for one item: the check below fails
                entry["status"], entry["id"] = result["status"], result.get("id")
        elif response.status >= 500:
            self.unavailable.append((response.status, dict(response.getheaders()), json.loads(payload or b"{}")))
        return response.status

    def sync_until_acknowledged(self, client_ids: list[str], *, deadline: float = 60) -> None:
        """What the phone app does: send again (same client_ids) until the server answers."""
        give_up = time.monotonic() + deadline
        while self.sync(client_ids) != 200:
            assert time.monotonic() < give_up, f"{self.name}: no acknowledgement in {deadline} s"
            time.sleep(0.2)

    def unacknowledged(self) -> list[str]:
        return [c for c, e in self.ledger.items() if e["status"] is None]

    def record(self) -> dict:
        return {"email": self.name, "ledger": self.ledger}


def assert_exactly_once(database_url: str, organization_id: int, phones: list[Phone]) -> dict:
    """Every item of every ledger stored once under the id acknowledged; nothing else stored."""
    assert not [e for p in phones for e in p.ledger.values() if "conflict" in e]
    found = verify.check_ledgers(database_url, organization_id, [p.record() for p in phones])
    assert found["statuses"].get("never answered", 0) == 0, found
    for key in ("missing", "stored_twice", "acknowledged_not_stored", "acknowledged_with_another_id",
                "stored_but_never_sent", "rejected"):
        assert found[key] == 0, found
    return found


def assert_rollups_equal_rebuild(database_url: str, organization_id: int) -> dict:
    found = verify.check_rollups(database_url, organization_id)
    assert found["activity_equals_rebuild"] and found["pipeline_equals_rebuild"], found
    assert found["watermark_covers_every_contact"], found
    return found


@contextmanager
def web_server(database_url: str, redis_url: str, queue: str, *, workers: int = 2):
    """gunicorn with gunicorn.conf.py (sync workers) on a free loopback port."""
    port = free_port()
    server = start_app_server(database_url, redis_url, port,
                              env={"WEB_CONCURRENCY": str(workers), "CANVASS_QUEUE": queue}, timeout=120)
    try:
        yield server, port
    finally:
        stop_process(server)


def child_pids(master_pid: int) -> list[int]:
    children = []
    for task in os.listdir(f"/proc/{master_pid}/task"):
        with open(f"/proc/{master_pid}/task/{task}/children") as handle:
            children += [int(pid) for pid in handle.read().split()]
    return children


@contextmanager
def rq_worker(database_url: str, redis_url: str, queue: str, log_path):
    """The Procfile's worker (`python -m workers.main`), in a session of its own. Its work horse (the
    forked child running a job) is in yet another (rq calls setsid in it): kill_worker kills both."""
    log = open(log_path, "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.main", "--url", redis_url, "--max-delay", "2", queue],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CANVASS_QUEUE": queue,
             "PYTHONUNBUFFERED": "1"},
    )
    try:
        from redis import Redis

        wait_until(lambda: Redis.from_url(redis_url).scard("rq:workers"), 30, what="the worker to register")
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def kill_worker(process: subprocess.Popen) -> list[int]:
    """SIGKILL the worker and its work horse at once (as the OOM killer or a lost machine would)."""
    pids = [*child_pids(process.pid), process.pid]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    process.wait(10)
    return pids
