"""fundflow: the workflow and approval engine of the International S&T Cooperation Special Fund."""
from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import config, db
from .models import MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """`<int:...>` in a URL: a database id, 1 to models.MAX_ROW_ID; a bigger one is not found (404)."""

    regex = r"\d{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, min, MAX_ROW_ID if max is None else max, signed)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: config, database, extensions, blueprints, error handlers, headers."""
    # templates/ ships as the package workflow.templates (see setup.cfg): ask where it landed.
    app = Flask(__name__, template_folder=str(resources.files("workflow.templates")))
    app.url_map.converters["int"] = RowIdConverter
    app.config.update(config.from_environment())
    app.config.update(overrides or {})
    db.init_app(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_workflows()
    register_follow_ups(app)
    return app


def register_workflows() -> None:
    """Check once that every guard, effect, job and follow-up that states/ names exists."""
    from . import effects, engine, guards, jobs

    engine.check_names(engine.registry().values(), guards=guards.REGISTRY, effects=effects.REGISTRY,
                       jobs=jobs.JOBS)


def register_follow_ups(app: Flask) -> None:
    """Without Redis, a served app drains its outbox on a thread of its own, started with its first request."""
    if app.config["REDIS_URL"] or app.config["FOLLOW_UPS"] != "background":
        return
    from . import outbox

    app.before_request(lambda: outbox.background(app).start() and None)


def register_extensions(app: Flask) -> None:
    from . import documents, headers
    from .extensions import babel, bootstrap, csrf, login_manager
    from .web import auth, i18n

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    bootstrap.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    auth.init_login(login_manager)
    i18n.register(app)
    headers.register(app)
    documents.register(app)  # the bidi_safe filter every PDF template is wrapped in


def register_blueprints(app: Flask) -> None:
    from .api import bp as api
    from .extensions import csrf
    from .health import bp as health
    from .web import register as register_pages

    csrf.exempt(api)  # the API authenticates each request by its bearer token, not by a cookie
    app.register_blueprint(api)
    app.register_blueprint(health)
    register_pages(app)


def register_error_handlers(app: Flask) -> None:
    from .http_errors import register

    register(app)
