"""Notices: an in-app inbox per user, and e-mail over SMTP when FUNDFLOW_SMTP_URL is set.

Each notice is rendered bilingually (Chinese, then English) from
templates/notices/<kind>.txt, whose first line is the subject. A notice is
keyed by (user, dedupe key), so a retried job never files it twice.

E-mail follows the inbox and never takes it down: a notice is committed to
the inbox before any e-mail is tried, each one is marked `emailed_at` as soon
as the server accepted it (so a retry never sends it twice), and a server
that is down or refuses is logged and noted on the notice (`email_error`),
never raised. Re-running the job, or the periodic scan (`deliver_pending`),
tries the unsent ones again for a few days.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app, render_template
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import db, labels
from .models import Application, Notice, User, utcnow

log = logging.getLogger(__name__)

RETRY_EMAIL_FOR = dt.timedelta(days=3)  # after that, an e-mail that would not go is left to the inbox
# Refused by the server for this message alone: the others in the batch still go.
_MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)

# What each transition tells whom: trigger -> (notice kind, recipients).
ON_TRIGGER = {
    "submit": ("submission_received", "institution"),
    "resubmit": ("submission_received", "institution"),
    "recommend": ("recommendation_result", "institution"),
    "decline_recommendation": ("recommendation_result", "institution"),
    "return_for_revision": ("revision_requested", "institution"),
    "approve": ("decision", "institution"),
    "reject": ("decision", "institution"),
    "suspend": ("project_status", "institution"),
    "resume": ("project_status", "institution"),
    "terminate": ("project_status", "institution"),
    "accept_closeout": ("decision", "institution"),
    "fail_closeout": ("decision", "institution"),
}
# Submissions also reach the recommending body's officers.
ALSO_TO_BODY = {"submit", "resubmit"}


def recipients(session: Session, app: Application, who: str) -> list[User]:
    q = select(User).where(User.active.is_(True))
    if who == "institution":
        q = q.where(User.role == "applicant", User.institution_id == app.institution_id)
    elif who == "body":
        q = q.where(User.role == "recommender", User.body_id == app.body_id)
    return list(session.scalars(q.order_by(User.id)))


def file(session: Session, users: list[User], kind: str, dedupe_key: str, app: Application | None,
         **extra) -> list[Notice]:
    """Put a notice of `kind` in each user's inbox, once per dedupe key."""
    subject, body = compose(kind, app=app, **extra)
    made = []
    for user in users:
        exists = session.scalar(select(Notice.id).where(Notice.user_id == user.id,
                                                        Notice.dedupe_key == dedupe_key))
        if exists is None:
            notice = Notice(user_id=user.id, application_id=app.id if app else None, kind=kind,
                            subject=subject, body=body, dedupe_key=dedupe_key, created_at=utcnow())
            session.add(notice)
            made.append(notice)
    session.flush()
    return made


def keyed(session: Session, dedupe_key: str) -> list[int]:
    """The ids of every notice filed under `dedupe_key`, by this run of a job or an earlier one."""
    return list(session.scalars(select(Notice.id).where(Notice.dedupe_key == dedupe_key).order_by(Notice.id)))


SUBJECT_LENGTH = Notice.__table__.c.subject.type.length


def compose(kind: str, **context) -> tuple[str, str]:
    """The subject (its first line, shortened to fit the column; the body keeps every word) and the body."""
    text = render_template(f"notices/{kind}.txt", labels=labels, **context).strip()
    subject, _, body = text.partition("\n")
    return shorten(subject.strip(), SUBJECT_LENGTH), body.strip() + "\n"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def send_email(notices: list[Notice], users: dict[int, User]) -> tuple[list[int], dict[int, str]]:
    """E-mail the notices over SMTP_URL, marking each as soon as it went; return the ids sent and why others were not.

    Raises nothing for SMTP trouble: a server that cannot be reached, drops the
    line or refuses a message leaves those notices unsent, with the reason.
    """
    url = current_app.config.get("SMTP_URL")
    sent: list[int] = []
    errors: dict[int, str] = {}
    if not url or not notices:
        return sent, errors
    parsed = urlparse(url)
    options = parse_qs(parsed.query)
    sender = options.get("from", ["fundflow@localhost"])[0]
    messages = []
    for notice in notices:  # built first: marking a notice ends the caller's read transaction
        message = EmailMessage()
        message["From"], message["To"] = sender, users[notice.user_id].email
        message["Subject"] = notice.subject
        message.set_content(notice.body)
        messages.append((notice.id, message))
    client = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    try:
        with client(parsed.hostname or "localhost", parsed.port or (465 if parsed.scheme == "smtps" else 25),
                    timeout=10) as smtp:
            if options.get("starttls", ["false"])[0] == "true":
                smtp.starttls()
            if parsed.username:
                smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
            for notice_id, message in messages:
                try:
                    smtp.send_message(message)
                except _MESSAGE_REFUSED as err:
                    errors[notice_id] = _reason(err)
                    _mark(notice_id, error=errors[notice_id])
                    continue
                _mark(notice_id)
                sent.append(notice_id)
    except (smtplib.SMTPException, OSError) as err:  # down, unreachable, hung up, would not let us in
        reason = _reason(err)
        for notice_id, _ in messages:
            if notice_id not in sent and notice_id not in errors:
                errors[notice_id] = reason
                _mark(notice_id, error=reason)
    if errors:
        log.warning("could not e-mail %d notice(s) (%s); they stay in the inbox and are tried again",
                    len(errors), "; ".join(sorted(set(errors.values()))))
    return sent, errors


def _reason(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"[:300]


def _mark(notice_id: int, error: str | None = None) -> None:
    """Record one notice as e-mailed (or why it was not), in a small transaction of its own."""
    values = {"email_error": error} if error else {"emailed_at": utcnow(), "email_error": None}
    with db.write_session() as w:
        w.execute(update(Notice).where(Notice.id == notice_id).values(**values))


def deliver(notice_ids: list[int]) -> int:
    """E-mail those of the notices not e-mailed yet (when SMTP is configured); return how many are still unsent."""
    if not notice_ids or not current_app.config.get("SMTP_URL"):
        return 0
    s = db.session()
    pending = list(s.scalars(select(Notice).where(Notice.id.in_(notice_ids), Notice.emailed_at.is_(None))
                             .order_by(Notice.id)))
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_({n.user_id for n in pending})))}
    sent, _ = send_email(pending, users)
    return len(pending) - len(sent)


def deliver_pending(now: dt.datetime | None = None) -> int:
    """Try again the e-mails that failed in the last few days (the periodic scan); return how many went."""
    if not current_app.config.get("SMTP_URL"):
        return 0
    now = now or utcnow()
    s = db.session()
    ids = list(s.scalars(select(Notice.id).where(Notice.emailed_at.is_(None), Notice.email_error.is_not(None),
                                                 Notice.created_at >= now - RETRY_EMAIL_FOR)
                         .order_by(Notice.id).limit(500)))
    s.rollback()
    return len(ids) - deliver(ids) if ids else 0
