"""The chain walked at scale: rows read with Core, stretches walked apart in processes and joined at their
seams, with the same verdict as one walk from the first event. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DataError

from workflow import audit, bench_audit, checkpoints, db
from workflow.cli import main
from workflow.models import ChainHead, Event
from workflow.services.audit_log import verify_chain

STRETCH = 150  # ids per stretch here, so a chain of a few thousand events has many stretches and seams
EVENTS = 1500


def reference(values: dict) -> bytes:
    """The canonical form as it was first written, and as every stored hash was made: kept as the oracle."""
    content = dict(values)
    content["created_at"] = values["created_at"].astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def quiet(label: str, total: int):
    return click.progressbar(length=total, label=label, file=io.StringIO())


@pytest.fixture
def chain(app, monkeypatch):
    """A valid chain of EVENTS events (the last a signed checkpoint), built as `fundflow bench --audit` builds
    one, on either database; `fundflow audit verify` walks it apart as it would a long chain."""
    app.config["AUDIT_KEY"] = bench_audit.BENCH_KEY
    with app.app_context():
        bench_audit.build_chain(EVENTS, quiet)
    monkeypatch.setattr(audit, "PARALLEL_FROM", 500)
    monkeypatch.setattr(audit, "STRETCH", STRETCH)
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FUNDFLOW_AUDIT_KEY", bench_audit.BENCH_KEY)
    return app


def walked(app) -> tuple[int, audit.Break | None]:
    """Verify in this process and in two walkers; both must say the same. The walkers report progress in
    order, never beyond the rows there are (they may walk past a break that only the seams show)."""
    with app.app_context():
        s = db.session()
        rows = s.scalar(text("SELECT count(*) FROM events"))
        serial = audit.verify(s, walkers=1, stretch=STRETCH)
        heard: list[int] = []
        parallel = audit.verify(s, heard.append, walkers=2, stretch=STRETCH)
    assert parallel == serial
    assert heard and heard == sorted(heard) and heard[-1] <= rows
    return parallel


def tamper(app, *statements: str, **params) -> None:
    """As someone with the database would: no foreign key stops them."""
    engine = app.extensions["fundflow.engine"]
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            c.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for statement in statements:
            c.execute(text(statement), params)


def cli() -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify"], catch_exceptions=False)
    return result.exit_code, result.output


def test_an_intact_chain_passes_both_ways_and_through_the_command(chain):
    count, broken = walked(chain)
    assert (count, broken) == (EVENTS, None)
    with chain.app_context():  # the command shares the walk out, as it would a long chain
        assert audit.walkers_for(EVENTS, db.session()) == (2 if os.cpu_count() > 1 else 1)
    code, output = cli()
    assert code == 0, output
    assert f"audit chain intact: {EVENTS} events, 1 checkpoints" in output


def test_the_row_path_and_the_model_path_give_the_reference_bytes(chain):
    with chain.app_context():
        s = db.session()
        events = s.scalars(select(Event).order_by(Event.id)).all()
        rows = s.connection().execute(audit._CHAIN_ROW, {"lo": 1, "hi": EVENTS}).all()
    assert len(events) == len(rows) == EVENTS
    for event, row in zip(events, rows):
        expected = reference({name: getattr(event, name) for name in audit.CANONICAL_FIELDS})
        assert audit.canonical(event) == expected
        assert audit._row_canonical(row) == expected
        assert audit.link_hash(event.prev_hash, expected) == event.hash


def test_a_changed_event_in_the_middle_of_a_late_stretch_is_named(chain):
    target = EVENTS - STRETCH // 2 - 3  # in the middle of the last full stretch
    tamper(chain, "UPDATE events SET comment = 'approved by the minister' WHERE id = :id", id=target)
    count, broken = walked(chain)
    assert broken == audit.Break(target, "its content does not match its hash (the row was changed)")
    assert count == target
    code, output = cli()
    assert code == 1 and f"event {target}: its content does not match its hash" in output


@pytest.mark.parametrize("where", ["first", "last"])
def test_an_event_deleted_at_a_seam_is_named(chain, where):
    seam = 4 * STRETCH  # the last id of the fourth stretch; the next stretch starts after it
    target = seam + 1 if where == "first" else seam
    tamper(chain, "DELETE FROM events WHERE id = :id", id=target)
    count, broken = walked(chain)
    assert broken == audit.Break(target + 1, f"event {target} is missing before it")
    assert count == target  # the events before it, and the one that names it
    code, output = cli()
    assert code == 1 and f"event {target + 1}: event {target} is missing before it" in output


@pytest.mark.parametrize("first", [2 * STRETCH + 40, 3 * STRETCH], ids=["inside", "across-a-seam"])
def test_a_reordered_pair_is_named(chain, first):
    second = first + 1
    tamper(chain, "UPDATE events SET id = -1 WHERE id = :a", "UPDATE events SET id = :a WHERE id = :b",
           "UPDATE events SET id = :b WHERE id = -1", a=first, b=second)
    count, broken = walked(chain)
    assert broken == audit.Break(first, "its previous-hash does not match the event before it")
    assert count == first


def test_an_event_appended_behind_the_heads_back_is_found_by_the_head(chain):
    """A forged event linked properly onto the last one, but no head moved: the walk sees a valid chain
    that ends after the head."""
    with chain.app_context():
        s = db.session()
        last = s.get(Event, EVENTS)
        forged = SimpleNamespace(**{name: getattr(last, name) for name in audit.CANONICAL_FIELDS})
        forged.id, forged.comment = EVENTS + 1, "a decision no one took"
        row = {**vars(forged), "prev_hash": last.hash, "hash": audit.chain_hash(last.hash, forged)}
    with chain.extensions["fundflow.engine"].begin() as c:
        c.execute(Event.__table__.insert(), row)
    count, broken = walked(chain)
    assert broken == audit.Break(None, f"the head names event {EVENTS} but the chain ends at event {EVENTS + 1} "
                                       "(events after it were removed)")
    assert count == EVENTS + 1


def test_a_chain_rewritten_with_fresh_hashes_is_still_caught_by_its_checkpoint(chain):
    target = 5 * STRETCH + 7
    with chain.app_context(), db.write_session() as s:
        rows = list(s.scalars(select(Event).where(Event.id >= target).order_by(Event.id)))
        prev = s.get(Event, target - 1).hash
        rows[0].comment = "history as we would like it"
        for event in rows:
            event.prev_hash, event.hash = prev, audit.chain_hash(prev, event)
            prev = event.hash
        s.get(ChainHead, audit.HEAD_ID).hash = prev
    assert walked(chain) == (EVENTS, None)  # the hashes alone no longer show it
    signed = json.loads(checkpoints.path_in(chain.config["DATA_DIR"]).read_text())["event_id"]
    with chain.app_context():
        result = verify_chain()
    assert result.broken_event == signed
    assert any(f"event {signed} no longer has the hash signed at" in str(p) for p in result.problems)
    code, output = cli()
    assert code == 1 and "the history was rewritten" in output


def test_verify_chain_reports_progress_up_to_the_whole_chain(chain):
    heard: list[int] = []
    with chain.app_context():
        result = verify_chain(progress=heard.append)
    assert result.intact, result.problems
    assert heard == sorted(heard) and heard[-1] == EVENTS


def test_a_row_whose_data_no_longer_reads_is_named_as_changed(app):
    """Not JSON any more: the model would fail to load it; the walk names it. PostgreSQL's json column
    refuses such an edit outright, so there the chain stays as it was."""
    app.config["AUDIT_KEY"] = bench_audit.BENCH_KEY
    with app.app_context():
        bench_audit.build_chain(400, quiet)
    edit = "UPDATE events SET data = '{\"workflow_version\": 1' WHERE id = 200"
    if app.extensions["fundflow.engine"].dialect.name == "postgresql":
        with pytest.raises(DataError, match="invalid input syntax for type json"):
            tamper(app, edit)
        assert walked(app) == (400, None)
        return
    tamper(app, edit)
    count, broken = walked(app)
    assert broken == audit.Break(200, "its content does not match its hash (the row was changed)")


_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63),
                     st.floats(allow_nan=True, allow_infinity=True), st.text())
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(fields=st.fixed_dictionaries({
    "id": st.integers(min_value=1, max_value=2**62), "application_id": st.none() | st.integers(min_value=1),
    "subject": st.text(max_size=20), "subject_id": st.integers(), "trigger": st.text(max_size=40),
    "from_state": st.none() | st.text(max_size=40), "to_state": st.none() | st.text(max_size=40),
    "actor_id": _scalars, "role": st.text(max_size=20),  # what a hand-edited SQLite row may hold
    "created_at": st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2999, 12, 31),
                               timezones=st.just(dt.timezone(dt.timedelta(hours=8))) | st.just(dt.timezone.utc)),
    "comment": _json, "data": _json}))
def test_canonical_writes_the_reference_bytes_for_any_values(fields):
    """NUL, quotes, control characters, any script, floats, nesting: byte for byte the original form."""
    assert audit.canonical(SimpleNamespace(**fields)) == reference(fields)
