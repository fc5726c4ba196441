"""The tamper-evident audit chain (DESIGN §4).

Each event's hash is SHA-256 over the previous event's hash and the event's
canonical content, its id included, so an edited, inserted or removed row
breaks the chain at a named event. Ids are handed out under the lock of the
single chain-head row, which keeps them gap-free and keeps two writers from
forking the chain (locking "the last event" instead is known to fork it under
READ COMMITTED).

Verifying a national chain means a million events or more, so `verify` reads
plain rows with Core and writes each one's canonical bytes straight from
them, through the same code `canonical` uses for an Event; on a long chain it
walks stretches of ids in forked processes, one per core, and joins their
seams in order, naming the same first break as one walk from the start.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import (Connection, Engine, String, Text, and_, bindparam, cast, func, insert, literal, or_, select,
                        type_coerce, union_all, update)
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


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def normalise(data: dict[str, Any] | None) -> dict[str, Any]:
    """Data as it will read back from the database: JSON types only."""
    if data is None:
        return {}
    if all(type(key) is str and type(value) in _JSON_SCALARS for key, value in data.items()):
        # Most events carry a few plain values, which read back as they are: the JSON round
        # trip would only copy them.
        return dict(data)
    return json.loads(json.dumps(data, default=_plain, ensure_ascii=False))


# The fields an event's hash covers, in the order the chain's rows carry them.
CANONICAL_FIELDS = ("id", "application_id", "subject", "subject_id", "trigger", "from_state", "to_state",
                    "actor_id", "role", "created_at", "comment", "data")

# The canonical form is the JSON object of those fields with sorted keys, no spaces and non-ASCII text as it
# is: json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False), the form every stored
# hash was made with. It is written here without building that object, since a walk over a million rows
# pays for every step: the keys are fixed, so their sorted order is too, and the values go into a template,
# each encoded as that json.dumps encodes it inside the object.
_TEMPLATE = "{" + ",".join(f'"{name}":%s' for name in sorted(CANONICAL_FIELDS)) + "}"  # {"actor_id":%s,...}
_CREATED_AT, _DATA = CANONICAL_FIELDS.index("created_at"), CANONICAL_FIELDS.index("data")


def _encoder() -> Callable[[Any], str]:
    """JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode.

    That method builds its C encoder anew on every call; here it is built once, with the arguments the
    method gives it (no circular-reference check: events hold JSON read back or normalised), so each call
    is one C call with the same output. Without the C accelerator, the method itself.
    """
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    make = json.encoder.c_make_encoder
    if make is None:
        return encoder.encode
    run = make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    return lambda value: "".join(run(value, 0))


_encode = _encoder()
_escape = json.encoder.encode_basestring  # how that encoder writes a string (ensure_ascii=False)
_INT = int


def _utc_text(at: dt.datetime) -> str:
    """A time as the canonical form writes it, in UTC; a naive one is UTC already (as it is stored)."""
    if at.tzinfo is None:
        text = at.isoformat()  # the cheaper call; it leaves out microseconds only when they are 0
        return (text if at.microsecond else at.isoformat(timespec="microseconds")) + "+00:00"
    return at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def _assemble(values: Sequence[Any], created_at: str, data_json: str) -> bytes:
    """The canonical bytes from the fields in CANONICAL_FIELDS order, with created_at already as its text
    and `data` already encoded.

    The fields an event has (ints, strings, None where a column allows it) are written as the encoder
    writes them, by the functions it uses: int.__repr__ for an int (a bool would not do: the encoder writes
    true), encode_basestring for a string. A value of any other kind is left to the encoder itself.
    """
    (event_id, application_id, subject, subject_id, trigger, from_state, to_state, actor_id, role, _,
     comment) = values[:_DATA]
    if (event_id.__class__ is _INT and subject_id.__class__ is _INT
            and (application_id is None or application_id.__class__ is _INT)
            and (actor_id is None or actor_id.__class__ is _INT)):
        try:
            return (_TEMPLATE % (
                "null" if actor_id is None else _INT.__repr__(actor_id),
                "null" if application_id is None else _INT.__repr__(application_id),
                "null" if comment is None else _escape(comment),
                _escape(created_at),
                data_json,
                "null" if from_state is None else _escape(from_state),
                _INT.__repr__(event_id),
                _escape(role),
                _escape(subject),
                _INT.__repr__(subject_id),
                "null" if to_state is None else _escape(to_state),
                _escape(trigger))).encode()
        except TypeError:  # a string field that holds something else
            pass
    fields = dict(zip(CANONICAL_FIELDS, values[:_DATA]))
    fields["created_at"] = created_at
    return (_TEMPLATE % tuple(data_json if name == "data" else _encode(fields[name])
                              for name in sorted(CANONICAL_FIELDS))).encode()


def canonical_of(values: Sequence[Any]) -> bytes:
    """The canonical content of an event given as its CANONICAL_FIELDS values, in that order (values after
    the twelfth, such as a row's own hashes, are left out); `created_at` a datetime, `data` a JSON value."""
    return _assemble(values, _utc_text(values[_CREATED_AT]), _encode(values[_DATA]))


def canonical(event: Event | PendingEvent) -> bytes:
    return canonical_of([getattr(event, name) for name in CANONICAL_FIELDS])


_scan = json.JSONDecoder().scan_once  # json.loads without its whitespace handling around the value


@lru_cache(maxsize=4096)
def _data_json(text: str) -> str:
    """The canonical JSON of a stored `data` text. Many events carry the same few (`{"workflow_version": 1}`),
    so a walk decodes and encodes each of those once."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):  # not one JSON value alone: as json.loads reads it, or fails to
        value = json.loads(text)
    return _encode(value)


def _row_canonical(row: Sequence[Any]) -> bytes:
    """canonical_of for a row read with _CHAIN_ROW, whose `data` comes as its stored JSON text and, on
    SQLite, `created_at` as its stored text: both decoded as the model's column types decode them."""
    data = row[_DATA]
    return _assemble(row, _row_time_text(row[_CREATED_AT]), "null" if data is None else _data_json(data))


def _row_time_text(stored: dt.datetime | str) -> str:
    """_utc_text of a row's created_at: UTC, as text (SQLite) or as a naive datetime (PostgreSQL).

    SQLite holds it in one layout, 2026-12-01 08:30:00.000001, which only needs its T and offset: for such a
    text that names a real time that is the same text as _utc_text(fromisoformat(it)); one that does not
    cannot match any event's hash, and fails as changed. Another layout is parsed first.
    """
    if stored.__class__ is str:
        if len(stored) == 26 and stored[10] == " " and stored[19] == ".":
            return stored[:10] + "T" + stored[11:] + "+00:00"
        stored = dt.datetime.fromisoformat(stored)
    return _utc_text(stored)


def link_hash(prev_hash: str, content: bytes) -> str:
    """An event's hash from the previous one's and its canonical content."""
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


def chain_hash(prev_hash: str, event: Event | PendingEvent) -> str:
    return link_hash(prev_hash, canonical(event))


@dataclass(slots=True, kw_only=True)
class PendingEvent:
    """An event of this transaction, until `seal` gives it its id and hashes and inserts it.

    Plain attributes, named as Event's columns: it is never added to the session (seal inserts it with
    Core), and building the ORM's instrumented Event cost a twentieth of a transition.
    """
    subject: str
    subject_id: int
    trigger: str
    role: str
    created_at: dt.datetime
    application_id: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    actor_id: int | None = None
    comment: str | None = None
    data: dict[str, Any] | None = None
    id: int | None = None
    prev_hash: str | None = None
    hash: str | None = None


def record(session: Session, **fields: Any) -> PendingEvent:
    """Queue an event for this transaction; `seal` chains and inserts it."""
    fields["data"] = normalise(fields.get("data"))
    event = PendingEvent(**fields)
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


def seal(session: Session) -> list[PendingEvent]:
    """Chain the transaction's pending events onto the head, last thing before commit."""
    pending: list[PendingEvent] = session.info.pop("pending_events", [])
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


STRETCH = 10_000  # ids per stretch: a fraction of a second each, so progress moves and the walkers end together
PARALLEL_FROM = 100_000  # events from which the walk is shared among processes
MAX_WALKERS = 8
MAX_SPANS = 10_000

_EVENTS = Event.__table__
# The chain's rows as plain tuples: `data` as its stored JSON text (decoded once per distinct text, see
# _data_json), `created_at` without the model's per-value conversion (_row_canonical does it).
_CHAIN_COLUMNS = [cast(column, Text) if column.key == "data" else
                  type_coerce(column, String) if column.key == "created_at" else column
                  for column in (_EVENTS.c[name] for name in CANONICAL_FIELDS)]
_CHAIN_ROW = (select(*_CHAIN_COLUMNS, _EVENTS.c.prev_hash, _EVENTS.c.hash)
              .where(_EVENTS.c.id.between(bindparam("lo"), bindparam("hi"))).order_by(_EVENTS.c.id))
_PREV, _HASH = len(CANONICAL_FIELDS), len(CANONICAL_FIELDS) + 1
# One statement, so one snapshot on either database: the chain's first and last ids and the head with them.
_SNAPSHOT = select(select(func.min(_EVENTS.c.id)).scalar_subquery(),
                   select(func.max(_EVENTS.c.id)).scalar_subquery(),
                   select(_HEAD.c.event_id).where(_HEAD.c.id == HEAD_ID).scalar_subquery(),
                   select(_HEAD.c.hash).where(_HEAD.c.id == HEAD_ID).scalar_subquery())
MISSING = "event {} is missing before it"
UNLINKED = "its previous-hash does not match the event before it"
CHANGED = "its content does not match its hash (the row was changed)"
PROGRESS_EVERY = 5000  # rows between progress reports of a walk in this process


def verify(session: Session, progress: Callable[[int], None] | None = None, *, walkers: int | None = None,
           stretch: int | None = None, meanwhile: Callable[[], None] | None = None) -> tuple[int, Break | None]:
    """Walk the whole chain; return (events checked, first break or None).

    The walk reads plain rows with Core, in stretches of `stretch` ids. Every link is checked against the
    row before it, so stretches can be walked apart and their seams joined in id order afterwards: the
    first break named, and the count up to it, are those of one walk from the first event. `walkers` > 1
    walks the stretches in that many processes (by default: one per core, for a long chain, see
    `walkers_for`); 1 walks them here, on the session's connection. `progress(count)` hears how many
    events are walked so far. `meanwhile` (other checks, on connections of their own) runs on a thread
    while the chain is walked, started once the walkers are forked; verify returns when it is done too,
    and raises what it raised.
    """
    low, high, head_id, head_hash = session.execute(_SNAPSHOT).one()
    # The chain as it stood at that moment: events appended meanwhile (after `high`) are not walked, and
    # the head compared at the end is the one that went with them.
    head_at = (head_id or 0, head_hash) if head_hash is not None else (0, GENESIS)
    spans = [] if low is None else _spans(low, high, head_at[0], stretch or STRETCH)
    walkers = walkers_for(high - low + 1 if spans else 0, session) if walkers is None else walkers
    with ExitStack() as stack:
        if walkers > 1 and len(spans) > 1:
            pool = ProcessPoolExecutor(walkers, mp_context=mp.get_context("fork"), initializer=_start_walker,
                                       initargs=(session.get_bind(),))
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)  # a break found: the rest are not walked
            futures = [pool.submit(_walk_span, lo, hi) for lo, hi in spans]  # the first submit forks them all
            stretches = _in_order(futures, progress)
        else:
            stretches = _walk_here(session.connection(), spans, progress)
        stack.callback(stretches.close)
        if meanwhile is not None:
            stack.enter_context(_alongside(meanwhile))
        return _join(stretches, head_at)


