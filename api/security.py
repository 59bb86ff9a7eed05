"""Security headers on every response, and CORS for the configured origins only (one place).

Every response says `nosniff`, no referrer and no framing; HTML pages carry a
Content-Security-Policy that allows nothing inline and nothing from elsewhere (scripts and styles
are files under /static; the canvasser app's service worker and manifest come from this origin too).
The Swagger UI page is the exception: flask-smorest renders it with an
inline script, so its policy allows inline scripts and nothing else more.

CORS: none by default. `CORS_ORIGINS` (comma-separated, exact `scheme://host[:port]`) lets a web
app on another origin call the API with a bearer token; no cookies are used, so no credentials
mode is offered. A request from any other origin gets no CORS header, and the browser refuses it.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

from canvass.config import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
# The console map's tiles (MAP_TILE_URL) are the one other image source a page may load.
TILES_CSP = CSP.replace("img-src 'self' data:", "img-src 'self' data: {tiles}")
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")
# Not HTML (JSON, CSV, files): nothing may be loaded or framed on its behalf.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PAGE = "/v1/docs"

CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "Authorization, Content-Type, If-None-Match"
CORS_EXPOSED = "ETag, Retry-After, Content-Disposition"
CORS_MAX_AGE = "600"


def tile_origin(tile_url: str | None) -> str | None:
    """The CSP source of a Leaflet tile URL template (`https://{s}.tile.example.org/{z}/{x}/{y}.png` ->
    `https://*.tile.example.org`); None when unset or not an http(s) URL."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "tiles-subdomain"))
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c in parts.netloc for c in " ;'\","):
        return None
    host = parts.netloc.replace("tiles-subdomain", "*")
    return f"{parts.scheme}://{host}"


def install_security_headers(app: Flask, settings: Settings) -> None:
    origins = frozenset(settings.cors_origins)
    tiles = tile_origin(settings.map_tile_url)
    page_csp = TILES_CSP.format(tiles=tiles) if tiles else CSP

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        if response.mimetype == "text/html":
            headers["Content-Security-Policy"] = DOCS_CSP if request.path == DOCS_PAGE else page_csp
        else:
            headers.setdefault("Content-Security-Policy", API_CSP)
        origin = request.headers.get("Origin")
        if origin and origin in origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
            if request.method == "OPTIONS":
                headers["Access-Control-Allow-Methods"] = CORS_METHODS
                headers["Access-Control-Allow-Headers"] = CORS_HEADERS
                headers["Access-Control-Max-Age"] = CORS_MAX_AGE
        if origins:
            headers.add("Vary", "Origin")
        return response
