"""One blueprint per resource; create_app() registers them in this order."""
from __future__ import annotations


def smorest_blueprints():
    """flask-smorest blueprints (documented in the OpenAPI document)."""
    from api.resources import (
        assignments,
        audit,
        auth,
        boundaries,
        campaigns,
        dashboards,
        dues,
        events,
        exports,
        followups,
        funnels,
        member_imports,
        membership,
        people,
        sync,
        teams,
        turfs,
        users,
        votes,
    )

    return [auth.blp, users.blp, audit.blp, campaigns.blp, sync.blp, followups.blp, people.blp,
            boundaries.blp, turfs.blp, assignments.blp, teams.blp,
            events.blp, dues.blp, member_imports.blp, membership.blp, funnels.blp, votes.blp,
            dashboards.blp, exports.blp]


def plain_blueprints():
    """Plain Flask blueprints (health, docs assets) kept out of the API document."""
    from api.resources import docs_assets, health
    from api.web import blp as web
    from api.web import console_people  # noqa: F401  (its routes join the console's blueprint)
    from api.web.app import blp as canvasser_app
    from api.web.console import blp as console
    from api.web.console_events import blp as console_events

    return [health.blp, docs_assets.blp, web, console, console_events, canvasser_app]
