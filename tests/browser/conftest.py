"""Fixtures for the real-browser tests: the live app on a port, Chromium, a context per test.

Playwright drives Debian's Chromium (/usr/bin/chromium); it never downloads a browser.
These tests never skip: without Chromium or Playwright they fail and say what is missing.

Every page a test opens records its script errors, console errors (Chromium reports CSP
violations there, as "Refused to ..."), and failed loads of scripts, styles and images;
the test fails if any were recorded.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ..factories import PASSWORD

CHROMIUM = os.environ.get("FUNDFLOW_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
TIMEOUT_MS = 15_000


# --- the live app ------------------------------------------------------------------


@dataclass
class LiveServer:
    app: object
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@contextlib.contextmanager
def serve(app):
    """Serve `app` on 127.0.0.1 (a free port) with werkzeug in a daemon thread, for as long as the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fundflow-live", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def live(app):
    """The real app (tests/conftest.py's `app`: a fresh database, SQLite and then PostgreSQL, DATA_DIR in
    tmp_path, no Redis, so follow-up jobs run in-process), served live."""
    with serve(app) as server:
        yield server


@pytest.fixture(scope="module")
def module_app(tmp_path_factory, module_database_url):
    """An app of its own for one test module whose tests only read (made like tests/conftest.py's `app`,
    on each database in turn)."""
    from ..conftest import make_app

    app = make_app(module_database_url, tmp_path_factory.mktemp("browser-module"))
    yield app
    app.extensions["fundflow.engine"].dispose()


# --- the browser -------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_driver():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:  # pragma: no cover - the message is the point
        pytest.fail(f"Playwright for Python is not installed ({err}); `pip install -e '.[test]'`.", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One Chromium per test process (per xdist worker)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not at {CHROMIUM}: install Debian's `chromium` package "
                    "(./run does; never `playwright install`), or set FUNDFLOW_CHROMIUM.", pytrace=False)
    try:
        browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    except Exception as err:
        pytest.fail(f"Chromium at {CHROMIUM} did not start: {err}", pytrace=False)
    yield browser
    browser.close()


@dataclass
class Problems:
    """What the browser complained about while a test ran."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("pageerror", lambda err: self.seen.append(f"script error on {page.url}: {err}"))
        page.on("console", lambda msg: self._console(page, msg))
        page.on("response", lambda response: self._response(response))
        page.on("requestfailed", lambda request: self._failed(request))
        # A `data-confirm` button asks first; the person says yes.
        page.on("dialog", lambda dialog: dialog.accept())

    def _console(self, page, msg) -> None:
        if msg.type != "error":
            return
        # A page answering 4xx is logged as "Failed to load resource"; responses are judged in _response.
        if msg.text.startswith("Failed to load resource"):
            return
        self.seen.append(f"console error on {page.url}: {msg.text}")

    def _response(self, response) -> None:
        kind = response.request.resource_type
        status = response.status
        if kind == "document":
            if status >= 500:
                self.seen.append(f"{status} for {response.url}")
        elif status >= 400:
            self.seen.append(f"{status} for {kind} {response.url}")

    def _failed(self, request) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:
            return  # a download, or a load cut short by the next navigation (a favicon, say)
        self.seen.append(f"request failed: {request.resource_type} {request.url}: {failure}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember whether a test's body failed, so the browser check below does not say it twice."""
    report = yield
    if report.when == "call":
        item.fundflow_call_failed = report.failed
    return report


@pytest.fixture
def problems(request):
    found = Problems()
    yield found
    if found.seen:
        request.node.add_report_section("teardown", "browser problems", "\n".join(found.seen))
    _check(request, found)


def _check(request, problems: Problems) -> None:
    """Fail a test that passed otherwise when the browser complained (a failed test already says why)."""
    if problems.seen and not getattr(request.node, "fundflow_call_failed", False):
        pytest.fail("the browser reported problems:\n" + "\n".join(problems.seen), pytrace=False)


