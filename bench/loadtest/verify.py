"""After the crowd: drain, let the queue empty, then hold every ledger against the database.

* Drain: every item a phone made and never saw acknowledged (a batch cut off by the end of the
  run, one that gave up after its retries) is sent again, as the phone would at its next signal,
  until the server has answered every one.
* Resend check: a sample of acknowledged batches is sent once more; each item must come back
  `duplicate` with the id first given.
* Queue: wait until the RQ queue is empty and no job runs, then run the cron's safety-net rollups
  (what `rq cron` does every five minutes: a rollup requested while one was running is coalesced
  into it and caught up by the next pass) and wait again.
* Ledgers vs database: each item stored exactly once (its client_id once, under the id the
  server acknowledged), nothing acknowledged that is not stored, nothing stored no phone sent,
  no item rejected.
* Rollups: the incremental activity and pipeline tables equal a full rebuild (computed in a
  transaction that is rolled back), with the snapshots the tests use.
"""
from __future__ import annotations

import http.client
import json
import time
from collections import Counter
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

BATCH = 50


def post_sync(base_url: str, token: str, body: dict, *, attempts: int = 20) -> dict:
    parts = urlsplit(base_url)
    for attempt in range(attempts):
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            connection.request("POST", "/v1/sync", body=json.dumps(body),
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            connection.close()
            if response.status == 200:
                return json.loads(payload)
            time.sleep(float(response.getheader("Retry-After") or 1))
        except OSError:
            time.sleep(min(10, 2 ** attempt * 0.1))
    raise SystemExit("the drain could not get a sync through")


def body_of(device: str, items: list[dict]) -> dict:
    return {"device_id": device, "contacts": [e["item"] for e in items if e["kind"] == "contact"],
            "pledges": [e["item"] for e in items if e["kind"] == "pledge"]}


def drain(base_url: str, phones: list[dict]) -> dict:
    """Send what was never acknowledged; resend a sample of what was. Updates the ledgers."""
    resent = duplicates_ok = duplicates_bad = 0
    for index, phone in enumerate(phones):
        ledger = phone["ledger"]
        unacknowledged = [e for e in ledger.values() if e["status"] is None]
        for start in range(0, len(unacknowledged), BATCH):
            batch = unacknowledged[start:start + BATCH]
            for result in post_sync(base_url, phone["token"], body_of(f"drain-{phone['email']}", batch))["results"]:
                entry = ledger[result["client_id"]]
                entry["status"], entry["id"], entry["drained"] = result["status"], result.get("id"), True
            resent += len(batch)
        if index % 10 == 0:
            acknowledged = [e for e in ledger.values() if e["status"] in ("created", "duplicate")][:BATCH]
            if acknowledged:
                answer = post_sync(base_url, phone["token"], body_of(f"again-{phone['email']}", acknowledged))
                for result in answer["results"]:
                    first = ledger[result["client_id"]]["id"]
                    if result["status"] == "duplicate" and result.get("id") == first:
                        duplicates_ok += 1
                    else:
                        duplicates_bad += 1
    return {"drained": resent, "resent_acknowledged": duplicates_ok + duplicates_bad,
            "resent_not_duplicate": duplicates_bad}


def wait_for_queue(redis_url: str, queue_name: str, *, timeout: float = 600) -> float:
    from redis import Redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    connection = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    started = StartedJobRegistry(queue_name, connection=connection)
    began = time.monotonic()
    while queue.count or started.count:
        if time.monotonic() - began > timeout:
            raise SystemExit(f"the queue did not empty in {timeout} s")
        time.sleep(0.5)
    return time.monotonic() - began


def run_safety_nets(redis_url: str, queue_name: str) -> None:
    from redis import Redis
    from rq import Queue

    from workers.jobs import JOB_PATHS

    queue = Queue(queue_name, connection=Redis.from_url(redis_url))
    for name in ("rollup_activity_all", "rollup_pipeline_all"):
        queue.enqueue(JOB_PATHS[name])
    wait_for_queue(redis_url, queue_name)
    # The *_all jobs enqueue per-organization jobs of their own: wait for those too.
    wait_for_queue(redis_url, queue_name)


def failed_jobs(redis_url: str, queue_name: str) -> int:
    from redis import Redis
    from rq.registry import FailedJobRegistry

    return FailedJobRegistry(queue_name, connection=Redis.from_url(redis_url)).count


def check_ledgers(database_url: str, organization_id: int, phones: list[dict]) -> dict:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = Counter()
        stored_ids = {}
        for kind, table in (("contact", "contacts"), ("pledge", "pledges")):
            for client_id, row_id in connection.execute(
                    text(f"SELECT client_id::text, id FROM {table} WHERE organization_id = :org"),
                    {"org": organization_id}):
                stored[(kind, client_id)] += 1
                stored_ids[(kind, client_id)] = row_id
    engine.dispose()
    sent = {}
    statuses = Counter()
    for phone in phones:
        for client_id, entry in phone["ledger"].items():
            sent[(entry["kind"], client_id)] = entry
            statuses[entry["status"] or "never answered"] += 1
    missing = [key for key in sent if stored[key] == 0]
    twice = [key for key, count in stored.items() if count > 1]
    wrong_id = [key for key, entry in sent.items()
                if entry["status"] in ("created", "duplicate") and stored_ids.get(key) != entry["id"]]
    acknowledged_not_stored = [key for key, entry in sent.items()
                               if entry["status"] in ("created", "duplicate") and stored[key] == 0]
    unknown = [key for key in stored if key not in sent]
    return {
        "items": len(sent), "contacts": sum(1 for k in sent if k[0] == "contact"),
        "pledges": sum(1 for k in sent if k[0] == "pledge"), "statuses": dict(statuses),
        "missing": len(missing), "stored_twice": len(twice), "acknowledged_not_stored": len(acknowledged_not_stored),
        "acknowledged_with_another_id": len(wrong_id), "stored_but_never_sent": len(unknown),
        "rejected": statuses.get("rejected", 0),
    }


def check_rollups(database_url: str, organization_id: int) -> dict:
    """The incremental tables against a full rebuild of both rollups, rolled back afterwards."""
    import canvass.models  # noqa: F401
    from canvass.dashboards.activity import activity_snapshot, rebuild_activity
    from canvass.pipeline.models import PipelineWatermark
    from canvass.pipeline.rollup import pipeline_snapshot, refresh_pipeline

    engine = create_engine(database_url)
    with Session(engine) as session:
        activity = activity_snapshot(session, organization_id=organization_id)
        pipeline = pipeline_snapshot(session, organization_id=organization_id)
        newest = session.execute(text("SELECT coalesce(max(id), 0) FROM contacts WHERE organization_id = :org"),
                                 {"org": organization_id}).scalar_one()
        seen = session.execute(text("SELECT contacts_seen FROM activity_watermarks WHERE organization_id = :org"),
                               {"org": organization_id}).scalar_one_or_none()
        watermark = session.get(PipelineWatermark, organization_id)
        as_of = watermark.last_as_of if watermark else None
        rebuild_activity(session, organization_id=organization_id)
        refresh_pipeline(session, organization_id=organization_id, mode="full", as_of=as_of)
        session.expire_all()
        rebuilt_activity = activity_snapshot(session, organization_id=organization_id)
        rebuilt_pipeline = pipeline_snapshot(session, organization_id=organization_id)
        session.rollback()
    engine.dispose()
    return {
        "activity_rows": sum(len(rows) for rows in activity.values()),
        "pipeline_rows": sum(len(rows) for rows in pipeline.values()),
        "activity_equals_rebuild": activity == rebuilt_activity,
        "pipeline_equals_rebuild": pipeline == rebuilt_pipeline,
        "watermark_covers_every_contact": (seen or 0) >= newest,
    }
