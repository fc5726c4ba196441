"""The reviewer's pages under review workflow v2 (declaration, scoring per criterion), the ranking and the rubric pages."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from workflow import db
from workflow.models import ConflictDeclaration, Review, Rubric
from workflow.services import applications as app_svc
from workflow.services.transitions import fire

from ..factories import snapshot

OPINION = "研究目标明确，合作基础扎实，建议资助。"
GOOD = {"score_fit": "16", "score_cooperation": "14", "score_innovation": "24.5", "score_feasibility": "12",
        "score_outcomes": "9"}


def _assigned(factory, *, declare=False, title="中德储能材料联合研究"):
    """An application under a call with the default rubric, its first reviewer assigned (and declared)."""
    call = factory.rubric_call()
    application, cast = factory.application("expert_review", call=call, title=title)
    with factory.app.app_context():
        review = app_svc.assign_reviewer(cast.officer, application.id, cast.reviewers[0].id)
        if declare:
            fire(cast.reviewers[0], "review", review.id, "declare_no_conflict")
    return application, cast, review.id


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- the declaration ---------------------------------------------------------------------


def test_before_the_declaration_the_page_shows_only_what_judges_a_conflict(pages, factory):
    application, cast, review_id = _assigned(factory)
    client = pages(cast.reviewers[0])
    html = _html(client.get(f"/reviews/{review_id}"))
    assert application.title in html and "Fraunhofer ISE" in html and "能源与资源" in html
    assert application.summary not in html and "proposal.pdf" not in html and "300.00 万元" not in html
    assert 'name="no_conflict"' in html and 'type="checkbox"' in html
    assert 'name="comment"' in html and 'name="conflict_with"' in html  # declining, with the conflict named
    assert 'name="score_fit"' not in html
    assert "确认无利益冲突" in html
    # the application page and the proposal itself wait for the declaration too
    detail = client.get(f"/applications/{application.id}")
    assert detail.status_code == 302 and detail.headers["Location"] == f"/reviews/{review_id}"
    proposal = next(a for a in factory.reload(application.id).attachments if a.kind == "proposal")
    assert client.get(f"/applications/{application.id}/attachments/{proposal.id}").status_code == 403


def test_the_declaration_needs_the_box_ticked_and_is_told_in_chinese(pages, factory):
    application, cast, review_id = _assigned(factory)
    client = pages(cast.reviewers[0])
    before = snapshot(factory, application.id, "review", review_id)
    response = client.post(f"/reviews/{review_id}/transitions/declare_no_conflict", {})
    assert response.status_code == 422
    assert "请勾选声明后继续，或申请回避。" in _html(response)
    assert snapshot(factory, application.id, "review", review_id) == before


def test_declaring_opens_the_proposal_and_the_scoring_form_per_criterion(pages, factory):
    application, cast, review_id = _assigned(factory)
    client = pages(cast.reviewers[0])
    response = client.post(f"/reviews/{review_id}/transitions/declare_no_conflict", {"no_conflict": "y"})
    assert response.status_code == 302 and response.headers["Location"] == f"/reviews/{review_id}"
    review = factory.get(Review, review_id)
    assert review.state == "accepted" and review.declared_at is not None and review.rubric_id is not None
    html = _html(client.get(f"/reviews/{review_id}"))
    assert application.summary in html and "proposal.pdf" in html and "300.00 万元" in html
    for key, high in (("fit", 20), ("cooperation", 20), ("innovation", 30), ("feasibility", 15), ("outcomes", 15)):
        assert re.search(rf'name="score_{key}"[^>]*|[^<]*name="score_{key}"', html)
        assert f'max="{high}"' in html
    assert "与重点领域和国家需求的契合度" in html and "权重 20%" in html
    assert 'name="score"' not in html
    assert client.get(f"/applications/{application.id}").status_code == 200


def test_declining_with_the_conflict_named_records_the_declaration(pages, factory):
    application, cast, review_id = _assigned(factory)
    client = pages(cast.reviewers[0])
    response = client.post(f"/reviews/{review_id}/transitions/decline",
                           {"comment": "本人为申报单位兼职教授。", "conflict_with": "institution"})
    assert response.status_code == 302 and response.headers["Location"] == "/reviews"
    with factory.app.app_context():
        declared = db.session().scalars(select(ConflictDeclaration)).one()
        assert (declared.institution_id, declared.application_id) == (application.institution_id, application.id)
    assert client.get(f"/reviews/{review_id}").status_code == 404


# --- scoring ---------------------------------------------------------------------------


def test_scoring_per_criterion_through_the_page(pages, factory):
    application, cast, review_id = _assigned(factory, declare=True)
    client = pages(cast.reviewers[0])
    response = client.post(f"/reviews/{review_id}/transitions/submit_review",
                           {**GOOD, "opinion": OPINION, "recommendation": "fund"})
    assert response.status_code == 302, _html(response)
    review = factory.get(Review, review_id)
    assert review.state == "submitted" and review.score == 75.5
    assert review.scores == {"fit": 16, "cooperation": 14, "innovation": 24.5, "feasibility": 12, "outcomes": 9}
    html = _html(client.get(f"/reviews/{review_id}"))
    assert "加权总分（0–100）" in html and "75.5" in html


@pytest.mark.parametrize("language, messages", [
    ("zh", ["请输入 0 至 30 之间的分数。", "请输入 0 至 20 之间的分数。", "请输入 0 至 15 之间的分数。"]),
    ("en", ["Enter a score from 0 to 30.", "Enter a score from 0 to 20.", "Enter a score from 0 to 15."]),
])
def test_bad_scores_are_told_at_their_criterion_and_change_nothing(pages, factory, language, messages):
    application, cast, review_id = _assigned(factory, declare=True)
    client = pages(cast.reviewers[0], language=language)
    before = snapshot(factory, application.id, "review", review_id)
    sent = {**GOOD, "score_innovation": "31", "score_fit": "很好", "score_outcomes": ""}
    response = client.post(f"/reviews/{review_id}/transitions/submit_review",
                           {**sent, "opinion": OPINION, "recommendation": "fund"})
    assert response.status_code == 422
    html = _html(response)
    for message in messages:
        assert message in html
    for key in ("innovation", "fit", "outcomes"):
        assert re.search(rf'name="score_{key}"[^>]*is-invalid|is-invalid[^>]*name="score_{key}"', html), key
    assert not re.search(r'name="score_cooperation"[^>]*is-invalid|is-invalid[^>]*name="score_cooperation"', html)
    assert 'value="31"' in html and 'value="很好"' in html  # what was typed stays in the box
    assert OPINION in html
    assert snapshot(factory, application.id, "review", review_id) == before


def test_a_rubric_changed_while_the_form_was_open_still_scores_against_the_reviews_own(pages, factory, api):
    application, cast, review_id = _assigned(factory, declare=True)
    admin = api(factory.user("admin"))
    two = [{"key": "merit", "label": "学术价值", "label_en": "Merit", "weight": 1, "min": 0, "max": 10}]
    assert admin.client.put(f"/api/v1/calls/{application.call_id}/rubric", json={"criteria": two},
                            headers=admin._headers()).status_code == 200
    client = pages(cast.reviewers[0])
    html = _html(client.get(f"/reviews/{review_id}"))
    assert 'name="score_fit"' in html and 'name="score_merit"' not in html
    response = client.post(f"/reviews/{review_id}/transitions/submit_review",
                           {**GOOD, "opinion": OPINION, "recommendation": "fund"})
    assert response.status_code == 302 and factory.get(Review, review_id).score == 75.5


# --- the ranking page --------------------------------------------------------------------


def _ranked_call(factory, api):
    """Two applications of one call reviewed: one agreed, one with a split panel."""
    call = factory.rubric_call(total_budget=4_000_000)
    out = {}
    for key, title, totals in (("agreed", "中德储能材料联合研究", ((90, "fund"), (86, "fund"), (88, "fund"))),
                               ("split", "中法疫苗联合研发", ((92, "fund"), (85, "fund"), (58, "do_not_fund")))):
        application, cast = factory.application("expert_review", call=call, title=title)
        officer = api(cast.officer)
        for reviewer, (total, recommendation) in zip(cast.reviewers, totals):
            rid = officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": reviewer.id}).json["id"]
            client = api(reviewer)
            path = f"/applications/{application.id}/reviews/{rid}/transitions"
            assert client.post(f"{path}/declare_no_conflict").status_code == 200
            scores = {"fit": 20, "cooperation": 20, "innovation": 30, "feasibility": 15, "outcomes": 15}
            scores["innovation"] -= 100 - total if total >= 70 else 30
            if total < 70:
                scores["fit"] -= 70 - total
            assert client.post(f"{path}/submit_review", json={"scores": scores, "opinion": "意见",
                                                               "recommendation": recommendation}).status_code == 200
        out[key] = application
        out["cast"] = cast
    return call, out


@pytest.mark.parametrize("language, texts", [
    ("zh", ["意见分歧", "分差超过 20 分", "同时有“建议资助”和“不建议资助”", "导出 CSV", "评审结果汇总表（PDF）",
            "指南经费总额 400.00 万元 可覆盖此线以上项目的申请经费。", "累计申请经费"]),
    ("en", ["Reviewers disagree", "spread over 20 points", "Export CSV", "Review summary (PDF)", "Running total"]),
])
def test_the_ranking_page_flags_the_disagreement_and_draws_the_budget_line(pages, factory, api, language, texts):
    call, apps = _ranked_call(factory, api)
    html = _html(pages(apps["cast"].officer, language=language).get(f"/calls/{call.id}/ranking"))
    for text in texts:
        assert text in html, text
    agreed, split = (f'href="/applications/{apps[k].id}"' for k in ("agreed", "split"))
    assert html.index(agreed) < html.index("ff-budget-line") < html.index(split)
    assert html.count("ff-disagreement") == 1
    assert f'href="/calls/{call.id}/ranking.csv"' in html and f'href="/calls/{call.id}/ranking.pdf"' in html


def test_the_ranking_page_filters_and_exports(pages, factory, api):
    call, apps = _ranked_call(factory, api)
    client = pages(apps["cast"].officer)
    html = _html(client.get(f"/calls/{call.id}/ranking?field=biology_health"))
    assert "中德储能材料联合研究" not in html and "中法疫苗联合研发" not in html
    assert 'value="biology_health" selected' in html
    csv = client.get(f"/calls/{call.id}/ranking.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and "中法疫苗联合研发" in csv.get_data(as_text=True)
    pdf = client.get(f"/calls/{call.id}/ranking.pdf?channel=intergovernmental")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    for path in ("ranking.csv", "ranking.pdf"):
        assert pages(apps["cast"].reviewers[0]).get(f"/calls/{call.id}/{path}").status_code == 403


# --- the rubric page ---------------------------------------------------------------------


def _rows(criteria) -> dict:
    data = {}
    for i, c in enumerate(criteria):
        for name in ("key", "label", "label_en", "weight", "min", "max"):
            data[f"criteria-{i}-{name}"] = str(c[name])
    return data


TWO = [{"key": "merit", "label": "学术价值", "label_en": "Merit", "weight": 0.6, "min": 0, "max": 10},
       {"key": "reach", "label": "影响范围", "label_en": "Reach", "weight": 0.4, "min": 1, "max": 5}]


def test_an_admin_saves_a_new_rubric_version_from_the_page(pages, factory):
    call = factory.rubric_call()
    client = pages(factory.user("admin"))
    html = _html(client.get(f"/calls/{call.id}/rubric"))
    assert 'value="innovation"' in html and "第 1 版" in html
    response = client.post(f"/calls/{call.id}/rubric", {**_rows(TWO), "criteria-2-key": ""})
    assert response.status_code == 302, _html(response)
    with factory.app.app_context():
        versions = db.session().scalars(select(Rubric).where(Rubric.call_id == call.id).order_by(Rubric.version)).all()
        assert [v.version for v in versions] == [1, 2] and [c["key"] for c in versions[1].criteria] == ["merit", "reach"]
    assert "第 2 版" in _html(client.get(f"/calls/{call.id}/rubric"))


@pytest.mark.parametrize("change, message", [
    ({"criteria-1-weight": "0.5"}, "各项权重之和须为 1"),
    ({"criteria-1-key": "merit"}, "另一项指标已使用此代码"),
    ({"criteria-0-min": "10"}, "须小于最高分"),
    ({"criteria-0-weight": "很多"}, "须为大于 0 的数字"),
])
def test_a_bad_rubric_is_told_at_the_row_in_chinese_and_saves_nothing(pages, factory, change, message):
    call = factory.rubric_call()
    client = pages(factory.user("admin"))
    response = client.post(f"/calls/{call.id}/rubric", {**_rows(TWO), **change})
    assert response.status_code == 422
    assert message in _html(response)
    with factory.app.app_context():
        assert len(db.session().scalars(select(Rubric).where(Rubric.call_id == call.id)).all()) == 1


def test_officers_read_the_rubric_and_only_admins_change_it(pages, factory):
    call = factory.rubric_call()
    officer = pages(factory.user("officer"))
    html = _html(officer.get(f"/calls/{call.id}/rubric"))
    assert "创新性与技术先进性" in html and 'name="criteria-0-key"' not in html
    assert officer.post(f"/calls/{call.id}/rubric", _rows(TWO)).status_code == 403
    assert pages(factory.user("reviewer")).get(f"/calls/{call.id}/rubric").status_code == 403


# --- the officer closes with fewer reviews -------------------------------------------------


def test_an_officer_closing_below_the_quorum_is_asked_for_the_reason(pages, factory, api):
    application, cast, review_id = _assigned(factory, declare=True)
    assert api(cast.reviewers[0]).post(
        f"/applications/{application.id}/reviews/{review_id}/transitions/submit_review",
        json={"scores": {"fit": 16, "cooperation": 14, "innovation": 24, "feasibility": 12, "outcomes": 9},
              "opinion": "意见", "recommendation": "fund"}).status_code == 200
    client = pages(cast.officer)
    before = snapshot(factory, application.id)
    response = client.post(f"/applications/{application.id}/transitions/close_review", {"close_review-comment": ""})
    assert response.status_code == 422
    assert "已收到 1 份评审意见（法定 3 份）：提前结束评审须说明理由。" in _html(response)
    assert snapshot(factory, application.id) == before
    response = client.post(f"/applications/{application.id}/transitions/close_review",
                           {"close_review-comment": "两位专家无法按期评审，依一份意见提交立项会。"})
    assert response.status_code == 302, re.findall(r'alert[^>]*>([^<]*)', _html(response))
    assert factory.reload(application.id).state == "decision_pending"
