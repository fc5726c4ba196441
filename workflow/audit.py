"""The tamper-evident audit chain (DESIGN §4).

Each event's hash is SHA-256 over the previous event's hash and the event's
canonical content, its id included, so an edited, inserted or removed row
breaks the chain at a named event. Ids are handed out under the lock of the
single chain-head row, which keeps them gap-free and keeps two writers from
forking the chain (locking "the last event" instead is known to fork it under
READ COMMITTED).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator

from sqlalchemy import and_, bindparam, func, insert, literal, or_, select, union_all, update
from sqlalchemy.orm import Session, aliased

from .models import Application, ChainHead, ChangeRequest, Event, Milestone, Review

GENESIS = "0" * 64
HEAD_ID = 1


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} into an audit event")


def normalise(data: dict[str, Any] | None) -> dict[str, Any]:
    """Data as it will read back from the database: JSON types only."""
    return json.loads(json.dumps(data or {}, default=_plain, ensure_ascii=False))


def canonical(event: Event) -> bytes:
    content = {
        "id": event.id,
        "application_id": event.application_id,
        "subject": event.subject,
        "subject_id": event.subject_id,
        "trigger": event.trigger,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor_id": event.actor_id,
        "role": event.role,
        "created_at": event.created_at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
        "comment": event.comment,
        "data": event.data,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: Event) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event)).hexdigest()


def record(session: Session, **fields: Any) -> Event:
    """Queue an event for this transaction; `seal` chains and inserts it."""
    fields["data"] = normalise(fields.get("data"))
    event = Event(**fields)
    session.info.setdefault("pending_events", []).append(event)
    return event


# Built once; seal runs them on the session's connection, so appending an
# event costs three statements and no second unit-of-work flush.
_HEAD = ChainHead.__table__
_LOCK_HEAD = select(_HEAD.c.event_id, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(event_id=bindparam("event_id"),
                                                                 hash=bindparam("hash"))
_NEW_HEAD = insert(_HEAD).values(id=HEAD_ID)
_INSERT_EVENT = insert(Event.__table__)
_EVENT_COLUMNS = tuple(c.key for c in Event.__table__.columns)


def seal(session: Session) -> list[Event]:
    """Chain the transaction's pending events onto the head, last thing before commit."""
    pending: list[Event] = session.info.pop("pending_events", [])
    if not pending:
        return []
    session.flush()  # row updates (and their version checks) before the head lock
    conn = session.connection()
    head = conn.execute(_LOCK_HEAD).one_or_none()
    head_id, head_hash = ((head.event_id or 0), head.hash) if head is not None else (0, GENESIS)
    for event in pending:
        event.id = head_id + 1
        event.prev_hash = head_hash
        event.hash = chain_hash(head_hash, event)
        head_id, head_hash = event.id, event.hash
    conn.execute(_INSERT_EVENT, [{key: getattr(event, key) for key in _EVENT_COLUMNS} for event in pending])
    conn.execute(_MOVE_HEAD if head is not None else _NEW_HEAD, {"event_id": head_id, "hash": head_hash})
    return pending


@dataclass
class Break:
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else "chain head"
        return f"{where}: {self.reason}"


def verify(session: Session, progress=None) -> tuple[int, Break | None]:
    """Walk the whole chain; return (events checked, first break or None)."""
    prev_hash, prev_id, count = GENESIS, 0, 0
    for event in _events(session):
        count += 1
        if event.id != prev_id + 1:
            return count, Break(event.id, f"event {prev_id + 1} is missing before it")
        if event.prev_hash != prev_hash:
            return count, Break(event.id, "its previous-hash does not match the event before it")
        if chain_hash(prev_hash, event) != event.hash:
            return count, Break(event.id, "its content does not match its hash (the row was changed)")
        prev_hash, prev_id = event.hash, event.id
        if progress:
            progress(count)
    head = session.get(ChainHead, HEAD_ID)
    head_id, head_hash = (head.event_id or 0, head.hash) if head else (0, GENESIS)
    if (head_id, head_hash) != (prev_id, prev_hash):
        return count, Break(None, f"the head names event {head_id} but the chain ends at event {prev_id} "
                                  "(events after it were removed)")
    return count, None


