"""The application page: who sees it, the actions panel from actions(), firing through the page, documents."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import snapshot
from workflow import db
from workflow.jobs import issue_document
from workflow.models import Document, Event


def _html(response) -> str:
    return response.get_data(as_text=True)


def _forms(html: str) -> set[str]:
    """The triggers the page offers as forms (allowed, inline)."""
    return set(re.findall(r'<form class="ff-action" method="post" data-trigger="([a-z_]+)"', html))


def _refused(html: str) -> set[str]:
    return set(re.findall(r'class="ff-action ff-action-refused" data-trigger="([a-z_]+)"', html))


def _textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return match.group(1).strip()


def _version(html: str, trigger: str) -> str:
    return re.search(rf'name="{trigger}-version" type="hidden" value="(\d+)"', html).group(1)


def _fire(client, app_id, trigger, **fields):
    data = {f"{trigger}-{k}": v for k, v in fields.items()}
    return client.post(f"/applications/{app_id}/transitions/{trigger}", data)


# --- who sees the page ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["applicant", "recommender", "officer", "reviewer", "admin"])
def test_every_role_sees_an_application_it_may_see(factory, pages, role):
    application, cast = factory.application("decision_pending")
    who = {"applicant": cast.applicant, "recommender": cast.recommender, "officer": cast.officer,
           "reviewer": cast.reviewers[0], "admin": None}[role] or factory.user("admin")

    response = pages(who).get(f"/applications/{application.id}")

    assert response.status_code == 200
    html = _html(response)
    assert application.title in html and application.title_en in html
    assert 'data-state="decision_pending"' in html
    assert "Fraunhofer ISE" in html and "德国" in html  # partner with its country label
    assert "300.00 万元" in html and "450.00 万元" in html  # central funds and the total
    assert 'class="ff-diagram"' in html and "ff-current" in html


@pytest.mark.parametrize("who", ["other_institution", "other_body", "unassigned_reviewer"])
def test_those_who_may_not_see_it_get_404(factory, pages, who):
    application, _ = factory.application("decision_pending")
    actor = {"other_institution": lambda: factory.user("applicant"),
             "other_body": lambda: factory.user("recommender"),
             "unassigned_reviewer": lambda: factory.user("reviewer", institution=factory.institution())}[who]()

    response = pages(actor).get(f"/applications/{application.id}")

    assert response.status_code == 404
    assert application.title not in _html(response)


def test_an_officer_does_not_see_an_unrouted_draft(factory, pages):
    application, cast = factory.application("draft")
    assert pages(cast.officer).get(f"/applications/{application.id}").status_code == 404
    assert pages(cast.applicant).get(f"/applications/{application.id}").status_code == 200


def test_signing_in_is_needed(factory, pages):
    application, _ = factory.application("pending_recommendation")
    response = pages().get(f"/applications/{application.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the actions panel comes from actions() ---------------------------------------------------------


def test_buttons_are_exactly_what_actions_allows(factory, pages):
    application, cast = factory.application("pending_recommendation")
    path = f"/applications/{application.id}"

    recommender = _html(pages(cast.recommender).get(path))
    applicant = _html(pages(cast.applicant).get(path))
    officer = _html(pages(cast.officer).get(path))

    assert _forms(recommender) == {"recommend", "decline_recommendation", "return_for_revision"}
    assert _forms(applicant) == {"withdraw"}
    assert _forms(officer) == set() and "ff-action" not in officer.split('id="actions-h"')[1].split("</section>")[0] \
        .replace("ff-actions-panel", "")
    assert "您目前在此申报上无需办理任何事项" in officer
    # A required reason is labelled and required; destructive buttons ask first.
    assert re.search(r'<label class="form-label" for="recommend-comment">理由（必填）</label>', recommender)
    assert re.search(r'<textarea[^>]*name="recommend-comment"[^>]*required', recommender)
    assert re.search(r'data-confirm="[^"]+"[^>]*>不予推荐</button>', recommender)
    assert re.search(r'data-confirm="[^"]+"[^>]*>撤回</button>', applicant)
    assert not re.search(r'data-confirm="[^"]+"[^>]*>推荐</button>', recommender)
    assert 'name="csrf_token"' in recommender


def test_a_refused_action_is_a_disabled_button_with_its_reason(factory, pages):
    application, cast = factory.application("expert_review")  # no reviews are in yet

    html = _html(pages(cast.officer).get(f"/applications/{application.id}"))

    assert "close_review" in _refused(html)
    block = html.split('data-trigger="close_review"')[1].split("</div>")[0]
    assert "disabled" in block and "结束评审" in block
    assert re.search(r'class="ff-why"[^>]*>[^<]*尚未收到任何评审意见，不能结束专家评审', block)
    english = _html(pages(cast.officer, language="en").get(f"/applications/{application.id}"))
    block = english.split('data-trigger="close_review"')[1].split("</div>")[0]
    assert re.search(r'class="ff-why"[^>]*>[^<]*No review is in yet: expert review cannot close', block)


def test_sign_agreement_is_a_link_to_the_agreement_page(factory, pages):
    application, cast = factory.application("approved")
    html = _html(pages(cast.applicant).get(f"/applications/{application.id}"))
    assert f'href="/applications/{application.id}/agreement"' in html
    assert "sign_agreement" not in _forms(html)
    # What the agreement page takes is still missing: the link says so, it is not a dead button.
    assert "尚需：" in html and "请先上传已签署的项目任务书" in html


def test_the_applicant_may_edit_a_returned_application(factory, pages):
    application, cast = factory.application("revision_requested")
    html = _html(pages(cast.applicant).get(f"/applications/{application.id}"))
    assert f'href="/applications/{application.id}/edit"' in html
    assert _forms(html) == {"resubmit", "withdraw"}


# --- firing through the page ------------------------------------------------------------------------


def test_recommending_with_a_comment_moves_the_state(factory, pages, api):
    application, cast = factory.application("pending_recommendation")
    client = pages(cast.recommender)
    version = _version(_html(client.get(f"/applications/{application.id}")), "recommend")

    response = _fire(client, application.id, "recommend", comment="材料齐全，同意推荐。", version=version)

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/applications/{application.id}")
    assert factory.reload(application.id).state == "formal_review"
    data = api(cast.recommender).get(f"/applications/{application.id}/history").get_json()
    assert data["items"][-1]["trigger"] == "recommend" and data["items"][-1]["comment"] == "材料齐全，同意推荐。"
    page = _html(client.get(f"/applications/{application.id}"))
    assert "已完成：推荐。" in page and "材料齐全，同意推荐。" in page


def test_recommending_without_a_comment_shows_the_message_at_the_field(factory, pages):
    application, cast = factory.application("pending_recommendation")
    before = snapshot(factory, application.id)

    response = _fire(pages(cast.recommender), application.id, "recommend", comment="  ",
                     version=application.version)

    assert response.status_code == 422
    html = _html(response)
    assert re.search(r'name="recommend-comment"[^>]*class="[^"]*is-invalid', html) or \
        re.search(r'class="[^"]*is-invalid[^"]*"[^>]*name="recommend-comment"', html)
    assert re.search(r'invalid-feedback[^>]*>\s*必填', html)
    assert snapshot(factory, application.id) == before


def test_a_wrong_role_gets_403_and_nothing_changes(factory, pages):
    application, cast = factory.application("pending_recommendation")
    before = snapshot(factory, application.id)

    response = _fire(pages(cast.applicant), application.id, "recommend", comment="自己推荐自己")

    assert response.status_code == 403
    assert "您的角色不能进行“推荐”操作" in _html(response)
    assert snapshot(factory, application.id) == before


def test_a_stale_version_says_someone_acted_first_and_keeps_the_comment(factory, pages):
    application, cast = factory.application("pending_recommendation")
    before = snapshot(factory, application.id)

    response = _fire(pages(cast.recommender), application.id, "return_for_revision",
                     comment="请补充合作协议原件。", version=application.version - 1)

    assert response.status_code == 409
    html = _html(response)
    assert "已有其他人先行办理" in html
    assert f'href="/applications/{application.id}"' in html  # the reload link
    assert _textarea(html, "return_for_revision-comment") == "请补充合作协议原件。"
    assert snapshot(factory, application.id) == before


def test_a_missing_csrf_token_changes_nothing(factory, pages):
    application, cast = factory.application("pending_recommendation")
    before = snapshot(factory, application.id)
    response = pages(cast.recommender).post(f"/applications/{application.id}/transitions/recommend",
                                            {"recommend-comment": "同意"}, csrf=False)
    assert response.status_code == 400
    assert snapshot(factory, application.id) == before


def test_an_unknown_trigger_is_404(factory, pages):
    application, cast = factory.application("pending_recommendation")
    assert _fire(pages(cast.recommender), application.id, "teleport", comment="x").status_code == 404


def test_approve_shows_the_request_and_what_is_left(factory, pages):
    application, cast = factory.application("decision_pending")
    html = _html(pages(cast.officer).get(f"/applications/{application.id}"))
    assert {"approve", "reject"} <= _forms(html)
    block = html.split('data-trigger="approve"')[1].split("</form>")[0]
    assert "300.00 万元" in block and "5,000.00 万元" in block
    assert re.search(r'<label class="form-label" for="approve-approved_amount">批准金额（元）</label>', block)


def test_approving_above_the_request_is_refused_at_the_amount_field(factory, pages):
    application, cast = factory.application("decision_pending")
    before = snapshot(factory, application.id)

    response = _fire(pages(cast.officer), application.id, "approve", approved_amount="3000001",
                     comment="同意立项", version=application.version)

    assert response.status_code == 422
    html = _html(response)
    assert "批准金额超过申请的中央财政经费" in html
    assert re.search(r'invalid-feedback[^>]*>\s*at most 3000000', html)
    assert 'value="3000001"' in html and _textarea(html, "approve-comment") == "同意立项"
    assert snapshot(factory, application.id) == before


def test_approving_through_the_page_records_the_amount(factory, pages):
    application, cast = factory.application("decision_pending")
    response = _fire(pages(cast.officer), application.id, "approve", approved_amount="2500000",
                     version=application.version)
    assert response.status_code == 302
    row = factory.reload(application.id)
    assert (row.state, row.approved_amount) == ("approved", 2_500_000)


def test_a_non_number_amount_is_refused_by_the_form(factory, pages):
    application, cast = factory.application("decision_pending")
    before = snapshot(factory, application.id)
    response = _fire(pages(cast.officer), application.id, "approve", approved_amount="三百万")
    assert response.status_code == 422
    assert "请修改标出的字段" in _html(response)
    assert snapshot(factory, application.id) == before


# --- documents and the timeline ---------------------------------------------------------------------


def _issued(app, application_id: int) -> Document:
    with app.app_context():
        event_id = db.session().scalar(select(Event.id).where(Event.application_id == application_id,
                                                              Event.trigger == "approve"))
        issue_document("decision_notice", event_id)
        return db.session().scalar(select(Document).where(Document.source_event_id == event_id))


def test_the_applicant_downloads_the_decision_notice(app, factory, pages):
    application, cast = factory.application("approved")
    document = _issued(app, application.id)
    client = pages(cast.applicant)

    html = _html(client.get(f"/applications/{application.id}"))
    assert document.number in html and "立项通知书" in html
    assert f'href="/documents/{document.id}"' in html

    response = client.get(f"/documents/{document.id}")
    try:
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        assert "attachment" in response.headers["Content-Disposition"]
    finally:
        response.close()  # the file behind send_file


def test_a_recommender_may_not_download_it(app, factory, pages):
    application, cast = factory.application("approved")
    document = _issued(app, application.id)
    client = pages(cast.recommender)

    assert f'href="/documents/{document.id}"' not in _html(client.get(f"/applications/{application.id}"))
    response = client.get(f"/documents/{document.id}")
    assert response.status_code == 403 and not response.data.startswith(b"%PDF")
    assert pages(factory.user("applicant")).get(f"/documents/{document.id}").status_code == 404


def test_the_timeline_lists_who_did_what_when(factory, pages):
    application, cast = factory.application("formal_review")

    html = _html(pages(cast.applicant).get(f"/applications/{application.id}"))
    timeline = html.split('id="timeline-h"')[1]

    assert timeline.index("创建申报书") < timeline.index("提交") < timeline.index("推荐")
    assert "符合本渠道推荐条件，同意推荐。" in timeline  # the recommender's comment
    assert cast.recommender.name in timeline and "（推荐单位）" not in timeline and "(推荐单位)" in timeline
    assert re.search(r'data-state="pending_recommendation"[^<]*</span><span aria-hidden="true">→</span>'
                     r'<span class="visually-hidden">至</span><span class="ff-state ff-state-formal_review"', timeline)
    assert re.search(r"2\d{3}年\d{1,2}月\d{1,2}日 \d\d:\d\d", timeline)


def test_the_applicant_sees_the_reason_for_a_revision_request(factory, pages):
    application, cast = factory.application("revision_requested")
    with factory.app.app_context():
        reason = db.session().scalar(select(Event.comment).where(Event.application_id == application.id,
                                                                 Event.trigger == "return_for_revision"))
    html = _html(pages(cast.applicant).get(f"/applications/{application.id}"))
    assert reason and "退回修改意见" in html and html.index(reason) < html.index('id="actions-h"')


# --- languages --------------------------------------------------------------------------------------


def test_the_page_in_english(factory, pages):
    application, cast = factory.application("pending_recommendation")
    html = _html(pages(cast.recommender, language="en").get(f"/applications/{application.id}"))

    assert '<html lang="en">' in html
    assert ">Recommend</button>" in html and ">Decline to recommend</button>" in html
    assert "Awaiting recommendation" in html and "Germany" in html
    assert "¥3,000,000" in html and "Reason (required)" in html
    assert "What you can do" in html and "History" in html
    assert "待推荐" not in html  # the diagram and badges follow the language too


def test_english_refusals_read_in_english(factory, pages):
    application, cast = factory.application("pending_recommendation")
    response = _fire(pages(cast.recommender, language="en"), application.id, "recommend", comment="")
    assert response.status_code == 422
    assert "a comment giving the reason is required" in _html(response).lower() or \
        "reason is required" in _html(response).lower()
