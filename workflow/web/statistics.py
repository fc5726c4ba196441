"""Pages: statistics — applications and funds by channel, field, partner country, base and state, and outcomes.

The numbers are services.statistics' (the same as GET /api/v1/statistics). Each
dimension is drawn as server-side SVG by pygal (no script: its own JS is off)
and shown again as a table beside the chart.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l

from .. import labels
from ..services import registry, statistics as svc, workflows
from .common import actor
from .i18n import country_name, is_zh, label, pick, registry_name, state_label
from .messages import N_

bp = Blueprint("statistics", __name__)

SERVICE_MESSAGES = (N_("statistics are for the fund's program officers and administrators"),)

DIMENSIONS = {
    "channel": _l("By channel"),
    "field": _l("By field"),
    "country": _l("By partner country"),
    "base": _l("By cooperation base"),
    "state": _l("By state"),
}
MEASURES = ("applications", "funds")
CHARTS = tuple(DIMENSIONS) + ("outcomes",)
CHART_TOP = 15  # countries and bases: the chart draws the busiest, the table lists them all
# The letterhead red, then gold and grey: the look of the fund's own documents.
COLOURS = ("#b3121b", "#e0a32e", "#5b6470", "#0b5cad")
FONTS = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'


def _reader():
    """The signed-in actor; the service decides what they may count (the staff all, a recommender its body's)."""
    return actor()


def _labeller(dimension: str):
    """key -> display label, in the reader's language."""
    if dimension == "channel":
        return lambda key: label(labels.CHANNELS, key) if key else _("Not given")
    if dimension == "field":
        return lambda key: label(labels.FIELDS, key) if key else _("Not given")
    if dimension == "country":
        return lambda key: country_name(key) or _("Not given")
    if dimension == "base":  # a retired base keeps its numbers, marked as retired
        rows = {b.name: b for b in registry.bases(include_retired=True)}
        return lambda key: (registry_name(rows[key]) if key in rows else key) if key else _("Not given")
    if dimension == "state":
        return lambda key: state_label("application", key) if key else _("Not given")
    raise KeyError(dimension)


def _rows(data: dict, dimension: str) -> list[dict]:
    """The dimension's rows with their labels, in the order a reader expects."""
    name = _labeller(dimension)
    rows = [dict(row, label=name(row["key"])) for row in data[f"by_{dimension}"]]
    if dimension == "state":
        order = list(workflows.definition("application").states)
        rows.sort(key=lambda r: order.index(r["key"]) if r["key"] in order else len(order))
    elif dimension == "channel":
        order = list(labels.CHANNELS)
        rows.sort(key=lambda r: order.index(r["key"]) if r["key"] in order else len(order))
    elif dimension == "field":
        order = list(labels.FIELDS)
        rows.sort(key=lambda r: order.index(r["key"]) if r["key"] in order else len(order))
    else:  # countries and bases: the busiest first
        rows.sort(key=lambda r: (-r["applications"], r["label"]))
    return rows


def _outcomes(data: dict) -> list[dict]:
    return [{"key": key, "label": label(labels.OUTCOMES, key), "value": value}
            for key, value in data["outcomes"].items()]


@bp.get("/statistics")
def index():
    who = _reader()
    data = svc.statistics(who)
    sections = [{"dimension": d, "title": title, "rows": _rows(data, d)} for d, title in DIMENSIONS.items()]
    on_time = {"institution": _on_time_rows(data["on_time"]["by_institution"], "institution"),
               "channel": _on_time_rows(data["on_time"]["by_channel"], "channel")}
    countries = sorted(((code, country_name(code)) for code in svc.countries_with_projects()),
                       key=lambda pair: pair[1]) if who.acts_as_officer else []
    return render_template("statistics/index.html", total=data["total"], sections=sections,
                           outcomes=_outcomes(data), alt=_alt, on_time=on_time, staff=who.acts_as_officer,
                           min_group=data["min_group"], countries=countries)


def _on_time_rows(rows: list[dict], dimension: str) -> list[dict]:
    if dimension == "channel":
        name = _labeller("channel")
        order = list(labels.CHANNELS)
        rows = sorted(rows, key=lambda r: order.index(r["key"]) if r["key"] in order else len(order))
        return [dict(r, label=name(r["key"])) for r in rows]
    english = {i.name: i.name_en for i in registry.institutions(include_retired=True)} if not is_zh() else {}
    rows = [dict(r, label=pick(r["key"], english.get(r["key"]))) for r in rows]
    return sorted(rows, key=lambda r: (r["rate"] is None, -(r["rate"] or 0), r["label"]))


@bp.get("/statistics/bases")
def bases():
    data = svc.bases_view(actor())
    latest = data["growth"][-1]["total"] if data["growth"] else 0
    bases = [dict(b, registered=dt.datetime.fromisoformat(b["registered_at"])) for b in data["bases"]]
    return render_template("statistics/bases.html", bases=bases, growth=data["growth"],
                           target=data["target"], registered=latest)


@bp.get("/statistics/country-report")
def country_report():
    """The country report PDF of the country picked on the statistics page (?country=DE)."""
    report, pdf = svc.country_report_pdf(actor(), request.args.get("country", ""))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="country-report-{report["country"]}-{report["as_of"]}.pdf"',
        "Cache-Control": "private, no-store"})


