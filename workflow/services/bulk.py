"""Actions on several applications at once: assigning reviewers to many (in the request or as a job).

Either the officer names the reviewers (`assign_reviewers`: each to each application), or the pool
suggests them (`assign_suggested`: each application's panel brought up to N conflict-free experts).
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any, Callable, Sequence

from sqlalchemy import select

from .. import audit, db, outbox
from ..errors import AlreadyAssigned, InvalidInput, NotPermitted, TransitionRefused, WorkflowError
from ..models import Application, ExpertProfile, Outbox, Review, User, utcnow
from ..permissions import Actor
from . import conflicts
from .applications import add_review, default_due_date, visible_in

# More assignments than this run as a background job whose progress the job page follows.
BACKGROUND_AFTER = 5
# One action may fill a whole call's panels: its 2,000 applications (the most one request names), three each.
MAX_ASSIGNMENTS = 6000
# Seconds between a job's progress reports (the job page polls about once a second).
PROGRESS_EVERY = 0.5

ASSIGNED = "assigned"
ALREADY = "already_assigned"
REFUSED = "refused"


def plan(app_ids: Sequence[int], reviewer_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Every (application, reviewer) pair, each once, in the order chosen."""
    apps = list(dict.fromkeys(int(i) for i in app_ids))
    reviewers = list(dict.fromkeys(int(i) for i in reviewer_ids))
    return [(a, r) for a in apps for r in reviewers]


def assign_reviewers(actor: Actor, app_ids: Sequence[int], reviewer_ids: Sequence[int],
                     due_date: dt.date | None = None) -> dict[str, Any] | Outbox:
    """Assign each reviewer to each application.

    A few assignments are made at once and their summary returned; more than
    BACKGROUND_AFTER are staged as one `assign_reviewers` job, which is
    returned (its row carries the progress and, when done, the same summary).
    An application not in expert review, a conflict of interest or a reviewer
    already assigned is reported in the summary and stops nothing else.
    """
    if not actor.acts_as_officer:
        raise NotPermitted("only program officers assign reviewers")
    pairs = plan(app_ids, reviewer_ids)
    problems: dict[str, list[str]] = {}
    if not list(app_ids):
        problems["app_ids"] = ["choose at least one application"]
    if not list(reviewer_ids):
        problems["reviewer_ids"] = ["choose at least one reviewer"]
    if len(pairs) > MAX_ASSIGNMENTS:
        problems["app_ids"] = [f"at most {MAX_ASSIGNMENTS} assignments at once"]
    if problems:
        raise InvalidInput("nothing to assign" if not pairs else "too many assignments at once", problems)
    if len(pairs) <= BACKGROUND_AFTER:
        return perform_assignments(actor, pairs, due_date)
    with db.write_session() as s:
        outbox_id = outbox.stage(s, "assign_reviewers", started_by=actor.id, officer_id=actor.id,
                                 pairs=[list(p) for p in pairs],
                                 due_date=due_date.isoformat() if due_date else None)
    outbox.hand_over([outbox_id])
    return db.session().get(Outbox, outbox_id)


def perform_assignments(actor: Actor, pairs: Sequence[Sequence[int]], due_date: dt.date | None,
                        progress: Callable[[int, int | None, str | None], None] | None = None) -> dict[str, Any]:
    """Make the assignments, each application's in one transaction (see _seat_named); return what became
    of each pair.

    Safe to run twice: a pair already assigned is reported as such, never assigned again.
    """
    total = len(pairs)
    summary: dict[str, Any] = {"total": total, ASSIGNED: 0, ALREADY: 0, REFUSED: 0, "refusals": []}
    report = _Reporter(progress)
    report.last(0, total, f"{total} assignments to make")
    by_application: dict[int, list[int]] = {}
    for app_id, reviewer_id in pairs:
        by_application.setdefault(int(app_id), []).append(int(reviewer_id))
    done = 0
    for app_id, reviewer_ids in by_application.items():
        made = _seat_named(actor, app_id, reviewer_ids, due_date or default_due_date(), summary)
        done += len(reviewer_ids)
        report(done, total, f"#{app_id}: +{made}")
    report.last(total, total, f"{summary[ASSIGNED]} assigned, {summary[ALREADY]} already assigned, "
                              f"{summary[REFUSED]} refused")
    return summary


