"""Scoring rubrics of the calls: the plan's default, versioned changes, and what a review is scored against.

A call's rubric is its newest version. A review takes the version that is current
when its expert declares no conflict (effects.record_declaration) and stays scored
against it: a change makes a new version and never touches the old one.
"""
from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit, db
from ..errors import N_, InvalidInput, NotFound, NotPermitted
from ..models import Call, Rubric, utcnow
from ..permissions import Actor

# The plan's criteria (国科发计〔2011〕381号): fit with the priority fields and national needs, the
# cooperation basis and partners, innovation, feasibility, and outcomes with talent and bases.
# Each range is its weight in points, so the weighted total is the plain sum of the points.
DEFAULT_CRITERIA: tuple[dict[str, Any], ...] = (
    {"key": "fit", "label": "与重点领域和国家需求的契合度",
     "label_en": "Fit with the priority fields and national needs", "weight": 0.2, "min": 0, "max": 20},
    {"key": "cooperation", "label": "合作基础与外方合作伙伴实力",
     "label_en": "Cooperation basis and partner strength", "weight": 0.2, "min": 0, "max": 20},
    {"key": "innovation", "label": "创新性与技术先进性",
     "label_en": "Innovation and technical merit", "weight": 0.3, "min": 0, "max": 30},
    {"key": "feasibility", "label": "实施方案与经费预算的可行性",
     "label_en": "Feasibility of the plan and budget", "weight": 0.15, "min": 0, "max": 15},
    {"key": "outcomes", "label": "预期成果、成果转化及人才与基地建设",
     "label_en": "Expected outcomes, results transformation, talent and base building",
     "weight": 0.15, "min": 0, "max": 15},
)
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CRITERIA = 20
MAX_POINTS = 1000
# Messages the pages translate (services.rubrics is called from the rubric page too).
MESSAGES = (
    N_("the rubric is not valid"),
    N_("at least one criterion is required"),
    N_("a short key of lower-case letters, digits and _"),
    N_("another criterion has this key"),
    N_("required"),
    N_("a number more than 0"),
    N_("a number"),
    N_("must be less than max"),
    N_("the weights must add up to 1"),
    N_("only administrators change a call's rubric"),
)


def default_criteria() -> list[dict[str, Any]]:
    return [dict(c) for c in DEFAULT_CRITERIA]


def add_default(session: Session, call: Call, created_by_id: int | None = None) -> Rubric | None:
    """Give `call` the plan's default rubric, in the caller's transaction, unless it has one."""
    if session.scalar(select(Rubric.id).where(Rubric.call_id == call.id).limit(1)) is not None:
        return None
    rubric = Rubric(call_id=call.id, version=1, criteria=default_criteria(), created_by_id=created_by_id,
                    created_at=utcnow())
    session.add(rubric)
    session.flush()
    return rubric


def current(call_id: int) -> Rubric | None:
    """The call's rubric now (its newest version), or None for a call that never had one."""
    call = db.session().get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return call.rubric


def versions(call_id: int) -> list[Rubric]:
    current(call_id)
    return list(db.session().scalars(select(Rubric).where(Rubric.call_id == call_id).order_by(Rubric.version)))


def change_rubric(actor: Actor, call_id: int, criteria: Any) -> Rubric:
    """A new version of the call's rubric (admins); reviews already declared keep the version they took."""
    if actor.role != "admin":
        raise NotPermitted("only administrators change a call's rubric")
    clean = validate(criteria)
    now = utcnow()
    with db.write_session() as s:
        call = s.get(Call, call_id, with_for_update=True)  # two changes at once: versions 2 and 3, not 2 twice
        if call is None:
            raise NotFound(f"call {call_id} not found")
        last = s.scalar(select(func.max(Rubric.version)).where(Rubric.call_id == call_id)) or 0
        rubric = Rubric(call_id=call_id, version=last + 1, criteria=clean, created_by_id=actor.id, created_at=now)
        s.add(rubric)
        s.flush()
        audit.record(s, application_id=None, subject="rubric", subject_id=rubric.id, trigger="create",
                     from_state=None, to_state=None, actor_id=actor.id, role=actor.role, created_at=now,
                     comment=None, data={"call_id": call_id, "version": rubric.version, "criteria": clean})
        audit.seal(s)
    return rubric


