"""Follow-up work without Redis: it runs in-process right after commit, once, and failures can be re-run."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from workflow import db, jobs, outbox
from workflow.models import Document, Event, Milestone, Notice, Outbox


def test_an_approval_issues_its_notice_and_tells_the_institution(factory, api):
    application, cast = factory.application("decision_pending")
    officer, applicant = api(cast.officer), api(cast.applicant)

    r = officer.fire(application.id, "approve", approved_amount=2_000_000)
    assert r.status_code == 200

    docs = applicant.get(f"/applications/{application.id}/documents").json["items"]
    assert [d["kind"] for d in docs] == ["decision_notice"]
    pdf = applicant.get(f"/documents/{docs[0]['id']}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["X-Content-SHA256"] == docs[0]["sha256"]
    issued = officer.get(f"/applications/{application.id}/history").json["items"][-1]
    assert issued["trigger"] == "issue" and issued["data"]["sha256"] == docs[0]["sha256"]

    inbox = applicant.get("/notices").json["items"]
    assert inbox[0]["kind"] == "decision" and "已立项" in inbox[0]["subject"]
    assert "2,000,000" in inbox[0]["body"]
    assert applicant.post(f"/notices/{inbox[0]['id']}/read").json["read_at"]
    assert applicant.get("/notices?unread=true").json["total"] == len(inbox) - 1


def test_documents_go_to_their_institution_and_the_fund_only(factory, api):
    application, cast = factory.application("approved")
    doc = api(cast.applicant).get(f"/applications/{application.id}/documents").json["items"][0]
    assert api(cast.officer).get(f"/documents/{doc['id']}").status_code == 200
    assert api(factory.user("applicant")).get(f"/documents/{doc['id']}").status_code == 404
    assert api(cast.recommender).get(f"/documents/{doc['id']}").status_code == 403


def test_submission_reaches_the_institution_and_its_recommending_body(factory, api):
    application, cast = factory.application("pending_recommendation")
    assert api(cast.applicant).get("/notices").json["items"][0]["kind"] == "submission_received"
    assert api(cast.recommender).get("/notices").json["items"][0]["kind"] == "submission_received"
    assert api(cast.reviewers[0]).get("/notices").json["total"] == 0


def test_reviewers_hear_of_their_assignment(factory, api):
    application, cast = factory.application("decision_pending")
    notices = api(cast.reviewers[0]).get("/notices").json["items"]
    assert [n["kind"] for n in notices] == ["review_assigned"]


def test_a_failed_job_leaves_the_transition_standing_and_can_be_re_run(app, factory, api, monkeypatch):
    application, cast = factory.application("decision_pending")
    real = jobs.JOBS["decision_notice"]

    def broken(**kwargs):
        raise OSError("disk full")
    monkeypatch.setitem(jobs.JOBS, "decision_notice", broken)
    r = api(cast.officer).fire(application.id, "approve", approved_amount=1_000_000)
    assert r.status_code == 200 and r.json["state"] == "approved"

    admin = api(factory.user("admin"))
    pending = admin.get("/jobs?state=pending").json["items"]
    failed_job = next(j for j in pending if j["job"] == "decision_notice")
    assert failed_job["attempts"] == 1 and "disk full" in failed_job["last_error"]
    assert api(cast.officer).get("/jobs").status_code == 403

    monkeypatch.setitem(jobs.JOBS, "decision_notice", real)
    r = admin.post(f"/jobs/{failed_job['id']}/retry")
    assert r.status_code == 200 and r.json["done_at"] and r.json["attempts"] == 1
    assert len(api(cast.applicant).get(f"/applications/{application.id}/documents").json["items"]) == 1


def test_running_a_job_twice_does_nothing_the_second_time(app, factory):
    application, _ = factory.application("approved")
    with app.app_context():
        s = db.session()
        row = s.scalar(select(Outbox).where(Outbox.job == "decision_notice"))
        assert row.done_at is not None
        jobs.JOBS["decision_notice"](**row.payload)  # as a duplicate delivery would
        jobs.JOBS["notify"](**row.payload)
        outbox.perform(row.id)
        s.expire_all()
        assert s.query(Document).count() == 1
        assert s.query(Event).filter_by(subject="document").count() == 1
        assert s.query(Notice).filter_by(dedupe_key=f"event-{row.payload['event_id']}").count() == 1


def test_the_scan_marks_overdue_suspends_once_and_changes_nothing_when_run_again(app, factory, monkeypatch):
    from click.testing import CliRunner

    from workflow.cli import main

    application, cast = factory.application("in_progress")
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    first = application.milestones[0]
    grace = application.call.grace_days
    late = first.due_date + dt.timedelta(days=grace + 1)

    result = CliRunner().invoke(main, ["scan", "--as-of", late.isoformat()], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "milestones_overdue: 1" in result.output and "projects_suspended: 1" in result.output
    after = factory.reload(application.id)
    assert after.state == "suspended"
    assert after.milestones[0].state == "overdue"

    with app.app_context():
        events_before = db.session().query(Event).count()
    again = CliRunner().invoke(main, ["scan", "--as-of", late.isoformat()], catch_exceptions=False)
    assert again.exit_code == 0
    with app.app_context():
        assert db.session().query(Event).count() == events_before
    assert factory.reload(application.id).state == "suspended"
    with app.app_context():
        kinds = {n.kind for n in db.session().scalars(select(Notice).where(Notice.user_id == cast.applicant.id))}
        assert "milestone_overdue" in kinds
        suspend = db.session().scalar(select(Event).where(Event.trigger == "suspend"))
        assert suspend.role == "system" and first.title in suspend.comment


def test_the_scan_reminds_of_milestones_coming_due(app, factory, monkeypatch):
    from workflow.scan import scan

    application, cast = factory.application("in_progress")
    first = application.milestones[0]
    with app.app_context():
        done = scan(first.due_date - dt.timedelta(days=3))
        again = scan(first.due_date - dt.timedelta(days=3))
        assert done["notices_milestone_due"] == 1 and again["notices_milestone_due"] == 0
        assert db.session().get(Milestone, first.id).state == "planned"