def _seat_named(actor: Actor, app_id: int, reviewer_ids: list[int], due_date: dt.date, summary: dict) -> int:
    """Seat the named experts on one application in one transaction; return how many were seated.

    Each is checked and recorded by add_review, as assign_reviewer does for one; one refused (already on
    the panel, inactive, in conflict) is reported and stops none of the others, since add_review refuses
    before it writes anything. The panel commits whole or not at all, so a retried job finds it so.
    """
    now = utcnow()
    seated: list[Review] = []
    refusals: list[tuple[int, WorkflowError]] = []
    with db.write_session() as s:
        try:
            app = visible_in(s, actor, app_id)
        except WorkflowError as err:
            refusals.extend((reviewer_id, err) for reviewer_id in reviewer_ids)
            app = None
        if app is not None:
            _load_experts(s, reviewer_ids)
            barred = conflicts.conflicted_institutions(s, app)  # once for the panel, as _fill_panel does
            for reviewer_id in reviewer_ids:
                try:
                    seated.append(add_review(s, actor, app, reviewer_id, due_date, now, barred=barred))
                except WorkflowError as err:
                    refusals.append((reviewer_id, err))
        follow_up = _seal_panel(s, seated)
    outbox.hand_over(follow_up)
    summary[ASSIGNED] += len(seated)
    for reviewer_id, err in refusals:
        if isinstance(err, AlreadyAssigned):
            summary[ALREADY] += 1
        else:
            summary[REFUSED] += 1
            summary["refusals"].append(_refusal(app_id, reviewer_id, err))
    return len(seated)


def assign_suggested(actor: Actor, app_ids: Sequence[int], per_application: int = 3,
                     due_date: dt.date | None = None) -> dict[str, Any] | Outbox:
    """Bring each application's panel up to `per_application` experts, the pool's suggestions.

    Declined assignments do not count towards the panel. Idempotent: a second run (a retried job)
    finds the panels full and assigns nothing. Runs as an `assign_reviewers` job when it may make
    more than BACKGROUND_AFTER assignments.
    """
    if not actor.acts_as_officer:
        raise NotPermitted("only program officers assign reviewers")
    apps = list(dict.fromkeys(int(i) for i in app_ids))
    problems: dict[str, list[str]] = {}
    if not apps:
        problems["app_ids"] = ["choose at least one application"]
    if isinstance(per_application, bool) or not isinstance(per_application, int) or not 1 <= per_application <= 10:
        problems["per_application"] = ["from 1 to 10 reviewers per application"]
    elif len(apps) * per_application > MAX_ASSIGNMENTS:
        problems["app_ids"] = [f"at most {MAX_ASSIGNMENTS} assignments at once"]
    if problems:
        raise InvalidInput("nothing to assign" if not apps else "the bulk assignment is not valid", problems)
    if len(apps) * per_application <= BACKGROUND_AFTER:
        return perform_suggested(actor, apps, per_application, due_date)
    with db.write_session() as s:
        outbox_id = outbox.stage(s, "assign_reviewers", started_by=actor.id, officer_id=actor.id, pairs=[],
                                 app_ids=apps, per_application=per_application,
                                 due_date=due_date.isoformat() if due_date else None)
    outbox.hand_over([outbox_id])
    return db.session().get(Outbox, outbox_id)


def perform_suggested(actor: Actor, app_ids: Sequence[int], per_application: int, due_date: dt.date | None,
                      progress: Callable[[int, int | None, str | None], None] | None = None) -> dict[str, Any]:
    """For each application in turn: seat the pool's suggestions until its panel is full.

    Each application's panel is one transaction (see _fill_panel), and its picks are asked after the
    previous one's are seated, so the load they add spreads the next ones across the pool. For many
    applications the pool is read once for the whole action (pool.Ranking), not once per application.
    """
    from . import pool

    total = len(app_ids)
    summary: dict[str, Any] = {"total": 0, ASSIGNED: 0, ALREADY: 0, REFUSED: 0, "refusals": [],
                               "applications": total, "short": []}
    report = _Reporter(progress)
    report(0, total, f"{total} applications")
    ranking = pool.ranking_for(db.session(), total)
    db.session().rollback()
    for done, app_id in enumerate(app_ids, start=1):
        made = _fill_panel(actor, app_id, per_application, due_date or default_due_date(), summary, ranking)
        report(done, total, f"#{app_id}: +{made}")
    report.last(total, total, f"{summary[ASSIGNED]} assigned, {summary[REFUSED]} refused")
    return summary


