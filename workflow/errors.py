"""The one family of domain errors, mapped once to HTTP codes and pages."""
from __future__ import annotations

from typing import Any


def N_(text: str) -> str:
    """Mark a message template for the pages' catalogue; it is translated where it is shown."""
    return text


class WorkflowError(Exception):
    """A refusal. `message` is the API's English; `template` % `params`, when given, is the same
    sentence as a catalogue message that pages translate (a param given as a (中文, English) pair
    is shown in the reader's language)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None, *, template: str | None = None,
                 params: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.template = template
        self.params = params or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInput(WorkflowError):
    status = 422
    code = "invalid_input"


class NotAuthenticated(WorkflowError):
    status = 401
    code = "not_authenticated"


class NotPermitted(WorkflowError):
    status = 403
    code = "not_permitted"


class NotFound(WorkflowError):
    status = 404
    code = "not_found"


class TransitionRefused(WorkflowError):
    """The trigger is not allowed from the current state, or a guard failed."""

    status = 409
    code = "transition_refused"


class GuardFailed(TransitionRefused):
    code = "guard_failed"


class AlreadyAssigned(GuardFailed):
    """The expert already has a review of this application: a bulk run tried again counts it, not refuses it."""


class StaleVersion(WorkflowError):
    status = 409
    code = "stale_version"


class TooLarge(WorkflowError):
    status = 413
    code = "too_large"


class TooManyAttempts(WorkflowError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, {"retry_after": retry_after},
                         template=N_("Too many failed sign-ins. Try again in %(minutes)s minutes."),
                         params={"minutes": max(1, -(-retry_after // 60))})
        self.retry_after = retry_after


class Unavailable(WorkflowError):
    """Cannot be served now for a reason on the server's side that is being put right (a document being
    restored): 503, which tells the client to try again later, not that its request was wrong."""

    status = 503
    code = "unavailable"
    retry_after = 60  # seconds, for the Retry-After header: a document's regenerate job takes well under a minute