@pytest.fixture
def context(browser, problems):
    """A fresh browser context per test, in Chinese (zh-CN); every page in it is watched."""
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    ctx.on("page", problems.watch)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def other_context(browser, problems):
    """A second browser (another person's cookies) in the same test, watched the same way."""
    made = []

    def make(locale: str = "zh-CN"):
        ctx = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900}, accept_downloads=True)
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.on("page", problems.watch)
        made.append(ctx)
        return ctx
    yield make
    for ctx in made:
        ctx.close()


# --- screenshots and signing in --------------------------------------------------------


@pytest.fixture
def shot(request):
    """shot(page, name): a full-page PNG at test-output/screenshots/<test>-<n>-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    for old in SCREENSHOTS.glob(f"{glob.escape(test)}-*.png"):  # this test's shots of an earlier run
        old.unlink()
    count = iter(range(1, 1000))

    def take(page, name: str) -> Path:
        safe = re.sub(r"[^\w.-]+", "_", name)
        path = SCREENSHOTS / f"{test}-{next(count):02d}-{safe}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


def submit(page, target) -> None:
    """Click what sends a form (or follows a link) and wait for the page it leads to."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        target.click()


def sign_in(page, live: LiveServer, email: str, password: str = PASSWORD, *, expect_ok: bool = True):
    """Sign in through the real form, by its labels (电子邮箱, 密码, the 登录 button)."""
    page.goto(live("/login"))
    page.get_by_label(re.compile(r"^(电子邮箱|E-mail)")).fill(email)
    page.get_by_label(re.compile(r"^(密码|Password)")).fill(password)
    submit(page, page.get_by_role("button", name=re.compile(r"^(登录|Sign in)$")))
    if expect_ok:
        assert "/login" not in page.url, f"sign-in as {email} failed: {page.locator('body').inner_text()[:500]}"
    return page


@pytest.fixture
def as_user(context, live, other_context):
    """as_user(actor) -> a new page in its own browser context, signed in as that actor."""
    def make(actor, *, own_context: bool = True, locale: str = "zh-CN"):
        ctx = other_context(locale) if own_context else context
        return sign_in(ctx.new_page(), live, actor.email)
    return make


def html_lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


# --- words as the pages show them ------------------------------------------------------


def tr(app, msgid: str, language: str = "zh", **values) -> str:
    """A UI string as the catalogue renders it in `language`: tests find controls by the label a reader sees."""
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"), force_locale(language):
        return gettext(msgid, **values)


def _definition(kind: str) -> dict:
    import tomllib

    path = Path(__file__).resolve().parents[2] / "states" / f"{kind}_v1.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def trigger_label(kind: str, trigger: str, language: str = "zh") -> str:
    """A trigger's button label from states/<kind>_v1.toml."""
    for t in _definition(kind)["transitions"]:
        if t["trigger"] == trigger:
            return t["label"] if language == "zh" else t["label_en"]
    raise KeyError(trigger)


def state_label(kind: str, state: str, language: str = "zh") -> str:
    for s in _definition(kind)["states"]:
        if s["name"] == state:
            return s["label"] if language == "zh" else s["label_en"]
    raise KeyError(state)


def exact(text: str):
    """A regex matching `text` alone (whitespace around it allowed)."""
    return re.compile(r"^\s*" + re.escape(text) + r"\s*$")


def db_state(app, model_name: str, row_id: int) -> tuple[str, int]:
    """(state, version) of an application, review or milestone, read straight from the database."""
    from sqlalchemy import text

    table = {"application": "applications", "review": "reviews", "milestone": "milestones"}[model_name]
    with app.extensions["fundflow.engine"].connect() as c:
        return tuple(c.execute(text(f"SELECT state, version FROM {table} WHERE id = :i"), {"i": row_id}).one())


def event_count(app) -> int:
    """Events other than sign-ins: the browser signing in is an event, not a change it should make."""
    from sqlalchemy import text

    with app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT count(*) FROM events WHERE subject <> 'sign_in'")).scalar()
