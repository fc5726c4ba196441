"""Close-out: every milestone accepted, a final report, the outcomes with base and talent; then pass or fail."""
from __future__ import annotations

import pytest

from .factories import snapshot, upload

COUNTS = {"papers": 6, "patents": 2, "standards": 1, "technologies_transferred": 1, "experts_engaged": 4,
          "researchers_trained": 7}


@pytest.fixture
def running(factory, api):
    application, cast = factory.application("in_progress")
    return application, api(cast.applicant), api(cast.officer)


def accept_all(application, applicant, officer) -> None:
    for m in application.milestones:
        base = f"/applications/{application.id}/milestones/{m.id}/transitions"
        assert applicant.post(f"{base}/report", json={"report": "按协议完成。"}).status_code == 200
        assert officer.post(f"{base}/accept", json={}).status_code == 200


def test_no_closeout_with_open_milestones(factory, running):
    application, applicant, officer = running
    first = application.milestones[0]
    base = f"/applications/{application.id}/milestones/{first.id}/transitions"
    applicant.post(f"{base}/report", json={"report": "完成。"})
    officer.post(f"{base}/accept", json={})  # one of three accepted
    assert upload(applicant, application.id, "final_report").status_code == 201
    before = snapshot(factory, application.id)
    r = applicant.fire(application.id, "request_closeout", outcomes=COUNTS)
    assert r.status_code == 409, r.json
    assert r.json["details"]["milestones_not_accepted"] == [2, 3]
    assert snapshot(factory, application.id) == before
    assert factory.reload(application.id).outcomes is None


def test_no_closeout_without_the_final_report(factory, running):
    application, applicant, officer = running
    accept_all(application, applicant, officer)
    before = snapshot(factory, application.id)
    r = applicant.fire(application.id, "request_closeout", outcomes=COUNTS)
    assert r.status_code == 422 and "attachments" in r.json["details"]
    assert snapshot(factory, application.id) == before


def test_the_outcomes_record_the_base_built_and_the_talent(factory, running):
    application, applicant, officer = running
    base = factory.base()
    accept_all(application, applicant, officer)
    upload(applicant, application.id, "final_report")
    r = applicant.fire(application.id, "request_closeout", outcomes={**COUNTS, "base": "built", "base_id": base.id})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "closeout_review"
    assert r.json["outcomes"] == {**COUNTS, "base": "built", "base_id": base.id}

    r = officer.fire(application.id, "accept_closeout", comment="完成任务书规定的考核指标，同意通过验收。")
    assert r.json["state"] == "completed"
    documents = officer.get(f"/applications/{application.id}/documents").json["items"]
    assert [d["kind"] for d in documents if d["kind"] == "acceptance_opinion"] == ["acceptance_opinion"]


def test_old_outcomes_without_a_base_mean_none(factory, running):
    application, applicant, officer = running
    accept_all(application, applicant, officer)
    upload(applicant, application.id, "final_report")
    r = applicant.fire(application.id, "request_closeout", outcomes={"papers": 3})
    assert r.status_code == 200, r.json
    assert r.json["outcomes"]["base"] == "none" and r.json["outcomes"]["base_id"] is None
    assert r.json["outcomes"]["researchers_trained"] == 0


@pytest.mark.parametrize("extra, field", [
    ({"base": "built"}, "base_id"),  # which base?
    ({"base": "strengthened", "base_id": 999_999}, "base_id"),
    ({"base": "none", "base_id": "BASE"}, "base_id"),
    ({"base": "rebuilt"}, "base"),
    ({"experts_engaged": -1}, "experts_engaged"),
])
def test_outcomes_that_break_the_rules_are_refused_at_their_field(factory, running, extra, field):
    application, applicant, officer = running
    accept_all(application, applicant, officer)
    upload(applicant, application.id, "final_report")
    before = snapshot(factory, application.id)
    r = applicant.fire(application.id, "request_closeout", outcomes={**COUNTS, **extra})
    assert r.status_code == 422, r.json
    assert field in r.json["details"]["outcomes"], r.json
    assert snapshot(factory, application.id) == before


def test_a_retired_base_cannot_be_named(factory, running):
    application, applicant, officer = running
    retired = factory.base(retired=True)
    accept_all(application, applicant, officer)
    upload(applicant, application.id, "final_report")
    r = applicant.fire(application.id, "request_closeout", outcomes={**COUNTS, "base": "strengthened",
                                                                     "base_id": retired.id})
    assert r.status_code == 422 and "base_id" in r.json["details"]["outcomes"]


def test_a_failed_acceptance_gives_its_reason(factory, running):
    application, applicant, officer = running
    accept_all(application, applicant, officer)
    upload(applicant, application.id, "final_report")
    applicant.fire(application.id, "request_closeout", outcomes=COUNTS)
    assert officer.fire(application.id, "fail_closeout", comment=" ").status_code == 422
    r = officer.fire(application.id, "fail_closeout", comment="主要考核指标未完成，技术转移成果不足。")
    assert r.json["state"] == "failed_acceptance"
    history = applicant.get(f"/applications/{application.id}/history").json["items"]
    assert history[-1]["trigger"] == "fail_closeout"
    assert history[-1]["comment"] == "主要考核指标未完成，技术转移成果不足。"
