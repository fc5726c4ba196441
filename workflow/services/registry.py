"""Reference data the administrators keep: calls, institutions, bodies, bases."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import audit, db
from ..errors import InvalidInput, NotFound
from ..models import Body, Call, CooperationBase, Institution, User, utcnow
from ..permissions import Actor


def _create(actor: Actor, model: type, data: dict[str, Any], unique: str):
    now = utcnow()
    with db.write_session() as s:
        if s.scalar(select(model.id).where(getattr(model, unique) == data[unique])):
            raise InvalidInput(f"{unique} already exists", {unique: ["already exists"]})
        if data.get("institution_id") is not None and s.get(Institution, data["institution_id"]) is None:
            raise InvalidInput("no such institution", {"institution_id": ["not found"]})
        row = model(**data)
        s.add(row)
        s.flush()
        _record(s, actor, model.__tablename__, row.id, "create", now, {"after": data})
    return row


def _record(s, actor: Actor, subject: str, subject_id: int, trigger: str, now, data) -> None:
    audit.record(s, application_id=None, subject=subject, subject_id=subject_id, trigger=trigger,
                 from_state=None, to_state=None, actor_id=actor.id, role=actor.role, created_at=now,
                 comment=None, data=data)
    audit.seal(s)


def create_call(actor: Actor, data: dict[str, Any]) -> Call:
    """A new call, scored by the plan's default rubric until an administrator changes it."""
    from . import rubrics

    call = _create(actor, Call, data, "code")
    with db.write_session() as s:
        rubrics.add_default(s, s.get(Call, call.id), actor.id)
    return get_call(call.id)


def update_call(actor: Actor, call_id: int, changes: dict[str, Any]) -> Call:
    now = utcnow()
    with db.write_session() as s:
        call = s.get(Call, call_id)
        if call is None:
            raise NotFound(f"call {call_id} not found")
        if "code" in changes and s.scalar(select(Call.id).where(Call.code == changes["code"], Call.id != call_id)):
            raise InvalidInput("code already exists", {"code": ["already exists"]})
        before = {key: getattr(call, key) for key in changes}
        for key, value in changes.items():
            setattr(call, key, value)
        if call.closes_at <= call.opens_at:
            raise InvalidInput("the call must close after it opens", {"closes_at": ["must be after opens_at"]})
        changed = [key for key in changes if before[key] != getattr(call, key)]
        if changed:  # the event names what changed, before and after; retiring is said as such
            trigger = "retire" if changes.get("retired") is True and "retired" in changed else "update"
            _record(s, actor, "calls", call.id, trigger, now, {"before": {k: before[k] for k in changed},
                                                                "after": {k: getattr(call, k) for k in changed}})
    return call


def create_institution(actor: Actor, data: dict[str, Any]) -> Institution:
    return _create(actor, Institution, data, "name")


def create_body(actor: Actor, data: dict[str, Any]) -> Body:
    return _create(actor, Body, data, "name")


def create_base(actor: Actor, data: dict[str, Any]) -> CooperationBase:
    return _create(actor, CooperationBase, data, "name")


def get_call(call_id: int) -> Call:
    call = db.session().get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return call


def budget_left(call_id: int) -> int:
    """What is left of a call's budget after the amounts already approved (as the approve guard counts it)."""
    from sqlalchemy import func

    from ..models import Application

    call = get_call(call_id)
    committed = db.session().scalar(select(func.coalesce(func.sum(Application.approved_amount), 0))
                                    .where(Application.call_id == call_id))
    return call.total_budget - int(committed)


def calls() -> list[Call]:
    return list(db.session().scalars(select(Call).order_by(Call.opens_at.desc(), Call.id)))


def bodies(channel: str | None = None) -> list[Body]:
    q = select(Body).where(Body.retired.is_(False)).order_by(Body.channel, Body.id)
    if channel:
        q = q.where(Body.channel == channel)
    return list(db.session().scalars(q))


def bases() -> list[CooperationBase]:
    return list(db.session().scalars(select(CooperationBase).where(CooperationBase.retired.is_(False))
                                     .order_by(CooperationBase.id)))


def institutions() -> list[Institution]:
    return list(db.session().scalars(select(Institution).order_by(Institution.id)))


def reviewers() -> list[User]:
    return list(db.session().scalars(select(User).where(User.role == "reviewer", User.active.is_(True))
                                     .options(selectinload(User.institution)).order_by(User.id)))


def users() -> list[User]:
    return list(db.session().scalars(select(User).order_by(User.id)))


def get_user(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def affiliation(actor: Actor) -> tuple[str | None, str | None] | None:
    """The (Chinese, English) name of the actor's institution or recommending body, if they have one."""
    s = db.session()
    row = s.get(Institution, actor.institution_id) if actor.institution_id else \
        s.get(Body, actor.body_id) if actor.body_id else None
    return (row.name, row.name_en) if row is not None else None
