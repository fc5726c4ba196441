"""Change requests on running projects: the applicant asks, an officer decides through the engine.

A request is checked against the rules of its kind when it is filed (and
again when it is approved, by the `change_applicable` guard, since the project
may have moved on): an extension keeps due dates within bounds, a budget
reallocation keeps the central funds and the call's matching rule, a partner
change keeps a foreign partner, a PI change names someone new.

At most one request per kind per project waits for a decision. The partial
unique index `uq_change_requests_open` holds that on every database, also when
requests race; the loser is told the same as one who asks a second time.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from .. import audit, db
from ..engine import workflow
from ..errors import N_, GuardFailed, InvalidInput, NotPermitted, TransitionRefused
from ..guards import change_problems, central_total
from ..models import ChangeRequest, utcnow
from ..permissions import Actor
from .applications import visible_in

OPEN_STATES = ("in_progress", "suspended")
# What each kind of change carries, besides its reason.
PROPOSAL_FIELDS = {
    "extension": ("extend_months",),
    "budget_reallocation": ("budget",),
    "partner_change": ("partners",),
    "pi_change": ("principal_investigator",),
}
OPEN_INDEX = "uq_change_requests_open"


def request_change(actor: Actor, app_id: int, kind: str, reason: str, proposal: dict[str, Any]) -> ChangeRequest:
    """File a change request for the applicant's own running project."""
    wf = workflow("change_request")
    now = utcnow()
    try:
        with db.write_session() as s:
            app = visible_in(s, actor, app_id)
            if actor.role != "applicant" or app.institution_id != actor.institution_id:
                raise NotPermitted("only the applicant institution's staff may request changes")
            if app.state not in OPEN_STATES:
                raise TransitionRefused(f"changes are requested while a project runs, not while {app.state}",
                                        {"state": app.state})
            if any(c.kind == kind and c.state == wf.initial for c in app.changes):
                raise _already_open(kind)
            message, details, template, params = change_problems(app, kind, proposal)
            if message:
                raise InvalidInput(message, details, template=template, params=params)
            change = ChangeRequest(application=app, kind=kind, state=wf.initial, workflow_version=wf.version,
                                   requested_by_id=actor.id, reason=reason, proposal=audit.normalise(proposal),
                                   created_at=now)
            s.add(change)
            s.flush()
            audit.record(s, application_id=app.id, subject="change_request", subject_id=change.id,
                         trigger="request", from_state=None, to_state=change.state, actor_id=actor.id,
                         role=actor.role, created_at=now, comment=reason, data={"kind": kind, **change.proposal})
            audit.seal(s)
    except IntegrityError as err:
        # Another request of this kind was filed at the same moment and won.
        if OPEN_INDEX in str(err.orig) or "change_requests.application_id, change_requests.kind" in str(err.orig):
            raise _already_open(kind) from None
        raise
    return change


def _already_open(kind: str) -> GuardFailed:
    return GuardFailed(f"a {kind} request is already waiting for a decision", {"kind": ["already open"]},
                       template=N_("A request of this kind is already waiting for a decision."))


def changes_of(actor: Actor, app_id: int) -> list[ChangeRequest]:
    return list(visible_in(db.session(), actor, app_id).changes)


def kept_central(application) -> int:
    """The central funds a budget reallocation must keep (for the form to offer)."""
    return central_total(application)
