"""Aggregated review scores and the ranked list of a call, for the decision meeting.

Per application: the mean of the reviews' weighted totals (the ranking key), the lowest,
highest and spread, the mean of each rubric criterion, the count of each recommendation, and
a disagreement flag. Per call: the list in review order, with the requested central funds
added up down the list against the call's budget, so the line where the budget runs out shows.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from .. import db, labels
from ..errors import NotFound, NotPermitted
from ..models import RECOMMENDATIONS, Application, Call, Review
from ..permissions import Actor

BEIJING = ZoneInfo("Asia/Shanghai")
# These no longer draw on the call's budget, so the running total passes over them.
OUT_OF_THE_RUNNING = frozenset({"withdrawn", "rejected"})


@dataclass
class Ranked:
    """One application of the ranked list."""

    rank: int
    application_id: int
    title: str
    title_en: str | None
    institution: str
    institution_en: str | None
    state: str
    channel: str
    field: str | None
    requested_central: int
    approved_amount: int | None
    reviews: int  # submitted
    mean_score: float | None  # mean of the weighted totals on 0-100
    min_score: float | None
    max_score: float | None
    spread: float | None
    criteria_means: dict[str, float]
    recommendations: dict[str, int]
    disagreement: bool
    disagreement_reasons: list[str]
    cumulative_central: int | None  # requested central funds from rank 1 down to here
    within_budget: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Ranking:
    call: Call
    items: list[Ranked]
    total_budget: int
    channel: str | None = None
    field: str | None = None
    budget_line_after: int | None = None  # the rank of the last application the budget covers, when it runs out
    budget_runs_out: bool = False  # some request down the list is past the call's budget
    generated_at: dt.datetime = dc_field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def as_dict(self) -> dict[str, Any]:
        return {"call_id": self.call.id, "total_budget": self.total_budget, "channel": self.channel,
                "field": self.field, "disagreement_spread": self.call.disagreement_spread,
                "budget_line_after": self.budget_line_after, "budget_runs_out": self.budget_runs_out,
                "items": [r.as_dict() for r in self.items]}


def ranking(actor: Actor, call_id: int, *, channel: str | None = None, field: str | None = None) -> Ranking:
    """The call's reviewed applications, best mean score first (officers and admins).

    Rank and running total are the call's own, counted over every reviewed application; the
    channel and field filters then narrow what is shown, so a filtered row still says where
    it stands against the whole budget.
    """
    if not actor.acts_as_officer:
        raise NotPermitted("only program officers see the ranking of a call")
    s = db.session()
    call = s.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    apps = s.scalars(
        select(Application).where(Application.call_id == call_id,
                                  exists().where(Review.application_id == Application.id))
        .options(selectinload(Application.reviews), selectinload(Application.institution))
    ).all()
    rows = sorted((_aggregate(call, app) for app in apps),
                  key=lambda r: (r.mean_score is None, -(r.mean_score or 0), r.application_id))
    line = _running_total(rows, call.total_budget)
    runs_out = any(r.within_budget is False for r in rows)
    shown = [r for r in rows if (not channel or r.channel == channel) and (not field or r.field == field)]
    return Ranking(call, shown, call.total_budget, channel, field, line if runs_out else None,
                   budget_runs_out=runs_out)


def _aggregate(call: Call, app: Application) -> Ranked:
    done = [r for r in app.reviews if r.state == "submitted" and r.score is not None]
    totals = [r.score for r in done]
    counts = {code: sum(1 for r in done if r.recommendation == code) for code in RECOMMENDATIONS}
    spread = round(max(totals) - min(totals), 2) if totals else None
    reasons = []
    if len(totals) > 1 and spread > call.disagreement_spread:
        reasons.append("spread")
    if counts["fund"] and counts["do_not_fund"]:
        reasons.append("recommendations")
    return Ranked(
        rank=0, application_id=app.id, title=app.title, title_en=app.title_en,
        institution=app.institution.name, institution_en=app.institution.name_en, state=app.state,
        channel=app.channel, field=app.field, requested_central=app.budget_central,
        approved_amount=app.approved_amount, reviews=len(done),
        mean_score=round(fmean(totals), 2) if totals else None,
        min_score=min(totals) if totals else None, max_score=max(totals) if totals else None, spread=spread,
        criteria_means=_criteria_means(done), recommendations=counts,
        disagreement=bool(reasons), disagreement_reasons=reasons, cumulative_central=None, within_budget=None)


def _criteria_means(reviews: list[Review]) -> dict[str, float]:
    """The mean score of each criterion, over the reviews scored per criterion."""
    by_key: dict[str, list[float]] = {}
    for review in reviews:
        for key, value in (review.scores or {}).items():
            by_key.setdefault(key, []).append(value)
    return {key: round(fmean(values), 2) for key, values in by_key.items()}


def _running_total(rows: list[Ranked], budget: int) -> int | None:
    """Number the rows and add up their requested central funds; the last rank the budget covers."""
    total, line = 0, None
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
        if row.state in OUT_OF_THE_RUNNING:
            continue
        total += row.requested_central
        row.cumulative_central, row.within_budget = total, total <= budget
        if row.within_budget:
            line = rank
    return line


# --- exports ------------------------------------------------------------------------

CSV_HEADER = ("rank", "application_id", "title", "institution", "channel", "field", "state", "reviews",
              "mean_score", "min_score", "max_score", "spread", "fund", "fund_with_changes", "do_not_fund",
              "disagreement", "requested_central", "cumulative_central", "within_budget")


def as_csv(result: Ranking) -> str:
    """The ranked list as CSV (UTF-8 with BOM, so a spreadsheet reads the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in result.items:
        writer.writerow([r.rank, r.application_id, _cell(r.title), _cell(r.institution), r.channel, r.field or "",
                         r.state, r.reviews, _num(r.mean_score), _num(r.min_score), _num(r.max_score),
                         _num(r.spread), r.recommendations["fund"], r.recommendations["fund_with_changes"],
                         r.recommendations["do_not_fund"], "yes" if r.disagreement else "no",
                         r.requested_central, "" if r.cumulative_central is None else r.cumulative_central,
                         "" if r.within_budget is None else ("yes" if r.within_budget else "no")])
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet would not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def as_pdf(result: Ranking) -> bytes:
    """The review summary (评审结果汇总表) as a PDF, rendered now: a report, not a numbered document."""
    from weasyprint import HTML

    from ..pdf_render import url_fetcher

    call = result.call
    made = result.generated_at.astimezone(BEIJING)
    made_zh = f"{made.year}年{made.month}月{made.day}日 {made:%H:%M}"
    # pdf/base.html's letterhead, page footer and metadata read `doc` and `app`.
    doc = {"kind": "review_summary", "title": "专家评审结果汇总表", "title_en": "Summary of the expert review",
           "number": call.code, "decided_at": made.isoformat(timespec="minutes"), "date_zh": made_zh}
    html = render_template(
        "pdf/review_summary.html", doc=doc, app={"title": call.title}, result=result, call=call, labels=labels,
        made_zh=made_zh,
        channel=labels.zh(labels.CHANNELS, result.channel) if result.channel else None,
        field_label=labels.zh(labels.FIELDS, result.field) if result.field else None,
        money=lambda v: "—" if v is None else f"{v / 10_000:,.2f}",
        criteria=call.rubric.criteria if call.rubric else [])
    return HTML(string=html, url_fetcher=url_fetcher()).write_pdf()


__all__ = ["ranking", "Ranking", "Ranked", "as_csv", "as_pdf", "CSV_HEADER"]
