"""The ranked list of a call: aggregates, the disagreement flag, filters, the budget line, CSV and the PDF summary."""
from __future__ import annotations

import csv
import io
import subprocess

import pytest

from workflow.services import rubrics

OPINIONS = {"fund": "建议资助。", "fund_with_changes": "修改后资助。", "do_not_fund": "不建议资助。"}


def points(total: int) -> dict[str, int]:
    """Scores per default criterion that add up to exactly `total` (each range is its weight in points)."""
    left, out = total, {}
    for c in rubrics.DEFAULT_CRITERIA:
        out[c["key"]] = min(c["max"], left)
        left -= out[c["key"]]
    return out


def review(api, application, officer, reviewer, total: int, recommendation: str) -> None:
    review_id = officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": reviewer.id}).json["id"]
    path = f"/applications/{application.id}/reviews/{review_id}/transitions"
    assert api(reviewer).post(f"{path}/declare_no_conflict").status_code == 200
    r = api(reviewer).post(f"{path}/submit_review", json={"scores": points(total), "opinion": OPINIONS[recommendation],
                                                           "recommendation": recommendation})
    assert r.status_code == 200, r.json


@pytest.fixture
def ranked(factory, api):
    """Three reviewed applications of one call (budget 7,000,000 yuan, 3,000,000 asked by each) and one unreviewed."""
    call = factory.rubric_call(total_budget=7_000_000, quorum=3)
    # each applicant its own institution and panel: a reviewer of one institution's application is not
    # asked again for the same institution (the conflict rules)
    cast = factory.cast()
    embassy = factory.cast(recommender=factory.user("recommender", body=factory.body("embassy", "embassy_section")))
    officer = api(cast.officer)
    plan = {
        "agreed": (cast, "energy_resources", "中德储能材料联合研究", [(90, "fund"), (88, "fund"), (86, "fund")]),
        "split": (factory.cast(), "biology_health", "中法传染病疫苗联合研发",
                  [(92, "fund"), (85, "fund"), (60, "do_not_fund")]),
        "spread": (embassy, "energy_resources", "中肯光伏微电网示范", [(80, "fund_with_changes"),
                                                                  (58, "fund_with_changes")]),
    }
    apps = {}
    for key, (who, field, title, reviews) in plan.items():
        application, _ = factory.application("expert_review", cast=who, call=call, field=field, title=title)
        for reviewer, (total, recommendation) in zip(who.reviewers, reviews):
            review(api, application, officer, reviewer, total, recommendation)
        apps[key] = application
    factory.application("formal_review", cast=cast, call=call, title="尚未评审的项目")
    return call, apps, officer


def test_the_ranking_aggregates_each_application(ranked):
    call, apps, officer = ranked
    r = officer.get(f"/calls/{call.id}/ranking")
    assert r.status_code == 200, r.json
    items = {i["application_id"]: i for i in r.json["items"]}
    assert [i["application_id"] for i in r.json["items"]] == [apps["agreed"].id, apps["split"].id, apps["spread"].id]
    agreed, split, spread = items[apps["agreed"].id], items[apps["split"].id], items[apps["spread"].id]
    assert (agreed["rank"], agreed["mean_score"], agreed["min_score"], agreed["max_score"], agreed["spread"]) == (
        1, 88.0, 86.0, 90.0, 4.0)
    assert agreed["recommendations"] == {"fund": 3, "fund_with_changes": 0, "do_not_fund": 0}
    assert agreed["state"] == "decision_pending" and agreed["reviews"] == 3
    assert split["mean_score"] == 79.0 and split["spread"] == 32.0
    assert split["recommendations"] == {"fund": 2, "fund_with_changes": 0, "do_not_fund": 1}
    assert spread["mean_score"] == 69.0 and spread["reviews"] == 2 and spread["state"] == "expert_review"
    # the mean of each criterion, over the reviewers
    assert agreed["criteria_means"] == {"fit": 20, "cooperation": 20, "innovation": 30, "feasibility": 15,
                                        "outcomes": 3}
    assert "尚未评审的项目" not in {i["title"] for i in r.json["items"]}


def test_the_disagreement_flag_says_why(ranked):
    call, apps, officer = ranked
    items = {i["application_id"]: i for i in officer.get(f"/calls/{call.id}/ranking").json["items"]}
    assert items[apps["agreed"].id]["disagreement"] is False
    assert items[apps["split"].id]["disagreement"] is True
    assert items[apps["split"].id]["disagreement_reasons"] == ["spread", "recommendations"]
    assert items[apps["spread"].id]["disagreement_reasons"] == ["spread"]  # 22 points apart, over the call's 20