@contextmanager
def _alongside(work: Callable[[], None]) -> Iterator[None]:
    """Run `work` on a thread for the length of the block; re-raise what it raised."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    thread = threading.Thread(target=run, name="fundflow-verify", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _spans(low: int, high: int, head_id: int, stretch: int) -> list[tuple[int, int]]:
    """Ranges of `stretch` ids from the first event to the head; the last runs on to the last id.

    Ids are gap-free up to the head in an intact chain. Rows someone added far beyond it (or a head moved
    far ahead) only lengthen the last range, never the list.
    """
    end = max(low, min(high, head_id, low + MAX_SPANS * stretch))
    spans = [(lo, lo + stretch - 1) for lo in range(low, end + 1, stretch)]
    spans[-1] = (spans[-1][0], high)
    return spans


def walkers_for(events: int, session: Session | None = None) -> int:
    """How many processes walk a chain of this many events.

    One per core this process may run on, for a chain long enough to repay starting them (PARALLEL_FROM).
    They are forked, which copies this process's imports and settings for free (starting fresh ones
    costs seconds of imports) but is only safe while no other thread runs: a lock another thread holds
    at that moment stays held in the copy. So a served app, with its threads, walks in its own process.
    A database in memory cannot be shared, so it is walked here too.
    """
    if events < PARALLEL_FROM or threading.active_count() > 1 or "fork" not in mp.get_all_start_methods():
        return 1
    bind = session.get_bind() if session is not None else None
    if bind is not None and bind.dialect.name == "sqlite" and bind.url.database in (None, "", ":memory:"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_WALKERS))


@dataclass
class Stretch:
    """What walking one range of ids found: its ends, for the seams, and its first break inside."""
    count: int = 0  # rows walked (up to and including the break, if there is one)
    first: tuple[int, str] | None = None  # (id, previous-hash) of its first row
    last: tuple[int, str] | None = None  # (id, hash) of its last row walked
    broken: Break | None = None  # the first break after its first row's links (which only the seam can check)


def walk(conn: Connection, lo: int, hi: int, progress: Callable[[int], None] | None = None) -> Stretch:
    """Check every event with an id in [lo, hi] against its own hash and the row before it in the range."""
    stretch = Stretch()
    count, prev_id, prev_hash = 0, None, None
    with conn.execute(_CHAIN_ROW, {"lo": lo, "hi": hi}) as result:
        # Its columns need no conversion (see _CHAIN_COLUMNS), so the driver's own tuples are read, without
        # wrapping each in a Row: a million of those cost a second.
        for row in result.cursor:
            count += 1
            event_id, its_prev = row[0], row[_PREV]
            if prev_id is None:
                stretch.first = (event_id, its_prev)
            elif event_id != prev_id + 1:
                return _broken(stretch, count, event_id, MISSING.format(prev_id + 1), prev_id, prev_hash)
            elif its_prev != prev_hash:
                return _broken(stretch, count, event_id, UNLINKED, prev_id, prev_hash)
            try:
                intact = link_hash(its_prev, _row_canonical(row)) == row[_HASH]
            except (TypeError, ValueError):  # a time or data no longer readable: changed all the same
                intact = False
            if not intact:
                return _broken(stretch, count, event_id, CHANGED, prev_id, prev_hash)
            prev_id, prev_hash = event_id, row[_HASH]
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
    stretch.count = count
    stretch.last = (prev_id, prev_hash) if prev_id is not None else None
    return stretch


def _broken(stretch: Stretch, count: int, event_id: int, reason: str, prev_id: int | None,
            prev_hash: str | None) -> Stretch:
    stretch.count, stretch.broken = count, Break(event_id, reason)
    stretch.last = (prev_id, prev_hash) if prev_id is not None else None
    return stretch


def _join(stretches: Iterator[Stretch], head_at: tuple[int, str]) -> tuple[int, Break | None]:
    """Join the stretches' seams in id order, as one walk from the genesis would meet them."""
    count, prev = 0, (0, GENESIS)
    for stretch in stretches:
        if stretch.first is not None:
            (prev_id, prev_hash), (first_id, its_prev) = prev, stretch.first
            if first_id != prev_id + 1:
                return count + 1, Break(first_id, MISSING.format(prev_id + 1))
            if its_prev != prev_hash:
                return count + 1, Break(first_id, UNLINKED)
        count += stretch.count
        if stretch.broken is not None:
            return count, stretch.broken
        prev = stretch.last or prev
    if head_at != prev:
        return count, Break(None, f"the head names event {head_at[0]} but the chain ends at event {prev[0]} "
                                  "(events after it were removed)")
    return count, None


def _walk_here(conn: Connection, spans: list[tuple[int, int]],
               progress: Callable[[int], None] | None) -> Iterator[Stretch]:
    done = 0
    for lo, hi in spans:
        stretch = walk(conn, lo, hi, progress and (lambda count: progress(done + count)))
        done += stretch.count
        if progress is not None:
            progress(done)
        yield stretch


def _in_order(futures: list, progress: Callable[[int], None] | None) -> Iterator[Stretch]:
    """The walkers' stretches in id order; progress as each one ends, in whatever order they end."""
    ended: set = set()
    done = 0
    for future in futures:
        while future not in ended:
            finished, _ = wait([f for f in futures if f not in ended], return_when=FIRST_COMPLETED)
            for f in finished:
                ended.add(f)
                done += f.result().count
            if progress is not None:
                progress(done)
        yield future.result()


_walker_engine: Engine | None = None


def _start_walker(engine: Engine) -> None:
    """In a forked walker: connections of its own, never the parent's."""
    global _walker_engine
    engine.dispose(close=False)
    _walker_engine = engine


def _walk_span(lo: int, hi: int) -> Stretch:
    with _walker_engine.connect() as conn:
        return walk(conn, lo, hi)


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
