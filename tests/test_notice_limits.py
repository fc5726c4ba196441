"""A notice fits its columns whatever the title: on PostgreSQL a too-long subject is an error, not a truncation."""
from __future__ import annotations

from sqlalchemy import select

from workflow import db
from workflow.models import Notice, Outbox


def test_a_300_character_title_gives_a_delivered_notice_with_a_shortened_subject(app, factory):
    title = "中" * 300
    application, cast = factory.application("pending_recommendation", title=title)
    with app.app_context():
        s = db.session()
        jobs = s.scalars(select(Outbox)).all()
        assert jobs and all(j.done_at is not None and j.failed_at is None for j in jobs), \
            [(j.job, j.last_error) for j in jobs]
        notices = s.scalars(select(Notice).where(Notice.application_id == application.id)).all()
        assert notices
        for notice in notices:
            assert len(notice.subject) <= Notice.__table__.c.subject.type.length
            assert notice.subject.endswith("…")
            assert title in notice.body  # the body keeps the whole title
