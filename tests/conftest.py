"""Fixtures: a fresh database per test, clients that sign in as any role, factories."""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Before any app is built: no test reads the developer's ./instance or environment.
_SCRATCH = tempfile.mkdtemp(prefix="fundflow-tests-")
os.environ.update({"FUNDFLOW_DATA_DIR": _SCRATCH, "FUNDFLOW_SECRET_KEY": "test-secret"})
for _name in ("FUNDFLOW_DATABASE_URL", "FUNDFLOW_REDIS_URL", "FUNDFLOW_AUDIT_KEY", "FUNDFLOW_SMTP_URL"):
    os.environ.pop(_name, None)

from workflow import create_app  # noqa: E402
from workflow.db import make_engine  # noqa: E402
from workflow.migrate import upgrade  # noqa: E402

from . import servers  # noqa: E402
from .factories import PASSWORD, Factory  # noqa: E402


# Speed, not behaviour: tests make many users (a cheap password hash) and never
# survive a power cut (no fsync per commit). Production keeps scrypt and FULL.
TEST_CONFIG = {"TESTING": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SQLITE_SYNCHRONOUS": "OFF",
               # Follow-ups right after the commit, so a test sees them done; tests/test_follow_ups.py
               # runs the served app's background thread.
               "FOLLOW_UPS": "inline"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated database file that each test copies: fresh, and fast."""
    path = tmp_path_factory.mktemp("template") / "fundflow.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def app(tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "fundflow.db")
    app = create_app({**TEST_CONFIG, "DATA_DIR": str(tmp_path),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'fundflow.db'}"})
    yield app
    app.extensions["fundflow.engine"].dispose()


@pytest.fixture(scope="session")
def postgres_template():
    """A PostgreSQL server (FUNDFLOW_TEST_DATABASE_URL, or a throwaway cluster) with a migrated template."""
    url = os.environ.get("FUNDFLOW_TEST_DATABASE_URL")
    if url:
        yield _with_template(url)
        return
    with servers.postgres(Path(tempfile.mkdtemp(prefix="fundflow-pg-"))) as url:
        yield _with_template(url)


def _with_template(url: str) -> str:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("DROP DATABASE IF EXISTS fundflow_template WITH (FORCE)"))
        c.execute(text("CREATE DATABASE fundflow_template"))
    admin.dispose()
    engine = make_engine(make_url(url).set(database="fundflow_template").render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def own_redis(tmp_path):
    """A throwaway redis-server this test may stop and start again."""
    server = servers.RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(request):
    """An empty Redis: FUNDFLOW_TEST_REDIS_URL (flushed), or a throwaway redis-server."""
    url = os.environ.get("FUNDFLOW_TEST_REDIS_URL")
    if not url:
        return request.getfixturevalue("own_redis").url
    from redis import Redis

    with Redis.from_url(url) as connection:
        connection.flushdb()
    return url


_pg_databases = itertools.count(1)


@pytest.fixture
def pg_app(tmp_path, postgres_template):
    """The app on a fresh PostgreSQL database, copied from the migrated template."""
    name = f"fundflow_test_{os.getpid()}_{next(_pg_databases)}"
    admin = create_engine(postgres_template, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE fundflow_template'))
    url = make_url(postgres_template).set(database=name).render_as_string(hide_password=False)
    app = create_app({**TEST_CONFIG, "DATA_DIR": str(tmp_path), "DATABASE_URL": url})
    yield app
    app.extensions["fundflow.engine"].dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def factory(app):
    return Factory(app)


class ApiClient:
    """A test client that speaks JSON to /api/v1 with one actor's bearer token."""

    def __init__(self, client, token: str | None = None):
        self.client, self.token = client, token

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self._headers(), buffered=True, **kw)

    def delete(self, path, **kw):
        return self.client.delete(f"/api/v1{path}", headers=self._headers(), buffered=True, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(f"/api/v1{path}", json=json, headers=self._headers(), buffered=True, **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch(f"/api/v1{path}", json=json, headers=self._headers(), buffered=True, **kw)

    def fire(self, app_id, trigger, **body):
        return self.post(f"/applications/{app_id}/transitions/{trigger}", json=body)


@pytest.fixture
def api(app, factory):
    """api(actor) -> an ApiClient signed in as that actor; api() is anonymous."""
    def make(actor=None):
        return ApiClient(app.test_client(), factory.token(actor) if actor else None)
    return make


class PageClient:
    """A browser-like test client for the pages: signs in through the real form, sends CSRF tokens."""

    def __init__(self, client, language: str = "zh"):
        self.client = client
        self.client.set_cookie("fundflow_lang", language)

    def csrf_token(self) -> str:
        """A valid token for this client's session, as a form on any page carries it."""
        import re

        html = self.client.get("/login").get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    def sign_in(self, email: str, password: str = PASSWORD):
        return self.post("/login", {"email": email, "password": password})

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf_token()
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def pages(app, factory):
    """pages(actor) -> a PageClient signed in as that actor through the sign-in page; pages() is anonymous."""
    def make(actor=None, language: str = "zh"):
        client = PageClient(app.test_client(), language)
        if actor is not None:
            response = client.sign_in(actor.email)
            assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return make
