"""(state, trigger, role) -> outcome, for every workflow, through the API (DESIGN §2, §3).

Each table is DESIGN §3 written out by hand, independent of states/*.toml. For
every state of the definition, every trigger and every role, either the
transition happens (state to dest, version + 1, exactly one new audit event
naming the actor and role), or it is refused with the right code and nothing
changes: not the state, not the version, not the audit chain.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from workflow.engine import workflow
from workflow.errors import GuardFailed
from workflow.permissions import SYSTEM
from workflow.services.transitions import fire

from .factories import events_after, snapshot, upload


# --- the contract ----------------------------------------------------------------

# (trigger, source) -> (dest, roles): DESIGN §3, application lifecycle.
LIFECYCLE = {
    ("submit", "draft"): ("pending_recommendation", {"applicant"}),
    ("recommend", "pending_recommendation"): ("formal_review", {"recommender"}),
    ("decline_recommendation", "pending_recommendation"): ("not_recommended", {"recommender"}),
    ("return_for_revision", "pending_recommendation"): ("revision_requested", {"recommender"}),
    ("return_for_revision", "formal_review"): ("revision_requested", {"officer"}),
    ("resubmit", "revision_requested"): ("pending_recommendation", {"applicant"}),
    ("pass_formal_review", "formal_review"): ("expert_review", {"officer"}),
    ("reject_ineligible", "formal_review"): ("ineligible", {"officer"}),
    ("close_review", "expert_review"): ("decision_pending", {"officer", "system"}),
    ("reopen_review", "decision_pending"): ("expert_review", {"officer"}),
    ("approve", "decision_pending"): ("approved", {"officer"}),
    ("reject", "decision_pending"): ("rejected", {"officer"}),
    ("sign_agreement", "approved"): ("in_progress", {"applicant"}),
    ("suspend", "in_progress"): ("suspended", {"officer", "system"}),
    ("resume", "suspended"): ("in_progress", {"officer"}),
    ("terminate", "in_progress"): ("terminated", {"officer"}),
    ("terminate", "suspended"): ("terminated", {"officer"}),
    ("request_closeout", "in_progress"): ("closeout_review", {"applicant"}),
    ("accept_closeout", "closeout_review"): ("completed", {"officer"}),
    ("fail_closeout", "closeout_review"): ("failed_acceptance", {"officer"}),
    **{("withdraw", s): ("withdrawn", {"applicant"}) for s in (
        "draft", "pending_recommendation", "revision_requested", "formal_review", "expert_review",
        "decision_pending")},
}
COMMENT_REQUIRED = {"recommend", "decline_recommendation", "return_for_revision", "reject_ineligible", "reject",
                    "suspend", "terminate", "fail_closeout", "reopen_review"}

# Review workflow v2: the no-conflict declaration comes before the scoring; a conflict declines from either.
REVIEW = {
    ("declare_no_conflict", "assigned"): ("accepted", {"reviewer"}),
    ("submit_review", "accepted"): ("submitted", {"reviewer"}),
    ("decline", "assigned"): ("declined", {"reviewer"}),
    ("decline", "accepted"): ("declined", {"reviewer"}),
}
MILESTONE = {
    **{("report", s): ("reported", {"applicant"}) for s in ("planned", "returned", "overdue")},
    ("accept", "reported"): ("accepted", {"officer"}),
    ("return", "reported"): ("returned", {"officer"}),
    **{("mark_overdue", s): ("overdue", {"system"}) for s in ("planned", "returned")},
}

ROLES = ("applicant", "recommender", "officer", "admin", "reviewer")
ERROR_CODES = {403: {"not_permitted"}, 404: {"not_found"}, 409: {"transition_refused", "guard_failed"},
               422: {"invalid_input"}}

# What the factory's road leaves behind: drafts withdrawn before submission are
# never routed; reviewers are assigned from expert review on (the probe of
# expert_review assigns one itself).
NEVER_SUBMITTED = {"draft", "withdrawn"}
REVIEWED = {"expert_review", "decision_pending", "approved", "in_progress", "suspended", "closeout_review",
            "completed", "rejected", "terminated", "failed_acceptance"}


def sees(role: str, state: str) -> bool:
    """DESIGN §2: who may see an application in `state` (others are told it does not exist)."""
    if role in ("applicant", "admin"):  # the applicant's own institution; admins see everything
        return True
    if role in ("recommender", "officer"):
        return state not in NEVER_SUBMITTED
    return state in REVIEWED  # reviewers: only what is assigned to them


def outcome(table: dict, state: str, trigger: str, role: str) -> int | str:
    """The destination state, or the HTTP code of the refusal."""
    fired_as = "officer" if role == "admin" else role
    if not any(fired_as in roles for (t, _), (_, roles) in table.items() if t == trigger):
        return 403  # this role never fires this trigger
    entry = table.get((trigger, state))
    if entry is None:
        return 409  # not from this state
    dest, roles = entry
    return dest if fired_as in roles else 403


# --- the scene -------------------------------------------------------------------

_TODAY = dt.date.today()
MILESTONES = [{"title": "联合实验平台建成", "due_date": (_TODAY + dt.timedelta(days=180)).isoformat()},
              {"title": "中期交流", "due_date": (_TODAY + dt.timedelta(days=360)).isoformat()}]
OUTCOMES = {"papers": 4, "patents": 1, "standards": 0, "technologies_transferred": 1, "experts_engaged": 3,
            "researchers_trained": 6}
REVIEW_BODY = {"score": 84.5, "opinion": "合作基础扎实，目标明确。", "recommendation": "fund"}


@dataclasses.dataclass
class Scene:
    """One cast (applicant, recommender, officer, reviewers), an admin and a signed-in client per role."""

    factory: object
    api: object

    def __post_init__(self):
        self.cast = self.factory.cast()
        self.call = self.factory.call()
        self.actors = {"applicant": self.cast.applicant, "recommender": self.cast.recommender,
                       "officer": self.cast.officer, "admin": self.factory.user("admin"),
                       "reviewer": self.cast.reviewers[0], "other_reviewer": self.cast.reviewers[1],
                       "outside_reviewer": self.cast.reviewers[2]}
        self.clients = {role: self.api(a) for role, a in self.actors.items()}

    def application(self, state: str, call=None) -> int:
        app, _ = self.factory.application(state, cast=self.cast, call=call or self.call)
        return app.id

    def upload(self, app_id: int, *kinds: str) -> None:
        for kind in kinds:
            r = upload(self.clients["applicant"], app_id, kind)
            assert r.status_code == 201, r.json

    def assign(self, app_id: int, role: str) -> int:
        r = self.clients["officer"].post(f"/applications/{app_id}/reviews", json={"reviewer_id": self.actors[role].id})
        assert r.status_code == 201, r.json
        return r.json["id"]

    def declared(self, app_id: int, role: str) -> int:
        """Assigned, and the reviewer has declared no conflict."""
        review_id = self.assign(app_id, role)
        r = self.review(app_id, review_id, role, "declare_no_conflict", {})
        assert r.status_code == 200, r.json
        return review_id

    def review(self, app_id: int, review_id: int, role: str, trigger: str, body: dict):
        return self.clients[role].post(f"/applications/{app_id}/reviews/{review_id}/transitions/{trigger}",
                                       json=body)

    def milestone(self, app_id: int, milestone_id: int, role: str, trigger: str, body: dict):
        return self.clients[role].post(f"/applications/{app_id}/milestones/{milestone_id}/transitions/{trigger}",
                                       json=body)

    def milestones(self, app_id: int) -> list[dict]:
        return self.clients["applicant"].get(f"/applications/{app_id}/milestones").json["items"]


@pytest.fixture
def scene(factory, api):
    return Scene(factory, api)


def assert_refused(factory, response, code, app_id, before, **where):
    assert response.status_code == code, (code, response.status_code, response.json)
    body = response.json
    assert body["error"] in ERROR_CODES[code] and body["message"], body
    assert snapshot(factory, app_id, **where) == before, f"a refused request changed something: {body}"


def assert_moved(factory, response, app_id, before, subject, subject_id, trigger, dest, actor, role):
    assert response.status_code == 200, response.json
    assert response.json["state"] == dest
    state, version, count, head = snapshot(factory, app_id, subject, subject_id)
    assert (state, version) == (dest, before[1] + 1)
    # One event for the transition; documents it produces (a decision notice...) follow as their own events.
    event, *follow_ups = events_after(factory, before[3])
    assert all(e["subject"] == "document" and e["application_id"] == app_id for e in follow_ups), follow_ups
    assert count == before[2] + 1 + len(follow_ups)
    assert (event["subject"], event["subject_id"], event["trigger"]) == (subject, subject_id, trigger)
    assert (event["from_state"], event["to_state"]) == (before[0], dest)
    assert (event["actor_id"], event["role"]) == (actor.id, role)
    return event


# --- the application lifecycle --------------------------------------------------


def happy_steps(scene: Scene, trigger: str, app_id: int) -> list[tuple]:
    """(prepare, body, expected code): inputs left out first (refused), then the full firing."""
    comment = {"comment": f"{trigger} 的理由"}
    if trigger == "submit":
        return [(None, {}, 422), (lambda: scene.upload(app_id, "proposal", "cooperation_agreement"), {}, 200)]
    if trigger in COMMENT_REQUIRED:
        return [(None, {}, 422), (None, {"comment": "   "}, 422), (None, comment, 200)]
    if trigger == "close_review":
        def two_of_three_then_lower_quorum():
            for role in ("reviewer", "other_reviewer"):
                r = scene.review(app_id, scene.declared(app_id, role), role, "submit_review", REVIEW_BODY)
                assert r.status_code == 200, r.json
            r = scene.clients["admin"].patch(f"/calls/{scene.factory.reload(app_id).call_id}", json={"quorum": 2})
            assert r.status_code == 200, r.json
        return [(None, {}, 409), (two_of_three_then_lower_quorum, {}, 200)]
    if trigger == "approve":
        return [(None, {}, 422), (None, {"approved_amount": 2_000_000}, 200)]
    if trigger == "sign_agreement":
        return [(None, {"milestones": MILESTONES}, 422), (lambda: scene.upload(app_id, "signed_agreement"), {}, 422),
                (None, {"milestones": MILESTONES}, 200)]
    if trigger == "request_closeout":
        def accept_every_milestone():
            for m in scene.milestones(app_id):
                assert scene.milestone(app_id, m["id"], "applicant", "report", {"report": "完成"}).status_code == 200
                assert scene.milestone(app_id, m["id"], "officer", "accept", {}).status_code == 200
        return [(None, {"outcomes": OUTCOMES}, 409), (accept_every_milestone, {"outcomes": OUTCOMES}, 422),
                (lambda: scene.upload(app_id, "final_report"), {}, 422), (None, {"outcomes": OUTCOMES}, 200)]
    return [(None, {}, 200)]


def check_effects(scene: Scene, trigger: str, app: dict, event: dict) -> None:
    if trigger in COMMENT_REQUIRED:
        assert event["comment"] == f"{trigger} 的理由"
    if trigger == "approve":
        assert app["approved_amount"] == 2_000_000
    if trigger == "sign_agreement":
        assert [(m["title"], m["due_date"], m["state"]) for m in scene.milestones(app["id"])] == [
            (m["title"], m["due_date"], "planned") for m in MILESTONES]
    if trigger == "request_closeout":
        assert app["outcomes"] == {**OUTCOMES, "base": "none", "base_id": None}
    if trigger == "submit":
        assert app["submitted_at"] is not None


@pytest.mark.parametrize("state", list(workflow("application").states))
def test_application_lifecycle_table(state, scene, factory):
    probe = scene.application(state)
    if state == "expert_review":
        scene.assign(probe, "reviewer")  # an assigned reviewer sees it, and is still refused
    fired = 0
    untouched = snapshot(factory, probe)  # a refusal leaves the probe exactly so
    for trigger in workflow("application").triggers():
        for role in ROLES:
            expected = outcome(LIFECYCLE, state, trigger, role)
            if not sees(role, state):
                expected = 404
            if isinstance(expected, int):
                r = scene.clients[role].fire(probe, trigger, comment="理由", approved_amount=1,
                                              milestones=MILESTONES, outcomes=OUTCOMES)
                assert_refused(factory, r, expected, probe, untouched)
                continue
            # The transition is allowed: on a fresh application, refuse it without its inputs, then fire it.
            call = factory.call() if trigger == "close_review" else None
            app_id = scene.application(state, call=call)
            for prepare, body, code in happy_steps(scene, trigger, app_id):
                if prepare:
                    prepare()
                before = snapshot(factory, app_id)
                r = scene.clients[role].fire(app_id, trigger, **body)
                if code != 200:
                    assert_refused(factory, r, code, app_id, before)
                    continue
                event = assert_moved(factory, r, app_id, before, "application", app_id, trigger, expected,
                                     scene.actors[role], role)
                check_effects(scene, trigger, r.json, event)
                fired += 1
            moved_on = snapshot(factory, probe)  # the chain grew with the fresh application, not the probe
            assert moved_on[:3] == untouched[:3]
            untouched = moved_on
    assert fired == sum(1 for (_, s), (_, roles) in LIFECYCLE.items() if s == state
                        for role in ROLES if ("officer" if role == "admin" else role) in roles and sees(role, state))


def test_every_transition_of_the_definition_is_in_the_table():
    defined = {(t.trigger, s): (t.dest, set(t.roles)) for t in workflow("application").transitions for s in t.source}
    assert defined == LIFECYCLE
    assert {t.trigger for t in workflow("application").transitions if t.comment_required} == COMMENT_REQUIRED
    assert {(t.trigger, s): (t.dest, set(t.roles)) for t in workflow("review").transitions for s in t.source} == REVIEW
    assert {(t.trigger, s): (t.dest, set(t.roles))
            for t in workflow("milestone").transitions for s in t.source} == MILESTONE


def test_the_happy_path_covers_all_nineteen_triggers():
    happy = {t for (t, s), (_, roles) in LIFECYCLE.items() if roles - {"system"}}
    assert len(happy) == 19 and happy == set(workflow("application").triggers())


# --- the review assignment ------------------------------------------------------

REVIEW_ROLES = (*ROLES, "other_reviewer", "outside_reviewer")


def review_in(scene: Scene, state: str) -> tuple[int, int]:
    """A fresh application in expert review with the reviewer's assignment in `state`, another assigned."""
    app_id = scene.application("expert_review")
    review_id = scene.assign(app_id, "reviewer")
    scene.assign(app_id, "other_reviewer")
    if state in ("accepted", "submitted"):
        assert scene.review(app_id, review_id, "reviewer", "declare_no_conflict", {}).status_code == 200
    if state == "submitted":
        assert scene.review(app_id, review_id, "reviewer", "submit_review", REVIEW_BODY).status_code == 200
    elif state == "declined":
        assert scene.review(app_id, review_id, "reviewer", "decline", {"comment": "利益冲突"}).status_code == 200
    return app_id, review_id


