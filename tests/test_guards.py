"""Every guard refuses with a reason a person can act on, and the refusal changes nothing (DESIGN §1, §3)."""
from __future__ import annotations

import datetime as dt
from functools import cached_property

import pytest

from workflow import db
from workflow.models import Application, Body, Institution

from .factories import events_after, snapshot, upload


_TODAY = dt.date.today()
MILESTONES = [{"title": "联合实验", "due_date": (_TODAY + dt.timedelta(days=180)).isoformat()},
              {"title": "中期交流", "due_date": (_TODAY + dt.timedelta(days=360)).isoformat()}]
OUTCOMES = {"papers": 3, "patents": 1}
REVIEW = {"score": 80, "opinion": "合作基础扎实。", "recommendation": "fund"}


class Desk:
    """One cast with a signed-in client for each of its people, plus an admin."""

    def __init__(self, factory, api, cast=None):
        self.factory, self.api = factory, api
        self.cast = cast or factory.cast()

    # Signed in on first use: each sign-in is a write.
    applicant = cached_property(lambda self: self.api(self.cast.applicant))
    recommender = cached_property(lambda self: self.api(self.cast.recommender))
    officer = cached_property(lambda self: self.api(self.cast.officer))
    reviewers = cached_property(lambda self: [self.api(r) for r in self.cast.reviewers])
    admin = cached_property(lambda self: self.api(self.factory.user("admin")))

    def application(self, state: str, call=None, **fields) -> int:
        app, _ = self.factory.application(state, cast=self.cast, call=call or self.factory.call(), **fields)
        return app.id

    def upload(self, app_id: int, *kinds: str) -> None:
        for kind in kinds:
            assert upload(self.applicant, app_id, kind).status_code == 201

    def assign(self, app_id: int, index: int, declare: bool = True) -> int:
        """Assign reviewer `index`; they declare no conflict too (review workflow v2) unless `declare` is False."""
        r = self.officer.post(f"/applications/{app_id}/reviews", json={"reviewer_id": self.cast.reviewers[index].id})
        assert r.status_code == 201, r.json
        if declare:
            assert self.review(app_id, r.json["id"], index, "declare_no_conflict", {}).status_code == 200
        return r.json["id"]

    def review(self, app_id: int, review_id: int, index: int, trigger: str, body: dict):
        return self.reviewers[index].post(f"/applications/{app_id}/reviews/{review_id}/transitions/{trigger}",
                                          json=body)

    def milestone(self, client, app_id: int, mid: int, trigger: str, body: dict):
        return client.post(f"/applications/{app_id}/milestones/{mid}/transitions/{trigger}", json=body)

    def milestones(self, app_id: int) -> list[dict]:
        return self.applicant.get(f"/applications/{app_id}/milestones").json["items"]


@pytest.fixture
def desk(factory, api):
    return Desk(factory, api)


def refused(factory, app_id, request, code, error, message, details=None, case=None, **where):
    """Send `request()`; it must be refused as told and leave everything as it was."""
    before = snapshot(factory, app_id, **where)
    r = request()
    assert r.status_code == code, (case, r.json)
    assert r.json["error"] == error, (case, r.json)
    assert message in r.json["message"], (case, r.json)
    if details is not None:
        assert details(r.json["details"]), (case, r.json)
    assert snapshot(factory, app_id, **where) == before, case
    return r.json


def write(factory, model, row_id, **values):
    with factory.app.app_context(), db.write_session() as s:
        row = s.get(model, row_id)
        for key, value in values.items():
            setattr(row, key, value)


# --- submit / resubmit -----------------------------------------------------------


def test_submit_refused_when_the_call_is_closed(factory, desk):
    call = factory.call()
    app_id = desk.application("draft", call=call)
    desk.upload(app_id, "proposal", "cooperation_agreement")
    now = dt.datetime.now(dt.timezone.utc)
    r = desk.admin.patch(f"/calls/{call.id}", json={"opens_at": (now - dt.timedelta(days=90)).isoformat(),
                                                     "closes_at": (now - dt.timedelta(minutes=1)).isoformat()})
    assert r.status_code == 200, r.json
    body = refused(factory, app_id, lambda: desk.applicant.fire(app_id, "submit"), 409, "guard_failed",
                   f"call {call.code} is not open", lambda d: d == {"call_id": call.id})
    assert "window" in body["message"]


