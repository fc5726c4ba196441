"""What retiring a registry row means for the rest of the fund, on SQLite and PostgreSQL.

A retired row is no longer offered or chosen anew; whatever already names it keeps it and keeps working:
- a recommending body: not offered to applicants, no new application routed to it; those routed there stay;
- an institution: no new members or applications; its applications go on, its experts still conflict;
- a base: not offered to new applications; the statistics keep its history, marked as retired.
"""
from __future__ import annotations

import io

import pytest

from workflow.models import Body, Institution

from .factories import snapshot, upload


@pytest.fixture
def admin(factory, api):
    return api(factory.user("admin"))


def retire(admin, kind: str, row_id: int) -> None:
    r = admin.patch(f"/{kind}/{row_id}", json={"retired": True})
    assert r.status_code == 200 and r.json["retired"] is True, r.json


def refused_at(r, field: str, message: str | None = None) -> None:
    assert r.status_code == 422, (r.status_code, r.get_json())
    assert field in r.json["details"], r.json
    if message:
        assert r.json["details"][field] == [message], r.json


# --- recommending bodies --------------------------------------------------------------------------------


def test_a_retired_body_is_not_offered_and_takes_no_new_application(factory, api, admin):
    draft, cast = factory.application("draft")
    applicant = api(cast.applicant)
    body = factory.get(Body, cast.recommender.body_id)
    other = factory.body(body.channel)
    retire(admin, "bodies", other.id)
    assert other.id not in {b["id"] for b in applicant.get(f"/bodies?channel={body.channel}").json["items"]}
    data = factory.application_data(factory.call(), other)
    refused_at(applicant.post("/applications", json=data), "body_id", "retired: choose another recommending body")
    before = snapshot(factory, draft.id)
    r = applicant.patch(f"/applications/{draft.id}", json={"body_id": other.id})
    refused_at(r, "body_id", "retired: choose another recommending body")
    assert other.name in r.json["message"]
    assert snapshot(factory, draft.id) == before
    assert admin.patch(f"/bodies/{other.id}", json={"retired": False}).status_code == 200  # reinstated: offered
    assert applicant.patch(f"/applications/{draft.id}", json={"body_id": other.id}).status_code == 200


def test_applications_routed_to_a_retired_body_stay_with_it_and_its_officers_go_on(factory, api, admin):
    application, cast = factory.application("pending_recommendation")
    body_id = cast.recommender.body_id
    retire(admin, "bodies", body_id)
    recommender = api(cast.recommender)  # a member of the retired body still signs in
    assert application.id in {a["id"] for a in recommender.get("/applications").json["items"]}
    r = recommender.fire(application.id, "recommend", comment="同意推荐。")
    assert r.status_code == 200 and r.json["state"] == "formal_review" and r.json["body_id"] == body_id
    assert api(cast.officer).get(f"/applications/{application.id}").json["body_id"] == body_id


def test_a_draft_whose_body_retired_keeps_it_but_must_name_another_to_be_submitted(factory, api, admin):
    draft, cast = factory.application("draft")
    applicant = api(cast.applicant)
    body_id = cast.recommender.body_id
    upload(applicant, draft.id, "proposal")
    upload(applicant, draft.id, "cooperation_agreement")
    retire(admin, "bodies", body_id)
    r = applicant.patch(f"/applications/{draft.id}", json={"title": "中德储能材料联合研究（修订）"})
    assert r.status_code == 200 and r.json["body_id"] == body_id  # an edit elsewhere keeps it
    before = snapshot(factory, draft.id)
    r = applicant.fire(draft.id, "submit")
    assert r.status_code == 422 and "body_id" in r.json["details"]
    assert snapshot(factory, draft.id) == before
    active = factory.body(factory.get(Body, body_id).channel)
    assert applicant.patch(f"/applications/{draft.id}", json={"body_id": active.id}).status_code == 200
    assert applicant.fire(draft.id, "submit").json["state"] == "pending_recommendation"


def test_a_retired_body_takes_no_new_members_and_keeps_those_it_has(factory, admin):
    recommender = factory.user("recommender")
    body_id = recommender.body_id
    retire(admin, "bodies", body_id)
    refused_at(admin.post("/users", json={"email": "new.rec@example.cn", "password": "a long passphrase",
                                          "role": "recommender", "body_id": body_id}),
               "body_id", "retired: choose another recommending body")
    officer = factory.user("officer")
    refused_at(admin.patch(f"/users/{officer.id}", json={"role": "recommender", "body_id": body_id}), "body_id")
    r = admin.patch(f"/users/{recommender.id}", json={"name": "张宁（推荐单位联络人）"})
    assert r.status_code == 200 and r.json["body_id"] == body_id


