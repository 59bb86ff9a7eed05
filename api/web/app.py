"""The canvasser app at /app: an installable, offline-first web app on the public phone API.

The server only hands out files: the shell page, the web manifest and the service worker. Everything
the app knows it reads from /v1 with the canvasser's bearer token, like any other phone client
(docs/app.md). The service worker lives at /app/sw.js so that its scope is /app/ without a
Service-Worker-Allowed header; it is served with the list of files to keep offline and a version made
from their contents, so any change to the app's files changes the worker's bytes and phones update.
"""
from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, render_template, url_for
from flask_babel import gettext

blp = Blueprint("app", __name__, url_prefix="/app")

STATIC = Path(__file__).resolve().parents[1] / "static"
APP_FILES = STATIC / "app"
# Files the app loads from elsewhere in /static (the map library); kept offline with the app's own.
VENDORED = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css")
SERVICE_WORKER = "sw.js"
# The worker's own policy (a worker is governed by the CSP its script was served with): it fetches
# and caches this origin's files, nothing else.
WORKER_CSP = "default-src 'none'; connect-src 'self'; script-src 'self'"
LOCALES = ("en", "es", "pl", "zh")
# The modules the first screen needs, preloaded together: one round trip instead of one per import level,
# and no more than a browser's six connections to a host (on 3G each extra wave costs half a second). The
# sync and the map are imported when first used (docs/app.md).
FIRST_SCREEN_MODULES = ("main.js", "i18n.js", "store.js", "api.js", "ui.js")


def _static_paths() -> list[str]:
    """The static files the app needs offline, relative to /static, in a stable order."""
    own = sorted(str(p.relative_to(STATIC)) for p in APP_FILES.rglob("*")
                 if p.is_file() and p.name != SERVICE_WORKER)
    return [*own, *VENDORED]


@cache
def _precache(static_url: str) -> tuple[str, list[str]]:
    """(version, URLs): the version hashes every file kept offline and the worker itself."""
    digest = hashlib.sha256()
    paths = _static_paths()
    for relative in [*paths, f"app/{SERVICE_WORKER}"]:
        digest.update(relative.encode())
        digest.update((STATIC / relative).read_bytes())
    urls = [f"{static_url}/{p}" for p in paths]
    return digest.hexdigest()[:16], urls


def _no_cache(response: Response) -> Response:
    # The shell, manifest and worker are small and carry no data; a browser revalidates them each time
    # it is online, while the service worker keeps its own copies for offline use.
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


blp.after_request(_no_cache)


@blp.get("")
def shell_redirect():
    # The worker's scope is /app/: only pages under it are controlled (and work offline).
    return redirect(url_for("app.shell"), code=301)


@blp.get("/")
def shell():
    settings = current_app.config["CANVASS_SETTINGS"]
    return render_template("app.html", tile_url=settings.map_tile_url or "",
                           attribution=settings.map_tile_attribution or "", modules=FIRST_SCREEN_MODULES)


@blp.get("/manifest.webmanifest")
def manifest():
    icons = [{"src": url_for("static", filename=f"app/icons/icon-{size}.png"), "sizes": f"{size}x{size}",
              "type": "image/png", "purpose": "any maskable"} for size in (192, 512)]
    document = {
        "name": gettext("canvass: door to door"),
        "short_name": "canvass",
        "id": url_for("app.shell"),
        "start_url": url_for("app.shell"),
        "scope": url_for("app.shell"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f4e79",
        "icons": icons,
    }
    return Response(json.dumps(document), mimetype="application/manifest+json")


@blp.get("/sw.js")
def service_worker():
    static_url = current_app.static_url_path
    version, urls = _precache(static_url)
    shell_urls = [url_for("app.shell"), url_for("app.manifest")]
    # Each translation is kept when the server has it (the worker tolerates a missing one).
    messages = [f"{url_for('app.shell')}messages/{locale}.json" for locale in LOCALES if locale != "en"]
    header = (f"const VERSION = {json.dumps(version)};\n"
              f"const PRECACHE = {json.dumps(shell_urls + urls)};\n"
              f"const OPTIONAL = {json.dumps(messages)};\n")
    source = (APP_FILES / SERVICE_WORKER).read_text(encoding="utf-8")
    response = Response(header + source, mimetype="text/javascript")
    response.headers["Content-Security-Policy"] = WORKER_CSP
    return response
