"""axe-core on every console page, wide and at 360 px, failing on serious or critical violations; the
people flows in headless Chromium: search -> person -> merge from the keyboard alone, logging a follow-up
call, drawing a turf by clicking its corners on the map.

axe-core is vendored (tests/e2e/vendor/axe-core/axe.min.js, MPL-2.0, its LICENSE beside it; the version
is pinned by tests/e2e/package.json and package-lock.json) and injected by the driver, which the pages'
CSP does not govern: the pages themselves load nothing new."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import PASSWORD, screenshot, serve

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
WAIT_SECONDS = 20
WARD_BOUNDS = (-87.72, 41.94, -87.70, 41.95)
RUN_AXE = """
var done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(function (result) {
  done(result.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(function (n) { return n.target.join(" "); })};
  }));
}, function (error) { done([{id: "axe-error", impact: "critical", help: String(error), nodes: []}]); });
"""


@dataclass
class PeopleSite:
    url: str
    lead_email: str
    organizer_email: str
    canvasser_email: str
    turf_id: int
    assignment_id: int
    person_id: int
    twin_ids: list
    pledge_id: int


def _seed(session) -> dict:
    """Ward 33 with 24 doors (people in each), a leased turf and a free one, two records of one person
    (same phone), a pledge card due for its call, a door result."""
    import uuid
    from datetime import timedelta

    from canvass.canvassing.records import Contact, Pledge
    from canvass.db import utcnow
    from canvass.normalize import name_key
    from tests.factories import (
        make_assignment,
        make_boundary,
        make_campaign,
        make_household,
        make_org,
        make_person,
        make_turf,
        make_user,
    )

    org = make_org(session, name="Ward 33 Working Families")
    lead = make_user(session, org=org, roles=["field_lead"], name="Lena Lead")
    organizer = make_user(session, org=org, roles=["organizer"], name="Omar Organizer")
    canvasser = make_user(session, org=org, roles=["canvasser"], name="Ana Walker")
    ward = make_boundary(session, org=org, name="33", bounds=WARD_BOUNDS)
    campaign = make_campaign(session, org=org, name="Fall canvass")
    households, people = [], []
    for column in range(6):
        for row in range(4):
            household = make_household(session, org=org, lon=-87.719 + 0.003 * column, lat=41.941 + 0.002 * row,
                                       ward=ward)
            households.append(household)
            people.append(make_person(session, org=org, household=household))
    leased = make_turf(session, org=org, households=households[:4], ward=ward, name="Turf 1 West",
                       bounds=(-87.72, 41.94, -87.718, 41.95))
    make_turf(session, org=org, households=households[4:], ward=ward, name="Turf 2 Rest",
              bounds=(-87.718, 41.94, -87.70, 41.95))
    lease = make_assignment(session, org=org, turf=leased, canvasser=canvasser, campaign=campaign)
    twins = [make_person(session, org=org, household=households[10], first_name=first, last_name="Doublet",
                         phone="13125550142") for first in ("Dana", "Danna")]
    for twin in twins:
        twin.name_key = name_key(twin.first_name, twin.last_name)
    session.add(Contact(organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id,
                        assignment_id=lease.id, canvasser_id=canvasser.id, household_id=households[0].id,
                        person_id=people[0].id, occurred_at=utcnow() - timedelta(days=1), result_code="come_back"))
    card = Pledge(organization_id=org.id, client_id=uuid.uuid4(), pledge_type="member", person_id=people[0].id,
                  occurred_at=utcnow() - timedelta(days=9), consent_to_contact=True, follow_up_status="pending",
                  next_follow_up_at=utcnow() - timedelta(days=2), canvasser_id=canvasser.id)
    session.add(card)
    session.flush()
    return {"lead_email": lead.email, "organizer_email": organizer.email, "canvasser_email": canvasser.email,
            "turf_id": leased.id, "assignment_id": lease.id, "person_id": people[0].id,
            "twin_ids": [t.id for t in twins], "pledge_id": card.id}


@pytest.fixture(scope="module")
def site(settings, migrated_database):
    with serve(settings, _seed) as (url, seeded):
        yield PeopleSite(url=url, **seeded)


def wait(browser):
    return WebDriverWait(browser, WAIT_SECONDS)


def sign_in(browser, site, email):
    browser.delete_all_cookies()
    browser.get(f"{site.url}/console/sign-in")
    browser.find_element(By.ID, "email").send_keys(email, Keys.TAB)
    browser.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER)
    wait(browser).until(lambda b: "/sign-in" not in b.current_url)


def axe_violations(browser) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is."""
    browser.set_script_timeout(60)
    if not browser.execute_script("return !!window.axe"):
        browser.execute_script(AXE.read_text(encoding="utf-8"))
    return [v for v in browser.execute_async_script(RUN_AXE) if v["impact"] in BLOCKING]


def pages_of(site) -> dict[str, list[str]]:
    twins = site.twin_ids
    return {
        site.lead_email: [
            "/console/turfs", "/console/turfs?ward=33", f"/console/turfs/{site.turf_id}", "/console/cut",
            "/console/cut?ward=33&target_doors=6", "/console/canvassers", "/console/paper",
            f"/console/paper?assignment_id={site.assignment_id}", "/console/conflicts", "/console/draw",
            "/console/people", "/console/people?q=doublet", f"/console/people/{site.person_id}",
            "/console/follow-ups", "/console/my-assignments",
        ],
        site.organizer_email: [
            "/console/duplicates", f"/console/people/{twins[1]}/merge?into={twins[0]}",
            f"/console/people/{site.person_id}", "/console/follow-ups",
            "/console/events", "/console/dues", "/console/votes", "/console/households",
        ],
        site.canvasser_email: ["/console/my-assignments", "/console/turfs"],  # the second: the 403 page
    }


