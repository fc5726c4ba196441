"""Where each role lands, and the officer's dashboard: filters, counts, paging, bulk actions and job progress."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels
from ..countries import COUNTRY_CODES
from ..errors import NotPermitted, WorkflowError
from ..forms.dashboard import BulkAssignForm, FilterForm, RegenerateForm
from ..services import applications as app_svc, bulk, compliance, documents, registry, workflows
from .common import actor, refuse
from .i18n import country_name, label, pick, registry_name, state_label
from .job_labels import job_label
from .messages import N_, translated

bp = Blueprint("dashboard", __name__)

# The page with each role's waiting work.
LANDING = {
    "applicant": "applications.index",
    "recommender": "applications.queue",
    "reviewer": "reviews.assignments",
    "officer": "dashboard.officer",
    "admin": "dashboard.officer",
}
PER_PAGE = 25  # applications per dashboard page
# What an officer meets on these pages, as the services word it.
SERVICE_MESSAGES = (
    N_("the dashboard is for program officers and administrators"),
    N_("only program officers assign reviewers"),
    N_("a job is shown to administrators and to the officer who started it"),
    N_("the reviewer belongs to the applicant institution"),
    N_("the reviewer belongs to a consortium partner"),
    N_("this reviewer is already assigned"),
    N_("nothing to assign"),
    N_("choose at least one application"),
    N_("choose at least one reviewer"),
)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    return redirect(url_for("auth.login"))


@bp.get("/dashboard")
def home():
    return redirect(url_for(LANDING[actor().role]))


# --- the officer's dashboard ----------------------------------------------------------------------------


def _officer():
    who = actor()
    if not who.acts_as_officer:
        raise NotPermitted("the dashboard is for program officers and administrators")
    return who


def _filter_form(calls: list) -> FilterForm:
    form = FilterForm(formdata=request.args)
    everything = ("", _("All"))
    form.call_id.choices = [everything] + [(str(c.id), f"{c.code} {pick(c.title, c.title_en)}") for c in calls]
    form.state.choices = [everything] + [(s, state_label("application", s))
                                        for s in workflows.definition("application").states]
    form.channel.choices = [everything] + [(k, label(labels.CHANNELS, k)) for k in labels.CHANNELS]
    form.field.choices = [everything] + [(k, label(labels.FIELDS, k)) for k in labels.FIELDS]
    countries = set(labels.COUNTRIES) - {"CN"}
    chosen = request.args.get("country", "")
    if chosen in COUNTRY_CODES:
        countries.add(chosen)
    form.country.choices = [everything] + sorted(((c, country_name(c)) for c in countries),
                                                 key=lambda pair: pair[1])
    # Retired bases too (marked): their applications are still there to be found.
    form.base_id.choices = [everything] + [(str(b.id), registry_name(b))
                                           for b in registry.bases(include_retired=True)]
    form.compliance.choices = [everything] + [(k, pick(*v)) for k, v in compliance.LABELS.items()]
    return form


def _filters(form: FilterForm) -> dict:
    """The service's keyword filters from the valid fields of the filter form (an invalid one is ignored)."""
    form.validate()
    out = {}
    for name in ("call_id", "state", "channel", "field", "country", "base_id", "compliance"):
        field = getattr(form, name)
        if field.errors or not field.data:
            continue
        out[name] = int(field.data) if name in ("call_id", "base_id") else field.data
    return out


def _assign_form() -> BulkAssignForm:
    form = BulkAssignForm()
    form.reviewer_ids.choices = [
        (r.id, f"{r.name or r.email}（{pick(r.institution, r.institution_en)}）"
         if r.institution is not None else (r.name or r.email)) for r in registry.reviewers()]
    return form


def _regenerate_form(calls: list | None = None) -> RegenerateForm:
    form = RegenerateForm()
    form.call_id.choices = [(c.id, f"{c.code} {pick(c.title, c.title_en)}") for c in calls or registry.calls()]
    return form


def _dashboard(assign_form=None, regenerate_form=None, status: int = 200):
    who = _officer()
    calls = registry.calls()
    form = _filter_form(calls)
    filters = _filters(form)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    items, total, counts = app_svc.list_with_counts(who, **filters, page=page, per_page=PER_PAGE)
    order = list(workflows.definition("application").states)
    counts = sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    args = {k: v for k, v in request.args.items() if k not in ("page", "state") and v}
    if status == 200 and any(f.errors for f in form):
        status = 422  # a filter value that is not one of its choices: said at the field
    return render_template(
        "dashboard/officer.html", form=form, filters=filters, items=items, total=total, page=page,
        per_page=PER_PAGE, counts=counts, count_args=args, all_count=sum(n for _state, n in counts),
        compliance=compliance.statuses(a.id for a in items), compliance_labels=compliance.LABELS,
        assign_form=assign_form or _assign_form(), regenerate_form=regenerate_form or _regenerate_form(calls),
        background_after=bulk.BACKGROUND_AFTER, country_name=country_name), status


