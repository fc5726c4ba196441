"""Sensitive-technology screening: an officer flags an application during formal review, with a reason, on
the record; the screening guard then keeps a foreign-invested applicant from passing formal review."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from workflow import db
from workflow.models import Event

from .factories import snapshot


@pytest.fixture
def foreign(factory):
    """A foreign-invested enterprise's application in formal review that declares no sensitive technology."""
    applicant = factory.user("applicant", institution=factory.institution("foreign_invested_enterprise"))
    app, cast = factory.application("formal_review", cast=factory.cast(applicant=applicant))
    return app, cast


def flag(client, app_id, flagged=True, comment="涉及出口管制清单中的材料工艺", **extra):
    return client.post(f"/applications/{app_id}/sensitive", json={"flagged": flagged, "comment": comment, **extra})


def test_an_officer_flags_and_the_guard_then_refuses_the_foreign_applicant(foreign, api, app):
    application, cast = foreign
    officer = api(cast.officer)
    r = flag(officer, application.id)
    assert r.status_code == 200 and r.json["sensitive_flagged"] is True and r.json["state"] == "formal_review"
    assert r.json["version"] == application.version + 1
    with app.app_context():
        event = db.session().scalars(select(Event).where(Event.trigger == "flag_sensitive")).one()
    assert (event.application_id, event.subject, event.subject_id) == (application.id, "application", application.id)
    assert (event.from_state, event.to_state, event.actor_id, event.role) == (
        "formal_review", "formal_review", cast.officer.id, "officer")
    assert event.comment == "涉及出口管制清单中的材料工艺"
    assert event.data == {"before": {"sensitive_flagged": False}, "after": {"sensitive_flagged": True}}
    refused = officer.fire(application.id, "pass_formal_review", comment="形式审查通过")
    assert refused.status_code == 409 and refused.json["error"] == "guard_failed"
    assert "sensitive technology" in refused.json["message"]
    # Cleared again, with its reason, the application may pass.
    assert flag(officer, application.id, False, "复核后确认不涉及敏感技术").json["sensitive_flagged"] is False
    assert officer.fire(application.id, "pass_formal_review", comment="形式审查通过").status_code == 200


def test_the_same_value_again_changes_nothing(foreign, api, factory):
    application, cast = foreign
    officer = api(cast.officer)
    before = snapshot(factory, application.id)
    r = flag(officer, application.id, False)
    assert r.status_code == 200 and r.json["sensitive_flagged"] is False
    assert snapshot(factory, application.id) == before


@pytest.mark.parametrize("who, status", [("applicant", 403), ("recommender", 403), ("reviewer", 404)])
def test_only_officers_flag(foreign, api, factory, who, status):
    application, cast = foreign
    actor = {"applicant": cast.applicant, "recommender": cast.recommender, "reviewer": cast.reviewers[0]}[who]
    before = snapshot(factory, application.id)
    r = flag(api(actor), application.id)
    assert r.status_code == status
    assert snapshot(factory, application.id) == before


def test_an_admin_may_flag(foreign, api, factory):
    application, _cast = foreign
    assert flag(api(factory.user("admin")), application.id).json["sensitive_flagged"] is True


@pytest.mark.parametrize("body, status, field", [
    ({"flagged": True, "comment": ""}, 422, "comment"),
    ({"flagged": True}, 422, "comment"),
    ({"flagged": "true", "comment": "理由"}, 422, "flagged"),
    ({"flagged": True, "comment": "理由", "version": 1}, 409, None),
])
def test_bad_input_is_told_and_changes_nothing(foreign, api, factory, body, status, field):
    application, cast = foreign
    before = snapshot(factory, application.id)
    r = api(cast.officer).post(f"/applications/{application.id}/sensitive", json=body)
    assert r.status_code == status, r.json
    if field:
        assert field in r.json["details"]
    assert snapshot(factory, application.id) == before


def test_only_during_formal_review(factory, api):
    application, cast = factory.application("expert_review")
    before = snapshot(factory, application.id)
    r = flag(api(cast.officer), application.id)
    assert r.status_code == 409 and r.json["details"]["allowed_states"] == ["formal_review"]
    assert snapshot(factory, application.id) == before


def test_the_application_page_offers_the_form_to_officers_in_formal_review(foreign, pages, factory, app):
    application, cast = foreign
    officer = pages(cast.officer)
    html = officer.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "敏感技术审查" in html and f'action="/applications/{application.id}/sensitive"' in html
    assert "敏感技术审查" not in pages(cast.applicant).get(f"/applications/{application.id}").get_data(as_text=True)
    before = snapshot(factory, application.id)
    r = officer.post(f"/applications/{application.id}/sensitive", {"flagged": "y", "comment": "", "version": ""})
    assert r.status_code == 422 and "invalid-feedback" in r.get_data(as_text=True)
    assert snapshot(factory, application.id) == before
    r = officer.post(f"/applications/{application.id}/sensitive", {"flagged": "y", "comment": "涉及敏感工艺",
                                                                    "version": str(application.version)})
    assert r.status_code == 302
    html = officer.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "敏感技术标记已保存" in html and "修改了敏感技术标记" in html and "涉及敏感工艺" in html
