"""fundflow: the workflow and approval engine of the International S&T Cooperation Special Fund."""
from __future__ import annotations

import gc
from importlib import resources
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import config, db
from .models import MAX_ROW_ID


def digits_at_most(limit: int) -> str:
    """A regular expression for the numbers 1 to `limit`, written without leading zeros."""
    text = str(limit)
    branches = [rf"[1-9]\d{{0,{len(text) - 2}}}"] if len(text) > 1 else []  # the shorter numbers
    for i, digit in enumerate(text):  # as long as the limit: its first i digits, then a smaller one
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(text) - i - 1
            branches.append(f"{text[:i]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join([*branches, text]) + ")"


class RowIdConverter(IntegerConverter):
    """`<int:...>` in a URL: a database id, 1 to models.MAX_ROW_ID; any other number is not found (404).

    The bound is in the pattern, not in a check after it: werkzeug answers a rule whose value it
    refuses after matching with 405 when another method's rule shares the path.
    """

    regex = digits_at_most(MAX_ROW_ID)


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
    if app.config["GC_FREEZE"]:
        settle_start_up()
    return app


# Full collections once in this many collections of the middle generation (CPython's default: 10).
FULL_COLLECTION_EVERY = 1000


def settle_start_up() -> None:
    """Exempt what start-up made from the garbage collector's full passes, and make those passes rare.

    The app's modules, mappers and routes are some 140,000 objects that live as long as the process;
    a full pass walked them all, about 100 ms on this project's machine, and the request it fell in
    answered that much later (the dashboard at 100,000 applications: p50 20 ms, p99 160-210 ms for
    the queries it fell in). Frozen, they are still freed when nothing refers to them. With so little
    left in the oldest generation, CPython would run a full pass every ten middle ones, each walking
    whatever the requests then hold; once in a thousand keeps those passes as rare as before.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


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
