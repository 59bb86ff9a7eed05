"""The canvass-day crowd, for locust (run headless by `python -m bench.loadtest`, never by hand).

Phones: sign in (every tenth with its password, the others hold a token from before the day),
list their assignments, pull the team's walk list every 20 s with If-None-Match
(mostly 304), record a result about every 90 s and sync once three are waiting (or the oldest has
waited five minutes), and at the end of their shift send an offline burst of up to 200 items in
batches of 50, resending a batch after a timeout, a dropped connection or a 503 (Retry-After).
Every phone keeps a ledger of every item it made and what the server said about it; the ledgers,
the status counts and the phones' tokens are written to LOADTEST_OUT when locust quits, and
verify.py resends whatever was never acknowledged, then checks every item against the database.

Leads lease and release spare turfs to a reserve canvasser, several leads racing for the same few
turfs (409 turf_already_assigned / turf_not_assigned is the expected answer to the loser), and
list the ward's turfs. Organizers refresh the dashboards and pull incremental exports.

Configuration (environment, set by the runner): LOADTEST_CROWD (seed.py's crowd file),
LOADTEST_OUT, LOADTEST_SECONDS (the run's length, for the shift ends), LOADTEST_MAX_REQUESTS
(locust quits once that many requests were made), LOADTEST_BURST_MAX, LOADTEST_SEED.
"""
from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import gevent
from locust import FastHttpUser, events, task
from locust.exception import StopUser

from bench.loadtest.seed import Crowd

CROWD = Crowd.read(__import__("pathlib").Path(os.environ["LOADTEST_CROWD"]))
RUN_SECONDS = float(os.environ.get("LOADTEST_SECONDS", "600"))
MAX_REQUESTS = int(os.environ.get("LOADTEST_MAX_REQUESTS", "0"))
RANDOM = random.Random(int(os.environ.get("LOADTEST_SEED", "2026")))
PHONES_PER_TEAM = int(os.environ.get("LOADTEST_PHONES_PER_TURF", "4"))

WALKLIST_EVERY = 20.0
RESULT_EVERY = 90.0
SYNC_WHEN_WAITING = 3
SYNC_WHEN_OLDEST = 300.0
BURST_MAX = int(os.environ.get("LOADTEST_BURST_MAX", "200"))
BURST_BATCH = 50
SYNC_TIMEOUT = 30.0
RESULT_CODES = ["not_home", "not_home", "not_home", "come_back", "refused", "moved", "inaccessible"]

STARTED = time.monotonic()
phone_emails = list(CROWD.phones)
lead_emails = list(CROWD.leads)
organizer_emails = list(CROWD.organizers)
phones: list[Phone] = []
statuses: Counter = Counter()  # (request name, status) -> count, every answer (timeouts: status 0)
retries = Counter()  # why a batch was sent again
requests_made = 0


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


@events.request.add_listener
def _count(request_type, name, response, exception, **_kwargs):
    global requests_made
    requests_made += 1
    status = getattr(response, "status_code", 0) or 0
    statuses[f"{request_type} {name} {status}"] += 1
    if MAX_REQUESTS and requests_made == MAX_REQUESTS:
        runner = _environment.runner if _environment else None
        if runner is not None:
            gevent.spawn_later(0, runner.quit)


_environment = None


@events.init.add_listener
def _keep_environment(environment, **_kwargs):
    global _environment
    _environment = environment


@events.quitting.add_listener
def _write_ledgers(environment, **_kwargs):
    out = {
        "phones": [phone.record() for phone in phones],
        "statuses": dict(statuses),
        "retries": dict(retries),
        "requests": requests_made,
    }
    with open(os.environ["LOADTEST_OUT"], "w", encoding="utf-8") as handle:
        json.dump(out, handle)


class SignedIn(FastHttpUser):
    abstract = True
    network_timeout = SYNC_TIMEOUT
    connection_timeout = 10.0
    email = ""
    token = ""

    def sign_in(self, email: str) -> None:
        self.email = email
        while True:
            with self.client.post("/v1/auth/token", json={"email": email, "password": CROWD.password},
                                  name="/v1/auth/token", catch_response=True) as response:
                if response.status_code == 200:
                    self.token = response.json()["access_token"]
                    return
                response.failure(f"sign-in answered {response.status_code}")
            self.back_off()

    def back_off(self) -> None:
        """Wait before trying again, longer each time, with jitter: a crowd retrying in step is a storm."""
        self.failures = getattr(self, "failures", 0) + 1
        gevent.sleep(RANDOM.uniform(0.5, 1.5) * min(120, 5 * 2 ** self.failures))

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, name: str, *, expected=(200,), headers=None):
        with self.client.get(path, headers={**self.headers, **(headers or {})}, name=name,
                             catch_response=True) as response:
            if response.status_code in expected:
                response.success()
            else:
                response.failure(f"{name} answered {response.status_code}")
            return response


