"""Actions on several applications at once: assigning reviewers to many (in the request or as a job)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Sequence

from .. import db, outbox
from ..errors import InvalidInput, NotPermitted, WorkflowError
from ..models import Application, Outbox, User
from ..permissions import Actor
from .applications import assign_reviewer

# More assignments than this run as a background job whose progress the job page follows.
BACKGROUND_AFTER = 5
MAX_ASSIGNMENTS = 2000

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
    """Make the assignments one by one through assign_reviewer; return what became of each.

    Safe to run twice: a pair already assigned is reported as such, never assigned again.
    """
    total = len(pairs)
    summary: dict[str, Any] = {"total": total, ASSIGNED: 0, ALREADY: 0, REFUSED: 0, "refusals": []}
    if progress:
        progress(0, total, f"{total} assignments to make")
    for done, (app_id, reviewer_id) in enumerate(pairs, start=1):
        try:
            assign_reviewer(actor, app_id, reviewer_id, due_date)
            summary[ASSIGNED] += 1
            note = f"#{app_id} ← #{reviewer_id} ✓"
        except WorkflowError as err:
            db.session().rollback()
            if err.message == "this reviewer is already assigned":
                summary[ALREADY] += 1
                note = f"#{app_id} ← #{reviewer_id} ="
            else:
                summary[REFUSED] += 1
                summary["refusals"].append(_refusal(app_id, reviewer_id, err))
                note = f"#{app_id} ← #{reviewer_id} ✗"
        if progress:
            progress(done, total, note)
    if progress:
        progress(total, total, f"{summary[ASSIGNED]} assigned, {summary[ALREADY]} already assigned, "
                               f"{summary[REFUSED]} refused")
    return summary


def _refusal(app_id: int, reviewer_id: int, err: WorkflowError) -> dict[str, Any]:
    """One refused assignment, with what a page needs to say which and why."""
    s = db.session()
    app, reviewer = s.get(Application, app_id), s.get(User, reviewer_id)
    details = err.details if isinstance(err.details, dict) else {}
    return {"application_id": app_id, "reviewer_id": reviewer_id, "code": err.code, "message": err.message,
            "state": details.get("state"),
            "title": app.title if app is not None and err.code != "not_found" else None,
            "title_en": app.title_en if app is not None and err.code != "not_found" else None,
            "reviewer": (reviewer.name or reviewer.email) if reviewer is not None else None}
