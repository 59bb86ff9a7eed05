"""Property-based fuzzing of every operation of /v1/openapi.json (schemathesis over WSGI).

For each operation and each role (a user holding only that role), schemathesis generates
requests from the document (valid and invalid bodies, queries and path ids: its positive and
negative modes; half the time the path ids are swapped for real ids of the caller's
organization, so the lookups succeed and the code behind them runs). Every response must be: not a 5xx; a status the operation documents (or
its `default`), with a body matching the documented schema and content type; and, for 4xx, the
one error envelope. Each case runs in a savepoint rolled back afterwards, and generation is
derandomized, so a run is reproducible and cases don't interfere. Bounded: FUZZ_EXAMPLES per
operation and role (docs/reliability.md records the numbers).
"""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.extensions import db
from canvass.pipeline.votes import create_vote
from tests.api.world import org_with_one_of_everything
from tests.factories import make_token, make_user

ROLES = ("admin", "organizer", "field_lead", "canvasser")
# Examples per operation and role; FUZZ_EXAMPLES=200 make test ... for a deeper run by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _envelope_problem(response) -> str | None:
    if response.status_code < 400 or response.status_code == 503:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or set(body) != {"error"} or set(body["error"]) != {"code", "message", "details"}:
        return f"{response.status_code} without the error envelope"
    return None


@pytest.fixture
def fuzz_world(db_session):
    org, ids = org_with_one_of_everything(db_session)
    now = datetime.now(UTC)
    ids["vote_id"] = create_vote(db_session, organization_id=org.id, title="Endorse?", scope="organization",
                                 options=["yes", "no"], cutoff_at=now - timedelta(days=1),
                                 opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1), now=now).id
    headers = {role: {"Authorization": f"Bearer {make_token(db_session, user=make_user(db_session, org=org, roles=[role]))}"}
               for role in ROLES}
    db_session.commit()
    return ids, headers


def test_fuzzed_requests_get_documented_answers_and_never_a_5xx(app, db_session, db_connection, fuzz_world,
                                                                 clean_redis):
    ids, headers = fuzz_world
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    failures: list[str] = []
    tried = {"cases": 0, "operations": 0}
    statuses: dict = {}

    def _fuzz_one(operation, role):
        # Valid requests and invalid ones (wrong types, missing fields, values out of range) alike.
        cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

        @given(case=cases, real_ids=st.booleans())
        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case, real_ids):
            if real_ids and case.path_parameters:
                case.path_parameters = {name: ids.get(name, value) for name, value in case.path_parameters.items()}
            savepoint = db_connection.begin_nested()
            try:
                response = case.call(headers=headers[role])
                tried["cases"] += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers[role])
                except Exception as error:  # a finding: reported below with the others
                    failures.append(f"{operation.label} as {role}: {type(error).__name__}: {str(error)[:400]}")
                problem = _envelope_problem(response)
                if problem:
                    failures.append(f"{operation.label} as {role}: {problem}")
            finally:
                db.session.rollback()
                savepoint.rollback()

        return fuzz

    for result in schema.get_all_operations():
        operation = result.ok()
        tried["operations"] += 1
        for role in ROLES:
            _fuzz_one(operation, role)()

    report = sorted(set(failures))
    print(f"fuzz: {tried['operations']} operations x {len(ROLES)} roles, {tried['cases']} cases, "
          f"{len(report)} distinct failures; statuses {sorted(statuses.items())}")
    assert report == []
    assert tried["operations"] >= 90
