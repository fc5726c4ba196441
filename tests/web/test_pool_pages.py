"""The reviewer pool's pages: the list and its filters, an expert, the editor, the CSV import, assignment
with suggestions and refusals, replacement and bulk assignment — in Chinese and English."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import text

from workflow.models import ExpertProfile, Institution, Review

from ..factories import snapshot


def _tsinghua(factory) -> Institution:
    return factory._add(Institution(name="清华大学", name_en="Tsinghua University", kind="university"))


def _flashes(client) -> list[str]:
    with client.client.session_transaction() as session:
        return [text for _, text in session.get("_flashes", [])]


def _head(factory) -> int:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar()


def test_the_pool_lists_and_filters_experts(pages, factory):
    officer = pages(factory.user("officer"))
    german = factory.expert(country="DE", fields=("energy_resources",), languages=("de", "en"))
    farmer = factory.expert(fields=("modern_agriculture",), languages=("zh",))
    html = officer.get("/pool").get_data(as_text=True)
    assert "评审专家库" in html and german.name in html and farmer.name in html
    assert "德国" in html and "现代农业" in html and "德语" in html
    filtered = officer.get("/pool?field=modern_agriculture").get_data(as_text=True)
    assert farmer.name in filtered and german.name not in filtered
    english = pages(factory.user("officer"), language="en").get("/pool?country=DE").get_data(as_text=True)
    assert "Reviewer pool" in english and "Germany" in english and farmer.name not in english
    assert "style=" not in html and "<script>" not in html.replace('<script src=', '')


def test_the_officers_navigation_reaches_the_pool(pages, factory):
    html = pages(factory.user("officer")).get("/officer").get_data(as_text=True)
    assert 'href="/pool"' in html
    assert 'href="/pool"' not in pages(factory.user("applicant")).get("/applications").get_data(as_text=True)


def test_an_experts_page_shows_profile_load_and_history(pages, factory):
    application, cast = factory.application("expert_review")
    expert = factory.expert(fields=("energy_resources", "climate_change"), country="FR", languages=("fr", "en"))
    from workflow.services import applications as app_svc

    with factory.app.app_context():
        app_svc.assign_reviewer(cast.officer, application.id, expert.id)
    html = pages(cast.officer).get(f"/pool/{expert.id}").get_data(as_text=True)
    assert expert.name in html and "法国" in html and "气候变化" in html and "法语" in html
    assert "待评任务" in html and application.title in html
    assert pages(cast.officer).get(f"/pool/{cast.applicant.id}").status_code == 404


def test_adding_an_expert_without_fields_is_told_at_the_field_in_chinese(pages, factory):
    officer = pages(factory.user("officer"))
    inst = factory.institution()
    head = _head(factory)
    response = officer.post("/pool/new", {"email": "new@example.cn", "name": "新专家", "institution_id": str(inst.id),
                                          "country": "CN"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "请至少选择一个领域。" in html
    assert _head(factory) == head
    response = officer.post("/pool/new", {"email": "new@example.cn", "name": "新专家", "institution_id": str(inst.id),
                                          "country": "CN", "fields": ["ecology_environment"], "languages": ["zh"],
                                          "active": "y"})
    assert response.status_code == 302
    again = officer.post("/pool/new", {"email": "new@example.cn", "name": "新专家", "institution_id": str(inst.id),
                                       "country": "CN", "fields": ["ecology_environment"]})
    assert again.status_code == 422 and "已注册" in again.get_data(as_text=True)


def test_editing_an_expert_saves_and_records(pages, factory):
    officer = pages(factory.user("officer"))
    expert = factory.expert()
    response = officer.post(f"/pool/{expert.id}/edit", {"name": "新名字", "institution_id": "", "country": "DE",
                                                        "fields": ["space_ocean"]})
    assert response.status_code == 422 and "请选择专家所在单位" in response.get_data(as_text=True)
    inst = factory.institution()
    response = officer.post(f"/pool/{expert.id}/edit", {"name": "新名字", "institution_id": str(inst.id),
                                                        "country": "DE", "fields": ["space_ocean"]})
    assert response.status_code == 302
    profile = factory.get(ExpertProfile, expert.id)
    assert (profile.fields, profile.country, profile.active) == (["space_ocean"], "DE", False)


def _upload(client, content: str):
    return client.post("/pool/import", {"file": (io.BytesIO(content.encode("utf-8")), "experts.csv")},
                       content_type="multipart/form-data")


def test_the_import_page_documents_the_columns_and_names_bad_rows_in_chinese(pages, factory):
    officer = pages(factory.user("officer"))
    page = officer.get("/pool/import").get_data(as_text=True)
    for column in ("email", "institution", "fields", "country", "languages", "title", "active"):
        assert f"<code>{column}</code>" in page
    assert "energy_resources" in page and "能源与资源" in page
    head = _head(factory)
    response = _upload(officer, "email,institution,fields\nok@example.cn,不存在的大学,astrology\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-line="2"' in html and "单位名录中没有该单位" in html and "未知的领域代码" in html
    assert "未导入任何专家" in html and _head(factory) == head


def test_a_good_import_goes_back_to_the_pool(pages, factory):
    officer = pages(factory.user("officer"), language="en")
    inst = factory.institution()
    response = _upload(officer, f"email,name,institution,fields\nx1@example.cn,甲,{inst.id},food_security\n")
    assert response.status_code == 302 and response.headers["Location"] == "/pool"
    assert "1 experts imported into the reviewer pool." in _flashes(officer)


def test_the_assign_page_suggests_and_marks_conflicts_with_their_reason(pages, factory):
    tsinghua = _tsinghua(factory)
    application, cast = factory.application("expert_review", partners=[
        {"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"},
        {"name": "清華大學", "country": "CN", "kind": "university"}])
    conflicted = factory.expert(tsinghua)
    free = factory.expert(country="DE")
    html = pages(cast.officer).get(f"/applications/{application.id}/assign").get_data(as_text=True)
    assert "推荐专家" in html and f'data-suggested="{free.id}"' in html
    assert f'data-suggested="{conflicted.id}"' not in html
    assert re.search(rf'value="{conflicted.id}" id="reviewer-{conflicted.id}" disabled', html)
    assert "评审专家所在单位是项目合作单位" in html and "清华大学" in html
    english = pages(cast.officer, language="en").get(f"/applications/{application.id}/assign").get_data(as_text=True)
    assert "the reviewer belongs to a consortium partner: 清華大學 (Tsinghua University)" in english


def test_assigning_a_conflicted_reviewer_on_the_page_changes_nothing(pages, factory):
    application, cast = factory.application("expert_review")
    own = factory.expert(factory.get(Institution, application.institution_id))
    client = pages(cast.officer)
    before = snapshot(factory, application.id)
    response = client.post(f"/applications/{application.id}/assign", {"reviewer_ids": [str(own.id)]})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "评审专家所在单位是申报单位" in html
    assert snapshot(factory, application.id) == before
    empty = client.post(f"/applications/{application.id}/assign", {"reviewer_ids": []})
    assert empty.status_code == 422 and "请至少选择一位评审专家。" in empty.get_data(as_text=True)


def test_assigning_several_with_a_due_date_in_the_past_is_told_at_the_field(pages, factory):
    application, cast = factory.application("expert_review")
    experts = [factory.expert(), factory.expert()]
    client = pages(cast.officer)
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    response = client.post(f"/applications/{application.id}/assign",
                           {"reviewer_ids": [str(e.id) for e in experts], "due_date": past})
    assert response.status_code == 422 and "截止日期已过。" in response.get_data(as_text=True)
    ok = client.post(f"/applications/{application.id}/assign", {"reviewer_ids": [str(e.id) for e in experts]})
    assert ok.status_code == 302
    assert len(factory.reload(application.id).reviews) == 2


def test_an_overdue_assignment_is_replaced_from_the_page(pages, factory):
    from workflow.services import applications as app_svc

    application, cast = factory.application("expert_review")
    late, fresh = factory.expert(), factory.expert()
    with factory.app.app_context():
        review_id = app_svc.assign_reviewer(cast.officer, application.id, late.id).id
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE reviews SET due_date = :d WHERE id = :r"),
                  {"d": dt.date.today() - dt.timedelta(days=1), "r": review_id})
    client = pages(cast.officer)
    page = client.get(f"/applications/{application.id}/assign").get_data(as_text=True)
    assert "已逾期" in page and f"/reviews/{review_id}/replace" in page
    response = client.post(f"/applications/{application.id}/reviews/{review_id}/replace",
                           {f"replace-{review_id}-reviewer_id": str(fresh.id)})
    assert response.status_code == 302
    replaced = [r for r in factory.reload(application.id).reviews if r.replaces_id == review_id]
    assert [r.reviewer_id for r in replaced] == [fresh.id]
    page = client.get(f"/applications/{application.id}/assign").get_data(as_text=True)
    assert f"已由{fresh.name}替换" in page
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "评审专家已替换" in inbox


def test_bulk_assignment_of_suggested_reviewers_from_the_page(pages, factory):
    call = factory.call()
    first, cast = factory.application("expert_review", call=call)
    second, _ = factory.application("expert_review", call=call)
    for country in ("CN", "DE", "FR", "US"):
        factory.expert(country=country)
    client = pages(cast.officer)
    page = client.get(f"/pool/bulk?call_id={call.id}").get_data(as_text=True)
    assert f'value="{first.id}"' in page and f'value="{second.id}"' in page
    bad = client.post(f"/pool/bulk?call_id={call.id}", {"app_ids": [], "per_application": "3"})
    assert bad.status_code == 422 and "请在列表中勾选至少一项申请。" in bad.get_data(as_text=True)
    response = client.post(f"/pool/bulk?call_id={call.id}", {"app_ids": [str(first.id), str(second.id)],
                                                            "per_application": "3"})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    assert all(len(factory.reload(a.id).reviews) == 3 for a in (first, second))


@pytest.mark.parametrize("role", ["applicant", "recommender", "reviewer"])
def test_only_the_funds_staff_may_post_to_the_pool(pages, factory, role):
    application, cast = factory.application("expert_review")
    who = {"applicant": cast.applicant, "recommender": cast.recommender, "reviewer": cast.reviewers[0]}[role]
    client = pages(who)
    expert = factory.expert()
    assert client.post(f"/applications/{application.id}/assign", {"reviewer_ids": [str(expert.id)]}).status_code == 403
    assert client.post("/pool/new", {"email": "x@example.cn"}).status_code == 403
    assert factory.reload(application.id).reviews == []
