"""One set of error handlers: JSON for the API, pages for everything else."""
from __future__ import annotations

import logging

from flask import Flask, g, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .api import errors as api_errors
from .errors import TooLarge, WorkflowError
from .web import errors as web_errors
from .web.messages import describe

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register(app: Flask) -> None:
    app.register_error_handler(WorkflowError, _workflow_error)
    app.register_error_handler(RequestEntityTooLarge, lambda e: _workflow_error(TooLarge("the upload is too large")))
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _workflow_error(err: WorkflowError):
    return api_errors.workflow_error(err) if wants_json() else web_errors.workflow_error(err)


def _csrf_error(err: CSRFError):
    if wants_json():
        return api_errors.http_error(err)
    from flask_babel import gettext

    return web_errors.page(400, gettext("The form has expired or was not sent from this site. "
                                        "Go back, reload the page and send it again. Nothing was changed."))


def _http_error(err: HTTPException):
    if wants_json():
        return api_errors.http_error(err)
    if err.code is None or err.code < 400:
        return err
    headers = {"Allow": ", ".join(err.valid_methods)} if err.code == 405 and getattr(err, "valid_methods", None) \
        else None
    return web_errors.page(err.code, None, headers)


def _unexpected(err: Exception):
    log.exception("unexpected error on %s %s", request.method, request.path)
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
    if wants_json():
        return api_errors.unexpected()
    return web_errors.page(500)


__all__ = ["register", "describe"]
