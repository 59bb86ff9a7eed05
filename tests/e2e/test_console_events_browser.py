"""The console's events, dues, votes and household pages in headless Chromium: an organizer creates three
events and takes attendance at each from the keyboard (search, tick, record); once the rollup has run, the
person shows as a member (the membership rule: 3 events in 6 months, canvass/pipeline/rules.py). The
organizer uploads a household CSV and reads the line-numbered report; every page at 360 px passes the
keyboard checks of tests/e2e/test_console_browser.py."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from tests.e2e.conftest import screenshot, serve
from tests.e2e.test_console_browser import (
    accessibility_problems,
    assert_fits_the_screen,
    assert_focus_is_visible,
    severe_console_messages,
    sign_in_by_keyboard,
    wait,
)

EVENTS_FOR_MEMBERSHIP = 3  # MembershipRule.events_required


@dataclass
class EventsSite:
    url: str
    organizer_email: str
    person_id: int
    timezone: str
    settings: object


def _seed(session) -> dict:
    from canvass.db import utcnow
    from canvass.orgs.services import timezone_for
    from canvass.pipeline.models import Event
    from tests.factories import make_boundary, make_household, make_org, make_person, make_user

    org = make_org(session, name="Ward 33 Working Families")
    organizer = make_user(session, org=org, roles=["organizer"], name="Olga Organizer")
    ward = make_boundary(session, org=org, name="33", bounds=(-87.72, 41.94, -87.70, 41.95))
    member = None
    for index, (first, last) in enumerate((("Maya", "Okonkwo"), ("Ben", "Doors"), ("Cy", "Ng"))):
        household = make_household(session, org=org, lon=-87.719 + 0.003 * index, lat=41.945, ward=ward)
        person = make_person(session, org=org, household=household, first_name=first, last_name=last)
        member = member or person
    # One event on record already, so each test here stands alone.
    session.add(Event(organization_id=org.id, kind="social", title="Block party",
                      starts_at=utcnow() - timedelta(days=60)))
    session.flush()
    return {"organizer_email": organizer.email, "person_id": member.id, "timezone": timezone_for(org)}


@pytest.fixture(scope="module")
def site(settings, migrated_database):
    with serve(settings, _seed) as (url, seeded):
        yield EventsSite(url=url, settings=settings, **seeded)


def _run_rollups(settings) -> None:
    """What the worker does within seconds of the attendance being recorded."""
    from rq import SimpleWorker

    from workers import runtime

    runtime.configure(settings)
    SimpleWorker([runtime.get_queue()], connection=runtime.redis_connection()).work(burst=True)


def test_organizer_records_attendance_at_three_events_and_sees_a_member(browser, site):
    sign_in_by_keyboard(browser, site, site.organizer_email)
    wait(browser).until(EC.url_contains("/console/"))
    now = datetime.now(ZoneInfo(site.timezone))
    for number in range(EVENTS_FOR_MEMBERSHIP):
        browser.get(f"{site.url}/console/events")
        browser.find_element(By.ID, "title").send_keys(f"Ward meeting {number + 1}")
        starts = (now - timedelta(days=7 * (number + 1))).strftime("%Y-%m-%dT%H:%M")
        # A datetime-local field's keystrokes follow the browser's locale; its value is the ISO form.
        browser.execute_script("document.getElementById('starts_at').value = arguments[0];", starts)
        browser.find_element(By.ID, "location").send_keys("Library", Keys.ENTER)
        wait(browser).until(EC.presence_of_element_located((By.ID, "attendance-form")))
        assert f"Ward meeting {number + 1} created" in browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
        search = browser.find_element(By.ID, "q")
        search.send_keys("okonkwo", Keys.ENTER)
        wait(browser).until(EC.url_contains("q=okonkwo"))
        tick = browser.find_element(By.CSS_SELECTOR, f"input[name=person_ids][value='{site.person_id}']")
        assert len(browser.find_elements(By.CSS_SELECTOR, "input[name=person_ids]")) == 1
        tick.send_keys(Keys.SPACE)  # from the keyboard
        assert tick.is_selected()
        assert browser.find_element(By.CSS_SELECTOR, "#status option:checked").get_attribute("value") == "attended"
        browser.find_element(By.CSS_SELECTOR, "#attendance-form button[type=submit]").send_keys(Keys.ENTER)
        message = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".flash.ok"))).text
        assert "1 new" in message
    row = browser.find_element(By.ID, f"attendee-{site.person_id}")
    assert "Maya Okonkwo" in row.text and "not a member" in row.text
    screenshot(browser, "console-events-attendance-before-rollup")

    _run_rollups(site.settings)
    browser.refresh()
    row = wait(browser).until(EC.presence_of_element_located((By.ID, f"attendee-{site.person_id}")))
    assert "member" in row.text and "not a member" not in row.text
    screenshot(browser, "console-events-member")
    browser.get(f"{site.url}/console/events")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#events tbody tr")) == EVENTS_FOR_MEMBERSHIP + 1
    assert severe_console_messages(browser) == []


def test_organizer_uploads_a_household_csv_and_reads_the_bad_rows(browser, site, tmp_path):
    sheet = tmp_path / "households.csv"
    sheet.write_text("address,city,state,zip,latitude,longitude,first_name,last_name\n"
                     "201 N Main St,Chicago,IL,60618,41.945,-87.711,Ana,Lopez\n"
                     "203 N Main St,Chicago,IL,60618,not-a-number,-87.712,Ben,Okafor\n")
    sign_in_by_keyboard(browser, site, site.organizer_email)
    wait(browser).until(EC.url_contains("/console/"))
    browser.get(f"{site.url}/console/households")
    browser.find_element(By.ID, "households-file").send_keys(str(sheet))
    browser.execute_script("window.stillThisPage = true;")
    browser.find_element(By.CSS_SELECTOR, "#households-upload button[type=submit]").click()
    report = wait(browser).until(EC.presence_of_element_located((By.ID, "import-report"))).text
    # Sent by the page's script (upload progress shown), the answer swapped in: no page load in between.
    assert browser.execute_script("return window.stillThisPage === true;")
    assert "1 of 2 rows imported, 1 skipped" in report
    assert "3" in browser.find_element(By.CSS_SELECTOR, "#skipped-rows tbody td").text
    screenshot(browser, "console-events-households-report")
    assert severe_console_messages(browser) == []


def _overflowing(browser) -> list:
    """The elements reaching past the window's right edge (what to fix when a page scrolls sideways)."""
    return browser.execute_script("""
        var width = document.documentElement.clientWidth, out = [];
        document.querySelectorAll('body *').forEach(function (el) {
          if (el.getBoundingClientRect().right > width + 1 && !el.closest('.table-scroll')) {
            out.push(el.outerHTML.slice(0, 80)); }
        });
        return out.slice(-5);
    """)


def test_events_dues_votes_and_households_pages_fit_360_px_and_pass_the_keyboard_checks(browser, site):
    browser.set_window_size(360, 800)
    sign_in_by_keyboard(browser, site, site.organizer_email)
    wait(browser).until(EC.url_contains("/console/"))
    browser.get(f"{site.url}/console/events")
    event_path = browser.find_element(By.CSS_SELECTOR, "#events tbody a").get_attribute("href")
    for name, path in (("events", "/console/events"), ("event", event_path.removeprefix(site.url)),
                       ("dues", "/console/dues?q=okonkwo"), ("votes", "/console/votes"),
                       ("households", "/console/households")):
        browser.get(f"{site.url}{path}")
        assert accessibility_problems(browser) == [], path
        assert _overflowing(browser) == [], path
        assert_fits_the_screen(browser)
        assert_focus_is_visible(browser)
        screenshot(browser, f"console-events-{name}-360px")
    links = browser.find_elements(By.CSS_SELECTOR, "nav a")
    assert {"Events", "Dues", "Votes", "Upload households"} <= {a.text for a in links}
