"""A closed registry of guards, named from states/.

A guard looks at the firing and refuses it with a reason: InvalidInput (422)
when the request itself is wrong or incomplete, GuardFailed (409) when the
record or the call is not in a state that allows it. Guards never write.
"""
from __future__ import annotations

import calendar
import datetime as dt
import unicodedata
import math
from typing import Any, Callable

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .countries import COUNTRY_CODES
from .engine import Firing
from .errors import N_, GuardFailed, InvalidInput
from .models import (
    MILESTONE_KINDS,
    OUTCOME_KEYS,
    RECOMMENDATIONS,
    Application,
    Call,
    CooperationBase,
    Milestone,
    Review,
)


Guard = Callable[[Firing], None]
REGISTRY: dict[str, Guard] = {}
# Guards that judge what the actor types with the trigger (an amount, a score, a
# report): a preview of which triggers may fire, asked before anything is typed,
# skips them; the firing itself never does.
INPUT_GUARDS = frozenset({"approved_amount", "milestones_given", "outcomes_given", "review_content",
                          "report_content", "reason_below_quorum", "conflict_named"})


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


def submitted_reviews(session: Session, application: Application) -> int:
    """The application's submitted reviews as this transaction sees them, without flushing it: the rows
    in the database, with the reviews this session changed counted as they now stand.

    What a flush first would count, at a fraction of its cost: the follow-up after every submitted
    review asks, and a flush each time was a third of the data generator's run. A review still
    pending is in its initial state (fire_in inserts a pending row before firing it).
    """
    changed = [r for r in session.dirty if isinstance(r, Review) and r.application_id == application.id]
    stored = session.connection().execute(_STORED_SUBMITTED, {
        "application_id": application.id, "changed": [r.id for r in changed]}).scalar_one()
    return stored + sum(r.state == "submitted" for r in changed)


# Built once, run on the session's connection: asked after every submitted review.
_reviews = Review.__table__
_STORED_SUBMITTED = select(func.count()).select_from(_reviews).where(
    _reviews.c.application_id == bindparam("application_id"), _reviews.c.state == "submitted",
    _reviews.c.id.not_in(bindparam("changed", expanding=True)))


@guard
def review_quorum(f: Firing) -> None:
    """The system closes review at the quorum; an officer may close earlier once a review is in."""
    app = f.application
    submitted = submitted_reviews(f.session, app)
    if submitted >= app.call.quorum:
        f.values["quorum"] = {"submitted": submitted, "quorum": app.call.quorum}
        return
    if f.actor.acts_as_officer and submitted > 0:
        return  # with a reason: reason_below_quorum
    if f.actor.acts_as_officer:
        raise GuardFailed("no review is in yet", {"submitted": 0, "quorum": app.call.quorum},
                          template=N_("No review is in yet: expert review cannot close."))
    raise GuardFailed(
        f"{submitted} of the {app.call.quorum} reviews needed are in",
        {"submitted": submitted, "quorum": app.call.quorum},
        template=N_("%(submitted)s of the %(quorum)s reviews needed are in."),
        params={"submitted": submitted, "quorum": app.call.quorum},
    )


@guard
def reason_below_quorum(f: Firing) -> None:
    """Closing with fewer reviews than the quorum needs the officer's reason (the comment)."""
    app = f.application
    submitted = submitted_reviews(f.session, app)
    if submitted >= app.call.quorum:
        return
    if not f.comment:
        raise InvalidInput(
            f"{submitted} of the {app.call.quorum} reviews needed are in: give the reason for closing now",
            {"comment": ["the reason for closing with fewer reviews than the quorum is required"]},
            template=N_("%(submitted)s of the %(quorum)s reviews needed are in: give the reason for closing now."),
            params={"submitted": submitted, "quorum": app.call.quorum},
        )
    f.values["below_quorum"] = {"submitted": submitted, "quorum": app.call.quorum}


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
    signed = [a for a in f.application.attachments if a.kind == "signed_agreement"]
    if not signed:
        raise InvalidInput(
            "upload the signed project agreement (任务书) first",
            {"attachments": ["signed_agreement is required"]},
        )
    f.values["signed_attachment_id"] = signed[-1].id  # the newest upload is the copy that was signed


