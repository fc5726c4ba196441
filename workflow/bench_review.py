"""Benchmark: expert review at a national fund's scale.

A pool of 5 × N experts (10,000 for a call of 2,000), imported as an officer
imports the talent database (CSV files through services.pool.import_experts),
and a call of N applications in expert review, made through the services. Then, in one run:

- the floor: as many bare INSERTs of an assignment row as the bulk action
  will make, each its own transaction, then deleted;
- the bulk action: an officer asks for 3 suggested, conflict-free experts on
  each of the N applications in one action (services.bulk.assign_suggested),
  which runs as an `assign_reviewers` job on the app's background thread;
  its time is from the request to the job's row done, beside the floor;
- the follow-ups: the assignments' notices, drained by the same thread after
  the job (timed on their own, and over before suggestions are timed: sharing
  the process with them measured the drain, not the query);
- suggestions: services.pool.suggest for R applications drawn at random,
  with the pool now loaded by those assignments: p50 and p99.
"""
from __future__ import annotations

import csv
import io
import random
import statistics
import time
from typing import Any, Iterator

from sqlalchemy import delete, insert, select

from . import db, outbox
from .bench import Progress, _prepare, scratch_app
from .models import FIELDS, LANGUAGES, Outbox, Review, User, utcnow
from .permissions import Actor
from .services import bulk, pool, registry
from .services.applications import default_due_date

EXPERTS_PER_APPLICATION = 5
INSTITUTIONS = 200
PER_APPLICATION = 3
SUGGESTIONS = 200
COUNTRIES = ("CN",) * 6 + ("DE", "FR", "GB", "JP", "KR", "SG", "RU", "IT", "AU", "CA")
_IMPORT_ROWS = pool.MAX_IMPORT_ROWS


def run(database_url: str | None, n: int, progress: Progress,
        suggestions: int = SUGGESTIONS) -> Iterator[tuple[str, Any]]:
    if n < 1 or n * PER_APPLICATION > bulk.MAX_ASSIGNMENTS:
        raise ValueError(f"--review takes 1 to {bulk.MAX_ASSIGNMENTS // PER_APPLICATION} applications")
    experts = EXPERTS_PER_APPLICATION * n
    with scratch_app(database_url) as app:
        officer, app_ids = _prepare(n, progress, state="expert_review")
        _import_pool(officer, experts, progress)
        drainer = outbox.background(app)
        drainer.wait_idle(timeout=600)
        assignments = n * PER_APPLICATION
        floor_s = _floor(app_ids, assignments, progress)
        bulk_s, summary = _bulk(officer, app_ids, progress)
        start = time.perf_counter()
        drainer.wait_idle(timeout=1800)
        follow_ups_s = time.perf_counter() - start
        _analyze()
        suggest_ms = _suggest(officer, app_ids, suggestions, progress)
    yield "review_pool_experts", experts
    yield "review_applications", n
    yield "review_bulk_assigned", summary["assigned"]
    yield "review_bulk_refused", summary["refused"]
    yield "review_bulk_short", len(summary["short"])
    yield "review_bulk_s", round(bulk_s, 2)
    yield "review_bulk_per_s", round(summary["assigned"] / bulk_s, 1)
    yield "review_floor_inserts", assignments
    yield "review_floor_s", round(floor_s, 2)
    yield "review_floor_per_s", round(assignments / floor_s, 1)
    yield "review_bulk_floor_ratio", round(bulk_s / floor_s, 2)
    yield "review_follow_ups_s", round(follow_ups_s, 2)
    yield "review_suggest_n", len(suggest_ms)
    yield "review_suggest_p50_ms", round(statistics.median(suggest_ms), 2)
    yield "review_suggest_p99_ms", round(_p99(suggest_ms), 2)


