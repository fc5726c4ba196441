"""Compliance follow-up (协议履约): how a running project stands with its agreement's milestones.

One derivation, written once as a SQL expression over an application's
milestones, serves both ways: as a filter and a sort key inside a query (so a
filtered list still pages in SQL), and as a value for given applications.

A project in execution (in_progress or suspended) is, worst first:

- ``non_compliant`` (违约): a milestone not yet reported is overdue past the
  call's grace period (the point at which the scan suspends the project);
- ``overdue`` (逾期): a milestone is marked overdue, or its due date has passed
  and it has not been reported or accepted;
- ``at_risk`` (存在风险): a milestone not yet reported falls due within 30 days;
- ``on_track`` (正常): none of these.

Applications in any other state have no compliance status (None).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import Date, and_, bindparam, case, exists, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from .. import db
from ..models import Application, Call, Milestone

ON_TRACK, AT_RISK, OVERDUE, NON_COMPLIANT = "on_track", "at_risk", "overdue", "non_compliant"
STATUSES = (ON_TRACK, AT_RISK, OVERDUE, NON_COMPLIANT)
LABELS = {
    ON_TRACK: ("正常履约", "On track"),
    AT_RISK: ("存在风险", "At risk"),
    OVERDUE: ("逾期", "Overdue"),
    NON_COMPLIANT: ("违约", "Non-compliant"),
}
FOLLOWED_STATES = ("in_progress", "suspended")
# A milestone the applicant still owes a report on ("returned" was reported, then sent back).
OPEN_STATES = ("planned", "returned", "overdue")
DUE_SOON = dt.timedelta(days=30)
BEIJING = dt.timezone(dt.timedelta(hours=8))


def today() -> dt.date:
    """The date in Beijing, where the fund's deadlines fall."""
    return dt.datetime.now(BEIJING).date()


class _PlusDays(FunctionElement):
    """date + n days, for a column n: SQLite and PostgreSQL spell it differently."""

    type = Date()
    inherit_cache = True
    name = "fundflow_plus_days"


@compiles(_PlusDays)
def _plus_days_default(element, compiler, **kw):
    day, days = element.clauses
    return f"({compiler.process(day, **kw)} + {compiler.process(days, **kw)})"


@compiles(_PlusDays, "sqlite")
def _plus_days_sqlite(element, compiler, **kw):
    day, days = element.clauses
    return f"date({compiler.process(day, **kw)}, '+' || {compiler.process(days, **kw)} || ' days')"


def status_expression(as_of: dt.date | None = None):
    """The compliance status of `Application` rows as a SQL expression (NULL when not in execution)."""
    as_of = as_of or today()
    return _status_case(as_of, as_of + DUE_SOON)


def _status_case(as_of, soon_by):
    """The status as SQL, against the day `as_of` and the day `soon_by` that "falls due soon" reaches:
    dates, or bound parameters standing for them."""
    grace = select(Call.grace_days).where(Call.id == Application.call_id).correlate(Application).scalar_subquery()
    mine = Milestone.application_id == Application.id
    still_open = Milestone.state.in_(OPEN_STATES)
    past_grace = exists().where(mine, still_open, _PlusDays(Milestone.due_date, grace) < as_of)
    overdue = exists().where(mine, or_(Milestone.state == "overdue",
                                       and_(still_open, Milestone.due_date < as_of)))
    soon = exists().where(mine, still_open, Milestone.due_date <= soon_by)
    return case(
        (Application.state.not_in(FOLLOWED_STATES), None),
        (past_grace, NON_COMPLIANT),
        (overdue, OVERDUE),
        (soon, AT_RISK),
        else_=ON_TRACK,
    )


# Built once: every answer about one application (the API's, the project page's) asks it, and building
# the expression cost more than running it.
_STATUSES = select(Application.id, _status_case(bindparam("as_of", type_=Date()), bindparam("soon_by", type_=Date()))) \
    .where(Application.id.in_(bindparam("ids", expanding=True)))


def where(status: str, as_of: dt.date | None = None):
    """A WHERE clause: the applications whose compliance status is `status`."""
    if status not in STATUSES:
        raise ValueError(f"no compliance status {status!r}")
    # Only a project in execution has a status: said outright, so the state's index finds the few
    # candidates and the milestones are looked at for those alone.
    return and_(Application.state.in_(FOLLOWED_STATES), status_expression(as_of) == status)


def statuses(app_ids: Iterable[int], as_of: dt.date | None = None) -> dict[int, str | None]:
    """{application id: compliance status or None} for the given applications."""
    ids = list(app_ids)
    if not ids:
        return {}
    as_of = as_of or today()
    rows = db.session().execute(_STATUSES, {"ids": ids, "as_of": as_of, "soon_by": as_of + DUE_SOON})
    return {app_id: status for app_id, status in rows}


def status_of(app_id: int, as_of: dt.date | None = None) -> str | None:
    """The compliance status of one application (None when it is not in execution)."""
    return statuses([app_id], as_of).get(app_id)
