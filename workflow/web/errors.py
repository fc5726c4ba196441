"""Error pages, in the reader's language."""
from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l

from ..errors import TooManyAttempts, WorkflowError
from .messages import describe

TITLES = {
    400: _l("Bad request"),
    401: _l("Please sign in"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    409: _l("Not possible now"),
    413: _l("Too large"),
    422: _l("Not valid"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
DEFAULT_TEXT = {
    400: _l("The request could not be understood. If you sent a form, reload the page and send it again."),
    403: _l("You are not allowed to do this."),
    404: _l("This page does not exist, or you may not see it."),
    405: _l("This page does not take that kind of request."),
    413: _l("The file is too large. Attachments are limited to 20 MB."),
    429: _l("Too many attempts. Please wait and try again."),
    500: _l("An unexpected error occurred. It has been logged; nothing you entered was saved."),
}


def page(status: int, text: str | None = None, headers: dict | None = None):
    title = TITLES.get(status, TITLES[500])
    body = text or str(DEFAULT_TEXT.get(status, DEFAULT_TEXT[500]))
    return render_template("errors/error.html", status=status, title=title, text=body), status, headers or {}


def workflow_error(err: WorkflowError):
    headers = {"Retry-After": str(err.retry_after)} if isinstance(err, TooManyAttempts) else None
    return page(err.status, describe(err), headers)
