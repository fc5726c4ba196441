"""Errors answered as JSON {error, message, details?} under /api, as pages elsewhere."""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..errors import TooLarge, TooManyAttempts, WorkflowError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    app.register_error_handler(WorkflowError, _workflow_error)
    app.register_error_handler(RequestEntityTooLarge, lambda e: _workflow_error(TooLarge("the upload is too large")))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _workflow_error(err: WorkflowError):
    response = jsonify(err.to_dict())
    response.status_code = err.status
    if isinstance(err, TooManyAttempts):
        response.headers["Retry-After"] = str(err.retry_after)
    if err.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fundflow"'
    return response


def _http_error(err: HTTPException):
    if not request.path.startswith("/api/"):
        return err
    code = (err.name or "error").lower().replace(" ", "_")
    response = jsonify({"error": code, "message": err.description or err.name})
    response.status_code = err.code or 500
    if err.code == 405 and err.valid_methods:
        response.headers["Allow"] = ", ".join(err.valid_methods)
    return response


def _unexpected(err: Exception):
    log.exception("unexpected error on %s %s", request.method, request.path)
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
    response = jsonify({"error": "internal_error", "message": "an unexpected error occurred"})
    response.status_code = 500
    return response