# --- institutions ------------------------------------------------------------------------------------------


def test_a_retired_institution_opens_no_new_application_and_its_own_go_on(factory, api, admin):
    draft, cast = factory.application("draft")
    applicant = api(cast.applicant)
    upload(applicant, draft.id, "proposal")
    upload(applicant, draft.id, "cooperation_agreement")
    institution = factory.get(Institution, cast.applicant.institution_id)
    retire(admin, "institutions", institution.id)
    data = factory.application_data(factory.call(), factory.get(Body, cast.recommender.body_id))
    r = applicant.post("/applications", json=data)
    assert r.status_code == 403 and r.json["error"] == "not_permitted" and institution.name in r.json["message"]
    assert applicant.patch(f"/applications/{draft.id}", json={"title": "修订后的题目"}).status_code == 200
    r = applicant.fire(draft.id, "submit")
    assert r.status_code == 200 and r.json["state"] == "pending_recommendation"
    shown = api(cast.recommender).get(f"/applications/{draft.id}").json["institution"]
    assert shown == {"id": institution.id, "name": institution.name, "kind": institution.kind}
    history = applicant.get(f"/applications/{draft.id}/history").json["items"]
    assert [e["trigger"] for e in history][-1] == "submit"


def test_a_retired_institution_takes_no_new_members_and_keeps_those_it_has(factory, api, admin):
    applicant = factory.user("applicant")
    inst_id = applicant.institution_id
    retire(admin, "institutions", inst_id)
    refused_at(admin.post("/users", json={"email": "new.one@example.cn", "password": "a long passphrase",
                                          "role": "applicant", "institution_id": inst_id}),
               "institution_id", "retired: choose another institution")
    reviewer = factory.user("reviewer")
    refused_at(admin.patch(f"/users/{reviewer.id}", json={"institution_id": inst_id}), "institution_id")
    r = admin.patch(f"/users/{applicant.id}", json={"name": "李娜", "institution_id": inst_id})
    assert r.status_code == 200 and r.json["institution_id"] == inst_id
    assert api(applicant).get("/applications").status_code == 200  # still signs in


def test_a_retired_institution_takes_no_new_experts_and_keeps_those_it_has(factory, api, admin):
    institution = factory._add(Institution(name="中国农业大学", name_en="China Agricultural University",
                                           kind="university"))
    expert = factory.expert(institution)
    officer = api(factory.user("officer"))
    retire(admin, "institutions", institution.id)
    refused_at(officer.post("/reviewers", json={"email": "wang@cau.edu.cn", "name": "王强",
                                                "institution_id": institution.id, "fields": ["food_security"]}),
               "institution_id", "retired: choose another institution")
    content = "email,name,institution,fields\nzhao@cau.edu.cn,赵刚,中國農業大學,food_security\n"
    r = officer.client.post("/api/v1/reviewers/import", headers=officer._headers(), content_type="multipart/form-data",
                            data={"file": (io.BytesIO(content.encode()), "experts.csv")})
    assert r.status_code == 422
    assert r.json["details"]["rows"] == [{"line": 2, "field": "institution",
                                          "message": "retired: choose another institution"}]
    r = officer.patch(f"/reviewers/{expert.id}", json={"title": "教授", "institution_id": institution.id})
    assert r.status_code == 200 and r.json["institution_id"] == institution.id


def test_the_experts_of_a_retired_institution_still_conflict(factory, api, admin):
    """Retiring an institution must not open its applications, or the consortia it is in, to its experts."""
    ise = factory._add(Institution(name="弗劳恩霍夫太阳能系统研究所", name_en="Fraunhofer ISE", kind="institute"))
    application, cast = factory.application("expert_review", partners=[
        {"name": "Fraunhofer  ISE", "country": "DE", "kind": "institute"}])
    own = factory.expert(factory.get(Institution, cast.applicant.institution_id))
    partner = factory.expert(ise)
    retire(admin, "institutions", ise.id)
    retire(admin, "institutions", cast.applicant.institution_id)
    officer = api(cast.officer)
    for expert, rule in ((own, "applicant_institution"), (partner, "consortium_partner")):
        r = officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": expert.id})
        assert r.status_code == 409 and r.json["details"]["rule"] == rule, r.json
    # a consortium written after the partner retired is matched by its name all the same
    later, later_cast = factory.application("expert_review", partners=[
        {"name": "FRAUNHOFER ISE", "country": "DE", "kind": "institute"}])
    r = api(later_cast.officer).post(f"/applications/{later.id}/reviews", json={"reviewer_id": partner.id})
    assert r.status_code == 409 and r.json["details"]["rule"] == "consortium_partner", r.json


