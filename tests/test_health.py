"""/healthz and /readyz."""
from __future__ import annotations

from sqlalchemy import text

from .conftest import make_app
from .databases import url_of


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


def test_readyz_is_not_ready_when_the_database_is_gone(request, database, tmp_path):
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'fundflow.db'}"
    else:
        url = url_of(request.getfixturevalue("postgres_template"), "fundflow_no_such_database")
    app = make_app(url, tmp_path)
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
