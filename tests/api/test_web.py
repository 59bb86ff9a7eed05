"""The web dashboard's pages: served by the app, locked down by CSP, nothing from elsewhere;
the printable walk list for leads."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tests.asserts import assert_error
from tests.canvass.dashboards.fieldwork import make_ward
from tests.factories import auth_header

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


@pytest.mark.parametrize("path", ["/sign-in", "/dashboard", "/walklists/1/print"])
def test_pages_are_served_with_a_strict_content_security_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    # No inline script or style, nothing loaded from another origin.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_root_redirects_to_the_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


def test_vendored_libraries_are_served_from_our_static_files(client):
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
                 "/static/vendor/chartjs/chart.umd.js", "/static/js/dashboard.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()


def test_no_cdn_urls_anywhere_in_our_pages_and_scripts():
    ours = [*TEMPLATES.rglob("*.html"), *(STATIC / "js").rglob("*.js"), *(STATIC / "css").rglob("*.css")]
    assert ours
    offenders = [str(p) for p in ours if re.search(r"https?://", p.read_text())]
    assert offenders == []


def test_lead_prints_a_walk_list_with_household_ids_and_entry_codes(client, db_session):
    ward = make_ward(db_session, doors_per_turf=3)
    assignment = ward.assignments[0]
    response = client.get(f"/walklists/{assignment.id}/print", headers=auth_header(db_session, ward.lead))
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Vary"] == "Authorization"
    html = response.get_data(as_text=True)
    for household in ward.doors[0]:
        assert f"<strong>{household.id}</strong>" in html
    assert "Turf 1 West" in html and "Fall canvass" in html and "Not home" in html
    codes = re.findall(r"<code>([0-9a-f-]{36})</code>", html)
    sheet, rows = codes[0], codes[1:]
    assert len(rows) == 3
    # The row codes are the client ids to type results back in with: stable for this sheet and door.
    assert rows[0] == str(uuid.uuid5(uuid.UUID(sheet), str(ward.doors[0][0].id)))


def test_walk_list_printing_is_for_leads_of_the_organization(client, db_session):
    ward, other = make_ward(db_session), make_ward(db_session)
    path = f"/walklists/{ward.assignments[0].id}/print"
    assert_error(client.get(path, headers=auth_header(db_session, ward.canvassers[0])), 403, "forbidden")
    assert_error(client.get(path, headers=auth_header(db_session, other.lead)), 404, "assignment_not_found")
    assert_error(client.get(path, headers={"Authorization": "Bearer nope"}), 401, "invalid_token")
    assert_error(client.get("/walklists/999999999/print", headers=auth_header(db_session, ward.lead)), 404,
                 "assignment_not_found")
