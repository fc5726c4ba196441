"""A closed registry of guards, named from states/.

A guard looks at the firing and refuses it with a reason: InvalidInput (422)
when the request itself is wrong or incomplete, GuardFailed (409) when the
record or the call is not in a state that allows it. Guards never write.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .engine import TransitionDef
from .errors import N_, GuardFailed, InvalidInput
from .models import (
    OUTCOME_KEYS,
    RECOMMENDATIONS,
    Application,
    Call,
    Milestone,
)
from .permissions import Actor


@dataclass
class Firing:
    """Everything a guard or effect may look at for one firing."""

    session: Session
    actor: Actor
    application: Application
    subject: Any  # the Application, Review or Milestone the trigger moves
    transition: TransitionDef
    payload: dict[str, Any]
    comment: str | None
    now: dt.datetime
    values: dict[str, Any] = field(default_factory=dict)  # what guards parsed, for effects


Guard = Callable[[Firing], None]
REGISTRY: dict[str, Guard] = {}
# Guards that judge what the actor types with the trigger (an amount, a score, a
# report): a preview of which triggers may fire, asked before anything is typed,
# skips them; the firing itself never does.
INPUT_GUARDS = frozenset({"approved_amount", "milestones_given", "outcomes_given", "review_content",
                          "report_content"})


def guard(fn: Guard) -> Guard:
    REGISTRY[fn.__name__] = fn
    return fn


@guard
def call_open(f: Firing) -> None:
    call = f.application.call
    if not call.is_open(f.now):
        raise GuardFailed(
            f"call {call.code} is not open for submissions "
            f"(window {call.opens_at:%Y-%m-%d %H:%M} to {call.closes_at:%Y-%m-%d %H:%M} UTC)",
            {"call_id": call.id},
            template=N_("The call %(code)s is not open for submissions."), params={"code": call.code},
        )


@guard
def required_fields(f: Firing) -> None:
    app = f.application
    missing: dict[str, list[str]] = {}
    for name in ("title", "summary", "field", "cooperation_type", "duration_months"):
        if not getattr(app, name):
            missing[name] = ["required before submission"]
    if app.budget_central <= 0:
        missing["budget"] = ["central funds requested must be more than zero"]
    if not any(p.country != "CN" for p in app.partners):
        missing["partners"] = ["at least one foreign partner is required"]
    if app.field and app.call.fields and app.field not in app.call.fields:
        missing["field"] = [f"this call accepts only {', '.join(app.call.fields)}"]
    if app.body.retired or app.body.channel != app.channel:
        missing["body_id"] = ["the recommending body must be an active body of the application's channel"]
    if missing:
        raise InvalidInput("the application is incomplete", missing)


@guard
def required_attachments(f: Firing) -> None:
    missing = {"proposal", "cooperation_agreement"} - f.application.attachment_kinds()
    if missing:
        raise InvalidInput(
            "attachments are missing", {"attachments": [f"{k} is required" for k in sorted(missing)]}
        )


@guard
def budget_rules(f: Firing) -> None:
    app, call = f.application, f.application.call
    problems = []
    if app.matching_ratio < call.min_matching_ratio:
        problems.append(
            f"local matching and self-raised funds must be at least {call.min_matching_ratio:.0%} "
            f"of central funds (now {app.matching_ratio:.0%})"
        )
    if call.max_central_per_project is not None and app.budget_central > call.max_central_per_project:
        problems.append(f"central funds may not exceed {call.max_central_per_project} yuan per project")
    if problems:
        raise InvalidInput("the budget breaks the call's rules", {"budget": problems})


@guard
def sensitive_technology_screening(f: Firing) -> None:
    app = f.application
    if (app.sensitive_technology or app.sensitive_flagged) and app.institution.is_foreign:
        raise GuardFailed(
            "sensitive technology is closed to foreign-invested and foreign applicants",
            {"institution_kind": app.institution.kind},
        )


@guard
def review_quorum(f: Firing) -> None:
    app = f.application
    submitted = sum(1 for r in app.reviews if r.state == "submitted")
    if submitted < app.call.quorum:
        raise GuardFailed(
            f"{submitted} of the {app.call.quorum} reviews needed are in",
            {"submitted": submitted, "quorum": app.call.quorum},
            template=N_("%(submitted)s of the %(quorum)s reviews needed are in."),
            params={"submitted": submitted, "quorum": app.call.quorum},
        )


@guard
def approved_amount(f: Firing) -> None:
    app = f.application
    amount = f.payload.get("approved_amount")
    if type(amount) is not int or not 0 < amount < 10**13:
        raise InvalidInput("approved amount is required", {"approved_amount": ["whole yuan, more than zero"]})
    if amount > app.budget_central:
        raise InvalidInput(
            "approved amount exceeds the central funds requested",
            {"approved_amount": [f"at most {app.budget_central}"]},
        )
    # Lock the call so two approvals cannot both spend its last yuan.
    call = f.session.get(Call, app.call_id, with_for_update=True)
    committed = f.session.scalar(
        select(func.coalesce(func.sum(Application.approved_amount), 0)).where(
            Application.call_id == call.id, Application.id != app.id
        )
    )
    left = call.total_budget - int(committed)
    if amount > left:
        raise GuardFailed(
            f"only {left} yuan of the call's budget is left", {"approved_amount": [f"at most {left}"]},
            template=N_("Only %(left)s yuan of the call's budget is left."), params={"left": f"{left:,}"},
        )
    f.values["approved_amount"] = amount


@guard
def signed_agreement_uploaded(f: Firing) -> None:
    if "signed_agreement" not in f.application.attachment_kinds():
        raise InvalidInput(
            "upload the signed project agreement (任务书) first",
            {"attachments": ["signed_agreement is required"]},
        )


@guard
def milestones_given(f: Firing) -> None:
    raw = f.payload.get("milestones")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "list the cooperation agreement's milestones",
            {"milestones": ["at least one {title, due_date} is required"]},
        )
    parsed, errors = [], {}
    for i, item in enumerate(raw):
        title = item.get("title") if isinstance(item, dict) else None
        due = item.get("due_date") if isinstance(item, dict) else None
        if isinstance(due, str):
            try:
                due = dt.date.fromisoformat(due)
            except ValueError:
                due = None
        if not isinstance(title, str) or not title.strip() or len(title) > 300:
            errors[str(i)] = ["title is required (at most 300 characters)"]
        elif not isinstance(due, dt.date):
            errors[str(i)] = ["due_date must be a date, YYYY-MM-DD"]
        else:
            parsed.append((title.strip(), due))
    if errors:
        raise InvalidInput("some milestones are not valid", {"milestones": errors})
    f.values["milestones"] = sorted(parsed, key=lambda m: m[1])


@guard
def milestones_accepted(f: Firing) -> None:
    open_ = [m.seq for m in f.application.milestones if m.state != "accepted"]
    if not f.application.milestones or open_:
        raise GuardFailed(
            "every milestone must be accepted before close-out", {"milestones_not_accepted": open_}
        )


@guard
def final_report_attached(f: Firing) -> None:
    if "final_report" not in f.application.attachment_kinds():
        raise InvalidInput("attach the final report first", {"attachments": ["final_report is required"]})


@guard
def outcomes_given(f: Firing) -> None:
    raw = f.payload.get("outcomes")
    if not isinstance(raw, dict):
        raise InvalidInput("report the project's outcomes", {"outcomes": [f"an object of {', '.join(OUTCOME_KEYS)}"]})
    unknown = set(raw) - set(OUTCOME_KEYS)
    bad = [k for k, v in raw.items() if k in OUTCOME_KEYS and (type(v) is not int or v < 0 or v > 10**6)]
    if unknown or bad:
        details = {k: ["unknown outcome"] for k in sorted(unknown)}
        details.update({k: ["must be a whole number from 0"] for k in bad})
        raise InvalidInput("outcomes are not valid", {"outcomes": details})
    f.values["outcomes"] = {k: raw.get(k, 0) for k in OUTCOME_KEYS}


@guard
def application_in_expert_review(f: Firing) -> None:
    if f.application.state != "expert_review":
        raise GuardFailed(
            f"reviews are taken only during expert review (the application is {f.application.state})",
            {"application_state": f.application.state},
        )


@guard
def review_content(f: Firing) -> None:
    errors: dict[str, list[str]] = {}
    score = f.payload.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100:
        errors["score"] = ["a number from 0 to 100"]
    opinion = f.payload.get("opinion")
    if not isinstance(opinion, str) or not opinion.strip():
        errors["opinion"] = ["the written opinion is required"]
    if f.payload.get("recommendation") not in RECOMMENDATIONS:
        errors["recommendation"] = [f"one of {', '.join(RECOMMENDATIONS)}"]
    if errors:
        raise InvalidInput("the review is not complete", errors)
    f.values["score"] = round(float(score), 2)


@guard
def project_running(f: Firing) -> None:
    if f.application.state != "in_progress":
        raise GuardFailed(
            f"this is done only while the project is in progress (it is {f.application.state})",
            {"application_state": f.application.state},
        )


@guard
def change_applicable(f: Firing) -> None:
    """The change still fits the project as it is now (it may have moved on since the request)."""
    app, change = f.application, f.subject
    if change.kind == "budget_reallocation":
        budget = change.proposal["budget"]
        if app.approved_amount is not None and budget["central"] > app.approved_amount:
            raise GuardFailed(f"central funds may not exceed the approved {app.approved_amount} yuan",
                              {"budget": ["central above the approved amount"]},
                              template=N_("Central funds may not exceed the approved %(amount)s yuan."),
                              params={"amount": f"{app.approved_amount:,}"})
    if change.kind == "extension" and (app.duration_months or 0) + change.proposal["extend_months"] > 120:
        raise GuardFailed("a project may not run longer than 120 months", {"extend_months": ["too long"]})


@guard
def report_content(f: Firing) -> None:
    report = f.payload.get("report")
    if not isinstance(report, str) or not report.strip():
        raise InvalidInput("the progress report is required", {"report": ["required"]})


@guard
def milestone_past_due(f: Firing) -> None:
    milestone: Milestone = f.subject
    today = f.payload.get("as_of") or f.now.date()  # the scan may look at another day than today
    if f.application.state not in ("in_progress", "suspended"):
        raise GuardFailed(f"the project is {f.application.state}: its milestones are no longer followed")
    if milestone.due_date >= today:
        raise GuardFailed(f"milestone {milestone.seq} is due on {milestone.due_date}, not yet overdue")
