"""`fundflow bench --queries R`: the read side at national scale, through the services the pages call.

It runs on the database the app is configured with (FUNDFLOW_DATABASE_URL), a
data set made by `fundflow generate --applications N`, and changes nothing:
every connection is opened read-only (SQLite `PRAGMA query_only`, PostgreSQL
`SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`), and the chain head and
the row counts are compared before and after (`queries_unchanged`).

Each query is the service call a page or the API makes, timed whole (a page that
asks several services is timed as all of them), in a fresh session as a request
has. R rounds run every query once each, so drift on a busy machine falls on all
alike; each repetition draws its own filters, page, application or country from
a generator seeded by the query's name, so a run repeats exactly and a cache
warmed by one repetition rarely serves the next. One untimed round goes first
(statement compilation, the database's page cache). `floor_aggregate` is a bare
SQL aggregate over the same rows, the yardstick the statistics stand beside.
"""
from __future__ import annotations

import hashlib
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from flask import Flask, current_app
from sqlalchemy import event, func, make_url, select, text
from sqlalchemy.exc import DBAPIError

from . import create_app, db
from .bench import _environ
from .documents import KINDS
from .labels import CHANNELS, FIELDS
from .models import (Application, Call, ChainHead, CooperationBase, Document, Event, Milestone, Notice, Outbox,
                     Partner, Review, User)
from .permissions import Actor
from .services import applications, compliance, pool, publicity, registry, statistics
from .services.workflows import definition

Progress = Callable[[str, int], Any]

DASHBOARD_PER_PAGE = 25  # web/dashboard.py
API_PER_PAGE = 50  # the API's default page
# Tables whose row counts, with the chain head, tell that a run changed nothing.
COUNTED = (Application, Event, Outbox, Document, Notice, Review, Milestone, Partner, User)


@dataclass
class DataSet:
    """What the repetitions draw from, read once before the clock runs."""

    officer: Actor
    recommenders: list[Actor]
    applications: int
    routed: int
    call_ids: list[int]
    base_ids: list[int]
    countries: list[str]
    states: list[str]
    in_review: list[int]
    completed_fields: list[str]
    completed_countries: list[str]
    documents: list[tuple[str, str | None, str | None]]  # (number, sha256, stored file) of issued documents
    names: list[str]  # reviewers' names, for the pool's search


class NoDataSet(ValueError):
    """The configured database is not a data set to measure (missing, not migrated, or empty)."""


def run(n: int, progress: Progress) -> Iterator[tuple[str, Any]]:
    """Time every query `n` times on the configured database; yield (name, value) per figure."""
    if n < 1:
        raise ValueError("--queries needs at least 1 repetition")
    app = _read_only_app()
    engine = app.extensions["fundflow.engine"]
    try:
        with app.app_context():
            try:
                before = fingerprint()
                revision = db.session().execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:
                raise NoDataSet(f"{app.config['DATABASE_URL']} holds no fundflow schema: run `fundflow init-db` "
                                "and `fundflow generate --applications N` first") from None
            if not db.session().scalar(select(func.count(Application.id))):
                raise NoDataSet("the configured database holds no applications: "
                                "make a data set with `fundflow generate --applications N` first")
            data = data_set()
            analyzed = planner_statistics()
        yield "queries_applications", data.applications
        yield "queries_database", engine.dialect.name
        yield "queries_revision", revision
        yield "queries_documents", len(data.documents)
        yield "queries_planner_statistics", "yes" if analyzed else "no"
        yield "queries_repetitions", n
        queries = QUERIES
        draws = {name: random.Random(f"fundflow-queries-{name}") for name in queries}
        times: dict[str, list[float]] = {name: [] for name in queries}
        with progress("timing the queries", (n + 1) * len(queries)) as bar:
            for round_no in range(n + 1):
                for name, make in queries.items():
                    with app.app_context():
                        call = make(data, draws[name])
                        start = time.perf_counter()
                        call()
                        seconds = time.perf_counter() - start
                    if round_no:  # the first round warms up
                        times[name].append(seconds * 1000)
                    bar.update(1)
        for name in queries:
            yield f"{name}_p50_ms", round(_pct(times[name], 50), 2)
            yield f"{name}_p99_ms", round(_pct(times[name], 99), 2)
        with app.app_context():
            yield "queries_unchanged", "true" if fingerprint() == before else "false"
    finally:
        engine.dispose()


