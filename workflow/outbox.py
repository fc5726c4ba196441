"""The outbox: follow-up work recorded in the transaction that caused it, handed over after commit.

Without FUNDFLOW_REDIS_URL the work runs in-process: in a served app on a
background thread that drains the outbox (`FOLLOW_UPS = "background"`), so a
request ends at its transition's commit and never waits for a PDF or an
e-mail; in a command that exits when done (demo, scan) right after the commit
(`"inline"`). The thread also picks up, at start-up and every few seconds,
what a crash or a failed attempt left undone. With Redis, the work is enqueued on RQ under the job id `outbox-<id>`; if Redis
is down the transition still commits and the relay (in every worker) hands
the work over once Redis is back. Jobs are idempotent, so a job that runs
twice (a worker killed mid-job, a Redis restart that lost the queue) does no
harm.

A long job reports how far it got with `progress(done, total, note)`: on its
outbox row, each step in a small transaction of its own, and under RQ also in
the RQ job's `meta["progress"]`. A job that returns a dict leaves it on the row
as its `result`.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from flask import Flask, current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from . import db
from .models import Event, Outbox, utcnow

log = logging.getLogger(__name__)

QUEUE = "fundflow-jobs"
MAX_ATTEMPTS = 5
BACKOFF = [10, 30, 90, 300]  # seconds between RQ's retries

_running: ContextVar[int | None] = ContextVar("fundflow_outbox_running", default=None)

# The jobs by name. The job layer (workflow/jobs.py) registers into it; the outbox runs what it holds.
JOBS: dict[str, Callable[..., Any]] = {}

# Called with the outbox id once a job has used its last attempt, after the failure is recorded.
# The job layer registers the admins' alert here, so the outbox needs to know nothing of notices.
ON_FAILURE: list[Any] = []


def stage(session: Session, job: str, *, started_by: int | None = None, **payload: Any) -> int:
    """Record follow-up work in the caller's transaction; return its outbox id.

    `started_by` is the user who asked for the work (None: a transition's follow-up).
    """
    if job not in JOBS:
        raise KeyError(f"no job named {job!r}")
    # A plain INSERT on the session's connection: the row is never read back through the session, and
    # building and flushing an ORM object for it cost more than the statement.
    row = {"job": job, "payload": payload, "created_at": utcnow(), "attempts": 0, "started_by_id": started_by}
    return session.connection().execute(_STAGE_ONE, row).inserted_primary_key[0]


def defer(session: Session, job: str, event: Event) -> None:
    """Follow-up work about `event`, whose id is known only once the chain is sealed."""
    session.info.setdefault("deferred_jobs", []).append((job, event))


_STAGE = insert(Outbox.__table__).returning(Outbox.__table__.c.id, sort_by_parameter_order=True)
_STAGE_ONE = insert(Outbox.__table__)


def stage_deferred(session: Session, *, handing_over: bool = False) -> list[int]:
    """After audit.seal: stage the deferred work with its event ids, in one statement; return the outbox ids.

    `handing_over`: the caller enqueues these rows itself right after its commit (`hand_over(ids,
    marked=True)`), so they are recorded as handed over already, in the caller's transaction, and the
    hand-over needs no transaction of its own. A process that dies between the commit and the enqueue
    leaves them marked but not in Redis, which `recover_lost` finds once JOB_LOST_AFTER has passed.
    """
    deferred = session.info.pop("deferred_jobs", [])
    if not deferred:
        return []
    now = utcnow()
    rows = [{"job": job, "payload": {"event_id": event.id}, "created_at": now, "attempts": 0,
             "dispatched_at": now if handing_over else None}
            for job, event in deferred]
    for row in rows:
        if row["job"] not in JOBS:
            raise KeyError(f"no job named {row['job']!r}")
    conn = session.connection()
    if len(rows) == 1:  # most transitions stage one job: a plain INSERT, whose new id SQLite gives without RETURNING
        return [conn.execute(_STAGE_ONE, rows[0]).inserted_primary_key[0]]
    return list(conn.execute(_STAGE, rows).scalars())


def to_redis() -> bool:
    """Whether follow-up work goes to RQ (FUNDFLOW_REDIS_URL set), not to this process."""
    return bool(current_app.config.get("REDIS_URL"))


def hand_over(ids: list[int], *, marked: bool = False) -> None:
    """After commit: run the work now (no Redis) or enqueue it (Redis).

    `marked`: staged as handed over already (stage_deferred's `handing_over`), so they are only enqueued;
    if Redis cannot take them they are unmarked, and the relay hands them over once it can.
    """
    if not ids:
        return
    if to_redis():
        try:
            if marked:
                rq_queue = queue()
                for outbox_id in ids:
                    _enqueue(rq_queue, outbox_id)
            else:
                dispatch(ids)
        except Exception:  # Redis down: the relay hands it over later; the transition stands
            log.warning("could not enqueue outbox %s now; the relay will", ids, exc_info=True)
            if marked:
                _unmark(ids)
        return
    if current_app.config.get("FOLLOW_UPS") == "background":
        background().wake()
        return
    for outbox_id in ids:
        try:
            perform(outbox_id)
        except Exception:
            log.exception("in-process job outbox-%s failed; it will be retried", outbox_id)


def perform(outbox_id: int) -> dict | None:
    """Run one outbox row's job (the RQ job function); record success or the error; return its result."""
    with db.write_session() as s:
        row = s.get(Outbox, outbox_id)
        if row is None or row.done_at is not None:
            return None
        row.attempts += 1
        row.progress_done = row.progress_total = row.progress_note = row.result = None  # this attempt's own
        job, payload, attempts = row.job, dict(row.payload), row.attempts
    running = _running.set(outbox_id)
    try:
        result = JOBS[job](**payload)
    except Exception as err:
        with db.write_session() as s:
            row = s.get(Outbox, outbox_id)
            row.last_error = "".join(traceback.format_exception_only(err)).strip()[:4000]
            if attempts >= MAX_ATTEMPTS:
                row.failed_at = utcnow()
        if attempts >= MAX_ATTEMPTS:
            _announce_failure(outbox_id)
        raise
    finally:
        _running.reset(running)
    with db.write_session() as s:
        row = s.get(Outbox, outbox_id)
        row.done_at, row.failed_at, row.last_error = utcnow(), None, None
        row.result = result if isinstance(result, dict) else None
    return row.result


def _announce_failure(outbox_id: int) -> None:
    for handler in ON_FAILURE:
        try:
            handler(outbox_id)
        except Exception:  # the failure itself is recorded; an alert that fails must not hide it
            log.exception("could not announce the failure of outbox-%s", outbox_id)


def progress(done: int, total: int | None = None, note: str | None = None) -> None:
    """Record how far the running job got: on its outbox row and, under RQ, in the job's meta.

    Each call is a small transaction of its own, so readers see it at once. Outside
    a job (a job function called directly) it records nothing.
    """
    from redis.exceptions import RedisError
    from rq import get_current_job

    note = note[:200] if note else None
    outbox_id = _running.get()
    if outbox_id is not None:
        with db.write_session() as s:
            s.execute(update(Outbox).where(Outbox.id == outbox_id)
                      .values(progress_done=done, progress_total=total, progress_note=note))
    rq_job = get_current_job()
    if rq_job is not None:
        rq_job.meta["progress"] = {"done": done, "total": total, "note": note}
        try:
            rq_job.save_meta()
        except RedisError:  # the row has it; Redis away for a moment must not fail the job
            log.warning("could not save the progress of %s in Redis", rq_job.id, exc_info=True)


def redis():
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # Short timeouts and no retries (redis-py retries for ~4 s by default):
    # a request must never stall on a dead Redis; the relay tries again later.
    # One client (and its connection pool) per app, shared by its threads.
    client = current_app.extensions.get("fundflow.redis")
    if client is None:
        client = current_app.extensions["fundflow.redis"] = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=5,
            retry=Retry(NoBackoff(), 0))
    return client


def queue():
    from rq import Queue

    return Queue(QUEUE, connection=redis())


def dispatch(ids: list[int] | None = None) -> int:
    """Enqueue outbox rows not yet handed over (or `ids`); return how many were."""
    s = db.session()
    q = select(Outbox.id).where(Outbox.done_at.is_(None), Outbox.failed_at.is_(None),
                                Outbox.dispatched_at.is_(None))
    if ids is not None:
        q = q.where(Outbox.id.in_(ids))
    todo = list(s.scalars(q.order_by(Outbox.id).limit(1000)))
    s.rollback()
    if not todo:
        return 0
    rq_queue = queue()
    for outbox_id in todo:
        _enqueue(rq_queue, outbox_id)
        with db.write_session() as w:
            w.execute(update(Outbox).where(Outbox.id == outbox_id).values(dispatched_at=utcnow()))
    return len(todo)


def _enqueue(rq_queue, outbox_id: int) -> None:
    """One outbox row on RQ, under the job id `outbox-<id>`, with RQ's retries."""
    from rq import Retry

    rq_queue.enqueue_call(perform, args=(outbox_id,), job_id=f"outbox-{outbox_id}",
                          retry=Retry(max=MAX_ATTEMPTS - 1, interval=BACKOFF), result_ttl=3600,
                          failure_ttl=30 * 24 * 3600, description=f"outbox {outbox_id}")


def _unmark(ids: list[int]) -> None:
    """Rows marked handed over that Redis did not take: the relay's to hand over. The database away too:
    they stay marked, and recover_lost finds them lost once JOB_LOST_AFTER has passed."""
    try:
        with db.write_session() as w:
            w.execute(update(Outbox).where(Outbox.id.in_(ids), Outbox.done_at.is_(None))
                      .values(dispatched_at=None))
    except Exception:
        log.warning("could not unmark outbox %s; recover_lost will hand them over", ids, exc_info=True)


def recover_lost(now: dt.datetime | None = None) -> int:
    """Hand over again the work Redis lost or a dead worker dropped.

    A row handed over long ago and still not done is lost when RQ no longer
    knows its job (a Redis restart without persistence), gave up on it, or
    last heard from the worker running it too long ago (the worker died).
    """
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    now = now or utcnow()
    lost_after = dt.timedelta(seconds=current_app.config["JOB_LOST_AFTER"])
    s = db.session()
    stale = list(s.scalars(select(Outbox.id).where(Outbox.done_at.is_(None), Outbox.failed_at.is_(None),
                                                   Outbox.dispatched_at < now - lost_after)))
    s.rollback()
    connection, lost = redis(), []
    for outbox_id in stale:
        try:
            job = Job.fetch(f"outbox-{outbox_id}", connection=connection)
        except NoSuchJobError:
            lost.append(outbox_id)
            continue
        status = job.get_status(refresh=False)
        heard = job.last_heartbeat or job.started_at or job.enqueued_at
        if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED) or (
                status == JobStatus.STARTED and heard is not None
                and heard.replace(tzinfo=dt.timezone.utc) < now - lost_after):
            lost.append(outbox_id)
    if lost:
        log.warning("handing over again outbox %s", lost)
        with db.write_session() as w:
            w.execute(update(Outbox).where(Outbox.id.in_(lost)).values(dispatched_at=None))
    return len(lost)


