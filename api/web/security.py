"""The web pages' security headers: a Content-Security-Policy allowing nothing inline and nothing from
elsewhere, except map tiles from the configured MAP_TILE_URL's origin."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


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


def content_security_policy() -> str:
    origin = tile_origin(current_app.config["CANVASS_SETTINGS"].map_tile_url)
    return CSP.format(tiles=f" {origin}" if origin else "")


def security_headers(response):
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response
