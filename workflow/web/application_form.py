"""Pages: the applicant's applications — the list, the application form and uploads — and the recommender's queue."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from babel import Locale
from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, gettext, lazy_gettext
from werkzeug.exceptions import RequestEntityTooLarge

from .. import labels
from ..countries import COUNTRY_CODES
from ..errors import NotFound, StaleVersion, TooLarge, TransitionRefused, WorkflowError
from ..forms.applications import ApplicationForm, UploadForm, size_text
from ..services import applications as app_svc, registry, workflows
from . import errors as error_pages
from .applications import bp
from .common import actor, refuse, safe_next
from .i18n import country_name, label, money, offered, pick, registry_name, retired_mark, state_label
from .messages import N_, describe

PER_PAGE = 20
FORM_ATTACHMENTS = ("proposal", "cooperation_agreement")  # uploaded with the form itself
# The pages whose request body may be over the limit: they say so and go back.
UPLOAD_ENDPOINTS = ("applications.upload", "applications.new", "applications.edit")

# What the applicant institution does next, by state.
NEXT_STEP = {
    "draft": lazy_gettext("Complete the form, upload the proposal and the cooperation agreement, and submit."),
    "revision_requested": lazy_gettext("Answer the revision request: edit the application and resubmit it."),
    "pending_recommendation": lazy_gettext("Waiting for the recommending body to endorse it."),
    "formal_review": lazy_gettext("The fund is checking it formally; nothing to do now."),
    "expert_review": lazy_gettext("Experts are reviewing it; nothing to do now."),
    "decision_pending": lazy_gettext("Waiting for the fund's decision."),
    "approved": lazy_gettext("Upload the signed project agreement and sign it with its milestones."),
    "in_progress": lazy_gettext("Report on milestones as they fall due; request close-out when all are accepted."),
    "suspended": lazy_gettext("The project is suspended: answer the program officer and report overdue milestones."),
    "closeout_review": lazy_gettext("Waiting for close-out acceptance."),
}
NO_NEXT_STEP = lazy_gettext("Closed; nothing more to do.")

# Where a service's field message is shown on the form.
FIELD_OF = {"budget": "budget_central", "central": "budget_central", "local_matching": "budget_local_matching",
            "self_raised": "budget_self_raised"}
# Keys of a refusal's details that are not messages.
NOT_MESSAGES = ("state", "allowed_states", "version", "retry_after")

# Service refusals met on these pages, for the catalogue.
SERVICE_MESSAGES = (
    N_("no such call"),
    N_("not found"),
    N_("the call is not open"),
    N_("no such recommending body"),
    N_("no such cooperation base"),
    N_("cannot change"),
    N_("an application cannot move to another call"),
    N_("the file is not a PDF"),
    N_("must be a PDF document"),
    N_("the upload is too large"),
    N_("only applicant institutions' staff may create applications"),
    N_("only the applicant institution's staff may edit an application"),
    N_("only the applicant institution's staff may upload attachments"),
    N_("the application was changed by someone else; reload and try again"),
)


# --- the list and the queue -----------------------------------------------------------------------------


@bp.get("/applications")
def index():
    """The applications of the signed-in applicant's institution (or whatever the role may see)."""
    a = actor()
    states = _states()
    state = request.args.get("state") or None
    if state not in states:
        state = None
    page = _page_arg()
    items, total = app_svc.list_applications(a, state=state, page=page, per_page=PER_PAGE)
    open_calls = _open_calls() if a.role == "applicant" else []
    return render_template("applications/index.html", items=items, total=total, page=page,
                           per_page=PER_PAGE, state=state, states=states, open_calls=open_calls,
                           next_step=lambda s: NEXT_STEP.get(s, NO_NEXT_STEP))


