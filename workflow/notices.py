"""Notices: an in-app inbox per user, and e-mail over SMTP when FUNDFLOW_SMTP_URL is set.

Each notice is rendered bilingually (Chinese, then English) from
templates/notices/<kind>.txt, whose first line is the subject. A notice is
keyed by (user, dedupe key), so a retried job never files it twice.
"""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import db, labels
from .models import Application, Notice, User, utcnow

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


def compose(kind: str, **context) -> tuple[str, str]:
    text = render_template(f"notices/{kind}.txt", labels=labels, **context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip() + "\n"


def send_email(notices: list[Notice], users: dict[int, User]) -> list[Notice]:
    """E-mail the notices when SMTP is configured; return those sent."""
    url = current_app.config.get("SMTP_URL")
    if not url or not notices:
        return []
    parsed = urlparse(url)
    options = parse_qs(parsed.query)
    sender = options.get("from", ["fundflow@localhost"])[0]
    client = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    sent = []
    with client(parsed.hostname or "localhost", parsed.port or (465 if parsed.scheme == "smtps" else 25),
                timeout=10) as smtp:
        if options.get("starttls", ["false"])[0] == "true":
            smtp.starttls()
        if parsed.username:
            smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
        for notice in notices:
            message = EmailMessage()
            message["From"], message["To"] = sender, users[notice.user_id].email
            message["Subject"] = notice.subject
            message.set_content(notice.body)
            smtp.send_message(message)
            sent.append(notice)
    return sent


def deliver(notice_ids: list[int]) -> None:
    """E-mail freshly filed notices (when SMTP is configured) and mark them sent."""
    if not notice_ids or not current_app.config.get("SMTP_URL"):
        return
    s = db.session()
    pending = list(s.scalars(select(Notice).where(Notice.id.in_(notice_ids), Notice.emailed_at.is_(None))))
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_({n.user_id for n in pending})))}
    sent = send_email(pending, users)
    if sent:
        with db.write_session() as w:
            for notice in sent:
                w.get(Notice, notice.id).emailed_at = utcnow()
