"""The authorization matrix: every route of the app x every caller, with the status each must get.

Built from the app's own route table (`app.url_map`), not from the OpenAPI document, so the web
pages, the docs and the health check are in it too. A route or method missing from MATRIX (or
left in it after the route is gone) fails the test: adding an endpoint means deciding, here,
who may call it.

Callers: each role (admin, organizer, field_lead, canvasser) of the organization that owns the
ids (own), of an unrelated organization (foreign) and of the coalition the owner belongs to
(coalition); and a request with no token, an expired one and a revoked one. Writes send `{}`:
the matrix is about who gets past the door (401/403/404), not about bodies, so an allowed write
answers its validation error (422). Each request runs in a savepoint rolled back afterwards, so
no cell sees another's writes.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from api.extensions import db
from canvass.auth.models import ApiToken
from canvass.auth.services import issue_token
from canvass.pipeline.votes import create_vote
from tests.api.world import org_with_one_of_everything
from tests.factories import make_org, make_token, make_user, tenant_row

ROLES = ("admin", "organizer", "field_lead", "canvasser")
PUBLIC = ()  # no token needed
ANY = ROLES
STAFF = ("admin", "organizer", "field_lead")
ORG = ("admin", "organizer")  # organizers and admins
LEAD = ("field_lead", "organizer")  # turf and team writers
FIELD = ("canvasser", "field_lead")  # the phone's writes
ADMIN = ("admin",)
PLEDGERS = ("canvasser", "field_lead", "organizer")


def but(status: int, **per_role: int) -> dict:
    """`status` for every role except those named."""
    return {role: per_role.get(role, status) for role in ROLES}

# (method, rule) -> (roles allowed, status of an allowed role of the owning organization,
#                    status of an allowed role of another organization [, of the coalition]).
# A status may be a dict role -> status where roles differ. Another organization's ids answer 404;
# routes without ids answer the caller's own organization (same status as own, usually).
# A role that is not allowed gets 403 whatever the organization; a bad token gets 401.
MATRIX: dict[tuple[str, str], tuple] = {
    # The console authenticates by its session cookie, never a bearer token: every caller here has none, so
    # its pages send to the sign-in page and its forms refuse (tests/api/test_web_console.py covers roles).
    ("GET", "/app"): (PUBLIC, 301, 301),
    ("GET", "/app/"): (PUBLIC, 200, 200),
    ("GET", "/app/manifest.webmanifest"): (PUBLIC, 200, 200),
    ("GET", "/app/sw.js"): (PUBLIC, 200, 200),
    ("GET", "/console/"): (PUBLIC, 302, 302),
    ("GET", "/console/conflicts"): (PUBLIC, 302, 302),
    ("POST", "/console/conflicts/<int:conflict_id>"): (PUBLIC, 302, 302),
    ("GET", "/console/cut"): (PUBLIC, 302, 302),
    ("GET", "/console/dues"): (PUBLIC, 302, 302),
    ("POST", "/console/dues"): (PUBLIC, 302, 302),
    ("POST", "/console/dues/import"): (PUBLIC, 302, 302),
    ("GET", "/console/events"): (PUBLIC, 302, 302),
    ("POST", "/console/events"): (PUBLIC, 302, 302),
    ("POST", "/console/events/attendance-import"): (PUBLIC, 302, 302),
    ("GET", "/console/events/<int:event_id>"): (PUBLIC, 302, 302),
    ("POST", "/console/events/<int:event_id>/attendance"): (PUBLIC, 302, 302),
    ("GET", "/console/households"): (PUBLIC, 302, 302),
    ("POST", "/console/households"): (PUBLIC, 302, 302),
    ("GET", "/console/votes"): (PUBLIC, 302, 302),
    ("POST", "/console/votes"): (PUBLIC, 302, 302),
    ("GET", "/console/votes/<int:vote_id>"): (PUBLIC, 302, 302),
    ("POST", "/console/votes/<int:vote_id>/recorded-ballots"): (PUBLIC, 302, 302),
    ("POST", "/console/votes/<int:vote_id>/close"): (PUBLIC, 302, 302),
    ("POST", "/console/cut"): (PUBLIC, 302, 302),
    ("GET", "/console/draw"): (PUBLIC, 302, 302),
    ("GET", "/console/assignments/<int:assignment_id>/print"): (PUBLIC, 302, 302),
    ("POST", "/console/draw"): (PUBLIC, 302, 302),
    ("GET", "/console/duplicates"): (PUBLIC, 302, 302),
    ("GET", "/console/follow-ups"): (PUBLIC, 302, 302),
    ("GET", "/console/people"): (PUBLIC, 302, 302),
    ("GET", "/console/people/<int:person_id>"): (PUBLIC, 302, 302),
    ("GET", "/console/people/<int:person_id>/merge"): (PUBLIC, 302, 302),
    ("POST", "/console/people/<int:person_id>/merge"): (PUBLIC, 302, 302),
    ("POST", "/console/pledges/<int:pledge_id>/follow-up"): (PUBLIC, 302, 302),
    ("GET", "/console/my-assignments"): (PUBLIC, 302, 302),
    ("GET", "/console/paper"): (PUBLIC, 302, 302),
    ("POST", "/console/paper"): (PUBLIC, 302, 302),
    ("GET", "/console/canvassers"): (PUBLIC, 302, 302),
    ("GET", "/console/sign-in"): (PUBLIC, 200, 200),
    ("POST", "/console/sign-in"): (PUBLIC, 400, 400),  # no CSRF token,
    ("POST", "/console/sign-out"): (PUBLIC, 302, 302),
    ("POST", "/console/teams"): (PUBLIC, 302, 302),
    ("GET", "/console/turfs"): (PUBLIC, 302, 302),
    ("GET", "/console/turfs/<int:turf_id>"): (PUBLIC, 302, 302),
    ("POST", "/console/turfs/<int:turf_id>/assignment"): (PUBLIC, 302, 302),
    ("POST", "/console/users"): (PUBLIC, 302, 302),
    ("POST", "/console/users/<int:user_id>"): (PUBLIC, 302, 302),
    # Membership rule trees, attestations and vote exclusions (issue 14).
    ("DELETE", "/v1/people/<int:person_id>/attestations/<int:attestation_id>"): (STAFF, 200, 404),
    ("GET", "/v1/membership-rule/tree"): (ORG, 200, 200),
    ("PUT", "/v1/membership-rule/tree"): (ADMIN, 422, 422),
    ("GET", "/v1/membership-rule/versions"): (ORG, 200, 200),
    ("GET", "/v1/people/<int:person_id>/membership/evaluation"): (ANY, but(200, canvasser=403), but(404, canvasser=403)),
    ("GET", "/v1/people/<int:person_id>/attestations"): (STAFF, 200, 404),
    ("POST", "/v1/people/<int:person_id>/endorsements"): (STAFF, 201, 404),  # the role defaults to the caller's
    ("POST", "/v1/people/<int:person_id>/membership-overrides"): (ADMIN, 422, 404),  # a reason is required
    ("GET", "/v1/votes/<int:vote_id>/exclusions"): (ORG, 200, 404),
    ("DELETE", "/v1/assignments/<int:assignment_id>"): (ANY, but(200, canvasser=404), 404),
    ("DELETE", "/v1/auth/token"): (ANY, 204, 204),
    ("DELETE", "/v1/people/<int:person_id>/user"): (ADMIN, 200, 404),
    ("DELETE", "/v1/teams/<int:team_id>/members/<int:user_id>"): (LEAD, 200, 404),
    ("DELETE", "/v1/turfs/<int:turf_id>/assignment"): (LEAD, 200, 404),
    ("DELETE", "/v1/users/<int:user_id>"): (ADMIN, 200, 404),
    ("DELETE", "/v1/users/<int:user_id>/tokens"): (ADMIN, 200, 404),
    ("GET", "/"): (PUBLIC, 302, 302),
    ("GET", "/dashboard"): (PUBLIC, 200, 200),
    ("GET", "/app/messages/<locale>.json"): (PUBLIC, 200, 200),  # the canvasser app's catalog (api/i18n.py)
    ("GET", "/healthz"): (PUBLIC, 200, 200),
    ("GET", "/sign-in"): (PUBLIC, 200, 200),
    ("GET", "/static/<path:filename>"): (PUBLIC, 200, 200),
    ("GET", "/v1/assignments/<int:assignment_id>"): (ANY, but(200, canvasser=404), 404),
    ("GET", "/v1/assignments/<int:assignment_id>/walklist"): (ANY, but(200, canvasser=404), 404),
    ("GET", "/v1/audit-events"): (ADMIN, 200, 200),
    ("GET", "/v1/boundaries"): (STAFF, 200, 200),
    ("GET", "/v1/boundaries/<int:boundary_id>"): (STAFF, 200, 404),
    ("GET", "/v1/campaigns"): (STAFF, 200, 200),
    ("GET", "/v1/campaigns/<int:campaign_id>"): (STAFF, 200, 404),
    ("GET", "/v1/contacts/conflicts"): (LEAD, 200, 200),
    ("GET", "/v1/contacts/flagged"): (STAFF, 200, 200),
    ("GET", "/v1/dashboards/coalition"): (STAFF, 200, 200),
    ("GET", "/v1/dashboards/coalition/<int:affiliate_id>"): (STAFF, 404, 404, 200),
    ("GET", "/v1/dashboards/leaderboard"): (STAFF, 200, 200),
    ("GET", "/v1/dashboards/roster"): (STAFF, 200, 200),
    ("GET", "/v1/dashboards/summary"): (STAFF, 200, 200),
    ("GET", "/v1/dashboards/turfs"): (STAFF, 200, 200),
    ("GET", "/v1/docs"): (PUBLIC, 200, 200),
    ("GET", "/v1/docs/assets/<path:filename>"): (PUBLIC, 200, 200),
    ("GET", "/v1/dues"): (ORG, 200, 200),
    ("GET", "/v1/dues/<int:payment_id>"): (ORG, 200, 404),
    ("GET", "/v1/entry-codes/<string:code>"): (LEAD, 200, 404),
    ("GET", "/v1/events"): (STAFF, 200, 200),
    ("GET", "/v1/events/<int:event_id>"): (STAFF, 200, 404),
    ("GET", "/v1/events/<int:event_id>/attendance"): (STAFF, 200, 404),
    ("GET", "/v1/exports/<any(contacts, pledges, people, members):kind>"): (ORG, 200, 200),
    ("GET", "/v1/exports/canvasses"): (ORG, 200, 200),
    ("GET", "/v1/follow-ups"): (STAFF, 200, 200),
    ("GET", "/v1/funnels"): (STAFF, 200, 200),
    ("GET", "/v1/me"): (ANY, 200, 200),
    ("GET", "/v1/me/assignments"): (('canvasser',), 200, 200),
    ("GET", "/v1/membership-rule"): (ORG, 200, 200),
    ("GET", "/v1/openapi.json"): (PUBLIC, 200, 200),
    ("GET", "/v1/people/<int:person_id>"): (STAFF, 200, 404),
    ("GET", "/v1/people/<int:person_id>/membership"): (ANY, but(200, canvasser=403), but(404, canvasser=403)),  # a canvasser: only their own
    ("GET", "/v1/people/<int:person_id>/pipeline"): (STAFF, 200, 404),
    ("GET", "/v1/people/duplicates"): (ORG, 200, 200),
    ("GET", "/v1/pledges/<int:pledge_id>"): (STAFF, 200, 404),
    ("GET", "/v1/teams"): (STAFF, 200, 200),
    ("GET", "/v1/teams/<int:team_id>"): (STAFF, 200, 404),
    ("GET", "/v1/turf-cuts/<int:cut_id>"): (STAFF, 200, 404),
    ("GET", "/v1/turfs"): (STAFF, 200, 200),
    ("GET", "/v1/turfs/<int:turf_id>"): (STAFF, 200, 404),
    ("GET", "/v1/turfs/<int:turf_id>/assignment"): (STAFF, 200, 404),
    ("GET", "/v1/turfs/<int:turf_id>/history"): (STAFF, 200, 404),
    ("GET", "/v1/users"): (STAFF, 200, 200),
    ("GET", "/v1/users/<int:user_id>"): (STAFF, 200, 404),
    ("GET", "/v1/votes"): (ANY, 200, 200),
    ("GET", "/v1/votes/<int:vote_id>"): (ANY, 200, 404),
    ("GET", "/v1/votes/<int:vote_id>/eligibility"): (ORG, 200, 404),
    ("GET", "/v1/votes/<int:vote_id>/results"): (ANY, 409, 404),
    ("GET", "/walklists/<int:assignment_id>/print"): (STAFF, 200, 404),  # without a token: the loader page
    ("PATCH", "/v1/assignments/<int:assignment_id>"): (LEAD, 422, 422),
    ("PATCH", "/v1/campaigns/<int:campaign_id>"): (ORG, 200, 404),
    ("PATCH", "/v1/events/<int:event_id>"): (STAFF, 200, 404),
    ("PATCH", "/v1/membership-rule"): (ORG, 200, 200),
    ("PATCH", "/v1/people/<int:person_id>"): (ORG, 200, 404),
    ("PATCH", "/v1/teams/<int:team_id>"): (LEAD, 200, 404),
    ("PATCH", "/v1/turfs/<int:turf_id>"): (LEAD, 200, 404),
    ("PATCH", "/v1/turfs/<int:turf_id>/assignment"): (LEAD, 422, 422),
    ("PATCH", "/v1/users/<int:user_id>"): (ADMIN, 200, 404),
    ("POST", "/v1/attendance-imports"): (ORG, 400, 400),
    ("POST", "/v1/auth/token"): (PUBLIC, 422, 422),
    ("POST", "/v1/boundaries"): (ADMIN, 422, 422),
    ("POST", "/v1/campaigns"): (ORG, 422, 422),
    ("POST", "/v1/contacts"): (FIELD, 422, 422),
    ("POST", "/v1/contacts/conflicts/<int:conflict_id>/resolution"): (LEAD, 422, 422),
    ("POST", "/v1/dues"): (ORG, 422, 422),
    ("POST", "/v1/dues-imports"): (ORG, 400, 400),
    ("POST", "/v1/dues/<int:payment_id>/void"): (ORG, 422, 422),
    ("POST", "/v1/events"): (STAFF, 422, 422),
    ("POST", "/v1/events/<int:event_id>/attendance"): (STAFF, 422, 422),
    ("POST", "/v1/people/<int:person_id>/erasure"): (ORG, 200, 404),
    ("POST", "/v1/people/<int:person_id>/merge"): (ORG, 422, 422),
    ("POST", "/v1/pipeline/rebuilds"): (ADMIN, 202, 202),
    ("POST", "/v1/pledges"): (PLEDGERS, 422, 422),
    ("POST", "/v1/pledges/<int:pledge_id>/follow-ups"): (ORG, 422, 422),
    ("POST", "/v1/pledges/batch"): (STAFF, 200, 200),
    ("POST", "/v1/sync"): (FIELD, 200, 200),
    ("POST", "/v1/teams"): (LEAD, 422, 422),
    ("POST", "/v1/teams/<int:team_id>/members"): (LEAD, 422, 422),
    ("POST", "/v1/turf-cuts"): (LEAD, 422, 422),
    ("POST", "/v1/turfs"): (LEAD, 422, 422),
    ("POST", "/v1/turfs/<int:turf_id>/assignment"): (LEAD, 422, 422),
    ("POST", "/v1/users"): (ADMIN, 422, 422),
    ("POST", "/v1/votes"): (ORG, 422, 422),
    ("POST", "/v1/votes/<int:vote_id>/ballot"): (ANY, 422, 422),
    ("POST", "/v1/votes/<int:vote_id>/recorded-ballots"): (ORG, 422, 422),
    ("POST", "/v1/votes/<int:vote_id>/close"): (ORG, 422, 422),
    ("PUT", "/v1/campaigns/<int:campaign_id>/support-question"): (ORG, 422, 422),
    ("PUT", "/v1/people/<int:person_id>/user"): (ADMIN, 422, 422),
    ("PUT", "/v1/teams/<int:team_id>/members"): (LEAD, 422, 422),
    ("PUT", "/v1/turfs/<int:turf_id>/assignment"): (LEAD, 422, 404),
}
# What a request without any token gets where that is not 401 (public pages).
NO_TOKEN = {("GET", "/walklists/<int:assignment_id>/print"): 200}  # a loader that fetches with the token

TOKEN_STATES = ("none", "expired", "revoked")
VALUES_NOT_IDS = {"kind": "contacts", "filename": "css/dashboard.css", "locale": "es"}
DOCS_ASSET = "swagger-ui.css"


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def _url(app, rule, ids) -> str:
    values = {}
    for name in rule.arguments:
        if name == "filename":
            values[name] = DOCS_ASSET if rule.endpoint == "docs_assets.swagger_asset" else "css/dashboard.css"
        elif name in VALUES_NOT_IDS:
            values[name] = VALUES_NOT_IDS[name]
        else:
            values[name] = ids[name]
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=None)


def _expected(route, role: str | None, where: str) -> int:
    """The status the table gives this caller (role None: `where` is a bad or missing token)."""
    allowed, own, foreign, *rest = MATRIX[route]
    coalition = rest[0] if rest else foreign
    if allowed == PUBLIC:
        return own
    if role is None:
        return NO_TOKEN.get(route, 401) if where == "none" else 401
    if role not in allowed:
        return 403
    status = {"own": own, "foreign": foreign, "coalition": coalition}[where]
    return status[role] if isinstance(status, dict) else status


@pytest.fixture
def world(db_session):
    coalition = make_org(db_session)
    org, ids = org_with_one_of_everything(db_session, parent=coalition)
    now = datetime.now(UTC)
    vote = create_vote(db_session, organization_id=org.id, title="Endorse?", scope="organization", options=["yes", "no"],
                       cutoff_at=now - timedelta(days=1), opens_at=now - timedelta(hours=1),
                       closes_at=now + timedelta(days=1), now=now)
    ids["vote_id"] = vote.id
    foreign = make_org(db_session)
    callers = {}
    for where, home in (("own", org), ("foreign", foreign), ("coalition", coalition)):
        for role in ROLES:
            user = make_user(db_session, org=home, roles=[role])
            callers[(where, role)] = {"Authorization": f"Bearer {make_token(db_session, user=user)}"}
    admin = make_user(db_session, org=org, roles=list(ROLES))
    expired = issue_token(db_session, user=admin, ttl=timedelta(seconds=-1)).raw
    revoked = issue_token(db_session, user=admin, ttl=timedelta(hours=1))
    db_session.execute(update(ApiToken).where(ApiToken.id == revoked.token.id).values(revoked_at=now))
    db_session.flush()
    callers[("none", None)] = {}
    callers[("expired", None)] = {"Authorization": f"Bearer {expired}"}
    callers[("revoked", None)] = {"Authorization": f"Bearer {revoked.raw}"}
    return ids, callers


def _in_savepoint(db_connection, send):
    """Send a request inside a savepoint of the test's connection, then roll it back."""
    db.session.commit()  # the session's own savepoint (the fixtures' flushes) is released first
    savepoint = db_connection.begin_nested()
    try:
        response = send()
        status = response.status_code
        body = response.get_data()
        response.close()
    finally:
        db.session.rollback()
        savepoint.rollback()
    return status, body


