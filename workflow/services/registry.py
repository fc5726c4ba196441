"""Reference data the administrators keep: calls, institutions, bodies, bases.

Nothing here is deleted (DESIGN §5): a row is retired. A retired row is no longer offered or
chosen anew (`choosable`), and whatever already names it keeps it: applications, users, bases
and the audit history go on showing its name.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit, db
from ..errors import N_, InvalidInput, NotFound, NotPermitted
from ..models import Application, Body, Call, CooperationBase, Institution, User, utcnow
from ..permissions import Actor


# What a retired row of each kind is called where it is refused (catalogue messages the pages translate).
NOUNS = {Institution: "institution", Body: "recommending body", CooperationBase: "cooperation base"}
RETIRED_AT_FIELD = {
    Institution: N_("retired: choose another institution"),
    Body: N_("retired: choose another recommending body"),
    CooperationBase: N_("retired: choose another base"),
}
RETIRED = N_("%(name)s is retired in the registry and can no longer be chosen.")


def choosable(s: Session, model: type, row_id: int | None, field: str, *, keeping: int | None = None):
    """The registry row `row_id` names, for a record that is to name it: refused at `field` when there is
    no such row, or when it is retired and not the one the record already names (`keeping`).

    Retiring stops a row from being chosen anew; whatever already names it keeps it.
    """
    if row_id is None:
        return None
    row = s.get(model, row_id)
    if row is None:
        raise InvalidInput(f"no such {NOUNS[model]}", {field: ["not found"]})
    if row.retired and row.id != keeping:
        raise InvalidInput(f"{row.name} is retired in the registry and can no longer be chosen",
                           {field: [RETIRED_AT_FIELD[model]]}, template=RETIRED,
                           params={"name": (row.name, row.name_en or row.name)})
    return row


def _unique(s: Session, model: type, field: str, value: Any, row_id: int | None = None) -> None:
    q = select(model.id).where(getattr(model, field) == value)
    if row_id is not None:
        q = q.where(model.id != row_id)
    if s.scalar(q):
        raise InvalidInput(f"{field} already exists", {field: ["already exists"]})


def _admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise NotPermitted("only administrators may do this")


def _create(actor: Actor, model: type, data: dict[str, Any], unique: str):
    _admin(actor)
    now = utcnow()
    with db.write_session() as s:
        _unique(s, model, unique, data[unique])
        if "institution_id" in data:
            choosable(s, Institution, data["institution_id"], "institution_id")
        row = model(**data)
        s.add(row)
        s.flush()
        _record(s, actor, model.__tablename__, row.id, "create", now, {"after": data})
    return row


def _update(actor: Actor, model: type, row_id: int, changes: dict[str, Any], unique: str,
            check: Callable[[Session, Any, dict[str, Any]], None] | None = None):
    """Change a reference row: `unique` stays unique, `check(session, row, changes)` may refuse first.

    The event names what changed, before and after; retiring is said as such (trigger `retire`), and
    anything else, reinstating a retired row among it, is an `update`. Nothing changed: no event.
    """
    _admin(actor)
    now = utcnow()
    with db.write_session() as s:
        row = s.get(model, row_id)
        if row is None:
            raise NotFound(f"{NOUNS.get(model, model.__tablename__[:-1])} {row_id} not found")
        if unique in changes:
            _unique(s, model, unique, changes[unique], row_id)
        if check is not None:
            check(s, row, changes)  # before the row changes: a query would autoflush it half-checked
        before = {key: getattr(row, key) for key in changes}
        for key, value in changes.items():
            setattr(row, key, value)
        changed = [key for key in changes if before[key] != getattr(row, key)]
        if changed:
            trigger = "retire" if "retired" in changed and row.retired else "update"
            _record(s, actor, model.__tablename__, row.id, trigger, now,
                    {"before": {k: before[k] for k in changed}, "after": {k: getattr(row, k) for k in changed}})
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


def _call_window(s: Session, call: Call, changes: dict[str, Any]) -> None:
    if changes.get("closes_at", call.closes_at) <= changes.get("opens_at", call.opens_at):
        raise InvalidInput("the call must close after it opens", {"closes_at": ["must be after opens_at"]})


def update_call(actor: Actor, call_id: int, changes: dict[str, Any]) -> Call:
    """Change a call; `retired: True` retires it (its applications stay, it is no longer open)."""
    return _update(actor, Call, call_id, changes, "code", _call_window)


def create_institution(actor: Actor, data: dict[str, Any]) -> Institution:
    return _create(actor, Institution, data, "name")


def create_body(actor: Actor, data: dict[str, Any]) -> Body:
    return _create(actor, Body, data, "name")


def create_base(actor: Actor, data: dict[str, Any]) -> CooperationBase:
    return _create(actor, CooperationBase, data, "name")


def update_institution(actor: Actor, institution_id: int, changes: dict[str, Any]) -> Institution:
    """Change an institution; `retired: True` retires it: it takes no new members or applications, and
    what it already has keeps working (its experts still conflict with its applications and partners)."""
    return _update(actor, Institution, institution_id, changes, "name")


def _body_channel(s: Session, body: Body, changes: dict[str, Any]) -> None:
    """A body's channel is part of every application that names it: it changes only while none does."""
    if changes.get("channel", body.channel) == body.channel:
        return
    named = s.scalar(select(func.count(Application.id)).where(Application.body_id == body.id))
    if named:
        raise InvalidInput(f"applications name this body under its channel ({named} in all)",
                           {"channel": ["applications name this body under its channel"]},
                           template=N_("Applications name this body under its present channel (%(n)s in all), so "
                                       "the channel cannot change. Retire the body and add one for the other "
                                       "channel."), params={"n": named})


