"""Signed checkpoints of the audit chain's head, kept outside the database (DESIGN §4).

Anyone who can write to the database can rewrite the history and recompute
every hash. A checkpoint signs the head (event id and hash) with
FUNDFLOW_AUDIT_KEY, which the database never holds, and lives in a file
beside it (and wherever it is published). A history rewritten below a
checkpoint no longer matches it.

Each checkpoint is also an event of the chain (subject `audit`, trigger
`checkpoint`, carrying what was signed), appended after the file line is on
disk. So the database itself says that checkpoints exist: a verification that
finds such events fails when the file is gone, when a recorded checkpoint is
missing from it, or when there is no key to check them with; it never passes
by having less to check. (An event without its file line cannot happen; a
file line without its event, if the commit failed, is harmless.)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import InvalidInput
from .models import Event, utcnow

FILENAME = "audit-checkpoints.jsonl"
TRIGGER = "checkpoint"  # the event each checkpoint appends (subject "audit", subject_id the signed event)


def path_in(data_dir: str) -> Path:
    return Path(data_dir) / FILENAME


def _signature(key: str, event_id: int, head_hash: str, at: str) -> str:
    message = f"fundflow-checkpoint:{event_id}:{head_hash}:{at}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def write(session: Session, key: str | None, path: Path, now: dt.datetime | None = None) -> dict:
    """Sign the chain's head, append the checkpoint to `path`, record it as an event and commit; return it.

    The head stays locked from reading it to the event's commit, so nothing is appended in between.
    """
    if not key:
        raise InvalidInput("set FUNDFLOW_AUDIT_KEY to sign checkpoints", {"FUNDFLOW_AUDIT_KEY": ["required"]})
    now = now or utcnow()
    event_id, head_hash = audit.head(session, lock=True)
    at = now.isoformat(timespec="seconds")
    record = {"event_id": event_id, "hash": head_hash, "at": at,
              "signature": _signature(key, event_id, head_hash, at)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    audit.record(session, application_id=None, subject="audit", subject_id=event_id, trigger=TRIGGER,
                 from_state=None, to_state=None, actor_id=None, role="system", created_at=now, comment=None,
                 data={"event_id": event_id, "hash": head_hash, "at": at})
    audit.seal(session)
    session.commit()
    return record


def recorded(session: Session) -> list[dict]:
    """What each checkpoint event of the chain says was signed ({event_id, hash, at}), oldest first."""
    return [data for data in session.scalars(select(Event.data).where(Event.trigger == TRIGGER,
                                                                      Event.subject == "audit")
                                             .order_by(Event.id))]


@dataclass
class Mismatch:
    line: int  # the checkpoint's line in the file; 0 for the file (or key) as a whole
    reason: str
    event_id: int | None = None  # the signed event that no longer matches, when one does not

    def __str__(self) -> str:
        return f"checkpoint {self.line}: {self.reason}" if self.line else f"checkpoints: {self.reason}"


def check(session: Session, key: str | None, path: Path) -> tuple[int, Mismatch | None]:
    """Check every checkpoint in `path` against the chain, and the chain's checkpoint events against `path`;
    return (checkpoints in the file, first problem or None)."""
    expected = recorded(session)
    if not path.exists():
        if expected:
            last = expected[-1]
            return 0, Mismatch(0, f"the chain records {len(expected)} checkpoints (the last of event "
                                  f"{last.get('event_id')} at {last.get('at')}) but the checkpoint file is missing")
        return 0, None
    lines = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if line.strip()]
    if lines and not key:
        return len(lines), Mismatch(0, f"FUNDFLOW_AUDIT_KEY is not set, so the {len(lines)} checkpoints "
                                       "cannot be checked")
    head_id = audit.head(session)[0]
    signed = set()
    for count, (number, line) in enumerate(lines, start=1):
        try:
            cp = json.loads(line)
            event_id, head_hash, at, signature = cp["event_id"], cp["hash"], cp["at"], cp["signature"]
            if not (isinstance(event_id, int) and all(isinstance(v, str) for v in (head_hash, at, signature))):
                raise TypeError("a checkpoint's fields have the wrong types")
        except (ValueError, KeyError, TypeError):
            return count, Mismatch(number, "unreadable")
        if not hmac.compare_digest(signature.encode(), _signature(key, event_id, head_hash, at).encode()):
            return count, Mismatch(number, "bad signature (the checkpoint file was altered, or the key differs)")
        signed.add((event_id, head_hash, at))
        if event_id == 0:
            continue
        if event_id > head_id:
            return count, Mismatch(number, f"names event {event_id}, beyond the chain's head {head_id} "
                                           "(events were removed)")
        event = session.get(Event, event_id)
        if event is None or event.hash != head_hash:
            return count, Mismatch(number, f"event {event_id} no longer has the hash signed at {at} "
                                           "(the history was rewritten)", event_id=event_id)
    for cp in expected:
        if (cp.get("event_id"), cp.get("hash"), cp.get("at")) not in signed:
            return len(lines), Mismatch(0, f"the chain records a checkpoint of event {cp.get('event_id')} at "
                                           f"{cp.get('at')} that the checkpoint file does not hold")
    return len(lines), None
