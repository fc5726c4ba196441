"""Statistics and rankings: counts and funds by channel, field, country, state and base; milestones kept on
time; the cooperation bases; and the report on one partner country (国别报告).

Every figure is one set-based query over the applications a reader may count: the fund's staff count every
routed application, a recommending body only those routed to it. Amounts of a group smaller than
MIN_GROUP applications are withheld from everyone but the staff, so nobody reads another institution's
request off a small group.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Integer, and_, case, cast, distinct, extract, func, literal, not_, or_, select, text

from .. import db
from ..countries import COUNTRY_CODES
from ..errors import NotFound, NotPermitted, N_
from ..models import (OUTCOME_KEYS, Application, Call, CooperationBase, Institution, Milestone, Partner,
                      Review, utcnow)
from ..permissions import Actor
from . import chain_cache

# Drafts are private to their institution until submitted: statistics count routed applications.
ROUTED = Application.submitted_at.is_not(None)
MIN_GROUP = 3  # a group of fewer applications shows its amounts to the fund's staff only
BASE_TARGET = 500  # the plan: 力争基地总数达到 500 家
BEIJING_HOURS = 8  # the fund's calendar; China keeps no daylight saving time
AMOUNTS = ("requested_central", "approved_amount")
NOT_FOR_YOU = N_("statistics are for the fund's program officers and administrators")


def _scope(actor: Actor) -> tuple[list, bool]:
    """(the conditions on the applications `actor` may count, whether they see every amount)."""
    if actor.acts_as_officer:
        return [ROUTED], True
    if actor.role == "recommender" and actor.body_id is not None:
        return [ROUTED, Application.body_id == actor.body_id], False
    raise NotPermitted(NOT_FOR_YOU)


def _staff(actor: Actor) -> None:
    if not actor.acts_as_officer:
        raise NotPermitted(NOT_FOR_YOU)


def _dialect() -> str:
    return db.session().get_bind().dialect.name


def beijing_day(column):
    """The calendar day in Beijing of a stored UTC moment, as SQL on either database."""
    if _dialect() == "postgresql":
        return cast(column + text(f"interval '{BEIJING_HOURS} hours'"), Date)
    return func.date(column, f"+{BEIJING_HOURS} hours")


def beijing_year(column):
    if _dialect() == "postgresql":
        return cast(extract("year", column + text(f"interval '{BEIJING_HOURS} hours'")), Integer)
    return cast(func.strftime("%Y", column, f"+{BEIJING_HOURS} hours"), Integer)


def beijing_today() -> dt.date:
    return (utcnow() + dt.timedelta(hours=BEIJING_HOURS)).date()


def _measures():
    # Every join below yields one row per application (partner countries are made distinct first), so a
    # plain count counts applications: no COUNT(DISTINCT), which sorts, at 100,000 rows. COUNT(*), as
    # every join here is inner: the measures are then all in ix_applications_routed_channel, which
    # PostgreSQL reads alone (an index-only scan) only when no other column is named.
    return (
        func.count().label("applications"),
        func.coalesce(func.sum(Application.budget_central), 0).label("requested_central"),
        func.coalesce(func.sum(Application.approved_amount), 0).label("approved_amount"),
        func.count(Application.approved_amount).label("funded"),
    )


def _row(r, key) -> dict[str, Any]:
    return {"key": key, "applications": r.applications, "funded": r.funded,
            "requested_central": int(r.requested_central), "approved_amount": int(r.approved_amount)}


def _withhold_small(rows: list[dict], sees_all: bool) -> list[dict]:
    """Amounts of groups under MIN_GROUP applications, withheld unless the reader is the fund's staff."""
    for row in rows:
        row["withheld"] = not sees_all and row["applications"] < MIN_GROUP
        if row["withheld"]:
            row.update(dict.fromkeys(AMOUNTS))
    return rows


def _by(column, where: list, *joins, grouped: bool = True) -> list[dict[str, Any]]:
    q = select(column.label("key"), *_measures()).select_from(Application)
    for target, on in joins:
        q = q.join(target, on)
    q = q.where(*where)
    if grouped:
        q = q.group_by(column).order_by(column)
    return [_row(r, r.key) for r in db.session().execute(q).all()]