@pytest.mark.parametrize("state", list(workflow("review").states))
def test_review_table(state, scene, factory):
    app_id, review_id = review_in(scene, state)
    where = {"subject": "review", "subject_id": review_id}
    untouched = snapshot(factory, app_id, **where)
    for trigger in workflow("review").triggers():
        for role in REVIEW_ROLES:
            if role == "outside_reviewer" or (role == "reviewer" and state == "declined"):
                expected = 404  # not assigned, or declined for a conflict: the application is not theirs to see
            elif role == "other_reviewer":
                expected = 404  # a colleague's assignment: not found, so its state is never told
            else:
                expected = outcome(REVIEW, state, trigger, role)
            if isinstance(expected, int):
                r = scene.review(app_id, review_id, role, trigger, {**REVIEW_BODY, "comment": "理由"})
                assert_refused(factory, r, expected, app_id, untouched, **where)
                continue
            fresh_app, fresh_review = review_in(scene, state)
            good = REVIEW_BODY if trigger == "submit_review" else {} if trigger == "declare_no_conflict" else \
                {"comment": "与申报单位有合作关系，申请回避"}
            fresh = {"subject": "review", "subject_id": fresh_review}
            before = snapshot(factory, fresh_app, **fresh)
            if trigger != "declare_no_conflict":  # the declaration takes no input to leave out
                assert_refused(factory, scene.review(fresh_app, fresh_review, role, trigger, {}), 422, fresh_app,
                               before, **fresh)
            app_before = snapshot(factory, fresh_app)
            r = scene.review(fresh_app, fresh_review, role, trigger, good)
            assert_moved(factory, r, fresh_app, before, "review", fresh_review, trigger, expected,
                         scene.actors[role], role)
            assert snapshot(factory, fresh_app)[:2] == app_before[:2]  # 1 of 3: expert review goes on
            if trigger == "submit_review":
                assert (r.json["score"], r.json["recommendation"]) == (84.5, "fund")
            moved_on = snapshot(factory, app_id, **where)
            assert moved_on[:3] == untouched[:3]
            untouched = moved_on