def _fill_panel(actor: Actor, app_id: int, wanted: int, due_date: dt.date, summary: dict, ranking) -> int:
    """Seat the experts an application's panel lacks, in one transaction; return how many were seated.

    Each is checked and recorded by add_review, as assign_reviewer does for one (pool, activity,
    duplicates, conflicts, its audit event, its notice). A refused pick (taken meanwhile, or become
    conflicted) is reported and the next suggestion tried: add_review refuses before it writes anything,
    so a refusal leaves the transaction as it was. The panel commits whole or not at all, so a job
    that dies part-way and is tried again finds each panel either full or as it was before.
    """
    now = utcnow()
    refusals: list[tuple[int, WorkflowError]] = []
    seated: list[Review] = []
    with db.write_session() as s:
        try:
            app = visible_in(s, actor, app_id)
            if app.state != "expert_review":
                raise TransitionRefused(f"reviewers are assigned during expert review, not while {app.state}",
                                        {"state": app.state})
        except WorkflowError as err:
            refusals.append((0, err))
            app = None
        need = max(0, wanted - sum(1 for r in app.reviews if r.state != "declined")) if app is not None else 0
        # Read once for the panel: nothing in its transaction changes the partners or the registry.
        barred = conflicts.conflicted_institutions(s, app) if need else {}
        tried: list[int] = []
        while len(seated) < need:
            picks = ranking.suggest(s, app, need - len(seated), exclude=tried, institutions=barred)
            if not picks:
                summary["short"].append({"application_id": app_id, "missing": need - len(seated)})
                break
            # Held while the picks are checked: the session keeps only what is referenced.
            experts = _load_experts(s, [p.reviewer_id for p in picks])
            for pick in picks:
                tried.append(pick.reviewer_id)
                try:
                    seated.append(add_review(s, actor, app, pick.reviewer_id, due_date, now, barred=barred))
                except WorkflowError as err:
                    refusals.append((pick.reviewer_id, err))
        follow_up = _seal_panel(s, seated)
    outbox.hand_over(follow_up)
    for review in seated:  # committed: now their load counts
        ranking.seat(review.reviewer_id)
    summary["total"] += len(seated) + sum(1 for reviewer_id, _ in refusals if reviewer_id)
    summary[ASSIGNED] += len(seated)
    summary[REFUSED] += len(refusals)
    summary["refusals"].extend(_refusal(app_id, reviewer_id, err) for reviewer_id, err in refusals)
    return len(seated)


def _seal_panel(s, seated: list[Review]) -> list[int]:
    """A panel's events onto the chain and a notice staged for each expert seated; the notices' outbox ids."""
    audit.seal(s)
    return [outbox.stage(s, "notify_review_assigned", review_id=r.id) for r in seated]


def _load_experts(s, reviewer_ids: list[int]) -> list:
    """The picks' accounts and pool entries in two queries, so add_review finds them in the session."""
    return [*s.scalars(select(User).where(User.id.in_(reviewer_ids))),
            *s.scalars(select(ExpertProfile).where(ExpertProfile.user_id.in_(reviewer_ids)))]


class _Reporter:
    """A job's progress, told at most every PROGRESS_EVERY seconds, and always at the end.

    Each report is a write transaction of its own; one per application doubled the bulk job's commits.
    """

    def __init__(self, progress: Callable[[int, int | None, str | None], None] | None):
        self._progress, self._at = progress, -PROGRESS_EVERY

    def __call__(self, done: int, total: int | None, note: str | None) -> None:
        if self._progress is not None and time.monotonic() - self._at >= PROGRESS_EVERY:
            self.last(done, total, note)

    def last(self, done: int, total: int | None, note: str | None) -> None:
        if self._progress is not None:
            self._at = time.monotonic()
            self._progress(done, total, note)


def _refusal(app_id: int, reviewer_id: int, err: WorkflowError) -> dict[str, Any]:
    """One refused assignment, with what a page needs to say which and why."""
    s = db.session()
    app, reviewer = s.get(Application, app_id), s.get(User, reviewer_id)
    details = err.details if isinstance(err.details, dict) else {}
    return {"application_id": app_id, "reviewer_id": reviewer_id, "code": err.code, "message": err.message,
            # The message's template and parameters, so a page can say it in the reader's language.
            "template": err.template, "params": {k: list(v) if isinstance(v, tuple) else v
                                                 for k, v in (err.params or {}).items()},
            "state": details.get("state"),
            "title": app.title if app is not None and err.code != "not_found" else None,
            "title_en": app.title_en if app is not None and err.code != "not_found" else None,
            "reviewer": (reviewer.name or reviewer.email) if reviewer is not None else None}