@bp.get("/officer")
def officer():
    return _dashboard()


@bp.post("/officer/bulk/assign")
def bulk_assign():
    who = _officer()
    form = _assign_form()
    if not form.validate():
        return _dashboard(assign_form=form, status=422)
    try:
        outcome = bulk.assign_reviewers(who, form.app_ids.data, form.reviewer_ids.data, form.due_date.data)
    except WorkflowError as err:
        refuse(err, form)
        return _dashboard(assign_form=form, status=err.status)
    if not isinstance(outcome, dict):  # staged as a job: follow it on its page
        return redirect(url_for("dashboard.job", job_id=outcome.id))
    _flash_assignments(outcome)
    return redirect(url_for("dashboard.officer", **request.args))


@bp.post("/officer/bulk/regenerate")
def bulk_regenerate():
    who = _officer()
    form = _regenerate_form()
    if not form.validate():
        return _dashboard(regenerate_form=form, status=422)
    try:
        job = documents.regenerate_documents(who, form.call_id.data)
    except WorkflowError as err:
        refuse(err, form)
        return _dashboard(regenerate_form=form, status=err.status)
    return redirect(url_for("dashboard.job", job_id=job.id))


def refusal_reason(refusal: dict) -> str:
    """Why one assignment of a bulk run was not made, in the reader's language."""
    code = refusal.get("code")
    if code == "transition_refused":
        return _("not in expert review (now: %(state)s)", state=state_label("application", refusal.get("state")))
    if code == "not_found":
        return _("no such application, or you may not see it")
    if code == "invalid_input":
        return _("not an active reviewer")
    if refusal.get("template"):
        params = {k: pick(*v) if isinstance(v, list) else v for k, v in (refusal.get("params") or {}).items()}
        return _(refusal["template"]) % params
    return translated(refusal.get("message") or "") or refusal.get("message") or ""


def refusal_text(refusal: dict) -> str:
    title = pick(refusal.get("title"), refusal.get("title_en"))
    what = f"#{refusal['application_id']} {title}".strip()
    reviewer = refusal.get("reviewer") or "#%s" % refusal["reviewer_id"]
    return _("%(application)s, %(reviewer)s: %(reason)s", application=what, reviewer=reviewer,
             reason=refusal_reason(refusal))


def _flash_assignments(summary: dict) -> None:
    if summary[bulk.ASSIGNED]:
        flash(_("Reviewer assignments made: %(num)d.", num=summary[bulk.ASSIGNED]), "success")
    if summary[bulk.ALREADY]:
        flash(_("Reviewers already assigned before, left as they were: %(num)d.", num=summary[bulk.ALREADY]),
              "info")
    if summary["refusals"]:
        flash(_("Not assigned: %(list)s", list="; ".join(refusal_text(r) for r in summary["refusals"])), "warning")


DOCUMENT_OUTCOMES = {
    "intact": N_("intact"),
    "restored": N_("restored (the file was missing)"),
    "replaced": N_("replaced (the file had been altered)"),
    "failed": N_("failed"),
}


def job_progress(row) -> dict:
    """The job's progress as the page and its script show it."""
    finished = row.done_at is not None
    failed = row.failed_at is not None
    done, total = row.progress_done or 0, row.progress_total
    if total:
        percent = min(100, round(100 * done / total))
    else:
        percent = 100 if finished else 0
    return {"id": row.id, "job": row.job, "done": done, "total": total, "note": row.progress_note,
            "finished": finished, "failed": failed, "percent": percent, "step": 5 * round(percent / 5),
            "result": row.result, "attempts": row.attempts, "error": row.last_error if failed else None}


@bp.get("/jobs/<int:job_id>")
def job(job_id: int):
    who = _officer()
    row = documents.get_job(who, job_id)
    call = None
    if row.job == "regenerate_documents" and (row.payload or {}).get("call_id"):
        try:
            call = registry.get_call(row.payload["call_id"])
        except WorkflowError:
            call = None
    return render_template("dashboard/job.html", row=row, progress=job_progress(row), call=call,
                           kind=job_label(row.job),
                           outcomes=DOCUMENT_OUTCOMES, refusal_text=refusal_text)


@bp.get("/jobs/<int:job_id>/status")
def job_status(job_id: int):
    row = documents.get_job(_officer(), job_id)
    response = jsonify(job_progress(row))
    response.headers["Cache-Control"] = "no-store"
    return response
