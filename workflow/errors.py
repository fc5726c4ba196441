"""The one family of domain errors, mapped once to HTTP codes and pages."""
from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details

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
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after
