import pytest
from sqlalchemy import func, select

from canvass.audit.models import AuditEvent
from canvass.auth.models import User
from tests.asserts import assert_error
from tests.factories import auth_header, make_org, make_token, make_user


@pytest.fixture
def org(db_session):
    return make_org(db_session)


@pytest.fixture
def admin(db_session, org):
    return make_user(db_session, org=org, roles=["admin"])


@pytest.fixture
def admin_headers(db_session, admin):
    return auth_header(db_session, admin)


def test_admin_creates_a_user_who_can_then_sign_in(client, admin_headers, db_session, clean_redis):
    response = client.post(
        "/v1/users",
        json={"email": "New@Example.org", "name": "New Canvasser", "roles": ["canvasser"], "password": "long enough pw"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["email"] == "new@example.org"
    login = client.post("/v1/auth/token", json={"email": "new@example.org", "password": "long enough pw"})
    assert login.status_code == 200
    assert db_session.execute(select(AuditEvent).where(AuditEvent.action == "user.created")).scalar_one()


def test_duplicate_email_is_409_and_nothing_is_created(client, admin, admin_headers, db_session):
    before = db_session.execute(select(func.count(User.id))).scalar_one()
    response = client.post(
        "/v1/users", json={"email": admin.email.upper(), "name": "Twin", "roles": ["canvasser"]}, headers=admin_headers
    )
    assert_error(response, 409, "email_taken")
    assert db_session.execute(select(func.count(User.id))).scalar_one() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "x@example.org", "name": "X", "roles": ["mayor"]}, "roles"),
        ({"email": "x@example.org", "name": "X", "roles": []}, "roles"),
        ({"email": "x@example.org", "name": "X", "roles": "admin"}, "roles"),
        ({"email": "x@example.org", "name": "X", "roles": ["canvasser"], "password": "short"}, "password"),
        ({"email": "not-an-email", "name": "X", "roles": ["canvasser"]}, "email"),
        ({"email": "x@example.org", "roles": ["canvasser"]}, "name"),
        ({"email": "x@example.org", "name": "X", "roles": ["canvasser"], "organization_id": 1}, "organization_id"),
    ],
)
def test_bad_user_bodies_are_422_naming_the_field(client, admin_headers, db_session, body, field):
    before = db_session.execute(select(func.count(User.id))).scalar_one()
    error = assert_error(client.post("/v1/users", json=body, headers=admin_headers), 422, "validation_failed")
    assert field in error["details"]
    assert db_session.execute(select(func.count(User.id))).scalar_one() == before


def test_lists_only_the_callers_organization_filtered_by_role(client, db_session, org, admin_headers):
    mine = make_user(db_session, org=org, roles=["canvasser"])
    make_user(db_session, org=org, roles=["field_lead"])
    make_user(db_session, org=make_org(db_session), roles=["canvasser"])
    response = client.get("/v1/users?role=canvasser", headers=admin_headers)
    assert response.status_code == 200
    assert [u["id"] for u in response.get_json()] == [mine.id]
    assert set(response.get_json()[0]) >= {"id", "name", "email", "roles"}


def test_unknown_role_filter_is_422(client, admin_headers):
    assert_error(client.get("/v1/users?role=mayor", headers=admin_headers), 422, "validation_failed")


def test_another_organizations_user_is_404_everywhere(client, db_session, admin_headers):
    stranger = make_user(db_session, org=make_org(db_session))
    for method, path, kwargs in [
        ("get", f"/v1/users/{stranger.id}", {}),
        ("patch", f"/v1/users/{stranger.id}", {"json": {"name": "Hijacked"}}),
        ("delete", f"/v1/users/{stranger.id}", {}),
        ("delete", f"/v1/users/{stranger.id}/tokens", {}),
    ]:
        response = getattr(client, method)(path, headers=admin_headers, **kwargs)
        assert_error(response, 404, "user_not_found")
    db_session.refresh(stranger)
    assert stranger.name != "Hijacked" and stranger.is_active


@pytest.mark.parametrize("roles", [["canvasser"], ["field_lead"], ["organizer"]])
def test_non_admins_cannot_create_users(client, db_session, org, roles):
    user = make_user(db_session, org=org, roles=roles)
    response = client.post(
        "/v1/users", json={"email": "x@example.org", "name": "X", "roles": ["admin"]}, headers=auth_header(db_session, user)
    )
    assert_error(response, 403, "forbidden")


def test_canvasser_cannot_list_users(client, db_session, org):
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    assert_error(client.get("/v1/users", headers=auth_header(db_session, canvasser)), 403, "forbidden")


def test_role_change_is_audited_with_before_and_after(client, db_session, org, admin_headers):
    user = make_user(db_session, org=org, roles=["canvasser"])
    response = client.patch(f"/v1/users/{user.id}", json={"roles": ["canvasser", "field_lead"]}, headers=admin_headers)
    assert response.status_code == 200
    assert sorted(response.get_json()["roles"]) == ["canvasser", "field_lead"]
    event = db_session.execute(select(AuditEvent).where(AuditEvent.action == "user.roles_changed")).scalar_one()
    assert event.details == {"from": ["canvasser"], "to": ["canvasser", "field_lead"]}


def test_admin_cannot_remove_own_admin_role_or_deactivate_self(client, admin, admin_headers):
    assert_error(client.patch(f"/v1/users/{admin.id}", json={"roles": ["organizer"]}, headers=admin_headers), 409,
                 "cannot_demote_self")
    assert_error(client.delete(f"/v1/users/{admin.id}", headers=admin_headers), 409, "cannot_deactivate_self")


def test_revoke_all_tokens_signs_a_lost_phone_out(client, db_session, org, admin_headers):
    user = make_user(db_session, org=org)
    tokens = [make_token(db_session, user=user) for _ in range(2)]
    response = client.delete(f"/v1/users/{user.id}/tokens", headers=admin_headers)
    assert response.get_json() == {"revoked": 2}
    for token in tokens:
        assert_error(client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "token_revoked")


def test_audit_log_is_readable_by_admins_only_and_scoped(client, db_session, org, admin_headers):
    other = make_org(db_session)
    other_admin = make_user(db_session, org=other, roles=["admin"])
    user = make_user(db_session, org=org)
    client.patch(f"/v1/users/{user.id}", json={"roles": ["field_lead"]}, headers=admin_headers)
    client.patch(f"/v1/users/{other_admin.id}", json={"name": "Renamed"}, headers=auth_header(db_session, other_admin))
    response = client.get("/v1/audit-events", headers=admin_headers)
    assert response.status_code == 200
    actions = [e["action"] for e in response.get_json()["data"]]
    assert "user.roles_changed" in actions
    canvasser = make_user(db_session, org=org)
    assert_error(client.get("/v1/audit-events", headers=auth_header(db_session, canvasser)), 403, "forbidden")
