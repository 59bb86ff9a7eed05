from datetime import timedelta

import pytest
from sqlalchemy import select

from canvass.audit.models import AuditEvent, SignInFailure
from canvass.auth.models import ApiToken
from tests.asserts import assert_error
from tests.factories import DEFAULT_PASSWORD, auth_header, make_org, make_token, make_user


@pytest.fixture
def canvasser(db_session):
    org = make_org(db_session, slug="ward33-wf", name="33rd Ward Working Families")
    return make_user(db_session, org=org, roles=["canvasser"], email="carmen@example.org", name="Carmen")


def login(client, email, password=DEFAULT_PASSWORD):
    return client.post("/v1/auth/token", json={"email": email, "password": password})




def test_login_returns_bearer_token_and_user_as_in_contract(client, canvasser, clean_redis):
    response = login(client, "Carmen@Example.org ")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 720 * 3600
    assert body["user"] == {
        "id": canvasser.id,
        "name": "Carmen",
        "email": "carmen@example.org",
        "roles": ["canvasser"],
        "organization": {"id": canvasser.organization_id, "slug": "ward33-wf", "name": "33rd Ward Working Families"},
        "languages": [],  # additive (issue 13): the languages the user speaks
    }
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.get_json() == body["user"]


def test_token_is_stored_only_as_a_hash(client, db_session, canvasser, clean_redis):
    token = login(client, canvasser.email).get_json()["access_token"]
    stored = db_session.execute(select(ApiToken.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_wrong_password_is_401_and_audited(client, db_session, canvasser, clean_redis):
    assert_error(login(client, canvasser.email, "not the password"), 401, "invalid_credentials")
    events = db_session.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).scalars().all()
    assert [(e.organization_id, e.target_id) for e in events] == [(canvasser.organization_id, str(canvasser.id))]
    assert db_session.execute(select(SignInFailure)).scalars().all() == []


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, clean_redis):
    error = assert_error(login(client, "nobody@example.org"), 401, "invalid_credentials")
    assert "e-mail or password" in error["message"]


def test_an_unknown_emails_failure_is_a_sign_in_failure_not_any_organizations_audit_event(
        client, db_session, canvasser, clean_redis):
    admin = make_user(db_session, org=canvasser.organization, roles=["admin"])
    assert_error(login(client, "  Nobody@Example.ORG "), 401, "invalid_credentials")
    failures = db_session.execute(select(SignInFailure)).scalars().all()
    assert [(f.email, f.reason, str(f.ip_address)) for f in failures] == [
        ("nobody@example.org", "bad_credentials", "127.0.0.1")]
    assert db_session.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).scalars().all() == []
    listed = client.get("/v1/audit-events?action=auth.login_failed",
                        headers=auth_header(db_session, admin))
    assert listed.status_code == 200 and listed.get_json()["data"] == []


def test_an_unknown_emails_repeated_failures_are_throttled_too(client, db_session, clean_redis):
    for _ in range(5):
        assert login(client, "nobody@example.org", "wrong password!").status_code == 401
    assert_error(login(client, "nobody@example.org"), 429, "too_many_attempts")
    assert len(db_session.execute(select(SignInFailure)).scalars().all()) == 5


def test_deactivated_user_cannot_log_in(client, db_session, clean_redis):
    org = make_org(db_session)
    user = make_user(db_session, org=org, is_active=False)
    assert_error(login(client, user.email), 401, "invalid_credentials")


def test_repeated_failures_are_throttled_with_retry_after(client, canvasser, clean_redis):
    for _ in range(5):
        assert login(client, canvasser.email, "wrong password!").status_code == 401
    response = login(client, canvasser.email)  # even the right password waits out the window
    assert_error(response, 429, "too_many_attempts")
    assert 0 < int(response.headers["Retry-After"]) <= 900


