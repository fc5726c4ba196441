"""Users, passwords, bearer tokens and sign-in (throttled in services/throttle.py).

Every change to a user is an audit event (subject "user") naming the changed fields before and after;
passwords and their hashes never go into an event.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import cache
from importlib import resources

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit, db
from ..errors import N_, InvalidInput, NotAuthenticated, NotFound, NotPermitted
from ..models import ROLES, SYSTEM_ROLE, ApiToken, Body, Institution, User, utcnow
from ..permissions import Actor
from . import registry, throttle

MIN_PASSWORD_LENGTH = 10
# A token's last use is written at most this often, so reading the API does not write on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)
# A stand-in hash, so an unknown e-mail costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("fundflow-dummy-password")
USER_FIELDS = ("name", "role", "institution_id", "body_id", "active")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- passwords ---------------------------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (Django's 20,000, after Royce Williams' list)."""
    text = (resources.files("workflow") / "data" / "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def password_problems(password: str, email: str) -> list[str]:
    """What is wrong with `password` for the user with `email`; empty when it may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [N_("at least 10 characters")]
    folded, address = password.strip().casefold(), email.strip().casefold()
    if folded in (address, address.partition("@")[0]):
        return [N_("must not be your e-mail address")]
    if folded in common_passwords():
        return [N_("too common: it is on the list of passwords tried first")]
    return []


def check_password_policy(password: str, email: str, field: str = "password") -> None:
    problems = password_problems(password, email)
    if problems:
        raise InvalidInput("the password does not meet the policy", {field: problems},
                           template=N_("The password does not meet the policy."))


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


# --- users -------------------------------------------------------------------------------------------


def create_user(email: str, password: str, role: str, *, name: str = "", institution_id: int | None = None,
                body_id: int | None = None, actor: Actor | None = None) -> User:
    """Create a user; applicants need an institution, recommenders a body."""
    email = email.strip().lower()
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", {"role": [f"one of {', '.join(ROLES)}"]})
    check_password_policy(password, email)
    password_hash = _hash(password)  # outside the write lock: no other writer waits ~0.1 s for scrypt
    with db.write_session() as s:
        _check_affiliation(s, role, institution_id, body_id)
        if s.scalar(select(User.id).where(User.email == email)):
            raise InvalidInput("e-mail already registered", {"email": ["already registered"]})
        user = User(email=email, name=name, password_hash=password_hash, role=role,
                    institution_id=institution_id, body_id=body_id)
        s.add(user)
        s.flush()
        _user_event(s, actor, user, "create", {"after": {"email": email, **_fields(user)}})
    return user


def update_user(user_id: int, changes: dict, actor: Actor | None = None) -> User:
    """Change a user's role, affiliation, activity or password; deactivating ends their tokens at once."""
    password, password_hash = changes.get("password"), None
    if password is not None:  # checked and hashed before the write lock is taken
        check_password_policy(password, _email_of(user_id))
        password_hash = _hash(password)
    with db.write_session() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        # Checked before the row changes: a query with a dangling id pending would autoflush it (a 500).
        after = {key: changes.get(key, getattr(user, key)) for key in ("role", "institution_id", "body_id")}
        _check_affiliation(s, after["role"], after["institution_id"], after["body_id"], keeping=user)
        if user.role == "admin" and user.active and (after["role"] != "admin" or changes.get("active") is False):
            _keep_an_admin(s, user, "role" if after["role"] != "admin" else "active")
        before = _fields(user)
        for key in USER_FIELDS:
            if key in changes:
                setattr(user, key, changes[key])
        changed = [key for key in USER_FIELDS if before[key] != getattr(user, key)]
        if password_hash is not None:
            user.password_hash = password_hash
        if changes.get("active") is False:
            _revoke_all(s, user.id, utcnow())
        if changed or password is not None:
            _user_event(s, actor, user, _trigger(changed, before), {
                "before": {k: before[k] for k in changed}, "after": {k: getattr(user, k) for k in changed},
                **({"password": "set"} if password is not None else {})})
    return user


def _email_of(user_id: int) -> str:
    user = db.session().get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user.email


def _trigger(changed: list[str], before: dict) -> str:
    """The event's name for what changed most: (de)activation, the role, other fields, or the password only."""
    if "active" in changed:
        return "deactivate" if before["active"] else "activate"
    if "role" in changed:
        return "change_role"
    return "update" if changed else "set_password"


def change_password(actor: Actor, current: str, new: str, *, address: str | None = None) -> None:
    """The signed-in user changes their own password; the current one is checked (and throttled) first."""
    check_password_policy(new, actor.email, field="new_password")
    if current == new:
        raise InvalidInput("the new password is the current one", {"new_password": [N_("the same as the current one")]})
    new_hash = _hash(new)

    def store(s: Session, now: dt.datetime) -> None:
        user = s.get(User, actor.id)
        user.password_hash = new_hash
        _user_event(s, actor, user, "change_password", {})

    try:
        _verified(actor.email, current, address, "change_password", on_success=store)
    except NotAuthenticated:
        raise InvalidInput("the current password is wrong", {"current_password": [N_("wrong password")]},
                           template=N_("The current password is wrong.")) from None


def _fields(user: User) -> dict:
    return {key: getattr(user, key) for key in USER_FIELDS}


def _user_event(s: Session, actor: Actor | None, user: User, trigger: str, data: dict) -> None:
    audit.record(s, application_id=None, subject="user", subject_id=user.id, trigger=trigger, from_state=None,
                 to_state=None, actor_id=actor.id if actor else None, role=actor.role if actor else SYSTEM_ROLE,
                 created_at=utcnow(), comment=None, data=data)
    audit.seal(s)


def _revoke_all(s: Session, user_id: int, now: dt.datetime) -> None:
    s.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
              .values(revoked_at=now))