def _by_country(where: list) -> list[dict[str, Any]]:
    """The measures per partner country, each application counted once in each country it has partners in.

    The applications that meet `where` lead (a body's few, or the routed ones in id order from an index
    holding their amounts), each joined to its partners' countries and made distinct there, rather than
    every partner of the fund made distinct first and then joined back to its application.
    """
    pairs = (select(Application.id, Partner.country, Application.budget_central, Application.approved_amount)
             .join(Partner, Partner.application_id == Application.id).where(*where).distinct().subquery("pairs"))
    q = (select(pairs.c.country.label("key"), func.count().label("applications"),
                func.coalesce(func.sum(pairs.c.budget_central), 0).label("requested_central"),
                func.coalesce(func.sum(pairs.c.approved_amount), 0).label("approved_amount"),
                func.count(pairs.c.approved_amount).label("funded"))
         .group_by(pairs.c.country).order_by(pairs.c.country))
    return [_row(r, r.key) for r in db.session().execute(q).all()]


def _by_base(where: list) -> list[dict[str, Any]]:
    """The measures per cooperation base, by its name: summed per base id from the applications' own index,
    then named (rather than every application joined to its base before grouping)."""
    per_base = (select(Application.base_id, *_measures()).where(*where, Application.base_id.is_not(None))
                .group_by(Application.base_id).subquery("per_base"))
    q = (select(CooperationBase.name.label("key"), per_base.c.applications, per_base.c.requested_central,
                per_base.c.approved_amount, per_base.c.funded)
         .join(per_base, per_base.c.base_id == CooperationBase.id).order_by(CooperationBase.name))
    return [_row(r, r.key) for r in db.session().execute(q).all()]


def _countries():
    """Each (application, partner country) once: two partners in one country count the project once there."""
    return select(Partner.application_id, Partner.country).distinct().subquery("countries")


def outcome_totals(where: list) -> dict[str, int]:
    """The outcomes reported at close-out, summed in the database (JSON values read as integers)."""
    sums = [func.coalesce(func.sum(Application.outcomes[key].as_integer()), 0).label(key) for key in OUTCOME_KEYS]
    row = db.session().execute(select(*sums).where(*where, Application.outcomes.is_not(None))).one()
    return {key: int(getattr(row, key)) for key in OUTCOME_KEYS}


def statistics(actor: Actor, *, cached: bool = True) -> dict[str, Any]:
    """Counts and funds of the routed applications `actor` may count, grouped every way the fund reports them.

    The figures are kept while the audit chain's head stays where it was (services.chain_cache), one set
    for the fund's staff and one per body; the day is part of the key, as the on-time rates count the
    milestones due by today. `cached=False` computes them afresh, as the benchmark does.
    """
    where, sees_all = _scope(actor)
    if not cached:
        return _statistics(where, sees_all)
    key = ("statistics", None if sees_all else actor.body_id, beijing_today())
    return chain_cache.kept(key, lambda: _statistics(where, sees_all))


def _statistics(where: list, sees_all: bool) -> dict[str, Any]:
    cube = _cube(where)
    groups = {
        "by_channel": _roll_up(cube, "channel"),
        "by_field": _roll_up(cube, "field"),
        "by_state": _roll_up(cube, "state"),
        # Funds by country count each application once per partner country, so they
        # add up to more than the total when a project has partners in several.
        "by_country": _by_country(where),
        "by_base": _by_base(where),
    }
    return {
        "scope": "fund" if sees_all else "body",
        "min_group": MIN_GROUP,
        "total": _withhold_small(_roll_up(cube, None), sees_all)[0],
        **{name: _withhold_small(rows, sees_all) for name, rows in groups.items()},
        "outcomes": outcome_totals(where),
        "on_time": {"definition": ON_TIME_DEFINITION, "as_of": beijing_today().isoformat(), **on_time_rates(where, scoped=not sees_all)},
    }


def _cube(where: list) -> list:
    """One scan: the measures per (channel, field, state), a few hundred rows at most, rolled up below."""
    q = (select(Application.channel, Application.field, Application.state, *_measures())
         .where(*where).group_by(Application.channel, Application.field, Application.state))
    return db.session().execute(q).all()


