"""In-process follow-ups on the served app's background thread: off the request path, never lost."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from workflow import db, outbox
from workflow.models import Document, Outbox, utcnow



@pytest.fixture
def served(app):
    """The test app, switched by `serve(app)` to run as `fundflow serve` does: a background thread drains."""
    yield lambda: app.config.update(FOLLOW_UPS="background") or app
    outbox.stop_background(app)


def _undone(app) -> list[tuple[str, bool]]:
    with app.extensions["fundflow.engine"].connect() as c:
        return [tuple(r) for r in c.execute(text(
            "SELECT job, dispatched_at IS NOT NULL FROM outbox WHERE done_at IS NULL AND failed_at IS NULL"))]


def test_the_response_does_not_wait_for_the_decision_notice(served, factory, api):
    application, cast = factory.application("decision_pending")
    served = served()
    drainer = outbox.background(served)
    with drainer.paused():
        response = api(cast.officer).fire(application.id, "approve", approved_amount=2_000_000)
        assert response.status_code == 200 and response.json["state"] == "approved"
        # Inline, the notice would be rendered before the response: here it is still waiting.
        assert ("decision_notice", False) in _undone(served)
    assert drainer.wait_idle(timeout=60)
    assert _undone(served) == []
    with served.app_context():
        docs = db.session().scalars(select(Document).where(Document.application_id == application.id)).all()
        assert [d.kind for d in docs] == ["decision_notice"] and docs[0].sha256


def test_start_up_drains_what_a_crash_left_behind(served, factory):
    factory.application("pending_recommendation")
    served = served()
    with served.app_context():
        event_id = db.session().execute(text("SELECT max(id) FROM events")).scalar()
        with db.write_session() as s:  # committed, never handed over: the process died right after commit
            outbox.stage(s, "notify", event_id=event_id)
    assert _undone(served) == [("notify", False)]
    assert outbox.background(served).start().wait_idle(timeout=30)
    assert _undone(served) == []


def test_a_claim_whose_process_died_is_taken_over_and_a_live_one_is_left_alone(served, factory):
    factory.application("pending_recommendation")
    served = served()
    with served.app_context():
        event_id = db.session().execute(text("SELECT max(id) FROM events")).scalar()
        with db.write_session() as s:
            dead = outbox.stage(s, "notify", event_id=event_id)
            live = outbox.stage(s, "notify", event_id=event_id)
            s.get(Outbox, dead).dispatched_at = utcnow() - dt.timedelta(seconds=served.config["JOB_LOST_AFTER"] + 1)
            s.get(Outbox, live).dispatched_at = utcnow()  # another process is running it now
    assert outbox.background(served).wait_idle(timeout=30)
    with served.app_context():
        s = db.session()
        assert s.get(Outbox, dead).done_at is not None
        assert s.get(Outbox, live).done_at is None


def test_a_failing_job_is_tried_again_and_ends_in_the_failed_list(served, monkeypatch):
    monkeypatch.setattr(outbox, "BACKOFF", [0, 0, 0, 0])
    served = served()
    with served.app_context():
        with db.write_session() as s:
            broken = outbox.stage(s, "notify", event_id=10**9)  # no such event: the job raises every time
        outbox.hand_over([broken])
    drainer = outbox.background(served)
    assert drainer.wait_idle(timeout=30)
    with served.app_context():
        row = db.session().get(Outbox, broken)
        assert row.attempts == outbox.MAX_ATTEMPTS
        assert row.failed_at is not None and "NoneType" in row.last_error


def test_commands_run_their_follow_ups_before_they_exit(app, factory):
    """The inline mode the CLI uses (and these tests): the work is done when `fire` returns."""
    assert app.config["FOLLOW_UPS"] == "inline"
    factory.application("pending_recommendation")
    assert _undone(app) == []
