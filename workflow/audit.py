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

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from .models import ChainHead, Event

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


def head(session: Session) -> tuple[int, str]:
    row = session.get(ChainHead, HEAD_ID)
    return (row.event_id or 0, row.hash) if row else (0, GENESIS)