def _roll_up(cube: list, dimension: str | None) -> list[dict[str, Any]]:
    """The cube's rows summed by one of its dimensions (None: the total), in key order."""
    sums: dict[Any, dict[str, Any]] = {}
    for r in cube:
        key = getattr(r, dimension) if dimension else "all"
        row = sums.setdefault(key, {"key": key, "applications": 0, "funded": 0, "requested_central": 0,
                                    "approved_amount": 0})
        row["applications"] += r.applications
        row["funded"] += r.funded
        row["requested_central"] += int(r.requested_central)
        row["approved_amount"] += int(r.approved_amount)
    if dimension is None and not sums:
        sums["all"] = {"key": "all", "applications": 0, "funded": 0, "requested_central": 0, "approved_amount": 0}
    return sorted(sums.values(), key=lambda row: (row["key"] is None, row["key"] or ""))


# --- milestones kept on time -----------------------------------------------------------------------------

ON_TIME_DEFINITION = (
    "A milestone is on time when the report the officer accepted arrived on or before its due date "
    "(Beijing calendar day). It is late when it was accepted after its due date, or when its due date has "
    "passed and no report that arrived by then is waiting for the officer. A milestone reported in time "
    "and still awaiting the officer, or not yet due, is not counted. Rate = on time / (on time + late).")


