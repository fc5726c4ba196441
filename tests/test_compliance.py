"""Compliance status of running projects: derived from milestones, as a value and as a SQL filter."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from workflow import db
from workflow.models import Application, Call, Milestone
from workflow.services import applications as apps, compliance

TODAY = compliance.today()


def _milestones(factory, app_id: int, *specs: tuple[int, str]) -> None:
    """Give the project's milestones these (days from today, state), in order."""
    with factory.app.app_context(), db.write_session() as s:
        rows = list(s.scalars(select(Milestone).where(Milestone.application_id == app_id).order_by(Milestone.seq)))
        assert len(rows) >= len(specs)
        for row, (days, state) in zip(rows, specs):
            s.execute(update(Milestone).where(Milestone.id == row.id)
                      .values(due_date=TODAY + dt.timedelta(days=days), state=state))
        for row in rows[len(specs):]:  # the rest: done
            s.execute(update(Milestone).where(Milestone.id == row.id).values(state="accepted"))


@pytest.fixture
def project(factory):
    """A project in execution with three milestones, and an officer to look at it."""
    application, cast = factory.application("in_progress")
    return application, cast


CASES = [
    # (milestones as (days from today, state), expected)
    ([(90, "planned"), (180, "planned")], compliance.ON_TRACK),
    ([(-10, "accepted"), (60, "planned")], compliance.ON_TRACK),
    ([(-5, "reported"), (45, "planned")], compliance.ON_TRACK),  # reported in time counts as done
    ([(10, "planned"), (90, "planned")], compliance.AT_RISK),
    ([(30, "returned")], compliance.AT_RISK),  # sent back: the report is owed again
    ([(31, "planned")], compliance.ON_TRACK),
    ([(-3, "planned"), (10, "planned")], compliance.OVERDUE),  # past due, not yet marked by the scan
    ([(-3, "overdue")], compliance.OVERDUE),
    ([(-30, "overdue")], compliance.OVERDUE),  # the last day of the 30-day grace period
    ([(-31, "overdue"), (10, "planned")], compliance.NON_COMPLIANT),
    ([(-45, "returned")], compliance.NON_COMPLIANT),
]


@pytest.mark.parametrize("specs, expected", CASES)
def test_status_as_a_value_and_as_a_filter(app, factory, project, specs, expected):
    application, cast = project
    _milestones(factory, application.id, *specs)
    with app.test_request_context():
        assert compliance.status_of(application.id) == expected
        for status in compliance.STATUSES:
            items, total = apps.list_applications(cast.officer, compliance=status)
            assert ([a.id for a in items] == [application.id]) == (status == expected), status
            assert total == (1 if status == expected else 0)


def test_the_grace_period_is_the_calls_own(app, factory):
    lenient, _ = factory.application("in_progress", call=factory.call(grace_days=60))
    _milestones(factory, lenient.id, (-40, "overdue"))
    call = factory.call(grace_days=5)
    application, cast = factory.application("in_progress", call=call)
    _milestones(factory, application.id, (-6, "overdue"))
    with app.test_request_context():
        assert compliance.statuses([lenient.id, application.id]) == {lenient.id: compliance.OVERDUE,
                                                                     application.id: compliance.NON_COMPLIANT}
        items, _total = apps.list_applications(cast.officer, compliance=compliance.NON_COMPLIANT)
        assert [a.id for a in items] == [application.id]
        with db.write_session() as s:
            s.execute(update(Call).where(Call.id == call.id).values(grace_days=10))
        assert compliance.status_of(application.id) == compliance.OVERDUE


def test_a_date_of_ones_choosing(app, factory, project):
    application, _cast = project
    _milestones(factory, application.id, (20, "planned"))
    with app.test_request_context():
        assert compliance.status_of(application.id, TODAY) == compliance.AT_RISK
        assert compliance.status_of(application.id, TODAY - dt.timedelta(days=30)) == compliance.ON_TRACK
        assert compliance.status_of(application.id, TODAY + dt.timedelta(days=21)) == compliance.OVERDUE
        assert compliance.status_of(application.id, TODAY + dt.timedelta(days=60)) == compliance.NON_COMPLIANT


def test_a_suspended_project_is_followed_too_and_others_have_no_status(app, factory):
    suspended, cast = factory.application("suspended")
    _milestones(factory, suspended.id, (-40, "overdue"))
    waiting, _ = factory.application("formal_review")
    with app.test_request_context():
        assert compliance.statuses([suspended.id, waiting.id]) == {suspended.id: compliance.NON_COMPLIANT,
                                                                   waiting.id: None}
        items, _total = apps.list_applications(cast.officer, compliance=compliance.NON_COMPLIANT)
        assert [a.id for a in items] == [suspended.id]
        assert compliance.statuses([]) == {}


def test_the_filter_pages_in_sql(app, factory):
    """Several projects, one status: the total counts them all, each page holds per_page of them."""
    ids = []
    for _ in range(3):
        application, cast = factory.application("in_progress")
        _milestones(factory, application.id, (5, "planned"))
        ids.append(application.id)
    with app.test_request_context():
        first, total = apps.list_applications(cast.officer, compliance=compliance.AT_RISK, page=1, per_page=2)
        second, _ = apps.list_applications(cast.officer, compliance=compliance.AT_RISK, page=2, per_page=2)
        assert total == 3
        assert [a.id for a in first + second] == ids
        counts = apps.count_by_state(cast.officer, compliance=compliance.AT_RISK)
        assert counts == {"in_progress": 3}
        rows = db.session().execute(select(Application.id).where(compliance.where(compliance.AT_RISK))).all()
        assert sorted(r.id for r in rows) == ids


def test_an_unknown_status_is_refused(app):
    with app.test_request_context(), pytest.raises(ValueError):
        compliance.where("fine")


def test_the_same_derivation_runs_on_postgresql(pg_app):
    """The grace period is date arithmetic, which SQLite and PostgreSQL spell differently."""
    from tests.factories import Factory

    factory = Factory(pg_app)
    cases = {}
    for specs, expected in ([(-40, "overdue")], compliance.NON_COMPLIANT), ([(-3, "planned")], compliance.OVERDUE), \
            ([(12, "planned")], compliance.AT_RISK), ([(90, "planned")], compliance.ON_TRACK):
        application, cast = factory.application("in_progress")
        _milestones(factory, application.id, *specs)
        cases[application.id] = expected
    with pg_app.test_request_context():
        assert compliance.statuses(cases) == cases
        for status in compliance.STATUSES:
            items, _total = apps.list_applications(cast.officer, compliance=status)
            assert [a.id for a in items] == [i for i, s in cases.items() if s == status]
