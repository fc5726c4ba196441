"""Sensitive-technology screening (DESIGN §1): an officer flags what the applicant did not declare.

The flag is read by the `sensitive_technology_screening` guard on `pass_formal_review`, which keeps
foreign-invested and foreign applicants out of sensitive technology. It can be set or cleared only during
formal review, with a reason, and each change is an event on the application (its state unchanged).
"""
from __future__ import annotations

from sqlalchemy.orm.exc import StaleDataError

from .. import audit, db
from ..errors import N_, InvalidInput, NotFound, NotPermitted, StaleVersion, TransitionRefused
from ..models import Application, utcnow
from ..permissions import Actor, can_see

SCREENING_STATE = "formal_review"
TRIGGER = "flag_sensitive"


def flag_sensitive(actor: Actor, app_id: int, flagged: bool, comment: str, version: int | None = None) -> Application:
    """Set or clear the officer's sensitive-technology flag; a change without a reason changes nothing."""
    reason = (comment or "").strip()
    now = utcnow()
    try:
        with db.write_session() as s:
            app = s.get(Application, app_id)
            if app is None or not can_see(actor, app):
                raise NotFound(f"application {app_id} not found")
            if not actor.acts_as_officer:
                raise NotPermitted("only program officers flag sensitive technology")
            if app.state != SCREENING_STATE:
                raise TransitionRefused(f"sensitive technology is flagged during formal review, not while {app.state}",
                                        {"state": app.state, "allowed_states": [SCREENING_STATE]},
                                        template=N_("Sensitive technology is flagged during formal review only."))
            if not reason:
                raise InvalidInput("a comment giving the reason is required", {"comment": ["required"]})
            if version is not None and version != app.version:
                raise StaleVersion(f"you saw version {version}; it is now at version {app.version}",
                                   {"version": app.version})
            if app.sensitive_flagged == flagged:  # nothing to change: no new version, no event
                return app
            app.sensitive_flagged = flagged
            app.updated_at = now
            audit.record(s, application_id=app.id, subject="application", subject_id=app.id, trigger=TRIGGER,
                         from_state=app.state, to_state=app.state, actor_id=actor.id, role=actor.role,
                         created_at=now, comment=reason,
                         data={"before": {"sensitive_flagged": not flagged}, "after": {"sensitive_flagged": flagged}})
            audit.seal(s)
    except StaleDataError:
        raise StaleVersion("the application was changed by someone else; reload and try again") from None
    return app
