"""The canvasser app's files (/app): the shell page, the web manifest and the service worker, with the
security headers every page has; what the worker keeps offline is served and fits the budget."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from api.web.app import FIRST_SCREEN_MODULES

APP_FILES = Path(__file__).resolve().parents[2] / "api" / "static" / "app"
SHELL_BUDGET_BYTES = 300 * 1024


def _worker_constants(source: str) -> dict:
    return {name: json.loads(value) for name, value in re.findall(r"^const (VERSION|PRECACHE|OPTIONAL) = (.+);$",
                                                                   source, flags=re.M)}


def test_app_without_a_slash_moves_under_the_workers_scope(client):
    response = client.get("/app")
    assert response.status_code == 301 and response.headers["Location"].endswith("/app/")


def test_shell_is_served_with_a_strict_policy_allowing_its_worker_and_manifest(client):
    response = client.get("/app/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "worker-src 'self'" in csp and "manifest-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-cache"
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert 'rel="manifest" href="/app/manifest.webmanifest"' in html
    assert 'data-worker="/app/sw.js"' in html and 'data-scope="/app/"' in html
    assert 'data-tile-url=""' in html  # unset: outlines only
    preloaded = re.findall(r'rel="modulepreload" href="/static/app/([\w.]+)"', html)
    assert preloaded == list(FIRST_SCREEN_MODULES)


def test_first_screen_preloads_every_module_it_imports_statically():
    """A static import missing from the preload list costs a round trip on 3G (the budget test's half second)."""
    needed, pending = set(), ["main.js"]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        source = (APP_FILES / name).read_text()
        pending += re.findall(r'^import [^;]*? from "\./([\w.]+)";', source, flags=re.M)
    assert needed == set(FIRST_SCREEN_MODULES)


def test_the_tile_setting_reaches_the_map_and_the_policy(settings, migrated_database):
    from api import create_app
    from api.extensions import db

    tiled = create_app(dataclasses.replace(settings, map_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
                                           map_tile_attribution="© Example"))
    try:
        response = tiled.test_client().get("/app/")
        html = response.get_data(as_text=True)
        assert 'data-tile-url="https://{s}.tile.example.org/{z}/{x}/{y}.png"' in html
        assert 'data-attribution="© Example"' in html
        assert "img-src 'self' data: https://*.tile.example.org" in response.headers["Content-Security-Policy"]
    finally:
        with tiled.app_context():
            db.engine.dispose()
        tiled.extensions["canvass_redis"].close()


def test_manifest_makes_the_app_installable_within_its_scope(client):
    response = client.get("/app/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data())
    assert manifest["start_url"] == manifest["scope"] == "/app/" and manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert image.get_data()[:8] == b"\x89PNG\r\n\x1a\n"
        image.close()


def test_service_worker_is_served_from_the_scope_it_controls_with_its_own_policy(client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    # /app/sw.js controls /app/ by default: no Service-Worker-Allowed header widens it.
    assert "Service-Worker-Allowed" not in response.headers
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; connect-src 'self'; script-src 'self'"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    constants = _worker_constants(response.get_data(as_text=True))
    assert re.fullmatch(r"[0-9a-f]{16}", constants["VERSION"])
    assert constants["PRECACHE"][:2] == ["/app/", "/app/manifest.webmanifest"]
    assert constants["OPTIONAL"] == ["/app/messages/es.json", "/app/messages/pl.json", "/app/messages/zh.json"]
    assert _worker_constants(client.get("/app/sw.js").get_data(as_text=True))["VERSION"] == constants["VERSION"]


def test_everything_kept_offline_is_served_and_the_whole_shell_is_under_300_kb(client):
    precache = _worker_constants(client.get("/app/sw.js").get_data(as_text=True))["PRECACHE"]
    own = {f"/static/app/{p.relative_to(APP_FILES)}" for p in APP_FILES.rglob("*") if p.is_file() and p.name != "sw.js"}
    assert own <= set(precache)
    assert {"/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css"} <= set(precache)
    total = 0
    for url in precache:
        response = client.get(url)
        assert response.status_code == 200, url
        total += len(response.get_data())
        response.close()
    total += len(client.get("/app/sw.js").get_data())
    assert total < SHELL_BUDGET_BYTES, total


@pytest.mark.parametrize("path", sorted(str(p.relative_to(APP_FILES)) for p in APP_FILES.glob("*.[jc]s*")))
def test_app_files_load_nothing_from_elsewhere(path):
    assert not re.search(r"https?://", (APP_FILES / path).read_text())


def test_every_translated_string_is_a_literal_the_catalog_extractor_can_read():
    """t() takes a double-quoted literal: t(variable) or t(`template`) would never reach the catalogs."""
    calls = 0
    for path in APP_FILES.glob("*.js"):
        source = path.read_text()
        for match in re.finditer(r"(?<![\w.])(?<!function )t\(", source):
            calls += 1
            rest = source[match.end():]
            assert re.match(r'"(?:[^"\\]|\\.)*"\s*[,)]', rest), f"{path.name}: t({rest[:40]}"
    assert calls > 50
