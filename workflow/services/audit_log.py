"""The audit history as administrators read it: filtered events, CSV exports, and verification.

The filters are the same for the API and the pages:

- `actor`: a user id (digits) or a user's e-mail address;
- `role`: the role the actor acted in (one of the roles, or `system` for the scan and jobs);
- `application`: an application id;
- `trigger`: the trigger or audit-only action (`submit`, `create`, `upload`, `export`, ...);
- `since` / `until`: a date or a date-time. Dates and date-times without an offset are the fund's
  time, Beijing (UTC+8); a date-time with an offset is taken as given. A date as `until` counts the
  whole of that day.

An export is an administrative act and is itself recorded: an `export` event (subject `audit`,
subject id the last event the export covers) carrying the filters, appended before the rows are
read, so the export holds exactly the events up to that id.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from flask import current_app
from sqlalchemy import func, select

from .. import audit, checkpoints, db
from ..errors import InvalidInput
from ..models import MAX_ROW_ID, ROLES, SYSTEM_ROLE, Event, User, utcnow
from ..permissions import Actor

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
EVENT_ROLES = (*ROLES, SYSTEM_ROLE)
MIN_YEAR, MAX_YEAR = 1900, 2999
MAX_ID = MAX_ROW_ID
CSV_COLUMNS = ("id", "time UTC", "application", "subject", "subject_id", "trigger", "from", "to", "actor", "role",
               "comment", "hash")
_BATCH = 1000


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    role: str | None = None
    application: int | None = None
    trigger: str | None = None
    since: dt.date | dt.datetime | None = None
    until: dt.date | dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The filters that are set, as JSON values (for the export's audit event)."""
        out = {}
        for key in ("actor", "role", "application", "trigger", "since", "until"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
        return out


def _instant(value: dt.date | dt.datetime, name: str, *, end: bool) -> tuple[dt.datetime, bool]:
    """(the UTC instant, inclusive?) of a since/until bound; a date as `until` ends with its day."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidInput(f"{name} is out of range", {name: [f"must be between {MIN_YEAR} and {MAX_YEAR}"]})
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=BEIJING)
        return aware.astimezone(dt.timezone.utc), True
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), BEIJING).astimezone(dt.timezone.utc), not end


def _actor_id(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        if not 1 <= int(text) <= MAX_ID:
            raise InvalidInput("no such user", {"actor": ["no such user"]})
        return int(text)
    if "@" in text:
        user_id = db.session().scalar(select(User.id).where(User.email == text.lower()))
        if user_id is None:
            raise InvalidInput("no user has this e-mail", {"actor": ["no user has this e-mail"]})
        return user_id
    raise InvalidInput("actor must be a user id or an e-mail address",
                       {"actor": ["a user id or an e-mail address"]})


def _conditions(f: EventFilter) -> list:
    where = []
    if f.actor not in (None, ""):
        where.append(Event.actor_id == _actor_id(str(f.actor)))
    if f.role not in (None, ""):
        if f.role not in EVENT_ROLES:
            raise InvalidInput("unknown role", {"role": [f"one of {', '.join(EVENT_ROLES)}"]})
        where.append(Event.role == f.role)
    if f.application is not None:
        if not 1 <= f.application <= MAX_ID:
            raise InvalidInput("no such application", {"application": ["not a valid id"]})
        where.append(Event.application_id == f.application)
    if f.trigger not in (None, ""):
        where.append(Event.trigger == f.trigger)
    since = until = None
    if f.since is not None:
        since, _ = _instant(f.since, "since", end=False)
        where.append(Event.created_at >= since)
    if f.until is not None:
        until, inclusive = _instant(f.until, "until", end=True)
        where.append(Event.created_at <= until if inclusive else Event.created_at < until)
    if since is not None and until is not None and until < since:
        raise InvalidInput("until is before since", {"until": ["must not be before since"]})
    return where


def list_events(f: EventFilter, page: int = 1, per_page: int = 50) -> tuple[list[Event], int]:
    """One page of the events matching `f`, newest first, and how many match in all."""
    where = _conditions(f)
    s = db.session()
    total = s.scalar(select(func.count(Event.id)).where(*where))
    rows = s.scalars(select(Event).where(*where).order_by(Event.id.desc())
                     .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def actors_of(events: list[Event]) -> dict[int, User]:
    """The users who acted in these events, by id."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session().scalars(select(User).where(User.id.in_(ids)))}


def triggers() -> list[str]:
    """Every trigger and action the history holds, for a filter's choices."""
    return list(db.session().scalars(select(Event.trigger).distinct().order_by(Event.trigger)))


def export_csv(actor: Actor, f: EventFilter, *, bom: bool = False) -> Iterator[str]:
    """Record the export, then yield the matching events as CSV lines (header first), oldest first.

    The filters are checked (InvalidInput) and the export recorded before this returns; the rows are
    read in batches as the lines are taken, so a long history streams.
    """
    where = _conditions(f)
    with db.write_session() as s:
        up_to, _ = audit.head(s)
        audit.record(s, application_id=None, subject="audit", subject_id=up_to, trigger="export",
                     from_state=None, to_state=None, actor_id=actor.id, role=actor.role, created_at=utcnow(),
                     comment=None, data={"filters": f.as_dict(), "format": "csv", "up_to_event": up_to})
        audit.seal(s)
    return _csv_lines(where + [Event.id <= up_to], bom)


def _csv_lines(where: list, bom: bool) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield ("\ufeff" if bom else "") + line(CSV_COLUMNS)
    s, last, emails = db.session(), 0, {}
    while True:
        rows = s.execute(select(Event, User.email).outerjoin(User, User.id == Event.actor_id)
                         .where(*where, Event.id > last).order_by(Event.id).limit(_BATCH)).all()
        if not rows:
            return
        for event, email in rows:
            yield line((event.id, event.created_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
                        event.application_id or "", _cell(event.subject), event.subject_id, _cell(event.trigger),
                        event.from_state or "", event.to_state or "", _cell(email or ""), event.role,
                        _cell(event.comment or ""), event.hash))
        last = rows[-1][0].id
        s.expunge_all()


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP's CSV-injection advice)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- verification ----------------------------------------------------------------------


@dataclass
class Problem:
    where: str  # "event", "head", "checkpoint" (one line of the file), "checkpoints" (the file or key), "row"
    reason: str
    event_id: int | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        if self.where == "checkpoint":
            return f"checkpoint {self.checkpoint}: {self.reason}"
        if self.where in ("checkpoints", "row"):
            return f"{'data' if self.where == 'row' else 'checkpoints'}: {self.reason}"
        return f"event {self.event_id}: {self.reason}" if self.where == "event" else f"chain head: {self.reason}"


@dataclass
class Verification:
    events: int
    checkpoints: int
    signatures_checked: bool
    verified_at: dt.datetime
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def broken_event(self) -> int | None:
        """The first changed, inserted or misplaced event the chain names; else the earliest event a
        checkpoint no longer matches (a rewrite with fresh hashes changed it or one before it)."""
        named = next((p.event_id for p in self.problems if p.where == "event"), None)
        if named is not None:
            return named
        return next((p.event_id for p in self.problems if p.where == "checkpoint" and p.event_id), None)

    def as_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, "events": self.events, "checkpoints": self.checkpoints,
                "problems": [str(p) for p in self.problems], "broken_event": self.broken_event,
                "signatures_checked": self.signatures_checked,
                "verified_at": self.verified_at.isoformat(timespec="seconds")}


