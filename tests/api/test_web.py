"""The web dashboard's pages: served by the app, locked down by CSP, nothing from elsewhere;
the printable walk list for leads."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from canvass.campaigns.models import Question
from canvass.turfs.entry_codes import decode_entry_code, encode_entry_code
from tests.asserts import assert_error
from tests.canvass.dashboards.fieldwork import make_ward
from tests.factories import auth_header, make_assignment, make_campaign, make_team, make_turf

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


def test_lead_prints_a_walk_list_with_entry_codes_names_script_questions_and_a_map(client, db_session):
    ward = make_ward(db_session, doors_per_turf=3)
    ward.campaign.script = "Hi, I'm with the tenants' union <and> your neighbour"
    db_session.add_all([
        Question(organization_id=ward.org.id, campaign_id=ward.campaign.id, position=2, prompt="Biggest issue?",
                 kind="choice", choices=["Rent", "Repairs", "Heat"]),
        Question(organization_id=ward.org.id, campaign_id=ward.campaign.id, position=3, prompt="How likely to vote?",
                 kind="scale"),
        Question(organization_id=ward.org.id, campaign_id=ward.campaign.id, position=4, prompt="Anything else?",
                 kind="text"),
    ])
    db_session.flush()
    assignment = ward.assignments[0]
    response = client.get(f"/walklists/{assignment.id}/print", headers=auth_header(db_session, ward.lead))
    assert response.status_code == 200 and response.mimetype == "text/html"
    # Cookie too: the page's language may be the one remembered in the session.
    assert [v.strip() for v in response.headers["Vary"].split(",")] == ["Authorization", "Cookie"]
    html = response.get_data(as_text=True)
    # One entry code per door, in walking order, each decoding to its door.
    codes = re.findall(r'<td class="entry-code"><code>([2-9A-Z]{8})</code></td>', html)
    assert codes == [encode_entry_code(h.id) for h in ward.doors[0]]
    assert [decode_entry_code(code) for code in codes] == [h.id for h in ward.doors[0]]
    # The canvasser's and the turf's names, the campaign, its script (escaped), every question and its format.
    assert "Canvasser <strong>Canvasser 0</strong>" in html and "Turf 1 West" in html and "Fall canvass" in html
    assert "Hi, I&#39;m with the tenants&#39; union &lt;and&gt; your neighbour" in html
    assert "Will you vote?" in html and "circle one: yes / no" in html
    assert "Biggest issue?" in html and "circle one: Rent / Repairs / Heat" in html
    assert "How likely to vote?" in html and "circle one: 1 2 3 4 5" in html
    assert "Anything else?" in html and '<span class="write-line"></span>' in html
    assert "Not home" in html
    # A small map: inline SVG with the turf's outline, the route and a dot per door (nothing inline to run).
    svg = re.search(r"<svg class=\"turf-map\".*?</svg>", html, re.S).group(0)
    assert svg.count('<path class="turf-outline"') == 1 and svg.count('<circle class="stop"') == 3
    assert '<polyline class="walk-route"' in svg and "<script" not in svg and " style=" not in svg
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_a_team_lease_prints_the_team_and_its_members(client, db_session):
    ward = make_ward(db_session, doors_per_turf=2)
    team = make_team(db_session, org=ward.org, members=ward.canvassers, name="Night owls")
    lease = make_assignment(db_session, org=ward.org, turf=make_turf(db_session, org=ward.org,
                                                                     households=ward.doors[0], name="Shared"),
                            campaign=make_campaign(db_session, org=ward.org), team=team)
    html = client.get(f"/walklists/{lease.id}/print", headers=auth_header(db_session, ward.lead)).get_data(as_text=True)
    assert "Team <strong>Night owls</strong>" in html and "Canvasser 0, Canvasser 1" in html


def test_walk_list_printing_is_for_leads_of_the_organization(client, db_session):
    ward, other = make_ward(db_session), make_ward(db_session)
    path = f"/walklists/{ward.assignments[0].id}/print"
    assert_error(client.get(path, headers=auth_header(db_session, ward.canvassers[0])), 403, "forbidden")
    assert_error(client.get(path, headers=auth_header(db_session, other.lead)), 404, "assignment_not_found")
    assert_error(client.get(path, headers={"Authorization": "Bearer nope"}), 401, "invalid_token")
    assert_error(client.get("/walklists/999999999/print", headers=auth_header(db_session, ward.lead)), 404,
                 "assignment_not_found")
