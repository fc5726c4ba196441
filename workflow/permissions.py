"""Who is acting, what they may see and which triggers they may fire."""
from __future__ import annotations

from sqlalchemy import Select, exists, or_, select

from .actors import SYSTEM, SYSTEM_ROLE, Actor, workflow_role
from .engine import TransitionDef
from .errors import NotPermitted
from .models import Application, Review


def visible_applications(actor: Actor) -> Select[tuple[Application]]:
    """The applications `actor` may see, as a query to filter further."""
    q = select(Application)
    if actor.role == "admin" or actor.role == SYSTEM_ROLE:
        return q
    submitted = Application.submitted_at.is_not(None)
    if actor.role == "officer":
        return q.where(submitted)
    if actor.role == "applicant":
        return q.where(Application.institution_id == actor.institution_id)
    if actor.role == "recommender":
        return q.where(Application.body_id == actor.body_id, submitted)
    if actor.role == "reviewer":
        assigned = exists().where(Review.application_id == Application.id, Review.reviewer_id == actor.id,
                                  Review.state != "declined")
        return q.where(assigned)
    return q.where(or_())  # no role sees nothing


def can_see(actor: Actor, application: Application) -> bool:
    if actor.role in ("admin", SYSTEM_ROLE):
        return True
    submitted = application.submitted_at is not None
    if actor.role == "officer":
        return submitted
    if actor.role == "applicant":
        return application.institution_id == actor.institution_id
    if actor.role == "recommender":
        return submitted and application.body_id == actor.body_id
    if actor.role == "reviewer":
        # A reviewer who declined (a conflict of interest) no longer sees the application.
        return any(r.reviewer_id == actor.id and r.state != "declined" for r in application.reviews)
    return False


def check_may_fire(actor: Actor, transition: TransitionDef, application: Application, subject) -> None:
    """Refuse with NotPermitted unless `actor` may fire `transition` on `subject`."""
    role = actor.workflow_role
    if role not in transition.roles:
        raise NotPermitted(
            f"{transition.trigger} may be fired by {', '.join(transition.roles)}, not by {actor.role}",
            {"roles": list(transition.roles)},
        )
    if role == "applicant" and application.institution_id != actor.institution_id:
        raise NotPermitted("only the applicant institution's staff may do this")
    if role == "recommender" and application.body_id != actor.body_id:
        raise NotPermitted("only the recommending body this application names may do this")
    if role == "reviewer" and not (isinstance(subject, Review) and subject.reviewer_id == actor.id):
        raise NotPermitted("only the assigned reviewer may do this")


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