def test_every_route_answers_each_caller_as_the_matrix_says(app, client, db_connection, world, clean_redis):
    ids, callers = world
    routes = {(method, rule.rule): rule for method, rule in _routes(app)}
    assert sorted(set(routes) - set(MATRIX)) == [], "add these routes to MATRIX (who may call them?)"
    assert sorted(set(MATRIX) - set(routes)) == [], "these routes are gone: remove them from MATRIX"
    wrong, checked = [], 0
    for (method, path), rule in sorted(routes.items()):
        url = _url(app, rule, ids)
        for (where, role), headers in callers.items():
            expected = _expected((method, path), role, where)
            status, body = _in_savepoint(db_connection, lambda: client.open(
                url, method=method, headers=headers, json={} if method in {"POST", "PUT", "PATCH"} else None))
            checked += 1
            if status != expected:
                wrong.append(f"{method} {path} as {where} {role}: {status}, expected {expected} {body[:120]!r}")
    assert wrong == [], "\n".join(wrong)
    # 129 operations x (4 roles x 3 organizations + 3 token states), as docs/reliability.md records.
    assert checked == len(MATRIX) * 15


def test_a_coalition_sees_its_affiliates_aggregates_and_never_their_people(app, client, db_session, world):
    ids, callers = world
    from canvass.people.models import Person

    person = tenant_row(db_session, Person, ids["person_id"])
    secrets = [person.first_name, person.last_name or ""]
    secrets = [s for s in secrets if len(s) > 3]
    for role in STAFF:
        headers = callers[("coalition", role)]
        overview = client.get("/v1/dashboards/coalition", headers=headers)
        assert overview.status_code == 200
        assert any(a["organization"]["id"] == ids["affiliate_id"] for a in overview.get_json()["affiliates"])
        detail = client.get(f"/v1/dashboards/coalition/{ids['affiliate_id']}", headers=headers)
        assert detail.status_code == 200
        for response in (overview, detail):
            text = response.get_data(as_text=True)
            assert not [s for s in secrets if s in text]
        # and the person's own pages stay closed to the coalition
        assert client.get(f"/v1/people/{ids['person_id']}", headers=headers).status_code == 404