def _read_only_app() -> Flask:
    """The app on the configured database, every connection of it read-only; building it writes nothing.

    A SQLite file that does not exist is refused rather than created; a passing secret key keeps the app
    from writing one beside the data.
    """
    url = os.environ.get("FUNDFLOW_DATABASE_URL") or \
        f"sqlite:///{Path(os.environ.get('FUNDFLOW_DATA_DIR', './instance')).resolve() / 'fundflow.db'}"
    database = make_url(url).database if url.startswith("sqlite") else None
    if database is not None and (database in ("", ":memory:") or not Path(database).exists()):
        raise NoDataSet(f"no database at {url}: set FUNDFLOW_DATABASE_URL to a data set made by "
                        "`fundflow generate --applications N`")
    with _environ(FUNDFLOW_DATABASE_URL=url,
                  FUNDFLOW_SECRET_KEY=os.environ.get("FUNDFLOW_SECRET_KEY") or "fundflow-bench-queries"):
        app = create_app({"FOLLOW_UPS": "inline", "REDIS_URL": None, "SMTP_URL": None})
    engine = app.extensions["fundflow.engine"]
    event.listen(engine, "connect", _sqlite_read_only if engine.dialect.name == "sqlite" else _postgres_read_only)
    return app


def _sqlite_read_only(dbapi_connection, _record) -> None:
    """Every connection of the run refuses writes, so the measured database stays as it was."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _postgres_read_only(dbapi_connection, _record) -> None:
    autocommit = dbapi_connection.autocommit  # set outside a transaction, for the whole session
    dbapi_connection.autocommit = True
    dbapi_connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    dbapi_connection.autocommit = autocommit


def planner_statistics() -> bool:
    """Whether the planner has statistics of the applications table (ANALYZE, or PostgreSQL's autovacuum)."""
    s = db.session()
    if s.get_bind().dialect.name == "postgresql":
        found = s.execute(text("SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL "
                               "FROM pg_stat_user_tables WHERE relname = 'applications'")).scalar()
    else:
        found = s.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar()
    s.rollback()
    return bool(found)


def fingerprint() -> tuple:
    """The chain head and the row count and newest id of each counted table."""
    s = db.session()
    head = s.execute(select(ChainHead.event_id, ChainHead.hash)).all()
    counts = [tuple(s.execute(select(func.count(), func.max(model.id)).select_from(model)).one())
              for model in COUNTED]
    s.rollback()
    return tuple(head), tuple(counts)


def data_set() -> DataSet:
    s = db.session()
    officer = s.scalar(select(User).where(User.role == "officer", User.active.is_(True)).order_by(User.id).limit(1))
    if officer is None:
        officer = s.scalar(select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id).limit(1))
    if officer is None:
        raise NoDataSet("the configured database has no active officer or admin to read as")
    recommenders = [Actor.of(u) for u in s.scalars(select(User).where(User.role == "recommender",
                                                                       User.active.is_(True),
                                                                       User.body_id.is_not(None))
                                                   .order_by(User.id))]
    routed = Application.submitted_at.is_not(None)
    completed = Application.state == publicity.PUBLISHED_STATE
    issued = [tuple(r) for r in s.execute(select(Document.number, Document.sha256, Document.stored_name)
                                          .where(Document.issued_event_id.is_not(None))
                                          .order_by(Document.id).limit(2000))]
    data = DataSet(
        officer=Actor.of(officer),
        recommenders=recommenders,
        applications=s.scalar(select(func.count(Application.id))),
        routed=s.scalar(select(func.count(Application.id)).where(routed)),
        call_ids=list(s.scalars(select(Call.id).order_by(Call.id))),
        base_ids=list(s.scalars(select(CooperationBase.id).where(CooperationBase.retired.is_(False))
                                .order_by(CooperationBase.id))),
        countries=list(s.scalars(select(Partner.country).distinct().order_by(Partner.country))),
        states=list(definition("application").states),
        in_review=list(s.scalars(select(Application.id).where(Application.state == "expert_review")
                                 .order_by(Application.id).limit(5000))),
        completed_fields=list(s.scalars(select(Application.field).distinct().where(completed)
                                        .where(Application.field.is_not(None)).order_by(Application.field))),
        completed_countries=list(s.scalars(select(Partner.country).distinct()
                                           .join(Application, Application.id == Partner.application_id)
                                           .where(completed, Partner.country != "CN").order_by(Partner.country))),
        documents=issued,
        names=[name for name in s.scalars(select(User.name).where(User.role == "reviewer", User.name != "")
                                          .order_by(User.id).limit(2000))],
    )
    if not data.in_review:  # suggestions work for any routed application; the page asks them in expert review
        data.in_review = list(s.scalars(select(Application.id).where(routed).order_by(Application.id).limit(5000)))
    s.rollback()
    return data


