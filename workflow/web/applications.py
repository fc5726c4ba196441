"""Pages: one application — its page with the actions panel and the workflow diagram, and its documents."""
from __future__ import annotations

import io

from babel import Locale
from flask import Blueprint, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from .. import labels
from ..errors import NotFound, StaleVersion, Unavailable, WorkflowError
from ..forms.actions import action_form
from ..services import applications as app_svc, documents, registry, transitions
from . import awards, diagram, reviews, screening
from .common import actor, refuse
from .errors import page as error_page
from .i18n import is_zh, trigger_label
from .messages import N_, describe

bp = Blueprint("applications", __name__)

# Actions that have a page of their own (the awards pages): the panel links there instead of showing a form.
LINKED_ACTIONS = {"sign_agreement": "awards.agreement", "request_closeout": "awards.closeout"}
# Actions that end something for good: their button asks before it acts.
DESTRUCTIVE_ACTIONS = frozenset({"withdraw", "reject", "reject_ineligible", "decline_recommendation", "terminate",
                                 "fail_closeout"})
# The sub-records whose events are firings of a workflow in states/.
WORKFLOW_SUBJECTS = frozenset({"application", "review", "milestone", "change_request"})
# Audit events that are not firings: what the timeline calls them.
AUDIT_ACTIONS = {
    "create": lazy_gettext("Created the application"),
    "edit": lazy_gettext("Edited the application"),
    "upload": lazy_gettext("Uploaded an attachment"),
    "assign": lazy_gettext("Assigned a reviewer"),
    "issue": lazy_gettext("Issued a document"),
    "restore": lazy_gettext("Restored a document"),
    "request": lazy_gettext("Requested a change"),
    "flag_sensitive": lazy_gettext("Changed the sensitive-technology flag"),
}
# Other areas' panels on the application page, each rendered from its module's panel_context.
PANELS = {"reviews": reviews, "awards": awards, "screening": screening}
# Service refusals met on the application page, for the catalogue.
SERVICE_MESSAGES = (
    N_("approved amount is required"),
    N_("whole yuan, more than zero"),
    N_("approved amount exceeds the central funds requested"),
    N_("decision documents go to the applicant institution and the fund"),
    N_("only the applicant institution's staff may do this"),
    N_("only the recommending body this application names may do this"),
    N_("the application is incomplete"),
    N_("attachments are missing"),
    N_("the budget breaks the call's rules"),
    N_("sensitive technology is closed to foreign-invested and foreign applicants"),
    N_("upload the signed project agreement (任务书) first"),
    N_("every milestone must be accepted before close-out"),
    N_("attach the final report first"),
)


@bp.post("/applications/<int:app_id>/sensitive")
def flag_sensitive(app_id: int):
    return screening.flag_sensitive(app_id, _detail_page)


@bp.get("/applications/<int:app_id>")
def detail(app_id: int):
    """One application as the signed-in role may see it, with what that role may do next."""
    undeclared = reviews.undeclared_review(actor(), app_id)
    if undeclared is not None:  # a reviewer declares no conflict before the full proposal is shown
        return redirect(url_for("reviews.review", review_id=undeclared))
    return _detail_page(app_id)


@bp.post("/applications/<int:app_id>/transitions/<trigger>")
def fire(app_id: int, trigger: str):
    """Fire one trigger of the application's workflow from the actions panel."""
    me = actor()
    form = action_form(trigger)
    if not form.validate():
        app_svc.get_application(me, app_id)  # 404 before anything is said about the form
        flash(gettext("Please correct the marked field."), "danger")
        return _detail_page(app_id, posted=form, posted_trigger=trigger, status=422)
    payload = {}
    amount = getattr(form, "approved_amount", None)
    if amount is not None and amount.data is not None:
        payload["approved_amount"] = amount.data
    try:
        application = transitions.fire(me, "application", app_id, trigger, comment=form.comment.data,
                                       version=form.version_seen(), payload=payload or None)
    except NotFound:
        raise
    except WorkflowError as err:
        refuse(err, form)
        stale = isinstance(err, StaleVersion)
        return _detail_page(app_id, posted=form, posted_trigger=trigger, status=err.status, stale=stale)
    flash(gettext("Done: %(action)s.", action=trigger_label("application", trigger, application.workflow_version)),
          "success")
    return redirect(url_for("applications.detail", app_id=app_id))


