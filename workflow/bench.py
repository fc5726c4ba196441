"""Benchmarks: the engine against the floor of the same work in bare SQLAlchemy Core.

One run, one database file (or one PostgreSQL schema), one engine with the
app's settings. The engine's figure goes through `services.transitions.fire`
exactly as a page or the API would; the floor does the same database work by
hand in one transaction per change: select the row, update it with a version
check, read the chain head, insert the hashed event, move the head, insert the
outbox rows the transition stages, commit.
Both alternate `suspend` (with a reason) and `resume` by an officer on
applications that were driven to `in_progress` through the engine, and both
append to the one audit chain, which is verified at the end.

Engine and floor run in short rounds in an ABBA order, so drift on a noisy
machine falls on both alike; their ratio is the figure to watch. On SQLite
both run with the app's durability setting (WAL, synchronous=FULL, see
workflow/db.py), printed as `sqlite_synchronous`.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import secrets
import shutil
import tempfile
import time
from contextlib import ExitStack, contextmanager
from types import SimpleNamespace
from typing import Any, Callable, ContextManager, Iterator

from flask import Flask
from sqlalchemy import Engine, bindparam, create_engine, insert, make_url, select, text, update

from . import audit, create_app, db, outbox
from .engine import workflow
from .lifecycle import Cast, drive
from .migrate import upgrade
from .models import Application, ChainHead, Event, Outbox, utcnow
from .permissions import Actor
from .services import accounts, registry
from .services.applications import create_application
from .services.transitions import fire

Progress = Callable[[str, int], ContextManager[Any]]

ROUND = 50  # changes per side per round; rounds run in the order E F F E E F F E ...
SUSPEND_REASON = "合作协议履约情况需核查，暂停执行。"
PASSWORD = "fundflow-bench-password"
BENCH_SECRET = "fundflow-bench"
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def run(database_url: str | None, n: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    """Measure the engine and its floor; yield (name, value) per figure."""
    if n < 1:
        raise ValueError("n must be at least 1")
    with scratch_app(database_url) as app:
        engine = db.engine()
        yield from _settings(engine)

        officer, app_ids = _prepare(min(20, max(2, n // 50)), progress)
        drainer = outbox.background(app)
        if not drainer.wait_idle(timeout=600):  # the set-up's notices and documents, before the clock runs
            raise RuntimeError("the set-up's follow-ups did not finish")
        # The engine is `fire` up to its return, as a request sees it: the follow-ups it
        # stages are held back while it runs, then drained and timed on their own.
        with drainer.paused():
            yield from _measure(engine, officer, app_ids, n, progress)
            waiting = _undone()
        start = time.perf_counter()
        drained = drainer.wait_idle(timeout=600)
        seconds = time.perf_counter() - start
        yield "follow_ups_drained", waiting - _undone()
        yield "follow_ups_per_s", round((waiting - _undone()) / seconds, 1) if drained and seconds else 0


def _undone() -> int:
    from sqlalchemy import func

    s = db.session()
    count = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.done_at.is_(None),
                                                                   Outbox.failed_at.is_(None)))
    s.rollback()
    return count


@contextmanager
def scratch_app(database_url: str | None) -> Iterator[Flask]:
    """An app on a fresh, migrated database, its context pushed; everything undone on the way out.

    The database is a SQLite file in a temp dir, or a schema of its own on the
    PostgreSQL server of `database_url`. The temp dir is also the app's
    DATA_DIR. The app never reaches the environment's Redis or mail server:
    its jobs run in-process, and its notices stay in the inbox.
    """
    with ExitStack() as stack:
        scratch = tempfile.mkdtemp(prefix="fundflow-bench-")
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        if database_url:
            url = stack.enter_context(_postgres_schema(database_url))
        else:
            url = f"sqlite:///{os.path.join(scratch, 'bench.db')}"
        with _environ(FUNDFLOW_DATA_DIR=scratch, FUNDFLOW_SECRET_KEY=BENCH_SECRET):
            # The accounts are throwaway and never sign in: a cheap hash keeps set-up short.
            app = create_app({"DATABASE_URL": url, "DATA_DIR": scratch, "REDIS_URL": None, "SMTP_URL": None,
                              "FOLLOW_UPS": "background",
                              "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        stack.callback(app.extensions["fundflow.engine"].dispose)
        stack.callback(outbox.stop_background, app)  # before the database goes: its thread reads it
        stack.enter_context(app.app_context())
        upgrade(db.engine())
        yield app


def _settings(engine: Engine) -> Iterator[tuple[str, Any]]:
    yield "database", engine.dialect.name
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            yield "sqlite_synchronous", SYNCHRONOUS.get(conn.exec_driver_sql("PRAGMA synchronous").scalar(),
                                                        "unknown")
            yield "sqlite_journal_mode", conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        elif engine.dialect.name == "postgresql":
            yield "sqlite_synchronous", "n/a"
            yield "postgresql_synchronous_commit", conn.exec_driver_sql("SHOW synchronous_commit").scalar()
            yield "postgresql_fsync", conn.exec_driver_sql("SHOW fsync").scalar()


def _prepare(count: int, progress: Progress, state: str = "in_progress") -> tuple[Actor, list[int]]:
    """Make the people and `count` applications in `state`, all through the services."""
    tag = secrets.token_hex(3)
    admin = Actor.of(accounts.create_user(f"admin-{tag}@bench.example.cn", PASSWORD, "admin"))
    home = registry.create_institution(admin, {"name": f"基准测试大学{tag}", "name_en": "Bench University",
                                               "kind": "university"})
    body = registry.create_body(admin, {"name": f"基准推荐单位{tag}", "channel": "intergovernmental",
                                        "kind": "bilateral_commission"})
    now = utcnow()
    call = registry.create_call(admin, {
        "code": f"BENCH-{tag}", "title": "基准测试指南", "opens_at": now - dt.timedelta(days=30),
        "closes_at": now + dt.timedelta(days=30), "total_budget": 10**12, "quorum": 3})

    def user(role: str, **kw) -> Actor:
        return Actor.of(accounts.create_user(f"{role}-{secrets.token_hex(4)}@bench.example.cn", PASSWORD,
                                             role, **kw))

    reviewers = []
    for i in range(3):
        institution = registry.create_institution(
            admin, {"name": f"评审专家单位{tag}-{i}", "name_en": "Reviewer Institute", "kind": "institute"})
        reviewers.append(user("reviewer", institution_id=institution.id))
    cast = Cast(applicant=user("applicant", institution_id=home.id), recommender=user("recommender",
                body_id=body.id), officer=user("officer"), reviewers=reviewers)
    data = {"call_id": call.id, "title": "中德新能源材料联合研究", "title_en": "Sino-German energy materials",
            "summary": "面向储能应用的新型电极材料合作研究。", "field": "energy_resources",
            "cooperation_type": "joint_rnd", "channel": body.channel, "body_id": body.id,
            "duration_months": 36, "sensitive_technology": False,
            "partners": [{"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"}],
            "budget": {"central": 3_000_000, "local_matching": 1_000_000, "self_raised": 500_000}}
    app_ids = []
    with progress("preparing applications", count) as bar:
        for _ in range(count):
            application = create_application(cast.applicant, dict(data))
            drive(cast, application.id, state)
            app_ids.append(application.id)
            bar.update(1)
    return cast.officer, app_ids


def _measure(engine: Engine, officer: Actor, app_ids: list[int], n: int,
             progress: Progress) -> Iterator[tuple[str, Any]]:
    states = {app_id: "in_progress" for app_id in app_ids}
    writer = engine.execution_options(fundflow_write=True)
    turn = itertools.cycle(app_ids)

    def engine_change() -> None:
        app_id = next(turn)
        suspend = states[app_id] == "in_progress"
        row = fire(officer, "application", app_id, "suspend" if suspend else "resume",
                   comment=SUSPEND_REASON if suspend else None)
        states[app_id] = row.state

    def floor_change() -> None:
        app_id = next(turn)
        states[app_id] = _floor_change(writer, officer, app_id)

    warm_up = min(20, n)
    rounds = max(2, 2 * round(n / ROUND / 2))  # an even number, so each side leads as often
    sizes = [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)]
    timings: dict[str, list[float]] = {"engine": [], "floor": []}
    elapsed = {"engine": 0.0, "floor": 0.0}
    with progress("engine and floor", 2 * (n + warm_up)) as bar:
        for change in (engine_change, floor_change):
            for _ in range(warm_up):
                change()
            bar.update(warm_up)
        for i, size in enumerate(sizes):
            order = ("engine", "floor") if i % 2 == 0 else ("floor", "engine")
            for side in order:
                change = engine_change if side == "engine" else floor_change
                lat = timings[side]
                start = time.perf_counter()
                for _ in range(size):
                    t0 = time.perf_counter()
                    change()
                    lat.append(time.perf_counter() - t0)
                elapsed[side] += time.perf_counter() - start
                bar.update(size)

    per_s = {side: len(timings[side]) / elapsed[side] for side in timings}
    for side in ("engine", "floor"):
        yield f"{side}_per_s", round(per_s[side], 1)
        yield f"{side}_p50_ms", round(_percentile(timings[side], 50) * 1000, 3)
        yield f"{side}_p99_ms", round(_percentile(timings[side], 99) * 1000, 3)
    yield "engine_floor_ratio", round(per_s["floor"] / per_s["engine"], 3)
    # The same comparison by medians: steadier when other work shares the machine.
    p50 = {side: _percentile(timings[side], 50) for side in timings}
    yield "engine_floor_p50_ratio", round(p50["engine"] / p50["floor"], 3)
    yield from _verify(progress)


_APPS, _EVENTS, _HEAD = Application.__table__, Event.__table__, ChainHead.__table__
# Built once: the floor pays for executing statements, not for composing them.
_FLOOR_SELECT = select(_APPS).where(_APPS.c.id == bindparam("app_id"))  # the whole row, as a guard may need it
_FLOOR_UPDATE = update(_APPS).where(_APPS.c.id == bindparam("app_id"), _APPS.c.version == bindparam("seen")) \
    .values(state=bindparam("dest"), version=bindparam("next"), updated_at=bindparam("now"))
_FLOOR_HEAD = select(_HEAD.c.event_id, _HEAD.c.hash).where(_HEAD.c.id == audit.HEAD_ID).with_for_update()
_FLOOR_INSERT = insert(_EVENTS)
_FLOOR_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == audit.HEAD_ID).values(
    event_id=bindparam("event_id"), hash=bindparam("hash"))
_FLOOR_STAGE = insert(Outbox.__table__)


def _floor_change(writer: Engine, officer: Actor, app_id: int) -> str:
    """One suspend or resume by hand: the least any engine must do for it."""
    now = utcnow()
    with writer.begin() as conn:
        row = conn.execute(_FLOOR_SELECT, {"app_id": app_id}).one()
        state, version, workflow_version = row.state, row.version, row.workflow_version
        trigger, dest = ("suspend", "suspended") if state == "in_progress" else ("resume", "in_progress")
        moved = conn.execute(_FLOOR_UPDATE, {"app_id": app_id, "seen": version, "dest": dest,
                                             "next": version + 1, "now": now}).rowcount
        if moved != 1:
            raise RuntimeError(f"application {app_id} changed under the benchmark")
        head_id, head_hash = conn.execute(_FLOOR_HEAD).one()
        event = SimpleNamespace(
            id=head_id + 1, application_id=app_id, subject="application", subject_id=app_id, trigger=trigger,
            from_state=state, to_state=dest, actor_id=officer.id, role=officer.role, created_at=now,
            comment=SUSPEND_REASON if trigger == "suspend" else None,
            data={"workflow_version": workflow_version})
        event.prev_hash, event.hash = head_hash, audit.chain_hash(head_hash, event)
        conn.execute(_FLOOR_INSERT, vars(event))
        conn.execute(_FLOOR_MOVE_HEAD, {"event_id": event.id, "hash": event.hash})
        conn.execute(_FLOOR_STAGE, [{"job": job, "payload": {"event_id": event.id}, "created_at": now, "attempts": 0}
                                    for job in _jobs_of(trigger, workflow_version)])
    return dest


def _jobs_of(trigger: str, workflow_version: int) -> tuple[str, ...]:
    """The follow-up jobs the application's definition stages for `trigger` (out of in_progress or suspended)."""
    wf = workflow("application", workflow_version)
    return next(t.jobs for t in wf.transitions if t.trigger == trigger)