def validate(criteria: Any) -> list[dict[str, Any]]:
    """The criteria, checked: unique keys, labels, weights above 0 adding up to 1, min below max.

    Refuses with InvalidInput whose details are keyed `criteria.<i>.<field>`.
    """
    if not isinstance(criteria, list) or not criteria:
        raise InvalidInput("the rubric is not valid", {"criteria": ["at least one criterion is required"]})
    if len(criteria) > MAX_CRITERIA:
        raise InvalidInput("the rubric is not valid", {"criteria": [f"at most {MAX_CRITERIA} criteria"]})
    errors: dict[str, list[str]] = {}
    clean, seen = [], set()
    for i, item in enumerate(criteria):
        item = item if isinstance(item, dict) else {}
        where = f"criteria.{i}"
        key = item.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            errors[f"{where}.key"] = ["a short key of lower-case letters, digits and _"]
        elif key in seen:
            errors[f"{where}.key"] = ["another criterion has this key"]
        seen.add(key)
        for name in ("label", "label_en"):
            text = item.get(name)
            if not isinstance(text, str) or not text.strip() or len(text) > 200:
                errors[f"{where}.{name}"] = ["required"]
        weight, low, high = item.get("weight"), item.get("min"), item.get("max")
        if not _number(weight) or weight <= 0:
            errors[f"{where}.weight"] = ["a number more than 0"]
        for name, value in (("min", low), ("max", high)):
            if not _number(value) or abs(value) > MAX_POINTS:
                errors[f"{where}.{name}"] = ["a number"]
        if _number(low) and _number(high) and low >= high:
            errors[f"{where}.min"] = ["must be less than max"]
        clean.append({"key": key, "label": (item.get("label") or "").strip(),
                      "label_en": (item.get("label_en") or "").strip(),
                      "weight": weight, "min": low, "max": high})
    weights = [c["weight"] for c in clean if _number(c["weight"])]
    if len(weights) == len(clean) and not math.isclose(sum(weights), 1.0, abs_tol=1e-6):
        errors["criteria"] = ["the weights must add up to 1"]
    if errors:
        raise InvalidInput("the rubric is not valid", errors)
    return clean


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def as_list(rubric: Rubric | None) -> list[dict[str, Any]]:
    """The rubric as GET /api/v1/calls/{id} lists it: [{key, label, label_en, weight, min, max}]."""
    if rubric is None:
        return []
    return [{"key": c["key"], "label": c["label"], "label_en": c.get("label_en"), "weight": c["weight"],
             "min": c["min"], "max": c["max"]} for c in rubric.criteria]




def points_for(criteria: list[dict[str, Any]], total: float) -> dict[str, float]:
    """Scores per criterion that add up to about `total` of 100 (to the half point): for scripts and the demo."""
    share = max(0.0, min(100.0, total)) / 100
    return {c["key"]: round((c["min"] + (c["max"] - c["min"]) * share) * 2) / 2 for c in criteria}


def submission(review_id: int, total: float, opinion: str, recommendation: str) -> dict[str, Any]:
    """A submit_review body for the review: `scores` per its rubric, or the one `score` without a rubric."""
    from ..models import Review

    review = db.session().get(Review, review_id)
    body: dict[str, Any] = {"opinion": opinion, "recommendation": recommendation}
    if review is None or review.rubric is None:
        return {**body, "score": total}
    return {**body, "scores": points_for(review.rubric.criteria, total)}


__all__ = ["DEFAULT_CRITERIA", "default_criteria", "add_default", "current", "versions", "change_rubric",
           "validate", "as_list", "points_for", "submission"]
