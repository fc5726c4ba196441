"""sign_agreement records the cooperation agreement and its milestones, each due within the project's duration."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from workflow.effects import add_months
from workflow.services.compliance import today

from .factories import snapshot, upload

TODAY = today()


def agreement(**changes) -> dict:
    body = {"title": "中德储能材料联合研究合作协议", "signed_on": TODAY.isoformat(),
            "valid_from": TODAY.isoformat(), "valid_until": (TODAY + dt.timedelta(days=4 * 365)).isoformat(),
            "partners": [{"name": "Fraunhofer ISE", "country": "DE"}, {"name": "清华大学", "country": "CN"}],
            "commitments_domestic": "提供电极材料样品与测试平台，派出青年科研人员赴德交流。",
            "commitments_foreign": "开放中试线，接收中方人员，联合申请专利。"}
    body.update(changes)
    return body


def milestones(*days: int, **extra) -> list[dict]:
    kinds = ("mid_term_report", "personnel_exchange", "joint_research_output")
    return [{"title": f"第{i}项任务", "kind": kinds[i % 3], "due_date": (TODAY + dt.timedelta(days=d)).isoformat(),
             "evidence": "阶段成果报告及外方确认函", **extra} for i, d in enumerate(days)]


@pytest.fixture
def approved(factory, api):
    """An approved project of 36 months with its signed project agreement uploaded."""
    application, cast = factory.application("approved")
    applicant = api(cast.applicant)
    r = upload(applicant, application.id, "signed_agreement")
    assert r.status_code == 201, r.json
    return application, applicant, api(cast.officer), r.json["id"]


def agreements_of(factory, app_id: int) -> int:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT count(*) FROM agreements WHERE application_id = :i"), {"i": app_id}).scalar()


def test_the_agreement_is_recorded_with_its_milestones(factory, approved):
    application, applicant, officer, attachment_id = approved
    r = applicant.fire(application.id, "sign_agreement", agreement=agreement(), milestones=milestones(300, 90, 700))
    assert r.status_code == 200, r.json
    assert r.json["state"] == "in_progress"

    record = officer.get(f"/applications/{application.id}/agreement").json
    assert record["signed_attachment_id"] == attachment_id
    assert record["title"] == "中德储能材料联合研究合作协议"
    assert record["partners"] == [{"name": "Fraunhofer ISE", "country": "DE"}, {"name": "清华大学", "country": "CN"}]
    assert (record["signed_on"], record["valid_from"]) == (TODAY.isoformat(), TODAY.isoformat())
    assert record["commitments_foreign"].startswith("开放中试线")

    items = applicant.get(f"/applications/{application.id}/milestones").json["items"]
    assert [(m["seq"], m["kind"], m["due_date"]) for m in items] == [
        (1, "personnel_exchange", (TODAY + dt.timedelta(days=90)).isoformat()),
        (2, "mid_term_report", (TODAY + dt.timedelta(days=300)).isoformat()),
        (3, "joint_research_output", (TODAY + dt.timedelta(days=700)).isoformat())]
    assert {m["evidence"] for m in items} == {"阶段成果报告及外方确认函"}
    signed = [e for e in officer.get(f"/applications/{application.id}/history").json["items"]
              if e["trigger"] == "sign_agreement"][0]
    assert signed["data"]["agreement"]["title"] == record["title"]
    assert signed["data"]["signed_attachment_id"] == attachment_id


def test_the_old_body_of_titles_and_dates_still_signs(factory, approved):
    application, applicant, officer, _ = approved
    r = applicant.fire(application.id, "sign_agreement",
                       milestones=[{"title": "联合实验", "due_date": (TODAY + dt.timedelta(days=200)).isoformat()}])
    assert r.status_code == 200, r.json
    items = applicant.get(f"/applications/{application.id}/milestones").json["items"]
    assert [(m["kind"], m["evidence"]) for m in items] == [("joint_research_output", None)]
    assert officer.get(f"/applications/{application.id}/agreement").status_code == 404


END = add_months(TODAY, 36)
OUT_OF_RANGE = [
    ("9999-12-31", None), ("0001-01-01", None),
    ((TODAY - dt.timedelta(days=1)).isoformat(), None),  # before signing
    ((END + dt.timedelta(days=1)).isoformat(), None),  # past the 36 months
    ((TODAY + dt.timedelta(days=400)).isoformat(),  # past the agreement's validity
     {"valid_until": (TODAY + dt.timedelta(days=365)).isoformat()}),
]


@pytest.mark.parametrize("due, validity", OUT_OF_RANGE)
def test_a_due_date_out_of_range_is_refused_at_its_field_and_changes_nothing(factory, approved, due, validity):
    application, applicant, _, _ = approved
    before = snapshot(factory, application.id)
    items = milestones(100) + [{"title": "成果验收", "kind": "joint_research_output", "due_date": due}]
    r = applicant.fire(application.id, "sign_agreement", agreement=agreement(**(validity or {})), milestones=items)
    assert r.status_code == 422, r.json
    assert list(r.json["details"]["milestones"]) == ["1"]
    assert "due_date" in r.json["details"]["milestones"]["1"]
    assert snapshot(factory, application.id) == before
    assert applicant.get(f"/applications/{application.id}/milestones").json["items"] == []
    assert agreements_of(factory, application.id) == 0


def test_without_an_agreement_the_duration_runs_from_today(factory, approved):
    application, applicant, _, _ = approved
    before = snapshot(factory, application.id)
    r = applicant.fire(application.id, "sign_agreement",
                       milestones=[{"title": "联合实验", "due_date": "9999-12-31"}])
    assert r.status_code == 422 and "due_date" in r.json["details"]["milestones"]["0"]
    assert snapshot(factory, application.id) == before


@pytest.mark.parametrize("changes, field", [
    ({"partners": [{"name": "清华大学", "country": "CN"}]}, "partners"),
    ({"valid_from": (TODAY + dt.timedelta(days=10)).isoformat(), "valid_until": TODAY.isoformat()}, "valid_until"),
    ({"signed_on": (TODAY + dt.timedelta(days=3)).isoformat()}, "signed_on"),
    ({"signed_on": "0001-01-01"}, "signed_on"),
    ({"valid_until": "9999-12-31"}, "valid_until"),
    ({"title": "   "}, "title"),
    ({"commitments_foreign": ""}, "commitments_foreign"),
])
def test_an_agreement_that_breaks_the_rules_is_refused_at_its_field(factory, approved, changes, field):
    application, applicant, _, _ = approved
    before = snapshot(factory, application.id)
    r = applicant.fire(application.id, "sign_agreement", agreement=agreement(**changes), milestones=milestones(100))
    assert r.status_code == 422, r.json
    details = r.json["details"]
    assert field in details.get("agreement", {}), details
    assert snapshot(factory, application.id) == before
    assert agreements_of(factory, application.id) == 0


def test_an_unknown_milestone_kind_is_refused(factory, approved):
    application, applicant, _, _ = approved
    r = applicant.fire(application.id, "sign_agreement", agreement=agreement(),
                       milestones=milestones(100, kind="site_visit"))
    assert r.status_code == 422 and "kind" in r.json["details"]["milestones"]["0"]


def test_an_extension_that_would_move_a_date_past_any_sane_bound_is_refused(factory, approved):
    """Approving such an extension answered 500 (date overflow); now it is refused with a message."""
    application, applicant, officer, _ = approved
    assert applicant.fire(application.id, "sign_agreement", milestones=milestones(100)).status_code == 200
    change = applicant.post(f"/applications/{application.id}/changes",
                            json={"kind": "extension", "comment": "外方设备延期", "extend_months": 24}).json
    with factory.app.extensions["fundflow.engine"].begin() as c:  # a date as it may stand in an old row
        c.execute(text("UPDATE milestones SET due_date = :d WHERE application_id = :i"),
                  {"d": dt.date(9999, 6, 30), "i": application.id})
    before = snapshot(factory, application.id)
    r = officer.post(f"/applications/{application.id}/changes/{change['id']}/transitions/approve", json={})
    assert r.status_code == 409, r.json
    assert "2100-12-31" in r.json["message"]
    assert snapshot(factory, application.id) == before
    r = applicant.post(f"/applications/{application.id}/changes",
                       json={"kind": "budget_reallocation", "comment": "x", "budget": {
                           "central": application.approved_amount, "local_matching": 1, "self_raised": 0}})
    assert r.status_code == 201  # the refused decision left the project open to other requests


def test_a_refused_extension_request_names_the_bound(factory, approved):
    application, applicant, _, _ = approved
    assert applicant.fire(application.id, "sign_agreement", milestones=milestones(100)).status_code == 200
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE milestones SET due_date = :d WHERE application_id = :i"),
                  {"d": dt.date(2100, 6, 30), "i": application.id})
    r = applicant.post(f"/applications/{application.id}/changes",
                       json={"kind": "extension", "comment": "延期", "extend_months": 12})
    assert r.status_code == 422 and "extend_months" in r.json["details"]
    assert applicant.get(f"/applications/{application.id}/changes").json["items"] == []
