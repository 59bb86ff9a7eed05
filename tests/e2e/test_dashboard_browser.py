"""Sign in, see the funnel and the turf map, click a turf, on a desktop and on a phone-sized screen."""
from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import PASSWORD, screenshot

WAIT_SECONDS = 20


def sign_in(browser, site, email=None, password=PASSWORD):
    browser.get(f"{site.url}/sign-in")
    browser.find_element(By.ID, "email").send_keys(email or site.organizer_email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in-button").click()


def wait_for_dashboard(browser):
    wait = WebDriverWait(browser, WAIT_SECONDS)
    wait.until(EC.url_contains("/dashboard"))
    wait.until(lambda d: d.find_element(By.ID, "dashboard").get_attribute("data-loaded") == "true")
    return wait


def severe_console_messages(browser):
    # CSP violations and script errors are logged as SEVERE; a missing favicon is not our concern.
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]


def test_organizer_signs_in_and_sees_funnel_map_leaderboard_and_follow_ups(browser, site):
    sign_in(browser, site)
    wait = wait_for_dashboard(browser)

    # The funnel chart is drawn from /v1/funnels: a canvas with the stages and their counts.
    funnel = browser.execute_script(
        "const c = Chart.getChart('funnel-chart'); return {labels: c.data.labels, reached: c.data.datasets[0].data};")
    assert funnel["labels"][:3] == ["Contacted", "Supporter", "Pledged"]
    assert funnel["reached"][0] == 5  # five people talked to at the door
    assert funnel["reached"][2] == 2  # two pledge cards
    assert browser.find_element(By.ID, "funnel-chart").size["height"] > 100

    # The map shows both turfs, coloured by completion.
    turfs = browser.find_elements(By.CSS_SELECTOR, "#turf-map path.turf")
    assert sorted(int(t.get_attribute("data-turf-id")) for t in turfs) == sorted(site.turf_ids)
    fills = {t.get_attribute("data-turf-id"): t.get_attribute("fill") for t in turfs}
    assert len(set(fills.values())) == 2  # 5 of 6 doors vs 2 of 6: different colours

    # Clicking a turf opens its numbers.
    west = browser.find_element(By.CSS_SELECTOR, f"#turf-map path[data-turf-id='{site.turf_ids[0]}']")
    screenshot(browser, "dashboard-map")
    ActionChains(browser).move_to_element(west).click().perform()
    popup = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".turf-popup")))
    assert site.turf_names[0] in popup.text
    assert "5 (83%)" in popup.text and "Print walk list" in popup.text

    board = browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[1].text for row in board] == site.canvasser_names
    follow_ups = browser.find_elements(By.CSS_SELECTOR, "#follow-ups tbody tr")
    assert len(follow_ups) == 1 and "vote" in follow_ups[0].text
    assert browser.find_element(By.ID, "kpi-doors").text == "7"

    screenshot(browser, "dashboard-desktop")
    assert severe_console_messages(browser) == []


def test_dashboard_works_on_a_phone_sized_screen(browser, site):
    browser.set_window_size(390, 844)
    sign_in(browser, site)
    wait = wait_for_dashboard(browser)
    # Nothing wider than the screen once charts have sized themselves (a ResizeObserver tick later).
    wait.until(lambda d: d.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"))
    width = browser.execute_script("return document.documentElement.clientWidth")
    for card in ("map-card", "funnel", "leaderboard", "follow-ups"):  # wide tables scroll inside their card
        assert 0 < browser.find_element(By.CSS_SELECTOR, f"section.{card}").size["width"] <= width
    assert browser.find_element(By.ID, "turf-map").size["width"] <= width
    assert browser.find_elements(By.CSS_SELECTOR, "#turf-map path.turf")
    screenshot(browser, "dashboard-phone")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight / 2)")
    screenshot(browser, "dashboard-phone-scrolled")


def test_wrong_password_stays_on_sign_in_with_a_message(browser, site):
    sign_in(browser, site, password="not the password")
    error = WebDriverWait(browser, WAIT_SECONDS).until(EC.visibility_of_element_located((By.ID, "sign-in-error")))
    assert "wrong" in error.text and browser.current_url.endswith("/sign-in")
    screenshot(browser, "sign-in-error")


def test_a_canvasser_sees_their_assignments_not_an_empty_dashboard(browser, site):
    sign_in(browser, site, email=site.canvasser_email)
    wait_for_dashboard(browser)
    card = browser.find_element(By.ID, "my-assignments-card")
    assert card.is_displayed() and "organizers and field leads" in card.text
    rows = browser.find_elements(By.CSS_SELECTOR, "#my-assignments tbody tr")
    assert len(rows) == 1 and site.turf_names[0] in rows[0].text
    assert not browser.find_element(By.ID, "dashboard-error").is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, "section.funnel").is_displayed()
    screenshot(browser, "dashboard-canvasser")
    assert severe_console_messages(browser) == []


def test_walk_list_prints_from_the_turf_popup(browser, site):
    sign_in(browser, site)
    wait = wait_for_dashboard(browser)
    browser.get(f"{site.url}/walklists/{site.assignment_id}/print")
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "body.walklist-print table tbody tr")))
    rows = browser.find_elements(By.CSS_SELECTOR, "body.walklist-print tbody tr")
    assert len(rows) == 6
    assert site.turf_names[0] in browser.find_element(By.TAG_NAME, "h1").text
    screenshot(browser, "walklist-print")
    assert severe_console_messages(browser) == []


def test_signed_out_visitor_is_sent_to_sign_in(browser, site):
    browser.get(f"{site.url}/dashboard")
    WebDriverWait(browser, WAIT_SECONDS).until(EC.url_contains("/sign-in"))
    screenshot(browser, "sign-in")
