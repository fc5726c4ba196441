"""Statistics, the cooperation bases, the report on one partner country, and the review ranking of a call."""
from __future__ import annotations

from flask import Response, jsonify

from ..services import statistics
from .blueprint import bp
from .common import actor


@bp.get("/statistics")
def get_statistics():
    """The fund's staff count every routed application; a recommender only its own body's (403 for others)."""
    return jsonify(statistics.statistics(actor()))


@bp.get("/statistics/bases")
def get_bases():
    return jsonify(statistics.bases_view(actor()))


@bp.get("/statistics/countries/<code>")
def get_country(code: str):
    return jsonify(statistics.country_report(actor(), code))


@bp.get("/statistics/countries/<code>/report")
def get_country_report(code: str):
    report, pdf = statistics.country_report_pdf(actor(), code)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="country-report-{report["country"]}-{report["as_of"]}.pdf"',
        "Cache-Control": "private, no-store"})


@bp.get("/calls/<int:call_id>/ranking")
def call_ranking(call_id: int):
    """The ranked list as JSON, or `?format=csv` / `?format=pdf` (the review summary)."""
    from .. import schemas
    from ..services import ranking
    from .common import query

    args = query(schemas.RankingQuery())
    result = ranking.ranking(actor(), call_id, channel=args.get("channel"), field=args.get("field"))
    name = f"ranking-call-{call_id}"
    if args["format"] == "csv":
        return Response(ranking.as_csv(result), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "private, no-store"})
    if args["format"] == "pdf":
        return Response(ranking.as_pdf(result), mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{name}.pdf"', "Cache-Control": "private, no-store"})
    return jsonify(result.as_dict())