def _alt(dimension: str, measure: str = "applications") -> str:
    """The text of a chart for those who cannot see it: what it shows, and where its numbers are."""
    if dimension == "outcomes":
        return _("Bar chart of the outcomes reported at close-out; the numbers are in the table beside it.")
    what = str(DIMENSIONS[dimension])
    what = what if is_zh() else what.lower()
    if measure == "funds":
        text = _("Bar chart of requested central funds and approved funds, %(what)s; "
                 "the numbers are in the table below.", what=what)
    else:
        text = _("Bar chart of applications and funded projects, %(what)s; the numbers are in the table below.",
                 what=what)
    if dimension in ("country", "base"):
        text = " ".join((text, _("The chart shows the %(n)d with the most applications; the table lists all.",
                                 n=CHART_TOP)))
    return text


@bp.get("/statistics/charts/<dimension>.svg")
def chart(dimension: str):
    who = _reader()
    if dimension not in CHARTS:
        abort(404)
    measure = request.args.get("measure", "applications")
    if measure not in MEASURES:
        abort(404)
    data = svc.statistics(who)
    if dimension == "outcomes":
        rows = _outcomes(data)
        svg = _draw(_("Outcomes after close-out"), [r["label"] for r in rows],
                    [(_("Reported at close-out"), [r["value"] for r in rows])], money=False)
    else:
        rows = _rows(data, dimension)
        if dimension in ("country", "base"):
            rows = rows[:CHART_TOP]
        names = [r["label"] for r in rows]
        title = str(DIMENSIONS[dimension])
        if measure == "funds":
            scale = 10_000 if is_zh() else 1_000_000
            unit = _("10,000 yuan") if is_zh() else _("million yuan")
            svg = _draw(_("%(dimension)s · funds (%(unit)s)", dimension=title, unit=unit), names,
                        [(_("Requested central funds"), [_scaled(r["requested_central"], scale) for r in rows]),
                         (_("Approved funds"), [_scaled(r["approved_amount"], scale) for r in rows])], money=True)
        else:
            svg = _draw(_("%(dimension)s · applications", dimension=title), names,
                        [(_("Number of applications"), [r["applications"] for r in rows]),
                         (_("Funded"), [r["funded"] for r in rows])], money=False)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Cookie"
    return response


def _scaled(amount: int | None, scale: int) -> float | None:
    """An amount in the chart's unit; None (no bar) where a small group's amount is withheld."""
    return None if amount is None else amount / scale


def _pygal():
    """pygal, without the legacy import hook it adds for map plugins (fundflow draws no maps).

    The hook has no find_spec, so every import that fails anywhere after pygal
    loads warns; where warnings are errors (the tests) that breaks the optional
    imports of other libraries.
    """
    import sys

    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "pygal"]
    return pygal


def _draw(title: str, names: list[str], series: list[tuple[str, list]], money: bool) -> bytes:
    pygal = _pygal()
    from pygal.style import Style

    style = Style(font_family=FONTS, colors=COLOURS, background="#ffffff", plot_background="#ffffff",
                  foreground="#1f2328", foreground_strong="#1f2328", foreground_subtle="#5b6470",
                  guide_stroke_color="#e3e6ea", major_guide_stroke_color="#c9ced5", guide_stroke_dasharray="0",
                  major_guide_stroke_dasharray="0", title_font_size=15, label_font_size=12,
                  major_label_font_size=12, legend_font_size=12, value_font_size=11, tooltip_font_size=12,
                  opacity="1", opacity_hover="1")
    height = max(240, 120 + len(names) * (14 * len(series) + 14))
    chart = pygal.HorizontalBar(
        style=style, js=[], width=620, height=height, title=title, legend_at_bottom=True,
        legend_at_bottom_columns=len(series), truncate_label=-1, truncate_legend=-1, print_values=False,
        show_y_guides=False, show_x_guides=True, margin=10, spacing=10, explicit_size=False,
        margin_left=_wide_extra([_short(n) for n in names], 12), value_formatter=lambda v: f"{v:,.0f}" if money or v == int(v)
        else f"{v:,.2f}", no_data_text=_("No data yet"), disable_xml_declaration=False)
    # pygal draws a horizontal bar chart's first label at the bottom: give it the list reversed,
    # so the chart reads from the top down like its table.
    chart.x_labels = [_short(n) for n in reversed(names)]
    for name, values in series:
        chart.add(name, list(reversed(values)))
    return _without_script(chart.render_tree())


def _short(name: str, room: int = 30) -> str:
    """A label cut to about `room` narrow characters (a Chinese one counts two); the table has it whole."""
    import unicodedata

    used = 0
    for i, ch in enumerate(name):
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > room:
            return name[:i].rstrip() + "…"
    return name


def _wide_extra(names: list[str], font_size: int) -> int:
    """Room pygal does not leave for labels in Chinese: it measures every character as 0.6 em."""
    import unicodedata

    wide = max((sum(unicodedata.east_asian_width(ch) in "WF" for ch in name) for name in names), default=0)
    return int(wide * 0.45 * font_size) + 10


def _without_script(root) -> bytes:
    """The chart as SVG bytes, without the config <script> pygal writes even when its JS is off."""
    from xml.etree import ElementTree

    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return b'<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + \
        ElementTree.tostring(root, encoding="unicode").encode("utf-8")
