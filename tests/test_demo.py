"""The demo data set: every state reached through the engine, and work waiting for each demo account.

Loading it takes a few seconds, so one test loads it once and checks it in parts.
"""
from __future__ import annotations

import contextlib

import pytest
from flask import Flask
from sqlalchemy import func, select

from workflow import audit, db
from workflow.demo import DEMO_ACCOUNTS, DEMO_EMAIL, load_demo
from workflow.engine import workflow
from workflow.errors import InvalidInput
from workflow.models import (
    BASE_KINDS,
    CHANNELS,
    INSTITUTION_KINDS,
    Application,
    Body,
    CooperationBase,
    Institution,
    Review,
    User,
)


class _Bar:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def no_progress(label: str, total: int):
    yield _Bar()


def test_the_demo_data_set(app):
    with app.app_context():
        load_demo(seed=2026, progress=no_progress)
    covers_every_state_kind_channel_and_base(app)
    each_account_signs_in_and_finds_work(app)
    with app.app_context(), pytest.raises(InvalidInput, match="already loaded"):
        load_demo(seed=2026, progress=no_progress)


def covers_every_state_kind_channel_and_base(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        states = list(s.scalars(select(Application.state)))
        assert len(states) >= 50
        assert set(states) == set(workflow("application").states)
        assert set(s.scalars(select(Institution.kind))) == set(INSTITUTION_KINDS)
        assert set(s.scalars(select(Body.channel))) == set(CHANNELS)
        assert set(s.scalars(select(CooperationBase.kind))) == set(BASE_KINDS)
        titles = list(s.scalars(select(Application.title)))
        assert len(set(titles)) == len(titles)
        count, broken = audit.verify(s)
        assert broken is None and count > len(states)


def each_account_signs_in_and_finds_work(app: Flask) -> None:
    client = app.test_client()
    tokens = {role: _token(client, email, password) for role, email, password in DEMO_ACCOUNTS}
    assert set(tokens) == {"applicant", "recommender", "reviewer", "officer", "admin"}
    with app.app_context():
        s = db.session()
        applicant, recommender, reviewer = (
            s.scalar(select(User).where(User.email == DEMO_EMAIL[role]))
            for role in ("applicant", "recommender", "reviewer"))
        total = s.scalar(select(func.count(Application.id)))
        own = s.scalar(select(func.count(Application.id))
                       .where(Application.institution_id == applicant.institution_id))
        open_reviews = s.scalar(select(func.count(Review.id))
                                .where(Review.reviewer_id == reviewer.id, Review.state == "assigned"))

    # The applicant sees its own institution's applications, and only those, in several states.
    mine = _get(client, tokens["applicant"], "/applications?per_page=200")
    assert mine["total"] == own < total
    assert {a["institution"]["id"] for a in mine["items"]} == {applicant.institution_id}
    assert {"draft", "revision_requested", "approved", "in_progress"} <= {a["state"] for a in mine["items"]}

    # The recommender's body has a queue to endorse; the reviewer has reviews to write.
    queue = _get(client, tokens["recommender"], "/applications?state=pending_recommendation")
    assert queue["total"] >= 2
    assert {a["body_id"] for a in queue["items"]} == {recommender.body_id}
    assert open_reviews >= 3
    assert _get(client, tokens["reviewer"], "/applications?state=expert_review")["total"] == open_reviews

    # The officer and the administrator see every submitted application, and the admin the drafts too.
    assert _get(client, tokens["admin"], "/applications")["total"] == total
    assert 0 < _get(client, tokens["officer"], "/applications")["total"] < total


def _token(client, email: str, password: str) -> str:
    r = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert r.status_code == 201, r.json
    return r.json["token"]


def _get(client, token: str, path: str) -> dict:
    r = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.json
    return r.json
