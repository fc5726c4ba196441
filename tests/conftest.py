"""Fixtures: a fresh database per test, clients that sign in as any role, factories."""
from __future__ import annotations

import gc
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from jinja2 import BytecodeCache
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
from .databases import PostgresDatabases  # noqa: E402
from .factories import PASSWORD, Factory  # noqa: E402


# Speed, not behaviour: tests make many users (a cheap password hash) and never
# survive a power cut (no fsync per commit). Production keeps scrypt and FULL.
TEST_CONFIG = {"TESTING": True, "GC_FREEZE": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "SQLITE_SYNCHRONOUS": "OFF",
               # Follow-ups right after the commit, so a test sees them done; tests/test_follow_ups.py
               # runs the served app's background thread.
               "FOLLOW_UPS": "inline"}


@pytest.fixture(autouse=True)
def _collector_as_it_was():
    """A served app made by a test (a benchmark's) settles the process's collector: undo it after the test."""
    threshold = gc.get_threshold()
    yield
    if gc.get_threshold() != threshold or gc.get_freeze_count():
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated database file that each test copies: fresh, and fast."""
    path = tmp_path_factory.mktemp("template") / "fundflow.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template():
    """The URL of a PostgreSQL server: FUNDFLOW_TEST_DATABASE_URL, or a throwaway cluster started here."""
    url = os.environ.get("FUNDFLOW_TEST_DATABASE_URL")
    if url:
        yield url
        return
    with servers.postgres(Path(tempfile.mkdtemp(prefix="fundflow-pg-"))) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_databases(postgres_template):
    """This test process's migrated template and working database on that server (tests/databases.py)."""
    made = PostgresDatabases(postgres_template)
    yield made
    made.close()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true, as .ci/run sets it) nothing skips: a skipped test fails and says why it skipped."""
    report = yield
    if report.skipped and _in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test runs: {reason}"
    return report


# Every test that touches the database runs on both; a test about what only PostgreSQL can do
# (several processes writing at once) asks for `pg_app` instead.
DATABASES = ("sqlite", "postgresql")


@pytest.fixture(params=DATABASES)
def database(request) -> str:
    """The kind of database this test runs on: each test that touches one runs once on each."""
    return request.param


@pytest.fixture
def fresh_database(request, database, tmp_path):
    """fresh_database() -> the URL of a fresh migrated database of this test's kind, ids starting from 1.

    Each call gives a new one. On PostgreSQL that is this process's working database emptied again,
    so a test uses one at a time, disposing of the app on the last before it asks for the next."""
    count = iter(range(1, 1000))

    def make() -> str:
        if database == "sqlite":
            path = tmp_path / f"fundflow-{next(count)}.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        return request.getfixturevalue("postgres_databases").fresh(request.node.name)
    return make


@pytest.fixture
def database_url(fresh_database):
    return fresh_database()


class TemplateCode(BytecodeCache):
    """Compiled templates kept in memory for this test process."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


# Speed, not behaviour: a test process builds an app per test, and each app would compile again every
# template it renders (0.2 s for a handful of pages). The apps share the compiled code, as the requests
# of one long-running server share it; Jinja compares each template's source checksum before using it.
TEMPLATE_CODE = TemplateCode()


def make_app(database_url: str, data_dir, **config):
    """The app as the tests run it, on `database_url`, its files in `data_dir`."""
    app = create_app({**TEST_CONFIG, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url, **config})
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    return app


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    yield app
    app.extensions["fundflow.engine"].dispose()


@pytest.fixture
def pg_app(request, tmp_path, postgres_databases):
    """The app on a fresh PostgreSQL database only: for tests of several processes writing at once,
    which SQLite, one writer at a time, is not built for."""
    app = make_app(postgres_databases.fresh(request.node.name), tmp_path)
    yield app
    app.extensions["fundflow.engine"].dispose()


@pytest.fixture(scope="module", params=DATABASES)
def module_database_url(request, tmp_path_factory):
    """A fresh migrated database of its own for a module-scoped fixture (a seeded world the module's
    tests share); the module's tests that use it run once on each kind."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-db") / "fundflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    yield databases.url(name, request.module.__name__)
    databases.drop(name)


class DatabaseCopies:
    """Copies of a database a test seeded once: a file copied on SQLite, CREATE DATABASE ... TEMPLATE
    on PostgreSQL (nobody may be connected to the original meanwhile)."""

    def __init__(self, request, folder: Path):
        self.request, self.folder, self.made = request, folder, []

    def copy(self, url: str) -> str:
        if url.startswith("sqlite"):
            source = Path(make_url(url).database)
            target = Path(tempfile.mkdtemp(dir=self.folder)) / source.name
            shutil.copy(source, target)
            return f"sqlite:///{target}"
        databases = self.request.getfixturevalue("postgres_databases")
        self.made.append(databases.create(template=make_url(url).database))
        return databases.url(self.made[-1], self.request.node.name)

    def drop(self, url: str) -> None:
        if url.startswith("sqlite"):
            shutil.rmtree(Path(make_url(url).database).parent, ignore_errors=True)
            return
        name = make_url(url).database
        self.request.getfixturevalue("postgres_databases").drop(name)
        self.made.remove(name)


@pytest.fixture
def database_copies(request, tmp_path):
    """A DatabaseCopies for this test; what it leaves is removed afterwards."""
    copies = DatabaseCopies(request, tmp_path)
    yield copies
    for name in list(copies.made):
        request.getfixturevalue("postgres_databases").drop(name)


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