def test_the_review_that_completes_the_quorum_closes_expert_review_as_the_system(scene, factory):
    app_id = scene.application("expert_review", call=factory.call(quorum=2))
    reviews = [(role, scene.declared(app_id, role)) for role in ("reviewer", "other_reviewer", "outside_reviewer")]

    (role, rid), *rest = reviews
    before = snapshot(factory, app_id)
    assert scene.review(app_id, rid, role, "submit_review", REVIEW_BODY).status_code == 200
    assert snapshot(factory, app_id)[:2] == before[:2]  # one of two: nothing closes

    (role, rid), (last_role, last_rid) = rest
    before = snapshot(factory, app_id)
    r = scene.review(app_id, rid, role, "submit_review", {**REVIEW_BODY, "score": 71})
    assert r.status_code == 200 and r.json["state"] == "submitted", r.json
    state, version, count, _ = snapshot(factory, app_id)
    assert (state, version, count) == ("decision_pending", before[1] + 1, before[2] + 2)
    submitted, closed = events_after(factory, before[3])
    assert (submitted["subject"], submitted["trigger"], submitted["role"]) == ("review", "submit_review", "reviewer")
    assert (closed["subject"], closed["trigger"], closed["from_state"], closed["to_state"]) == (
        "application", "close_review", "expert_review", "decision_pending")
    assert (closed["actor_id"], closed["role"]) == (None, "system")
    # It says why it closed, and which firing it follows (states/review_v2.toml: then).
    data = closed["data"]
    assert data["quorum"] == {"submitted": 2, "quorum": 2}
    assert data["follows"] == {"subject": "review", "id": rid, "trigger": "submit_review"}

    # The review that comes after the quorum is too late.
    before = snapshot(factory, app_id, "review", last_rid)
    r = scene.review(app_id, last_rid, last_role, "submit_review", REVIEW_BODY)
    assert_refused(factory, r, 409, app_id, before, subject="review", subject_id=last_rid)


