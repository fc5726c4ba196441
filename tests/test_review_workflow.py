"""The reviewer's own journey under review workflow v2: declare no conflict, score or decline; the officer's
close and reopen; the quorum under reviews submitted at the same instant."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event as orm_event, func, select, text

from workflow import audit, db
from workflow.actors import Actor
from workflow.models import ConflictDeclaration, Event, Review, User, utcnow
from workflow.services.transitions import fire_in

from .conftest import ApiClient
from .factories import Factory, snapshot

REVIEW = {"score": 82, "opinion": "合作基础扎实，技术路线清晰。", "recommendation": "fund"}


class Panel:
    """One application in expert review, its officer and reviewers as API clients."""

    def __init__(self, factory: Factory, api, quorum: int = 3, reviewers: int = 3):
        self.factory = factory
        call = factory.call(quorum=quorum)
        self.application, self.cast = factory.application("expert_review", call=call)
        self.cast.reviewers += [factory.user("reviewer", institution=factory.institution())
                                for _ in range(reviewers - len(self.cast.reviewers))]
        self.officer = api(self.cast.officer)
        self.clients = [api(r) for r in self.cast.reviewers]
        self.id = self.application.id

    def assign(self, i: int) -> int:
        r = self.officer.post(f"/applications/{self.id}/reviews", json={"reviewer_id": self.cast.reviewers[i].id})
        assert r.status_code == 201, r.json
        return r.json["id"]

    def fire(self, i: int, review_id: int, trigger: str, body: dict | None = None):
        return self.clients[i].post(f"/applications/{self.id}/reviews/{review_id}/transitions/{trigger}",
                                    json=body)

    def declared(self, i: int) -> int:
        review_id = self.assign(i)
        assert self.fire(i, review_id, "declare_no_conflict").status_code == 200
        return review_id

    def state(self) -> str:
        return self.officer.get(f"/applications/{self.id}").json["state"]


@pytest.fixture
def panel(factory, api):
    return Panel(factory, api)


def _events(factory: Factory, **where) -> list[Event]:
    with factory.app.app_context():
        q = select(Event)
        for key, value in where.items():
            q = q.where(getattr(Event, key) == value)
        return list(db.session().scalars(q.order_by(Event.id)))


# --- the declaration ---------------------------------------------------------------


def test_a_new_review_starts_under_v2_and_is_scored_only_after_the_declaration(panel, factory):
    review_id = panel.assign(0)
    review = factory.get(Review, review_id)
    assert (review.workflow_version, review.state, review.declared_at) == (2, "assigned", None)

    before = snapshot(factory, panel.id, "review", review_id)
    r = panel.fire(0, review_id, "submit_review", REVIEW)
    assert r.status_code == 409 and r.json["error"] == "transition_refused", r.json
    assert r.json["details"]["allowed"] == ["declare_no_conflict", "decline"]
    assert snapshot(factory, panel.id, "review", review_id) == before

    r = panel.fire(0, review_id, "declare_no_conflict")
    assert r.status_code == 200 and r.json["state"] == "accepted" and r.json["declared_at"], r.json
    declared = _events(factory, subject="review", subject_id=review_id, trigger="declare_no_conflict")
    assert [(e.from_state, e.to_state, e.role) for e in declared] == [("assigned", "accepted", "reviewer")]

    r = panel.fire(0, review_id, "submit_review", REVIEW)
    assert r.status_code == 200 and (r.json["state"], r.json["score"]) == ("submitted", 82.0), r.json
    assert [e.trigger for e in _events(factory, subject="review", subject_id=review_id)] == [
        "assign", "declare_no_conflict", "submit_review"]


def test_declaring_twice_is_refused_and_changes_nothing(panel, factory):
    review_id = panel.declared(0)
    before = snapshot(factory, panel.id, "review", review_id)
    r = panel.fire(0, review_id, "declare_no_conflict")
    assert r.status_code == 409, r.json
    assert snapshot(factory, panel.id, "review", review_id) == before


def test_before_declaring_the_reviewer_sees_what_judges_a_conflict_and_not_the_proposal(panel, factory):
    review_id = panel.assign(0)
    reviewer = panel.clients[0]
    attachments = panel.officer.get(f"/applications/{panel.id}/attachments").json["items"]
    proposal = next(a for a in attachments if a["kind"] == "proposal")

    seen = reviewer.get(f"/applications/{panel.id}").json
    assert seen["title"] and seen["field"] and seen["partners"] and seen["institution"]
    assert seen["summary"] is None
    assert reviewer.get(f"/applications/{panel.id}/attachments").status_code == 403
    download = reviewer.get(f"/applications/{panel.id}/attachments/{proposal['id']}")
    assert download.status_code == 403 and download.json["error"] == "not_permitted"

    assert panel.fire(0, review_id, "declare_no_conflict").status_code == 200
    assert reviewer.get(f"/applications/{panel.id}").json["summary"] == panel.application.summary
    assert reviewer.get(f"/applications/{panel.id}/attachments").status_code == 200
    download = reviewer.get(f"/applications/{panel.id}/attachments/{proposal['id']}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")


# --- declining with the conflict declared -----------------------------------------------


@pytest.mark.parametrize("conflict_with", ["application", "institution"])
def test_a_decline_records_the_declared_conflict(panel, factory, conflict_with):
    review_id = panel.assign(0)
    r = panel.fire(0, review_id, "decline", {"comment": "本人近三年与项目负责人合作发表论文。",
                                              "conflict_with": conflict_with})
    assert r.status_code == 404 or r.status_code == 200, r.json  # the decliner no longer sees the application
    with factory.app.app_context():
        rows = db.session().scalars(select(ConflictDeclaration)).all()
        assert [(d.reviewer_id, d.application_id, d.review_id, d.reason) for d in rows] == [
            (panel.cast.reviewers[0].id, panel.id, review_id, "本人近三年与项目负责人合作发表论文。")]
        expected = panel.application.institution_id if conflict_with == "institution" else None
        assert rows[0].institution_id == expected
    review = factory.get(Review, review_id)
    assert (review.state, review.decline_reason) == ("declined", "本人近三年与项目负责人合作发表论文。")
    assert [e.trigger for e in _events(factory, subject="review", subject_id=review_id)] == ["assign", "decline"]


def test_a_conflict_found_after_the_declaration_still_declines(panel, factory):
    review_id = panel.declared(0)
    r = panel.fire(0, review_id, "decline", {"comment": "阅读申报书后发现曾参与该项目前期论证。"})
    assert r.status_code == 200 and r.json["state"] == "declined", r.json
    assert factory.get(Review, review_id).state == "declined"


@pytest.mark.parametrize("body, field", [
    ({}, "comment"), ({"comment": "   "}, "comment"),
    ({"comment": "有利益冲突", "conflict_with": "country"}, "conflict_with"),
])
def test_a_decline_without_the_conflict_named_is_refused_and_records_nothing(panel, factory, body, field):
    review_id = panel.assign(0)
    before = snapshot(factory, panel.id, "review", review_id)
    r = panel.fire(0, review_id, "decline", body)
    assert r.status_code == 422 and field in r.json["details"], r.json
    assert snapshot(factory, panel.id, "review", review_id) == before
    with factory.app.app_context():
        assert db.session().scalar(select(func.count(ConflictDeclaration.id))) == 0


# --- visibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("their_state", ["assigned", "accepted", "submitted"])
@pytest.mark.parametrize("trigger", ["declare_no_conflict", "submit_review", "decline"])
def test_firing_on_a_fellow_reviewers_review_is_not_found(panel, factory, their_state, trigger):
    mine = panel.assign(0)
    theirs = panel.assign(1)
    if their_state != "assigned":
        assert panel.fire(1, theirs, "declare_no_conflict").status_code == 200
    if their_state == "submitted":
        assert panel.fire(1, theirs, "submit_review", REVIEW).status_code == 200
    before = snapshot(factory, panel.id, "review", theirs)
    body = REVIEW if trigger == "submit_review" else {"comment": "回避"} if trigger == "decline" else None

    r = panel.fire(0, theirs, trigger, body)

    assert r.status_code == 404 and r.json["error"] == "not_found", r.json
    assert their_state not in r.json["message"] and "state" not in (r.json.get("details") or {})
    assert snapshot(factory, panel.id, "review", theirs) == before
    assert factory.get(Review, mine).state == "assigned"


def test_reviewers_list_only_their_own_assignments(panel):
    mine, theirs = panel.assign(0), panel.assign(1)
    listed = panel.clients[0].get(f"/applications/{panel.id}/reviews").json["items"]
    assert [r["id"] for r in listed] == [mine] and theirs != mine


# --- version 1 keeps working ------------------------------------------------------------------


def test_a_review_assigned_under_v1_is_still_submitted_straight_from_assigned(panel, factory):
    review_id = panel.assign(0)
    with factory.app.extensions["fundflow.engine"].begin() as c:  # as it was assigned before v2 shipped
        c.execute(text("UPDATE reviews SET workflow_version = 1 WHERE id = :id"), {"id": review_id})
    assert panel.fire(0, review_id, "declare_no_conflict").status_code == 404  # v1 has no such trigger
    r = panel.fire(0, review_id, "submit_review", REVIEW)
    assert r.status_code == 200 and r.json["state"] == "submitted", r.json


# --- the quorum, at the same instant ------------------------------------------------------------


def _race(calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


@pytest.mark.parametrize("round_", range(3))  # a race lost without the lock shows within a few rounds
def test_reviews_submitted_at_the_same_instant_close_review_exactly_once(app, round_):
    factory = Factory(app)
    call = factory.call(quorum=3)
    application, cast = factory.application("expert_review", call=call)
    officer = ApiClient(app.test_client(), factory.token(cast.officer))
    clients = [ApiClient(app.test_client(), factory.token(r)) for r in cast.reviewers]
    ids = []
    for reviewer, client in zip(cast.reviewers, clients):
        review_id = officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": reviewer.id}).json["id"]
        assert client.post(f"/applications/{application.id}/reviews/{review_id}/transitions/declare_no_conflict"
                           ).status_code == 200
        ids.append(review_id)

    responses = _race([
        lambda c=c, rid=rid: c.post(f"/applications/{application.id}/reviews/{rid}/transitions/submit_review",
                                    json=REVIEW)
        for c, rid in zip(clients, ids)])

    assert [r.status_code for r in responses] == [200, 200, 200], [r.json for r in responses]
    closes = _events(factory, application_id=application.id, trigger="close_review")
    assert [(e.role, e.from_state, e.to_state) for e in closes] == [("system", "expert_review", "decision_pending")]
    assert officer.get(f"/applications/{application.id}").json["state"] == "decision_pending"
    with app.app_context():
        count, broken = audit.verify(db.session())
        assert broken is None
    # the close comes after the submission that completed the quorum
    trail = [e.trigger for e in _events(factory, application_id=application.id)]
    assert trail[-1] == "close_review" and trail[-2] == "submit_review"


# --- the officer: close with fewer, reopen for one more ------------------------------------------


def test_an_officer_closes_below_the_quorum_only_with_a_reason(panel, factory):
    assert panel.fire(0, panel.declared(0), "submit_review", REVIEW).status_code == 200
    before = snapshot(factory, panel.id)

    r = panel.officer.fire(panel.id, "close_review")
    assert r.status_code == 422 and "comment" in r.json["details"], r.json
    assert "1 of the 3" in r.json["message"]
    assert snapshot(factory, panel.id) == before

    r = panel.officer.fire(panel.id, "close_review", comment="两位专家因公出国无法按期评审，依一份意见提交立项会。")
    assert r.status_code == 200 and r.json["state"] == "decision_pending", r.json
    closed = _events(factory, application_id=panel.id, trigger="close_review")[-1]
    assert closed.role == "officer" and closed.data["below_quorum"] == {"submitted": 1, "quorum": 3}


def test_an_officer_cannot_close_before_any_review_is_in(panel, factory):
    panel.declared(0)
    before = snapshot(factory, panel.id)
    r = panel.officer.fire(panel.id, "close_review", comment="尽快上会")
    assert r.status_code == 409 and r.json["error"] == "guard_failed", r.json
    assert snapshot(factory, panel.id) == before


def test_the_system_never_closes_below_the_quorum(panel, factory):
    for i in range(2):
        assert panel.fire(i, panel.declared(i), "submit_review", REVIEW).status_code == 200
    assert panel.state() == "expert_review"
    assert _events(factory, application_id=panel.id, trigger="close_review") == []


def test_an_officer_reopens_for_one_more_reviewer_before_the_decision(factory, api):
    panel = Panel(factory, api, reviewers=4)
    for i in range(3):
        assert panel.fire(i, panel.declared(i), "submit_review", REVIEW).status_code == 200
    assert panel.state() == "decision_pending"
    before = snapshot(factory, panel.id)

    r = panel.officer.fire(panel.id, "reopen_review")
    assert r.status_code == 422 and "comment" in r.json["details"], r.json
    assert snapshot(factory, panel.id) == before
    assert panel.clients[0].fire(panel.id, "reopen_review", comment="再评").status_code == 403
    assert snapshot(factory, panel.id) == before

    r = panel.officer.fire(panel.id, "reopen_review", comment="评审意见分歧较大，增请一位能源领域专家。")
    assert r.status_code == 200 and r.json["state"] == "expert_review", r.json
    # the fourth review completes the (already met) quorum again, and review closes by itself
    assert panel.fire(3, panel.declared(3), "submit_review", {**REVIEW, "score": 64}).status_code == 200
    assert panel.state() == "decision_pending"
    trail = [(e.trigger, e.role) for e in _events(factory, application_id=panel.id)
             if e.trigger in ("close_review", "reopen_review")]
    assert trail == [("close_review", "system"), ("reopen_review", "officer"), ("close_review", "system")]


def test_reopening_is_only_before_the_decision(factory, api):
    application, cast = factory.application("approved")
    officer = api(cast.officer)
    before = snapshot(factory, application.id)
    r = officer.fire(application.id, "reopen_review", comment="再评")
    assert r.status_code == 409 and r.json["error"] == "transition_refused", r.json
    assert snapshot(factory, application.id) == before


def test_a_review_submitted_after_the_review_closed_is_refused(panel, factory):
    late = panel.declared(2)
    for i in range(2):
        assert panel.fire(i, panel.declared(i), "submit_review", REVIEW).status_code == 200
    assert panel.officer.fire(panel.id, "close_review", comment="两份意见一致，提前结束。").status_code == 200
    before = snapshot(factory, panel.id, "review", late)
    r = panel.fire(2, late, "submit_review", REVIEW)
    assert r.status_code == 409 and r.json["error"] == "guard_failed", r.json
    assert snapshot(factory, panel.id, "review", late) == before


def test_attachments_stay_readable_to_the_fund(panel):
    # the officer's view is never narrowed by a reviewer's pending declaration
    panel.assign(0)
    assert panel.officer.get(f"/applications/{panel.id}").json["summary"] == panel.application.summary
    assert panel.officer.get(f"/applications/{panel.id}/attachments").status_code == 200


def test_reviews_submitted_in_one_transaction_close_review_at_the_quorum_without_a_flush(factory, api):
    """The quorum counts the session's own unflushed reviews as they stand: nothing is flushed for it."""
    panel = Panel(factory, api, quorum=2)
    ids = [panel.declared(0), panel.declared(1)]
    flushes = []
    with factory.app.app_context():
        with db.write_session() as session:
            orm_event.listen(session, "before_flush", lambda *_: flushes.append(len(session.dirty)))
            reviews = [session.get(Review, rid) for rid in ids]
            actors = [Actor.of(session.get(User, r.id)) for r in panel.cast.reviewers[:2]]
            assert reviews[0].application.call.quorum == 2  # what the guards read, loaded before any change
            for actor, review in zip(actors, reviews):
                fire_in(session, actor, review, "submit_review", payload=REVIEW, now=utcnow())
                before_seal = list(flushes)
            state = review.application.state
            audit.seal(session)
    assert before_seal == [] and state == "decision_pending"
    closes = _events(factory, application_id=panel.id, trigger="close_review")
    assert [(e.role, e.data["quorum"]) for e in closes] == [("system", {"submitted": 2, "quorum": 2})]
    assert panel.state() == "decision_pending"
