"""Browser tests: headless Chromium (Debian's `chromium` + `chromium-driver`) driving the real app,
served by werkzeug on 127.0.0.1 with committed data. Selenium is pointed at the system browser and
driver, so Selenium Manager never downloads anything. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "correct horse battery"  # tests/factories.py's DEFAULT_PASSWORD

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "browser tests need Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver): "
        "`apt-get install chromium chromium-driver` (make test installs them where it can)",
        allow_module_level=True,
    )


@dataclass
class Site:
    url: str
    organizer_email: str
    canvasser_email: str
    assignment_id: int
    turf_ids: list
    turf_names: list
    canvasser_names: list


def _seed(session) -> dict:
    """A ward with two turfs worked yesterday: contacts, conversations, pledge cards; rollups run."""
    from canvass.dashboards.activity import rebuild_activity
    from canvass.pipeline.rollup import refresh_pipeline
    from tests.canvass.dashboards.fieldwork import add_contact, add_pledge, make_ward
    from tests.factories import make_org

    org = make_org(session, name="Ward 33 Working Families")
    ward = make_ward(session, org=org, doors_per_turf=6)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    for door in range(5):
        add_contact(session, ward, turf=0, door=door, when=yesterday + timedelta(minutes=door), talked=door % 2 == 0)
    for door in range(2):
        add_contact(session, ward, turf=1, door=door, when=yesterday + timedelta(minutes=10 + door), talked=True)
    add_pledge(session, ward, turf=0, door=0, when=yesterday - timedelta(days=8))  # due for a follow-up call
    add_pledge(session, ward, turf=1, door=1, when=yesterday)
    rebuild_activity(session, organization_id=org.id)
    refresh_pipeline(session, organization_id=org.id, mode="full")
    return {
        "organizer_email": ward.organizer.email, "canvasser_email": ward.canvassers[0].email,
        "assignment_id": ward.assignments[0].id, "turf_ids": [t.id for t in ward.turfs],
        "turf_names": [t.name for t in ward.turfs], "canvasser_names": [c.name for c in ward.canvassers],
    }


@contextmanager
def serve(settings, seed, wrap=None):
    """The app on a real port with `seed(session)`'s data committed (tables emptied afterwards, as
    committing_app does): yields (base url, what seed returned). `wrap(wsgi_app)` may put a
    middleware in front (a test's fault injection)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session
    from werkzeug.serving import make_server

    from api import create_app
    from api.extensions import db

    app = create_app(settings)
    with app.app_context():
        # db.session is shared by every app in the process; tests before may have left it set up
        # for savepoints on a test connection. This server commits for real: SQLAlchemy's default.
        db.session.remove()
        db.session.configure(join_transaction_mode="conditional_savepoint")
        engine = db.engine
    with Session(bind=engine, expire_on_commit=False) as session, session.begin():
        seeded = seed(session)
    server = make_server("127.0.0.1", 0, wrap(app) if wrap else app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seeded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            # A request still being served (the app's service worker and sync retries keep asking until the
            # browser closes) holds a connection: wait for it to come back before closing the pool, or it
            # is returned to a dropped pool and left open until the garbage collector finds it.
            deadline = time.monotonic() + 10
            while db.engine.pool.checkedout() and time.monotonic() < deadline:
                time.sleep(0.05)
            db.engine.dispose()
        app.extensions["canvass_redis"].close()
        cleanup = create_engine(settings.database_url)
        with cleanup.begin() as connection:
            tables = connection.execute(text(
                "SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'spatial_ref_sys')"
            )).scalar_one()
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        cleanup.dispose()


@pytest.fixture(scope="module")
def site(settings, migrated_database):
    with serve(settings, _seed) as (url, seeded):
        yield Site(url=url, **seeded)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1366,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
