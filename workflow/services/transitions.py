"""The one service function through which every state changes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, db, outbox
from ..effects import REGISTRY as EFFECTS
from ..engine import Firing, Workflow, workflow
from ..errors import (N_, GuardFailed, InvalidInput, NotFound, NotPermitted, StaleVersion, TransitionRefused,
                      WorkflowError)
from ..guards import INPUT_GUARDS
from ..guards import REGISTRY as GUARDS
from ..models import Application, ChangeRequest, Milestone, Review, utcnow
from ..permissions import SYSTEM, Actor, can_see, check_may_fire

SUBJECTS: dict[str, type] = {
    "application": Application,
    "review": Review,
    "milestone": Milestone,
    "change_request": ChangeRequest,
}
MAX_COMMENT = 10_000
# Built once: the write session is always fresh, so this is what session.get
# would run, without composing the statement again on every firing.
_BY_ID = {model: select(model).where(model.id == bindparam("id")) for model in SUBJECTS.values()}
_LOCK_VERSION = select(Application.version).where(Application.id == bindparam("id")).with_for_update()


def _state_update(model):
    table = model.__table__
    values = {"state": bindparam("dest"), "version": bindparam("next")}
    if "updated_at" in table.c:
        values["updated_at"] = bindparam("now")
    return update(table).where(table.c.id == bindparam("row_id"), table.c.version == bindparam("seen")).values(values)


# The version-checked UPDATE the unit of work would issue for a row whose state alone moved.
_STATE_UPDATES = {model: _state_update(model) for model in SUBJECTS.values()}
_STATE_AND_VERSION = frozenset({"state", "version"})


def fire(
    actor: Actor,
    subject: str,
    subject_id: int,
    trigger: str,
    *,
    comment: str | None = None,
    version: int | None = None,
    payload: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    application_id: int | None = None,
):
    """Fire `trigger` on one application, review or milestone for `actor`, and commit.

    Loads the row, checks role, ownership, state, version and guards, moves
    the row with its workflow's machine, runs the effects, appends the audit
    event and commits. Anything refused raises a WorkflowError and changes
    nothing. `application_id`, when given, must own the sub-record.
    """
    now = now or utcnow()
    # With Redis, the follow-ups are recorded as handed over in the transition's own transaction and
    # enqueued after its commit: the request's one write transaction is the transition's.
    to_redis = outbox.to_redis()
    try:
        with db.write_session() as session:
            row = _load(session, subject, subject_id, application_id)
            fire_in(session, actor, row, trigger, comment=comment, version=version,
                    payload=payload, now=now)
            _write_state_only(session, row)
            audit.seal(session)
            follow_up = outbox.stage_deferred(session, handing_over=to_redis)
    except StaleDataError:
        raise StaleVersion(f"the {subject} was changed by someone else; reload and try again") from None
    outbox.hand_over(follow_up, marked=to_redis)
    return row


def fire_in(
    session: Session,
    actor: Actor,
    row: Application | Review | Milestone,
    trigger: str,
    *,
    comment: str | None = None,
    version: int | None = None,
    payload: dict[str, Any] | None = None,
    now: dt.datetime,
    follows: dict[str, Any] | None = None,
) -> None:
    """Fire within a transaction the caller owns (and seals).

    `follows` names the firing this one follows up (states/ `then`), for its event's data.
    """
    if inspect(row).pending:
        # Made earlier in this transaction: inserted first, so that its event names its id and its
        # version counts from the insert (an INSERT always writes version 1).
        session.flush()
    kind = kind_of_row = _kind(row)
    wf = workflow(kind, row.workflow_version)
    application = row if isinstance(row, Application) else row.application
    if not can_see(actor, application):
        raise NotFound(f"application {application.id} not found")
    if isinstance(row, Review) and actor.role == "reviewer" and row.reviewer_id != actor.id:
        # A fellow reviewer's review does not exist for this reviewer: its state is not theirs to learn.
        raise NotFound(f"review {row.id} not found")
    candidates = _candidates(wf, actor, trigger)
    # Stale before state: an actor who lost a race is told someone acted first, not that
    # the state they never saw forbids it.
    if version is not None and version != row.version:
        raise StaleVersion(
            f"you saw version {version} of this {kind}; it is now at version {row.version}",
            {"version": row.version},
        )
    transition = _transition(wf, row, trigger, candidates)
    check_may_fire(actor, transition, application, row)
    comment = _comment(comment, transition.comment_required)
    firing = Firing(session, actor, application, row, transition, payload or {}, comment, now)
    for name in transition.guards:
        GUARDS[name](firing)
    from_state = row.state
    wf.fire(row, trigger)
    _count_change(row)
    for name in transition.effects:
        EFFECTS[name](firing)
    event = audit.record(
        session,
        application_id=application.id,
        subject=kind,
        subject_id=row.id,
        trigger=trigger,
        from_state=from_state,
        to_state=row.state,
        actor_id=actor.id,
        role=actor.role,
        created_at=now,
        comment=comment,
        data={"workflow_version": wf.version, **firing.values, **({"follows": follows} if follows else {})},
    )
    for job in transition.jobs:
        outbox.defer(session, job, event)
    for kind, follow_up in transition.then:
        _follow(session, application, kind, follow_up, cause={"subject": kind_of_row, "id": row.id,
                                                              "trigger": trigger}, now=now)


def _follow(session: Session, application: Application, kind: str, trigger: str, *, cause: dict, now) -> None:
    """Fire a follow-up transition as the system, when its guards let it; a refusal leaves it unfired.

    The application row is locked first (PostgreSQL; on SQLite the writer already holds the
    database), so of causes committed at the same instant exactly one sees the follow-up due.
    Nothing is flushed for it: the guards count what the session changed as it stands
    (guards.submitted_reviews), and the row is locked before the cause's own row is written,
    in the order every writer of both takes them. The row is read again only when someone
    else moved it meanwhile: a refresh would also drop the collections the session has
    loaded, and every later read of them would go back to the database.
    """
    if kind != "application":  # check_names holds every follow-up to the application's workflow
        raise TypeError(f"no follow-up target {kind!r}")
    with session.no_autoflush:
        locked = session.execute(_LOCK_VERSION, {"id": application.id}).scalar_one()
    if locked != _stored_version(application):
        session.flush()  # what this transaction changed on it is checked against the stored version first
        session.refresh(application)
    try:
        fire_in(session, SYSTEM, application, trigger, now=now, follows=cause)
    except (GuardFailed, TransitionRefused):
        pass


def _stored_version(row) -> int:
    """The version the database holds for the row as this transaction last wrote or read it."""
    return inspect(row).committed_state.get("version", row.version)


def _count_change(row) -> None:
    """One more on the row's version for this firing, whenever the row is written.

    The version counts every change, so a row fired twice before the session flushes is written
    once, at version + 2, checked against the version its transaction read.
    """
    row.version += 1


def _write_state_only(session: Session, row) -> None:
    """When the firing changed nothing but the row's state, write it with one prebuilt statement.

    It is the UPDATE the unit of work would issue, version check included, at a fraction of the
    cost; then the row (and all the session read) leaves the session, so sealing has nothing left to flush. A firing that
    wrote anything else (an effect, a follow-up) is flushed as usual.
    """
    if session.new or session.deleted:
        return
    changed = inspect(row).committed_state
    if not changed.keys() <= _STATE_AND_VERSION or "version" not in changed or len(session.dirty) != 1:
        return
    model = type(row)
    stamp = utcnow()
    moved = session.connection().execute(_STATE_UPDATES[model], {
        "row_id": row.id, "seen": changed["version"], "dest": row.state, "next": row.version, "now": stamp})
    if moved.rowcount != 1:
        raise StaleDataError(f"{model.__tablename__} {row.id} was changed by someone else")
    set_committed_value(row, "state", row.state)
    set_committed_value(row, "version", row.version)
    if "updated_at" in model.__table__.c:
        set_committed_value(row, "updated_at", stamp)
    # The session holds nothing else that changed (checked above), so it is emptied whole: expunging
    # the one row walks every relationship of its mapper for cascades, and cost a twentieth of a firing.
    session.expunge_all()


def current(subject: str, subject_id: int):
    """The record as it now stands, read afresh: what an answer shows after a service changed it."""
    return db.session().get(SUBJECTS[subject], subject_id)


def _load(session: Session, subject: str, subject_id: int, application_id: int | None):
    model = SUBJECTS.get(subject)
    if model is None:
        raise NotFound(f"no such record kind {subject!r}")
    row = session.execute(_BY_ID[model], {"id": subject_id}).scalar_one_or_none()
    if row is None or (application_id is not None and _application_id(row) != application_id):
        raise NotFound(f"{subject} {subject_id} not found")
    return row


def _application_id(row) -> int:
    return row.id if isinstance(row, Application) else row.application_id


def _kind(row) -> str:
    for kind, model in SUBJECTS.items():
        if isinstance(row, model):
            return kind
    raise TypeError(f"{type(row).__name__} has no workflow")


def _candidates(wf: Workflow, actor: Actor, trigger: str):
    """The transitions of `trigger`; NotFound without any, NotPermitted when the actor's role fires none."""
    candidates = [t for t in wf.transitions if t.trigger == trigger]
    if not candidates:
        raise NotFound(f"{wf.name} has no trigger {trigger!r}", {"triggers": wf.triggers()})
    role = actor.workflow_role
    if not any(role in t.roles for t in candidates):
        roles = sorted({r for t in candidates for r in t.roles})
        raise NotPermitted(f"{trigger} may be fired by {', '.join(roles)}, not by {actor.role}",
                           {"roles": roles}, template=N_("“%(action)s” is not for your role."),
                           params={"action": (candidates[0].label, candidates[0].label_en)})
    return candidates


