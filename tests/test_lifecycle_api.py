"""A whole lifecycle through the HTTP API, by the roles of DESIGN §2."""
from __future__ import annotations

import io

from workflow.lifecycle import minimal_pdf


def upload(client, app_id, kind):
    return client.client.post(
        f"/api/v1/applications/{app_id}/attachments",
        data={"kind": kind, "file": (io.BytesIO(minimal_pdf(kind)), f"{kind}.pdf")},
        headers=client._headers(), content_type="multipart/form-data")


def test_draft_to_completed_through_the_api(factory, api):
    cast = factory.cast()
    call = factory.call()
    applicant, recommender, officer = api(cast.applicant), api(cast.recommender), api(cast.officer)
    data = factory.application_data(call, factory.get(__import__("workflow.models").models.Body,
                                                      cast.recommender.body_id))

    r = applicant.post("/applications", json=data)
    assert r.status_code == 201, r.json
    app = r.json
    assert app["state"] == "draft" and app["version"] == 1
    app_id = app["id"]

    for kind in ("proposal", "cooperation_agreement"):
        assert upload(applicant, app_id, kind).status_code == 201
    r = applicant.fire(app_id, "submit", version=app["version"])
    assert r.status_code == 200, r.json
    assert r.json["state"] == "pending_recommendation" and r.json["version"] == 2

    r = recommender.fire(app_id, "recommend", comment="同意推荐")
    assert r.json["state"] == "formal_review", r.json
    r = officer.fire(app_id, "pass_formal_review")
    assert r.json["state"] == "expert_review", r.json

    for reviewer in cast.reviewers:
        r = officer.post(f"/applications/{app_id}/reviews", json={"reviewer_id": reviewer.id})
        assert r.status_code == 201, r.json
        review = f"/applications/{app_id}/reviews/{r.json['id']}/transitions"
        assert api(reviewer).post(f"{review}/declare_no_conflict").status_code == 200
        r = api(reviewer).post(f"{review}/submit_review",
                               json={"score": 86.5, "opinion": "合作基础好", "recommendation": "fund"})
        assert r.status_code == 200, r.json
    r = officer.get(f"/applications/{app_id}")
    assert r.json["state"] == "decision_pending"

    r = officer.fire(app_id, "approve", approved_amount=2_500_000)
    assert r.json["state"] == "approved" and r.json["approved_amount"] == 2_500_000

    assert upload(applicant, app_id, "signed_agreement").status_code == 201
    r = applicant.fire(app_id, "sign_agreement", milestones=[
        {"title": "联合实验", "due_date": "2027-06-30"}, {"title": "中期交流", "due_date": "2027-12-31"}])
    assert r.json["state"] == "in_progress", r.json

    milestones = applicant.get(f"/applications/{app_id}/milestones").json["items"]
    assert [m["state"] for m in milestones] == ["planned", "planned"]
    for m in milestones:
        path = f"/applications/{app_id}/milestones/{m['id']}/transitions"
        assert applicant.post(f"{path}/report", json={"report": "完成"}).json["state"] == "reported"
        assert officer.post(f"{path}/accept", json={}).json["state"] == "accepted"

    assert upload(applicant, app_id, "final_report").status_code == 201
    r = applicant.fire(app_id, "request_closeout", outcomes={"papers": 3, "patents": 1})
    assert r.json["state"] == "closeout_review", r.json
    r = officer.fire(app_id, "accept_closeout")
    assert r.json["state"] == "completed"

    history = officer.get(f"/applications/{app_id}/history").json["items"]
    transitions = [e["trigger"] for e in history if e["subject"] == "application"]
    assert transitions == ["create", "submit", "recommend", "pass_formal_review", "close_review", "approve",
                           "sign_agreement", "request_closeout", "accept_closeout"]
    close = next(e for e in history if e["trigger"] == "close_review")
    assert close["role"] == "system" and close["actor_id"] is None
