"""The API's errors, as JSON {error, message, details?}."""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

from ..errors import TooManyAttempts, WorkflowError


def workflow_error(err: WorkflowError):
    response = jsonify(err.to_dict())
    response.status_code = err.status
    if isinstance(err, TooManyAttempts):
        response.headers["Retry-After"] = str(err.retry_after)
    if err.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fundflow"'
    return response


def http_error(err: HTTPException):
    code = (err.name or "error").lower().replace(" ", "_")
    response = jsonify({"error": code, "message": err.description or err.name})
    response.status_code = err.code or 500
    if err.code == 405 and getattr(err, "valid_methods", None):
        response.headers["Allow"] = ", ".join(err.valid_methods)
    return response


def unexpected():
    response = jsonify({"error": "internal_error", "message": "an unexpected error occurred"})
    response.status_code = 500
    return response
