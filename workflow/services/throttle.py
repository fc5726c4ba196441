"""Sign-in throttling on the database, so the right password from a clean address always gets through.

Each attempt is counted twice: against the (e-mail, address) pair and against the address alone (stored
with the e-mail ''). It is counted *before* its password is checked, by one conditional upsert per count
that refuses while the count's delay lies ahead: the count is the gate, so forty attempts at once get no
more passwords checked than the count allows, on SQLite (one writer at a time) and on PostgreSQL (the
upsert waits for the row and re-reads it). After `free` failures each further one doubles the delay, up
to a cap; a right password clears its pair and gives back its place in the address's count.

Sign-ins, failures, a count becoming throttled and its lifting are audit events (subject "sign_in").
Passwords are never recorded; the address is.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Callable

from flask import current_app
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .. import audit, db
from ..errors import N_, TooManyAttempts
from ..models import SYSTEM_ROLE, SignInThrottle as T, User, utcnow

ADDRESS_ONLY = ""  # the e-mail of an address's own count
NO_ADDRESS = "local"  # a sign-in from the command line or a test, outside any request


@dataclass(frozen=True)
class Limit:
    scope: str  # "account" (the pair) or "address"
    free: int
    delay: int
    cap: int

    def wait_after(self, failures: int) -> dt.timedelta | None:
        """How long the next attempt waits after `failures` failures; None while it need not."""
        if failures < self.free:
            return None
        doublings = min(failures - self.free, 32)  # 2**32 seconds is past any cap
        return dt.timedelta(seconds=min(self.cap, self.delay * 2 ** doublings))


def _limits() -> tuple[Limit, Limit]:
    c = current_app.config
    delay, cap = c["SIGN_IN_DELAY_SECONDS"], c["SIGN_IN_MAX_DELAY_SECONDS"]
    return (Limit("account", c["SIGN_IN_FREE_FAILURES"], delay, cap),
            Limit("address", c["SIGN_IN_ADDRESS_FREE_FAILURES"], delay, cap))


def _counts(email: str, address: str) -> list[tuple[str, Limit]]:
    """Both counts in the order every transaction locks them (by e-mail, the address's own '' first), so
    an attempt's gate and another's outcome never wait on each other crosswise (a deadlock)."""
    pair, own = _limits()
    return [(ADDRESS_ONLY, own), (email, pair)]


def clean_address(address: str | None) -> str:
    return (address or NO_ADDRESS)[:64]


# --- before the password is checked --------------------------------------------------------------


def admit(email: str, address: str) -> User | None:
    """Count this attempt against both counts, or refuse it (TooManyAttempts) while either is delayed;
    the user with this e-mail, if any (read on the same connection: one connection per attempt)."""
    now = utcnow()
    forget = now - current_app.config["SIGN_IN_FORGET_AFTER"]
    with db.write_session() as s:
        user = s.scalar(select(User).where(User.email == email))
        user_id = user.id if user is not None else None
        for key, limit in _counts(email, address):
            row = s.execute(_gate(s, key, address, now, forget)).first()
            if row is None:
                raise _refusal(s, key, address, now)
            failures, throttled_since = row
            lifted = failures == 1 and throttled_since is not None  # forgotten after a quiet spell
            if lifted:
                _event(s, "throttle_lifted", now, user_id, email, address,
                       {"scope": limit.scope, "reason": "expired"})
            wait = limit.wait_after(failures)
            if wait is not None or lifted:
                s.execute(update(T).where(T.email == key, T.address == address).values(
                    blocked_until=now + wait if wait is not None else None,
                    throttled_since=None if lifted else T.throttled_since))
        audit.seal(s)
    return user


def _gate(s: Session, key: str, address: str, now: dt.datetime, forget: dt.datetime):
    """One statement: add this attempt to the count unless the count is delayed; the new count, or no row."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(T).values(email=key, address=address, failures=1, last_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[T.email, T.address],
        set_={"failures": case((T.last_at < forget, 1), else_=T.failures + 1), "last_at": now},
        where=or_(T.blocked_until.is_(None), T.blocked_until <= now))
    return stmt.returning(T.failures, T.throttled_since)


def _refusal(s: Session, key: str, address: str, now: dt.datetime) -> TooManyAttempts:
    blocked_until = s.scalar(select(T.blocked_until).where(T.email == key, T.address == address))
    seconds = max(1, math.ceil((blocked_until - now).total_seconds())) if blocked_until else 1
    err = TooManyAttempts("too many failed sign-ins; try again later", seconds)
    if seconds < 120:
        err.template = N_("Too many failed sign-ins. Try again in %(seconds)s seconds.")
        err.params = {"seconds": seconds}
    return err


# --- after the password is checked ---------------------------------------------------------------


def settle(email: str, address: str, user: User | None, ok: bool, via: str,
           on_success: Callable[[Session, dt.datetime], None] | None = None) -> None:
    """Record the outcome: a sign-in clears its pair; a failure may start a delay (a "throttle" event)."""
    now = utcnow()
    user_id = user.id if user is not None else None
    with db.write_session() as s:
        rows = {r.email: r for r in s.scalars(select(T).where(T.address == address,
                                                              T.email.in_([email, ADDRESS_ONLY]))
                                              .order_by(T.email).with_for_update())}
        if not ok:
            _event(s, "sign_in_failed", now, user_id, email, address, {"via": via})
        for key, limit in _counts(email, address):
            row = rows.get(key)
            if row is not None:
                (_forgive if ok else _blame)(s, row, limit, now, user_id, email, address)
        if ok:
            _event(s, "sign_in", now, user_id, email, address, {"via": via}, actor=user)
            if on_success is not None:
                on_success(s, now)
        else:
            forget = now - current_app.config["SIGN_IN_FORGET_AFTER"]
            s.execute(delete(T).where(T.last_at < forget, or_(T.blocked_until.is_(None), T.blocked_until < now)))
        audit.seal(s)


def _forgive(s: Session, row: T, limit: Limit, now, user_id, email, address) -> None:
    """A right password: the pair starts afresh; the address gets back the place this attempt took."""
    row.failures = 0 if row.email != ADDRESS_ONLY else row.failures - 1
    if row.failures < limit.free:
        row.blocked_until = None
        if row.throttled_since is not None:
            _event(s, "throttle_lifted", now, user_id, email, address, {"scope": limit.scope, "reason": "signed_in"})
            row.throttled_since = None
    if row.failures <= 0:
        s.delete(row)


def _blame(s: Session, row: T, limit: Limit, now, user_id, email, address) -> None:
    if row.failures >= limit.free and row.throttled_since is None:
        row.throttled_since = now
        wait = limit.wait_after(row.failures)
        _event(s, "throttle", now, user_id, email, address,
               {"scope": limit.scope, "failures": row.failures, "delay_seconds": int(wait.total_seconds())})


def _event(s: Session, trigger: str, now, user_id: int | None, email: str, address: str, data: dict,
           actor: User | None = None) -> None:
    audit.record(s, application_id=None, subject="sign_in", subject_id=user_id or 0, trigger=trigger,
                 from_state=None, to_state=None, actor_id=actor.id if actor else None,
                 role=actor.role if actor else SYSTEM_ROLE, created_at=now, comment=None,
                 data={"email": email[:254], "address": address, **data})
