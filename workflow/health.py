"""Health for load balancers and orchestrators: /healthz (the process lives), /readyz (it can serve)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from . import db
from .migrate import pending

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready when the database answers, its schema is current and Redis answers (when configured)."""
    checks: dict[str, str] = {}
    try:
        with db.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
        missing = pending(db.engine())
        checks["migrations"] = "ok" if not missing else f"behind: {', '.join(missing)} not applied"
    except Exception as err:  # any failure to reach the database means not ready, never a 500
        checks["database"] = f"unavailable: {type(err).__name__}"
    if current_app.config["REDIS_URL"]:
        from .outbox import redis

        try:
            redis().ping()
            checks["redis"] = "ok"
        except Exception as err:
            checks["redis"] = f"unavailable: {type(err).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503
