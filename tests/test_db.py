"""Write sessions: one transaction each, and nothing of one reaches the next."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow import audit, db
from workflow.models import Event, utcnow


def test_what_a_failed_write_was_told_does_not_reach_the_next(app, factory):
    application, _ = factory.application("draft")
    with app.app_context():
        before = db.session().scalar(select(func.count()).select_from(Event))
        with pytest.raises(RuntimeError):
            with db.write_session() as s:
                # A firing that recorded its event and then failed before sealing it.
                audit.record(s, application_id=application.id, subject="application", subject_id=application.id,
                             trigger="submit", role="applicant", created_at=utcnow())
                raise RuntimeError("the guard after it failed")
        with db.write_session() as s:
            assert s.info == {}
            assert audit.seal(s) == []
        assert db.session().scalar(select(func.count()).select_from(Event)) == before
        assert audit.verify(db.session()) == (before, None)


def test_a_write_inside_a_write_has_a_session_and_transaction_of_its_own(app):
    with app.app_context():
        with db.write_session() as outer:
            outer.info["mine"] = True
            with db.write_session() as inner:
                assert inner is not outer
                assert "mine" not in inner.info
            assert outer.info["mine"] is True
        with db.write_session() as again:
            assert again.info == {} and not again.in_nested_transaction()


def test_each_write_starts_with_an_empty_session(app, factory):
    application, _ = factory.application("draft")
    with app.app_context():
        with db.write_session() as s:
            held = s.get(type(application), application.id)
            assert held in s and len(s.identity_map) == 1
        with db.write_session() as s:
            assert len(s.identity_map) == 0 and s.info == {}
