"""The background jobs page: a job that fails on every attempt is listed with its error, admins are told, and it runs again."""
from __future__ import annotations

from sqlalchemy import select

from workflow import db, jobs, outbox
from workflow.models import Notice, Outbox


def _fail_every_attempt(monkeypatch, name: str) -> None:
    def broken(**kwargs):
        raise OSError("disk full")
    monkeypatch.setitem(jobs.JOBS, name, broken)


def _run_out_of_attempts(app, job: str) -> Outbox:
    with app.app_context():
        row_id = db.session().scalar(select(Outbox.id).where(Outbox.job == job))
        for _ in range(outbox.MAX_ATTEMPTS - 1):
            try:
                outbox.perform(row_id)
            except OSError:
                pass
        return db.session().get(Outbox, row_id)


def test_a_job_that_fails_every_attempt_is_listed_announced_and_runs_again(app, factory, pages, monkeypatch):
    admin, other_admin = factory.user("admin"), factory.user("admin")
    real = jobs.JOBS["decision_notice"]
    _fail_every_attempt(monkeypatch, "decision_notice")
    application, cast = factory.application("approved")  # the first attempt runs (and fails) inline
    row = _run_out_of_attempts(app, "decision_notice")
    assert row.failed_at is not None and row.attempts == outbox.MAX_ATTEMPTS and "disk full" in row.last_error

    with app.app_context():
        alerts = db.session().scalars(select(Notice).where(Notice.kind == "job_failed")).all()
    assert sorted(n.user_id for n in alerts) == sorted([admin.id, other_admin.id])
    assert all(f"{row.id}" in n.subject and "disk full" in n.body for n in alerts)

    client = pages(admin)
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert f'data-job="{row.id}"' in html and "disk full" in html and "后台任务" in html

    monkeypatch.setitem(jobs.JOBS, "decision_notice", real)  # as after the fix
    response = client.post(f"/admin/jobs/{row.id}/retry")
    assert response.status_code == 302
    with app.app_context():
        again = db.session().get(Outbox, row.id)
        assert again.done_at is not None and again.failed_at is None
    assert f'data-job="{row.id}"' not in client.get("/admin/jobs").get_data(as_text=True)


def test_the_jobs_page_is_for_admins_only(factory, pages):
    assert pages(factory.user("officer")).get("/admin/jobs").status_code == 403


def test_retrying_an_unknown_job_says_so_and_changes_nothing(factory, pages):
    client = pages(factory.user("admin"), language="en")
    response = client.post("/admin/jobs/999999/retry", follow_redirects=True)
    assert response.status_code == 200 and "not found" in response.get_data(as_text=True).lower()


def test_every_job_has_a_label_in_both_languages(app):
    from workflow.web.job_labels import JOB_LABELS, job_label

    assert set(jobs.JOBS) <= set(JOB_LABELS), f"jobs without a label: {sorted(set(jobs.JOBS) - set(JOB_LABELS))}"
    for language in ("zh", "en"):
        with app.test_request_context(headers={"Cookie": f"fundflow_lang={language}"}):
            for code in jobs.JOBS:
                shown = job_label(code)
                assert shown and shown != code and "_" not in shown, (language, code, shown)
                if language == "zh":
                    assert shown != JOB_LABELS[code], f"{code}: no Chinese for {JOB_LABELS[code]!r}"


def test_the_jobs_page_names_each_job_in_the_readers_language(app, factory, pages, monkeypatch):
    admin = factory.user("admin")
    _fail_every_attempt(monkeypatch, "decision_notice")
    factory.application("approved")
    row = _run_out_of_attempts(app, "decision_notice")
    for language, label in (("zh", "生成立项通知书"), ("en", "Issue the notice of project approval")):
        html = pages(admin, language=language).get("/admin/jobs").get_data(as_text=True)
        cell = html.split(f'data-job="{row.id}"')[1].split("</td>")[1]
        assert label in cell and "<code>decision_notice</code>" in cell  # the code stays, for support
