"""fundflow: the workflow and approval engine of the International S&T Cooperation Special Fund."""
from __future__ import annotations

from typing import Any

from flask import Flask

from . import config, db


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: config, database, blueprints, error handlers, commands."""
    app = Flask(__name__, template_folder="templates")
    app.config.update(config.from_environment())
    app.config.update(overrides or {})
    db.init_app(app)
    register_blueprints(app)
    register_error_handlers(app)
    return app


def register_blueprints(app: Flask) -> None:
    from .api import bp as api

    app.register_blueprint(api)


def register_error_handlers(app: Flask) -> None:
    from .api.errors import register

    register(app)
