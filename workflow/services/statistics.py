"""Statistics and rankings: counts and funds by channel, field, country, state and base."""
from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, literal, select

from .. import db
from ..errors import NotFound
from ..models import OUTCOME_KEYS, Application, Call, CooperationBase, Partner, Review

# Drafts are private to their institution until submitted: statistics count routed applications.
ROUTED = Application.submitted_at.is_not(None)


def _by(column, *joins, grouped: bool = True) -> list[dict[str, Any]]:
    q = select(
        column.label("key"),
        func.count(func.distinct(Application.id)).label("applications"),
        func.coalesce(func.sum(Application.budget_central), 0).label("requested_central"),
        func.coalesce(func.sum(Application.approved_amount), 0).label("approved_amount"),
        func.count(func.distinct(case((Application.approved_amount.is_not(None), Application.id)))).label(
            "funded"),
    ).select_from(Application)
    for target, on in joins:
        q = q.join(target, on)
    q = q.where(ROUTED)
    if grouped:
        q = q.group_by(column).order_by(column)
    rows = db.session().execute(q).all()
    return [{"key": r.key, "applications": r.applications, "funded": r.funded,
             "requested_central": int(r.requested_central), "approved_amount": int(r.approved_amount)}
            for r in rows]


def statistics() -> dict[str, Any]:
    """Counts and funds of routed applications, grouped every way the fund reports them."""
    s = db.session()
    outcomes = {key: 0 for key in OUTCOME_KEYS}
    for (values,) in s.execute(select(Application.outcomes).where(ROUTED, Application.outcomes.is_not(None))):
        for key in OUTCOME_KEYS:
            outcomes[key] += int(values.get(key, 0))
    # Funds by country count each application once per partner country, so they
    # add up to more than the total when a project has partners in several.
    return {
        "total": _by(literal("all"), grouped=False)[0],
        "by_channel": _by(Application.channel),
        "by_field": _by(Application.field),
        "by_state": _by(Application.state),
        "by_country": _by(Partner.country, (Partner, Partner.application_id == Application.id)),
        "by_base": _by(CooperationBase.name, (CooperationBase, CooperationBase.id == Application.base_id)),
        "outcomes": outcomes,
    }


def ranking(call_id: int) -> list[dict[str, Any]]:
    """The call's reviewed applications, best mean score first."""
    s = db.session()
    if s.get(Call, call_id) is None:
        raise NotFound(f"call {call_id} not found")
    submitted = Review.state == "submitted"
    rows = s.execute(
        select(
            Application.id, Application.title, Application.state, Application.channel, Application.field,
            Application.budget_central, Application.approved_amount,
            func.avg(case((submitted, Review.score))).label("mean_score"),
            func.min(case((submitted, Review.score))).label("min_score"),
            func.max(case((submitted, Review.score))).label("max_score"),
            func.count(case((submitted, Review.id))).label("reviews"),
            func.count(case((Review.recommendation == "fund", Review.id))).label("fund"),
            func.count(case((Review.recommendation == "fund_with_changes", Review.id))).label("fund_with_changes"),
            func.count(case((Review.recommendation == "do_not_fund", Review.id))).label("do_not_fund"),
        )
        .join(Review, Review.application_id == Application.id)
        .where(Application.call_id == call_id)
        .group_by(Application.id)
        .order_by(func.avg(case((submitted, Review.score))).desc().nulls_last(), Application.id)
    ).all()
    return [{
        "rank": rank, "application_id": r.id, "title": r.title, "state": r.state, "channel": r.channel,
        "field": r.field, "requested_central": r.budget_central, "approved_amount": r.approved_amount,
        "mean_score": None if r.mean_score is None else round(float(r.mean_score), 2),
        "min_score": r.min_score, "max_score": r.max_score, "reviews": r.reviews,
        "recommendations": {"fund": r.fund, "fund_with_changes": r.fund_with_changes,
                            "do_not_fund": r.do_not_fund},
    } for rank, r in enumerate(rows, start=1)]
