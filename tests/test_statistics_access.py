"""Statistics: who may read them, small groups without amounts, milestones kept on time, the bases and the
country report (国别报告)."""
from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from sqlalchemy import select, update

from workflow import db
from workflow.models import Application, CooperationBase, Milestone
from workflow.services import statistics

from .factories import Factory

TODAY = statistics.beijing_today()


def _utc(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone.utc)


def _set_milestones(factory: Factory, app_id: int, *specs) -> None:
    """Give the project's milestones these (due in days from today, state, reported_at or None), in order."""
    with factory.app.app_context(), db.write_session() as s:
        rows = list(s.scalars(select(Milestone).where(Milestone.application_id == app_id).order_by(Milestone.seq)))
        assert len(rows) == len(specs)
        for row, (days, state, reported_at) in zip(rows, specs):
            s.execute(update(Milestone).where(Milestone.id == row.id).values(
                due_date=TODAY + dt.timedelta(days=days), state=state, reported_at=reported_at))


# --- who may read them --------------------------------------------------------------------------------------

PATHS = ("/statistics", "/statistics/bases", "/statistics/countries/DE", "/statistics/countries/DE/report")


@pytest.mark.parametrize("role", ["applicant", "reviewer"])
def test_applicants_and_reviewers_are_refused_every_statistic(api, pages, factory, role):
    factory.application("approved")  # someone else's requested amount, which they must not read
    who = factory.user(role)
    for path in PATHS:
        response = api(who).get(path)
        assert response.status_code == 403, path
        assert response.json["error"] == "not_permitted"
        assert "requested_central" not in response.get_data(as_text=True)
    client = pages(who)
    for path in ("/statistics", "/statistics/bases", "/statistics/country-report?country=DE",
                 "/statistics/charts/channel.svg?measure=funds"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "万元" not in response.get_data(as_text=True)


def test_a_recommender_counts_only_its_own_bodys_applications(api, factory):
    mine, cast = factory.application("formal_review")
    factory.application("formal_review")  # another body's
    stats = api(cast.recommender).get("/statistics").json
    assert stats["scope"] == "body" and stats["total"]["applications"] == 1
    for path in PATHS[1:]:  # the bases and the country report are the fund's staff's
        assert api(cast.recommender).get(path).status_code == 403, path
    everything = api(cast.officer).get("/statistics").json
    assert everything["scope"] == "fund" and everything["total"]["applications"] == 2


def test_groups_under_three_show_no_amount_but_to_the_staff(api, pages, factory):
    first, cast = factory.application("formal_review")
    factory.application("formal_review", cast=cast)
    recommender = api(cast.recommender).get("/statistics").json
    assert recommender["total"]["applications"] == 2
    assert recommender["total"]["withheld"] is True
    assert recommender["total"]["requested_central"] is None and recommender["total"]["approved_amount"] is None
    assert all(row["requested_central"] is None for key in ("by_channel", "by_field", "by_state", "by_country")
               for row in recommender[key])
    officer = api(cast.officer).get("/statistics").json
    assert officer["total"]["withheld"] is False and officer["total"]["requested_central"] == 2 * 3_000_000
    # the third application makes the group big enough; a field of one stays hidden
    factory.application("formal_review", cast=cast, field="biology_health")
    recommender = api(cast.recommender).get("/statistics").json
    assert recommender["total"]["requested_central"] == 3 * 3_000_000
    fields = {row["key"]: row for row in recommender["by_field"]}
    assert fields["energy_resources"]["requested_central"] is None and fields["energy_resources"]["withheld"]
    assert fields["biology_health"]["requested_central"] is None
    html = pages(cast.recommender).get("/statistics").get_data(as_text=True)
    assert "少于 3 项不显示金额" in html
    assert 'data-measure="requested_central" data-value="9000000"' in html  # the total of three is shown


# --- milestones kept on time --------------------------------------------------------------------------------


def test_on_time_rate_on_a_constructed_data_set(app):
    """Reports just before and just after midnight in Beijing on the due date, awaiting and unreported ones."""
    from workflow.models import Body  # noqa: F401  (the embassy body below)

    factory = Factory(app)
    first, cast = factory.application("in_progress")
    embassy = factory.cast(recommender=factory.user("recommender", body=factory.body(
        channel="embassy", kind="embassy_section")))
    second, _ = factory.application("in_progress", cast=embassy)
    due = TODAY - dt.timedelta(days=20)
    _set_milestones(factory, first.id,
                    (-20, "accepted", _utc(due, 15, 59)),                          # 23:59 in Beijing: on time
                    (-20, "accepted", _utc(due, 16, 1)),                           # 00:01 the next day: late
                    (5, "reported", _utc(TODAY - dt.timedelta(days=1), 2, 0)))     # in time, awaiting: not counted
    _set_milestones(factory, second.id,
                    (-5, "planned", None),                                          # past due, no report: late
                    (10, "planned", None),                                          # not yet due: not counted
                    (-2, "returned", _utc(TODAY - dt.timedelta(days=4), 1, 0)))   # sent back, now past due: late
    with app.test_request_context():
        stats = statistics.statistics(cast.officer)
    by_channel = {r["key"]: r for r in stats["on_time"]["by_channel"]}
    assert by_channel["intergovernmental"] == {"key": "intergovernmental", "on_time": 1, "late": 1, "settled": 2,
                                               "rate": 0.5}
    assert by_channel["embassy"] == {"key": "embassy", "on_time": 0, "late": 2, "settled": 2, "rate": 0.0}
    by_institution = {r["key"]: r["rate"] for r in stats["on_time"]["by_institution"]}
    assert sorted(by_institution.values()) == [0.0, 0.5]
    assert "on or before its due date" in stats["on_time"]["definition"]


def test_the_page_shows_the_rate_and_its_definition(pages, factory):
    project, cast = factory.application("in_progress")
    due = TODAY - dt.timedelta(days=3)
    _set_milestones(factory, project.id, (-3, "accepted", _utc(due, 1, 0)), (-3, "accepted", _utc(due, 1, 0)),
                    (-1, "planned", None))
    html = pages(cast.officer).get("/statistics").get_data(as_text=True)
    table = html.split('data-dimension="on_time_channel"', 1)[1].split("</table>", 1)[0]
    assert 'data-measure="on_time">2<' in table and 'data-measure="late">1<' in table and "66.7%" in table
    assert "按期" in html and "截止日期" in html  # the definition, in Chinese


# --- the cooperation bases -----------------------------------------------------------------------------------


def test_per_base_projects_talent_results_and_growth(api, pages, factory):
    base = factory._add(CooperationBase(name="中法农业联合研究中心", name_en="Sino-French joint research center "
                                        "for agriculture", kind="joint_research_center"))
    factory._add(CooperationBase(name="中俄技术转移中心", kind="technology_transfer_center"))
    done, cast = factory.application("completed", base_id=base.id, foreign_experts=3, young_researchers=7)
    factory.application("formal_review", base_id=base.id)
    data = api(cast.officer).get("/statistics/bases").json
    row = next(b for b in data["bases"] if b["id"] == base.id)
    assert row["projects"] == 2 and row["funded"] == 1
    assert row["talent"] == {"foreign_experts_planned": 3, "young_researchers_planned": 7, "experts_engaged": 4,
                             "researchers_trained": 5}
    assert row["outcomes"]["papers"] == 6 and row["outcomes"]["patents"] == 2
    assert data["target"] == 500
    assert data["growth"][-1] == {"year": TODAY.year, "registered": 2, "total": 2, "share_of_target": 0.004}
    html = pages(cast.officer).get("/statistics/bases").get_data(as_text=True)
    assert "中法农业联合研究中心" in html and 'max="500" value="2"' in html and "500" in html


# --- the country report ---------------------------------------------------------------------------------------


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    return "".join(out.stdout.split())  # pdftotext breaks Chinese lines: compare without whitespace


def test_the_country_report_is_a_pdf_naming_the_country(api, pages, factory, tmp_path):
    funded, cast = factory.application("completed", partners=[
        {"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"},
        {"name": "Karlsruher Institut für Technologie", "country": "DE", "kind": "university"}])
    factory.application("formal_review", partners=[{"name": "INRAE", "country": "FR", "kind": "institute"}])
    figures = api(cast.officer).get("/statistics/countries/de").json
    assert figures["country"] == "DE" and figures["total"]["applications"] == 1  # two German partners, one project
    assert figures["total"]["requested_central"] == 3_000_000  # counted once, not once per partner
    assert {p["name"] for p in figures["partners"]} == {"Fraunhofer ISE", "Karlsruher Institut für Technologie"}
    assert figures["outcomes"]["papers"] == 6
    response = api(cast.officer).get("/statistics/countries/DE/report")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _pdf_text(response.data, tmp_path)
    assert "德国国别报告" in text and "Countryreport:Germany" in text
    assert "中德新能源材料联合研究" in text and "FraunhoferISE" in text and "INRAE" not in text
    page = pages(cast.officer).get("/statistics/country-report?country=DE")
    assert page.status_code == 200 and page.data.startswith(b"%PDF-")


@pytest.mark.parametrize("code", ["XX", "DEU", "", "1"])
def test_an_unknown_country_is_not_found(api, pages, factory, code):
    officer = factory.user("officer")
    if code:
        response = api(officer).get(f"/statistics/countries/{code}/report")
        assert response.status_code == 404 and response.json["error"] == "not_found"
    assert pages(officer).get(f"/statistics/country-report?country={code}").status_code == 404


def test_the_statistics_are_in_the_openapi_document(api):
    paths = api().get("/openapi.json").json["paths"]
    for path in ("/statistics", "/statistics/bases", "/statistics/countries/{code}",
                 "/statistics/countries/{code}/report"):
        assert "403" in paths[path]["get"]["responses"], path
    assert "application/pdf" in paths["/statistics/countries/{code}/report"]["get"]["responses"]["200"]["content"]
