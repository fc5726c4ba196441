"""Pages: the audit history (admins): filter, page, export as CSV, and verify the chain."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, redirect, render_template, request, session, stream_with_context, url_for
from flask_babel import gettext, lazy_gettext as _l

from .. import labels
from ..errors import NotPermitted, WorkflowError
from ..forms.audit import EventFilterForm
from ..services import audit_log
from .common import EmptyForm, actor, refuse
from .i18n import label, trigger_label
from .messages import N_

bp = Blueprint("audit", __name__)

PER_PAGE = 50
VERIFICATION_KEY = "audit_verification"
# The workflows of states/: their triggers and states have labels there.
WORKFLOWS = ("application", "review", "milestone", "change_request")
# What the history records beside the workflows' own triggers.
ACTIONS = {
    "create": _l("Created"), "edit": _l("Edited"), "update": _l("Changed"), "upload": _l("Uploaded"),
    "assign": _l("Assigned"), "issue": _l("Issued"), "export": _l("Exported"),
}
SUBJECTS = {
    "application": _l("Application"), "review": _l("Review"), "milestone": _l("Milestone"),
    "change_request": _l("Change request"), "attachment": _l("Attachment"), "document": _l("Document"),
    "calls": _l("Call"), "institutions": _l("Applicant institution"), "bodies": _l("Recommending body"),
    "bases": _l("Base"), "users": _l("User"), "audit": _l("Audit history"),
}
# The verification's findings, as audit.verify and checkpoints.check word them.
REASONS = (
    (r"event (?P<a>\d+) is missing before it", _l("event %(a)s is missing before it")),
    (r"its previous-hash does not match the event before it",
     _l("its previous-hash does not match the event before it")),
    (r"its content does not match its hash \(the row was changed\)",
     _l("its content does not match its hash (the row was changed)")),
    (r"the head names event (?P<a>\d+) but the chain ends at event (?P<b>\d+) \(events after it were removed\)",
     _l("the chain's head names event %(a)s but the chain ends at event %(b)s (events after it were removed)")),
    (r"unreadable", _l("the checkpoint cannot be read")),
    (r"bad signature \(the checkpoint file was altered, or the key differs\)",
     _l("bad signature (the checkpoint file was altered, or the key differs)")),
    (r"names event (?P<a>\d+), beyond the chain's head (?P<b>\d+) \(events were removed\)",
     _l("it names event %(a)s, beyond the chain's head %(b)s (events were removed)")),
    (r"event (?P<a>\d+) no longer has the hash signed at (?P<b>\S+) \(the history was rewritten\)",
     _l("event %(a)s no longer has the hash signed at %(b)s (the history was rewritten)")),
    # audit.replay and the checkpoints as a whole (the file, the key):
    (r"(?P<s>\w+) (?P<a>\d+) is (?P<b>\w+) but no event records it",
     _l("%(s)s %(a)s is %(b)s, but no event records that")),
    (r"(?P<s>\w+) (?P<a>\d+) is (?P<b>\w+) but its events leave it (?P<d>\w+) \(last event (?P<c>\d+)\)",
     _l("%(s)s %(a)s is %(b)s, but its events leave it %(d)s (last event %(c)s)")),
    (r"event (?P<a>\d+) names (?P<s>\w+) (?P<b>\d+), which no longer exists",
     _l("event %(a)s names %(s)s %(b)s, which no longer exists")),
    (r"application (?P<a>\d+) has approved amount (?P<b>\S+) but its events record (?P<c>\S+)",
     _l("application %(a)s has an approved amount of %(b)s, but its events record %(c)s")),
    (r"FUNDFLOW_AUDIT_KEY is not set, so the (?P<a>\d+) checkpoints cannot be checked",
     _l("FUNDFLOW_AUDIT_KEY is not set, so the %(a)s checkpoints cannot be checked")),
    (r"the chain records (?P<a>\d+) checkpoints \(the last of event (?P<b>\d+) at (?P<c>\S+)\) but the "
     r"checkpoint file is missing",
     _l("the chain records %(a)s checkpoints (the last of event %(b)s at %(c)s), but the checkpoint file is missing")),
    (r"the chain records a checkpoint of event (?P<a>\d+) at (?P<b>\S+) that the checkpoint file does not hold",
     _l("the chain records a checkpoint of event %(a)s at %(b)s that the checkpoint file does not hold")),
)
SERVICE_MESSAGES = (
    N_("no user has this e-mail"),
    N_("a user id or an e-mail address"),
    N_("actor must be a user id or an e-mail address"),
    N_("no such user"),
    N_("must not be before since"),
    N_("until is before since"),
    N_("must be between 1900 and 2999"),
    N_("since is out of range"),
    N_("until is out of range"),
    N_("not a valid id"),
    N_("only administrators may read the audit history"),
)


@bp.before_request
def _admins_only() -> None:
    if actor().role != "admin":
        raise NotPermitted("only administrators may read the audit history")


def action_label(subject: str, trigger: str) -> str:
    """A trigger's label from its workflow in states/, else the audit-only action's."""
    kinds = (subject,) if subject in WORKFLOWS else WORKFLOWS
    for kind in kinds:
        text = trigger_label(kind, trigger)
        if text != trigger:
            return text
    return str(ACTIONS[trigger]) if trigger in ACTIONS else trigger


def subject_label(subject: str) -> str:
    return str(SUBJECTS[subject]) if subject in SUBJECTS else subject


def reason_text(reason: str) -> str:
    for pattern, text in REASONS:
        match = re.fullmatch(pattern, reason)
        if match:
            return str(text) % match.groupdict() if match.groupdict() else str(text)
    return reason


def _filter_form() -> tuple[EventFilterForm, bool]:
    form = EventFilterForm(formdata=request.args)
    roles = [(code, label(labels.ROLES, code)) for code in audit_log.EVENT_ROLES]
    triggers = sorted({(t, action_label("", t)) for t in audit_log.triggers()}, key=lambda pair: pair[1])
    form.set_choices(roles, triggers)
    return form, form.validate()


def _filters(form: EventFilterForm) -> audit_log.EventFilter:
    return audit_log.EventFilter(actor=(form.actor.data or "").strip() or None, role=form.role.data or None,
                                 application=form.application.data, trigger=form.trigger.data or None,
                                 since=form.since.data, until=form.until.data)


def _page_number() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), 100000)


def _export_args() -> dict:
    return {k: v for k, v in request.args.items() if k not in ("page", "submit") and v}


@bp.get("/admin/audit")
def events():
    form, valid = _filter_form()
    rows, total, status, page = [], 0, 200, _page_number()
    if valid:
        try:
            rows, total = audit_log.list_events(_filters(form), page, PER_PAGE)
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
    else:
        status = 422
    return render_template("audit/events.html", form=form, rows=rows, total=total, page=page, per_page=PER_PAGE,
                           actors=audit_log.actors_of(rows), export_args=_export_args(),
                           verification=_last_verification(), verify_form=EmptyForm(),
                           action_label=action_label, subject_label=subject_label, workflows=WORKFLOWS), status


@bp.get("/admin/audit.csv")
def export():
    form, valid = _filter_form()
    if valid:
        try:
            lines = audit_log.export_csv(actor(), _filters(form), bom=True)
        except WorkflowError as err:
            refuse(err, form)
        else:
            stamp = dt.datetime.now(audit_log.BEIJING).strftime("%Y%m%d-%H%M")
            return Response(stream_with_context(lines), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="audit-events-{stamp}.csv"'})
    return render_template("audit/events.html", form=form, rows=[], total=0, page=1, per_page=PER_PAGE,
                           actors={}, export_args=_export_args(), verification=_last_verification(),
                           verify_form=EmptyForm(), action_label=action_label, subject_label=subject_label,
                           workflows=WORKFLOWS), 422


@bp.post("/admin/audit/verify")
def verify():
    # CSRFProtect has checked the form's token before this runs.
    result = audit_log.verify_chain()
    session[VERIFICATION_KEY] = {
        "intact": result.intact, "events": result.events, "checkpoints": result.checkpoints,
        "signatures_checked": result.signatures_checked, "broken_event": result.broken_event,
        "verified_at": result.verified_at.isoformat(),
        "problems": [{"where": p.where, "reason": p.reason, "event_id": p.event_id, "checkpoint": p.checkpoint}
                     for p in result.problems],
    }
    return redirect(url_for("audit.events") + "#verification")


def _last_verification() -> dict | None:
    """The last verification this admin ran, with its findings in the reader's language."""
    stored = session.get(VERIFICATION_KEY)
    if not isinstance(stored, dict):
        return None
    try:
        at = dt.datetime.fromisoformat(stored["verified_at"])
    except (KeyError, TypeError, ValueError):
        return None
    problems = []
    for p in stored.get("problems", []):
        if p.get("where") == "checkpoint":
            where = gettext("Checkpoint %(n)s", n=p.get("checkpoint"))
        elif p.get("where") == "event":
            where = gettext("Event %(n)s", n=p.get("event_id"))
        elif p.get("where") == "row":
            where = gettext("Data")
        elif p.get("where") == "checkpoints":
            where = gettext("Checkpoints")
        else:
            where = gettext("Chain head")
        problems.append({"where": where, "reason": reason_text(str(p.get("reason", ""))),
                         "event_id": p.get("event_id")})
    return {**stored, "verified_at": at, "problems": problems}

