"""What every page handler needs: the signed-in actor, refusals shown at the field, safe redirects."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_login import UserMixin, current_user
from flask_wtf import FlaskForm

from ..errors import InvalidInput, NotAuthenticated, StaleVersion, WorkflowError
from ..permissions import Actor
from .messages import describe, field_messages


class SignedIn(UserMixin):
    """The Flask-Login user of a page session: a snapshot of the actor, reloaded on every request."""

    def __init__(self, actor: Actor):
        self.actor = actor

    def get_id(self) -> str:
        return str(self.actor.id)


class EmptyForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons."""


def actor() -> Actor:
    """The signed-in actor of this page request."""
    if not current_user.is_authenticated:
        raise NotAuthenticated("sign in first")
    return current_user.actor


def refuse(err: WorkflowError, form: FlaskForm | None = None) -> None:
    """Show a service's refusal: each field message at its field, the rest as one message at the top.

    A stale version also says how to go on: reload, and the edit typed here stays in the form.
    """
    unplaced: list[str] = []
    for name, messages in field_messages(err.details).items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*(field.errors if isinstance(field.errors, list) else []), *messages]
        elif isinstance(err, InvalidInput):  # other refusals' details are data (states, counts), not messages
            unplaced.extend(messages)
    text = describe(err)
    if isinstance(err, StaleVersion):
        from flask_babel import gettext

        text = gettext("Someone else acted on this first. Reload the page to see what changed; "
                       "what you typed is still in the form below.")
    flash(" ".join([text, *unplaced]) if unplaced else text, "danger")


def safe_next(default: str) -> str:
    """The `next` of the request when it is a path on this site, else `default`."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc \
            and "\\" not in target:
        return target
    return default


def back(default_endpoint: str = "dashboard.home", **values):
    return redirect(safe_next(url_for(default_endpoint, **values)))
