"""The rules of change requests: one open per kind (also under concurrent requests), and each kind's own rules."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from workflow import audit, db
from workflow.errors import GuardFailed, InvalidInput
from workflow.services import changes

from .conftest import ApiClient
from .factories import Factory


@pytest.fixture
def running(factory, api):
    application, cast = factory.application("in_progress", call=factory.call(min_matching_ratio=0.5))
    return application, cast, api(cast.applicant), api(cast.officer)


def project_rows(app, app_id: int) -> dict:
    """Every column of the application, its partners and milestones, straight from the database."""
    with app.extensions["fundflow.engine"].connect() as c:
        one = lambda sql: [dict(r) for r in c.execute(text(sql), {"i": app_id}).mappings()]  # noqa: E731
        return {"application": one("SELECT * FROM applications WHERE id = :i"),
                "partners": one("SELECT * FROM partners WHERE application_id = :i ORDER BY id"),
                "milestones": one("SELECT * FROM milestones WHERE application_id = :i ORDER BY id")}


def open_requests(app, app_id: int, kind: str) -> int:
    with app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT count(*) FROM change_requests WHERE application_id = :i AND kind = :k "
                              "AND state = 'submitted'"), {"i": app_id, "k": kind}).scalar()


def _race(calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


def test_twenty_concurrent_extension_requests_leave_exactly_one_open(app):
    factory = Factory(app)
    application, cast = factory.application("in_progress")

    def ask():
        with app.app_context():
            try:
                changes.request_change(cast.applicant, application.id, "extension", "外方设备延期交付",
                                       {"extend_months": 6})
                return "filed"
            except GuardFailed as err:
                assert err.details == {"kind": ["already open"]}
                return "refused"

    outcomes = _race([ask] * 20)
    assert sorted(outcomes) == ["filed"] + ["refused"] * 19
    assert open_requests(app, application.id, "extension") == 1
    with app.app_context():
        _count, broken = audit.verify(db.session())
    assert broken is None


def test_concurrent_requests_over_http_are_told_409(app):
    # Six at once: each request holds two connections (its read session and the write), and the
    # pool's fifteen must not run dry, which would be a test of the pool rather than of the rule.
    factory = Factory(app)
    application, cast = factory.application("in_progress")
    token = factory.token(cast.applicant)
    clients = [ApiClient(app.test_client(), token) for _ in range(6)]
    responses = _race([lambda c=c: c.post(f"/applications/{application.id}/changes", json={
        "kind": "extension", "comment": "外方设备延期交付", "extend_months": 6}) for c in clients])
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [r.json for r in responses]
    assert all(r.json["details"] == {"kind": ["already open"]} for r in responses if r.status_code == 409)
    assert open_requests(app, application.id, "extension") == 1


def test_a_second_open_request_of_a_kind_is_refused_but_another_kind_is_taken(factory, running):
    application, _cast, applicant, _ = running
    body = {"kind": "pi_change", "comment": "调动", "principal_investigator": "李华"}
    assert applicant.post(f"/applications/{application.id}/changes", json=body).status_code == 201
    before = project_rows(factory.app, application.id)
    r = applicant.post(f"/applications/{application.id}/changes", json={**body, "principal_investigator": "王芳"})
    assert r.status_code == 409 and r.json["details"] == {"kind": ["already open"]}
    assert open_requests(factory.app, application.id, "pi_change") == 1
    assert project_rows(factory.app, application.id) == before
    r = applicant.post(f"/applications/{application.id}/changes",
                       json={"kind": "extension", "comment": "延期", "extend_months": 3})
    assert r.status_code == 201


def budget(central, local, self_raised=0):
    return {"kind": "budget_reallocation", "comment": "调整配套结构",
            "budget": {"central": central, "local_matching": local, "self_raised": self_raised}}


def test_a_reallocation_keeps_the_central_funds_and_the_calls_matching_rule(factory, running):
    application, _cast, applicant, officer = running
    central = application.approved_amount  # 90 % of the 3,000,000 asked for
    before = project_rows(factory.app, application.id)
    for body, line in [(budget(central + 10_000, central), "central"), (budget(central - 10_000, central), "central"),
                       (budget(central, central // 2 - 1), "local_matching")]:  # the call asks for 50 %
        r = applicant.post(f"/applications/{application.id}/changes", json=body)
        assert r.status_code == 422, r.json
        assert list(r.json["details"]["budget"]) == [line]
    assert project_rows(factory.app, application.id) == before
    assert applicant.get(f"/applications/{application.id}/changes").json["items"] == []

    r = applicant.post(f"/applications/{application.id}/changes", json=budget(central, central // 4, central // 4))
    assert r.status_code == 201, r.json
    r = officer.post(f"/applications/{application.id}/changes/{r.json['id']}/transitions/approve", json={})
    assert r.status_code == 200, r.json
    after = factory.reload(application.id)
    assert (after.budget_central, after.budget_local_matching, after.budget_self_raised) == (
        central, central // 4, central // 4)


def test_a_partner_change_keeps_a_foreign_partner(app, factory, running):
    application, cast, applicant, _ = running
    domestic = [{"name": "清华大学", "country": "CN", "kind": "university"}]
    r = applicant.post(f"/applications/{application.id}/changes",
                       json={"kind": "partner_change", "comment": "外方退出", "partners": domestic})
    assert r.status_code == 422 and "partners" in r.json["details"]
    with app.test_request_context():  # the service holds the rule too, whatever the caller checked
        with pytest.raises(InvalidInput) as refused:
            changes.request_change(cast.applicant, application.id, "partner_change", "外方退出", {"partners": domestic})
    assert "partners" in refused.value.details
    assert open_requests(app, application.id, "partner_change") == 0


@pytest.mark.parametrize("name", ["   ", "\u3000"])
def test_a_pi_change_names_a_person(factory, running, name):
    application, _cast, applicant, _ = running
    r = applicant.post(f"/applications/{application.id}/changes",
                       json={"kind": "pi_change", "comment": "调动", "principal_investigator": name})
    assert r.status_code == 422 and "principal_investigator" in r.json["details"], r.json


def test_a_pi_change_to_the_current_pi_is_refused(factory, running):
    application, _cast, applicant, officer = running
    r = applicant.post(f"/applications/{application.id}/changes",
                       json={"kind": "pi_change", "comment": "调动", "principal_investigator": "王晓明"})
    officer.post(f"/applications/{application.id}/changes/{r.json['id']}/transitions/approve", json={})
    for same in ("王晓明", " 王晓明 ", "王 晓明"):
        r = applicant.post(f"/applications/{application.id}/changes",
                           json={"kind": "pi_change", "comment": "再次调整", "principal_investigator": same})
        assert r.status_code == 422 and "principal_investigator" in r.json["details"], r.json


@pytest.mark.parametrize("body", [
    {"kind": "extension", "comment": "延期", "extend_months": 6},
    {"kind": "pi_change", "comment": "调动", "principal_investigator": "李华"},
    {"kind": "partner_change", "comment": "更换外方", "partners": [
        {"name": "Tokyo Institute of Technology", "country": "JP", "kind": "university"}]},
])
def test_a_refused_request_changes_nothing(factory, running, body):
    application, _cast, applicant, officer = running
    change = applicant.post(f"/applications/{application.id}/changes", json=body).json
    before = project_rows(factory.app, application.id)
    r = officer.post(f"/applications/{application.id}/changes/{change['id']}/transitions/refuse",
                     json={"comment": "理由不充分"})
    assert r.status_code == 200 and r.json["state"] == "refused"
    assert project_rows(factory.app, application.id) == before
    # and a refused one is no longer open: the same kind may be asked again
    assert applicant.post(f"/applications/{application.id}/changes", json=body).status_code == 201
