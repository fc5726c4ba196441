"""Users, passwords, bearer tokens and sign-in throttling."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import db
from ..errors import N_, InvalidInput, NotAuthenticated, NotFound, NotPermitted, TooManyAttempts
from ..models import ROLES, ApiToken, Body, Institution, SignInFailure, User, utcnow
from ..permissions import Actor

MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
# A stand-in hash, so an unknown e-mail costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("fundflow-dummy-password")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(email: str, password: str, role: str, *, name: str = "",
                institution_id: int | None = None, body_id: int | None = None) -> User:
    """Create a user; applicants need an institution, recommenders a body."""
    email = email.strip().lower()
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", {"role": [f"one of {', '.join(ROLES)}"]})
    if len(password) < 8:
        raise InvalidInput("password too short", {"password": ["at least 8 characters"]})
    password_hash = _hash(password)  # outside the write lock: no other writer waits ~0.1 s for scrypt
    with db.write_session() as s:
        _check_affiliation(s, role, institution_id, body_id)
        if s.scalar(select(User.id).where(User.email == email)):
            raise InvalidInput("e-mail already registered", {"email": ["already registered"]})
        user = User(email=email, name=name, password_hash=password_hash, role=role,
                    institution_id=institution_id, body_id=body_id)
        s.add(user)
    return user


def update_user(user_id: int, changes: dict) -> User:
    """Change a user's role, affiliation or activity; deactivating ends their tokens at once."""
    with db.write_session() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        # Checked before the row changes: a query with a dangling id pending would autoflush it (a 500).
        after = {key: changes.get(key, getattr(user, key)) for key in ("role", "institution_id", "body_id")}
        _check_affiliation(s, after["role"], after["institution_id"], after["body_id"])
        if user.role == "admin" and user.active and (after["role"] != "admin" or changes.get("active") is False):
            _keep_an_admin(s, user, "role" if after["role"] != "admin" else "active")
        for key in ("role", "institution_id", "body_id", "name", "active"):
            if key in changes:
                setattr(user, key, changes[key])
        if changes.get("active") is False:
            now = utcnow()
            for token in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                          ApiToken.revoked_at.is_(None))):
                token.revoked_at = now
    return user


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


def _check_affiliation(s, role: str, institution_id: int | None, body_id: int | None) -> None:
    if role == "applicant" and institution_id is None:
        raise InvalidInput("an applicant belongs to an institution", {"institution_id": ["required"]})
    if role == "recommender" and body_id is None:
        raise InvalidInput("a recommender belongs to a recommending body", {"body_id": ["required"]})
    if institution_id is not None and s.get(Institution, institution_id) is None:
        raise InvalidInput("no such institution", {"institution_id": ["not found"]})
    if body_id is not None and s.get(Body, body_id) is None:
        raise InvalidInput("no such recommending body", {"body_id": ["not found"]})


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def issue_token(email: str, password: str) -> str:
    """Check the password and hand out a new bearer token (only its hash is kept)."""
    user = check_password(email, password)
    token = secrets.token_urlsafe(32)
    with db.write_session() as s:
        s.add(ApiToken(user_id=user.id, token_hash=token_digest(token), created_at=utcnow()))
    return token


def check_password(email: str, password: str) -> User:
    """The active user with this e-mail and password; NotAuthenticated, or TooManyAttempts while throttled."""
    email = email.strip().lower()
    now = utcnow()
    since = now - FAILURE_WINDOW
    reader = db.session()
    failures = reader.scalars(select(SignInFailure.created_at).where(
        SignInFailure.email == email, SignInFailure.created_at > since).order_by(SignInFailure.created_at)).all()
    if len(failures) >= MAX_FAILURES:
        retry = int((failures[-MAX_FAILURES] + FAILURE_WINDOW - now).total_seconds()) + 1
        raise TooManyAttempts("too many failed sign-ins; try again later", retry)
    user = reader.scalar(select(User).where(User.email == email))
    # Checked before the write lock is taken: the hash is slow on purpose.
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = bool(user and valid and user.active)
    with db.write_session() as s:
        if ok:
            s.execute(delete(SignInFailure).where(SignInFailure.email == email))
        else:
            s.add(SignInFailure(email=email, created_at=now))
            s.execute(delete(SignInFailure).where(SignInFailure.created_at < since))
    if not ok:
        raise NotAuthenticated("wrong e-mail or password")
    return user


def active_actor(user_id: int) -> Actor | None:
    """The actor of an active user, for a page session; None once the user is gone or deactivated."""
    user = db.session().get(User, user_id)
    return Actor.of(user) if user is not None and user.active else None


def authenticate(token: str) -> Actor:
    """The actor behind a bearer token, or NotAuthenticated."""
    s = db.session()
    row = s.execute(
        select(ApiToken, User).join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_digest(token))
    ).first()
    if row is None or row.ApiToken.revoked_at is not None or not row.User.active:
        raise NotAuthenticated("the token is not valid")
    return Actor.of(row.User)


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