def test_the_calls_threshold_decides_a_wide_spread(factory, ranked):
    call, apps, officer = ranked
    from workflow import db
    from workflow.models import Call

    with factory.app.app_context(), db.write_session() as s:  # the threshold is the call's own setting
        s.get(Call, call.id).disagreement_spread = 25.0
    items = {i["application_id"]: i for i in officer.get(f"/calls/{call.id}/ranking").json["items"]}
    assert items[apps["spread"].id]["disagreement"] is False
    assert items[apps["split"].id]["disagreement_reasons"] == ["spread", "recommendations"]


def test_the_running_total_shows_where_the_budget_runs_out(ranked):
    call, apps, officer = ranked
    body = officer.get(f"/calls/{call.id}/ranking").json
    assert body["total_budget"] == 7_000_000
    assert [(i["cumulative_central"], i["within_budget"]) for i in body["items"]] == [
        (3_000_000, True), (6_000_000, True), (9_000_000, False)]
    assert body["budget_line_after"] == 2


@pytest.mark.parametrize("query, expected", [
    ("channel=embassy", ["spread"]), ("channel=intergovernmental", ["agreed", "split"]),
    ("field=biology_health", ["split"]), ("channel=embassy&field=biology_health", []),
])
def test_the_ranking_filters_by_channel_and_field_keeping_the_calls_rank(ranked, query, expected):
    call, apps, officer = ranked
    body = officer.get(f"/calls/{call.id}/ranking?{query}").json
    assert [i["application_id"] for i in body["items"]] == [apps[k].id for k in expected]
    if expected == ["spread"]:
        assert body["items"][0]["rank"] == 3 and body["items"][0]["cumulative_central"] == 9_000_000


@pytest.mark.parametrize("query", ["channel=moon", "field=poetry", "format=xml", "page=2"])
def test_a_bad_filter_is_refused(ranked, query):
    call, _apps, officer = ranked
    r = officer.get(f"/calls/{call.id}/ranking?{query}")
    assert r.status_code == 422 and r.json["details"], r.json


def test_the_ranking_is_for_the_funds_staff(factory, api, ranked):
    call, apps, _officer = ranked
    for role in ("applicant", "reviewer", "recommender"):
        assert api(factory.user(role)).get(f"/calls/{call.id}/ranking").status_code == 403
    assert api(factory.user("admin")).get(f"/calls/{call.id}/ranking").status_code == 200


def test_the_ranking_exports_as_csv(ranked):
    call, apps, officer = ranked
    r = officer.get(f"/calls/{call.id}/ranking?format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["title"] for row in rows] == ["中德储能材料联合研究", "中法传染病疫苗联合研发", "中肯光伏微电网示范"]
    assert [row["disagreement"] for row in rows] == ["no", "yes", "yes"]
    assert [row["cumulative_central"] for row in rows] == ["3000000", "6000000", "9000000"]
    assert [row["within_budget"] for row in rows] == ["yes", "yes", "no"]
    assert rows[1]["mean_score"] == "79" and rows[1]["spread"] == "32" and rows[1]["do_not_fund"] == "1"


def test_a_title_a_spreadsheet_would_run_is_written_as_text(factory, api):
    call = factory.rubric_call()
    application, cast = factory.application("expert_review", call=call, title="=HYPERLINK(\"http://x\")")
    review(api, application, api(cast.officer), cast.reviewers[0], 80, "fund")
    text = api(cast.officer).get(f"/calls/{call.id}/ranking?format=csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text


def test_the_review_summary_is_a_pdf_with_every_title(ranked, tmp_path):
    call, apps, officer = ranked
    r = officer.get(f"/calls/{call.id}/ranking?format=pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF-")
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(r.data)
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    for title in ("中德储能材料联合研究", "中法传染病疫苗联合研发", "中肯光伏微电网示范", "专家评审结果汇总表", "意见分歧"):
        assert title in text
    assert "尚未评审的项目" not in text
    assert text.index("中法传染病疫苗联合研发") < text.index("以上项目所申请中央经费在指南经费总额之内") < \
        text.index("中肯光伏微电网示范")


def test_a_filtered_summary_shows_only_the_filtered_applications(ranked, tmp_path):
    call, apps, officer = ranked
    r = officer.get(f"/calls/{call.id}/ranking?format=pdf&field=biology_health")
    assert r.status_code == 200
    pdf = tmp_path / "filtered.pdf"
    pdf.write_bytes(r.data)
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    assert "中法传染病疫苗联合研发" in text and "中德储能材料联合研究" not in text


def test_user_text_in_the_summary_fetches_nothing(factory, api, tmp_path):
    call = factory.rubric_call()
    title = '<img src="file:///etc/passwd">项目'
    application, cast = factory.application("expert_review", call=call, title=title)
    review(api, application, api(cast.officer), cast.reviewers[0], 80, "fund")
    r = api(cast.officer).get(f"/calls/{call.id}/ranking?format=pdf")
    assert r.status_code == 200 and b"root:x:" not in r.data