# --- the queries: each takes the data set and its generator, and returns one repetition's call ------------


def _value(data: DataSet, draw: random.Random, name: str) -> Any:
    """A value of the dashboard's filter `name`, drawn from those the data set holds."""
    choices = {"state": data.states, "channel": list(CHANNELS), "field": list(FIELDS), "call_id": data.call_ids,
               "country": data.countries, "base_id": data.base_ids, "compliance": list(compliance.STATUSES)}
    return draw.choice(choices[name])


def _filters(data: DataSet, draw: random.Random, k: int) -> dict[str, Any]:
    """`k` of the dashboard's filters, each with a value drawn from the data set."""
    names = ["state", "channel", "field", "call_id", "compliance"]
    names += [name for name, held in (("country", data.countries), ("base_id", data.base_ids)) if held]
    return {name: _value(data, draw, name) for name in draw.sample(names, k)}


def dashboard(officer: Actor, filters: dict[str, Any], page: int = 1) -> None:
    """The service calls the officer's dashboard (web/dashboard.py) makes for one request."""
    registry.calls()
    registry.bases()
    items, _total, _counts = applications.list_with_counts(officer, **filters, page=page,
                                                           per_page=DASHBOARD_PER_PAGE)
    compliance.statuses(a.id for a in items)
    registry.reviewers()  # the bulk-assignment form's choices