@pytest.mark.parametrize("width", [1366, 360])
def test_every_console_page_has_no_serious_or_critical_axe_violation(browser, site, width):
    browser.set_window_size(width, 900)
    found = {}
    browser.get(f"{site.url}/console/sign-in")
    found["/console/sign-in"] = axe_violations(browser)
    for email, paths in pages_of(site).items():
        sign_in(browser, site, email)
        for path in paths:
            browser.get(f"{site.url}{path}")
            found[path] = axe_violations(browser)
            if width == 360:
                name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "").replace("&", "-")
                screenshot(browser, f"axe-{name}-360px")
    assert {path: v for path, v in found.items() if v} == {}


def _tab_to(browser, predicate, limit: int = 200):
    """Press Tab until the focused element satisfies `predicate` (keyboard only: no clicks)."""
    for _ in range(limit):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if predicate(browser.switch_to.active_element):
            return browser.switch_to.active_element
    raise AssertionError("never reached by Tab")


def test_search_person_and_merge_from_the_keyboard_alone(browser, site):
    sign_in(browser, site, site.organizer_email)
    browser.get(f"{site.url}/console/people")
    # The search field has the focus (autofocus is applied with the page's first rendering: waited for).
    wait(browser).until(lambda b: b.switch_to.active_element.get_attribute("id") == "q")
    browser.switch_to.active_element.send_keys("Doublet", Keys.ENTER)
    wait(browser).until(EC.presence_of_element_located((By.ID, "people-found")))
    second = site.twin_ids[1]
    link = _tab_to(browser, lambda el: (el.get_attribute("href") or "").endswith(f"/console/people/{second}"))
    link.send_keys(Keys.ENTER)
    wait(browser).until(EC.url_contains(f"/console/people/{second}"))
    field = _tab_to(browser, lambda el: el.get_attribute("id") == "merge-into")
    field.send_keys(str(site.twin_ids[0]), Keys.ENTER)
    wait(browser).until(EC.presence_of_element_located((By.ID, "compare")))
    screenshot(browser, "console-merge-compare")
    button = _tab_to(browser, lambda el: el.tag_name == "button" and el.find_element(By.XPATH, "..")
                     .get_attribute("id") == "merge-form")
    button.send_keys(Keys.ENTER)
    wait(browser).until(EC.url_contains(f"/console/people/{site.twin_ids[0]}"))
    assert "Merged" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    screenshot(browser, "console-merged-person")
    browser.get(f"{site.url}/console/duplicates")
    assert f'data-pair="{site.twin_ids[0]}_{second}"' not in browser.page_source


def test_an_organizer_logs_a_follow_up_call_and_the_card_leaves_the_list(browser, site):
    sign_in(browser, site, site.organizer_email)
    browser.get(f"{site.url}/console/follow-ups")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-pledge-id="{site.pledge_id}"]')
    row.find_element(By.NAME, "notes").send_keys("coming Tuesday")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # outcome: reached, the first choice
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".flash.ok")))
    assert "done" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    assert f'data-pledge-id="{site.pledge_id}"' not in browser.page_source
    screenshot(browser, "console-follow-ups")


def test_a_lead_draws_a_turf_by_clicking_its_corners(browser, site):
    sign_in(browser, site, site.lead_email)
    browser.get(f"{site.url}/console/draw?ward=33")
    area = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#console-map[data-loaded]")))
    half_w, half_h = area.size["width"] * 0.3, area.size["height"] * 0.3
    # Corners inside the free turf's part of the ward (its doors are not leased).
    for dx, dy in ((0.1, -1), (1, -1), (1, 1), (0.1, 1)):
        ActionChains(browser).move_to_element_with_offset(area, int(dx * half_w), int(dy * half_h)).click().perform()
    assert browser.find_element(By.ID, "draw-count").text == "4"
    assert '"Polygon"' in browser.find_element(By.ID, "draw-geometry").get_attribute("value")
    browser.find_element(By.ID, "draw-name").send_keys("Drawn by Lena")
    screenshot(browser, "console-draw")
    browser.find_element(By.CSS_SELECTOR, "#draw-form button[type=submit]").click()
    wait(browser).until(EC.url_matches(r"/console/turfs/\d+$"))
    assert "Drawn by Lena" in browser.find_element(By.TAG_NAME, "h1").text
    assert "doors" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    # Over the leased turf's doors: the service's refusal, shown on the page.
    browser.get(f"{site.url}/console/draw?ward=33")
    area = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#console-map[data-loaded]")))
    half_w, half_h = area.size["width"] * 0.5, area.size["height"] * 0.3
    for dx, dy in ((-0.99, -1), (0.99, -1), (0.99, 1), (-0.99, 1)):
        ActionChains(browser).move_to_element_with_offset(area, int(dx * half_w), int(dy * half_h)).click().perform()
    browser.find_element(By.ID, "draw-name").send_keys("Over a lease")
    browser.find_element(By.CSS_SELECTOR, "#draw-form button[type=submit]").click()
    error = wait(browser).until(EC.presence_of_element_located((By.ID, "draw-error")))
    assert "doors_already_leased" in error.text
    screenshot(browser, "console-draw-refused")
