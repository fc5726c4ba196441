"""The periodic scan: milestones coming due and overdue, reviews past due (`fundflow scan`).

Running it twice for the same day changes nothing the second time: notices
are keyed, state changes go through the engine only from states that allow
them, and a project is suspended for an overdue milestone once.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from . import db, notices
from .errors import WorkflowError
from .models import Application, Event, Milestone, Review, User
from .documents import BEIJING
from .permissions import SYSTEM
from .services.transitions import fire

DUE_SOON = dt.timedelta(days=14)


def scan(as_of: dt.date, progress=None) -> Counter:
    """Look at every open milestone and review as of `as_of`; return what was done."""
    done: Counter = Counter()
    s = db.session()
    milestones = list(s.scalars(
        select(Milestone.id).join(Application).where(
            Application.state.in_(("in_progress", "suspended")),
            Milestone.state.in_(("planned", "returned", "overdue")),
            Milestone.due_date <= as_of + DUE_SOON)
        .order_by(Milestone.id)))
    from .services.pool import open_review_states  # every open state of the review workflows

    reviews = list(s.scalars(select(Review.id).where(Review.state.in_(open_review_states()), Review.due_date < as_of)
                             .order_by(Review.id)))
    s.rollback()
    total = len(milestones) + len(reviews)
    for i, milestone_id in enumerate(milestones, start=1):
        _milestone(milestone_id, as_of, done)
        if progress:
            progress(i, total)
    for i, review_id in enumerate(reviews, start=len(milestones) + 1):
        _review_past_due(review_id, done)
        if progress:
            progress(i, total)
    retried = notices.deliver_pending()  # e-mails a dead SMTP server held back
    if retried:
        done["emails_sent_late"] += retried
    return done


def _milestone(milestone_id: int, as_of: dt.date, done: Counter) -> None:
    s = db.session()
    m = s.get(Milestone, milestone_id)
    app = m.application
    if m.due_date >= as_of:
        _notify(app, "milestone_due", f"milestone-{m.id}-due-{m.due_date}", done, milestone=m)
        return
    if m.state in ("planned", "returned"):
        try:
            fire(SYSTEM, "milestone", m.id, "mark_overdue", payload={"as_of": as_of})
            done["milestones_overdue"] += 1
        except WorkflowError:  # another scan (or the applicant's report) moved it first
            pass
    s.expire_all()
    m = s.get(Milestone, milestone_id)
    _notify(m.application, "milestone_overdue", f"milestone-{m.id}-overdue", done, milestone=m,
            grace_days=m.application.call.grace_days)
    if m.state == "overdue" and m.due_date + dt.timedelta(days=m.application.call.grace_days) < as_of:
        _suspend_once(m, done)


def _suspend_once(m: Milestone, done: Counter) -> None:
    """Suspend the project for this overdue milestone, unless the system already did since it fell due."""
    s = db.session()
    app = m.application
    marked = s.scalar(select(Event.id).where(Event.subject == "milestone", Event.subject_id == m.id,
                                             Event.trigger == "mark_overdue").order_by(Event.id.desc()))
    already = s.scalar(select(exists().where(
        Event.application_id == app.id, Event.trigger == "suspend", Event.role == SYSTEM.role,
        Event.id > (marked or 0))))
    if already or app.state != "in_progress":
        return
    try:
        fire(SYSTEM, "application", app.id, "suspend",
             comment=f"里程碑“{m.title}”（{m.due_date}）逾期超过宽限期 {app.call.grace_days} 天，暂停执行。")
        done["projects_suspended"] += 1
    except WorkflowError:  # someone moved it meanwhile; the next scan looks again
        pass


def _review_past_due(review_id: int, done: Counter) -> None:
    s = db.session()
    review = s.get(Review, review_id)
    reviewer = s.get(User, review.reviewer_id)
    with db.write_session() as w:
        made = notices.file(w, [w.get(User, reviewer.id)], "review_due", f"review-{review.id}-past-due",
                            w.get(Application, review.application_id),
                            user_name=reviewer.name or reviewer.email, due_date=review.due_date)
        officer = w.get(User, review.assigned_by_id)  # told once, so they may replace the assignment
        if officer is not None and officer.active:
            made += notices.file(w, [officer], "review_overdue", f"review-{review.id}-overdue",
                                 w.get(Application, review.application_id), user_name=officer.name or officer.email,
                                 reviewer_name=reviewer.name or reviewer.email, review=review)
        ids = [n.id for n in made]
    notices.deliver(ids)
    done["review_reminders"] += len(ids)


def _notify(app: Application, kind: str, key: str, done: Counter, **context) -> None:
    try:
        with db.write_session() as w:
            users = notices.recipients(w, app, "institution")
            made = notices.file(w, users, kind, key, w.get(Application, app.id), **context)
            ids = [n.id for n in made]
    except IntegrityError:  # a scan running at the same time filed this notice first (its dedupe key)
        return
    notices.deliver(ids)
    done[f"notices_{kind}"] += len(ids)


def scan_job() -> dict:
    """The scan as a queued job (the worker enqueues it hourly)."""
    from .models import utcnow

    return dict(scan(utcnow().astimezone(BEIJING).date()))
