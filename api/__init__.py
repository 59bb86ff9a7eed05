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
    from api.extensions import CanvassApi, db, make_redis
    from api.resources import plain_blueprints, smorest_blueprints

    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    # Alembic announces each of its plugins at INFO on import; that is noise in every CLI call.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if settings.secret_key == Settings.secret_key and not settings.testing:
        logging.getLogger(__name__).warning("SECRET_KEY is not set: using the development value (set it in production)")
    import canvass.models  # noqa: F401  (every mapper known before the first query)

    app = Flask(__name__)
    app.config.update(
        CANVASS_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 5}},
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