@bp.get("/queue")
def queue():
    """The recommender's queue: applications routed to their body, those waiting for them first."""
    a = actor()
    if a.role != "recommender":
        return error_pages.page(403, gettext("The recommendation queue is for recommending bodies."))
    states = _states()
    chosen = request.args.get("state", "pending_recommendation")
    state = None if chosen == "all" or chosen not in states else chosen
    page = _page_arg()
    items, total = app_svc.list_applications(a, state=state, page=page, per_page=PER_PAGE)
    _, waiting = app_svc.list_applications(a, state="pending_recommendation", page=1, per_page=1)
    return render_template("applications/queue.html", items=items, total=total, page=page,
                           per_page=PER_PAGE, state=state, states=states, waiting=waiting,
                           country=country_name)


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 100000 else 1


def _states() -> list[str]:
    return list(workflows.definition("application").states)


def _open_calls() -> list:
    now = dt.datetime.now(dt.timezone.utc)
    return [c for c in registry.calls() if c.is_open(now)]


# --- the form -------------------------------------------------------------------------------------------


@bp.route("/applications/new", methods=["GET", "POST"])
def new():
    return _form_page()


@bp.route("/applications/<int:app_id>/edit", methods=["GET", "POST"])
def edit(app_id: int):
    return _form_page(app_svc.get_application(actor(), app_id))


def _form_page(app=None):
    """GET shows the form; POST saves the draft (or adds a partner row), re-showing it with the messages."""
    a = actor()
    if a.role != "applicant":
        return error_pages.page(403, gettext("Only the staff of applicant institutions fill in applications."))
    if app is not None and app.state not in app_svc.EDITABLE_STATES:
        return error_pages.page(409, gettext("This application can only be edited as a draft or when it was "
                                             "returned for revision; it is now: %(state)s.",
                                             state=state_label("application", app.state, app.workflow_version)))
    if app is None:
        home = registry.get_institution(a.institution_id)
        if home.retired:  # its drafts and projects go on; it opens no new application (services.applications)
            message = gettext(app_svc.RETIRED_INSTITUTION, institution=pick(home.name, home.name_en))
            return error_pages.page(403, message)
    call = app.call if app is not None else None
    if app is None:
        calls = _open_calls()
        call_choices = [(c.id, _call_label(c), {"data-rules": "\n".join(_call_rules(c))}) for c in calls]
    else:
        calls, call_choices = [call], []  # the call is fixed once the draft exists
    submitted = request.method == "POST"
    if submitted:
        form = ApplicationForm()
    elif app is not None:
        form = ApplicationForm(formdata=None, data=_form_data(app))
    else:
        wanted = request.args.get("call_id", "")
        chosen = int(wanted) if wanted.isdigit() and any(c.id == int(wanted) for c in calls) else None
        if chosen is None and len(calls) == 1:
            chosen = calls[0].id  # the only open call
        form = ApplicationForm(formdata=None, data={"call_id": chosen})
    form.call_fixed = app is not None
    _setup(form, call_choices, app)
    status = 200
    if not submitted:
        target = max(len(form.partners), len(app.partners) + 1 if app is not None else 0)
        while len(form.partners) < target:
            form.add_partner_row()
    elif form.more_rows.data:
        form.add_partner_row()
    elif form.validate_on_submit():
        data = form.data_for_service()
        try:
            if app is None:
                saved = app_svc.create_application(a, {**data, "call_id": form.call_id.data})
            else:
                saved = app_svc.update_application(a, app.id, {**data, "version": _version(form)})
        except WorkflowError as err:
            _refuse_save(err, form)
            status = err.status
            if isinstance(err, StaleVersion) and app is not None:
                current = app_svc.get_application(a, app.id)
                form.version.data = str(current.version)
                flash(gettext("If you save again, what is in this form replaces the other change."), "info")
        else:
            flash(gettext("The application was saved."), "success")
            _store_files(a, saved.id, form)
            return redirect(url_for("applications.detail", app_id=saved.id), 303)
    else:
        status = 422
        flash(gettext("The application was not saved. Correct the fields marked below."), "danger")
    if app is None and form.call_id.data:
        call = next((c for c in calls if c.id == form.call_id.data), None)
    return render_template("applications/form.html", form=form, application=app, call=call,
                           rules=_call_rules(call), reason=_revision_reason(a, app),
                           open_calls=calls if app is None else [],
                           upload_limit=size_text(current_app.config["MAX_UPLOAD_BYTES"])), status


