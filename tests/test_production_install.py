"""A production install, done as the README's "Production" section tells an operator.

Outside the checkout: a fresh venv, `pip install <checkout>` (not editable), then with only the
environment the README documents, on PostgreSQL and Redis: `fundflow init-db`, `fundflow demo`,
gunicorn with two workers behind a TLS proxy (this test plays the proxy), two `fundflow worker`
processes and `python worker.py` run from the checkout against the install. Then over HTTP, as
the load balancer, a person and an API client would: health, the sign-in page, the officer's
dashboard, an approval whose numbered decision PDF a worker renders after the response, the PDF
against its audit event, no failed job, and `fundflow audit verify`.
"""
from __future__ import annotations

import hashlib
import html
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .servers import free_port

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "fundflow-demo"
DECISION_NUMBER = re.compile(r"^国科合〔\d{4}〕\d{4}号$")


# --- the install ---------------------------------------------------------------------------------


@dataclass
class Install:
    """A venv with fundflow installed from this checkout, as `pip install .` installs it."""

    venv: Path
    seconds: float

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def _operator_environment() -> dict[str, str]:
    """This machine's environment (its pip configuration included), without the test run's own:
    no FUNDFLOW_* the tests set, no active venv and no PATH entry into the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FUNDFLOW_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", os.defpath).split(os.pathsep)
                                  if p and not Path(p).resolve().is_relative_to(ROOT))
    return env


@pytest.fixture(scope="session")
def install(tmp_path_factory) -> Install:
    """`python -m venv`, then `pip install <checkout>` from a directory outside the checkout."""
    base = tmp_path_factory.mktemp("production-install")
    assert not base.resolve().is_relative_to(ROOT)
    venv = base / "venv"
    # setuptools builds in the source tree (build/, *.egg-info) unless told otherwise; build here
    # instead, so the test writes nothing into the checkout and no stale build/lib of an earlier
    # build can ship modules the checkout no longer has.
    build_config = base / "build.cfg"
    build_config.write_text(f"[build]\nbuild_base = {base / 'build'}\n[egg_info]\negg_base = {base}\n")
    env = {**_operator_environment(), "DIST_EXTRA_CONFIG": str(build_config)}
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base, env=env, timeout=120)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)], cwd=base, env=env,
         timeout=900)
    seconds = time.monotonic() - started
    assert (base / "build" / "lib" / "workflow").is_dir(), "setuptools ignored DIST_EXTRA_CONFIG"
    direct_url = next((venv / "lib").glob("python*/site-packages/fundflow-*.dist-info/direct_url.json"))
    assert not json.loads(direct_url.read_text()).get("dir_info", {}).get("editable"), "an editable install"
    print(f"production install: {seconds:.1f} s (venv and pip install .)")
    return Install(venv, seconds)


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run a command to its end; its output, or a failure that shows it."""
    done = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-6000:]}"
    return done.stdout


# --- PostgreSQL and Redis ------------------------------------------------------------------------


@pytest.fixture
def production_database(postgres_template) -> str:
    """A new, empty database on the test set-up's PostgreSQL server: `fundflow init-db` makes its schema."""
    name = f"fundflow_production_{os.getpid()}"
    admin = create_engine(postgres_template, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_template).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- the processes -------------------------------------------------------------------------------


