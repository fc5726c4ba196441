"""Signed checkpoints of the audit chain's head, kept outside the database (DESIGN §4).

Anyone who can write to the database can rewrite the history and recompute
every hash. A checkpoint signs the head (event id and hash) with
FUNDFLOW_AUDIT_KEY, which the database never holds, and lives in a file
beside it (and wherever it is published). A history rewritten below a
checkpoint no longer matches it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from . import audit
from .errors import InvalidInput
from .models import Event, utcnow

FILENAME = "audit-checkpoints.jsonl"


def path_in(data_dir: str) -> Path:
    return Path(data_dir) / FILENAME


def _signature(key: str, event_id: int, head_hash: str, at: str) -> str:
    message = f"fundflow-checkpoint:{event_id}:{head_hash}:{at}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def write(session: Session, key: str | None, path: Path, now: dt.datetime | None = None) -> dict:
    """Sign the chain's head and append the checkpoint to `path`; return it."""
    if not key:
        raise InvalidInput("set FUNDFLOW_AUDIT_KEY to sign checkpoints", {"FUNDFLOW_AUDIT_KEY": ["required"]})
    event_id, head_hash = audit.head(session)
    at = (now or utcnow()).isoformat(timespec="seconds")
    record = {"event_id": event_id, "hash": head_hash, "at": at,
              "signature": _signature(key, event_id, head_hash, at)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return record


@dataclass
class Mismatch:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"checkpoint {self.line}: {self.reason}"


def check(session: Session, key: str | None, path: Path) -> tuple[int, Mismatch | None]:
    """Check every checkpoint in `path` against the chain; return (count, first mismatch or None)."""
    if not path.exists():
        return 0, None
    head_id = audit.head(session)[0]
    count = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        count += 1
        try:
            cp = json.loads(line)
            event_id, head_hash, at, signature = cp["event_id"], cp["hash"], cp["at"], cp["signature"]
        except (ValueError, KeyError, TypeError):
            return count, Mismatch(number, "unreadable")
        if key and not hmac.compare_digest(signature, _signature(key, event_id, head_hash, at)):
            return count, Mismatch(number, "bad signature (the checkpoint file was altered, or the key differs)")
        if event_id == 0:
            continue
        if event_id > head_id:
            return count, Mismatch(number, f"names event {event_id}, beyond the chain's head {head_id} "
                                           "(events were removed)")
        event = session.get(Event, event_id)
        if event is None or event.hash != head_hash:
            return count, Mismatch(number, f"event {event_id} no longer has the hash signed at {at} "
                                           "(the history was rewritten)")
    return count, None
