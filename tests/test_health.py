"""/healthz and /readyz."""
from __future__ import annotations

from sqlalchemy import text

from workflow import create_app

from .conftest import TEST_CONFIG


def test_healthz_answers_while_the_process_lives(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_is_ready_on_a_current_schema(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"] == {"database": "ok", "migrations": "ok"}


def test_readyz_is_not_ready_when_migrations_are_behind(app):
    with app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"].startswith("behind")


def test_readyz_is_not_ready_when_the_database_is_gone(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "fundflow.db"
    app = create_app({**TEST_CONFIG, "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{missing}"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("unavailable")


def test_readyz_checks_redis_when_configured(app, own_redis):
    app.config["REDIS_URL"] = own_redis.url
    assert app.test_client().get("/readyz").json["checks"]["redis"] == "ok"
    own_redis.stop()
    app.extensions.pop("fundflow.redis", None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["redis"].startswith("unavailable")
