"""Notices by e-mail, against a real SMTP server (aiosmtpd) on a free port."""
from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from workflow import db, jobs, outbox
from workflow.models import Institution, Notice, Outbox
from workflow.scan import scan

from .servers import free_port

SENDER = "noreply@fund.example.cn"


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and refuses the addresses it is told to."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self, port: int):
        self.port, self.mailbox, self.controller = port, Mailbox(), None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from={SENDER}"

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    """An SMTP server on a free port; not started, so a test can try it down first."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def _notices(app, user_id: int) -> list[Notice]:
    with app.app_context():
        return list(db.session().scalars(select(Notice).where(Notice.user_id == user_id).order_by(Notice.id)))


def _notify_row(app, job: str = "notify") -> Outbox:
    with app.app_context():
        return db.session().scalars(select(Outbox).where(Outbox.job == job)
                                    .order_by(Outbox.id.desc())).first()


def test_the_decision_reaches_the_institution_by_email(app, factory, api, smtp):
    application, cast = factory.application("decision_pending")
    smtp.start()
    app.config["SMTP_URL"] = smtp.url

    r = api(cast.officer).fire(application.id, "approve", approved_amount=2_000_000)
    assert r.status_code == 200 and r.json["state"] == "approved", r.json

    [message] = smtp.mailbox.messages
    assert smtp.mailbox.envelopes[0].mail_from == SENDER
    assert smtp.mailbox.envelopes[0].rcpt_tos == [cast.applicant.email]
    assert message["To"] == cast.applicant.email and message["From"] == SENDER
    assert message["Subject"] == f"已立项：{application.title} / Approved"
    body = message.get_content()
    assert "批准中央财政经费 2,000,000 元" in body  # Chinese first
    assert f'Decision on "{application.title_en}": Approved' in body  # then English
    assert body.index("批准") < body.index("Decision on")

    inbox = api(cast.applicant).get("/notices").json["items"]
    assert inbox[0]["kind"] == "decision" and inbox[0]["subject"] == message["Subject"]
    assert inbox[0]["emailed_at"] is not None
    row = _notify_row(app)
    assert row.done_at and row.result == {"notices": 1, "email_pending": 0}


def test_a_retried_job_does_not_email_twice(app, factory, api, smtp):
    application, cast = factory.application("decision_pending")
    smtp.start()
    app.config["SMTP_URL"] = smtp.url
    assert api(cast.officer).fire(application.id, "reject", comment="合作基础不足。").status_code == 200
    assert len(smtp.mailbox.to(cast.applicant.email)) == 1

    row = _notify_row(app)
    with app.app_context():
        jobs.JOBS["notify"](**row.payload)  # a duplicate delivery, as after a worker died mid-job
        outbox.retry(row.id)  # an administrator's retry
    assert len(smtp.mailbox.to(cast.applicant.email)) == 1
    assert [n.kind for n in _notices(app, cast.applicant.id)].count("decision") == 1


def test_a_dead_smtp_server_leaves_the_notice_and_the_decision_and_the_email_goes_later(app, factory, api, smtp):
    application, cast = factory.application("decision_pending")
    app.config["SMTP_URL"] = smtp.url  # nothing listens there yet

    r = api(cast.officer).fire(application.id, "approve", approved_amount=1_500_000)
    assert r.status_code == 200 and r.json["state"] == "approved", r.json
    assert factory.reload(application.id).state == "approved"

    [notice] = [n for n in _notices(app, cast.applicant.id) if n.kind == "decision"]
    assert notice.emailed_at is None and notice.email_error.startswith("ConnectionRefusedError")
    row = _notify_row(app)
    assert row.done_at and row.failed_at is None and row.last_error is None, row.last_error  # not failed
    assert row.result == {"notices": 1, "email_pending": 1}
    with app.app_context():
        assert scan(dt.date.today()) is not None  # the periodic scan does not crash on it either

    smtp.start()
    with app.app_context():
        done = scan(dt.date.today())
        assert done["emails_sent_late"] == 1
        assert scan(dt.date.today())["emails_sent_late"] == 0  # once
        jobs.JOBS["notify"](**row.payload)  # a re-run of the job sends nothing more
    [message] = smtp.mailbox.to(cast.applicant.email)
    assert message["Subject"].startswith("已立项：")
    [notice] = [n for n in _notices(app, cast.applicant.id) if n.kind == "decision"]
    assert notice.emailed_at is not None and notice.email_error is None


def test_a_re_run_job_emails_what_an_earlier_run_could_not(app, factory, api, smtp):
    application, cast = factory.application("decision_pending")
    app.config["SMTP_URL"] = smtp.url
    assert api(cast.officer).fire(application.id, "approve", approved_amount=1_000_000).status_code == 200
    smtp.start()
    row = _notify_row(app)
    with app.app_context():
        assert jobs.JOBS["notify"](**row.payload) == {"notices": 1, "email_pending": 0}
    assert len(smtp.mailbox.to(cast.applicant.email)) == 1


def test_a_refused_recipient_does_not_stop_the_others(app, factory, api, smtp):
    application, cast = factory.application("decision_pending")
    institution = factory.get(Institution, cast.applicant.institution_id)
    colleague = factory.user("applicant", institution=institution)
    smtp.start()
    smtp.mailbox.refuse = {cast.applicant.email}
    app.config["SMTP_URL"] = smtp.url

    assert api(cast.officer).fire(application.id, "approve", approved_amount=1_000_000).status_code == 200
    assert [m["To"] for m in smtp.mailbox.messages] == [colleague.email]
    [refused] = [n for n in _notices(app, cast.applicant.id) if n.kind == "decision"]
    [went] = [n for n in _notices(app, colleague.id) if n.kind == "decision"]
    assert refused.emailed_at is None and "SMTPRecipientsRefused" in refused.email_error
    assert went.emailed_at is not None and went.email_error is None
    assert _notify_row(app).result == {"notices": 2, "email_pending": 1}

    smtp.mailbox.refuse = set()
    with app.app_context():
        assert scan(dt.date.today())["emails_sent_late"] == 1
    assert sorted(m["To"] for m in smtp.mailbox.messages) == sorted([colleague.email, cast.applicant.email])


def test_without_smtp_notices_stay_in_the_inbox(app, factory, api):
    application, cast = factory.application("decision_pending")
    assert api(cast.officer).fire(application.id, "approve", approved_amount=1_000_000).status_code == 200
    [notice] = [n for n in _notices(app, cast.applicant.id) if n.kind == "decision"]
    assert notice.emailed_at is None and notice.email_error is None
    assert _notify_row(app).result == {"notices": 1, "email_pending": 0}
