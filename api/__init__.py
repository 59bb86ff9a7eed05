"""The HTTP edge: `create_app()` builds the Flask app.

    gunicorn 'api:create_app()'          # settings from the environment
    create_app(Settings(database_url=...))  # tests
"""
from __future__ import annotations

import logging

from flask import Flask

from canvass.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from api.errors import register_error_handlers
    from api.extensions import CanvassApi, db, make_redis, refuse_closed_connections
    from api.i18n import install_i18n
    from api.replica import install_read_replica
    from api.resources import plain_blueprints, smorest_blueprints
    from api.security import install_security_headers

    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    # Alembic announces each of its plugins at INFO on import; that is noise in every CLI call.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if settings.secret_key == Settings.secret_key and not settings.testing:
        logging.getLogger(__name__).warning("SECRET_KEY is not set: using the development value (set it in production)")
    import canvass.models  # noqa: F401  (every mapper known before the first query)

    app = Flask(__name__)
    _bound_integer_routes(app)
    app.config.update(
        CANVASS_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        # No pool_pre_ping: refuse_closed_connections below does its job without a round trip.
        # hide_parameters: a statement logged (LOG_LEVEL=DEBUG logs every one) or quoted in an error never
        # shows its values, which hold e-mails, phones and password hashes.
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": settings.engine_connect_args(), "hide_parameters": True},
        # The read replica (api/replica.py): a short connect timeout, so a replica that is down costs
        # little before the read goes to the primary.
        SQLALCHEMY_BINDS=({"replica": {"url": settings.read_database_url, "hide_parameters": True,
                                       "connect_args": {"connect_timeout": 2}}}
                          if settings.read_database_url else {}),
        JSON_SORT_KEYS=False,
        API_TITLE="canvass",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/v1/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": "Door-to-door organizing: turfs, walk lists, offline sync, member pipelines."},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    db.init_app(app)
    with app.app_context():
        refuse_closed_connections(db.engine)
    install_read_replica(app)
    app.extensions["canvass_redis"] = make_redis(settings.redis_url)
    _install_job_dispatcher(app, settings)
    api = CanvassApi(app)
    app.extensions["canvass_api"] = api
    for blueprint in smorest_blueprints():
        api.register_blueprint(blueprint)
    for blueprint in plain_blueprints():
        app.register_blueprint(blueprint)
    # After api.init_app, so our envelope replaces flask-smorest's error format.
    register_error_handlers(app)
    app.before_request(_refuse_nul_characters)
    install_security_headers(app, settings)
    install_i18n(app)

    from api.cli import register_commands

    register_commands(app)
    return app


def _install_job_dispatcher(app: Flask, settings: Settings) -> None:
    """Job requests made by services in a request are enqueued on RQ after the commit."""
    from rq import Queue

    from canvass.jobs import set_job_dispatcher
    from workers.runtime import enqueue_requests

    queue = Queue(settings.queue_name, connection=app.extensions["canvass_redis"])
    set_job_dispatcher(lambda requests: enqueue_requests(requests, queue=queue))


def _bound_integer_routes(app: Flask) -> None:
    """`<int:...>` path ids past BIGINT are simply not found (not a database error)."""
    from werkzeug.routing import IntegerConverter

    class IdConverter(IntegerConverter):
        def __init__(self, url_map, *args, **kwargs):
            kwargs.setdefault("max", 2**63 - 1)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = IdConverter


def _refuse_nul_characters():
    """PostgreSQL text cannot hold NUL: refuse it up front, clearly, instead of failing deep inside."""
    import re

    from flask import current_app, request

    from canvass.errors import MalformedInput

    # Bodies past the default limit are left to the few endpoints that raise it for themselves.
    readable = request.is_json and (request.content_length or 0) <= current_app.config["MAX_CONTENT_LENGTH"]
    in_body = readable and re.search(rb"(?<!\\)\\u0000|\x00", request.get_data(cache=True))
    if in_body or any("\x00" in value for value in request.args.values()):
        raise MalformedInput("text may not contain NUL characters (\\u0000)", code="nul_character")
