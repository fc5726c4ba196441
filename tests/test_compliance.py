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


def test_several_projects_derive_their_statuses_at_once(app, factory):
    """The grace period is date arithmetic, which SQLite and PostgreSQL spell differently."""
    cases = {}
    for specs, expected in ([(-40, "overdue")], compliance.NON_COMPLIANT), ([(-3, "planned")], compliance.OVERDUE), \
            ([(12, "planned")], compliance.AT_RISK), ([(90, "planned")], compliance.ON_TRACK):
        application, cast = factory.application("in_progress")
        _milestones(factory, application.id, *specs)
        cases[application.id] = expected
    with app.test_request_context():
        assert compliance.statuses(cases) == cases
        for status in compliance.STATUSES:
            items, _total = apps.list_applications(cast.officer, compliance=status)
            assert [a.id for a in items] == [i for i, s in cases.items() if s == status]


# --- the API shows the status and filters by it ------------------------------------------------------


def test_the_api_gives_each_application_its_status_and_filters_by_it(app, factory, api, project):
    application, cast = project
    _milestones(factory, application.id, (10, "planned"))
    officer = api(cast.officer)
    assert officer.get(f"/applications/{application.id}").json["compliance"] == compliance.AT_RISK
    listed = officer.get("/applications?compliance=at_risk").json
    assert [(a["id"], a["compliance"]) for a in listed["items"]] == [(application.id, compliance.AT_RISK)]
    assert officer.get("/applications?compliance=on_track").json["items"] == []
    r = officer.get("/applications?compliance=late")
    assert r.status_code == 422 and "compliance" in r.json["details"]


# --- non-compliance suspends the project through the engine, once --------------------------------------


def _suspensions(app, app_id: int) -> list[str]:
    from sqlalchemy import text

    with app.extensions["fundflow.engine"].connect() as c:
        return list(c.execute(text("SELECT role FROM events WHERE application_id = :i AND trigger = 'suspend'"),
                              {"i": app_id}).scalars())


def _past_grace(factory, app_id: int) -> None:
    """One milestone 40 days past due and unreported (the call's grace period is 30 days)."""
    _milestones(factory, app_id, (-40, "planned"))


def test_the_scan_suspends_once_however_often_and_from_however_many_threads(app, factory):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from workflow.scan import scan

    application, cast = factory.application("in_progress")
    _past_grace(factory, application.id)
    barrier = threading.Barrier(4)

    def run_scans():
        barrier.wait()
        with app.app_context():
            return sum(scan(TODAY)["projects_suspended"] for _ in range(3))

    with ThreadPoolExecutor(4) as pool:
        suspended = sum(pool.map(lambda _: run_scans(), range(4)))
    assert suspended == 1
    assert _suspensions(app, application.id) == ["system"]
    with app.test_request_context():
        assert compliance.status_of(application.id) == compliance.NON_COMPLIANT
        assert apps.get_application(cast.officer, application.id).state == "suspended"

    # The officer resumes it; the same overdue milestone does not suspend it again.
    from workflow.services.transitions import fire

    with app.app_context():
        fire(cast.officer, "application", application.id, "resume", comment="已提交整改报告，恢复执行。")
        assert scan(TODAY)["projects_suspended"] == 0
    assert _suspensions(app, application.id) == ["system"]


def test_scans_from_several_processes_suspend_once(app, factory, tmp_path):
    import os
    import subprocess
    import sys

    application, _cast = factory.application("in_progress")
    _past_grace(factory, application.id)
    url = app.extensions["fundflow.engine"].url.render_as_string(hide_password=False)
    env = {**os.environ, "FUNDFLOW_DATABASE_URL": url, "FUNDFLOW_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-c", "import sys; from workflow.cli import main; main()", "scan",
               "--as-of", TODAY.isoformat()]
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err.decode()
    assert _suspensions(app, application.id) == ["system"]


def test_the_officer_terminates_a_suspended_project(app, factory, api, project):
    from workflow.scan import scan

    application, cast = project
    _past_grace(factory, application.id)
    with app.app_context():
        scan(TODAY)
    officer = api(cast.officer)
    assert officer.fire(application.id, "terminate", comment="").status_code == 422  # the reason is required
    r = officer.fire(application.id, "terminate", comment="限期整改未落实，终止项目。")
    assert r.status_code == 200 and r.json["state"] == "terminated" and r.json["compliance"] is None
