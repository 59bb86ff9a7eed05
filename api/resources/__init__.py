"""One blueprint per resource; create_app() registers them in this order."""
from __future__ import annotations


def smorest_blueprints():
    """flask-smorest blueprints (documented in the OpenAPI document)."""
    from api.resources import audit, auth, users
    from api.resources import campaigns, followups, people, sync
    from api.resources import assignments, boundaries, teams, turfs
    from api.resources import dues, events, funnels, member_imports, membership, votes
    from api.resources import dashboards, exports

    return [auth.blp, users.blp, audit.blp, campaigns.blp, sync.blp, followups.blp, people.blp,
            boundaries.blp, turfs.blp, assignments.blp, teams.blp,
            events.blp, dues.blp, member_imports.blp, membership.blp, funnels.blp, votes.blp,
            dashboards.blp, exports.blp]


def plain_blueprints():
    """Plain Flask blueprints (health, docs assets) kept out of the API document."""
    from api.resources import docs_assets, health
    from api.web import blp as web

    return [health.blp, docs_assets.blp, web]
