"""Handing a transition's follow-ups to Redis (workflow/outbox.py): marked in the transition's own
transaction and enqueued after its commit; with Redis down, or the process gone between the two,
the work is still handed over, by the relay or by recover_lost."""
from __future__ import annotations

import datetime as dt

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import event, select

from workflow import db, outbox
from workflow.models import Event, Outbox, utcnow
from workflow.services.transitions import fire

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _suspend(factory):
    application, cast = factory.application("in_progress")
    return application, lambda: fire(cast.officer, "application", application.id, "suspend",
                                     comment="合作方未按期提交阶段报告")


def _rows(app) -> list[Outbox]:
    with app.app_context():
        return list(db.session().scalars(select(Outbox).order_by(Outbox.id)))


def _queued(redis_url: str) -> set[str]:
    with Redis.from_url(redis_url) as connection:
        return set(Queue(outbox.QUEUE, connection=connection).job_ids)


@pytest.fixture
def commits(app):
    """How many transactions the app's database commits while the test runs."""
    seen: list[int] = []
    engine = app.extensions["fundflow.engine"]
    listener = lambda conn: seen.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    yield seen
    event.remove(engine, "commit", listener)


def test_with_redis_a_transition_commits_once_and_its_follow_up_is_queued_already_marked(
        app, factory, redis_url, commits):
    _, suspend = _suspend(factory)
    app.config["REDIS_URL"] = redis_url
    before = {row.id for row in _rows(app)}
    with app.app_context():
        commits.clear()
        assert suspend().state == "suspended"
        assert len(commits) == 1  # the transition's; the hand-over writes nothing
    [staged] = [row for row in _rows(app) if row.id not in before]
    with app.app_context():
        suspended = db.session().scalar(select(Event.id).where(Event.trigger == "suspend"))
    assert staged.payload == {"event_id": suspended}
    assert staged.dispatched_at is not None and staged.done_at is None
    assert f"outbox-{staged.id}" in _queued(redis_url)
    with app.app_context():
        assert outbox.dispatch() == 0  # the relay leaves it: it is on the queue


def test_with_redis_down_the_transition_stands_and_the_relay_hands_its_follow_up_over(
        app, factory, redis_url):
    application, suspend = _suspend(factory)
    app.config["REDIS_URL"] = DEAD_REDIS
    before = {row.id for row in _rows(app)}
    with app.app_context():
        assert suspend().state == "suspended"
    [staged] = [row for row in _rows(app) if row.id not in before]
    assert staged.dispatched_at is None  # unmarked: the relay's to hand over
    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("fundflow.redis", None)  # the client for the dead address
    with app.app_context():
        assert outbox.dispatch() == 1
    assert f"outbox-{staged.id}" in _queued(redis_url)
    assert _rows(app)[-1].dispatched_at is not None


def test_a_process_gone_between_the_commit_and_the_enqueue_loses_nothing(app, factory, redis_url, monkeypatch):
    _, suspend = _suspend(factory)
    app.config["REDIS_URL"] = redis_url
    before = {row.id for row in _rows(app)}
    real_hand_over = outbox.hand_over
    monkeypatch.setattr(outbox, "hand_over", lambda ids, marked=False: None)  # it died right after the commit
    with app.app_context():
        assert suspend().state == "suspended"
    monkeypatch.setattr(outbox, "hand_over", real_hand_over)
    [staged] = [row for row in _rows(app) if row.id not in before]
    assert staged.dispatched_at is not None and f"outbox-{staged.id}" not in _queued(redis_url)
    with app.app_context():
        assert outbox.recover_lost() == 0  # too soon to call it lost
        later = utcnow() + dt.timedelta(seconds=app.config["JOB_LOST_AFTER"] + 1)
        assert outbox.recover_lost(now=later) == 1  # RQ never heard of it
        assert outbox.dispatch() == 1
    assert f"outbox-{staged.id}" in _queued(redis_url)