def _keep_an_admin(s, user: User, field: str) -> None:
    """Refuse to leave the fund without an active administrator (nobody could then manage users)."""
    # Every active admin's row is locked, in id order: of two admins stepping down at once, the second
    # waits, then sees the first gone (and no two transactions lock in opposite orders).
    admins = s.scalars(select(User.id).where(User.role == "admin", User.active.is_(True))
                       .order_by(User.id).with_for_update()).all()
    if not [i for i in admins if i != user.id]:
        raise InvalidInput("the last active administrator cannot be deactivated or given another role",
                           {field: ["the last active administrator"]},
                           template=N_("The last active administrator cannot be deactivated or given another "
                                       "role. Make another user an administrator first."))


def _check_affiliation(s, role: str, institution_id: int | None, body_id: int | None,
                       keeping: User | None = None) -> None:
    """A retired institution or body takes no new members; a user who already belongs to one stays."""
    if role == "applicant" and institution_id is None:
        raise InvalidInput("an applicant belongs to an institution", {"institution_id": ["required"]})
    if role == "recommender" and body_id is None:
        raise InvalidInput("a recommender belongs to a recommending body", {"body_id": ["required"]})
    registry.choosable(s, Institution, institution_id, "institution_id",
                       keeping=keeping.institution_id if keeping else None)
    registry.choosable(s, Body, body_id, "body_id", keeping=keeping.body_id if keeping else None)


def issue_token(email: str, password: str, *, address: str | None = None) -> str:
    """Check the password and hand out a new bearer token (only its hash is kept)."""
    user = check_password(email, password, address=address, via="api")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write_session() as s:
        s.add(ApiToken(user_id=user.id, token_hash=token_digest(token), created_at=now,
                       expires_at=now + dt.timedelta(days=current_app.config["TOKEN_DAYS"])))
    return token


def check_password(email: str, password: str, *, address: str | None = None, via: str = "page") -> User:
    """The active user with this e-mail and password; NotAuthenticated, or TooManyAttempts while throttled."""
    return _verified(email, password, address, via)


def _verified(email: str, password: str, address: str | None, via: str, on_success=None) -> User:
    """Count the attempt (refused while throttled), check the password, record the outcome."""
    email, address = email.strip().lower(), throttle.clean_address(address)
    if not email:
        raise NotAuthenticated("wrong e-mail or password")
    user = throttle.admit(email, address)
    # Checked outside any write lock: the hash is slow on purpose.
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = bool(user and valid and user.active)
    throttle.settle(email, address, user, ok, via, on_success)
    if not ok:
        raise NotAuthenticated("wrong e-mail or password")
    return user


def active_actor(user_id: int) -> Actor | None:
    """The actor of an active user, for a page session; None once the user is gone or deactivated."""
    user = db.session().get(User, user_id)
    return Actor.of(user) if user is not None and user.active else None


def authenticate(token: str) -> Actor:
    """The actor behind a bearer token, or NotAuthenticated (revoked, expired, or its user deactivated)."""
    row = db.session().execute(
        select(ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at, ApiToken.revoked_at, User)
        .join(User, ApiToken.user_id == User.id).where(ApiToken.token_hash == token_digest(token))
    ).first()
    if row is None or row.revoked_at is not None or not row.User.active:
        raise NotAuthenticated("the token is not valid")
    now = utcnow()
    if row.expires_at <= now:
        raise NotAuthenticated("the token has expired; sign in again for a new one")
    actor = Actor.of(row.User)
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        _touch(row.id, now)
    return actor


def _touch(token_id: int, now: dt.datetime) -> None:
    """Note the token's use; of requests racing within the minute, one writes and the rest change nothing."""
    with db.write_session() as s:
        s.execute(update(ApiToken).where(ApiToken.id == token_id, or_(
            ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY)).values(last_used_at=now))


def list_tokens(actor: Actor, user_id: int | None = None) -> list[ApiToken]:
    if user_id is not None and user_id != actor.id and actor.role != "admin":
        raise NotPermitted("only administrators may list another user's tokens")
    target = actor.id if user_id is None else user_id
    return db.session().scalars(select(ApiToken).where(ApiToken.user_id == target).order_by(ApiToken.id)).all()


def revoke_token(actor: Actor, token_id: int) -> None:
    with db.write_session() as s:
        token = s.get(ApiToken, token_id)
        if token is None or (token.user_id != actor.id and actor.role != "admin"):
            raise NotFound(f"token {token_id} not found")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
