"""One blueprint per resource; create_app() registers them in this order."""
from __future__ import annotations


def smorest_blueprints():
    """flask-smorest blueprints (documented in the OpenAPI document)."""
    from api.resources import audit, auth, users

    return [auth.blp, users.blp, audit.blp]


def plain_blueprints():
    """Plain Flask blueprints (health, docs assets) kept out of the API document."""
    from api.resources import docs_assets, health

    return [health.blp, docs_assets.blp]