def test_a_renamed_institution_is_matched_by_its_new_name(factory, api, admin):
    """The conflict index is rebuilt when an institution is renamed, not only when one is added."""
    institution = factory._add(Institution(name="某某研究院", name_en="Some Institute", kind="institute"))
    expert = factory.expert(institution)
    cast = factory.cast()  # everyone made first: no institution is added between the rename and the check
    fraunhofer = {"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"}
    renamed = {"name": "New Name  Institute", "country": "CN", "kind": "institute"}
    factory.application("draft", cast=cast, partners=[fraunhofer, renamed])  # the index, built before the rename
    assert admin.patch(f"/institutions/{institution.id}", json={"name": "新名称研究院",
                                                                "name_en": "New Name Institute"}).status_code == 200
    application, _ = factory.application("expert_review", cast=cast, partners=[fraunhofer, renamed])
    r = api(cast.officer).post(f"/applications/{application.id}/reviews", json={"reviewer_id": expert.id})
    assert r.status_code == 409 and r.json["details"]["rule"] == "consortium_partner", r.json


# --- cooperation bases -------------------------------------------------------------------------------------


def test_a_retired_base_is_not_offered_to_new_applications(factory, api, admin):
    draft, cast = factory.application("draft")
    applicant = api(cast.applicant)
    base = factory.base()
    retire(admin, "bases", base.id)
    assert base.id not in {b["id"] for b in applicant.get("/bases").json["items"]}
    data = factory.application_data(factory.call(), factory.get(Body, cast.recommender.body_id), base_id=base.id)
    refused_at(applicant.post("/applications", json=data), "base_id", "retired: choose another base")
    before = snapshot(factory, draft.id)
    refused_at(applicant.patch(f"/applications/{draft.id}", json={"base_id": base.id}), "base_id")
    assert snapshot(factory, draft.id) == before


def test_an_application_keeps_its_retired_base(factory, api, admin):
    base = factory.base()
    draft, cast = factory.application("draft", base_id=base.id)
    applicant = api(cast.applicant)
    retire(admin, "bases", base.id)
    for change in ({"title": "修订后的题目"}, {"base_id": base.id, "summary": "补充了合作基础。"}):
        r = applicant.patch(f"/applications/{draft.id}", json=change)
        assert r.status_code == 200 and r.json["base_id"] == base.id, r.json
    assert applicant.patch(f"/applications/{draft.id}", json={"base_id": None}).json["base_id"] is None
    refused_at(applicant.patch(f"/applications/{draft.id}", json={"base_id": base.id}), "base_id")  # gone for good


def test_a_project_reports_on_its_own_base_after_it_retired(factory, api, admin):
    base, other = factory.base(), factory.base()
    application, cast = factory.application("in_progress", base_id=base.id)
    applicant, officer = api(cast.applicant), api(cast.officer)
    for m in application.milestones:
        path = f"/applications/{application.id}/milestones/{m.id}/transitions"
        assert applicant.post(f"{path}/report", json={"report": "按协议完成。"}).status_code == 200
        assert officer.post(f"{path}/accept", json={}).status_code == 200
    upload(applicant, application.id, "final_report")
    retire(admin, "bases", base.id)
    retire(admin, "bases", other.id)
    counts = {"papers": 3, "patents": 1, "standards": 0, "technologies_transferred": 1, "experts_engaged": 2,
              "researchers_trained": 4}
    r = applicant.fire(application.id, "request_closeout", outcomes={**counts, "base": "strengthened",
                                                                     "base_id": other.id})
    assert r.status_code == 422 and "base_id" in r.json["details"]["outcomes"]
    r = applicant.fire(application.id, "request_closeout", outcomes={**counts, "base": "strengthened",
                                                                     "base_id": base.id})
    assert r.status_code == 200 and r.json["outcomes"]["base_id"] == base.id, r.json


def test_the_statistics_keep_a_retired_bases_history_marked(factory, api, admin):
    base, kept = factory.base(), factory.base()
    done, cast = factory.application("completed", base_id=base.id)
    retire(admin, "bases", base.id)
    officer = api(cast.officer)
    data = officer.get("/statistics/bases").json
    rows = {b["id"]: b for b in data["bases"]}
    assert rows[base.id]["retired"] is True and rows[kept.id]["retired"] is False
    assert rows[base.id]["projects"] == 1 and rows[base.id]["funded"] == 1
    assert [b["id"] for b in data["bases"]].index(kept.id) < [b["id"] for b in data["bases"]].index(base.id)
    assert data["growth"][-1]["total"] == 1  # the registry's size toward the target counts the bases in use
    by_base = {row["key"]: row for row in officer.get("/statistics").json["by_base"]}
    assert by_base[factory.get(type(base), base.id).name]["applications"] == 1
