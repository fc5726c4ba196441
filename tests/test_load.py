"""Correctness under load: 50 clients over HTTP against gunicorn (several workers) and PostgreSQL.

No transition is lost or applied twice, every answer is a success or the expected 409, document
numbers are 1..N without a gap or a repeat once the workers' follow-ups have drained, and the
chain verifies afterwards. Speed under the same load is `fundflow bench`'s business, not this test's.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from workflow import db
from workflow.models import Document, Event, Outbox
from workflow.services.audit_log import verify_chain

from .factories import Factory
from .servers import free_port

CLIENTS = 50
WORKERS = 3


@pytest.fixture
def gunicorn(pg_app, tmp_path):
    """gunicorn serving pg_app's database with its own data dir; yields (host, port)."""
    port = free_port()
    env = {**os.environ, "FUNDFLOW_DATABASE_URL": pg_app.config["DATABASE_URL"],
           "FUNDFLOW_DATA_DIR": pg_app.config["DATA_DIR"], "FUNDFLOW_SECRET_KEY": "load-test"}
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn_bin), "-w", str(WORKERS), "--threads", "8", "-b", f"127.0.0.1:{port}", "--timeout", "120",
         "workflow:create_app()"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, process)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log = process.stdout.read().decode(errors="replace")
        process.stdout.close()
        assert "Traceback" not in log, log[-4000:]


def _wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stdout.read().decode(errors="replace"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready")


def _fire(address, token: str, app_id: int, trigger: str, body: dict) -> int:
    connection = http.client.HTTPConnection(*address, timeout=60)
    connection.request("POST", f"/api/v1/applications/{app_id}/transitions/{trigger}", body=json.dumps(body),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_fifty_clients_lose_nothing_double_nothing_and_number_documents_without_gaps(pg_app, gunicorn):
    factory = Factory(pg_app)
    cast = factory.cast()
    contested, _ = factory.application("pending_recommendation", cast=cast)
    routed = [factory.application("pending_recommendation", cast=cast)[0].id for _ in range(20)]
    deciding = [factory.application("decision_pending", cast=cast)[0].id for _ in range(8)]
    recommender, officer = factory.token(cast.recommender), factory.token(cast.officer)
    with pg_app.app_context():
        before = db.session().scalar(select(func.max(Event.id)))

    # Each client fires once: 10 race for one application, 20 recommend one each, 20 approve 8 in turns.
    plan = ([(recommender, contested.id, "recommend", {"comment": "同意推荐"})] * 10
            + [(recommender, app_id, "recommend", {"comment": "同意推荐"}) for app_id in routed]
            + [(officer, deciding[i % len(deciding)], "approve", {"approved_amount": 1_000_000})
               for i in range(CLIENTS - 30)])
    assert len(plan) == CLIENTS
    results: list[tuple[int, str, int]] = []
    start = threading.Barrier(CLIENTS)

    def client(token, app_id, trigger, body):
        start.wait()
        results.append((app_id, trigger, _fire(gunicorn, token, app_id, trigger, body)))

    threads = [threading.Thread(target=client, args=step) for step in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    codes = Counter(code for _, _, code in results)
    assert len(results) == CLIENTS and set(codes) <= {200, 409}, codes
    won = Counter((app_id, trigger) for app_id, trigger, code in results if code == 200)
    expected = {(contested.id, "recommend"), *((a, "recommend") for a in routed), *((a, "approve") for a in deciding)}
    assert set(won) == expected and set(won.values()) == {1}, won

    with pg_app.app_context():
        s = db.session()
        recorded = Counter(s.execute(select(Event.application_id, Event.trigger)
                                     .where(Event.id > before, Event.trigger.in_(("recommend", "approve")))).all())
        assert dict(recorded) == dict(won)  # every success is one event, and no event without a success
        _wait_drained(s)
        numbers = s.execute(select(Document.year, Document.seq).where(Document.kind == "decision_notice")
                            .order_by(Document.seq)).all()
        assert [seq for _, seq in numbers] == list(range(1, len(deciding) + 1))
        assert s.scalar(select(func.count(func.distinct(Document.number)))) == len(numbers)
        verification = verify_chain()
        assert verification.intact, verification.problems


def _wait_drained(s, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.expire_all()
        left = s.scalar(select(func.count()).where(Outbox.done_at.is_(None)))
        if not left:
            return
        failed = s.scalars(select(Outbox).where(Outbox.failed_at.is_not(None))).all()
        assert not failed, [(o.job, o.last_error) for o in failed]
        time.sleep(0.3)
    raise AssertionError("the workers' follow-ups did not drain")