def test_bad_tokens_get_the_code_that_says_why(client, world):
    _, callers = world
    codes = {state: client.get("/v1/me", headers=callers[(state, None)]).get_json()["error"]["code"]
             for state in TOKEN_STATES}
    assert codes == {"none": "missing_token", "expired": "token_expired", "revoked": "token_revoked"}


def test_matrix_roles_match_each_views_declared_roles(app):
    """The table and the decorators say the same thing (the description flask-smorest publishes)."""
    spec = app.test_client().get("/v1/openapi.json").get_json()
    mismatched = []
    for path, item in spec["paths"].items():
        rule_path = re.sub(r"\{(\w+)\}", r"<\1>", path)
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            declared = re.search(r"Roles: ([a-z_, ]+)\.", operation.get("description", ""))
            entries = [entry for (m, p), entry in MATRIX.items()
                       if m == method.upper() and re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"<\1>", p) == rule_path]
            if not entries:
                continue
            allowed = set(entries[0][0])
            if declared:
                if set(declared.group(1).split(", ")) != allowed:
                    mismatched.append(f"{method.upper()} {path}: {sorted(allowed)} vs {declared.group(1)}")
            elif operation.get("security") and allowed != set(ROLES):
                mismatched.append(f"{method.upper()} {path}: any signed-in user vs {sorted(allowed)}")
    assert mismatched == []
