"""The officer dashboard: access, filters, counts per state, paging, bulk actions and their jobs."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from workflow import db, outbox
from workflow.models import CooperationBase, Institution, Milestone, Outbox, Review
from workflow.services import compliance
from workflow.web import dashboard


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-app-id="(\d+)"', html)]


def _counts(html: str) -> dict[str, int]:
    return {state: int(n) for state, n in
            re.findall(r'class="ff-count[^"]*" data-state="(\w+)"[^>]*>[^<]*<strong>(\d+)</strong>', html)}


@pytest.fixture
def fleet(factory):
    """Applications in several states, channels, fields, countries, calls and bases; the officer who sees them."""
    base = factory._add(CooperationBase(name="中德能源材料国际联合研究中心", name_en="Sino-German joint research "
                                        "center for energy materials", kind="joint_research_center"))
    embassy = factory.cast(recommender=factory.user("recommender", body=factory.body(channel="embassy",
                                                                                   kind="embassy_section")))
    other_call = factory.call()
    made = {
        "energy": factory.application("formal_review", base_id=base.id)[0],
        "agri": factory.application("expert_review", cast=embassy, field="modern_agriculture",
                                    partners=[{"name": "INRAE", "country": "FR", "kind": "institute"}])[0],
        "health": factory.application("pending_recommendation", call=other_call, field="biology_health",
                                      partners=[{"name": "NIH", "country": "US", "kind": "government"}])[0],
        "energy2": factory.application("formal_review")[0],
        "draft": factory.application("draft")[0],
    }
    officer = factory.user("officer")
    return made, officer, base, other_call


@pytest.mark.parametrize("role, status", [("officer", 200), ("admin", 200), ("applicant", 403),
                                          ("recommender", 403), ("reviewer", 403)])
def test_only_the_funds_staff_see_the_dashboard(pages, factory, role, status):
    response = pages(factory.user(role)).get("/officer")
    assert response.status_code == status
    if status == 403:
        assert "工作台仅供项目主管和系统管理员使用" in response.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(pages):
    response = pages().get("/officer")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_list_shows_routed_applications_with_their_facts(pages, fleet):
    made, officer, _base, _call = fleet
    html = pages(officer).get("/officer").get_data(as_text=True)
    assert _ids(html) == sorted(a.id for k, a in made.items() if k != "draft")  # drafts are not routed
    assert f'href="/applications/{made["energy"].id}"' in html
    assert "中德新能源材料联合研究" in html and "300.00 万元" in html
    assert "形式审查" in html and "驻外使领馆推荐" in html and "现代农业" in html
    for name in ("call_id", "state", "channel", "field", "country", "base_id", "compliance"):
        assert re.search(rf'<label[^>]+for="{name}"', html), name  # every filter labelled


@pytest.mark.parametrize("key, query, expected", [
    ("state", "state=formal_review", {"energy", "energy2"}),
    ("channel", "channel=embassy", {"agri"}),
    ("field", "field=biology_health", {"health"}),
    ("country", "country=FR", {"agri"}),
    ("country", "country=DE", {"energy", "energy2"}),
    ("call", None, {"health"}),
    ("base", None, {"energy"}),
    ("combined", "state=formal_review&field=energy_resources&country=DE", {"energy", "energy2"}),
    ("nothing", "channel=inter_agency", set()),
])
def test_each_filter_narrows_the_list(pages, fleet, key, query, expected):
    made, officer, base, other_call = fleet
    query = query or {"call": f"call_id={other_call.id}", "base": f"base_id={base.id}"}[key]
    response = pages(officer).get(f"/officer?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert set(_ids(html)) == {made[k].id for k in expected}
    if not expected:
        assert "没有符合筛选条件的申请" in html


def test_counts_per_state_follow_every_filter_but_the_state(pages, fleet):
    made, officer, _base, _call = fleet
    client = pages(officer)
    html = client.get("/officer").get_data(as_text=True)
    assert _counts(html) == {"pending_recommendation": 1, "formal_review": 2, "expert_review": 1}
    html = client.get("/officer?state=formal_review&field=energy_resources").get_data(as_text=True)
    assert _counts(html) == {"formal_review": 2}  # the energy applications, whatever state is chosen
    assert 'aria-current="true">形式审查<strong>2</strong>' in html
    # a chip keeps the other filters and picks its state
    assert re.search(r'href="/officer\?(?=[^"]*state=formal_review)(?=[^"]*field=energy_resources)[^"]*"', html)
    html = client.get("/officer?channel=embassy").get_data(as_text=True)
    assert _counts(html) == {"expert_review": 1}


def test_paging(pages, fleet, monkeypatch):
    made, officer, _base, _call = fleet
    monkeypatch.setattr(dashboard, "PER_PAGE", 2)
    client = pages(officer)
    routed = sorted(a.id for k, a in made.items() if k != "draft")
    first = client.get("/officer").get_data(as_text=True)
    second = client.get("/officer?page=2").get_data(as_text=True)
    assert _ids(first) == routed[:2] and _ids(second) == routed[2:]
    assert "第 1 页，共 2 页" in first
    assert 'href="/officer?page=2"' in first
    filtered = client.get("/officer?state=formal_review&page=1").get_data(as_text=True)
    assert "pagination" not in filtered  # one page only: no pager
    assert _ids(client.get("/officer?page=9").get_data(as_text=True)) == []


def test_a_filter_value_that_is_no_choice_is_said_at_the_field(pages, fleet):
    _made, officer, _base, _call = fleet
    response = pages(officer).get("/officer?state=bogus&channel=embassy")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "invalid-feedback" in html
    assert len(_ids(html)) == 1  # the valid filter still applies


def test_compliance_status_is_shown_and_filters(pages, factory):
    running, cast = factory.application("in_progress")
    late, _ = factory.application("in_progress")
    with factory.app.app_context(), db.write_session() as s:
        s.execute(update(Milestone).where(Milestone.application_id == late.id, Milestone.seq == 1)
                  .values(due_date=compliance.today() - dt.timedelta(days=3)))
    client = pages(cast.officer)
    html = client.get("/officer").get_data(as_text=True)
    assert 'data-compliance="on_track">正常履约' in html and 'data-compliance="overdue">逾期' in html
    assert _ids(client.get("/officer?compliance=overdue").get_data(as_text=True)) == [late.id]
    assert _ids(client.get("/officer?compliance=on_track").get_data(as_text=True)) == [running.id]
    english = pages(cast.officer, language="en").get("/officer").get_data(as_text=True)
    assert "On track" in english and "Overdue" in english and "Program officer dashboard" in english
    assert "¥3,000,000" in english


# --- bulk actions -------------------------------------------------------------------------------------


def _reviews(factory, app_id: int) -> set[int]:
    with factory.app.app_context():
        return set(db.session().scalars(select(Review.reviewer_id).where(Review.application_id == app_id)))


def test_bulk_assignment_assigns_and_reports_conflicts_and_wrong_states(pages, factory):
    first, cast = factory.application("expert_review")
    second, _ = factory.application("expert_review")
    screening, _ = factory.application("formal_review")
    expert = factory.user("reviewer", institution=factory.institution())
    insider = factory.user("reviewer", institution=factory.get(Institution, cast.applicant.institution_id))
    client = pages(cast.officer)
    response = client.post("/officer/bulk/assign", {"app_ids": [first.id, second.id],
                                                    "reviewer_ids": [expert.id, insider.id],
                                                    "due_date": "2026-12-31"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/officer")
    assert _reviews(factory, first.id) == {expert.id}  # the insider works at the applicant institution
    assert _reviews(factory, second.id) == {expert.id, insider.id}
    html = client.get("/officer").get_data(as_text=True)
    assert "已完成 3 项评审专家分配" in html
    refused = re.search(r'<div class="alert alert-warning"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert refused.startswith("未能分配") and f"#{first.id}" in refused and "申报单位" in refused
    assert f"#{second.id}" not in refused

    response = client.post("/officer/bulk/assign", {"app_ids": [screening.id, first.id],
                                                    "reviewer_ids": [expert.id]})
    assert response.status_code == 302
    html = client.get("/officer").get_data(as_text=True)
    assert "不在专家评审阶段" in html and "形式审查" in html  # the screening one: reported, not fatal
    assert "1 位评审专家此前已分配" in html
    assert _reviews(factory, screening.id) == set()


def test_a_bulk_assignment_without_choices_is_refused_at_the_fields(pages, factory):
    application, cast = factory.application("expert_review")
    client = pages(cast.officer)
    response = client.post("/officer/bulk/assign", {"reviewer_ids": [cast.reviewers[0].id]})
    assert response.status_code == 422
    assert "请在列表中勾选至少一项申请" in response.get_data(as_text=True)
    response = client.post("/officer/bulk/assign", {"app_ids": [application.id]})
    assert response.status_code == 422
    assert "请至少选择一位评审专家" in response.get_data(as_text=True)
    response = client.post("/officer/bulk/assign", {"app_ids": [application.id],
                                                    "reviewer_ids": [cast.reviewers[0].id]}, csrf=False)
    assert response.status_code == 400
    assert _reviews(factory, application.id) == set()


def test_only_officers_act_in_bulk(pages, factory):
    application, cast = factory.application("expert_review")
    response = pages(cast.applicant).post("/officer/bulk/assign", {"app_ids": [application.id],
                                                                  "reviewer_ids": [cast.reviewers[0].id]})
    assert response.status_code == 403
    assert _reviews(factory, application.id) == set()


def test_a_large_bulk_assignment_runs_as_a_job_with_progress(pages, factory):
    first, cast = factory.application("expert_review")
    second, _ = factory.application("expert_review")
    client = pages(cast.officer)
    pool = [r.id for r in cast.reviewers]
    response = client.post("/officer/bulk/assign", {"app_ids": [first.id, second.id], "reviewer_ids": pool})
    assert response.status_code == 302
    match = re.fullmatch(r"/jobs/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    job_id = int(match.group(1))
    assert _reviews(factory, first.id) == _reviews(factory, second.id) == set(pool)

    status = client.get(f"/jobs/{job_id}/status")
    assert status.status_code == 200 and status.mimetype == "application/json"
    body = status.json
    assert body["finished"] is True and body["failed"] is False
    assert body["done"] == body["total"] == 6 and body["percent"] == 100
    assert body["result"]["assigned"] == 6 and body["result"]["refusals"] == []

    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "分配评审专家" in html and "已完成" in html
    assert 'aria-valuenow="100"' in html and "ff-pct-100" in html
    assert "已完成 6 / 6" in html
    assert 'data-result="assigned">6<' in html
    assert "js/jobs.js" in html


def test_a_running_job_shows_how_far_it_got_and_offers_a_reload(pages, factory):
    officer = factory.user("officer")
    with factory.app.app_context():
        with db.write_session() as s:
            job_id = outbox.stage(s, "assign_reviewers", started_by=officer.id, officer_id=officer.id,
                                  pairs=[[1, 1]] * 6)
        with db.write_session() as s:
            s.execute(update(Outbox).where(Outbox.id == job_id)
                      .values(progress_done=2, progress_total=6, progress_note="application 1: assigned"))
    client = pages(officer)
    body = client.get(f"/jobs/{job_id}/status").json
    assert body == {**body, "done": 2, "total": 6, "finished": False, "failed": False, "percent": 33,
                    "result": None, "note": "application 1: assigned"}
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成 2 / 6" in html and 'aria-valuenow="33"' in html and "ff-pct-35" in html
    assert "进行中" in html
    assert f'href="/jobs/{job_id}" id="ff-job-reload"' in html
    english = pages(officer, language="en").get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "2 of 6 done" in english and "Reload this page" in english


def test_a_job_is_for_its_officer_and_administrators(pages, factory):
    first, cast = factory.application("expert_review")
    owner = pages(cast.officer)
    response = owner.post("/officer/bulk/assign", {"app_ids": [first.id],
                                                   "reviewer_ids": [r.id for r in cast.reviewers]})
    assert response.status_code == 302  # three: done at once, no job
    with factory.app.app_context(), db.write_session() as s:
        job_id = outbox.stage(s, "regenerate_documents", started_by=cast.officer.id, call_id=first.call_id)
    another = pages(factory.user("officer"))
    assert another.get(f"/jobs/{job_id}").status_code == 403
    assert another.get(f"/jobs/{job_id}/status").status_code == 403
    assert pages(factory.user("admin")).get(f"/jobs/{job_id}").status_code == 200
    assert pages(cast.applicant).get(f"/jobs/{job_id}").status_code == 403
    assert owner.get("/jobs/999999").status_code == 404


def test_regenerating_a_calls_documents_is_followed_on_the_job_page(pages, factory):
    approved, cast = factory.application("approved")
    client = pages(cast.officer)
    html = client.get("/officer").get_data(as_text=True)
    assert f'<option value="{approved.call_id}">' in html
    response = client.post("/officer/bulk/regenerate", {"call_id": approved.call_id})
    assert response.status_code == 302
    job_id = int(re.fullmatch(r"/jobs/(\d+)", response.headers["Location"]).group(1))
    body = client.get(f"/jobs/{job_id}/status").json
    assert body["finished"] and body["result"]["total"] == 1 and body["result"]["intact"] == 1
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "按指南核查并恢复专项文书" in html and 'data-result="intact">1<' in html and "文书均完好" in html
    english = pages(cast.officer, language="en").get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Every document is intact." in english
    assert client.post("/officer/bulk/regenerate", {"call_id": 999999}).status_code == 422
