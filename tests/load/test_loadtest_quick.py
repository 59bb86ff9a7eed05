"""The canvass-day load test's quick run (`python -m bench.loadtest --quick`: 100 phones for 60 s
against gunicorn + worker + cron on a loopback port) passes its own checks: no error answers,
every ledger item stored exactly once under the id acknowledged, nothing rejected, rollups equal
to a full rebuild, no server process died, memory within 10 %."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.faults.services import REPO_ROOT


@pytest.mark.slow
def test_quick_canvass_day_loses_and_doubles_nothing(tmp_path):
    results = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.loadtest", "--quick", "--json", str(results)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=400, check=False,
        env={**os.environ, "BENCH_DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or os.environ["DATABASE_URL"]},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    found = json.loads(results.read_text())
    assert found["problems"] == []
    ledgers = found["ledgers"]
    # The crowd did real work: phones synced during the shift and in their bursts, leads raced.
    assert ledgers["items"] > 500 and ledgers["pledges"] > 0
    statuses = found["statuses"]
    assert statuses.get("POST /v1/sync (shift) 200", 0) > 0 and statuses.get("POST /v1/sync (burst) 200", 0) > 0
    assert statuses.get("GET /v1/assignments/{id}/walklist 304", 0) > 0
    assert ledgers["missing"] == ledgers["stored_twice"] == ledgers["acknowledged_not_stored"] == 0
    assert found["rollups"]["activity_equals_rebuild"] and found["rollups"]["pipeline_equals_rebuild"]
