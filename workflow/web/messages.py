"""Service refusals in the reader's language.

Services speak English (the API's messages). A page shows the translation
when the catalogue has the message, and otherwise a sentence for the kind of
refusal with the service's own words beside it, so nothing is hidden.
"""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l

from ..errors import WorkflowError

# What a refusal is, by its error code, when the message itself has no translation.
KINDS = {
    "bad_request": _l("The request could not be understood."),
    "invalid_input": _l("Some of what you entered is not valid."),
    "not_authenticated": _l("Please sign in."),
    "not_permitted": _l("You are not allowed to do this."),
    "not_found": _l("This was not found, or you may not see it."),
    "transition_refused": _l("This is not possible in the current state."),
    "guard_failed": _l("The rules of the fund do not allow this now."),
    "stale_version": _l("Someone else changed this in the meantime. Reload the page and try again."),
    "too_large": _l("The file is too large."),
    "too_many_attempts": _l("Too many failed sign-ins. Please wait and try again."),
}


def N_(text: str) -> str:
    """Mark a service's English message for the catalogue; `describe` translates it when shown."""
    return text


# The refusals people meet on the pages most, as the services word them.
SERVICE_MESSAGES = (
    N_("wrong e-mail or password"),
    N_("too many failed sign-ins; try again later"),
    N_("a comment giving the reason is required"),
    N_("comment is too long"),
    N_("required"),
    N_("sign in first"),
)


def translated(text: str) -> str | None:
    """The catalogue's translation of an English service message, or None."""
    out = gettext(text)
    return out if out != text else None


def describe(err: WorkflowError) -> str:
    """One sentence for a refusal, in the reader's language."""
    own = translated(err.message)
    if own:
        return own
    from .i18n import is_zh

    kind = str(KINDS.get(err.code, KINDS["bad_request"]))
    return f"{kind}（{err.message}）" if is_zh() else f"{kind} ({err.message})"


def field_messages(details) -> dict[str, list[str]]:
    """A refusal's field messages, {field: [message, ...]}, each translated where the catalogue can."""
    if not isinstance(details, dict):
        return {}
    out: dict[str, list[str]] = {}
    for key, value in details.items():
        items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        if isinstance(value, dict):  # nested: {"milestones": {"0": ["..."]}}
            items = [f"{k}: {m}" for k, ms in value.items() for m in (ms if isinstance(ms, list) else [ms])]
        msgs = [translated(str(m)) or str(m) for m in items]
        if msgs:
            out[str(key)] = msgs
    return out
