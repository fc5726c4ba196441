"""The demo data set: every state reached through the engine, and work waiting for each demo account.

Loading it takes a few seconds, so one test loads it once and checks it in parts.
"""
from __future__ import annotations

import contextlib

import pytest
from flask import Flask
from sqlalchemy import func, select

from workflow import audit, db
from workflow.demo import (
    COUNTERPARTS,
    DEMO_ACCOUNTS,
    DEMO_EMAIL,
    INSTITUTIONS,
    ORGS,
    PROGRAMMES,
    TOPICS,
    load_demo,
)
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
    every_application_is_filed_by_those_who_work_on_it(app)
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


def test_institutions_and_counterparts_work_on_their_topics():
    """The tables the demo draws from agree: whoever a topic names works in its field."""
    for subject in (*TOPICS, *PROGRAMMES):
        for org in subject.by:
            assert subject.field in ORGS[org].fields, f"{ORGS[org].name} does not work in {subject.field}"
    for topic in TOPICS:
        assert set(topic.partners) <= set(COUNTERPARTS), topic.name
    for org in INSTITUTIONS:
        assert org.applies == bool(org.fields), org.name
        named = {s.field for s in (*TOPICS, *PROGRAMMES) if org.key in s.by}
        assert named == set(org.fields), f"{org.name} declares fields no topic takes it to, or the reverse"


def every_application_is_filed_by_those_who_work_on_it(app: Flask) -> None:
    """A glacier study is not filed by a new-materials company, nor biodiversity monitoring by a drug maker:
    the institution works in the application's field and on its topic, and so do its partners."""
    by_name = {org.name: org for org in INSTITUTIONS}
    subjects = sorted((*TOPICS, *PROGRAMMES), key=lambda s: -len(s.name))
    with app.app_context():
        for a in db.session().scalars(select(Application)):
            org = by_name[a.institution.name]
            assert a.field in org.fields, f"{org.name} files {a.title} in {a.field}"
            subject = next(s for s in subjects if s.name in a.title)
            assert subject.field == a.field and org.key in subject.by, f"{org.name} files {a.title}"
            if org.key == "yirui":  # the new-materials company
                assert a.field == "new_materials_manufacturing", a.title
            if org.key in ("dongfang", "novakang"):  # the pharmaceutical companies
                assert a.field in ("biology_health", "major_diseases"), a.title
            for partner in a.partners:
                if partner.country == "CN":
                    assert by_name[partner.name].key in subject.by, f"{partner.name} in {a.title}"
                elif partner.name in COUNTERPARTS:
                    counterpart = COUNTERPARTS[partner.name]
                    fits = (partner.name in subject.partners if subject.partners
                            else a.field in counterpart.fields)
                    assert fits, f"{partner.name} in {a.title}"
                else:  # a big-science programme's own counterpart
                    assert subject in PROGRAMMES and partner.name == subject.counterpart[0], a.title
            if org.home:  # a foreign applicant works with its home country
                assert any(p.country == org.home for p in a.partners), a.title


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