def _verify(progress: Progress) -> Iterator[tuple[str, Any]]:
    from flask import current_app

    session = current_app.extensions["fundflow.sessions"]()
    try:
        total = audit.head(session)[0]
        with progress("verifying the audit chain", total) as bar:
            done = [0]

            def advance(count: int) -> None:
                if count - done[0] >= 1000 or count == total:
                    bar.update(count - done[0])
                    done[0] = count

            start = time.perf_counter()
            count, broken = audit.verify(session, progress=advance)
            seconds = time.perf_counter() - start
    finally:
        session.close()
    if broken:
        raise RuntimeError(f"the benchmark's audit chain is broken: {broken}")
    yield "verify_events", count
    yield "verify_events_per_s", round(count / seconds, 1)


def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


@contextmanager
def _postgres_schema(url: str) -> Iterator[str]:
    """A schema of its own on the given server, dropped afterwards; yield a URL that uses it."""
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("postgresql"):
        raise ValueError("--database-url must be a PostgreSQL URL (SQLite runs on a fresh file by default)")
    schema = f"fundflow_bench_{secrets.token_hex(4)}"
    admin = create_engine(parsed)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        options = " ".join(filter(None, [parsed.query.get("options"), f"-csearch_path={schema}"]))
        yield parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables for a moment, so building the app leaves ./instance alone."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


__all__ = ["run"]
