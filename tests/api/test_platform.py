from tests.asserts import assert_error
from tests.factories import auth_header, make_org, make_user


def test_healthz_checks_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_openapi_document_describes_the_contract_endpoints(client):
    spec = client.get("/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ["/v1/auth/token", "/v1/me", "/v1/users"]:
        assert path in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/me"]["get"]["security"] == [{"bearerAuth": []}]


def test_browsable_docs_are_served_without_a_cdn(client):
    page = client.get("/v1/docs")
    assert page.status_code == 200
    assert b"/v1/docs/assets/swagger-ui-bundle.js" in page.data
    asset = client.get("/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset.data.startswith(b"/*")
    asset.close()


def test_unknown_path_and_wrong_method_use_the_envelope(client):
    assert_error(client.get("/v1/nope"), 404, "not_found")
    assert_error(client.put("/v1/me"), 405, "method_not_allowed")


def test_over_long_body_is_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/v1/auth/token", data=b"{" + b" " * limit + b"}", content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_body_that_is_not_an_object_is_rejected_clearly(client, db_session):
    user = make_user(db_session, org=make_org(db_session), roles=["admin"])
    response = client.post("/v1/users", json=["a", "list"], headers=auth_header(db_session, user))
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]["code"] in ("malformed_json", "validation_failed")


def test_unexpected_exception_is_a_500_envelope_without_internals(settings, migrated_database):
    from api import create_app

    app = create_app(settings)

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    response = app.test_client().get("/boom-for-test")
    app.extensions["canvass_redis"].close()
    assert response.status_code == 500
    assert b"hunter2" not in response.data
    assert response.get_json()["error"]["code"] == "internal_error"


def test_nul_characters_are_refused_with_400_not_a_database_error(client, db_session, clean_redis):
    user = make_user(db_session, org=make_org(db_session), roles=["admin"])
    headers = auth_header(db_session, user)
    response = client.post("/v1/auth/token", data=b'{"email": "a\\u0000@b.org", "password": "x"}',
                           content_type="application/json")
    assert_error(response, 400, "nul_character")
    assert_error(client.get("/v1/users?role=admin%00", headers=headers), 400, "nul_character")
    # an escaped backslash followed by "u0000" is ordinary text
    ok = client.post("/v1/users", json={"email": "x@example.org", "name": "back\\u0000slash", "roles": ["canvasser"]},
                     headers=headers)
    assert ok.status_code == 201


def test_ids_beyond_bigint_are_not_found(client, db_session):
    user = make_user(db_session, org=make_org(db_session), roles=["admin"])
    response = client.get("/v1/users/" + "9" * 30, headers=auth_header(db_session, user))
    assert_error(response, 404, "not_found")


def test_a_pooled_connection_the_database_closed_is_replaced_before_use(settings, migrated_database):
    """Without pool_pre_ping's round trip: a server-side close (restart, terminate) is seen at checkout."""
    import time

    from sqlalchemy import create_engine, text

    from api import create_app
    from api.extensions import db

    app = create_app(settings)
    admin = create_engine(settings.database_url)
    try:
        with app.app_context():
            with db.engine.connect() as connection:
                backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as other:
                assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar_one()
                deadline = time.monotonic() + 5  # the backend exits asynchronously
                while time.monotonic() < deadline and other.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": backend}).scalar_one():
                    time.sleep(0.05)
            with db.engine.connect() as connection:
                assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
            db.engine.dispose()
    finally:
        admin.dispose()
        app.extensions["canvass_redis"].close()