# --- the milestone --------------------------------------------------------------


def milestone_in(scene: Scene, factory, state: str) -> tuple[int, int]:
    """A fresh project in progress whose first milestone is in `state`."""
    app_id = scene.application("in_progress")
    m = scene.milestones(app_id)[0]
    if state in ("reported", "returned", "accepted"):
        assert scene.milestone(app_id, m["id"], "applicant", "report", {"report": "阶段报告"}).status_code == 200
    if state == "returned":
        assert scene.milestone(app_id, m["id"], "officer", "return", {"comment": "请补充数据"}).status_code == 200
    if state == "accepted":
        assert scene.milestone(app_id, m["id"], "officer", "accept", {}).status_code == 200
    if state == "overdue":
        later = dt.datetime.combine(dt.date.fromisoformat(m["due_date"]) + dt.timedelta(days=1), dt.time(),
                                    dt.timezone.utc)
        with factory.app.app_context():
            fire(SYSTEM, "milestone", m["id"], "mark_overdue", now=later)
    assert scene.milestones(app_id)[0]["state"] == state
    return app_id, m["id"]


@pytest.mark.parametrize("state", list(workflow("milestone").states))
def test_milestone_table(state, scene, factory):
    app_id, mid = milestone_in(scene, factory, state)
    where = {"subject": "milestone", "subject_id": mid}
    untouched = snapshot(factory, app_id, **where)
    for trigger in workflow("milestone").triggers():
        for role in ROLES:
            expected = outcome(MILESTONE, state, trigger, role)
            if isinstance(expected, int):
                r = scene.milestone(app_id, mid, role, trigger, {"report": "报告", "comment": "理由"})
                assert_refused(factory, r, expected, app_id, untouched, **where)
                continue
            fresh_app, fresh_mid = milestone_in(scene, factory, state)
            fresh = {"subject": "milestone", "subject_id": fresh_mid}
            good = {"report": {"report": "按计划完成联合实验"}, "return": {"comment": "数据不完整"}}.get(trigger, {})
            if good:
                before = snapshot(factory, fresh_app, **fresh)
                assert_refused(factory, scene.milestone(fresh_app, fresh_mid, role, trigger, {}), 422, fresh_app,
                               before, **fresh)
            before = snapshot(factory, fresh_app, **fresh)
            r = scene.milestone(fresh_app, fresh_mid, role, trigger, good)
            assert_moved(factory, r, fresh_app, before, "milestone", fresh_mid, trigger, expected,
                         scene.actors[role], role)
            if trigger == "report":
                assert r.json["report"] == "按计划完成联合实验" and r.json["reported_at"]
            moved_on = snapshot(factory, app_id, **where)
            assert moved_on[:3] == untouched[:3]
            untouched = moved_on


def test_the_system_marks_a_milestone_overdue_only_after_its_due_date(scene, factory):
    app_id = scene.application("in_progress")
    m = scene.milestones(app_id)[0]
    due = dt.date.fromisoformat(m["due_date"])
    with factory.app.app_context():
        before = snapshot(factory, app_id, "milestone", m["id"])
        with pytest.raises(GuardFailed, match="not yet overdue"):
            fire(SYSTEM, "milestone", m["id"], "mark_overdue",
                 now=dt.datetime.combine(due, dt.time(12), dt.timezone.utc))
        assert snapshot(factory, app_id, "milestone", m["id"]) == before
        fire(SYSTEM, "milestone", m["id"], "mark_overdue",
             now=dt.datetime.combine(due + dt.timedelta(days=1), dt.time(), dt.timezone.utc))
    [event] = events_after(factory, before[3])
    assert (event["trigger"], event["from_state"], event["to_state"], event["role"], event["actor_id"]) == (
        "mark_overdue", "planned", "overdue", "system", None)
