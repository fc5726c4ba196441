"""A closed registry of effects, named from states/.

Effects run after the machine has moved the row, inside the same transaction,
and only write rows. Side effects outside the database (documents, e-mail)
never run here: they follow the commit.
"""
from __future__ import annotations

from typing import Callable

from . import guards
from .engine import Firing, workflow
from .models import Agreement, ConflictDeclaration, Milestone, Partner

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
    """The milestones of the cooperation agreement, and the agreement itself when it was given."""
    wf = workflow("milestone")
    for seq, m in enumerate(f.values["milestones"], start=1):
        f.session.add(
            Milestone(
                application=f.application,
                seq=seq,
                title=m["title"],
                kind=m["kind"],
                evidence=m["evidence"],
                due_date=m["due_date"],
                state=wf.initial,
                workflow_version=wf.version,
            )
        )
    agreement = f.values.get("agreement")
    if agreement:
        f.session.add(Agreement(application=f.application, signed_attachment_id=f.values.get("signed_attachment_id"),
                                **agreement))


@effect
def record_outcomes(f: Firing) -> None:
    f.application.outcomes = f.values["outcomes"]


@effect
def record_declaration(f: Firing) -> None:
    """No conflict declared: the review is scored against the call's rubric as it is now, whatever comes later."""
    review = f.subject
    review.declared_at = f.now
    rubric = f.application.call.rubric
    review.rubric = rubric  # the object, not its id: the review reads it before the session flushes
    f.values["rubric_version"] = rubric.version if rubric is not None else None


@effect
def record_conflict(f: Firing) -> None:
    """A decline is a declared conflict: with this application, or with the applicant institution."""
    review = f.subject
    review.decline_reason = f.comment
    with_institution = f.values.get("conflict_with") == "institution"
    f.session.add(ConflictDeclaration(
        reviewer_id=review.reviewer_id, application=f.application, review=review,
        institution_id=f.application.institution_id if with_institution else None,
        reason=f.comment, declared_at=f.now))


@effect
def record_review(f: Firing) -> None:
    review = f.subject
    review.score = f.values["score"]
    review.scores = f.values.get("scores")
    review.opinion = f.payload["opinion"].strip()
    review.recommendation = f.payload["recommendation"]
    review.submitted_at = f.now
    f.values["recommendation"] = review.recommendation
    if review.scores is not None:
        f.values["scores"] = review.scores


@effect
def record_report(f: Firing) -> None:
    milestone = f.subject
    milestone.report = f.payload["report"].strip()
    milestone.reported_at = f.now
    for attachment in f.application.attachments:
        if attachment.id in f.values.get("attachments", ()):
            attachment.milestone_id = milestone.id


@effect
def record_acceptance(f: Firing) -> None:
    f.subject.accepted_at = f.now


@effect
def record_return(f: Firing) -> None:
    """The officer's reason, kept on the milestone for the applicant until it is accepted."""
    f.subject.return_reason = f.comment


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


add_months = guards.add_months  # one date arithmetic for milestones and extensions
