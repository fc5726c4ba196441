"""fundflow: the workflow and approval engine of the International S&T Cooperation Special Fund."""
from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import config, db


class RowIdConverter(IntegerConverter):
    """`<int:...>` in a URL, at most 18 digits: a database id fits in 64 bits, a longer one is not found (404)."""

    regex = r"\d{1,18}"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: config, database, blueprints, error handlers, commands."""
    # templates/ ships as the package workflow.templates (see setup.cfg): ask where it landed.
    app = Flask(__name__, template_folder=str(resources.files("workflow.templates")))
    app.url_map.converters["int"] = RowIdConverter
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
