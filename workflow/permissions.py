"""What an actor may see and which triggers they may fire, by the ownership rules of access.OWNERSHIP."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Select, and_, exists, false, select, true

from . import access
from .actors import SYSTEM, SYSTEM_ROLE, Actor, workflow_role
from .engine import TransitionDef
from .errors import NotPermitted
from .models import Application, Review


@dataclass(frozen=True)
class Ownership:
    """One rule of access.OWNERSHIP: which applications are an actor's, as a filter and for one row."""

    where: Callable[[Actor], Any]  # a condition on Application for queries
    holds: Callable[[Actor, Application], bool]  # the same for one loaded application
    acts_on: Callable[[Actor, Application, Any], bool]  # may fire on this subject of it (with the trigger's role)
    refusal: str = ""


def _submitted(_actor: Actor, app: Application) -> bool:
    return app.submitted_at is not None


def _assigned(actor: Actor, app: Application) -> bool:
    # A reviewer who declined (a conflict of interest) no longer sees the application.
    return any(r.reviewer_id == actor.id and r.state != "declined" for r in app.reviews)


def _always(*_args) -> bool:
    return True


RULES: dict[str, Ownership] = {
    "own_institution": Ownership(
        lambda a: Application.institution_id == a.institution_id,
        lambda a, app: app.institution_id == a.institution_id,
        lambda a, app, _subject: app.institution_id == a.institution_id,
        "only the applicant institution's staff may do this"),
    "routed_body": Ownership(
        lambda a: and_(Application.body_id == a.body_id, Application.submitted_at.is_not(None)),
        lambda a, app: _submitted(a, app) and app.body_id == a.body_id,
        lambda a, app, _subject: app.body_id == a.body_id,
        "only the recommending body this application names may do this"),
    "assigned_reviewer": Ownership(
        lambda a: exists().where(Review.application_id == Application.id, Review.reviewer_id == a.id,
                                 Review.state != "declined"),
        _assigned,
        lambda a, _app, subject: isinstance(subject, Review) and subject.reviewer_id == a.id,
        "only the assigned reviewer may do this"),
    "submitted": Ownership(lambda _a: Application.submitted_at.is_not(None), _submitted, _always),
    "all": Ownership(lambda _a: true(), _always, _always),
}


def _ownership(actor: Actor) -> Ownership | None:
    name = access.OWNERSHIP.get(actor.role)
    return RULES[name] if name else None


def visible_applications(actor: Actor) -> Select[tuple[Application]]:
    """The applications `actor` may see, as a query to filter further."""
    rule = _ownership(actor)
    return select(Application).where(rule.where(actor) if rule else false())


def can_see(actor: Actor, application: Application) -> bool:
    rule = _ownership(actor)
    return rule is not None and rule.holds(actor, application)


def check_may_fire(actor: Actor, transition: TransitionDef, application: Application, subject) -> None:
    """Refuse with NotPermitted unless `actor` may fire `transition` on `subject`.

    The trigger's roles come from states/; what of the application is the actor's, from access.OWNERSHIP.
    """
    role = actor.workflow_role
    if role not in transition.roles:
        raise NotPermitted(
            f"{transition.trigger} may be fired by {', '.join(transition.roles)}, not by {actor.role}",
            {"roles": list(transition.roles)},
        )
    rule = _ownership(actor)
    if rule is None or not rule.acts_on(actor, application, subject):
        raise NotPermitted(rule.refusal if rule else f"no role {actor.role!r}")


def proposal_withheld(actor: Actor, application: Application) -> bool:
    """Whether `actor` is a reviewer who has yet to declare no conflict on `application`.

    Until then they see what judges a conflict (title, field, institution, partners), not the
    summary or the attachments. Reviews of workflow version 1 have no declaration and see all.
    """
    from .engine import workflow

    if actor.role != "reviewer":
        return False
    return any(r.reviewer_id == actor.id and any(t.trigger == "declare_no_conflict"
                                                 for t in workflow("review", r.workflow_version).available(r.state))
               for r in application.reviews)


__all__ = ["Actor", "SYSTEM", "SYSTEM_ROLE", "workflow_role", "visible_applications", "can_see",
           "check_may_fire", "proposal_withheld"]
