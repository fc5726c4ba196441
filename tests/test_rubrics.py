"""Rubrics per call: the plan's default, validated versioned changes, scores per criterion and their total."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from workflow import db
from workflow.models import Event, Review, Rubric
from workflow.services import rubrics

from .factories import snapshot

OPINION = {"opinion": "合作基础扎实。", "recommendation": "fund"}
GOOD = {"fit": 16, "cooperation": 14, "innovation": 24, "feasibility": 12, "outcomes": 9}  # 75 of 100
TWO = [{"key": "merit", "label": "学术价值", "label_en": "Merit", "weight": 0.5, "min": 0, "max": 10},
       {"key": "reach", "label": "影响范围", "label_en": "Reach", "weight": 0.5, "min": 1, "max": 5}]


def _call_body(code: str) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    return {"code": code, "title": "2027年度国际科技合作专项", "opens_at": (now - dt.timedelta(days=1)).isoformat(),
            "closes_at": (now + dt.timedelta(days=60)).isoformat(), "total_budget": 80_000_000}


def _counts(factory, call_id: int) -> tuple[int, int]:
    with factory.app.app_context():
        s = db.session()
        return (s.scalar(select(func.count(Rubric.id)).where(Rubric.call_id == call_id)),
                s.scalar(select(func.count(Event.id))))


@pytest.fixture
def scoring(factory, api):
    """An application in expert review under a call with the default rubric, one reviewer declared."""
    call = factory.rubric_call()
    application, cast = factory.application("expert_review", call=call)
    officer, reviewer = api(cast.officer), api(cast.reviewers[0])
    review_id = officer.post(f"/applications/{application.id}/reviews",
                             json={"reviewer_id": cast.reviewers[0].id}).json["id"]
    path = f"/applications/{application.id}/reviews/{review_id}/transitions"
    assert reviewer.post(f"{path}/declare_no_conflict").status_code == 200

    class Scene:
        pass

    scene = Scene()
    scene.call, scene.application, scene.cast, scene.officer, scene.reviewer = call, application, cast, officer, reviewer
    scene.review_id, scene.submit = review_id, lambda body: reviewer.post(f"{path}/submit_review", json=body)
    return scene


# --- the default rubric -------------------------------------------------------------


def test_every_new_call_gets_the_plans_default_rubric(factory, api):
    admin = api(factory.user("admin"))
    r = admin.post("/calls", json=_call_body("GJHZ-2027-R01"))
    assert r.status_code == 201, r.json
    rubric = r.json["rubric"]
    assert [c["key"] for c in rubric] == ["fit", "cooperation", "innovation", "feasibility", "outcomes"]
    assert abs(sum(c["weight"] for c in rubric) - 1) < 1e-9
    assert all(c["min"] < c["max"] and c["label"] and c["label_en"] for c in rubric)
    shown = api(factory.user("applicant")).get(f"/calls/{r.json['id']}").json
    assert shown["rubric"] == rubric and shown["rubric_version"] == 1
    assert {"key", "label", "weight", "min", "max"} <= set(shown["rubric"][0])


def test_the_default_criteria_follow_the_plan():
    labels = " ".join(c["label"] for c in rubrics.DEFAULT_CRITERIA)
    for words in ("重点领域", "国家需求", "合作基础", "创新", "可行性", "预算", "成果转化", "人才", "基地"):
        assert words in labels
    rubrics.validate(rubrics.default_criteria())  # sound by its own rules


# --- changing a rubric ----------------------------------------------------------------


def test_an_admin_changes_the_rubric_as_a_new_version(factory, api):
    call = factory.rubric_call()
    admin = api(factory.user("admin"))
    r = _put(admin, call.id, TWO)
    assert r.status_code == 200 and r.json["version"] == 2, r.json
    assert [c["key"] for c in api(factory.user("officer")).get(f"/calls/{call.id}").json["rubric"]] == ["merit", "reach"]
    versions = admin.get(f"/calls/{call.id}/rubric").json["versions"]
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["criteria"][0]["key"] == "fit"
    with factory.app.app_context():
        event = db.session().scalars(select(Event).where(Event.subject == "rubric")).one()
        assert event.data["call_id"] == call.id and event.data["version"] == 2


def _put(client, call_id: int, criteria):
    return client.client.put(f"/api/v1/calls/{call_id}/rubric", json={"criteria": criteria}, headers=client._headers())


def _with(i: int, **change):
    return [{**c, **change} if n == i else dict(c) for n, c in enumerate(TWO)]


@pytest.mark.parametrize("criteria, field", [
    ([{**TWO[0]}, {**TWO[1], "key": "merit"}], "criteria.1.key"),
    (_with(0, weight=0), "criteria.0.weight"),
    (_with(0, weight=-0.5), "criteria.0.weight"),
    (_with(0, weight=0.4), "criteria"),  # 0.4 + 0.5
    (_with(1, min=5), "criteria.1.min"),  # min == max
    (_with(1, min=6), "criteria.1.min"),
    (_with(0, weight="0.5"), "criteria.0.weight"),
    (_with(0, max=True), "criteria.0.max"),
    (_with(0, label=""), "criteria.0.label"),
    (_with(0, key="Merit Points"), "criteria.0.key"),
    ([{k: v for k, v in TWO[0].items() if k != "max"}, TWO[1]], "criteria.0.max"),
])
def test_a_bad_rubric_is_refused_at_the_field_and_changes_nothing(factory, api, criteria, field):
    call = factory.rubric_call()
    admin = api(factory.user("admin"))
    before = _counts(factory, call.id)
    r = _put(admin, call.id, criteria)
    assert r.status_code == 422 and field in r.json["details"], r.json
    assert _counts(factory, call.id) == before


@pytest.mark.parametrize("body", [{"criteria": []}, {"criteria": "fit"}, {}, {"criteria": TWO, "extra": 1}])
def test_a_malformed_rubric_body_is_refused(factory, api, body):
    call = factory.rubric_call()
    admin = api(factory.user("admin"))
    before = _counts(factory, call.id)
    r = admin.client.put(f"/api/v1/calls/{call.id}/rubric", json=body, headers=admin._headers())
    assert r.status_code == 422, r.json
    assert _counts(factory, call.id) == before


def test_only_admins_change_a_rubric(factory, api):
    call = factory.rubric_call()
    officer = api(factory.user("officer"))
    before = _counts(factory, call.id)
    assert _put(officer, call.id, TWO).status_code == 403
    assert _put(api(factory.user("admin")), 999_999, TWO).status_code == 404
    assert _counts(factory, call.id)[0] == before[0]


# --- scoring against the rubric ---------------------------------------------------------


def test_the_review_is_scored_per_criterion_and_its_score_is_the_weighted_total(scoring, factory):
    r = scoring.submit({"scores": GOOD, **OPINION})
    assert r.status_code == 200, r.json
    assert r.json["score"] == 75.0 and r.json["scores"] == GOOD
    review = factory.get(Review, scoring.review_id)
    assert review.rubric_id is not None and review.scores == GOOD and review.score == 75.0


def test_each_criterion_counts_by_its_weight_normalised_by_its_range(factory, api):
    call = factory.rubric_call()
    admin = api(factory.user("admin"))
    assert _put(admin, call.id, TWO).status_code == 200
    application, cast = factory.application("expert_review", call=call)
    review_id = api(cast.officer).post(f"/applications/{application.id}/reviews",
                                       json={"reviewer_id": cast.reviewers[0].id}).json["id"]
    path = f"/applications/{application.id}/reviews/{review_id}/transitions"
    reviewer = api(cast.reviewers[0])
    assert reviewer.post(f"{path}/declare_no_conflict").status_code == 200
    r = reviewer.post(f"{path}/submit_review", json={"scores": {"merit": 5, "reach": 3}, **OPINION})
    assert r.status_code == 200 and r.json["score"] == 50.0, r.json  # .5 * 5/10 + .5 * (3-1)/(5-1)
    assert rubrics.points_for(TWO, 100) == {"merit": 10, "reach": 5}


@pytest.mark.parametrize("scores, problems", [
    ({k: v for k, v in GOOD.items() if k != "fit"}, {"scores.fit"}),
    ({**GOOD, "charm": 5}, {"scores.charm"}),
    ({**GOOD, "innovation": 31}, {"scores.innovation"}),
    ({**GOOD, "feasibility": -1}, {"scores.feasibility"}),
    ({**GOOD, "outcomes": "9"}, {"scores.outcomes"}),
    ({**GOOD, "outcomes": True}, {"scores.outcomes"}),
    ({**GOOD, "outcomes": None}, {"scores.outcomes"}),
    ({**GOOD, "outcomes": [9]}, {"scores.outcomes"}),
    ({"fit": "high", "cooperation": 99}, {"scores.fit", "scores.cooperation", "scores.innovation",
                                          "scores.feasibility", "scores.outcomes"}),
])
def test_every_bad_score_is_refused_at_its_criterion_and_changes_nothing(scoring, factory, scores, problems):
    before = snapshot(factory, scoring.application.id, "review", scoring.review_id)
    r = scoring.submit({"scores": scores, **OPINION})
    assert r.status_code == 422 and r.json["error"] == "invalid_input", r.json
    assert problems <= set(r.json["details"]), r.json["details"]
    assert all(r.json["details"][p] for p in problems)
    assert snapshot(factory, scoring.application.id, "review", scoring.review_id) == before
    review = factory.get(Review, scoring.review_id)
    assert (review.state, review.score, review.scores) == ("accepted", None, None)


@pytest.mark.parametrize("body, field", [
    ({"score": 80, **OPINION}, "scores"),  # one overall score no longer does for a rubric
    ({"scores": GOOD, "score": 75, **OPINION}, "score"),
    ({"scores": [16, 14], **OPINION}, "scores"),
    ({"scores": GOOD, "recommendation": "fund"}, "opinion"),
])
def test_a_submission_not_shaped_for_the_rubric_is_refused(scoring, factory, body, field):
    before = snapshot(factory, scoring.application.id, "review", scoring.review_id)
    r = scoring.submit(body)
    assert r.status_code == 422 and field in r.json["details"], r.json
    assert snapshot(factory, scoring.application.id, "review", scoring.review_id) == before


def test_a_score_sent_as_nan_is_refused(scoring, factory):
    raw = '{"scores": {"fit": NaN, "cooperation": 14, "innovation": 24, "feasibility": 12, "outcomes": 9},' \
          ' "opinion": "意见", "recommendation": "fund"}'
    path = f"/api/v1/applications/{scoring.application.id}/reviews/{scoring.review_id}/transitions/submit_review"
    r = scoring.reviewer.client.post(path, data=raw, content_type="application/json",
                                     headers=scoring.reviewer._headers())
    assert r.status_code in (400, 422), r.json
    assert factory.get(Review, scoring.review_id).state == "accepted"


# --- versions: a rubric changed mid-review ------------------------------------------------


def test_a_rubric_changed_mid_review_leaves_earlier_reviews_scored_against_theirs(scoring, factory, api):
    call, application, cast = scoring.call, scoring.application, scoring.cast
    second = api(cast.reviewers[1])
    second_id = scoring.officer.post(f"/applications/{application.id}/reviews",
                                     json={"reviewer_id": cast.reviewers[1].id}).json["id"]
    done = scoring.submit({"scores": GOOD, **OPINION}).json
    first_rubric = factory.get(Review, scoring.review_id).rubric_id

    assert _put(api(factory.user("admin")), call.id, TWO).status_code == 200  # version 2, other criteria

    # the submitted review keeps its rubric and its scores
    kept = factory.get(Review, scoring.review_id)
    assert (kept.rubric_id, kept.scores, kept.score) == (first_rubric, GOOD, done["score"])
    # a review declared after the change is scored against version 2
    path = f"/applications/{application.id}/reviews/{second_id}/transitions"
    assert second.post(f"{path}/declare_no_conflict").status_code == 200
    r = second.post(f"{path}/submit_review", json={"scores": GOOD, **OPINION})
    assert r.status_code == 422 and {"scores.merit", "scores.reach", "scores.fit"} <= set(r.json["details"])
    r = second.post(f"{path}/submit_review", json={"scores": {"merit": 10, "reach": 5}, **OPINION})
    assert r.status_code == 200 and r.json["score"] == 100.0, r.json
    assert factory.get(Review, second_id).rubric_id != first_rubric


def test_a_review_declared_before_the_change_is_still_scored_by_the_old_version(factory, api):
    call = factory.rubric_call()
    application, cast = factory.application("expert_review", call=call)
    officer, reviewer = api(cast.officer), api(cast.reviewers[0])
    review_id = officer.post(f"/applications/{application.id}/reviews",
                             json={"reviewer_id": cast.reviewers[0].id}).json["id"]
    path = f"/applications/{application.id}/reviews/{review_id}/transitions"
    assert reviewer.post(f"{path}/declare_no_conflict").status_code == 200
    assert _put(api(factory.user("admin")), call.id, TWO).status_code == 200

    r = reviewer.post(f"{path}/submit_review", json={"scores": {"merit": 10, "reach": 5}, **OPINION})
    assert r.status_code == 422 and "scores.fit" in r.json["details"], r.json
    r = reviewer.post(f"{path}/submit_review", json={"scores": GOOD, **OPINION})
    assert r.status_code == 200 and r.json["score"] == 75.0, r.json