def _events(session: Session, batch: int = 5000) -> Iterator[Event]:
    last = 0
    while True:
        rows = session.scalars(select(Event).where(Event.id > last).order_by(Event.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def head(session: Session, *, lock: bool = False) -> tuple[int, str]:
    """(last event id, its hash); with `lock`, the head row stays locked to the end of the transaction."""
    if lock:
        row = session.execute(_LOCK_HEAD).one_or_none()
        return ((row.event_id or 0), row.hash) if row is not None else (0, GENESIS)
    row = session.get(ChainHead, HEAD_ID)
    return (row.event_id or 0, row.hash) if row else (0, GENESIS)


# --- replay: do the rows say what their events say? -------------------------------------

# The records whose `state` only the engine moves, each with an event per move (subject, subject_id).
STATEFUL = {"application": Application, "review": Review, "milestone": Milestone, "change_request": ChangeRequest}
# Milestones are made by `sign_agreement` (whose event lists them) and have no event of their own until
# they first move, so one in its initial state with no event is as its events say.
CREATED_WITHOUT_EVENT = {"milestone": "planned"}


@dataclass
class Mismatch:
    subject: str
    subject_id: int
    reason: str
    event_id: int | None = None

    def __str__(self) -> str:
        return self.reason


def replay(session: Session, limit: int = 20) -> list[Mismatch]:
    """Rows whose current state is not the `to_state` their events leave them in, rows no event made,
    events whose row is gone, and applications whose approved amount is not the one their approval
    recorded: at most `limit` of each kind.

    Set-based, per kind of record, so it keeps pace with the chain walk: the last event of each record
    comes from one GROUP BY max(id) over ix_events_subject (on SQLite an index-only scan), joined to the
    rows. Only where that last event moved no state (a stateless action on the record) does a correlated
    look-up find the last one that did; COALESCE evaluates it for those rows alone.
    """
    found: list[Mismatch] = []
    for subject, model in STATEFUL.items():
        found += _states(session, subject, model, limit)
        found += _orphans(session, subject, model, limit)
    return found + _approved_amounts(session, limit)


def _last_events(subject: str):
    return (select(Event.subject_id, func.max(Event.id).label("event_id"))
            .where(Event.subject == subject).group_by(Event.subject_id).subquery("last"))


def _states(session: Session, subject: str, model, limit: int) -> list[Mismatch]:
    last, earlier = _last_events(subject), aliased(Event)
    stated = (select(earlier.to_state).where(earlier.subject == subject, earlier.subject_id == model.id,
                                             earlier.to_state.is_not(None))
              .order_by(earlier.id.desc()).limit(1).correlate(model).scalar_subquery())
    leaves = func.coalesce(Event.to_state, stated)
    quiet = CREATED_WITHOUT_EVENT.get(subject)
    unrecorded = leaves.is_(None) if quiet is None else and_(leaves.is_(None), model.state != quiet)
    query = (select(model.id, model.state, last.c.event_id, leaves)
             .outerjoin(last, last.c.subject_id == model.id).outerjoin(Event, Event.id == last.c.event_id)
             .where(or_(unrecorded, leaves != model.state)).order_by(model.id).limit(limit))
    found = []
    for row_id, state, event_id, to_state in session.execute(query):
        reason = (f"{subject} {row_id} is {state} but no event records it" if to_state is None else
                  f"{subject} {row_id} is {state} but its events leave it {to_state} (last event {event_id})")
        found.append(Mismatch(subject, row_id, reason, event_id))
    return found


def _orphans(session: Session, subject: str, model, limit: int) -> list[Mismatch]:
    last = _last_events(subject)
    query = (select(last.c.subject_id, last.c.event_id).where(last.c.subject_id.not_in(select(model.id)))
             .order_by(last.c.event_id).limit(limit))
    return [Mismatch(subject, subject_id, f"event {event_id} names {subject} {subject_id}, which no longer exists",
                     event_id) for subject_id, event_id in session.execute(query)]


def _approved_amounts(session: Session, limit: int) -> list[Mismatch]:
    """Applications whose approved amount is not what their last `approve` event recorded, or that have
    one with no approval. The amount is read out of the event's JSON in SQL (SQLAlchemy's JSON paths:
    json_extract on SQLite, ->> on PostgreSQL) and compared there."""
    approval = (select(Event.subject_id, func.max(Event.id).label("event_id"))
                .where(Event.trigger == "approve", Event.subject == "application")
                .group_by(Event.subject_id).subquery("approval"))
    recorded = Event.data["approved_amount"].as_integer()
    query = (select(Application.id, Application.approved_amount, recorded)
             .outerjoin(approval, approval.c.subject_id == Application.id)
             .outerjoin(Event, Event.id == approval.c.event_id)
             .where(or_(Application.approved_amount.is_not(None), approval.c.event_id.is_not(None)),
                    Application.approved_amount.is_distinct_from(recorded))
             .order_by(Application.id).limit(limit))
    return [Mismatch("application", app_id, f"application {app_id} has approved amount {amount} "
                                            f"but its events record {value}")
            for app_id, amount, value in session.execute(query)]