@dataclass
class Processes:
    """Long-running processes, each with its output in a log file."""

    logs: Path
    env: dict[str, str]
    started: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], *, cwd: Path) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "wb") as log:
            process = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.started[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def assert_alive(self) -> None:
        for name, process in self.started.items():
            assert process.poll() is None, f"{name} exited {process.returncode}:\n{self.log(name)[-4000:]}"

    def stop(self) -> None:
        """SIGTERM to each (gunicorn and RQ stop gracefully), SIGKILL to one that does not stop in time."""
        for process in self.started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started.values():
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def print_logs(self) -> None:
        for name in self.started:
            print(f"\n----- {name} -----\n{self.log(name)[-6000:]}")


def _processes_running_from(venv: Path) -> dict[int, str]:
    """Every process on this machine whose command line names the venv: pid -> command line."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(venv) in cmdline:
            found[int(proc.name)] = cmdline
    return found


def _stop_leftovers(venv: Path) -> dict[int, str]:
    """Kill, by pid, any process from the venv still there after the stop; what was left."""
    left = _processes_running_from(venv)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


# --- HTTP as the TLS proxy passes it on ----------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Client:
    """HTTP to gunicorn as the README's TLS proxy sends it (X-Forwarded-Proto: https), keeping cookies."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    secure_cookies: set[str] = field(default_factory=set)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        headers = {"X-Forwarded-Proto": "https", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Response(response.status, response.headers, response.read(), time.monotonic() - started)
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
                    if morsel["secure"]:
                        self.secure_cookies.add(name)
        return answer

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def follow(self, path: str) -> tuple[str, Response]:
        """GET, following redirects; the final path and its response."""
        for _ in range(5):
            response = self.get(path)
            if response.status not in (301, 302, 303):
                return path, response
            path = urlsplit(response.headers["Location"]).path
        raise AssertionError(f"too many redirects, last to {path}")

    def post_form(self, path: str, fields: dict[str, str], *, from_page: str) -> Response:
        """A form submitted from `from_page`: a browser names it in Referer, which CSRF checks over HTTPS."""
        return self.request("POST", path, body=urlencode(fields).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Referer": f"https://127.0.0.1:{self.port}{from_page}"})

    def api(self, method: str, path: str, token: str | None = None, payload: dict | None = None) -> Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = None
        if payload is not None:
            body, headers["Content-Type"] = json.dumps(payload).encode(), "application/json"
        return self.request(method, f"/api/v1{path}", body=body, headers=headers)

    def token(self, email: str) -> str:
        response = self.api("POST", "/tokens", payload={"email": email, "password": DEMO_PASSWORD})
        assert response.status == 201, response.text
        return response.json["token"]


def _wait_ready(client: Client, processes: Processes, timeout: float = 90) -> Response:
    deadline = time.monotonic() + timeout
    while True:
        processes.assert_alive()
        try:
            response = client.get("/readyz")
            if response.status == 200:
                return response
        except OSError:
            pass
        assert time.monotonic() < deadline, "gunicorn did not become ready"
        time.sleep(0.3)


def _wait_for(what: str, probe, timeout: float, processes: Processes):
    """Poll `probe` until it returns something true; that."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        processes.assert_alive()
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.5)


# --- the test ------------------------------------------------------------------------------------


@contextmanager
def serving(install: Install, env: dict[str, str], cwd: Path, port: int, logs: Path) -> Iterator[Processes]:
    """The README's processes: gunicorn with two workers, two `fundflow worker`s, and `python worker.py`
    run in the checkout with the venv's python. Stopped on the way out, with nothing left running;
    their logs printed when the test fails."""
    processes = Processes(logs, env)
    try:
        processes.start("gunicorn", [install.bin("gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                                     "workflow:create_app()"], cwd=cwd)
        processes.start("fundflow-worker-1", [install.bin("fundflow"), "worker"], cwd=cwd)
        processes.start("fundflow-worker-2", [install.bin("fundflow"), "worker"], cwd=cwd)
        # From a checkout, against the install: the checkout's workflow/ must not shadow it.
        processes.start("worker.py", [install.bin("python"), "worker.py"], cwd=ROOT)
        yield processes
    except BaseException:
        processes.print_logs()
        raise
    finally:
        processes.stop()
        assert _stop_leftovers(install.venv) == {}, "processes left running after the stop"


def _sign_in_through_the_form(browser: Client, email: str) -> tuple[str, Response]:
    """The sign-in page, its form posted with its CSRF token; where the user lands."""
    page = browser.get("/login")
    assert page.status == 200 and 'name="password"' in page.text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    signed_in = browser.post_form("/login", {"email": email, "password": DEMO_PASSWORD, "csrf_token": token},
                                  from_page="/login")
    assert signed_in.status == 302, signed_in.text
    return browser.follow(signed_in.headers["Location"])


def _approve(client: Client, token: str, application: dict) -> Response:
    response = client.api("POST", f"/applications/{application['id']}/transitions/approve", token,
                          {"approved_amount": application["budget"]["central"], "version": application["version"]})
    assert response.status == 200 and response.json["state"] == "approved", response.text
    return response


def _decision_notice(client: Client, token: str, app_id: int) -> dict | None:
    items = client.api("GET", f"/applications/{app_id}/documents", token).json["items"]
    return next((d for d in items if d["kind"] == "decision_notice"), None)


def _jobs(client: Client, admin_token: str, state: str) -> int:
    return client.api("GET", f"/jobs?state={state}", admin_token).json["total"]


def test_a_production_install_serves_the_demo_as_the_readme_describes(install, production_database, redis_url,
                                                                       tmp_path):
    started = time.monotonic()
    operator_dir, data_dir = tmp_path / "operator", tmp_path / "srv-fundflow"
    operator_dir.mkdir()
    # The README's environment, nothing more (HTTPS-only cookies included: this test is the TLS proxy).
    env = {**_operator_environment(),
           "FUNDFLOW_DATABASE_URL": production_database, "FUNDFLOW_REDIS_URL": redis_url,
           "FUNDFLOW_SECRET_KEY": "a-secret-from-the-secret-store", "FUNDFLOW_AUDIT_KEY": "an-audit-key",
           "FUNDFLOW_DATA_DIR": str(data_dir), "FUNDFLOW_HTTPS_ONLY": "1"}

    def fundflow(*args: str) -> str:
        return _run([install.bin("fundflow"), *args], cwd=operator_dir, env=env, timeout=300)

    assert "schema is up to date" in fundflow("init-db")
    assert "officer@demo.fundflow.cn" in fundflow("demo", "--if-empty")  # its follow-ups queued for the workers

    port = free_port()
    with serving(install, env, operator_dir, port, tmp_path / "logs") as processes:
        browser, client = Client(port), Client(port)  # a person's browser; an API client and the balancer

        # The load balancer's checks.
        ready = _wait_ready(client, processes)
        assert ready.json["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}
        assert client.get("/healthz").status == 200

        # The demo's officer signs in and lands on the dashboard, which lists the files awaiting decision.
        landed, dashboard = _sign_in_through_the_form(browser, "officer@demo.fundflow.cn")
        assert (landed, dashboard.status) == ("/officer", 200), dashboard.text[:2000]
        assert "fundflow_session" in browser.secure_cookies  # FUNDFLOW_HTTPS_ONLY
        assert "Strict-Transport-Security" in dashboard.headers  # the proxy's X-Forwarded-Proto believed
        token = client.token("officer@demo.fundflow.cn")
        pending = client.api("GET", "/applications?state=decision_pending", token)
        assert pending.status == 200 and pending.json["total"] >= 1, pending.text
        filtered = browser.get("/officer?state=decision_pending")
        assert filtered.status == 200
        for application in pending.json["items"]:
            assert application["title"] in html.unescape(filtered.text)

        # An approval answers at its commit; a worker renders its numbered decision notice afterwards.
        chosen = pending.json["items"][0]
        approved = _approve(client, token, chosen)
        assert approved.seconds < 3, f"the approval took {approved.seconds:.2f} s"
        assert _decision_notice(client, token, chosen["id"]) is None  # not rendered in the request
        notice = _wait_for("the decision notice", lambda: _decision_notice(client, token, chosen["id"]),
                           timeout=240, processes=processes)
        assert DECISION_NUMBER.match(notice["number"]), notice

        # The PDF served is the one its audit event recorded.
        pdf = client.api("GET", f"/documents/{notice['id']}", token)
        assert pdf.status == 200 and pdf.body.startswith(b"%PDF"), pdf.body[:200]
        digest = hashlib.sha256(pdf.body).hexdigest()
        assert digest == notice["sha256"] == pdf.headers["X-Content-SHA256"]
        history = client.api("GET", f"/applications/{chosen['id']}/history", token).json["items"]
        issued = next(e for e in history if e["id"] == notice["issued_event_id"])
        assert issued["data"]["sha256"] == digest and issued["data"]["number"] == notice["number"], issued

        # Every follow-up of the demo and of the approval done, none failed, each worker having run some.
        admin = client.token("admin@demo.fundflow.cn")
        _wait_for("the outbox drained", lambda: _jobs(client, admin, "pending") == 0, timeout=300,
                  processes=processes)
        assert _jobs(client, admin, "failed") == 0, client.api("GET", "/jobs?state=failed", admin).text
        for worker in ("fundflow-worker-1", "fundflow-worker-2", "worker.py"):
            assert "Job OK" in processes.log(worker), f"{worker} ran no job:\n{processes.log(worker)[-3000:]}"

        # The nightly checkpoint, then the chain and the checkpoint's signature verified, from the venv.
        checkpoint = json.loads(fundflow("audit", "checkpoint").splitlines()[-1])  # printed for publication
        assert checkpoint["event_id"] >= notice["issued_event_id"] and checkpoint["signature"], checkpoint
        verified = fundflow("audit", "verify")
        assert "audit chain intact" in verified and "1 checkpoints" in verified, verified
        assert "not checked" not in verified, verified  # FUNDFLOW_AUDIT_KEY checked the signature
        processes.assert_alive()

    for name in processes.started:
        assert "Traceback" not in processes.log(name), f"{name}:\n{processes.log(name)[-4000:]}"
    print(f"production install test: {time.monotonic() - started:.1f} s after an install of {install.seconds:.1f} s")
