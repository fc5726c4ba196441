"""Service refusals in the reader's language.

Services speak English (the API's messages). A page shows the translation
when the catalogue has the message, and otherwise a sentence for the kind of
refusal with the service's own words beside it, so nothing is hidden.
"""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l

from ..errors import N_, WorkflowError

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



# The refusals people meet on the pages most, as the services word them.
SERVICE_MESSAGES = (
    N_("wrong e-mail or password"),
    N_("too many failed sign-ins; try again later"),
    N_("a comment giving the reason is required"),
    N_("comment is too long"),
    N_("required"),
    N_("sign in first"),
    N_("only the applicant institution's staff may do this"),
    N_("only the recommending body this application names may do this"),
    N_("only the assigned reviewer may do this"),
    N_("the application is incomplete"),
    N_("attachments are missing"),
    N_("the budget breaks the call's rules"),
    N_("sensitive technology is closed to foreign-invested and foreign applicants"),
    N_("approved amount exceeds the central funds requested"),
    N_("every milestone must be accepted before close-out"),
    N_("the request is not valid"),
    N_("the last active administrator"),
)


def translated(text: str) -> str | None:
    """The catalogue's translation of an English service message, or None."""
    out = gettext(text)
    return out if out != text else None


def describe(err: WorkflowError) -> str:
    """One sentence for a refusal, in the reader's language."""
    from .i18n import is_zh, pick

    if err.template:
        params = {k: pick(*v) if isinstance(v, tuple) else v for k, v in err.params.items()}
        return gettext(err.template) % params
    own = translated(err.message)
    if own:
        return own

    if not is_zh():  # the services speak English: their own words, as a sentence
        text = err.message.strip()
        return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
    kind = str(KINDS.get(err.code, KINDS["bad_request"]))
    return f"{kind}（{err.message}）"


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