def test_resubmit_refused_when_the_call_has_closed_since(factory, desk):
    call = factory.call()
    app_id = desk.application("revision_requested", call=call)
    write(factory, type(call), call.id, closes_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    refused(factory, app_id, lambda: desk.applicant.fire(app_id, "resubmit"), 409, "guard_failed", "is not open")


FOREIGN_PARTNER = [{"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"}]
INCOMPLETE = {
    "no summary": ({"summary": ""}, "summary", "required before submission"),
    "no field": ({"field": None}, "field", "required before submission"),
    "no cooperation type": ({"cooperation_type": None}, "cooperation_type", "required before submission"),
    "no duration": ({"duration_months": None}, "duration_months", "required before submission"),
    "no central funds": ({"budget": {"central": 0, "local_matching": 100, "self_raised": 0}}, "budget",
                         "more than zero"),
    "no partner": ({"partners": []}, "partners", "foreign partner"),
    "only domestic partners": ({"partners": [{"name": "清华大学", "country": "CN", "kind": "university"}]},
                               "partners", "foreign partner"),
}


def test_submit_refused_when_the_application_is_incomplete(factory, desk):
    call = factory.call()
    for case, (fields, key, reason) in INCOMPLETE.items():
        app_id = desk.application("draft", call=call, **fields)
        desk.upload(app_id, "proposal", "cooperation_agreement")
        body = refused(factory, app_id, lambda: desk.applicant.fire(app_id, "submit"), 422, "invalid_input",
                       "the application is incomplete", lambda d: set(d) == {key}, case)
        assert reason in body["details"][key][0], case


def test_submit_refused_when_the_call_does_not_take_the_field(factory, desk):
    call = factory.call(fields=["biology_health", "major_diseases"])
    app_id = desk.application("draft", call=call, field="energy_resources")
    desk.upload(app_id, "proposal", "cooperation_agreement")
    body = refused(factory, app_id, lambda: desk.applicant.fire(app_id, "submit"), 422, "invalid_input",
                   "incomplete", lambda d: set(d) == {"field"})
    assert body["details"]["field"] == ["this call accepts only biology_health, major_diseases"]


@pytest.mark.parametrize("change", [{"channel": "embassy"}, {"retired": True}], ids=["other channel", "retired"])
def test_submit_refused_when_the_body_cannot_recommend_it(change, factory, desk):
    app_id = desk.application("draft")
    desk.upload(app_id, "proposal", "cooperation_agreement")
    write(factory, Body, desk.cast.recommender.body_id, **change)
    body = refused(factory, app_id, lambda: desk.applicant.fire(app_id, "submit"), 422, "invalid_input",
                   "incomplete", lambda d: set(d) == {"body_id"})
    assert "active body of the application's channel" in body["details"]["body_id"][0]


def test_a_draft_cannot_name_a_body_of_another_channel(factory, desk):
    app_id = desk.application("draft")
    embassy = factory.body("embassy", "embassy_section")
    refused(factory, app_id, lambda: desk.applicant.patch(f"/applications/{app_id}", json={"body_id": embassy.id}),
            422, "invalid_input", "recommends through the embassy channel", lambda d: "body_id" in d)


def test_submit_refused_without_proposal_and_cooperation_agreement(factory, desk):
    call = factory.call()
    for have, missing in (((), ["cooperation_agreement", "proposal"]), (("proposal",), ["cooperation_agreement"]),
                          (("cooperation_agreement",), ["proposal"])):
        app_id = desk.application("draft", call=call)
        desk.upload(app_id, *have)
        refused(factory, app_id, lambda: desk.applicant.fire(app_id, "submit"), 422, "invalid_input",
                "attachments are missing", lambda d: d == {"attachments": [f"{k} is required" for k in missing]},
                have)


@pytest.mark.parametrize("rules, budget, message", [
    ({"min_matching_ratio": 0.5}, {"central": 3_000_000, "local_matching": 800_000, "self_raised": 400_000},
     "at least 50% of central funds (now 40%)"),
    ({"max_central_per_project": 2_000_000}, {"central": 2_000_001, "local_matching": 0, "self_raised": 0},
     "may not exceed 2000000 yuan per project"),
], ids=["matching ratio", "central cap"])
def test_submit_refused_when_the_budget_breaks_the_calls_rules(rules, budget, message, factory, desk):
    call = factory.call(**rules)
    app_id = desk.application("draft", call=call, budget=budget)
    desk.upload(app_id, "proposal", "cooperation_agreement")
    body = refused(factory, app_id, lambda: desk.applicant.fire(app_id, "submit"), 422, "invalid_input",
                   "budget breaks the call's rules", lambda d: set(d) == {"budget"})
    assert message in body["details"]["budget"][0]


@pytest.mark.parametrize("rules, budget", [
    ({"min_matching_ratio": 0.5}, {"central": 3_000_000, "local_matching": 1_000_000, "self_raised": 500_000}),
    ({"max_central_per_project": 3_000_000}, {"central": 3_000_000, "local_matching": 0, "self_raised": 0}),
], ids=["ratio exactly met", "cap exactly met"])
def test_submit_passes_at_the_edge_of_the_budget_rules(rules, budget, factory, desk):
    app_id = desk.application("draft", call=factory.call(**rules), budget=budget)
    desk.upload(app_id, "proposal", "cooperation_agreement")
    r = desk.applicant.fire(app_id, "submit")
    assert r.status_code == 200 and r.json["state"] == "pending_recommendation", r.json


# --- formal review: sensitive technology -----------------------------------------


@pytest.mark.parametrize("kind, sensitive, passes", [
    ("foreign_invested_enterprise", True, False),
    ("foreign_institution", True, False),
    ("university", True, True),
    ("enterprise", True, True),
    ("foreign_invested_enterprise", False, True),
    ("foreign_institution", False, True),
])
def test_sensitive_technology_screening(kind, sensitive, passes, factory, api):
    applicant = factory.user("applicant", institution=factory.institution(kind))
    desk = Desk(factory, api, factory.cast(applicant=applicant))
    app_id = desk.application("formal_review", sensitive_technology=sensitive)
    if passes:
        r = desk.officer.fire(app_id, "pass_formal_review")
        assert r.status_code == 200 and r.json["state"] == "expert_review", r.json
    else:
        refused(factory, app_id, lambda: desk.officer.fire(app_id, "pass_formal_review"), 409, "guard_failed",
                "sensitive technology is closed to foreign-invested and foreign applicants",
                lambda d: d == {"institution_kind": kind})


def test_sensitive_technology_flagged_by_the_fund_blocks_a_foreign_applicant(factory, api):
    applicant = factory.user("applicant", institution=factory.institution("foreign_invested_enterprise"))
    desk = Desk(factory, api, factory.cast(applicant=applicant))
    app_id = desk.application("formal_review", sensitive_technology=False)
    write(factory, Application, app_id, sensitive_flagged=True)
    refused(factory, app_id, lambda: desk.officer.fire(app_id, "pass_formal_review"), 409, "guard_failed",
            "sensitive technology")


# --- expert review ---------------------------------------------------------------


def test_a_manual_close_review_needs_the_quorum_or_the_reason(factory, desk):
    app_id = desk.application("expert_review")
    refused(factory, app_id, lambda: desk.officer.fire(app_id, "close_review", comment="尽快上会"), 409,
            "guard_failed", "no review is in yet", lambda d: d == {"submitted": 0, "quorum": 3})
    for submitted in (1, 2):
        i = submitted - 1
        assert desk.review(app_id, desk.assign(app_id, i), i, "submit_review", REVIEW).status_code == 200
        refused(factory, app_id, lambda: desk.officer.fire(app_id, "close_review"), 422, "invalid_input",
                f"{submitted} of the 3 reviews needed are in", lambda d: "comment" in d)
    declined = desk.assign(app_id, 2)  # a declined review does not count
    assert desk.review(app_id, declined, 2, "decline", {"comment": "利益冲突"}).status_code == 200
    refused(factory, app_id, lambda: desk.officer.fire(app_id, "close_review"), 422, "invalid_input",
            "2 of the 3 reviews needed are in")


def test_submit_review_only_during_expert_review(factory, desk):
    app_id = desk.application("expert_review", call=factory.call(quorum=2))
    late = desk.assign(app_id, 2)
    for i in (0, 1):
        assert desk.review(app_id, desk.assign(app_id, i), i, "submit_review", REVIEW).status_code == 200
    refused(factory, app_id, lambda: desk.review(app_id, late, 2, "submit_review", REVIEW), 409, "guard_failed",
            "reviews are taken only during expert review (the application is decision_pending)",
            subject="review", subject_id=late)


def test_submit_review_refused_once_the_application_is_withdrawn(factory, desk):
    app_id = desk.application("expert_review")
    rid = desk.assign(app_id, 0)
    assert desk.applicant.fire(app_id, "withdraw").json["state"] == "withdrawn"
    refused(factory, app_id, lambda: desk.review(app_id, rid, 0, "submit_review", REVIEW), 409, "guard_failed",
            "only during expert review", subject="review", subject_id=rid)


BAD_REVIEWS = [
    ({"score": 100.5}, "score"), ({"score": -1}, "score"), ({"score": -0.01}, "score"), ({"score": "high"}, "score"),
    ({"score": True}, "score"), ({"score": None}, "score"),
    ({"recommendation": "maybe"}, "recommendation"), ({"recommendation": "FUND"}, "recommendation"),
    ({"recommendation": None}, "recommendation"), ({"opinion": "   "}, "opinion"), ({"opinion": None}, "opinion"),
]


def test_submit_review_refuses_an_incomplete_or_out_of_range_review(factory, desk):
    app_id = desk.application("expert_review")
    rid = desk.assign(app_id, 0)
    for change, field in BAD_REVIEWS:
        body = {k: v for k, v in {**REVIEW, **change}.items() if v is not None}
        refused(factory, app_id, lambda: desk.review(app_id, rid, 0, "submit_review", body), 422, "invalid_input",
                "", lambda d: field in d, change, subject="review", subject_id=rid)


def test_a_score_of_0_or_100_is_a_valid_review(factory, desk):
    app_id = desk.application("expert_review")
    for i, score in enumerate((0, 100)):
        r = desk.review(app_id, desk.assign(app_id, i), i, "submit_review", {**REVIEW, "score": score})
        assert r.status_code == 200 and r.json["score"] == score, r.json


# --- decision --------------------------------------------------------------------


def test_approve_refuses_a_missing_or_excessive_amount(factory, desk):
    app_id = desk.application("decision_pending")
    for body, message in (({}, "approved amount is required"),
                          ({"approved_amount": 3_000_001}, "exceeds the central funds requested"),
                          ({"approved_amount": 0}, "not valid"), ({"approved_amount": -5}, "not valid"),
                          ({"approved_amount": 2.5e6}, "not valid"), ({"approved_amount": "2500000"}, "not valid")):
        refused(factory, app_id, lambda: desk.officer.fire(app_id, "approve", **body), 422, "invalid_input",
                message, lambda d: "approved_amount" in d, body)
    r = desk.officer.fire(app_id, "approve", approved_amount=3_000_000)  # all that was asked for
    assert r.status_code == 200 and r.json["approved_amount"] == 3_000_000, r.json


def test_approve_refuses_more_than_is_left_of_the_calls_budget(factory, desk):
    call = factory.call(total_budget=5_000_000)
    first, second = desk.application("decision_pending", call=call), desk.application("decision_pending", call=call)
    assert desk.officer.fire(first, "approve", approved_amount=3_000_000).status_code == 200
    refused(factory, second, lambda: desk.officer.fire(second, "approve", approved_amount=2_000_001), 409,
            "guard_failed", "only 2000000 yuan of the call's budget is left",
            lambda d: d == {"approved_amount": ["at most 2000000"]})
    r = desk.officer.fire(second, "approve", approved_amount=2_000_000)  # exactly what is left
    assert r.status_code == 200 and r.json["approved_amount"] == 2_000_000, r.json


# --- agreement and performance ---------------------------------------------------


def test_sign_agreement_needs_the_signed_agreement_uploaded(factory, desk):
    app_id = desk.application("approved")
    refused(factory, app_id, lambda: desk.applicant.fire(app_id, "sign_agreement", milestones=MILESTONES), 422,
            "invalid_input", "upload the signed project agreement (任务书) first",
            lambda d: d == {"attachments": ["signed_agreement is required"]})


BAD_MILESTONES = [
    None, [], "2027-06-30", [{"title": "联合实验", "due_date": "2027-02-30"}],
    [{"title": "联合实验", "due_date": "next spring"}], [{"title": "联合实验", "due_date": 20270630}],
    [{"title": "联合实验"}], [{"title": "", "due_date": "2027-06-30"}], [{"due_date": "2027-06-30"}],
    [MILESTONES[0], {"title": "中期交流", "due_date": "2027-13-01"}],
]


def test_sign_agreement_needs_valid_milestones(factory, desk):
    app_id = desk.application("approved")
    desk.upload(app_id, "signed_agreement")
    for milestones in BAD_MILESTONES:
        body = {} if milestones is None else {"milestones": milestones}
        refused(factory, app_id, lambda: desk.applicant.fire(app_id, "sign_agreement", **body), 422,
                "invalid_input", "", lambda d: "milestones" in d, milestones)
    assert desk.milestones(app_id) == []


def test_request_closeout_needs_every_milestone_accepted(factory, desk):
    app_id = desk.application("in_progress")
    desk.upload(app_id, "final_report")
    first, *rest = desk.milestones(app_id)
    request = lambda: desk.applicant.fire(app_id, "request_closeout", outcomes=OUTCOMES)  # noqa: E731
    refused(factory, app_id, request, 409, "guard_failed", "every milestone must be accepted before close-out",
            lambda d: d == {"milestones_not_accepted": [1, 2, 3]})
    assert desk.milestone(desk.applicant, app_id, first["id"], "report", {"report": "完成"}).status_code == 200
    refused(factory, app_id, request, 409, "guard_failed", "every milestone must be accepted",
            lambda d: d == {"milestones_not_accepted": [1, 2, 3]})  # reported is not accepted
    assert desk.milestone(desk.officer, app_id, first["id"], "accept", {}).status_code == 200
    refused(factory, app_id, request, 409, "guard_failed", "every milestone must be accepted",
            lambda d: d == {"milestones_not_accepted": [2, 3]})


def _all_accepted(desk, app_id):
    for m in desk.milestones(app_id):
        assert desk.milestone(desk.applicant, app_id, m["id"], "report", {"report": "完成"}).status_code == 200
        assert desk.milestone(desk.officer, app_id, m["id"], "accept", {}).status_code == 200


def test_request_closeout_needs_the_final_report(factory, desk):
    app_id = desk.application("in_progress")
    _all_accepted(desk, app_id)
    refused(factory, app_id, lambda: desk.applicant.fire(app_id, "request_closeout", outcomes=OUTCOMES), 422,
            "invalid_input", "attach the final report first",
            lambda d: d == {"attachments": ["final_report is required"]})


def test_request_closeout_needs_valid_outcomes(factory, desk):
    app_id = desk.application("in_progress")
    _all_accepted(desk, app_id)
    desk.upload(app_id, "final_report")
    for outcomes in (None, {"papers": -1}, {"papers": "3"}, {"papers": 2.5}, {"citations": 5}, {"patents": 10**7},
                     [3, 1], "many"):
        body = {} if outcomes is None else {"outcomes": outcomes}
        refused(factory, app_id, lambda: desk.applicant.fire(app_id, "request_closeout", **body), 422,
                "invalid_input", "", lambda d: "outcomes" in d, outcomes)


def test_no_milestone_report_while_the_project_is_suspended(factory, desk):
    app_id = desk.application("suspended")
    m = desk.milestones(app_id)[0]
    refused(factory, app_id, lambda: desk.milestone(desk.applicant, app_id, m["id"], "report", {"report": "进展"}),
            409, "guard_failed", "only while the project is in progress (it is suspended)",
            lambda d: d == {"application_state": "suspended"}, subject="milestone", subject_id=m["id"])
    assert desk.officer.fire(app_id, "resume").json["state"] == "in_progress"
    r = desk.milestone(desk.applicant, app_id, m["id"], "report", {"report": "进展"})
    assert r.status_code == 200 and r.json["state"] == "reported", r.json


def test_a_milestone_report_needs_its_text(factory, desk):
    app_id = desk.application("in_progress")
    m = desk.milestones(app_id)[0]
    for report in (None, "", "   "):
        body = {} if report is None else {"report": report}
        refused(factory, app_id, lambda: desk.milestone(desk.applicant, app_id, m["id"], "report", body), 422,
                "invalid_input", "the progress report is required", lambda d: d == {"report": ["required"]},
                report, subject="milestone", subject_id=m["id"])


# --- reasons ---------------------------------------------------------------------

COMMENTED = [  # (state, trigger, who)
    ("pending_recommendation", "recommend", "recommender"),
    ("pending_recommendation", "decline_recommendation", "recommender"),
    ("pending_recommendation", "return_for_revision", "recommender"),
    ("formal_review", "return_for_revision", "officer"),
    ("formal_review", "reject_ineligible", "officer"),
    ("decision_pending", "reject", "officer"),
    ("in_progress", "suspend", "officer"),
    ("in_progress", "terminate", "officer"),
    ("suspended", "terminate", "officer"),
    ("closeout_review", "fail_closeout", "officer"),
]


def test_a_reason_is_required(factory, desk):
    call = factory.call()
    for state, trigger, who in COMMENTED:
        app_id = desk.application(state, call=call)
        client = getattr(desk, who)
        for comment in (None, "", "  \n\t ", 42, "理" * 10_001):
            body = {} if comment is None else {"comment": comment}
            refused(factory, app_id, lambda: client.fire(app_id, trigger, **body), 422, "invalid_input", "",
                    lambda d: "comment" in d, (trigger, state, comment))
        before = snapshot(factory, app_id)
        r = client.fire(app_id, trigger, comment="  原因见附件  ")
        assert r.status_code == 200, (trigger, state, r.json)
        event = events_after(factory, before[3])[0]  # a notice it produces follows as an event of its own
        assert (event["trigger"], event["comment"]) == (trigger, "原因见附件")


def test_a_reviewer_declining_gives_a_reason(factory, desk):
    app_id = desk.application("expert_review")
    rid = desk.assign(app_id, 0)
    refused(factory, app_id, lambda: desk.review(app_id, rid, 0, "decline", {}), 422, "invalid_input",
            "a comment giving the reason is required", lambda d: d == {"comment": ["required"]},
            subject="review", subject_id=rid)


def test_returning_a_milestone_report_gives_a_reason(factory, desk):
    app_id = desk.application("in_progress")
    m = desk.milestones(app_id)[0]
    assert desk.milestone(desk.applicant, app_id, m["id"], "report", {"report": "进展"}).status_code == 200
    refused(factory, app_id, lambda: desk.milestone(desk.officer, app_id, m["id"], "return", {"comment": " "}), 422,
            "invalid_input", "a comment giving the reason is required", subject="milestone", subject_id=m["id"])


# --- conflict of interest ----------------------------------------------------------


def _assign_refused(factory, desk, app_id, reviewer, message):
    refused(factory, app_id, lambda: desk.officer.post(f"/applications/{app_id}/reviews",
                                                       json={"reviewer_id": reviewer.id}),
            409, "guard_failed", message,
            lambda d: list(d["reviewer_id"]) == [m for m in d["reviewer_id"] if m.startswith(message)] != [])
    assert desk.officer.get(f"/applications/{app_id}/reviews").json["items"] == []


def test_no_reviewer_from_the_applicant_institution(factory, desk):
    app_id = desk.application("expert_review")
    own = factory.get(Institution, factory.get(Application, app_id).institution_id)
    colleague = factory.user("reviewer", institution=own)
    _assign_refused(factory, desk, app_id, colleague, "the reviewer belongs to the applicant institution")


def test_no_reviewer_from_a_consortium_partner(factory, desk):
    partners = [{"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"},
                {"name": "中国科学院物理研究所", "country": "CN", "kind": "institute"}]
    app_id = desk.application("expert_review", partners=partners)
    for partner_name in ("中国科学院物理研究所", "Fraunhofer ISE", "FRAUNHOFER ise"):
        partner_staff = factory.user("reviewer", institution=factory.institution("institute", name=partner_name))
        _assign_refused(factory, desk, app_id, partner_staff, "the reviewer belongs to a consortium partner")


def test_an_unrelated_reviewer_may_be_assigned_once(factory, desk):
    app_id = desk.application("expert_review")
    desk.assign(app_id, 0)
    refused(factory, app_id, lambda: desk.officer.post(f"/applications/{app_id}/reviews",
                                                       json={"reviewer_id": desk.cast.reviewers[0].id}),
            409, "guard_failed", "already assigned")
