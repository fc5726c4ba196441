"""`fundflow generate`: a data set driven through the engine covers every state, keeps a valid chain in time
order, leaves every row as its events say, and is the same data set for the same seed."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from workflow import db
from workflow.cli import main
from workflow.engine import workflow
from workflow.errors import InvalidInput
from workflow.generate import generate
from workflow.models import Application, Attachment, Event, Milestone, Outbox, Review, User
from workflow.permissions import Actor
from workflow.services import conflicts
from workflow.services.audit_log import verify_chain

from .conftest import make_app

AS_OF = dt.date(2026, 12, 1)
LIFECYCLE = set(workflow("application").states)


def test_a_data_set_through_the_engine(app):
    with app.app_context():
        summary = generate(200, seed=11, as_of=AS_OF)
        s = db.session()
        states = dict(s.execute(select(Application.state, func.count()).group_by(Application.state)).all())
        assert set(states) == LIFECYCLE, f"missing: {LIFECYCLE - set(states)}"
        assert sum(states.values()) == 200 == summary.applications
        assert states["rejected"] + states["completed"] > states["draft"] + states["pending_recommendation"]

        result = verify_chain()
        assert result.intact, [str(p) for p in result.problems]
        assert result.events == summary.events == s.scalar(select(func.count(Event.id)))
        assert summary.transitions > 1500 and summary.transitions_per_s > 0

        _states_are_their_last_events(s)
        _versions_count_every_firing(s)
        _events_in_time_order(s)
        _follow_ups_as_the_engine_staged_them(s)
        _panels_free_of_conflicts(s)
        _attachments_on_disk(s, Path(app.config["DATA_DIR"]))
        _the_app_adds_rows_after_it()


def _states_are_their_last_events(s) -> None:
    for kind, model in (("application", Application), ("review", Review), ("milestone", Milestone)):
        last = (select(Event.to_state).where(Event.subject == kind, Event.subject_id == model.id,
                                             Event.to_state.is_not(None))
                .order_by(Event.id.desc()).limit(1).correlate(model).scalar_subquery())
        rows = s.execute(select(model.id, model.state, last)).all()
        assert rows
        wrong = [(row_id, state, event) for row_id, state, event in rows
                 if state != event and not (kind == "milestone" and event is None and state == "planned")]
        assert not wrong, f"{kind}s whose state is not their last event's: {wrong[:5]}"


def _versions_count_every_firing(s) -> None:
    """Each firing is its own version-checked write, as when each commits alone: a draft starts at version 1
    with its `create` event, an assignment with its `assign`, a milestone (made without an event) at 1."""
    for kind, model, start in (("application", Application, 0), ("review", Review, 0), ("milestone", Milestone, 1)):
        events = dict(s.execute(select(Event.subject_id, func.count()).where(Event.subject == kind)
                                .group_by(Event.subject_id)).all())
        off = [(row_id, version) for row_id, version in s.execute(select(model.id, model.version))
               if version != start + events.get(row_id, 0)]
        assert not off, f"{kind}s whose version is not their firings: {off[:5]}"


def _events_in_time_order(s) -> None:
    times = list(s.scalars(select(Event.created_at).order_by(Event.id)))
    assert times == sorted(times)
    assert times[0].year == AS_OF.year - 9 and times[-1] < dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


def _follow_ups_as_the_engine_staged_them(s) -> None:
    """One outbox row per job of every transition fired, and the expert's notice of every assignment; none done."""
    expected: Counter = Counter()
    for subject, trigger, from_state, event_id in s.execute(
            select(Event.subject, Event.trigger, Event.from_state, Event.id)
            .where(Event.subject.in_(("application", "review", "milestone")))):
        if trigger in ("assign", "replace"):
            expected["notify_review_assigned"] += 1
            expected["notify_review_replaced"] += trigger == "replace"
        elif trigger != "create":
            expected.update(workflow(subject).transition(trigger, from_state).jobs)
    staged = Counter(dict(s.execute(select(Outbox.job, func.count()).group_by(Outbox.job)).all()))
    assert staged == +expected
    assert s.scalar(select(func.count(Outbox.id)).where(Outbox.done_at.is_not(None))) == 0


def _panels_free_of_conflicts(s) -> None:
    """What services.applications.add_review checks holds for every assignment that was not declined,
    at the moment it was made."""
    reviews = s.scalars(select(Review).where(Review.state != "declined")).all()
    assert reviews
    for review in reviews:
        assert conflicts.conflict_of(s, s.get(User, review.reviewer_id), review.application,
                                     review.created_at) is None