def update_body(actor: Actor, body_id: int, changes: dict[str, Any]) -> Body:
    """Change a recommending body; `retired: True` retires it: no new application is routed to it, and
    the applications already routed there stay with it."""
    return _update(actor, Body, body_id, changes, "name", _body_channel)


def _base_host(s: Session, base: CooperationBase, changes: dict[str, Any]) -> None:
    if "institution_id" in changes:
        choosable(s, Institution, changes["institution_id"], "institution_id", keeping=base.institution_id)


def update_base(actor: Actor, base_id: int, changes: dict[str, Any]) -> CooperationBase:
    """Change a cooperation base; `retired: True` retires it: it is no longer offered to new applications,
    and the statistics keep its history, marked as retired."""
    return _update(actor, CooperationBase, base_id, changes, "name", _base_host)


def _get(model: type, row_id: int):
    row = db.session().get(model, row_id)
    if row is None:
        raise NotFound(f"{NOUNS[model]} {row_id} not found")
    return row


def get_institution(institution_id: int) -> Institution:
    return _get(Institution, institution_id)


def get_body(body_id: int) -> Body:
    return _get(Body, body_id)


def get_base(base_id: int) -> CooperationBase:
    return _get(CooperationBase, base_id)


def usage(kind: str, row_id: int) -> dict[str, int]:
    """How many records name a registry row of `kind` (institution, body, base): what retiring it keeps."""
    s = db.session()
    count = lambda q: s.scalar(select(func.count()).select_from(q.subquery()))  # noqa: E731
    if kind == "institution":
        return {"applications": count(select(Application.id).where(Application.institution_id == row_id)),
                "users": count(select(User.id).where(User.institution_id == row_id)),
                "bases": count(select(CooperationBase.id).where(CooperationBase.institution_id == row_id))}
    if kind == "body":
        return {"applications": count(select(Application.id).where(Application.body_id == row_id)),
                "pending": count(select(Application.id).where(Application.body_id == row_id,
                                                               Application.state == "pending_recommendation")),
                "users": count(select(User.id).where(User.body_id == row_id))}
    return {"applications": count(select(Application.id).where(Application.base_id == row_id))}


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


def bodies(channel: str | None = None, *, include_retired: bool = False) -> list[Body]:
    """The recommending bodies an application may name (and, for administrators, the retired ones too)."""
    q = select(Body).order_by(Body.channel, Body.id)
    if not include_retired:
        q = q.where(Body.retired.is_(False))
    if channel:
        q = q.where(Body.channel == channel)
    return list(db.session().scalars(q))


def bases(*, include_retired: bool = False) -> list[CooperationBase]:
    """The cooperation bases an application may link (and, for administrators, the retired ones too)."""
    q = select(CooperationBase).order_by(CooperationBase.id)
    if not include_retired:
        q = q.where(CooperationBase.retired.is_(False))
    return list(db.session().scalars(q))


def institutions(*, include_retired: bool = False) -> list[Institution]:
    """The institutions that may take new members (and, for administrators, the retired ones too)."""
    q = select(Institution).order_by(Institution.id)
    if not include_retired:
        q = q.where(Institution.retired.is_(False))
    return list(db.session().scalars(q))


def reviewers() -> list[Any]:
    """Every active reviewer by id, as the assignment forms name them: rows of (id, name, email,
    institution, institution_en), the institution's names None for an expert without one.

    Plain rows, not loaded users: a national pool is some 1,500 experts, and building a user and its
    institution for each cost the officer's dashboard more than all its queries together.
    """
    return list(db.session().execute(
        select(User.id, User.name, User.email, Institution.name.label("institution"),
               Institution.name_en.label("institution_en"))
        .outerjoin(Institution, Institution.id == User.institution_id)
        .where(User.role == "reviewer", User.active.is_(True)).order_by(User.id)))


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