def _transition(wf: Workflow, row, trigger: str, candidates):
    """The transition of `trigger` out of the row's state; TransitionRefused (409) when there is none."""
    transition = wf.transition(trigger, row.state)
    if transition is None:
        state = wf.states[row.state]
        raise TransitionRefused(
            f"{trigger} is not allowed while the {wf.name} is {row.state} ({state.label_en})",
            {"state": row.state, "allowed": [t.trigger for t in wf.available(row.state)]},
            template=N_("“%(action)s” is not possible while it is “%(state)s”."),
            params={"action": (candidates[0].label, candidates[0].label_en), "state": (state.label, state.label_en)},
        )
    return transition


def _comment(comment: str | None, required: bool) -> str | None:
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("comment must be text", {"comment": ["must be a string"]})
    comment = (comment or "").strip() or None
    if required and not comment:
        raise InvalidInput("a comment giving the reason is required", {"comment": ["required"]})
    if comment and len(comment) > MAX_COMMENT:
        raise InvalidInput("comment is too long", {"comment": [f"at most {MAX_COMMENT} characters"]})
    return comment


@dataclass(frozen=True)
class Action:
    """One trigger as this actor sees it on this row now: may they fire it, and if not, why."""

    trigger: str
    label: str
    label_en: str
    comment_required: bool
    refusal: WorkflowError | None = None  # None: allowed (what the actor types is still checked on firing)

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"trigger": self.trigger, "label": self.label, "label_en": self.label_en,
                                "comment_required": self.comment_required, "allowed": self.allowed}
        if self.refusal is not None:
            data["reason"] = self.refusal.to_dict()
        return data