@bp.get("/documents/<int:doc_id>")
def document(doc_id: int):
    """A decision document's PDF, for the applicant institution and the fund's staff."""
    try:
        doc, content = documents.document_file(actor(), doc_id)  # the checked bytes, never the path again
    except Unavailable as err:  # no longer the recorded bytes: being restored, so say when to come back
        return error_page(err.status, describe(err), {"Retry-After": str(err.retry_after)})
    response = send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=True,
                         download_name=f"{doc.kind}-{doc.year}-{doc.seq:04d}.pdf")
    response.headers["X-Content-SHA256"] = doc.sha256
    return response


def _detail_page(app_id: int, *, posted=None, posted_trigger: str | None = None, status: int = 200,
                 stale: bool = False):
    me = actor()
    application = app_svc.get_application(me, app_id)
    events = app_svc.history(me, app_id)
    actions = transitions.actions(me, application)
    forms = {}
    for action in actions:
        if not action.allowed or action.trigger in LINKED_ACTIONS:
            continue
        if posted is not None and action.trigger == posted_trigger:
            forms[action.trigger] = posted
            if stale:  # the page now shows what changed; sending again acts on what is shown
                posted.version.data = str(application.version)
        else:
            forms[action.trigger] = action_form(action.trigger, formdata=None,
                                                data={"version": str(application.version)})
        _label_comment(forms[action.trigger].comment, action, reviews.reason_needed(me, application, action.trigger))
    may_download = me.acts_as_officer or (me.role == "applicant" and application.institution_id == me.institution_id)
    context = dict(
        application=application,
        me=me,
        actions=actions,
        forms=forms,
        linked_actions=LINKED_ACTIONS,
        destructive=DESTRUCTIVE_ACTIONS,
        posted=posted,
        posted_trigger=posted_trigger,
        posted_lost=posted is not None and posted_trigger not in forms,
        stale=stale,
        budget_left=registry.budget_left(application.call_id) if "approve" in forms else None,
        documents=documents.documents_of(me, app_id) if may_download else [],
        timeline=_timeline(events),
        diagram=diagram.application_diagram(application, events),
        reviews_panel=_panel("reviews", me, application),
        awards_panel=_panel("awards", me, application),
        screening_panel=_panel("screening", me, application),
        country_name=_partner_country,
        describe=describe,
    )
    return render_template("applications/detail.html", **context), status


def _label_comment(comment, action, reason: str | None) -> None:
    """Label the comment as the firing will judge it: a reason the trigger or the record requires, or optional."""
    if reason or action.comment_required:
        comment.label.text = reason or gettext("Reason (required)")
        comment.flags.required = True
    else:
        comment.label.text = gettext("Comment (optional)")


def _timeline(events) -> list[dict]:
    """The audit events as the timeline shows them: who, in which role, did what, when, with what comment."""
    people = app_svc.event_actors(events)
    items = []
    for e in events:
        user = people.get(e.actor_id)
        version = (e.data or {}).get("workflow_version") if e.subject in WORKFLOW_SUBJECTS else None
        if e.subject in WORKFLOW_SUBJECTS and e.trigger not in AUDIT_ACTIONS:
            what = trigger_label(e.subject, e.trigger, version)
        else:
            what = str(AUDIT_ACTIONS.get(e.trigger, e.trigger))
        items.append(dict(
            id=e.id, who=(user.name or user.email) if user else None, email=user.email if user else None,
            role=e.role, what=what, when=e.created_at, comment=e.comment, subject=e.subject,
            from_state=e.from_state if e.subject in WORKFLOW_SUBJECTS else None,
            to_state=e.to_state if e.subject in WORKFLOW_SUBJECTS else None, version=version,
        ))
    return items


def _panel(area: str, me, application):
    """Another area's panel on this page (reviews, awards), rendered from its panel_context."""
    context = PANELS[area].panel_context(me, application)
    if context is None:
        return None
    return Markup(render_template(f"{area}/_panel.html", **{"application": application, "me": me, **context}))


def _partner_country(code: str) -> str:
    """A partner's country as the application page names it: the fund's own Chinese names first."""
    if is_zh():
        return labels.COUNTRIES.get(code) or Locale("zh").territories.get(code, code)
    return Locale("en").territories.get(code, code)
