"""A closed registry of effects, named from states/.

Effects run after the machine has moved the row, inside the same transaction,
and only write rows. Side effects outside the database (documents, e-mail)
never run here: they follow the commit.
"""
from __future__ import annotations

from typing import Callable

import calendar
import datetime as dt

from .guards import Firing
from .models import Milestone, Partner

Effect = Callable[[Firing], None]
REGISTRY: dict[str, Effect] = {}


def effect(fn: Effect) -> Effect:
    REGISTRY[fn.__name__] = fn
    return fn


@effect
def record_submission(f: Firing) -> None:
    if f.application.submitted_at is None:
        f.application.submitted_at = f.now


@effect
def record_approved_amount(f: Firing) -> None:
    f.application.approved_amount = f.values["approved_amount"]


@effect
def create_milestones(f: Firing) -> None:
    from .engine import workflow

    wf = workflow("milestone")
    for seq, (title, due) in enumerate(f.values["milestones"], start=1):
        f.session.add(
            Milestone(
                application=f.application,
                seq=seq,
                title=title,
                due_date=due,
                state=wf.initial,
                workflow_version=wf.version,
            )
        )


@effect
def record_outcomes(f: Firing) -> None:
    f.application.outcomes = f.values["outcomes"]


@effect
def record_review(f: Firing) -> None:
    review = f.subject
    review.score = f.values["score"]
    review.opinion = f.payload["opinion"].strip()
    review.recommendation = f.payload["recommendation"]
    review.submitted_at = f.now
    f.values["recommendation"] = review.recommendation


@effect
def close_review_on_quorum(f: Firing) -> None:
    """The review that completes the quorum closes expert review, as the system."""
    from .permissions import SYSTEM
    from .services.transitions import fire_in

    app = f.application
    submitted = sum(1 for r in app.reviews if r.state == "submitted")
    if app.state == "expert_review" and submitted >= app.call.quorum:
        fire_in(f.session, SYSTEM, app, "close_review", now=f.now,
                comment=f"quorum of {app.call.quorum} reviews reached")


@effect
def record_report(f: Firing) -> None:
    milestone = f.subject
    milestone.report = f.payload["report"].strip()
    milestone.reported_at = f.now


@effect
def apply_change(f: Firing) -> None:
    """Carry an approved change request into the project; record what it was before."""
    app, change = f.application, f.subject
    proposal = change.proposal
    change.decided_at = f.now
    if change.kind == "extension":
        months = proposal["extend_months"]
        f.values["duration_months"] = [app.duration_months, (app.duration_months or 0) + months]
        app.duration_months = (app.duration_months or 0) + months
        for milestone in app.milestones:
            if milestone.state != "accepted":
                milestone.due_date = add_months(milestone.due_date, months)
    elif change.kind == "budget_reallocation":
        before = [app.budget_central, app.budget_local_matching, app.budget_self_raised]
        budget = proposal["budget"]
        app.budget_central = budget["central"]
        app.budget_local_matching = budget["local_matching"]
        app.budget_self_raised = budget["self_raised"]
        f.values["budget"] = [before, [budget["central"], budget["local_matching"], budget["self_raised"]]]
    elif change.kind == "partner_change":
        f.values["partners_before"] = [{"name": p.name, "country": p.country} for p in app.partners]
        app.partners = [Partner(**p) for p in proposal["partners"]]
    elif change.kind == "pi_change":
        f.values["principal_investigator"] = [app.principal_investigator, proposal["principal_investigator"]]
        app.principal_investigator = proposal["principal_investigator"]


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))