class Phone(SignedIn):
    """A canvasser's phone through one shift."""

    weight = 100

    def on_start(self) -> None:
        self.ledger: dict[str, dict] = {}  # client_id -> {"item", "kind", "status", "id"}
        self.pending: list[str] = []  # made, not yet acknowledged
        self.oldest_pending = 0.0
        self.stops: list[dict] = []
        self.etag = ""
        self.assignment_id = 0
        self.shift_over = False
        if not phone_emails:
            raise StopUser()
        email = phone_emails.pop(0)
        self.slot = int(email.removeprefix("phone").split("@")[0]) % PHONES_PER_TEAM
        phones.append(self)
        if email in CROWD.tokens:
            self.email, self.token = email, CROWD.tokens[email]
            self.get("/v1/me", "/v1/me")
        else:
            self.sign_in(email)
        while True:
            response = self.get("/v1/me/assignments", "/v1/me/assignments")
            if response.status_code == 200:
                break
            self.back_off()
        assignments = response.json()
        if not assignments:
            raise StopUser()
        self.assignment_id = assignments[0]["id"]
        while not self.stops:
            self.walklist()
            if not self.stops:
                self.back_off()
        # Shifts end at different times in the last part of the run, each with its offline burst.
        self.shift_end = STARTED + RUN_SECONDS * RANDOM.uniform(0.55, 0.8)
        self.next_walklist = time.monotonic() + RANDOM.uniform(0, WALKLIST_EVERY)
        self.next_result = time.monotonic() + RANDOM.uniform(0, RESULT_EVERY)

    def record(self) -> dict:
        return {"email": self.email, "token": self.token, "ledger": self.ledger}

    def walklist(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        response = self.get(f"/v1/assignments/{self.assignment_id}/walklist", "/v1/assignments/{id}/walklist",
                            expected=(200, 304), headers=headers)
        if response.status_code == 200:
            document = response.json()
            self.etag = response.headers.get("ETag") or ""
            self.campaign = document["campaign"]
            # Teammates split the doors: each phone walks every 4th stop.
            self.stops = document["stops"][self.slot::PHONES_PER_TEAM] or document["stops"]

    def make_contact(self, occurred_at: str) -> dict:
        stop = RANDOM.choice(self.stops)
        item = {"client_id": str(uuid.uuid4()), "assignment_id": self.assignment_id,
                "household_id": stop["household_id"], "occurred_at": occurred_at}
        if RANDOM.random() < 0.3 and stop["people"]:
            item["person_id"] = stop["people"][0]["id"]
            item["responses"] = [{"question_id": q["id"], "answer": self.answer(q)}
                                 for q in self.campaign["questions"] if q["kind"] != "text"]
        else:
            item["result_code"] = RANDOM.choice(RESULT_CODES)
        self.ledger[item["client_id"]] = {"kind": "contact", "item": item, "status": None, "id": None}
        return item

    def make_pledge(self, occurred_at: str) -> dict:
        stop = RANDOM.choice(self.stops)
        item = {"client_id": str(uuid.uuid4()), "assignment_id": self.assignment_id,
                "household_id": stop["household_id"], "campaign_id": self.campaign["id"],
                "pledge_type": RANDOM.choice([p["code"] for p in self.campaign["pledge_types"]]),
                "occurred_at": occurred_at, "consent_to_contact": True,
                "person": {"first_name": "Load", "last_name": f"Tester {RANDOM.randrange(10**6)}"}}
        self.ledger[item["client_id"]] = {"kind": "pledge", "item": item, "status": None, "id": None}
        return item

    @staticmethod
    def answer(question: dict):
        if question["kind"] == "scale":
            return RANDOM.randint(1, 5)
        if question["kind"] == "yes_no":
            return RANDOM.random() < 0.5
        return RANDOM.choice(question["choices"])

    def sync(self, client_ids: list[str], *, name: str) -> bool:
        """One POST /v1/sync of these items; True once the server answered every one of them."""
        contacts = [self.ledger[c]["item"] for c in client_ids if self.ledger[c]["kind"] == "contact"]
        pledges = [self.ledger[c]["item"] for c in client_ids if self.ledger[c]["kind"] == "pledge"]
        body = {"device_id": f"load-{self.email}", "contacts": contacts, "pledges": pledges}
        with self.client.post("/v1/sync", json=body, headers=self.headers, name=name,
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"sync answered {response.status_code}")
                retries[f"{name} {response.status_code}"] += 1
                if response.status_code == 503:
                    gevent.sleep(float(response.headers.get("Retry-After") or 1))
                return False
            for result in response.json()["results"]:
                entry = self.ledger[result["client_id"]]
                entry["status"], entry["id"] = result["status"], result.get("id")
                if result["status"] == "rejected":
                    response.failure(f"rejected: {result.get('error')}")
            response.success()
        return True

    def sync_pending(self) -> None:
        batch = list(self.pending)
        if self.sync(batch, name="/v1/sync (shift)"):
            self.pending = [c for c in self.pending if c not in batch]

    def burst(self) -> None:
        """Back in signal at the end of the shift: everything recorded offline, in batches, retried."""
        started = datetime.now(UTC).timestamp()
        earliest = started - min(1800.0, time.monotonic() - STARTED)
        for _ in range(RANDOM.randint(BURST_MAX // 10, BURST_MAX)):
            occurred = datetime.fromtimestamp(RANDOM.uniform(earliest, started), UTC).astimezone()
            stamp = occurred.isoformat(timespec="seconds")
            item = self.make_pledge(stamp) if RANDOM.random() < 0.05 else self.make_contact(stamp)
            self.pending.append(item["client_id"])
        while self.pending:
            batch = self.pending[:BURST_BATCH]
            for attempt in range(8):
                if self.sync(batch, name="/v1/sync (burst)"):
                    break
                retries["burst batch resent"] += 1
                gevent.sleep(min(30, 2 ** attempt))
            else:
                return  # left for the drain, as a phone that gave up until its next signal
            self.pending = self.pending[BURST_BATCH:]

    @task
    def shift(self) -> None:
        if self.shift_over:
            gevent.sleep(5)
            return
        now = time.monotonic()
        if now >= self.shift_end:
            self.shift_over = True
            if self.pending:
                self.sync_pending()
            self.burst()
            return
        if now >= self.next_walklist:
            self.walklist()
            self.next_walklist = now + WALKLIST_EVERY
        if now >= self.next_result:
            if not self.pending:
                self.oldest_pending = now
            self.pending.append(self.make_contact(now_iso())["client_id"])
            self.next_result = now + RANDOM.uniform(0.5, 1.5) * RESULT_EVERY
        if self.pending and (len(self.pending) >= SYNC_WHEN_WAITING or now - self.oldest_pending > SYNC_WHEN_OLDEST):
            self.sync_pending()
        gevent.sleep(1)


class Lead(SignedIn):
    """A field lead moving spare turfs around; leads race each other for the same few."""

    fixed_count = 4

    def on_start(self) -> None:
        if not lead_emails:
            raise StopUser()
        self.sign_in(lead_emails.pop(0))

    @task(4)
    def re_lease(self) -> None:
        turf = RANDOM.choice(CROWD.spare_turfs)
        path = f"/v1/turfs/{turf}/assignment"
        if RANDOM.random() < 0.5:
            with self.client.post(path, json={"canvasser_id": CROWD.reserve_canvasser_id,
                                              "campaign_id": CROWD.campaign_id, "lease_hours": 1},
                                  headers=self.headers, name="/v1/turfs/{id}/assignment",
                                  catch_response=True) as response:
                self.expect(response, 201, 409)
        else:
            with self.client.delete(path, headers=self.headers, name="/v1/turfs/{id}/assignment",
                                    catch_response=True) as response:
                self.expect(response, 200, 204, 409)
        gevent.sleep(RANDOM.uniform(3, 8))

    @task(1)
    def turfs(self) -> None:
        self.get("/v1/turfs?ward=33", "/v1/turfs?ward=")
        gevent.sleep(RANDOM.uniform(10, 20))

    @staticmethod
    def expect(response, *ok) -> None:
        if response.status_code in ok:
            response.success()
        else:
            response.failure(f"answered {response.status_code}")


class Organizer(SignedIn):
    """An organizer with the dashboards open, and a CRM export pulling what changed."""

    fixed_count = 2

    def on_start(self) -> None:
        if not organizer_emails:
            raise StopUser()
        self.sign_in(organizer_emails.pop(0))
        self.changed_since = ""

    @task(3)
    def dashboards(self) -> None:
        for board in ("summary", "turfs", "leaderboard"):
            self.get(f"/v1/dashboards/{board}", f"/v1/dashboards/{board}")
        gevent.sleep(RANDOM.uniform(15, 30))

    @task(1)
    def export(self) -> None:
        query = f"?changed_since={self.changed_since}" if self.changed_since else ""
        response = self.get(f"/v1/exports/contacts{query.replace('+', '%2B')}", "/v1/exports/contacts")
        if response.status_code == 200:
            self.changed_since = response.headers.get("X-Next-Changed-Since") or self.changed_since
        gevent.sleep(RANDOM.uniform(30, 60))