def _country_choices() -> list[tuple[str, str, str]]:
    """(code, name, group): the plan's usual partner countries first, then every other ISO 3166 code."""
    names = get_locale().territories
    english = Locale.parse("en").territories
    frequent = [c for c in labels.COUNTRIES if c in COUNTRY_CODES]
    group1, group2 = gettext("Frequent partner countries"), gettext("Other countries and regions")
    rest = sorted((c for c in COUNTRY_CODES if c not in set(frequent)), key=lambda c: english.get(c, c))
    return [(c, names.get(c, c), group1) for c in frequent] + [(c, names.get(c, c), group2) for c in rest]


def _setup(form, call_choices, app=None) -> None:
    """The form's choices: the bodies and bases in use, and the retired ones the draft already names
    (marked; a retired base may stay, a retired body must give way to another before submission)."""
    bodies = offered(registry.bodies(include_retired=True), app.body_id if app is not None else None)
    bases = offered(registry.bases(include_retired=True), app.base_id if app is not None else None)
    form.setup(
        calls=call_choices,
        bodies=[(b.id, registry_name(b), b.channel, label(labels.CHANNELS, b.channel)) for b in bodies],
        retired_bodies=[b.id for b in bodies if b.retired],
        bases=[(b.id, retired_mark(f"{pick(b.name, b.name_en)}（{label(labels.BASE_KINDS, b.kind)}）", b.retired))
               for b in bases],
        channels=[(c, label(labels.CHANNELS, c)) for c in labels.CHANNELS],
        fields=[(c, label(labels.FIELDS, c)) for c in labels.FIELDS],
        cooperation_types=[(c, label(labels.COOPERATION_TYPES, c)) for c in labels.COOPERATION_TYPES],
        countries=_country_choices(),
        partner_kinds=[(c, label(labels.PARTNER_KINDS, c)) for c in labels.PARTNER_KINDS],
    )


def _call_label(call) -> str:
    return f"{call.code} {pick(call.title, call.title_en)}"


def _call_rules(call) -> list[str]:
    """The call's budget rules as sentences, e.g. 地方配套与自筹经费不低于中央财政经费的 50%."""
    if call is None:
        return [gettext("Choose a call to see its budget rules.")]
    rules = []
    if call.min_matching_ratio:
        rules.append(gettext("Local matching and self-raised funds must be at least %(ratio)s of central funds.",
                             ratio="{:.0%}".format(call.min_matching_ratio)))
    else:
        rules.append(gettext("This call sets no minimum for local matching and self-raised funds."))
    if call.max_central_per_project is not None:
        rules.append(gettext("Central funds may not exceed %(amount)s per project.",
                             amount=money(call.max_central_per_project)))
    if call.fields:
        rules.append(gettext("This call is open to these fields: %(fields)s.",
                             fields="、".join(label(labels.FIELDS, f) for f in call.fields)))
    return rules


def _revision_reason(a, app):
    """The last return_for_revision event (its comment is the reason), when the application awaits revision."""
    if app is None or app.state != "revision_requested":
        return None
    returns = [e for e in app_svc.history(a, app.id) if e.trigger == "return_for_revision"]
    return returns[-1] if returns else None


def _form_data(app) -> dict:
    return {
        "version": app.version, "call_id": app.call_id, "title": app.title, "title_en": app.title_en,
        "summary": app.summary, "field": app.field or "", "cooperation_type": app.cooperation_type or "",
        "principal_investigator": app.principal_investigator, "channel": app.channel, "body_id": app.body_id,
        "base_id": app.base_id, "budget_central": app.budget_central,
        "budget_local_matching": app.budget_local_matching, "budget_self_raised": app.budget_self_raised,
        "duration_months": app.duration_months, "foreign_experts": app.foreign_experts,
        "young_researchers": app.young_researchers, "sensitive_technology": app.sensitive_technology,
        "partners": [{"name": p.name, "country": p.country, "kind": p.kind} for p in app.partners],
    }


