"""Milestone reports: a text and milestone_report attachments; the officer accepts or returns with a reason."""
from __future__ import annotations

import pytest

from .factories import snapshot, upload


@pytest.fixture
def running(factory, api):
    application, cast = factory.application("in_progress")
    return application, api(cast.applicant), api(cast.officer)


def path(application, milestone, trigger: str) -> str:
    return f"/applications/{application.id}/milestones/{milestone.id}/transitions/{trigger}"


def milestone_json(client, application, milestone) -> dict:
    items = client.get(f"/applications/{application.id}/milestones").json["items"]
    return next(m for m in items if m["id"] == milestone.id)


@pytest.mark.parametrize("body", [{}, {"report": ""}, {"report": "   \n"}, {"report": None}, {"report": 12}])
def test_a_report_without_text_is_refused_and_changes_nothing(factory, running, body):
    application, applicant, _ = running
    first = application.milestones[0]
    before = snapshot(factory, application.id, "milestone", first.id)
    r = applicant.post(path(application, first, "report"), json=body)
    assert r.status_code == 422, r.json
    assert "report" in r.json["details"]
    assert snapshot(factory, application.id, "milestone", first.id) == before


def test_a_report_carries_its_attachments(factory, running):
    application, applicant, officer = running
    first, second = application.milestones[:2]
    evidence = upload(applicant, application.id, "milestone_report").json["id"]
    r = applicant.post(path(application, first, "report"), json={"report": "完成联合实验。", "attachments": [evidence]})
    assert r.status_code == 200, r.json
    assert (r.json["state"], r.json["report"], r.json["attachments"]) == ("reported", "完成联合实验。", [evidence])
    assert milestone_json(officer, application, first)["attachments"] == [evidence]

    # Evidence already given for one milestone is not another's; nor is a file of another kind.
    final = upload(applicant, application.id, "final_report").json["id"]
    before = snapshot(factory, application.id, "milestone", second.id)
    r = applicant.post(path(application, second, "report"), json={"report": "人员交流。", "attachments": [evidence]})
    assert r.status_code == 422 and "attachments" in r.json["details"]
    r = applicant.post(path(application, second, "report"), json={"report": "人员交流。", "attachments": [final]})
    assert r.status_code == 422 and "attachments" in r.json["details"]
    assert snapshot(factory, application.id, "milestone", second.id) == before


def test_a_returned_report_keeps_the_reason_for_the_applicant(factory, running):
    application, applicant, officer = running
    first = application.milestones[0]
    applicant.post(path(application, first, "report"), json={"report": "完成联合实验。"})
    assert officer.post(path(application, first, "return"), json={}).status_code == 422  # a reason is required
    r = officer.post(path(application, first, "return"), json={"comment": "请补充外方出具的阶段性成果确认函。"})
    assert r.status_code == 200, r.json
    seen = milestone_json(applicant, application, first)
    assert (seen["state"], seen["return_reason"]) == ("returned", "请补充外方出具的阶段性成果确认函。")
    notices = [n for n in applicant.get("/notices").json["items"] if n["kind"] == "milestone_returned"]
    assert len(notices) == 1 and "请补充外方出具的阶段性成果确认函。" in notices[0]["body"]
    assert first.title in notices[0]["body"]

    r = applicant.post(path(application, first, "report"), json={"report": "已补充外方确认函。"})
    assert r.json["state"] == "reported"
    r = officer.post(path(application, first, "accept"), json={})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "accepted" and r.json["accepted_at"]


def test_only_the_officer_accepts_and_only_the_applicant_reports(factory, running):
    application, applicant, officer = running
    first = application.milestones[0]
    assert officer.post(path(application, first, "report"), json={"report": "x"}).status_code == 403
    applicant.post(path(application, first, "report"), json={"report": "完成。"})
    before = snapshot(factory, application.id, "milestone", first.id)
    assert applicant.post(path(application, first, "accept"), json={}).status_code == 403
    assert snapshot(factory, application.id, "milestone", first.id) == before