def _the_app_adds_rows_after_it() -> None:
    """The generator chose the ids of the rows it wrote: the database hands out the next ones (PostgreSQL's
    sequences were moved past them)."""
    from workflow.models import Call, Partner, Rubric
    from workflow.services import accounts, registry

    admin = Actor.of(db.session().scalars(select(User).where(User.role == "admin")).first())
    institution = registry.create_institution(admin, {"name": "新建研究院", "kind": "institute"})
    user = accounts.create_user("new.officer@example.cn", "correct horse battery", "officer", actor=admin)
    assert institution.id > 1 and user.id > 1
    with db.write_session() as w:
        app = w.scalars(select(Application).limit(1)).one()
        rows = [Partner(application_id=app.id, name="Extra partner", country="DE", kind="university"),
                Attachment(application_id=app.id, kind="proposal", filename="x.pdf", stored_name="extra.pdf", size=1,
                           sha256="0" * 64, uploaded_by_id=user.id),
                Review(application_id=app.id, reviewer_id=user.id, assigned_by_id=user.id, state="assigned",
                       workflow_version=2),
                Call(code="EXTRA-1", title="t", opens_at=app.created_at, closes_at=app.created_at, total_budget=1)]
        w.add_all(rows)
        w.flush()
        w.add(Rubric(call_id=rows[-1].id, version=1, criteria=[]))
        w.add(Application(call_id=app.call_id, institution_id=app.institution_id, created_by_id=user.id, title="t",
                          channel=app.channel, body_id=app.body_id, state="draft", workflow_version=1))
        w.flush()
        w.rollback()


def _attachments_on_disk(s, data_dir: Path) -> None:
    for att in s.scalars(select(Attachment)):
        content = (data_dir / "attachments" / att.stored_name).read_bytes()
        assert hashlib.sha256(content).hexdigest() == att.sha256 and content.startswith(b"%PDF-")


def test_the_same_seed_gives_the_same_data_set(tmp_path, fresh_database):
    def chain(name: str, seed: int):
        (tmp_path / name).mkdir()
        app = make_app(fresh_database(), tmp_path / name)
        try:
            with app.app_context():
                generate(120, seed=seed, as_of=AS_OF, follow_ups="none")
                s = db.session()
                rows = s.execute(select(Application.id, Application.title, Application.state, Application.version,
                                        Application.approved_amount).order_by(Application.id)).all()
                return s.scalars(select(Event.hash).order_by(Event.id.desc()).limit(1)).one(), rows
        finally:
            app.extensions["fundflow.engine"].dispose()

    first, again, other = chain("a", 5), chain("b", 5), chain("c", 6)
    assert first == again
    assert other[0] != first[0] and other[1] != first[1]


def test_follow_ups_left_out(app):
    with app.app_context():
        summary = generate(60, seed=3, as_of=AS_OF, follow_ups="none")
        assert summary.pending == 0 == db.session().scalar(select(func.count(Outbox.id)))
        assert verify_chain().intact


def test_refuses_a_database_that_is_not_empty(app):
    from workflow.services import accounts

    with app.app_context():
        accounts.create_user("officer@example.cn", "correct horse battery", "officer")
        before = db.session().scalar(select(func.count(Event.id)))
        with pytest.raises(InvalidInput) as refused:
            generate(10, seed=1, as_of=AS_OF)
        assert "not empty" in refused.value.message
        db.session().rollback()
        assert db.session().scalar(select(func.count(Event.id))) == before
        assert db.session().scalar(select(func.count(Application.id))) == 0


def test_bad_choices_are_refused(app):
    with app.app_context():
        for kwargs in ({"follow_ups": "later"}, {"batch": 0}):
            with pytest.raises(InvalidInput):
                generate(10, seed=1, as_of=AS_OF, **kwargs)
        with pytest.raises(InvalidInput):
            generate(0, seed=1, as_of=AS_OF)
        assert db.session().scalar(select(func.count(Event.id))) == 0


def test_the_command(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["generate", "--applications", "40", "--as-of", "2026-12-01", "--seed", "9",
                                       "--follow-ups", "none", "--batch", "300"])
    assert result.exit_code == 0, result.output
    figures = dict(line.split(": ", 1) for line in result.output.splitlines() if ": " in line)
    assert figures["applications"] == "40" and int(figures["events"]) > int(figures["transitions"]) > 0
    assert float(figures["transitions_per_s"]) > 0 and int(figures["database_bytes"]) > 0
    assert figures["follow_ups_pending"] == "0"
    assert "admin@generated.fundflow.cn" in result.output and "fundflow-generated" in result.output
    again = CliRunner().invoke(main, ["generate", "--applications", "40", "--as-of", "2026-12-01"])
    assert again.exit_code == 2 and "not empty" in again.output