def actions(actor: Actor, row, *, now: dt.datetime | None = None) -> list[Action]:
    """Which triggers `actor` may fire on `row` now, and why not the others.

    Lists the transitions out of the row's state that the actor's role fires,
    each with the refusal that firing it now would meet: ownership, then the
    guards that read the record (guards of the actor's input are left to the
    firing). Reads only; the pages and the API both ask this one question.
    """
    now = now or utcnow()
    wf = workflow(_kind(row), row.workflow_version)
    application = row if isinstance(row, Application) else row.application
    role = actor.workflow_role
    session = object_session(row) or db.session()
    result = []
    for t in wf.available(row.state):
        if role not in t.roles:
            continue
        refusal = None
        try:
            check_may_fire(actor, t, application, row)
            firing = Firing(session, actor, application, row, t, {}, None, now)
            for name in t.guards:
                if name not in INPUT_GUARDS:
                    GUARDS[name](firing)
        except WorkflowError as err:
            refusal = err
        result.append(Action(t.trigger, t.label, t.label_en, t.comment_required, refusal))
    return result


def available_triggers(actor: Actor, row) -> list[str]:
    """Triggers `actor` could try from the row's state (guards not evaluated)."""
    wf = workflow(_kind(row), row.workflow_version)
    application = row if isinstance(row, Application) else row.application
    result = []
    for t in wf.available(row.state):
        try:
            check_may_fire(actor, t, application, row)
        except NotPermitted:
            continue
        result.append(t.trigger)
    return result


__all__ = ["fire", "fire_in", "current", "actions", "available_triggers", "Action"]
