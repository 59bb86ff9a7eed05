"""The console in headless Chromium: a lead signs in from the keyboard, cuts ward 33 (preview, then
keep), assigns two turfs, keys a paper sheet back in (a typo'd code refused in its row, a resubmission
storing nothing twice); a canvasser lands on their assignments; every page at 360 px and checked for
labels, tab order and a visible focus (a documented subset of axe-core's rules, docs/console.md)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.conftest import PASSWORD, screenshot, serve

WAIT_SECONDS = 20
WARD_BOUNDS = (-87.72, 41.94, -87.70, 41.95)


@dataclass
class ConsoleSite:
    url: str
    lead_email: str
    canvasser_email: str
    canvasser_names: list
    settings: object


def _seed(session) -> dict:
    """A demo-like organization: ward 33 with 24 doors on a 6 x 4 grid, no turfs yet; a lead, two canvassers,
    a campaign asking one yes/no question."""
    from tests.factories import make_boundary, make_campaign, make_household, make_org, make_person, make_user

    org = make_org(session, name="Ward 33 Working Families")
    lead = make_user(session, org=org, roles=["field_lead"], name="Lena Lead")
    canvassers = [make_user(session, org=org, roles=["canvasser"], name=name) for name in ("Ana Walker", "Ben Doors")]
    ward = make_boundary(session, org=org, name="33", bounds=WARD_BOUNDS)
    make_campaign(session, org=org, name="Fall canvass")
    for column in range(6):
        for row in range(4):
            household = make_household(session, org=org, lon=-87.719 + 0.003 * column, lat=41.941 + 0.002 * row,
                                       ward=ward)
            make_person(session, org=org, household=household)
    return {"lead_email": lead.email, "canvasser_email": canvassers[0].email,
            "canvasser_names": [c.name for c in canvassers]}


@pytest.fixture(scope="module")
def console(settings, migrated_database):
    with serve(settings, _seed) as (url, seeded):
        yield ConsoleSite(url=url, settings=settings, **seeded)


def sign_in_by_keyboard(browser, site, email):
    browser.get(f"{site.url}/console/sign-in")
    field = browser.find_element(By.ID, "email")
    field.send_keys(email, Keys.TAB)
    browser.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER)


def wait(browser):
    return WebDriverWait(browser, WAIT_SECONDS)


def severe_console_messages(browser):
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]


def accessibility_problems(browser) -> list:
    """The subset we check without axe-core: every visible form field has a label (label[for], a wrapping
    label, or aria-label), no positive tabindex, and the focused element shows an outline."""
    return browser.execute_script("""
        var problems = [];
        document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach(function (el) {
          var labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.closest('label')
                         || el.getAttribute('aria-label');
          if (!labelled) { problems.push('unlabelled ' + el.outerHTML.slice(0, 80)); }
        });
        document.querySelectorAll('[tabindex]').forEach(function (el) {
          if (parseInt(el.getAttribute('tabindex'), 10) > 0) { problems.push('positive tabindex ' + el.tagName); }
        });
        return problems;
    """)


def assert_focus_is_visible(browser):
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    browser.switch_to.active_element.send_keys(Keys.TAB)  # past the skip link, to the first nav link
    style = browser.execute_script(
        "var s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth];")
    assert style[0] != "none" and style[1] != "0px", style


def assert_fits_the_screen(browser):
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"), browser.current_url


def _codes_of_assignment(settings, assignment_id: int) -> list[str]:
    from sqlalchemy import create_engine, text

    from canvass.turfs.entry_codes import encode_entry_code

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            households = connection.execute(text(
                "SELECT s.household_id FROM assignments a JOIN turf_stops s ON s.organization_id = a.organization_id "
                "AND s.turf_id = a.turf_id WHERE a.id = :id ORDER BY s.seq"), {"id": assignment_id}).scalars().all()
    finally:
        engine.dispose()
    return [encode_entry_code(h) for h in households]


def test_lead_cuts_ward_33_assigns_two_turfs_and_keys_a_paper_sheet(browser, console):
    sign_in_by_keyboard(browser, console, console.lead_email)
    wait(browser).until(EC.url_contains("/console/turfs"))

    # Cut: preview first (nothing saved), then keep.
    browser.get(f"{console.url}/console/cut")
    browser.find_element(By.ID, "cut-ward").send_keys("33", Keys.TAB)
    browser.switch_to.active_element.send_keys("8", Keys.ENTER)
    wait(browser).until(EC.presence_of_element_located((By.ID, "cut-preview")))
    preview_rows = browser.find_elements(By.CSS_SELECTOR, "#preview-table tbody tr")
    assert len(preview_rows) >= 2
    wait(browser).until(lambda d: d.find_element(By.ID, "console-map").get_attribute("data-loaded") == "true")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#console-map path.turf")) == len(preview_rows)
    screenshot(browser, "console-cut-preview")
    browser.find_element(By.ID, "keep-cut").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#turf-table tbody tr[data-turf-id]")))
    assert "cut into" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
    turf_links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#turf-table tbody a")]
    assert len(turf_links) == len(preview_rows)

    # Assign two turfs, one to each canvasser.
    for link, name in zip(turf_links[:2], console.canvasser_names, strict=True):
        browser.get(link)
        Select(browser.find_element(By.ID, "assign-holder")).select_by_visible_text(name)
        browser.find_element(By.CSS_SELECTOR, "#assign-form button[type=submit]").click()
        message = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".flash.ok"))).text
        assert f"leased to {name}" in message
        assert name in browser.find_element(By.ID, "turf-history").text
    screenshot(browser, "console-turf-assigned")
    browser.get(f"{console.url}/console/turfs?ward=33")
    wait(browser).until(lambda d: d.find_element(By.ID, "console-map").get_attribute("data-loaded") == "true")
    states = {p.get_attribute("data-status") for p in browser.find_elements(By.CSS_SELECTOR, "#console-map path.turf")}
    assert states == {"ready", "checked_out"}
    screenshot(browser, "console-turfs")

    # Paper: pick the first assignment, key three rows from the keyboard, one with a typo'd code.
    browser.get(f"{console.url}/console/paper")
    Select(browser.find_element(By.ID, "assignment-id")).select_by_index(0)
    browser.find_element(By.CSS_SELECTOR, "#pick-assignment button").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "paper-form")))
    assignment_id = int(browser.find_element(By.NAME, "assignment_id").get_attribute("value"))
    codes = _codes_of_assignment(console.settings, assignment_id)
    typo = codes[2][:-1] + ("A" if codes[2][-1] != "A" else "B")
    browser.find_element(By.ID, "code_0").send_keys(codes[0], Keys.TAB, "T", Keys.TAB, "y", Keys.TAB, "porch dog",
                                                    Keys.TAB)
    browser.find_element(By.ID, "code_1").send_keys(codes[1], Keys.TAB, "not_home")
    browser.find_element(By.ID, "code_2").send_keys(typo, Keys.TAB, "refused")
    assert browser.switch_to.active_element.get_attribute("id") == "result_2"  # tab moved along the row
    browser.find_element(By.ID, "paper-submit").click()
    summary = wait(browser).until(EC.presence_of_element_located((By.ID, "paper-summary"))).text
    assert "2 stored, 0 already stored, 1 refused" in summary
    assert browser.find_element(By.ID, "code_2").get_attribute("aria-invalid") == "true"
    assert "typo" in browser.find_element(By.ID, "status_2").text
    assert "stored" in browser.find_element(By.ID, "status_0").text
    screenshot(browser, "console-paper-keyed")
    first_answer = browser.find_element(By.ID, "paper-summary")
    browser.find_element(By.ID, "paper-submit").click()  # the same sheet again: nothing stored twice
    wait(browser).until(EC.staleness_of(first_answer))  # the new page, not the old one still on screen
    summary = wait(browser).until(EC.presence_of_element_located((By.ID, "paper-summary"))).text
    assert "0 stored, 2 already stored, 1 refused" in summary
    assert severe_console_messages(browser) == []


def test_console_pages_fit_360_px_and_pass_the_keyboard_checks(browser, console):
    # After the test above (same module's data): the ward is cut and two turfs are held.
    browser.set_window_size(360, 800)
    sign_in_by_keyboard(browser, console, console.lead_email)
    wait(browser).until(EC.url_contains("/console/turfs"))
    for name, path in (("turfs", "/console/turfs"), ("canvassers", "/console/canvassers"), ("cut", "/console/cut?ward=33"),
                       ("paper-pick", "/console/paper"), ("conflicts", "/console/conflicts")):
        browser.get(f"{console.url}{path}")
        assert accessibility_problems(browser) == [], path
        assert_fits_the_screen(browser)
        assert_focus_is_visible(browser)
        screenshot(browser, f"console-{name}-360px")
    browser.get(f"{console.url}/console/turfs")
    browser.get(browser.find_element(By.CSS_SELECTOR, "#turf-table tbody a").get_attribute("href"))
    assert accessibility_problems(browser) == []
    assert_fits_the_screen(browser)
    screenshot(browser, "console-turf-360px")
    browser.get(f"{console.url}/console/paper")
    browser.find_element(By.CSS_SELECTOR, "#pick-assignment button").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "paper-form")))
    assert accessibility_problems(browser) == []
    assert_fits_the_screen(browser)
    screenshot(browser, "console-paper-360px")


def test_a_canvasser_lands_on_their_assignments_not_an_error(browser, console):
    # After the first test: Ana Walker holds a turf.
    sign_in_by_keyboard(browser, console, console.canvasser_email)
    wait(browser).until(EC.url_contains("/console/my-assignments"))
    table = browser.find_element(By.ID, "my-assignments")
    assert "Fall canvass" in table.text
    browser.get(f"{console.url}/console/turfs")
    assert "This page is for" in browser.find_element(By.TAG_NAME, "h1").text
    screenshot(browser, "console-canvasser")


def test_the_language_switcher_works_from_the_keyboard_and_the_choice_is_remembered(browser, console):
    browser.set_window_size(360, 800)
    sign_in_by_keyboard(browser, console, console.lead_email)
    wait(browser).until(EC.url_contains("/console/turfs"))
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(300):  # tab through the page to the switcher's Spanish link
        if browser.switch_to.active_element.text == "Español":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("hreflang") == "es"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Zonas"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert_fits_the_screen(browser)
    screenshot(browser, "console-turfs-es-360px")
    browser.get(f"{console.url}/console/canvassers")  # no ?lang: the session remembers Spanish
    assert browser.find_element(By.TAG_NAME, "h1").text == "Promotores y equipos"
    browser.get(f"{console.url}/console/canvassers?lang=zh")
    assert browser.find_element(By.TAG_NAME, "h1").text == "拜访员与小组"
    assert accessibility_problems(browser) == []
    assert_fits_the_screen(browser)
    assert severe_console_messages(browser) == []
