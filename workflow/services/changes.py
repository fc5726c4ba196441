"""Change requests on running projects: the applicant asks, an officer decides through the engine."""
from __future__ import annotations

from typing import Any

from .. import audit, db
from ..engine import workflow
from ..errors import GuardFailed, NotPermitted, TransitionRefused
from ..models import ChangeRequest, utcnow
from ..permissions import Actor
from .applications import _visible

OPEN_STATES = ("in_progress", "suspended")
# What each kind of change carries, besides its reason.
PROPOSAL_FIELDS = {
    "extension": ("extend_months",),
    "budget_reallocation": ("budget",),
    "partner_change": ("partners",),
    "pi_change": ("principal_investigator",),
}


def request_change(actor: Actor, app_id: int, kind: str, reason: str, proposal: dict[str, Any]) -> ChangeRequest:
    """File a change request for the applicant's own running project."""
    wf = workflow("change_request")
    now = utcnow()
    with db.write_session() as s:
        app = _visible(s, actor, app_id)
        if actor.role != "applicant" or app.institution_id != actor.institution_id:
            raise NotPermitted("only the applicant institution's staff may request changes")
        if app.state not in OPEN_STATES:
            raise TransitionRefused(f"changes are requested while a project runs, not while {app.state}",
                                    {"state": app.state})
        if any(c.kind == kind and c.state == wf.initial for c in app.changes):
            raise GuardFailed(f"a {kind} request is already waiting for a decision", {"kind": ["already open"]})
        change = ChangeRequest(application=app, kind=kind, state=wf.initial, workflow_version=wf.version,
                               requested_by_id=actor.id, reason=reason, proposal=audit.normalise(proposal),
                               created_at=now)
        s.add(change)
        s.flush()
        audit.record(s, application_id=app.id, subject="change_request", subject_id=change.id,
                     trigger="request", from_state=None, to_state=change.state, actor_id=actor.id,
                     role=actor.role, created_at=now, comment=reason, data={"kind": kind, **change.proposal})
        audit.seal(s)
    return change


def changes_of(actor: Actor, app_id: int) -> list[ChangeRequest]:
    return list(_visible(db.session(), actor, app_id).changes)
