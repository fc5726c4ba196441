"""Jobs through Redis and real worker processes: documents once each, numbered without gaps, nothing lost."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflow import create_app, db
from workflow.models import Document, Event, Outbox

from .conftest import TEST_CONFIG, ApiClient
from .factories import Factory

ROOT = Path(__file__).resolve().parent.parent
LOST_AFTER = 3  # seconds: lets the relay hand lost work over again within the test


class Workers:
    """`python worker.py` processes against the test's database and Redis."""

    def __init__(self, app, redis_url: str):
        self.env = {**os.environ, "FUNDFLOW_DATABASE_URL": app.config["DATABASE_URL"],
                    "FUNDFLOW_DATA_DIR": app.config["DATA_DIR"], "FUNDFLOW_REDIS_URL": redis_url,
                    "FUNDFLOW_JOB_LOST_AFTER": str(LOST_AFTER), "FUNDFLOW_SECRET_KEY": "test-secret"}
        self.processes: list[subprocess.Popen] = []
        self.logs = Path(app.config["DATA_DIR"]) / "worker-logs"
        self.logs.mkdir(exist_ok=True)

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            log = open(self.logs / f"worker-{len(self.processes)}.log", "wb")
            self.processes.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT,
                                                   env=self.env, stdout=log, stderr=subprocess.STDOUT))
            log.close()

    def kill(self, index: int) -> None:
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(10)

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.iterdir()))


@pytest.fixture
def workers():
    made: list[Workers] = []

    def make(app, redis_url):
        made.append(Workers(app, redis_url))
        return made[-1]
    yield make
    for w in made:
        w.stop()


@pytest.fixture
def queued_app():
    """A second app on the same database that hands its jobs to Redis, as a deployment would."""
    made = []

    def make(app, redis_url):
        made.append(create_app({**TEST_CONFIG, "DATA_DIR": app.config["DATA_DIR"],
                                "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": redis_url,
                                "JOB_LOST_AFTER": LOST_AFTER}))
        return made[-1]
    yield make
    for app in made:
        app.extensions["fundflow.engine"].dispose()


def _pending(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count(Outbox.id)).where(Outbox.done_at.is_(None)))


def _wait_until_done(app, workers: Workers, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while _pending(app):
        if time.monotonic() > deadline:
            raise AssertionError(f"{_pending(app)} jobs still pending; workers said:\n{workers.output()}")
        time.sleep(0.3)


def _approve_all(app, token, app_ids, threads=8):
    def approve(app_id):
        return ApiClient(app.test_client(), token).fire(app_id, "approve", approved_amount=1_000_000).status_code

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(approve, app_ids))


def _check_documents(app, factory, app_ids, cast):
    with app.app_context():
        s = db.session()
        docs = list(s.scalars(select(Document).where(Document.kind == "decision_notice").order_by(Document.seq)))
        assert [d.seq for d in docs] == list(range(1, len(app_ids) + 1))  # 0001..N, no gap, no duplicate
        assert sorted(d.application_id for d in docs) == sorted(app_ids)
        folder = Path(app.config["DATA_DIR"]) / "documents"
        for doc in docs:
            issued = s.get(Event, doc.issued_event_id)
            assert issued.data["sha256"] == doc.sha256 == __import__("hashlib").sha256(
                (folder / doc.stored_name).read_bytes()).hexdigest()
        assert s.scalar(select(func.count(Event.id)).where(Event.subject == "document")) == len(app_ids)
    owner, stranger = ApiClient(app.test_client(), factory.token(cast.applicant)), ApiClient(
        app.test_client(), factory.token(factory.user("applicant")))
    assert owner.get(f"/documents/{docs[0].id}").status_code == 200
    assert stranger.get(f"/documents/{docs[0].id}").status_code == 404


def _decision_pending(factory, count):
    cast = factory.cast()
    call = factory.call(total_budget=10**10)
    return [factory.application("decision_pending", cast=cast, call=call)[0].id for _ in range(count)], cast


def test_two_workers_issue_every_notice_once_numbered_without_gaps(pg_app, redis_url, workers, queued_app):
    factory = Factory(pg_app)
    app_ids, cast = _decision_pending(factory, 12)
    queued = queued_app(pg_app, redis_url)
    pool = workers(pg_app, redis_url)
    pool.start(2)

    codes = _approve_all(queued, factory.token(cast.officer), app_ids)

    assert codes == [200] * len(app_ids)
    _wait_until_done(pg_app, pool)
    _check_documents(pg_app, factory, app_ids, cast)


def test_redis_restarted_halfway_loses_nothing(pg_app, own_redis, workers, queued_app):
    factory = Factory(pg_app)
    app_ids, cast = _decision_pending(factory, 8)
    queued = queued_app(pg_app, own_redis.url)
    token = factory.token(cast.officer)
    pool = workers(pg_app, own_redis.url)
    pool.start(2)

    assert _approve_all(queued, token, app_ids[:4]) == [200] * 4
    own_redis.stop()  # the queue and everything in it is gone: this Redis keeps nothing on disk
    assert _approve_all(queued, token, app_ids[4:]) == [200] * 4  # decisions stand while Redis is down
    with pg_app.app_context():
        waiting = db.session().scalar(select(func.count(Outbox.id)).where(Outbox.dispatched_at.is_(None)))
    assert waiting >= 4
    own_redis.start()

    _wait_until_done(pg_app, pool)
    _check_documents(pg_app, factory, app_ids, cast)


def test_a_worker_killed_mid_job_loses_nothing_and_duplicates_nothing(pg_app, redis_url, workers, queued_app):
    factory = Factory(pg_app)
    app_ids, cast = _decision_pending(factory, 8)
    queued = queued_app(pg_app, redis_url)
    pool = workers(pg_app, redis_url)
    pool.start(1)
    killed = threading.Event()

    def kill_when_busy():
        deadline = time.monotonic() + 180  # a loaded CI machine may be slow to start the first job
        while time.monotonic() < deadline:
            with pg_app.app_context():
                started = db.session().scalar(select(func.count(Outbox.id)).where(
                    Outbox.attempts > 0, Outbox.done_at.is_(None), Outbox.job == "decision_notice"))
            if started:
                pool.kill(0)
                killed.set()
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    assert _approve_all(queued, factory.token(cast.officer), app_ids) == [200] * len(app_ids)
    killer.join()
    assert killed.is_set()
    pool.start(1)  # a fresh worker; its relay hands the dropped job over again

    _wait_until_done(pg_app, pool)
    _check_documents(pg_app, factory, app_ids, cast)
