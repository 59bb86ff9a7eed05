"""Swagger UI's JavaScript and CSS, served by the app itself: the docs work offline, no CDN."""
from __future__ import annotations

from flask import Blueprint, send_from_directory

blp = Blueprint("docs_assets", __name__)


@blp.get("/v1/docs/assets/<path:filename>")
def swagger_asset(filename):
    import swagger_ui_bundle

    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
