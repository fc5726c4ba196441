"""The application page asks for the reason when an officer closes expert review below the quorum."""
from __future__ import annotations

import re

from sqlalchemy import text

from workflow.services import applications as app_svc
from workflow.services.transitions import fire

SCORES = {"fit": 16, "cooperation": 14, "innovation": 24, "feasibility": 12, "outcomes": 9}


def _one_review_in(factory):
    """An application in expert review under a call of quorum 3, with one review submitted."""
    call = factory.rubric_call()
    application, cast = factory.application("expert_review", call=call)
    with factory.app.app_context():
        review = app_svc.assign_reviewer(cast.officer, application.id, cast.reviewers[0].id)
        fire(cast.reviewers[0], "review", review.id, "declare_no_conflict")
        fire(cast.reviewers[0], "review", review.id, "submit_review",
             payload={"scores": SCORES, "opinion": "合作基础扎实。", "recommendation": "fund"})
    assert factory.reload(application.id).state == "expert_review"
    return application, cast


def _comment_field(html: str) -> tuple[str, str]:
    """The close_review form's comment label and its textarea tag."""
    form = html.split('data-trigger="close_review"')[1].split("</form>")[0]
    label = re.search(r'<label class="form-label" for="close_review-comment">([^<]*)</label>', form).group(1)
    textarea = re.search(r'<textarea[^>]*name="close_review-comment"[^>]*>', form).group(0)
    return label, textarea


def test_below_the_quorum_the_reason_is_required_in_both_languages(factory, pages):
    application, cast = _one_review_in(factory)
    label, textarea = _comment_field(pages(cast.officer).get(f"/applications/{application.id}").get_data(as_text=True))
    assert label == "提前结束评审的理由（必填）" and " required" in textarea
    label, textarea = _comment_field(
        pages(cast.officer, language="en").get(f"/applications/{application.id}").get_data(as_text=True))
    assert label == "Reason for closing below quorum (required)" and " required" in textarea


def test_a_refused_close_keeps_the_reason_label(factory, pages):
    application, cast = _one_review_in(factory)
    response = pages(cast.officer, language="en").post(
        f"/applications/{application.id}/transitions/close_review", {"close_review-comment": ""})
    assert response.status_code == 422
    label, textarea = _comment_field(response.get_data(as_text=True))
    assert label == "Reason for closing below quorum (required)" and " required" in textarea


def test_at_the_quorum_the_comment_stays_optional(factory, pages):
    application, cast = _one_review_in(factory)
    with factory.app.extensions["fundflow.engine"].begin() as c:  # the call's quorum lowered after the review
        c.execute(text("UPDATE calls SET quorum = 1 WHERE id = :c"), {"c": application.call_id})
    label, textarea = _comment_field(
        pages(cast.officer, language="en").get(f"/applications/{application.id}").get_data(as_text=True))
    assert label == "Comment (optional)" and " required" not in textarea
    label, _ = _comment_field(pages(cast.officer).get(f"/applications/{application.id}").get_data(as_text=True))
    assert label == "意见（选填）"
