"""The tamper suite: `fundflow audit verify` fails, naming what it found, after each way someone with write
access to the database (or the data directory) could change the record. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from workflow import audit, checkpoints, db
from workflow.cli import main
from workflow.models import Application, ChainHead, Event, Milestone
from workflow.services.audit_log import verify_chain

from .factories import Factory

KEY = "a key the database never sees"


@pytest.fixture
def world(app, monkeypatch):
    """A completed project and a draft edited, checkpointed, edited and withdrawn, on either database."""
    app.config["AUDIT_KEY"] = KEY
    factory = Factory(app)
    done, _ = factory.application("completed")
    draft, cast = factory.application("draft")
    from workflow.services.applications import update_application
    from workflow.services.transitions import fire

    with app.app_context():
        for title in ("初稿一", "初稿二", "初稿三"):  # the newest events reference nothing: removable on PostgreSQL
            update_application(cast.applicant, draft.id, {"title": title})
        checkpoints.write(db.session(), KEY, checkpoints.path_in(app.config["DATA_DIR"]))
        for title in ("初稿四", "初稿五"):
            update_application(cast.applicant, draft.id, {"title": title})
        fire(cast.applicant, "application", draft.id, "withdraw")  # the newest event moves a state
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FUNDFLOW_AUDIT_KEY", KEY)
    result = verified(app)
    assert result.intact, result.problems  # the suite starts from an intact record
    return app, done.id, draft.id


def verified(app):
    with app.app_context():
        return verify_chain()


def cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", *args], catch_exceptions=False)
    return result.exit_code, result.output


def tamper(app, statement: str, **params) -> None:
    """As someone with the database would: no foreign key, no trigger stops them."""
    engine = app.extensions["fundflow.engine"]
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("SET LOCAL session_replication_role = replica"))  # foreign keys off, as a superuser
        else:
            c.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        c.execute(text(statement), params)


def ids(app, where: str = "1 = 1") -> list[int]:
    with app.extensions["fundflow.engine"].connect() as c:
        return list(c.execute(text(f"SELECT id FROM events WHERE {where} ORDER BY id")).scalars())


def fails_naming(app, *words: str) -> list[str]:
    """Verify fails, by the service and by the command; return the problems, each word among them."""
    result = verified(app)
    problems = [str(p) for p in result.problems]
    assert not result.intact
    code, output = cli()
    assert code == 1 and "intact" not in output.splitlines()[-1]
    for word in words:
        assert any(word in p for p in problems), (word, problems)
        assert word in output
    return problems


def test_one_edited_event_is_named(world):
    app, _, _ = world
    target = ids(app, "trigger = 'approve'")[0]
    tamper(app, "UPDATE events SET comment = 'approved by the minister' WHERE id = :id", id=target)
    problems = fails_naming(app, f"event {target}: its content does not match its hash")
    assert verified(app).broken_event == target


def test_one_deleted_event_is_named(world):
    app, _, _ = world
    target = ids(app, "trigger = 'edit'")[1]
    tamper(app, "DELETE FROM events WHERE id = :id", id=target)
    fails_naming(app, f"event {target} is missing before it")


def test_the_last_three_removed_are_found_by_the_head_and_the_rows(world):
    app, _, draft_id = world
    last = ids(app)[-3:]
    tamper(app, "DELETE FROM events WHERE id >= :id", id=last[0])
    fails_naming(app, f"the head names event {last[-1]} but the chain ends at event {last[0] - 1}")
    # Someone who also moves the head back is still caught: the draft is withdrawn, and no event says so.
    with app.app_context(), db.write_session() as s:
        s.get(ChainHead, audit.HEAD_ID).event_id = last[0] - 1
        s.get(ChainHead, audit.HEAD_ID).hash = s.get(Event, last[0] - 1).hash
    problems = fails_naming(app, f"application {draft_id} is withdrawn but its events leave it draft (last event ")
    assert all("head" not in p for p in problems)


def test_a_chain_rewritten_with_fresh_hashes_is_caught_by_the_checkpoint(world):
    app, _, _ = world
    target = ids(app, "trigger = 'approve'")[0]
    with app.app_context(), db.write_session() as s:  # edit one event and recompute every hash after it
        rows = list(s.scalars(select(Event).where(Event.id >= target).order_by(Event.id)))
        prev = s.get(Event, target - 1).hash
        rows[0].comment = "history as we would like it"
        for event in rows:
            event.prev_hash, event.hash = prev, audit.chain_hash(prev, event)
            prev = event.hash
        s.get(ChainHead, audit.HEAD_ID).hash = prev
    with app.app_context():
        assert audit.verify(db.session())[1] is None  # the hashes alone no longer show it
    signed = json.loads(checkpoints.path_in(app.config["DATA_DIR"]).read_text().splitlines()[0])["event_id"]
    fails_naming(app, f"event {signed} no longer has the hash signed at", "the history was rewritten")
    assert verified(app).broken_event == signed  # the first event a checkpoint says is no longer as signed


@pytest.mark.parametrize("subject", ["application", "review", "milestone"])
def test_a_rows_state_changed_without_an_event_is_named(world, subject):
    app, done_id, draft_id = world
    table = {"application": "applications", "review": "reviews", "milestone": "milestones"}[subject]
    with app.extensions["fundflow.engine"].connect() as c:
        row_id, state = c.execute(text(f"SELECT id, state FROM {table} WHERE "
                                       f"{'id' if subject == 'application' else 'application_id'} = :a "
                                       "ORDER BY id LIMIT 1"), {"a": draft_id if subject == "application"
                                                                else done_id}).one()
    forged = {"application": "approved", "review": "declined", "milestone": "returned"}[subject]
    tamper(app, f"UPDATE {table} SET state = :s WHERE id = :id", s=forged, id=row_id)
    with app.app_context():
        assert audit.verify(db.session())[1] is None  # the chain itself is untouched
    fails_naming(app, f"{subject} {row_id} is {forged} but its events leave it {state} (last event ")


def test_the_issues_reproduction_a_draft_approved_for_five_million_by_sql(world):
    app, _, draft_id = world
    tamper(app, "UPDATE applications SET state = 'approved', approved_amount = 5000000 WHERE id = :id", id=draft_id)
    fails_naming(app, f"application {draft_id} is approved but its events leave it withdrawn",
                 f"application {draft_id} has approved amount 5000000 but its events record None")


def test_an_approved_amount_changed_without_an_event_is_named(world):
    app, done_id, _ = world
    tamper(app, "UPDATE applications SET approved_amount = approved_amount + 1 WHERE id = :id", id=done_id)
    fails_naming(app, f"application {done_id} has approved amount")


def test_a_row_no_event_made_is_named(world):
    app, done_id, _ = world
    columns = [c.name for c in Application.__table__.columns]
    copied = ", ".join("99999" if name == "id" else name for name in columns)
    tamper(app, f"INSERT INTO applications ({', '.join(columns)}) SELECT {copied} FROM applications WHERE id = :id",
           id=done_id)
    fails_naming(app, "application 99999 is completed but no event records it")


def test_a_planned_milestone_has_no_event_of_its_own_and_that_is_fine(world):
    app, done_id, _ = world
    with app.app_context():
        s = db.session()
        milestone = s.scalars(select(Milestone).where(Milestone.application_id == done_id)).first()
        made_by = s.scalar(select(Event.id).where(Event.subject == "milestone", Event.subject_id == milestone.id))
    tamper(app, "DELETE FROM events WHERE subject = 'milestone' AND subject_id = :id", id=milestone.id)
    problems = fails_naming(app, f"milestone {milestone.id} is accepted but no event records it")
    assert any(f"event {made_by} is missing" in p or "missing" in p for p in problems)


def test_the_audit_key_missing_when_checkpoints_exist_fails(world, monkeypatch):
    app, _, _ = world
    app.config["AUDIT_KEY"] = None
    monkeypatch.delenv("FUNDFLOW_AUDIT_KEY")
    fails_naming(app, "FUNDFLOW_AUDIT_KEY is not set, so the 1 checkpoints cannot be checked")


def test_the_checkpoint_file_deleted_fails_because_the_chain_records_it(world):
    app, _, _ = world
    path = checkpoints.path_in(app.config["DATA_DIR"])
    signed = json.loads(path.read_text())["event_id"]
    path.unlink()
    fails_naming(app, f"the chain records 1 checkpoints (the last of event {signed}", "checkpoint file is missing")


def test_a_checkpoint_removed_from_the_file_fails(world):
    app, _, _ = world
    path = checkpoints.path_in(app.config["DATA_DIR"])
    signed = json.loads(path.read_text())["event_id"]
    path.write_text("")
    fails_naming(app, f"the chain records a checkpoint of event {signed}")


def test_each_checkpoint_is_an_event(world):
    app, _, _ = world
    line = json.loads(checkpoints.path_in(app.config["DATA_DIR"]).read_text())
    with app.app_context():
        event = db.session().scalar(select(Event).where(Event.trigger == "checkpoint"))
    assert event.subject == "audit" and event.subject_id == line["event_id"] == event.id - 1
    assert event.data == {"event_id": line["event_id"], "hash": line["hash"], "at": line["at"]}
    assert event.role == "system" and event.actor_id is None


def test_without_checkpoints_or_key_an_intact_record_passes(app, factory):
    factory.application("completed")
    with app.app_context():
        result = verify_chain()
    assert result.intact and result.checkpoints == 0, result.problems
    assert not Path(checkpoints.path_in(app.config["DATA_DIR"])).exists()
