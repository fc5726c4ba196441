"""Change requests on running projects: the applicant asks, an officer approves or refuses."""
from __future__ import annotations

import pytest


@pytest.fixture
def running(factory, api):
    application, cast = factory.application("in_progress")
    return application, api(cast.applicant), api(cast.officer)


def test_an_approved_extension_moves_open_milestones_and_the_duration(factory, running):
    application, applicant, officer = running
    before = [m.due_date for m in application.milestones]
    r = applicant.post(f"/applications/{application.id}/changes",
                       json={"kind": "extension", "comment": "外方实验设备延期交付", "extend_months": 6})
    assert r.status_code == 201, r.json
    assert r.json["state"] == "submitted" and r.json["proposal"] == {"extend_months": 6}

    r = officer.post(f"/applications/{application.id}/changes/{r.json['id']}/transitions/approve", json={})
    assert r.status_code == 200, r.json
    assert r.json["state"] == "approved" and r.json["decided_at"]

    after = factory.reload(application.id)
    assert after.duration_months == application.duration_months + 6
    assert after.version == application.version + 1
    for old, milestone in zip(before, after.milestones):
        assert (milestone.due_date.year * 12 + milestone.due_date.month) - (old.year * 12 + old.month) == 6
    history = officer.get(f"/applications/{application.id}/history").json["items"]
    assert [e["trigger"] for e in history[-2:]] == ["request", "approve"]
    assert history[-1]["data"]["duration_months"] == [36, 42]


@pytest.mark.parametrize("kind, proposal, check", [
    ("budget_reallocation", {"budget": {"central": 2_700_000, "local_matching": 1_500_000, "self_raised": 0}},
     lambda a: (a.budget_central, a.budget_local_matching) == (2_700_000, 1_500_000)),  # central as approved
    ("partner_change", {"partners": [{"name": "Tokyo Institute of Technology", "country": "JP",
                                      "kind": "university"}]},
     lambda a: [(p.name, p.country) for p in a.partners] == [("Tokyo Institute of Technology", "JP")]),
    ("pi_change", {"principal_investigator": "王晓明"}, lambda a: a.principal_investigator == "王晓明"),
])
def test_each_kind_of_change_is_carried_into_the_project(factory, running, kind, proposal, check):
    application, applicant, officer = running
    r = applicant.post(f"/applications/{application.id}/changes", json={"kind": kind, "comment": "原因", **proposal})
    assert r.status_code == 201, r.json
    officer.post(f"/applications/{application.id}/changes/{r.json['id']}/transitions/approve", json={})
    assert check(factory.reload(application.id))


def test_a_refusal_needs_a_reason_and_changes_nothing_in_the_project(factory, running):
    application, applicant, officer = running
    change = applicant.post(f"/applications/{application.id}/changes",
                            json={"kind": "pi_change", "comment": "调动", "principal_investigator": "李华"}).json
    path = f"/applications/{application.id}/changes/{change['id']}/transitions/refuse"
    assert officer.post(path, json={}).status_code == 422
    r = officer.post(path, json={"comment": "未提供新负责人的资质证明"})
    assert r.json["state"] == "refused"
    assert factory.reload(application.id).principal_investigator is None
    again = officer.post(f"/applications/{application.id}/changes/{change['id']}/transitions/approve", json={})
    assert again.status_code == 409


@pytest.mark.parametrize("body, field", [
    ({"kind": "extension", "comment": "x"}, "extend_months"),
    ({"kind": "extension", "comment": "x", "extend_months": 6, "principal_investigator": "A"},
     "principal_investigator"),
    ({"kind": "extension", "comment": " ", "extend_months": 6}, "comment"),
    ({"kind": "partner_change", "comment": "x", "partners": [{"name": "清华大学", "country": "CN",
                                                               "kind": "university"}]}, "partners"),
    ({"kind": "rename", "comment": "x"}, "kind"),
])
def test_malformed_requests_are_refused_with_field_messages(running, body, field):
    application, applicant, _ = running
    r = applicant.post(f"/applications/{application.id}/changes", json=body)
    assert r.status_code == 422 and field in r.json["details"]


def test_who_may_ask_and_decide(factory, api, running):
    application, applicant, officer = running
    stranger = api(factory.user("applicant"))
    body = {"kind": "extension", "comment": "x", "extend_months": 3}
    assert stranger.post(f"/applications/{application.id}/changes", json=body).status_code == 404
    assert officer.post(f"/applications/{application.id}/changes", json=body).status_code == 403
    change = applicant.post(f"/applications/{application.id}/changes", json=body).json
    assert applicant.post(f"/applications/{application.id}/changes", json=body).status_code == 409
    decide = f"/applications/{application.id}/changes/{change['id']}/transitions/approve"
    assert applicant.post(decide, json={}).status_code == 403


def test_changes_only_while_the_project_runs(factory, api):
    application, cast = factory.application("approved")
    r = api(cast.applicant).post(f"/applications/{application.id}/changes",
                                 json={"kind": "extension", "comment": "x", "extend_months": 3})
    assert r.status_code == 409


def test_a_budget_change_above_the_approved_amount_is_refused(factory, running):
    application, applicant, officer = running
    r = applicant.post(f"/applications/{application.id}/changes", json={
        "kind": "budget_reallocation", "comment": "x",
        "budget": {"central": application.approved_amount + 1, "local_matching": 0, "self_raised": 0}})
    assert r.status_code == 422 and "central" in r.json["details"]["budget"], r.json
    assert applicant.get(f"/applications/{application.id}/changes").json["items"] == []
    assert factory.reload(application.id).budget_central == application.budget_central