def verify_chain(progress: Callable[[int], None] | None = None) -> Verification:
    """What `fundflow audit verify` checks: the whole chain; every checkpoint (with FUNDFLOW_AUDIT_KEY, and
    failing without it when there are checkpoints); and the rows replayed against their events."""
    key = current_app.config.get("AUDIT_KEY")
    path = checkpoints.path_in(current_app.config["DATA_DIR"])
    started = utcnow()
    # The checkpoints and the replay run on a thread beside the walk, which would otherwise wait for their
    # seconds on a long chain; each side has a session of its own, as a session is for one thread.
    sessions = current_app.extensions["fundflow.sessions"]
    walking, beside = sessions(), sessions()
    found: dict[str, Any] = {}

    def the_rest() -> None:
        found["checkpoints"] = checkpoints.check(beside, key, path)
        found["rows"] = audit.replay(beside)

    try:
        count, broken = audit.verify(walking, progress=progress, meanwhile=the_rest)
    finally:
        walking.close()
        beside.close()
    (checked, mismatch), rows = found["checkpoints"], found["rows"]
    result = Verification(events=count, checkpoints=checked, signatures_checked=bool(key),
                          verified_at=started)
    if broken is not None:
        result.problems.append(Problem("event" if broken.event_id is not None else "head", broken.reason,
                                       event_id=broken.event_id))
    if mismatch is not None:
        result.problems.append(Problem("checkpoint" if mismatch.line else "checkpoints", mismatch.reason,
                                       event_id=mismatch.event_id, checkpoint=mismatch.line or None))
    result.problems.extend(Problem("row", m.reason, event_id=m.event_id) for m in rows)
    return result


def chain_length() -> int:
    """The id of the chain's last event: how many events a verification will walk."""
    return audit.head(db.session())[0]