def retry(outbox_id: int) -> None:
    """Give a failed job another go (admins)."""
    with db.write_session() as s:
        row = s.get(Outbox, outbox_id)
        if row is None:
            from .errors import NotFound

            raise NotFound(f"job {outbox_id} not found")
        row.failed_at, row.dispatched_at, row.attempts = None, None, 0
    hand_over([outbox_id])


# --- in-process follow-ups on a background thread ------------------------------------

LOOK_EVERY = 5.0  # seconds between the drainer's own looks, for work a crash or a failure left


def background(app: Flask | None = None) -> "Drainer":
    """The app's drainer (one per app and process), made on first use."""
    app = app or current_app._get_current_object()
    drainer = app.extensions.get("fundflow.drainer")
    if drainer is None or drainer.pid != _pid():
        drainer = app.extensions["fundflow.drainer"] = Drainer(app)
    return drainer


def stop_background(app: Flask) -> None:
    """End the app's drainer thread, if it has one (an app going away)."""
    drainer = app.extensions.get("fundflow.drainer")
    if drainer is not None:
        drainer.stop()


def _pid() -> int:
    import os

    return os.getpid()


class Drainer:
    """A daemon thread that runs the outbox's undone rows in this process, oldest first.

    Each row is claimed with one conditional UPDATE before it runs, so several
    processes on one database (gunicorn workers) never run the same row at
    once; a claim older than JOB_LOST_AFTER (its process died) is taken over.
    A failed attempt is tried again after RQ's back-off, up to MAX_ATTEMPTS.
    """

    def __init__(self, app: Flask):
        self.app, self.pid = app, _pid()
        self._wakeup, self._resumed = threading.Event(), threading.Event()
        self._resumed.set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at: dict[int, float] = {}
        self._busy = False

    def start(self) -> "Drainer":
        if self._thread is not None and self._thread.is_alive():
            return self
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fundflow-follow-ups", daemon=True)
                self._thread.start()
                self._wakeup.set()  # start-up: drain what is left at once
        return self

    def wake(self) -> None:
        self.start()
        self._wakeup.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the row at hand and end the thread (an app shutting down, a test ending)."""
        self._stopping.set()
        self._wakeup.set()
        self._resumed.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the follow-ups back (a benchmark timing the transitions alone); they run after."""
        self._resumed.clear()
        try:
            yield
        finally:
            self._resumed.set()
            self._wakeup.set()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Until no undone row is left that this drainer could run now; False on timeout."""
        deadline = time.monotonic() + timeout
        self.wake()
        while time.monotonic() < deadline:
            if not (self._busy or self._wakeup.is_set()):
                with self.app.app_context():
                    if not self._runnable():
                        return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(LOOK_EVERY)
            self._resumed.wait()
            self._busy = True  # before the wake-up is cleared: wait_idle never sees a gap
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            try:
                with self.app.app_context():
                    while self._drain_once():
                        pass
            except Exception:  # the database away for a moment: look again later
                log.warning("draining the outbox failed; trying again", exc_info=True)
            finally:
                self._busy = False

    def _runnable(self) -> list[int]:
        now = utcnow()
        stale = now - dt.timedelta(seconds=current_app.config["JOB_LOST_AFTER"])
        s = db.session()
        ids = list(s.scalars(select(Outbox.id).where(
            Outbox.done_at.is_(None), Outbox.failed_at.is_(None),
            (Outbox.dispatched_at.is_(None)) | (Outbox.dispatched_at < stale)).order_by(Outbox.id).limit(500)))
        s.rollback()
        clock = time.monotonic()
        return [i for i in ids if self._retry_at.get(i, 0.0) <= clock]

    def _drain_once(self) -> int:
        """Run every row runnable now; return how many ran."""
        ran = 0
        for outbox_id in self._runnable():
            if self._stopping.is_set():
                break
            if not self._claim(outbox_id):
                continue
            ran += 1
            try:
                perform(outbox_id)
                self._retry_at.pop(outbox_id, None)
            except Exception:
                log.exception("in-process job outbox-%s failed", outbox_id)
                self._release(outbox_id)
        return ran

    def _claim(self, outbox_id: int) -> bool:
        now = utcnow()
        stale = now - dt.timedelta(seconds=current_app.config["JOB_LOST_AFTER"])
        with db.write_session() as w:
            claimed = w.execute(update(Outbox).where(
                Outbox.id == outbox_id, Outbox.done_at.is_(None), Outbox.failed_at.is_(None),
                (Outbox.dispatched_at.is_(None)) | (Outbox.dispatched_at < stale)).values(dispatched_at=now))
            return claimed.rowcount == 1

    def _release(self, outbox_id: int) -> None:
        with db.write_session() as w:
            attempts = w.scalar(select(Outbox.attempts).where(Outbox.id == outbox_id)) or 1
            w.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.done_at.is_(None))
                      .values(dispatched_at=None))
        self._retry_at[outbox_id] = time.monotonic() + BACKOFF[min(attempts, len(BACKOFF)) - 1]