# No date the fund deals in lies outside these; a date beyond them is a typing slip, and
# date arithmetic on it (an extension) would overflow.
LATEST_DATE = dt.date(2100, 12, 31)
MAX_PROJECT_MONTHS = 120


def beijing_today(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _text(item: dict, key: str, limit: int, errors: dict, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        errors[key] = ["required (at most %d characters)" % limit if required else
                       "text of at most %d characters" % limit]
        return ""
    return value.strip()


def _agreement(f: Firing) -> dict[str, Any] | None:
    """The international cooperation agreement of the payload, checked; None when none is given."""
    raw = f.payload.get("agreement")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput("the cooperation agreement is not valid", {"agreement": ["an object"]})
    errors: dict[str, Any] = {}
    title = _text(raw, "title", 300, errors)
    partners, partner_errors = [], {}
    for i, p in enumerate(raw.get("partners") if isinstance(raw.get("partners"), list) else []):
        name = p.get("name") if isinstance(p, dict) else None
        country = p.get("country") if isinstance(p, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > 300:
            partner_errors[str(i)] = {"name": ["required (at most 300 characters)"]}
        elif country not in COUNTRY_CODES:
            partner_errors[str(i)] = {"country": ["an ISO 3166 country code"]}
        else:
            partners.append({"name": name.strip(), "country": country})
    if partner_errors:
        errors["partners"] = partner_errors
    elif not any(p["country"] != "CN" for p in partners):
        errors["partners"] = ["at least one foreign partner institution is required"]
    signed_on, valid_from, valid_until = (_date(raw.get(k)) for k in ("signed_on", "valid_from", "valid_until"))
    earliest, today = f.application.call.opens_at.date(), beijing_today(f.now)
    if signed_on is None:
        errors["signed_on"] = ["a date, YYYY-MM-DD"]
    elif not earliest <= signed_on <= today:
        errors["signed_on"] = ["the signing date must lie between the call's opening and today"]
    for key, day in (("valid_from", valid_from), ("valid_until", valid_until)):
        if day is None:
            errors[key] = ["a date, YYYY-MM-DD"]
        elif not dt.date(1950, 1, 1) <= day <= LATEST_DATE:
            errors[key] = ["a date between 1950 and 2100"]
    if valid_from and valid_until and "valid_from" not in errors and "valid_until" not in errors:
        if valid_from > valid_until:
            errors["valid_until"] = ["the agreement must be valid until a day after it is valid from"]
        elif signed_on and "signed_on" not in errors and valid_until < signed_on:
            errors["valid_until"] = ["the agreement had expired before it was signed"]
    domestic = _text(raw, "commitments_domestic", 10_000, errors)
    foreign = _text(raw, "commitments_foreign", 10_000, errors)
    unknown = set(raw) - {"title", "partners", "signed_on", "valid_from", "valid_until", "commitments_domestic",
                          "commitments_foreign"}
    errors.update({k: ["unknown field"] for k in sorted(map(str, unknown))})
    if errors:
        raise InvalidInput("the cooperation agreement is not valid", {"agreement": errors})
    return {"title": title, "partners": partners, "signed_on": signed_on, "valid_from": valid_from,
            "valid_until": valid_until, "commitments_domestic": domestic, "commitments_foreign": foreign}


def project_window(duration_months: int | None, agreement: dict | None,
                   now: dt.datetime | None) -> tuple[dt.date, dt.date]:
    """The days milestones may fall on: from signing to signing + duration, within the agreement's validity."""
    start = agreement["signed_on"] if agreement else beijing_today(now)
    end = add_months(start, min(duration_months or MAX_PROJECT_MONTHS, MAX_PROJECT_MONTHS))
    if agreement:
        start, end = max(start, agreement["valid_from"]), min(end, agreement["valid_until"])
    return start, end


@guard
def milestones_given(f: Firing) -> None:
    """The cooperation agreement (when given) and its milestones, each due within the project's duration."""
    agreement = _agreement(f)
    raw = f.payload.get("milestones")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "list the cooperation agreement's milestones",
            {"milestones": ["at least one {title, kind, due_date, evidence} is required"]},
        )
    first, last = project_window(f.application.duration_months, agreement, f.now)
    parsed, errors = [], {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors[str(i)] = {"title": ["an object {title, kind, due_date, evidence}"]}
            continue
        problems: dict[str, list[str]] = {}
        title = _text(item, "title", 300, problems)
        kind = item.get("kind", MILESTONE_KINDS[0])
        if kind not in MILESTONE_KINDS:
            problems["kind"] = [f"one of {', '.join(MILESTONE_KINDS)}"]
        evidence = _text(item, "evidence", 2000, problems, required=False)
        due = _date(item.get("due_date"))
        if due is None:
            problems["due_date"] = ["due_date must be a date, YYYY-MM-DD"]
        elif not first <= due <= last:
            problems["due_date"] = [f"must fall within the project's duration: from {first} to {last}"]
        if problems:
            errors[str(i)] = problems
        else:
            parsed.append({"title": title, "kind": kind, "due_date": due, "evidence": evidence or None})
    if errors:
        raise InvalidInput("some milestones are not valid", {"milestones": errors},
                           template=N_("Some milestones are not valid: each falls due between %(first)s and "
                                       "%(last)s."), params={"first": first.isoformat(), "last": last.isoformat()})
    f.values["milestones"] = sorted(parsed, key=lambda m: m["due_date"])
    if agreement:
        f.values["agreement"] = agreement


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


BASE_OUTCOMES = ("built", "strengthened", "none")


@guard
def outcomes_given(f: Firing) -> None:
    """The outcome counts of DESIGN §5, and whether a cooperation base was built or strengthened, and which."""
    raw = f.payload.get("outcomes")
    if not isinstance(raw, dict):
        raise InvalidInput("report the project's outcomes", {"outcomes": [f"an object of {', '.join(OUTCOME_KEYS)}"]})
    unknown = set(raw) - set(OUTCOME_KEYS) - {"base", "base_id"}
    bad = [k for k, v in raw.items() if k in OUTCOME_KEYS and (type(v) is not int or v < 0 or v > 10**6)]
    details: dict[str, list[str]] = {k: ["unknown outcome"] for k in sorted(map(str, unknown))}
    details.update({k: ["must be a whole number from 0"] for k in bad})
    base, base_id = raw.get("base", "none"), raw.get("base_id")
    if base not in BASE_OUTCOMES:
        details["base"] = [f"one of {', '.join(BASE_OUTCOMES)}"]
    elif base == "none" and base_id is not None:
        details["base_id"] = ["name a base only when one was built or strengthened"]
    elif base != "none":
        row = f.session.get(CooperationBase, base_id) if type(base_id) is int and 0 < base_id < 2**31 else None
        if row is None or (row.retired and row.id != f.application.base_id):  # its own base, even retired since
            details["base_id"] = ["the registry base that was built or strengthened"]
    if details:
        raise InvalidInput("outcomes are not valid", {"outcomes": details})
    f.values["outcomes"] = {**{k: raw.get(k, 0) for k in OUTCOME_KEYS}, "base": base,
                            "base_id": base_id if base != "none" else None}


@guard
def application_in_expert_review(f: Firing) -> None:
    if f.application.state != "expert_review":
        raise GuardFailed(
            f"reviews are taken only during expert review (the application is {f.application.state})",
            {"application_state": f.application.state},
        )


@guard
def review_content(f: Firing) -> None:
    """The opinion, the recommendation and the score: per criterion of the review's rubric, or one 0-100."""
    errors: dict[str, list[str]] = {}
    rubric = f.subject.rubric
    if rubric is not None:
        scores, total, problems = rubric_scores(rubric.criteria, f.payload.get("scores"))
        errors.update(problems)
        if "score" in f.payload:
            errors["score"] = ["this review is scored per criterion: send scores, not score"]
    else:  # a review without a rubric (version 1, or a call that never had one): one overall score
        score, scores = f.payload.get("score"), None
        if not _number(score) or not 0 <= score <= 100:
            errors["score"] = ["a number from 0 to 100"]
        else:
            total = round(float(score), 2)
    opinion = f.payload.get("opinion")
    if not isinstance(opinion, str) or not opinion.strip():
        errors["opinion"] = ["the written opinion is required"]
    if f.payload.get("recommendation") not in RECOMMENDATIONS:
        errors["recommendation"] = [f"one of {', '.join(RECOMMENDATIONS)}"]
    if errors:
        raise InvalidInput("the review is not complete", errors)
    f.values["score"] = total
    if scores is not None:
        f.values["scores"] = scores


def _number(value: Any) -> bool:
    """A finite JSON number; text ("90") and booleans are not numbers."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def rubric_scores(criteria: list[dict[str, Any]], raw: Any) -> tuple[dict[str, float], float, dict[str, list[str]]]:
    """({key: score}, the weighted total on 0-100, {"scores.<key>": [problem]}) for `raw` against `criteria`.

    Each criterion counts by its weight, its score normalised by its range.
    """
    if not isinstance(raw, dict):
        keys = ", ".join(c["key"] for c in criteria)
        return {}, 0.0, {"scores": [f"an object with a number for each criterion ({keys})"]}
    errors: dict[str, list[str]] = {}
    scores: dict[str, float] = {}
    total = 0.0
    for c in criteria:
        key, low, high = c["key"], c["min"], c["max"]
        value = raw.get(key)
        if key not in raw:
            errors[f"scores.{key}"] = ["a score for this criterion is required"]
        elif not _number(value):
            errors[f"scores.{key}"] = ["must be a number"]
        elif not low <= value <= high:
            errors[f"scores.{key}"] = [f"a number from {low:g} to {high:g}"]
        else:
            scores[key] = value
            total += c["weight"] * (value - low) / (high - low)
    known = {c["key"] for c in criteria}
    for key in raw:
        if key not in known:
            errors[f"scores.{key}"] = ["not a criterion of this review's rubric"]
    return scores, round(total * 100, 2), errors


@guard
def conflict_named(f: Firing) -> None:
    """A decline may say the conflict is with the applicant institution, not only with this application."""
    with_ = f.payload.get("conflict_with", "application")
    if with_ not in ("application", "institution"):
        raise InvalidInput("conflict_with is application or institution",
                           {"conflict_with": ["one of application, institution"]})
    f.values["conflict_with"] = with_


@guard
def project_running(f: Firing) -> None:
    if f.application.state != "in_progress":
        raise GuardFailed(
            f"this is done only while the project is in progress (it is {f.application.state})",
            {"application_state": f.application.state},
        )


def central_total(app: Application) -> int:
    """The project's central funds: as approved, or as budgeted where no amount was approved."""
    return app.approved_amount if app.approved_amount is not None else app.budget_central


def _same_person(a: str | None, b: str | None) -> bool:
    fold = lambda x: "".join(unicodedata.normalize("NFKC", x or "").split()).casefold()  # noqa: E731
    return bool(a) and fold(a) == fold(b)


def change_problems(app: Application, kind: str, proposal: dict[str, Any]) -> tuple[str, dict, str | None, dict]:
    """What breaks the rules of a change of `kind` on `app` now: (message, details, template, params), or ("", {})."""
    if kind == "extension":
        months = proposal["extend_months"]
        if (app.duration_months or 0) + months > MAX_PROJECT_MONTHS:
            return ("a project may not run longer than 120 months", {"extend_months": ["too long"]},
                    None, {})
        open_dates = [m.due_date for m in app.milestones if m.state != "accepted"]
        if open_dates and max(open_dates) > add_months(LATEST_DATE, -months):
            return (f"the extension would move a due date past {LATEST_DATE}",
                    {"extend_months": [f"due dates may not move past {LATEST_DATE}"]},
                    N_("The extension would move a due date past %(day)s."), {"day": LATEST_DATE.isoformat()})
    elif kind == "budget_reallocation":
        budget, central = proposal["budget"], central_total(app)
        if budget["central"] != central:
            return (f"a reallocation keeps the central funds at {central} yuan",
                    {"budget": {"central": [f"must stay {central}"]}},
                    N_("A reallocation keeps the central funds at %(amount)s yuan."), {"amount": f"{central:,}"})
        ratio = app.call.min_matching_ratio
        matched = budget["local_matching"] + budget["self_raised"]
        if matched < ratio * central:
            need = -int(-ratio * central // 1)
            return (f"local matching and self-raised funds must be at least {ratio:.0%} of central funds",
                    {"budget": {"local_matching": [f"with self-raised, at least {need}"]}},
                    N_("Local matching and self-raised funds must together be at least %(need)s yuan "
                       "(%(ratio)s of central funds)."), {"need": f"{need:,}", "ratio": f"{ratio:.0%}"})
    elif kind == "partner_change":
        if not any(p["country"] != "CN" for p in proposal["partners"]):
            return ("at least one foreign partner is required", {"partners": ["at least one foreign partner"]},
                    None, {})
    elif kind == "pi_change":
        name = (proposal.get("principal_investigator") or "").strip()
        if not name:
            return ("name the new principal investigator", {"principal_investigator": ["required"]}, None, {})
        if _same_person(name, app.principal_investigator):
            return ("the new principal investigator is the current one",
                    {"principal_investigator": ["name someone other than the current principal investigator"]},
                    None, {})
    return "", {}, None, {}


@guard
def change_applicable(f: Firing) -> None:
    """The change still fits the project as it is now (it may have moved on since the request)."""
    message, details, template, params = change_problems(f.application, f.subject.kind, f.subject.proposal)
    if message:
        raise GuardFailed(message, details, template=template, params=params)


MAX_REPORT = 20_000


@guard
def report_content(f: Firing) -> None:
    """The report's text, and the milestone_report attachments it rests on (uploaded, not yet used)."""
    report = f.payload.get("report")
    if not isinstance(report, str) or not report.strip():
        raise InvalidInput("the progress report is required", {"report": ["required"]})
    if len(report) > MAX_REPORT:
        raise InvalidInput("the progress report is too long", {"report": [f"at most {MAX_REPORT} characters"]})
    ids = f.payload.get("attachments", [])
    if not isinstance(ids, list) or any(type(i) is not int for i in ids):
        raise InvalidInput("the report's attachments are not valid", {"attachments": ["a list of attachment ids"]})
    free = {a.id: a for a in f.application.attachments if a.kind == "milestone_report"
            and a.milestone_id in (None, f.subject.id)}
    wrong = [i for i in ids if i not in free]
    if wrong:
        raise InvalidInput("the report's attachments are not valid",
                           {"attachments": [f"{i} is not a milestone_report of this project free to attach"
                                            for i in wrong]})
    f.values["attachments"] = sorted(set(ids))


@guard
def milestone_past_due(f: Firing) -> None:
    milestone: Milestone = f.subject
    today = f.payload.get("as_of") or f.now.date()  # the scan may look at another day than today
    if f.application.state not in ("in_progress", "suspended"):
        raise GuardFailed(f"the project is {f.application.state}: its milestones are no longer followed")
    if milestone.due_date >= today:
        raise GuardFailed(f"milestone {milestone.seq} is due on {milestone.due_date}, not yet overdue")