def test_successful_login_resets_the_failure_count(client, canvasser, clean_redis):
    for _ in range(4):
        login(client, canvasser.email, "wrong password!")
    assert login(client, canvasser.email).status_code == 200
    for _ in range(4):
        assert login(client, canvasser.email, "wrong password!").status_code == 401
    assert login(client, canvasser.email).status_code == 200


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "missing_token"),
        ({"Authorization": "Bearer"}, "invalid_token"),
        ({"Authorization": "Basic abc"}, "invalid_token"),
        ({"Authorization": "Bearer cvs_garbage"}, "invalid_token"),
        ({"Authorization": "Bearer " + "x" * 5000}, "invalid_token"),
    ],
)
def test_missing_or_garbage_tokens_are_401(client, headers, code):
    response = client.get("/v1/me", headers=headers)
    assert_error(response, 401, code)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401_token_expired(client, db_session, canvasser):
    token = make_token(db_session, user=canvasser, ttl=timedelta(seconds=-1))
    assert_error(client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "token_expired")


def test_revoked_token_stops_working_and_revocation_is_audited(client, db_session, canvasser):
    token = make_token(db_session, user=canvasser)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/v1/auth/token", headers=headers).status_code == 204
    assert_error(client.get("/v1/me", headers=headers), 401, "token_revoked")
    assert db_session.execute(select(AuditEvent.action).where(AuditEvent.action == "auth.token_revoked")).scalar_one()


def test_revoking_one_token_leaves_the_users_other_phones_signed_in(client, db_session, canvasser):
    first, second = make_token(db_session, user=canvasser), make_token(db_session, user=canvasser)
    client.delete("/v1/auth/token", headers={"Authorization": f"Bearer {first}"})
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_deactivating_a_user_kills_their_existing_tokens(client, db_session):
    org = make_org(db_session)
    admin = make_user(db_session, org=org, roles=["admin"])
    canvasser = make_user(db_session, org=org)
    canvasser_token = make_token(db_session, user=canvasser)
    admin_headers = {"Authorization": f"Bearer {make_token(db_session, user=admin)}"}
    assert client.delete(f"/v1/users/{canvasser.id}", headers=admin_headers).status_code == 200
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {canvasser_token}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"email": "a@b.org"}, {"email": 5, "password": "x"}, {"email": "a@b.org", "password": "x", "extra": 1}],
)
def test_login_body_that_fails_validation_is_422_with_field_details(client, body):
    error = assert_error(client.post("/v1/auth/token", json=body), 422, "validation_failed")
    assert error["details"]


def test_login_with_malformed_json_is_400(client):
    response = client.post("/v1/auth/token", data="{not json", content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_token_use_is_recorded_at_most_once_a_minute(client, db_session, canvasser):
    token = make_token(db_session, user=canvasser)
    headers = {"Authorization": f"Bearer {token}"}
    stored = db_session.execute(select(ApiToken).where(ApiToken.user_id == canvasser.id)).scalar_one()
    assert stored.last_used_at is None
    assert client.get("/v1/me", headers=headers).status_code == 200
    db_session.refresh(stored)
    first_use = stored.last_used_at
    assert first_use is not None
    assert client.get("/v1/me", headers=headers).status_code == 200
    db_session.refresh(stored)
    assert stored.last_used_at == first_use
    stored.last_used_at = first_use - timedelta(minutes=2)
    db_session.flush()
    assert client.get("/v1/me", headers=headers).status_code == 200
    db_session.refresh(stored)
    assert stored.last_used_at > first_use - timedelta(minutes=2)


def test_a_token_that_expires_or_is_revoked_between_requests_is_refused_on_the_next(client, db_session, canvasser):
    token = make_token(db_session, user=canvasser)
    headers = {"Authorization": f"Bearer {token}"}
    stored = db_session.execute(select(ApiToken).where(ApiToken.user_id == canvasser.id)).scalar_one()
    assert client.get("/v1/me", headers=headers).status_code == 200
    stored.expires_at = stored.created_at
    db_session.flush()
    assert_error(client.get("/v1/me", headers=headers), 401, "token_expired")
    stored.expires_at, stored.revoked_at = stored.created_at + timedelta(days=1), stored.created_at
    db_session.flush()
    assert_error(client.get("/v1/me", headers=headers), 401, "token_revoked")