def _last_pages(data: DataSet, draw: random.Random, per_page: int) -> int:
    """A page in the last tenth of the officer's unfiltered list."""
    pages = max(1, math.ceil(data.routed / per_page))
    return draw.randint(max(1, pages - pages // 10), pages)


def _dashboard_by(name: str):
    def make(data: DataSet, draw: random.Random):
        filters = {name: _value(data, draw, name)}
        return lambda: dashboard(data.officer, filters)
    return make


def _dashboard_page1(data: DataSet, draw: random.Random):
    return lambda: dashboard(data.officer, {})


def _dashboard_deep_page(data: DataSet, draw: random.Random):
    page = _last_pages(data, draw, DASHBOARD_PER_PAGE)
    return lambda: dashboard(data.officer, {}, page)


def _dashboard_combined(data: DataSet, draw: random.Random):
    filters = _filters(data, draw, draw.randint(2, 3))
    page = draw.choice((1, 1, 2, 3))
    return lambda: dashboard(data.officer, filters, page)


def _dashboard_counts(data: DataSet, draw: random.Random):
    filters = {k: v for k, v in _filters(data, draw, draw.randint(0, 2)).items() if k != "state"}
    return lambda: applications.count_by_state(data.officer, **filters)


def _applications_api(data: DataSet, draw: random.Random):
    """GET /api/v1/applications: one page of the filtered list and each item's compliance status."""
    filters = _filters(data, draw, draw.randint(0, 2))
    page = draw.choice((1, 1, 2, _last_pages(data, draw, API_PER_PAGE))) if not filters else 1

    def call():
        items, _total = applications.list_applications(data.officer, **filters, page=page, per_page=API_PER_PAGE)
        compliance.statuses(a.id for a in items)
    return call


def _pool_search(data: DataSet, draw: random.Random):
    """The reviewer pool's page searched by a piece of an expert's name or e-mail."""
    name = draw.choice(data.names) if data.names else "reviewer"
    start = draw.randrange(max(1, len(name) - 1))
    q = name[start:start + 2] if len(name) > 1 else name
    return lambda: pool.list_experts(data.officer, q=q, active=True, page=1, per_page=25)


def _suggestions(data: DataSet, draw: random.Random):
    app_id = draw.choice(data.in_review)
    return lambda: pool.suggest(data.officer, app_id, 5)


def _statistics(data: DataSet, draw: random.Random):
    def call():  # the statistics page: the figures and its country picker
        statistics.statistics(data.officer)
        statistics.countries_with_projects()
    return call


def _statistics_computed(data: DataSet, draw: random.Random):
    """The statistics page's figures computed afresh: what the first read after any change costs.

    `statistics` above reads them as the page does, kept while the chain's head stands still, which in
    this read-only run it always does."""
    def call():
        statistics.statistics(data.officer, cached=False)
        statistics.partner_countries(statistics.ROUTED)
    return call


def _statistics_body(data: DataSet, draw: random.Random):
    """A recommending body's statistics: the same figures over what was routed to it."""
    if not data.recommenders:
        return _statistics(data, draw)
    reader = draw.choice(data.recommenders)
    return lambda: statistics.statistics(reader)


def _compliance_list(data: DataSet, draw: random.Random):
    status = draw.choice(compliance.STATUSES)
    return lambda: dashboard(data.officer, {"compliance": status})


def _country_report(data: DataSet, draw: random.Random):
    code = draw.choice(data.countries) if data.countries else "DE"
    return lambda: statistics.country_report(data.officer, code)


def _bases_view(data: DataSet, draw: random.Random):
    return lambda: statistics.bases_view(data.officer)


def _public_projects(data: DataSet, draw: random.Random):
    field = draw.choice([None, None, *data.completed_fields])
    country = draw.choice([None, None, *data.completed_countries])
    page = draw.choice((1, 1, 2, 5))

    def call():  # the public list: its page and its country filter's choices
        publicity.completed_projects(field, country, page)
        publicity.published_countries()
    return call


def _document_number(data: DataSet, draw: random.Random) -> str:
    if data.documents:
        return draw.choice(data.documents)[0]
    kind = draw.choice(sorted(KINDS.values(), key=lambda k: k.prefix))  # none issued: the same lookup, not found
    return f"{kind.prefix}〔{draw.randint(2016, 2026)}〕{draw.randint(1, 9999):04d}号"


def _verify(**kwargs) -> None:
    from .errors import NotFound

    try:
        publicity.verify(**kwargs)
    except NotFound:
        pass  # "not issued" is an answer too


def _verify_number(data: DataSet, draw: random.Random):
    number = _document_number(data, draw)
    return lambda: _verify(number=number)


def _verify_sha256(data: DataSet, draw: random.Random):
    content = _document_file(data, draw)
    return lambda: _verify(content=content)


def _document_file(data: DataSet, draw: random.Random) -> bytes:
    """An issued document's file as the fund sent it, or (none issued) a PDF the fund never issued."""
    stored = [d for d in data.documents if d[2]]
    if stored:
        path = Path(current_app.config["DATA_DIR"]) / "documents" / draw.choice(stored)[2]  # read, never made
        if path.exists():
            return path.read_bytes()
    body = hashlib.sha256(str(draw.random()).encode()).hexdigest().encode()
    return b"%PDF-1.7\n%" + body * 32 + b"\n%%EOF\n"


def _floor_aggregate(data: DataSet, draw: random.Random):
    """Bare SQL beside the statistics: counts and funds of the routed applications by channel."""
    column = draw.choice(("channel", "field", "state"))
    sql = text(f"SELECT {column}, COUNT(*), SUM(budget_central), SUM(approved_amount) FROM applications "
               f"WHERE submitted_at IS NOT NULL GROUP BY {column}")
    return lambda: db.session().execute(sql).all()


QUERIES: dict[str, Callable[[DataSet, random.Random], Callable[[], Any]]] = {
    "dashboard_page1": _dashboard_page1,
    "dashboard_deep_page": _dashboard_deep_page,
    "dashboard_state": _dashboard_by("state"),
    "dashboard_channel": _dashboard_by("channel"),
    "dashboard_field": _dashboard_by("field"),
    "dashboard_call": _dashboard_by("call_id"),
    "dashboard_country": _dashboard_by("country"),
    "dashboard_base": _dashboard_by("base_id"),
    "dashboard_combined": _dashboard_combined,
    "dashboard_counts": _dashboard_counts,
    "applications_api": _applications_api,
    "pool_search": _pool_search,
    "reviewer_suggestions": _suggestions,
    "statistics": _statistics,
    "statistics_computed": _statistics_computed,
    "statistics_body": _statistics_body,
    "compliance_list": _compliance_list,
    "country_report": _country_report,
    "bases_view": _bases_view,
    "public_projects": _public_projects,
    "verify_number": _verify_number,
    "verify_sha256": _verify_sha256,
    "floor_aggregate": _floor_aggregate,
}


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


__all__ = ["QUERIES", "run", "fingerprint"]
