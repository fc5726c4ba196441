"""The periodic scan and reviews past their due date, in every open state of the review workflow."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from workflow import db
from workflow.models import Event, Notice, Review
from workflow.scan import scan

from .conftest import ApiClient
from .factories import Factory


@pytest.fixture
def world(app):
    factory = Factory(app)

    def api(actor):
        return ApiClient(app.test_client(), factory.token(actor))

    return factory, api


def _review_past_due(factory, api, *, declared: bool):
    """One review of an application in expert review, three days past due; declared no conflict or not."""
    application, cast = factory.application("expert_review")
    expert = factory.expert()
    r = api(cast.officer).post(f"/applications/{application.id}/reviews", json={"reviewer_id": expert.id})
    assert r.status_code == 201, r.get_json()
    review_id = r.get_json()["id"]
    if declared:
        path = f"/applications/{application.id}/reviews/{review_id}/transitions/declare_no_conflict"
        assert api(expert).post(path).status_code == 200
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE reviews SET due_date = :d WHERE id = :r"),
                  {"d": dt.date.today() - dt.timedelta(days=3), "r": review_id})
    return review_id, expert, cast


def _snapshot(factory):
    with factory.app.app_context():
        s = db.session()
        notices = sorted((n.user_id, n.kind) for n in s.scalars(select(Notice)))
        return notices, s.scalar(select(Event.id).order_by(Event.id.desc())), [
            (r.id, r.state) for r in s.scalars(select(Review).order_by(Review.id))]


@pytest.mark.parametrize("declared", [False, True], ids=["assigned", "accepted"])
def test_a_review_past_due_is_reminded_and_marked_once_in_every_open_state(world, declared):
    factory, api = world
    review_id, expert, cast = _review_past_due(factory, api, declared=declared)
    with factory.app.app_context():
        assert db.session().get(Review, review_id).state == ("accepted" if declared else "assigned")
        first = scan(dt.date.today())
    assert first["review_reminders"] == 2  # the reviewer reminded, the officer told it is overdue
    notices, head, reviews = _snapshot(factory)
    assert (expert.id, "review_due") in notices and (cast.officer.id, "review_overdue") in notices

    with factory.app.app_context():
        second = scan(dt.date.today())
    assert second["review_reminders"] == 0
    assert _snapshot(factory) == (notices, head, reviews)


def test_a_submitted_review_past_its_due_date_is_left_alone(world):
    factory, api = world
    review_id, expert, cast = _review_past_due(factory, api, declared=True)
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE reviews SET state = 'submitted' WHERE id = :r"), {"r": review_id})
    with factory.app.app_context():
        assert scan(dt.date.today())["review_reminders"] == 0
