"""Expert review pages: assignments, the scoring form, declining, assigning reviewers, the panel, the ranking."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from flask import render_template

from workflow import db
from workflow.models import Application, Institution, Review
from workflow.services import applications as app_svc
from workflow.web.reviews import panel_context

from ..factories import snapshot

OPINION = "研究目标明确，合作基础扎实，建议资助。"


def _in_review(factory, *, title="中德新能源材料联合研究", call=None, cast=None, assign=3, due=None, declare=True):
    """An application in expert review with `assign` of its cast's reviewers assigned; (app, cast, review ids).

    Each assigned reviewer has declared no conflict (review workflow v2) unless `declare` is False.
    """
    from workflow.services.transitions import fire

    application, cast = factory.application("expert_review", title=title, call=call, cast=cast)
    ids = []
    with factory.app.app_context():
        for reviewer in cast.reviewers[:assign]:
            ids.append(app_svc.assign_reviewer(cast.officer, application.id, reviewer.id, due).id)
            if declare:
                fire(reviewer, "review", ids[-1], "declare_no_conflict")
    return application, cast, ids


def _review(factory, review_id: int) -> Review:
    return factory.get(Review, review_id)


def _submit(client, review_id, score="87.5", opinion=OPINION, recommendation="fund", **extra):
    return client.post(f"/reviews/{review_id}/transitions/submit_review",
                       {"score": score, "opinion": opinion, "recommendation": recommendation, **extra})


def _flashes(client) -> list[str]:
    with client.client.session_transaction() as session:
        return [text for _, text in session.get("_flashes", [])]


# --- access ----------------------------------------------------------------------


def test_a_reviewer_sees_only_their_own_assignments(pages, factory):
    mine, cast, _ = _in_review(factory, title="中德储能材料合作研究", assign=1)
    other, other_cast, _ = _in_review(factory, title="中俄极地冰川观测合作", assign=1)
    html = pages(cast.reviewers[0]).get("/reviews").get_data(as_text=True)
    assert "中德储能材料合作研究" in html
    assert "中俄极地冰川观测合作" not in html
    assert "已确认无利益冲突" in html  # the review's state badge, from states/review_v2.toml
    assert 'href="/reviews/' in html


def test_open_assignments_come_first_and_overdue_ones_are_marked(pages, factory):
    past = dt.date.today() - dt.timedelta(days=3)
    done, cast, done_ids = _in_review(factory, title="已完成评审的项目", assign=1)
    _, _, late_ids = _in_review(factory, title="逾期未评的项目", cast=cast, assign=1, due=past)
    client = pages(cast.reviewers[0], language="en")
    assert _submit(client, done_ids[0]).status_code == 302
    client.get("/reviews")  # shows (and so clears) the flash naming the submitted one
    html = client.get("/reviews").get_data(as_text=True)
    # both are named by their English title here, so the order is read from the links
    assert html.index(f'href="/reviews/{late_ids[0]}"') < html.index(f'href="/reviews/{done_ids[0]}"')
    assert "Overdue" in html
    assert "Submitted and declined" in html


def test_an_assignment_declared_but_not_yet_scored_is_open_and_ordered_by_its_due_date(pages, factory):
    today = dt.date.today()
    _, cast, declared = _in_review(factory, title="已声明无利益冲突待评的项目", assign=1,
                                   due=today + dt.timedelta(days=5))
    _, _, undeclared = _in_review(factory, title="尚未声明的项目", cast=cast, assign=1,
                                  due=today + dt.timedelta(days=20), declare=False)
    assert _review(factory, declared[0]).state == "accepted"
    html = pages(cast.reviewers[0], language="en").get("/reviews").get_data(as_text=True)
    assert html.index(f'href="/reviews/{declared[0]}"') < html.index(f'href="/reviews/{undeclared[0]}"')


def test_another_reviewers_review_is_not_found(pages, factory):
    _, cast, ids = _in_review(factory)
    stranger = factory.user("reviewer", institution=factory.institution())
    client = pages(stranger)
    assert client.get(f"/reviews/{ids[0]}").status_code == 404
    assert _submit(client, ids[0]).status_code == 404
    # and a colleague on the same panel may not open it either
    assert pages(cast.reviewers[1]).get(f"/reviews/{ids[0]}").status_code == 404
    assert _review(factory, ids[0]).state == "accepted"


@pytest.mark.parametrize("role", ["applicant", "recommender", "officer"])
def test_reviewer_pages_refuse_other_roles(pages, factory, role):
    _, cast, ids = _in_review(factory)
    who = {"applicant": cast.applicant, "recommender": cast.recommender, "officer": cast.officer}[role]
    client = pages(who)
    assert client.get("/reviews").status_code == 403
    assert client.get(f"/reviews/{ids[0]}").status_code in (403, 404)
    assert _submit(client, ids[0]).status_code in (403, 404)
    assert _review(factory, ids[0]).state == "accepted"


@pytest.mark.parametrize("role", ["applicant", "recommender", "reviewer"])
def test_the_ranking_is_refused_to_all_but_the_funds_staff(pages, factory, role):
    application, cast, _ = _in_review(factory)
    who = {"applicant": cast.applicant, "recommender": cast.recommender, "reviewer": cast.reviewers[0]}[role]
    assert pages(who).get(f"/calls/{application.call_id}/ranking").status_code == 403


def test_the_review_page_shows_the_application_but_no_other_review(pages, factory):
    application, cast, ids = _in_review(factory)
    with factory.app.app_context():
        from workflow.services.transitions import fire

        fire(cast.reviewers[1], "review", ids[1], "submit_review",
             payload={"score": 61, "opinion": "另一位专家的保密意见", "recommendation": "do_not_fund"})
    html = pages(cast.reviewers[0]).get(f"/reviews/{ids[0]}").get_data(as_text=True)
    assert application.title in html and "Fraunhofer ISE" in html and "面向储能应用" in html
    assert "300.00 万元" in html  # the central funds requested
    assert "另一位专家的保密意见" not in html and cast.reviewers[1].name not in html
    assert 'name="score"' in html and 'type="number"' in html
    assert "建议资助" in html and 'name="recommendation"' in html  # labels.RECOMMENDATIONS
    assert 'data-confirm=' in html
    assert "proposal.pdf" in html  # the proposal, for download
    proposal = next(a for a in factory.reload(application.id).attachments if a.kind == "proposal")
    assert f'href="/applications/{application.id}/attachments/{proposal.id}"' in html


# --- submitting --------------------------------------------------------------------


def test_submitting_a_review_through_the_page(pages, factory):
    application, cast, ids = _in_review(factory)
    client = pages(cast.reviewers[0])
    response = _submit(client, ids[0], score="87.5", recommendation="fund_with_changes",
                       version=str(_review(factory, ids[0]).version))
    assert response.status_code == 302 and response.headers["Location"] == "/reviews"
    review = _review(factory, ids[0])
    assert (review.state, review.score, review.opinion, review.recommendation) == \
        ("submitted", 87.5, OPINION, "fund_with_changes")
    assert isinstance(review.score, float)
    assert any("已提交" in text for text in _flashes(client))
    assert factory.get(Application, application.id).state == "expert_review"  # 1 of 3


def test_the_review_that_completes_the_quorum_closes_expert_review(pages, factory):
    application, cast, ids = _in_review(factory)
    for reviewer, review_id, score in zip(cast.reviewers, ids, ("80", "85", "90")):
        assert _submit(pages(reviewer), review_id, score=score).status_code == 302
    assert factory.get(Application, application.id).state == "decision_pending"
    assert [r.score for r in factory.reload(application.id).reviews] == [80, 85, 90]


@pytest.mark.parametrize("score", ["abc", "101", "-1", "", "nan"])
def test_a_bad_score_is_told_at_the_field_and_changes_nothing(pages, factory, score):
    application, cast, ids = _in_review(factory)
    before = snapshot(factory, application.id, "review", ids[0])
    response = _submit(pages(cast.reviewers[0]), ids[0], score=score, opinion="我写下的意见")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请填写 0 到 100 之间的分数" in html
    assert re.search(r'name="score"[^>]*is-invalid|is-invalid[^>]*name="score"', html)
    assert "我写下的意见" in html  # what was typed stays
    if score:
        assert f'value="{score}"' in html
    assert snapshot(factory, application.id, "review", ids[0]) == before


def test_a_bad_score_in_english(pages, factory):
    _, cast, ids = _in_review(factory)
    response = _submit(pages(cast.reviewers[0], language="en"), ids[0], score="101")
    assert response.status_code == 422
    assert "Enter a score from 0 to 100." in response.get_data(as_text=True)


def test_a_missing_opinion_and_recommendation_are_told_at_their_fields(pages, factory):
    application, cast, ids = _in_review(factory)
    before = snapshot(factory, application.id, "review", ids[0])
    response = _submit(pages(cast.reviewers[0]), ids[0], score="80", opinion="", recommendation="maybe")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请填写评审意见" in html and "请选择评审建议" in html
    assert snapshot(factory, application.id, "review", ids[0]) == before


def test_a_stale_version_says_so_and_keeps_the_opinion(pages, factory):
    application, cast, ids = _in_review(factory)
    before = snapshot(factory, application.id, "review", ids[0])
    response = _submit(pages(cast.reviewers[0]), ids[0], opinion="保留我的意见", version="99")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "他人已先行操作" in html and "保留我的意见" in html
    assert snapshot(factory, application.id, "review", ids[0]) == before


def test_a_review_after_expert_review_closed_is_refused_with_the_reason(pages, factory):
    application, cast, ids = _in_review(factory)
    with factory.app.app_context():
        from workflow.services.transitions import fire

        fire(cast.applicant, "application", application.id, "withdraw")
    client = pages(cast.reviewers[0])
    html = client.get(f"/reviews/{ids[0]}").get_data(as_text=True)
    assert "disabled" in html and 'class="ff-why"' in html
    before = snapshot(factory, application.id, "review", ids[0])
    assert _submit(client, ids[0]).status_code == 409
    assert snapshot(factory, application.id, "review", ids[0]) == before


# --- declining ----------------------------------------------------------------------


def test_declining_needs_the_conflict_named(pages, factory):
    application, cast, ids = _in_review(factory)
    before = snapshot(factory, application.id, "review", ids[0])
    response = pages(cast.reviewers[0]).post(f"/reviews/{ids[0]}/transitions/decline", {"comment": "  "})
    assert response.status_code == 422
    assert "请说明利益冲突情况" in response.get_data(as_text=True)
    assert snapshot(factory, application.id, "review", ids[0]) == before


def test_declining_with_the_conflict_named_hides_the_application(pages, factory):
    application, cast, ids = _in_review(factory)
    client = pages(cast.reviewers[0])
    response = client.post(f"/reviews/{ids[0]}/transitions/decline", {"comment": "近三年与申报团队合作发表论文"})
    assert response.status_code == 302 and response.headers["Location"] == "/reviews"
    assert _review(factory, ids[0]).state == "declined"
    assert client.get(f"/reviews/{ids[0]}").status_code == 404
    assert client.get(f"/applications/{application.id}").status_code == 404
    html = client.get("/reviews").get_data(as_text=True)
    assert "已回避" in html and f'href="/reviews/{ids[0]}"' not in html


def test_an_unknown_trigger_is_not_found(pages, factory):
    _, cast, ids = _in_review(factory)
    assert pages(cast.reviewers[0]).post(f"/reviews/{ids[0]}/transitions/close_review").status_code == 404


# --- assigning ----------------------------------------------------------------------


def test_an_officer_assigns_two_at_once_and_a_conflicted_one_is_refused(pages, factory):
    application, cast, _ = _in_review(factory, assign=0)
    conflicted = factory.user("reviewer", institution=factory.institution(name="Fraunhofer ISE"))
    client = pages(cast.officer)
    due = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    response = client.post(f"/applications/{application.id}/reviews", {
        "reviewer_ids": [str(cast.reviewers[0].id), str(cast.reviewers[1].id), str(conflicted.id)], "due_date": due})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/applications/{application.id}"
    reviews = factory.reload(application.id).reviews
    assert sorted(r.reviewer_id for r in reviews) == sorted([cast.reviewers[0].id, cast.reviewers[1].id])
    assert all(r.due_date.isoformat() == due for r in reviews)
    flashes = " ".join(_flashes(client))
    assert cast.reviewers[0].name in flashes and cast.reviewers[1].name in flashes
    assert conflicted.name in flashes and "评审专家所在单位是项目合作单位" in flashes


def test_assigning_only_refused_reviewers_changes_nothing_and_says_why(pages, factory):
    application, cast, _ = _in_review(factory, assign=0)
    own = factory.user("reviewer", institution=factory.get(Institution, application.institution_id))
    client = pages(cast.officer, language="en")
    before = snapshot(factory, application.id)
    response = client.post(f"/applications/{application.id}/reviews", {"reviewer_ids": [str(own.id)]})
    assert response.status_code == 409
    assert "the reviewer belongs to the applicant institution" in response.get_data(as_text=True)
    assert snapshot(factory, application.id) == before


def test_assigning_without_choosing_anyone_is_refused(pages, factory):
    application, cast, _ = _in_review(factory, assign=0)
    before = snapshot(factory, application.id)
    response = pages(cast.officer).post(f"/applications/{application.id}/reviews", {"reviewer_ids": []})
    assert response.status_code == 422
    assert snapshot(factory, application.id) == before


@pytest.mark.parametrize("role", ["applicant", "recommender", "reviewer"])
def test_only_the_funds_staff_assign(pages, factory, role):
    application, cast, _ = _in_review(factory, assign=0)
    who = {"applicant": cast.applicant, "recommender": cast.recommender, "reviewer": cast.reviewers[0]}[role]
    response = pages(who).post(f"/applications/{application.id}/reviews",
                               {"reviewer_ids": [str(cast.reviewers[1].id)]})
    assert response.status_code in (403, 404)
    assert factory.reload(application.id).reviews == []


# --- the panel of the application page -------------------------------------------------


def _panel(app, factory, actor, app_id, language="zh") -> str:
    with app.test_request_context("/", headers={"Cookie": f"fundflow_lang={language}"}):
        application = db.session().get(Application, app_id)
        return render_template("reviews/_panel.html", **panel_context(actor, application))


def test_the_officers_panel_offers_the_pool_with_conflicts_disabled(app, factory):
    application, cast, _ = _in_review(factory, assign=1)
    conflicted = factory.user("reviewer", institution=factory.institution(name="Fraunhofer ISE"))
    html = _panel(app, factory, cast.officer, application.id)
    assert "已收到 0 份评审意见（需 3 份）" in html
    assert cast.reviewers[0].name in html  # on the panel, with their institution
    assert re.search(rf'value="{conflicted.id}" id="reviewer-{conflicted.id}" disabled', html)
    assert "评审专家所在单位是项目合作单位" in html
    assert re.search(rf'value="{cast.reviewers[1].id}" id="reviewer-{cast.reviewers[1].id}">', html)
    assert 'action="/applications/%d/reviews"' % application.id in html
    english = _panel(app, factory, cast.officer, application.id, "en")
    assert "0 of 3 reviews in" in english and "Assign reviewers" in english


def test_the_pool_puts_field_matches_first_then_the_lightest_load(app, factory):
    application, cast, _ = _in_review(factory, assign=0)
    r0, r1, r2 = cast.reviewers
    fresh = factory.user("reviewer", institution=factory.institution())
    # All three are on an earlier panel in the same field (of another institution: a review of this one's
    # would be a conflict of interest); only r2 has submitted there.
    elsewhere = dataclasses.replace(cast, applicant=factory.user("applicant"))
    _, _, ids = _in_review(factory, cast=elsewhere, title="早先的能源项目", assign=3)
    with app.app_context():
        from workflow.services.transitions import fire

        fire(r2, "review", ids[2], "submit_review", payload={"score": 80, "opinion": "好", "recommendation": "fund"})
    with app.test_request_context("/"):
        from workflow.services.reviews import reviewer_pool

        pool = reviewer_pool(cast.officer, db.session().get(Application, application.id))
    ours = [c.reviewer.id for c in pool if c.reviewer.id in {r0.id, r1.id, r2.id, fresh.id}]
    assert ours == [r2.id, fresh.id, r0.id, r1.id]
    by_id = {c.reviewer.id: c for c in pool}
    assert (by_id[r2.id].field_reviews, by_id[r2.id].load) == (1, 0)
    assert (by_id[r0.id].field_reviews, by_id[r0.id].load) == (0, 1)


def test_a_reviewer_sees_only_their_own_review_on_the_panel(app, factory):
    application, cast, ids = _in_review(factory)
    html = _panel(app, factory, cast.reviewers[0], application.id)
    assert f'/reviews/{ids[0]}' in html and f'/reviews/{ids[1]}' not in html
    assert cast.reviewers[1].name not in html and "reviewer_ids" not in html


def test_the_applicant_reads_opinions_only_after_the_decision_and_without_names(app, factory):
    pending, cast = factory.application("decision_pending")
    html = _panel(app, factory, cast.applicant, pending.id)
    assert "研究目标明确" not in html and "立项决定" in html
    approved, cast = factory.application("approved")
    html = _panel(app, factory, cast.applicant, approved.id)
    assert html.count("研究目标明确，合作基础扎实。") == 3 and "建议资助" in html
    for reviewer in cast.reviewers:
        assert reviewer.name not in html and reviewer.email not in html
    assert "ff-review-table" not in html  # no table of reviewers and scores
    rejected, cast = factory.application("rejected")
    assert "研究目标明确" in _panel(app, factory, cast.applicant, rejected.id)
    english = _panel(app, factory, cast.applicant, rejected.id, "en")
    assert "Expert opinion 1" in english and "Score" not in english


def test_recommenders_see_no_reviews(app, factory):
    approved, cast = factory.application("approved")
    assert _panel(app, factory, cast.recommender, approved.id).strip() == ""


# --- the ranking ------------------------------------------------------------------------


def test_the_ranking_lists_the_calls_reviewed_applications_best_first(pages, factory, api):
    call = factory.call()
    weaker, cast = factory.application("decision_pending", call=call, title="评分较低的项目")
    stronger, _, ids = _in_review(factory, call=call, title="评分较高的项目", assign=1)
    assert _submit(pages(_reviewer_of(factory, ids[0])), ids[0], score="99").status_code == 302
    html = pages(cast.officer).get(f"/calls/{call.id}/ranking").get_data(as_text=True)
    assert html.index("评分较高的项目") < html.index("评分较低的项目")
    assert f'href="/applications/{stronger.id}"' in html
    assert "99.00" in html and "300.00 万元" in html and "专家评审" in html
    assert f'<option value="{call.id}" selected' in html
    ranked = api(cast.officer).get(f"/calls/{call.id}/ranking").get_json()["items"]
    assert [r["application_id"] for r in ranked] == [stronger.id, weaker.id]
    english = pages(cast.officer, language="en").get(f"/calls/{call.id}/ranking").get_data(as_text=True)
    assert "Ranking of the expert review" in english and "¥3,000,000" in english


def test_the_call_selector_goes_to_the_chosen_call(pages, factory):
    admin = factory.user("admin")
    first, second = factory.call(), factory.call()
    response = pages(admin).get(f"/calls/{first.id}/ranking?call_id={second.id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/calls/{second.id}/ranking"
    assert pages(admin).get("/calls/999999/ranking").status_code == 404


def _reviewer_of(factory, review_id):
    from workflow.permissions import Actor
    from workflow.models import User

    review = _review(factory, review_id)
    return Actor.of(factory.get(User, review.reviewer_id))


# --- languages ---------------------------------------------------------------------------


@pytest.mark.parametrize("language, texts", [
    ("zh", ("我的评审", "待评审", "评审意见", "回避", "评分")),
    ("en", ("My reviews", "To review", "Opinion", "Decline this review", "Score (0–100)")),
])
def test_the_reviewer_pages_in_chinese_and_english(pages, factory, language, texts):
    _, cast, ids = _in_review(factory)
    client = pages(cast.reviewers[0], language=language)
    listing = client.get("/reviews")
    page = client.get(f"/reviews/{ids[0]}")
    assert listing.status_code == page.status_code == 200
    html = listing.get_data(as_text=True) + page.get_data(as_text=True)
    lang = "zh-CN" if language == "zh" else "en"
    assert f'<html lang="{lang}">' in html
    for text in texts:
        assert text in html, text
    assert "style=" not in html and "<script>" not in html


def test_the_officer_reaches_the_calls_ranking_from_the_application_and_the_dashboard(factory, pages):
    application, cast = factory.application("expert_review")
    officer = pages(cast.officer)
    ranking = f"/calls/{application.call_id}/ranking"
    assert f'href="{ranking}"' in officer.get(f"/applications/{application.id}").get_data(as_text=True)
    assert f'href="{ranking}"' in officer.get(f"/officer?call_id={application.call_id}").get_data(as_text=True)
    assert f'href="{ranking}"' not in pages(cast.applicant).get(f"/applications/{application.id}").get_data(
        as_text=True)