def _refuse_save(err, form) -> None:
    """Show a refused save: each message at its field (partners above the partner rows), the rest on top."""
    if isinstance(err.details, dict):
        details = {}
        for key, value in err.details.items():
            if key in NOT_MESSAGES:
                continue
            if key == "partners":
                form.partner_messages = [gettext(str(m)) for m in (value if isinstance(value, list) else [value])]
                continue
            details[FIELD_OF.get(key, key)] = value
        err.details = details
    refuse(err, form)


def _version(form):
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isdigit() and 1 <= int(raw) < 2**31 else None


def _store_files(a, app_id: int, form) -> None:
    """Save the PDFs chosen in the form, after the draft itself was saved."""
    for kind in FORM_ATTACHMENTS:
        upload = getattr(form, kind).data
        if not upload or not getattr(upload, "filename", ""):
            continue
        try:
            app_svc.add_attachment(a, app_id, kind, upload.filename, upload.stream)
        except WorkflowError as err:
            flash(gettext("The draft was saved, but %(kind)s was not stored: %(reason)s",
                          kind=label(labels.ATTACHMENT_KINDS, kind), reason=_upload_reason(err)),
                  "warning")
        else:
            flash(gettext("%(kind)s uploaded.", kind=label(labels.ATTACHMENT_KINDS, kind)), "success")


# --- attachments ----------------------------------------------------------------------------------------


@bp.post("/applications/<int:app_id>/attachments")
def upload(app_id: int):
    """Store one PDF of any kind the service takes; say what happened on the page the user came from."""
    a = actor()
    back_to = safe_next(url_for("applications.detail", app_id=app_id))
    form = UploadForm()
    form.setup([(k, label(labels.ATTACHMENT_KINDS, k)) for k in labels.ATTACHMENT_KINDS])
    if not form.validate_on_submit():
        messages = [str(m) for f in (form.kind, form.file) for m in f.errors]
        flash(" ".join(messages) or gettext("The upload could not be read. Choose the file again."), "danger")
        return redirect(back_to, 303)
    upload_file = form.file.data
    if not upload_file or not getattr(upload_file, "filename", ""):
        flash(gettext("Choose a PDF file to upload."), "danger")
        return redirect(back_to, 303)
    kind_text = label(labels.ATTACHMENT_KINDS, form.kind.data)
    try:
        app_svc.add_attachment(a, app_id, form.kind.data, upload_file.filename, upload_file.stream)
    except NotFound:
        raise
    except WorkflowError as err:
        flash(gettext("%(kind)s was not uploaded: %(reason)s", kind=kind_text, reason=_upload_reason(err)),
              "danger")
    else:
        flash(gettext("%(kind)s uploaded.", kind=kind_text), "success")
    return redirect(back_to, 303)


@bp.get("/applications/<int:app_id>/attachments/<int:attachment_id>")
def attachment(app_id: int, attachment_id: int):
    path, name = app_svc.attachment_download(actor(), app_id, attachment_id)
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(err):
    """A body over the request limit: back to the page the user came from, saying why."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        flash(_too_large_text(), "danger")
        if request.endpoint == "applications.upload":
            app_id = (request.view_args or {}).get("app_id")
            return redirect(_query_next(url_for("applications.detail", app_id=app_id)), 303)
        return redirect(request.full_path.rstrip("?"), 303)
    return error_pages.page(413, _too_large_text())


def _query_next(default: str) -> str:
    """`next` from the query string only (used when the body itself could not be read)."""
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc \
            and "\\" not in target:
        return target
    return default


def _too_large_text() -> str:
    return gettext("The file is too large: attachments are limited to %(size)s.",
                   size=size_text(current_app.config["MAX_UPLOAD_BYTES"]))


def _upload_reason(err) -> str:
    if isinstance(err, TooLarge):
        return _too_large_text()
    if err.message == "the file is not a PDF":
        return gettext("This is not a PDF file. Upload the document as a PDF.")
    if isinstance(err, TransitionRefused) and isinstance(err.details, dict) and "allowed_states" in err.details:
        return gettext("This kind of document cannot be uploaded while the application is in this state.")
    return describe(err)