def _import_pool(officer, count: int, progress: Progress) -> None:
    """`count` experts at INSTITUTIONS institutions, with one to three fields each, imported as CSV files."""
    draw = random.Random(2026)
    tag = f"{draw.getrandbits(24):06x}"
    # Officers manage the pool; the institutions are the registry's, which an administrator keeps.
    admin = Actor.of(db.session().scalar(select(User).where(User.role == "admin").limit(1)))
    institutions = [registry.create_institution(admin, {"name": f"专家所在单位{tag}-{i:03d}",
                                                       "name_en": f"Expert Institute {tag}-{i:03d}",
                                                       "kind": "institute"}).id
                    for i in range(INSTITUTIONS)]
    with progress("importing the reviewer pool", count) as bar:
        for start in range(0, count, _IMPORT_ROWS):
            size = min(_IMPORT_ROWS, count - start)
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(pool.CSV_COLUMNS)
            for i in range(start, start + size):
                fields = draw.sample(FIELDS, draw.choice((1, 1, 2, 3)))
                writer.writerow([f"expert-{tag}-{i:05d}@pool.bench.example.cn", f"专家{i:05d}",
                                 draw.choice(institutions), ";".join(fields), draw.choice(COUNTRIES),
                                 ";".join(draw.sample(LANGUAGES, draw.choice((1, 2)))), "研究员", "yes"])
            pool.import_experts(officer, io.BytesIO(out.getvalue().encode()))
            bar.update(size)


def _analyze() -> None:
    """On PostgreSQL, the statistics a served database has once autovacuum saw the pool and its panels.

    The scratch schema is minutes old and this server runs without autovacuum: its planner took the
    10,000 experts for one row and grouped every open review again for each (2.8 s a suggestion).
    """
    engine = db.engine()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE users, expert_profiles, reviews, conflict_declarations, applications, partners, institutions")


_FLOOR_INSERT = insert(Review.__table__)


def _floor(app_ids: list[int], count: int, progress: Progress) -> float:
    """`count` bare assignment rows, a transaction each, then removed (untimed) before the real action."""
    reviewers = list(db.session().scalars(select(User.id).where(User.role == "reviewer")
                                          .order_by(User.id).limit(PER_APPLICATION * 50)))
    officer_id = db.session().scalar(select(User.id).where(User.role == "officer").limit(1))
    writer = db.engine().execution_options(fundflow_write=True)
    due, now = default_due_date(), utcnow()
    rows = [{"application_id": app_id, "reviewer_id": reviewers[(i * PER_APPLICATION + k) % len(reviewers)],
             "assigned_by_id": officer_id, "state": "assigned", "workflow_version": 2, "version": 1,
             "due_date": due, "created_at": now}
            for i, app_id in enumerate(app_ids) for k in range(PER_APPLICATION)][:count]
    with progress("floor: bare inserts", count) as bar:
        start = time.perf_counter()
        for row in rows:
            with writer.begin() as conn:
                conn.execute(_FLOOR_INSERT, row)
            bar.update(1)
        seconds = time.perf_counter() - start
    with writer.begin() as conn:
        conn.execute(delete(Review.__table__).where(Review.__table__.c.created_at == now))
    return seconds


def _bulk(officer, app_ids: list[int], progress: Progress) -> tuple[float, dict]:
    """The officer's one action, timed from the request to its job's row done."""
    start = time.perf_counter()
    job = bulk.assign_suggested(officer, app_ids, PER_APPLICATION)
    with progress("bulk assignment (job)", len(app_ids)) as bar:
        shown = 0
        while True:
            s = db.session()
            s.expire_all()
            row = s.get(Outbox, job.id)
            done = row.progress_done or 0
            bar.update(max(0, done - shown))
            shown = max(shown, done)
            if row.done_at is not None or row.failed_at is not None:
                break
            s.rollback()
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    if row.failed_at is not None:
        raise RuntimeError(f"the assign_reviewers job failed: {row.last_error}")
    return seconds, row.result


def _suggest(officer, app_ids: list[int], count: int, progress: Progress) -> list[float]:
    draw = random.Random(7)
    timings = []
    with progress("suggestions", count) as bar:
        for _ in range(count):
            app_id = draw.choice(app_ids)
            db.session().rollback()
            start = time.perf_counter()
            pool.suggest(officer, app_id, PER_APPLICATION)
            timings.append(1000 * (time.perf_counter() - start))
            bar.update(1)
    return timings


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


__all__ = ["run"]