def on_time_rates(where: list, scoped: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Milestones on time and late, and their rate, per institution and per channel (ON_TIME_DEFINITION).

    One grouped scan by (institution, channel), rolled up both ways.
    """
    today = beijing_today()
    reported_in_time = and_(Milestone.reported_at.is_not(None),
                            beijing_day(Milestone.reported_at) <= Milestone.due_date)
    on_time = and_(Milestone.state == "accepted", reported_in_time)
    awaiting = and_(Milestone.state == "reported", reported_in_time)
    late = and_(not_(on_time), not_(awaiting), or_(Milestone.state == "accepted", Milestone.due_date < today))
    # Counted per project first, from the milestones' own index, then the few thousand projects
    # joined: not every milestone joined to its application. A `scoped` reader (a body) counts only its
    # own projects' milestones, which its few applications lead to.
    per_project = (select(Milestone.application_id,
                          func.count(case((on_time, Milestone.id))).label("on_time"),
                          func.count(case((late, Milestone.id))).label("late"))
                   .group_by(Milestone.application_id))
    if scoped:
        per_project = per_project.where(Milestone.application_id.in_(select(Application.id).where(*where)))
    per_project = per_project.subquery("per_project")
    q = (select(Application.institution_id, Application.channel,
                cast(func.sum(per_project.c.on_time), Integer).label("on_time"),
                cast(func.sum(per_project.c.late), Integer).label("late"))
         .select_from(per_project).join(Application, Application.id == per_project.c.application_id)
         .where(*where).group_by(Application.institution_id, Application.channel))
    cube = db.session().execute(q).all()
    names = dict(db.session().execute(select(Institution.id, Institution.name).where(
        Institution.id.in_({r.institution_id for r in cube}))).all()) if cube else {}
    return {"by_institution": _rates(cube, lambda r: names.get(r.institution_id)),
            "by_channel": _rates(cube, lambda r: r.channel)}


def _rates(cube: list, key_of) -> list[dict[str, Any]]:
    sums: dict[Any, list[int]] = {}
    for r in cube:
        pair = sums.setdefault(key_of(r), [0, 0])
        pair[0] += r.on_time
        pair[1] += r.late
    rows = []
    for key, (on_time, late) in sorted(sums.items(), key=lambda item: (item[0] is None, item[0] or "")):
        settled = on_time + late
        rows.append({"key": key, "on_time": on_time, "late": late, "settled": settled,
                     "rate": round(on_time / settled, 4) if settled else None})
    return rows


# --- the cooperation bases ---------------------------------------------------------------------------------


def bases_view(actor: Actor) -> dict[str, Any]:
    """Each base's projects, talent and results, and the registry's growth toward the plan's 500 bases.

    A retired base keeps its history here, marked `retired`, after the bases in use."""
    _staff(actor)
    s = db.session()
    funded = Application.approved_amount.is_not(None)
    outcome = {key: func.coalesce(func.sum(Application.outcomes[key].as_integer()), 0).label(key)
               for key in OUTCOME_KEYS}
    q = (select(CooperationBase.id, CooperationBase.name, CooperationBase.name_en, CooperationBase.kind,
                CooperationBase.created_at, CooperationBase.retired, Institution.name.label("host"),
                Institution.name_en.label("host_en"),
                func.count(Application.id).label("projects"), func.count(case((funded, Application.id))).label("funded"),
                func.coalesce(func.sum(Application.approved_amount), 0).label("approved_amount"),
                func.coalesce(func.sum(case((funded, Application.foreign_experts))), 0).label("foreign_experts"),
                func.coalesce(func.sum(case((funded, Application.young_researchers))), 0).label("young_researchers"),
                *outcome.values())
         .select_from(CooperationBase)
         .outerjoin(Institution, Institution.id == CooperationBase.institution_id)
         .outerjoin(Application, and_(Application.base_id == CooperationBase.id, ROUTED))
         .group_by(CooperationBase.id, Institution.name, Institution.name_en)
         .order_by(CooperationBase.retired, func.count(Application.id).desc(), CooperationBase.id))
    bases = [{"id": r.id, "name": r.name, "name_en": r.name_en, "kind": r.kind, "retired": bool(r.retired),
              "host": r.host, "host_en": r.host_en, "registered_at": r.created_at.isoformat(), "projects": r.projects,
              "funded": r.funded, "approved_amount": int(r.approved_amount),
              "talent": {"foreign_experts_planned": int(r.foreign_experts),
                         "young_researchers_planned": int(r.young_researchers),
                         "experts_engaged": int(r.experts_engaged), "researchers_trained": int(r.researchers_trained)},
              "outcomes": {key: int(getattr(r, key)) for key in OUTCOME_KEYS}}
             for r in s.execute(q).all()]
    return {"bases": bases, "growth": registry_growth(), "target": BASE_TARGET}


def registry_growth() -> list[dict[str, int]]:
    """Bases registered each year (Beijing calendar) and the running total, retired ones left out."""
    year = beijing_year(CooperationBase.created_at)
    rows = db.session().execute(select(year.label("year"), func.count(CooperationBase.id).label("registered"))
                                .where(CooperationBase.retired.is_(False)).group_by(year).order_by(year)).all()
    total, out = 0, []
    for r in rows:
        total += r.registered
        out.append({"year": int(r.year), "registered": r.registered, "total": total,
                    "share_of_target": round(total / BASE_TARGET, 4)})
    return out


# --- one partner country (国别报告) ----------------------------------------------------------------------------

REPORT_PROJECTS = 100  # the report lists this many funded projects, the largest first; the tables count all
REPORT_PARTNERS = 50  # and this many partner institutions, the most involved first


def country_report(actor: Actor, code: str) -> dict[str, Any]:
    """Projects, funds, partners and outcomes over the years for one partner country (ISO 3166 code)."""
    _staff(actor)
    code = (code or "").strip().upper()
    if code not in COUNTRY_CODES:
        raise NotFound(f"no country with the code {code!r}", {"code": ["an ISO 3166-1 alpha-2 code, e.g. DE"]},
                       template=N_("There is no country with the code “%(code)s”."), params={"code": code[:10]})
    s = db.session()
    countries = _countries()
    in_country = [ROUTED, countries.c.country == code]
    joined = (countries, countries.c.application_id == Application.id)
    year = beijing_year(Application.submitted_at)
    outcome = [func.coalesce(func.sum(Application.outcomes[key].as_integer()), 0).label(key) for key in OUTCOME_KEYS]
    years = [{**_row(r, int(r.key)), "outcomes": {key: int(getattr(r, key)) for key in OUTCOME_KEYS}}
             for r in s.execute(select(year.label("key"), *_measures(), *outcome).select_from(Application)
                                .join(*joined).where(*in_country).group_by(year).order_by(year)).all()]
    partners = [{"name": r.name, "projects": r.projects, "funded": r.funded}
                for r in s.execute(
                    select(Partner.name, func.count(distinct(Application.id)).label("projects"),
                           func.count(distinct(case((Application.approved_amount.is_not(None), Application.id))))
                           .label("funded"))
                    .join(Application, Application.id == Partner.application_id)
                    .where(ROUTED, Partner.country == code)
                    .group_by(Partner.name).order_by(func.count(distinct(Application.id)).desc(), Partner.name)
                    .limit(REPORT_PARTNERS))]
    projects = [{"id": r.id, "title": r.title, "title_en": r.title_en, "institution": r.institution,
                 "institution_en": r.institution_en, "field": r.field, "state": r.state,
                 "approved_amount": int(r.approved_amount)}
                for r in s.execute(
                    select(Application.id, Application.title, Application.title_en, Application.field,
                           Application.state, Application.approved_amount, Institution.name.label("institution"),
                           Institution.name_en.label("institution_en"))
                    .join(*joined).join(Institution, Institution.id == Application.institution_id)
                    .where(*in_country, Application.approved_amount.is_not(None))
                    .order_by(Application.approved_amount.desc(), Application.id).limit(REPORT_PROJECTS))]
    return {"country": code, "as_of": beijing_today().isoformat(),
            "total": _by(literal("all"), in_country, joined, grouped=False)[0],
            "by_year": years, "by_field": _by(Application.field, in_country, joined),
            "outcomes": outcome_totals([ROUTED, Application.id.in_(
                select(Partner.application_id).where(Partner.country == code))]),
            "partners": partners, "partner_count": _partner_count(code), "projects": projects,
            "projects_listed": REPORT_PROJECTS}


def _partner_count(code: str) -> int:
    return db.session().scalar(select(func.count(distinct(Partner.name))).join(
        Application, Application.id == Partner.application_id).where(ROUTED, Partner.country == code))


def countries_with_projects() -> list[str]:
    """The partner countries of routed applications, for the report's country picker."""
    return chain_cache.kept(("countries_with_projects",), lambda: partner_countries(ROUTED))


def partner_countries(*where, foreign_only: bool = False) -> list[str]:
    """The partner countries of the applications that meet `where`, in code order.

    Each country present asks for one such application and stops at the first (an index range per
    country), rather than every partner being joined to its application and then made distinct.
    """
    present = select(Partner.country).distinct()
    if foreign_only:
        present = present.where(Partner.country != "CN")
    present = present.subquery("present")
    one = (select(Partner.id).join(Application, Application.id == Partner.application_id)
           .where(Partner.country == present.c.country, *where).exists())
    return list(db.session().scalars(select(present.c.country).where(one).order_by(present.c.country)))


def country_report_pdf(actor: Actor, code: str) -> tuple[dict[str, Any], bytes]:
    """The country report as a PDF, rendered by WeasyPrint like the fund's notices, fetching nothing."""
    from babel import Locale
    from flask import render_template
    from weasyprint import HTML

    from .. import labels
    from ..pdf_render import url_fetcher
    from .workflows import state_label

    report = country_report(actor, code)
    today = beijing_today()
    zh, en = Locale("zh"), Locale("en")
    report = {**report, "country_zh": zh.territories.get(report["country"], report["country"]),
              "country_en": en.territories.get(report["country"], report["country"]),
              "by_field": [{**f, "label_zh": labels.zh(labels.FIELDS, f["key"]),
                            "label_en": labels.en(labels.FIELDS, f["key"])} for f in report["by_field"]],
              "projects": [{**p, "state_zh": state_label("application", p["state"])[0]} for p in report["projects"]]}
    title = f"{report['country_zh']}国别报告"
    doc = {"kind": "country_report", "title": title, "title_en": f"Country report: {report['country_en']}",
           "number": f"国别报告 · {report['country']} · {today.isoformat()}", "decided_at": today.isoformat(),
           "date_zh": f"{today.year}年{today.month}月{today.day}日"}
    html = render_template("pdf/country_report.html", doc=doc, app={"title": title}, report=report,
                           money=lambda v: "—" if v is None else f"{v:,}",
                           outcome_labels=[{"key": k, "zh": labels.zh(labels.OUTCOMES, k),
                                            "en": labels.en(labels.OUTCOMES, k)} for k in OUTCOME_KEYS])
    return report, HTML(string=html, url_fetcher=url_fetcher()).write_pdf()
