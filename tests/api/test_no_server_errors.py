"""A 5xx on client input is a bug: throw bad input at every documented endpoint.

Walks the OpenAPI document, so every endpoint added later is covered too.
"""
import re

import pytest

from tests.factories import auth_header, make_org, make_user

ALL_ROLES = ["admin", "organizer", "field_lead", "canvasser"]

BAD_BODIES = [
    b"{not json",
    b"[]",
    b'"a string"',
    b"null",
    b"{}",
    b'{"unexpected_field": 1}',
]

BAD_QUERY = "?ward=" + "x" * 300 + "&from=yesterday&to=2026-13-45&limit=-5&cursor=%00%ff&campaign_id=abc&role=mayor"
HUGE = "9" * 25
# One at a time: endpoints reject unknown parameters before using the known ones.
HUGE_QUERIES = [f"?{name}={HUGE}" for name in
                ("campaign_id", "cursor", "canvasser_id", "person_id", "limit", "turf_id", "ward", "event_id")]


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def _concrete(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _wrong_typed_body(operation, spec):
    """Every property of the request schema given a value of the wrong type."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    wrong = {"string": 12345, "integer": "twelve", "number": "many", "boolean": "perhaps", "array": {"a": 1},
             "object": [1, 2]}
    return {name: wrong.get(prop.get("type"), None) for name, prop in schema.get("properties", {}).items()}


def _huge_id_body(operation, spec):
    """Every integer property (and list of integers) of the request schema past BIGINT."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    body = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "integer":
            body[name] = 10**30
        elif prop.get("type") == "array" and prop.get("items", {}).get("type") == "integer":
            body[name] = [10**30]
    return body


@pytest.fixture
def everything_headers(db_session):
    user = make_user(db_session, org=make_org(db_session), roles=ALL_ROLES)
    return auth_header(db_session, user)


def test_bad_input_never_causes_a_server_error(client, everything_headers, clean_redis):
    spec = client.get("/v1/openapi.json").get_json()
    failures = []
    for path, method, operation in _operations(spec):
        for id_value in ("999999999", "-1", "abc", "9" * 30):
            url = _concrete(path, id_value)
            attempts = [client.open(url + query, method=method.upper(), headers=everything_headers)
                        for query in (BAD_QUERY, *HUGE_QUERIES)]
            if method in {"post", "put", "patch"}:
                for body in BAD_BODIES:
                    attempts.append(client.open(url, method=method.upper(), data=body,
                                                 content_type="application/json", headers=everything_headers))
                for body in (_wrong_typed_body(operation, spec), _huge_id_body(operation, spec)):
                    attempts.append(client.open(url, method=method.upper(), json=body, headers=everything_headers))
                attempts.append(client.open(url, method=method.upper(), data=b"a,b\n1,2\n",
                                            content_type="text/csv", headers=everything_headers))
            for response in attempts:
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {url}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                elif response.status_code >= 400:
                    body = response.get_json(silent=True) or {}
                    if set(body) != {"error"}:
                        failures.append(f"{method.upper()} {url}: {response.status_code} without the error envelope")
                response.close()
    assert failures == []
