"""The audit chain: every change is an event, and a changed, removed or rewritten event is named."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from workflow import audit, db
from workflow.cli import main
from workflow.models import ChainHead, Event

from .factories import tamper


@pytest.fixture
def lifecycle(factory):
    """One application taken to completion, another to rejection."""
    factory.application("completed")
    factory.application("rejected")


@pytest.fixture
def cli(app, monkeypatch):
    """Run `fundflow ...` against the test app's database and data dir."""
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FUNDFLOW_AUDIT_KEY", "a key the database never sees")

    def run(*args):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    return run



def events(app):
    with app.app_context():
        return list(db.session().scalars(select(Event).order_by(Event.id)))


def verify(app):
    with app.app_context():
        return audit.verify(db.session())


def test_every_change_is_a_linked_event(app, lifecycle):
    rows = events(app)
    assert [e.id for e in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    assert verify(app) == (len(rows), None)
    triggers = {e.trigger for e in rows}
    assert {"create", "upload", "submit", "assign", "submit_review", "close_review", "approve",
            "sign_agreement", "report", "accept", "request_closeout", "accept_closeout", "reject"} <= triggers


def test_an_edited_event_is_named(app, lifecycle, cli):
    target = events(app)[10]
    tamper(app, "UPDATE events SET comment = 'rewritten' WHERE id = :id", id=target.id)

    count, broken = verify(app)
    assert broken.event_id == target.id and "changed" in broken.reason
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"event {target.id}:" in result.output


@pytest.mark.parametrize("column, value", [("to_state", "completed"), ("actor_id", None), ("data", "{}"),
                                           ("created_at", "2020-01-01 00:00:00.000000")])
def test_any_edited_field_is_caught(app, lifecycle, column, value):
    target = next(e for e in events(app) if e.trigger == "approve")
    tamper(app, f"UPDATE events SET {column} = :value WHERE id = :id", value=value, id=target.id)
    assert verify(app)[1].event_id == target.id


def test_a_removed_event_is_named(app, lifecycle, cli):
    rows = events(app)
    tamper(app, "DELETE FROM events WHERE id = :id", id=rows[5].id)

    broken = verify(app)[1]
    assert broken.event_id == rows[6].id and f"event {rows[5].id} is missing" in broken.reason
    assert cli("audit", "verify").exit_code == 1


def test_removing_the_newest_events_is_caught_by_the_head(app, lifecycle):
    last = events(app)[-1]
    tamper(app, "DELETE FROM events WHERE id >= :id", id=last.id - 2)
    broken = verify(app)[1]
    assert broken.event_id is None and "removed" in broken.reason


def test_verify_passes_on_an_intact_chain(app, lifecycle, cli):
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"{len(events(app))} events" in result.output


def _rewrite_history(app, event_id: int) -> None:
    """What someone with write access could do: edit an event and recompute every hash after it."""
    with app.app_context(), db.write_session() as s:
        rows = list(s.scalars(select(Event).where(Event.id >= event_id).order_by(Event.id)))
        prev = s.get(Event, event_id - 1).hash
        rows[0].comment = "history as we would like it"
        for event in rows:
            event.prev_hash = prev
            event.hash = prev = audit.chain_hash(prev, event)
        s.get(ChainHead, audit.HEAD_ID).hash = prev


def test_a_checkpoint_catches_a_recomputed_history(app, lifecycle, cli):
    result = cli("audit", "checkpoint")
    assert result.exit_code == 0, result.output
    checkpoint = json.loads(result.output)
    # the head it signed, and then the checkpoint itself as the newest event
    assert checkpoint["event_id"] == len(events(app)) - 1 and len(checkpoint["signature"]) == 64
    assert events(app)[-1].trigger == "checkpoint"

    _rewrite_history(app, event_id=4)

    assert verify(app)[1] is None  # the hashes alone no longer show it
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "rewritten" in result.output


def test_a_forged_checkpoint_is_caught(app, lifecycle, cli):
    cli("audit", "checkpoint")
    path = Path(app.config["DATA_DIR"]) / "audit-checkpoints.jsonl"
    record = json.loads(path.read_text())
    _rewrite_history(app, event_id=4)
    with app.app_context():
        record["hash"] = audit.head(db.session())[1]  # re-pointed at the new head, without the key
    path.write_text(json.dumps(record) + "\n")

    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "bad signature" in result.output


def test_checkpoint_needs_the_key(app, lifecycle, cli, monkeypatch):
    monkeypatch.delenv("FUNDFLOW_AUDIT_KEY")
    result = CliRunner().invoke(main, ["audit", "checkpoint"])
    assert result.exit_code == 2
    assert "FUNDFLOW_AUDIT_KEY" in result.output


@pytest.mark.parametrize("data", [
    None, {}, {"workflow_version": 1}, {"amount": 1.5, "note": "说明", "flag": True, "none": None},
    {"nested": {"a": [1, 2]}}, {"when": __import__("datetime").datetime(2026, 12, 2, 8, 0)},
    {"money": __import__("decimal").Decimal("12.50")}, {1: "a number as a key"}, {"nan": float("inf")},
])
def test_event_data_is_normalised_to_what_reads_back_from_json(data):
    from workflow.audit import _plain

    expected = json.loads(json.dumps(data or {}, default=_plain, ensure_ascii=False))
    got = audit.normalise(data)
    assert got == expected and type(got) is dict
    if data:
        got["added"] = 1
        assert "added" not in data  # a copy, never the caller's dict
