"""Reviews as their readers see them: a reviewer's assignments, the panel of an application, the pool."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from .. import db
from ..errors import NotFound, NotPermitted
from ..models import Application, Event, ExpertProfile, Review, User
from ..permissions import Actor, can_see
from . import conflicts
from .conflicts import Conflict
from .pool import open_review_states

# Once one of these is reached the fund has decided, and the applicant may read the opinions (without names).
DECIDED_STATES = frozenset({"approved", "in_progress", "suspended", "closeout_review", "completed",
                            "terminated", "failed_acceptance", "rejected"})


def assignments_of(actor: Actor) -> list[Review]:
    """The reviewer's own assignments: open ones first (soonest due first), then the finished, newest first."""
    if actor.role != "reviewer":
        raise NotPermitted("only reviewers have review assignments")
    rows = db.session().scalars(
        select(Review).where(Review.reviewer_id == actor.id)
        .options(selectinload(Review.application).selectinload(Application.call))
    ).all()
    far, open_ = dt.date.max, open_review_states()

    def order(r: Review):
        if r.state in open_:
            return (0, r.due_date or far, r.id)
        return (1, -(r.submitted_at or r.created_at).timestamp(), -r.id)

    return sorted(rows, key=order)


def review_of(actor: Actor, review_id: int) -> Review:
    """One of the reviewer's own reviews; another's, or one they declined (the application is gone), is not found."""
    if actor.role != "reviewer":
        raise NotPermitted("only the assigned reviewer may open a review")
    review = db.session().get(Review, review_id)
    if review is None or review.reviewer_id != actor.id or not can_see(actor, review.application):
        raise NotFound(f"review {review_id} not found")
    return review


@dataclass(frozen=True)
class Panel:
    """The reviews of one application as `actor` may see them.

    `mode`: "all" (the fund's staff: names, scores, everything), "own" (a reviewer: their own),
    "opinions" (the applicant after the decision: opinions and recommendations, no names),
    "pending" (the applicant before the decision: nothing yet) or "none" (everyone else).
    """

    mode: str
    reviews: list[Review]
    submitted: int
    quorum: int
    decline_comments: dict[int, str]


def panel(actor: Actor, application: Application) -> Panel:
    """Which of the application's reviews `actor` may read, and how far the panel has come."""
    if not can_see(actor, application):
        raise NotFound(f"application {application.id} not found")
    reviews = list(application.reviews)
    submitted = sum(1 for r in reviews if r.state == "submitted")
    quorum = application.call.quorum
    comments: dict[int, str] = {}
    if actor.acts_as_officer:
        mode, shown = "all", reviews
        comments = _decline_comments([r.id for r in reviews if r.state == "declined"])
    elif actor.role == "reviewer":
        mode, shown = "own", [r for r in reviews if r.reviewer_id == actor.id]
    elif actor.role == "applicant":
        if application.state in DECIDED_STATES:
            mode, shown = "opinions", [r for r in reviews if r.state == "submitted"]
        else:
            mode, shown = "pending", []
    else:
        mode, shown = "none", []
    return Panel(mode, shown, submitted, quorum, comments)


def _decline_comments(review_ids: list[int]) -> dict[int, str]:
    """The conflict each declining reviewer named, from the audit trail (the reason is the decline's comment)."""
    if not review_ids:
        return {}
    rows = db.session().execute(
        select(Event.subject_id, Event.comment)
        .where(Event.subject == "review", Event.trigger == "decline", Event.subject_id.in_(review_ids))
    ).all()
    return {r.subject_id: r.comment for r in rows if r.comment}


@dataclass(frozen=True)
class Candidate:
    """One reviewer of the pool as the officer assigning `application` sees them."""

    reviewer: User
    conflict: Conflict | None  # why they may not review this application
    assigned: bool  # already on this application's panel
    field_reviews: int  # reviews they have submitted in this application's field
    load: int  # open assignments they have now
    field_match: bool = False  # the application's field is among their fields of expertise
    country: str = "CN"

    @property
    def available(self) -> bool:
        return self.conflict is None and not self.assigned


def reviewer_pool(actor: Actor, application: Application) -> list[Candidate]:
    """The experts active in the pool for `application`: those who may be chosen first, then by field of
    expertise, the lightest load, and the reviews they have done in the field."""
    if not actor.acts_as_officer:
        raise NotPermitted("only program officers assign reviewers")
    s = db.session()
    rows = s.execute(select(User, ExpertProfile).outerjoin(ExpertProfile, ExpertProfile.user_id == User.id)
                     .where(User.role == "reviewer", User.active.is_(True),
                            func.coalesce(ExpertProfile.active, True).is_(True))
                     .options(selectinload(User.institution)).order_by(User.id)).all()
    counts = {r.reviewer_id: (r.load, r.fields) for r in s.execute(
        select(Review.reviewer_id,
               func.count(case((Review.state.in_(open_review_states()), Review.id))).label("load"),
               func.count(case(((Review.state == "submitted") & (Application.field == application.field),
                                Review.id))).label("fields"))
        .join(Application, Application.id == Review.application_id)
        .group_by(Review.reviewer_id))}
    barred = conflicts.conflicts_among(s, [u for u, _p in rows], application)
    on_panel = {r.reviewer_id for r in application.reviews}
    pool = []
    for user, profile in rows:
        load, fields = counts.get(user.id, (0, 0))
        match = bool(application.field and profile is not None and application.field in (profile.fields or []))
        pool.append(Candidate(user, barred.get(user.id), user.id in on_panel, fields if application.field else 0,
                              load, match, profile.country if profile else "CN"))
    return sorted(pool, key=lambda c: (not c.available, not c.field_match, c.load, -c.field_reviews,
                                       c.reviewer.id))


__all__ = ["assignments_of", "review_of", "panel", "Panel", "reviewer_pool", "Candidate", "DECIDED_STATES"]
