"""Pages: after the award — the agreement with its milestones, milestone reports, change requests, close-out.

Every change goes through the services the API uses: `transitions.fire` for
sign_agreement, request_close-out, milestones and change decisions,
`applications.add_attachment` for uploads and `changes.request_change` for new
change requests. `panel_context` and templates/awards/_panel.html give the
application page its milestones and change requests.
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from babel import Locale
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import labels
from ..services.compliance import BEIJING
from ..errors import GuardFailed, NotFound, NotPermitted, TransitionRefused, WorkflowError
from ..forms.awards import (
    MORE_ROWS,
    AgreementForm,
    ChangeRequestForm,
    CloseoutForm,
    DecisionForm,
    MilestoneReportForm,
)
from ..permissions import Actor
from ..services import applications as app_svc
from ..services import changes as change_svc
from ..services import compliance, registry
from ..services.transitions import Action, actions, fire
from . import errors as error_pages
from .common import actor, refuse
from .i18n import is_zh, label, offered, pick, retired_mark
from .messages import N_, describe, translated

bp = Blueprint("awards", __name__)

# The services' refusals people meet on these pages, for the catalogue.
SERVICE_MESSAGES = (
    N_("upload the signed project agreement (任务书) first"),
    N_("list the cooperation agreement's milestones"),
    N_("some milestones are not valid"),
    N_("every milestone must be accepted before close-out"),
    N_("attach the final report first"),
    N_("report the project's outcomes"),
    N_("outcomes are not valid"),
    N_("the progress report is required"),
    N_("the file is not a PDF"),
    N_("only the applicant institution's staff may upload attachments"),
    N_("only the applicant institution's staff may request changes"),
    N_("only the applicant institution's staff may do this"),
    N_("a project may not run longer than 120 months"),
    N_("the request is not valid"),
)


# --- what the application page shows ----------------------------------------------------------------


@dataclass
class MilestoneRow:
    milestone: Any
    actions: list[Action]
    return_reason: str | None = None  # the officer's latest reason for returning it
    returned_at: Any = None


@dataclass
class ChangeRow:
    change: Any
    diff: list[dict]
    actions: list[Action]
    decision_comment: str | None = None  # the officer's reason, when refused (or comment when approved)
    decided_at: Any = None


@dataclass
class Panel:
    application: Any
    milestones: list[MilestoneRow] = field(default_factory=list)
    changes: list[ChangeRow] = field(default_factory=list)
    may_sign: bool = False
    may_close: bool = False
    may_request_change: bool = False
    show: bool = False
    agreement: Any = None  # the cooperation agreement recorded at signing
    closeout: Any = None  # the close-out decision's event (accept_closeout or fail_closeout)
    base: Any = None  # the base the outcomes name as built or strengthened
    compliance: str | None = None  # services.compliance status while the project is in execution


POST_AWARD = ("approved", "in_progress", "suspended", "closeout_review", "completed", "terminated",
              "failed_acceptance")


def panel_context(actor: Actor, application) -> dict:
    """What templates/awards/_panel.html needs, as {"awards_panel": Panel}: render the page with **this."""
    events = app_svc.history(actor, application.id)
    returns: dict[int, Any] = {}
    decisions: dict[int, Any] = {}
    for event in events:
        if event.subject == "milestone" and event.trigger == "return":
            returns[event.subject_id] = event
        elif event.subject == "change_request" and event.trigger in ("approve", "refuse"):
            decisions[event.subject_id] = event
    panel = Panel(application, agreement=application.agreement)
    panel.closeout = next((e for e in reversed(events) if e.subject == "application"
                           and e.trigger in ("accept_closeout", "fail_closeout")), None)
    base_id = (application.outcomes or {}).get("base_id")
    panel.base = registry.get_base(base_id) if base_id else None  # retired since or not
    for m in sorted(application.milestones, key=lambda m: m.seq):
        back = returns.get(m.id)
        panel.milestones.append(MilestoneRow(m, actions(actor, m), back.comment if back else None,
                                             back.created_at if back else None))
    for c in sorted(change_svc.changes_of(actor, application.id), key=lambda c: c.id, reverse=True):
        decided = decisions.get(c.id)
        panel.changes.append(ChangeRow(c, change_diff(application, c, decided), actions(actor, c),
                                       decided.comment if decided else None,
                                       decided.created_at if decided else None))
    own = actor.role == "applicant" and application.institution_id == actor.institution_id
    panel.may_sign = own and application.state == "approved"
    panel.may_close = own and application.state == "in_progress"
    panel.may_request_change = own and application.state in change_svc.OPEN_STATES
    panel.show = application.state in POST_AWARD or bool(panel.milestones or panel.changes)
    panel.compliance = compliance.status_of(application.id)
    return {"awards_panel": panel}


def change_diff(application, change, decided=None) -> list[dict]:
    """The change as rows of {label, before, after, format}: before is the project before the decision."""
    proposal, data = change.proposal or {}, (decided.data if decided is not None else {}) or {}
    if change.kind == "extension":
        before = data["duration_months"][0] if "duration_months" in data else application.duration_months
        after = data["duration_months"][1] if "duration_months" in data else \
            (application.duration_months or 0) + proposal.get("extend_months", 0)
        return [{"label": gettext("Duration"), "before": before, "after": after, "format": "months"}]
    if change.kind == "budget_reallocation":
        now = [application.budget_central, application.budget_local_matching, application.budget_self_raised]
        before = data["budget"][0] if "budget" in data else now
        budget = proposal.get("budget", {})
        names = (("central", gettext("Central funds")), ("local_matching", gettext("Local matching")),
                 ("self_raised", gettext("Self-raised")))
        rows = [{"label": text, "before": before[i], "after": budget.get(key), "format": "money"}
                for i, (key, text) in enumerate(names)]
        rows.append({"label": gettext("Total"), "before": sum(b or 0 for b in before),
                     "after": sum(budget.get(k) or 0 for k, _ in names), "format": "money"})
        return rows
    if change.kind == "partner_change":
        if "partners_before" in data:
            before = data["partners_before"]
        else:
            before = [{"name": p.name, "country": p.country, "kind": p.kind} for p in application.partners]
        return [{"label": gettext("Partners"), "before": [partner_text(p) for p in before],
                 "after": [partner_text(p) for p in proposal.get("partners", [])], "format": "list"}]
    if change.kind == "pi_change":
        before = data["principal_investigator"][0] if "principal_investigator" in data \
            else application.principal_investigator
        return [{"label": gettext("Principal investigator"), "before": before,
                 "after": proposal.get("principal_investigator"), "format": "text"}]
    return []


def country_name(code: str) -> str:
    if is_zh():
        return labels.country(code)
    return Locale("en").territories.get(code, code)


def partner_text(p: dict) -> str:
    kind = label(labels.PARTNER_KINDS, p.get("kind")) if p.get("kind") else ""
    where = ", ".join(x for x in (country_name(p.get("country", "")), kind) if x)
    return f"{p.get('name', '')} ({where})" if where else p.get("name", "")


def _panel_for(application) -> Panel:
    return panel_context(actor(), application)["awards_panel"]


@bp.record_once
def _register_panel_globals(state) -> None:
    """Globals the panel's macros use; the panel builds its own context when the page passed none."""
    state.app.jinja_env.globals.update(awards_panel_for=_panel_for, awards_describe=describe,
                                       awards_milestone_kinds=MILESTONE_KINDS, awards_base_outcomes=BASE_OUTCOMES,
                                       awards_compliance_labels=compliance.LABELS,
                                       awards_country=country_name)


# --- signing the project agreement ------------------------------------------------------------------------


def _own_project(a: Actor, app_id: int, state: tuple[str, ...], what: str):
    """The applicant's own application in one of `state`, else the page that says why not."""
    application = app_svc.get_application(a, app_id)  # another institution's: 404
    if a.role != "applicant" or application.institution_id != a.institution_id:
        raise NotPermitted("only the applicant institution's staff may do this")
    if application.state not in state:
        return application, error_pages.page(409, what)
    return application, None


def _version(form) -> int | None:
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isdigit() else None


def _refuse(err: WorkflowError, form, rename: dict[str, str]) -> None:
    """Show a refusal at the form's fields, renaming the service's detail keys to this form's fields."""
    shown = copy.copy(err)
    details = err.details if isinstance(err.details, dict) else {}
    placed = {}
    for key, value in details.items():
        name = rename.get(key, key)
        if name in form._fields:
            placed[name] = value
    shown.details = placed or None
    refuse(shown, form)


def _upload(form_field) -> Any:
    upload = form_field.data
    return upload if upload is not None and getattr(upload, "filename", "") else None


# Milestone kinds and base outcomes in both languages, for forms, tables and the close-out.
MILESTONE_KINDS = {
    "joint_research_output": ("联合研究成果", "Joint research output"),
    "personnel_exchange": ("人员交流", "Personnel exchange"),
    "technology_transfer": ("技术转移与引进", "Technology transfer or introduction"),
    "foreign_experts_engaged": ("引进外国专家", "Foreign experts engaged"),
    "annual_report": ("年度报告", "Annual report"),
    "mid_term_report": ("中期报告", "Mid-term report"),
}
BASE_OUTCOMES = {
    "built": ("新建国际科技合作基地", "An international cooperation base was built"),
    "strengthened": ("提升已有国际科技合作基地", "An existing cooperation base was strengthened"),
    "none": ("未涉及基地建设", "No cooperation base involved"),
}
# Field messages of the agreement's rules, as the service words them (translated through the catalogue).
AGREEMENT_MESSAGES = (
    N_("at least one foreign partner institution is required"),
    N_("the signing date must lie between the call's opening and today"),
    N_("a date between 1950 and 2100"),
    N_("the agreement must be valid until a day after it is valid from"),
    N_("the agreement had expired before it was signed"),
    N_("the cooperation agreement is not valid"),
    N_("the report's attachments are not valid"),
    N_("the progress report is too long"),
    N_("the registry base that was built or strengthened"),
    N_("name a base only when one was built or strengthened"),
)


def _agreement_defaults(form: AgreementForm, application) -> None:
    today = dt.datetime.now(BEIJING).date()
    form.signed_on.data = form.valid_from.data = today
    months = application.duration_months or 36
    form.valid_until.data = today.replace(year=today.year + (months + 11) // 12)
    foreign = [p for p in application.partners if p.country != "CN"] or list(application.partners)
    while len(form.partners.entries) < len(foreign) + 1:
        form.partners.append_entry()
    for row, p in zip(form.partners.entries, foreign):
        row.form.name.data, row.form.country.data = p.name, p.country
    kinds = ("mid_term_report", "joint_research_output", "personnel_exchange", "annual_report")
    for row, kind in zip(form.milestones.entries, kinds):
        row.form.kind.data = kind


def _place_agreement_refusal(err: WorkflowError, form: AgreementForm) -> None:
    """The service's field messages at the agreement's and the milestones' fields, in the reader's language."""
    details = err.details if isinstance(err.details, dict) else {}
    for name, value in (details.get("agreement") or {}).items():
        field = form._fields.get(name)
        if name == "partners" and isinstance(value, dict):
            rows = [r.form for r in form.partners.entries if not r.form.blank]
            for i, problems in value.items():
                if i.isdigit() and int(i) < len(rows):
                    for key, msgs in problems.items():
                        getattr(rows[int(i)], key).errors = [translated(m) or m for m in msgs]
        elif field is not None and isinstance(value, list):
            field.errors = [*(field.errors if isinstance(field.errors, list) else []),
                            *[translated(m) or m for m in value]]
    rows = form.filled_milestones()
    milestones = details.get("milestones")
    for i, problems in (milestones.items() if isinstance(milestones, dict) else ()):
        if not (i.isdigit() and int(i) < len(rows)) or not isinstance(problems, dict):
            continue
        for key, msgs in problems.items():
            field = getattr(rows[int(i)], key, None)
            if field is None:
                continue
            if key == "due_date" and err.params.get("first"):
                field.errors = [gettext("Outside the project's duration: due between %(first)s and %(last)s.",
                                        first=err.params["first"], last=err.params["last"])]
            else:
                field.errors = [translated(m) or m for m in msgs]
    if "attachments" in details:
        form.agreement_file.errors = [describe(err)]
    flash(describe(err), "danger")


@bp.route("/applications/<int:app_id>/agreement", methods=["GET", "POST"])
def agreement(app_id: int):
    """Upload the signed project agreement (任务书), record the cooperation agreement, list its milestones, sign."""
    a = actor()
    application, refused = _own_project(a, app_id, ("approved",), gettext(
        "The project agreement is signed once the application is approved, and only once."))
    if refused:
        return refused
    form = AgreementForm()
    status = 200
    if request.method == "GET":
        form.version.data = str(application.version)
        _agreement_defaults(form, application)
    elif form.more.data:
        for _ in range(MORE_ROWS):
            form.milestones.append_entry()
    _agreement_choices(form)
    if request.method == "POST" and not form.more.data:
        if form.validate_on_submit() and not form.check_window(application.duration_months):
            status = _sign(a, application, form)
            if status is None:
                flash(gettext("The project agreement is signed; the project is now in progress."), "success")
                return redirect(url_for("applications.detail", app_id=app_id))
            application = app_svc.get_application(a, app_id)
        else:
            status = 422
    signed = [att for att in application.attachments if att.kind == "signed_agreement"]
    return render_template("awards/agreement.html", application=application, form=form, signed=signed,
                           milestone_kinds=MILESTONE_KINDS), status


def _sign(a: Actor, application, form: AgreementForm) -> int | None:
    """Upload the signed copy and fire sign_agreement; the refusal's status, or None when signed."""
    upload = _upload(form.agreement_file)
    try:
        if upload is not None:
            app_svc.add_attachment(a, application.id, "signed_agreement", upload.filename, upload.stream)
        fire(a, "application", application.id, "sign_agreement", version=_version(form),
             payload={"agreement": form.agreement_payload(), "milestones": form.milestone_payload()})
    except WorkflowError as err:
        if err.status in (403, 404):
            raise
        if isinstance(err.details, dict) and ("agreement" in err.details or "milestones" in err.details):
            _place_agreement_refusal(err, form)
        else:
            _refuse(err, form, {"attachments": "agreement_file", "file": "agreement_file"})
        return err.status
    return None


def _agreement_choices(form: AgreementForm) -> None:
    form.set_choices(_countries(), {k: pick(*v) for k, v in MILESTONE_KINDS.items()})


# --- close-out -------------------------------------------------------------------------------------------


@bp.route("/applications/<int:app_id>/closeout", methods=["GET", "POST"])
def closeout(app_id: int):
    """Attach the final report, give the outcomes and request close-out."""
    a = actor()
    application, refused = _own_project(a, app_id, ("in_progress",), gettext(
        "Close-out is requested while the project is in progress."))
    if refused:
        return refused
    form = CloseoutForm()
    # The bases in use, and the project's own even if retired since (it may report having strengthened it).
    form.base_id.choices = {"": "—", **{
        str(b.id): retired_mark(f"{pick(b.name, b.name_en)}（{label(labels.BASE_KINDS, b.kind)}）", b.retired)
        for b in offered(registry.bases(include_retired=True), application.base_id)}}
    status = 200
    if request.method == "GET":
        form.version.data = str(application.version)
        form.experts_engaged.data = application.foreign_experts or 0
        form.researchers_trained.data = application.young_researchers or 0
        if application.base_id:
            form.base_id.data = str(application.base_id)
    elif form.validate_on_submit():
        upload = _upload(form.final_file)
        action = next((x for x in actions(a, application) if x.trigger == "request_closeout"), None)
        try:
            # The record's own state refuses first (open milestones): then no upload is kept either.
            if action is not None and isinstance(action.refusal, TransitionRefused):
                raise action.refusal
            if upload is not None:
                app_svc.add_attachment(a, app_id, "final_report", upload.filename, upload.stream)
            fire(a, "application", app_id, "request_closeout", comment=form.comment.data,
                 version=_version(form), payload={"outcomes": form.outcomes()})
        except WorkflowError as err:
            if err.status in (403, 404):
                raise
            _refuse(_outcome_fields(err), form, {"attachments": "final_file", "file": "final_file"})
            status = err.status
            application = app_svc.get_application(a, app_id)
        else:
            flash(gettext("Close-out is requested; the fund's officer will review it."), "success")
            return redirect(url_for("applications.detail", app_id=app_id))
    else:
        status = 422
    open_milestones = [m for m in sorted(application.milestones, key=lambda m: m.seq) if m.state != "accepted"]
    finals = [att for att in application.attachments if att.kind == "final_report"]
    return render_template("awards/closeout.html", application=application, form=form,
                           open_milestones=open_milestones, finals=finals, outcomes=labels.OUTCOMES,
                           base_outcomes=BASE_OUTCOMES), status


def _outcome_fields(err: WorkflowError) -> WorkflowError:
    """The service's {outcomes: {key: [...]}} as messages at this form's fields of the same names."""
    if isinstance(err.details, dict) and isinstance(err.details.get("outcomes"), dict):
        shown = copy.copy(err)
        shown.details = {**{k: v for k, v in err.details.items() if k != "outcomes"}, **err.details["outcomes"]}
        return shown
    return err


# --- milestones ------------------------------------------------------------------------------------------


def _milestone(application, milestone_id: int):
    m = next((m for m in application.milestones if m.id == milestone_id), None)
    if m is None:
        raise NotFound(f"milestone {milestone_id} not found")
    return m


@bp.route("/applications/<int:app_id>/milestones/<int:milestone_id>")
def milestone(app_id: int, milestone_id: int):
    """One milestone with what the signed-in actor may do to it."""
    a = actor()
    application = app_svc.get_application(a, app_id)
    return _milestone_page(a, application, _milestone(application, milestone_id), None, None, 200)


def _milestone_page(a, application, m, trigger, form, status):
    panel = panel_context(a, application)["awards_panel"]
    row = next(r for r in panel.milestones if r.milestone.id == m.id)
    return render_template("awards/record.html", application=application, panel=panel, mrow=row, crow=None,
                           trigger=trigger, form=form), status


@bp.post("/applications/<int:app_id>/milestones/<int:milestone_id>/transitions/<trigger>")
def milestone_fire(app_id: int, milestone_id: int, trigger: str):
    """Report on a milestone (applicant), or accept or return it (officer)."""
    a = actor()
    application = app_svc.get_application(a, app_id)
    m = _milestone(application, milestone_id)
    form = MilestoneReportForm() if trigger == "report" else DecisionForm()
    if not form.validate_on_submit():
        return _milestone_page(a, application, m, trigger, form, 422)
    try:
        if trigger == "report":
            upload = _upload(form.report_file)
            if upload is not None:
                # Ask first, so a refused report keeps no upload either.
                action = next((x for x in actions(a, m) if x.trigger == trigger), None)
                if action is None:
                    raise NotPermitted("only the applicant institution's staff may do this")
                if action.refusal is not None:
                    raise action.refusal
                att = app_svc.add_attachment(a, app_id, "milestone_report", upload.filename, upload.stream)
            fire(a, "milestone", milestone_id, trigger, version=_version(form), application_id=app_id,
                 payload={"report": form.report.data, "attachments": [att.id] if upload is not None else []})
        else:
            fire(a, "milestone", milestone_id, trigger, comment=form.comment.data, version=_version(form),
                 application_id=app_id)
    except WorkflowError as err:
        if err.status in (403, 404):
            raise
        _refuse(err, form, {"file": "report_file"})
        application = app_svc.get_application(a, app_id)
        return _milestone_page(a, application, _milestone(application, milestone_id), trigger, form, err.status)
    done = {"report": gettext("The milestone report is sent to the fund's officer."),
            "accept": gettext("The milestone is accepted."),
            "return": gettext("The milestone is returned to the applicant with your reason.")}
    flash(done.get(trigger, gettext("Done.")), "success")
    return redirect(url_for("applications.detail", app_id=app_id, _anchor="milestones"))


# --- change requests -------------------------------------------------------------------------------------


def _countries() -> dict[str, str]:
    pairs = [(code, country_name(code)) for code in labels.COUNTRIES]
    return dict(pairs if is_zh() else sorted(pairs, key=lambda p: p[1]))


def _choices(form: ChangeRequestForm) -> None:
    form.set_choices(_countries(), {k: label(labels.PARTNER_KINDS, k) for k in labels.PARTNER_KINDS},
                     {k: label(labels.CHANGE_KINDS, k) for k in labels.CHANGE_KINDS})


@bp.route("/applications/<int:app_id>/changes/new", methods=["GET", "POST"])
def change_new(app_id: int):
    """File a change request: an extension, a budget reallocation, a partner change or a new PI."""
    a = actor()
    application, refused = _own_project(a, app_id, change_svc.OPEN_STATES, gettext(
        "Changes are requested while the project runs (in progress or suspended)."))
    if refused:
        return refused
    form = ChangeRequestForm()
    status = 200
    if request.method == "GET":
        kind = request.args.get("kind")
        form.kind.data = kind if kind in labels.CHANGE_KINDS else None
        form.central.data = change_svc.kept_central(application)
        form.local_matching.data = application.budget_local_matching
        form.self_raised.data = application.budget_self_raised
        form.principal_investigator.data = ""
        while len(form.partners.entries) < len(application.partners) + 1:
            form.partners.append_entry()
        for row, p in zip(form.partners.entries, application.partners):
            row.form.name.data, row.form.country.data, row.form.kind.data = p.name, p.country, p.kind
    elif form.more.data:
        for _ in range(MORE_ROWS):
            form.partners.append_entry()
    _choices(form)
    if request.method == "POST" and not form.more.data:
        proposal = form.proposal() if form.validate_on_submit() else None
        if proposal is None:
            status = 422
        else:
            try:
                change_svc.request_change(a, app_id, form.kind.data, form.comment.data.strip(), proposal)
            except WorkflowError as err:
                if err.status in (403, 404):
                    raise
                if isinstance(err, GuardFailed) and isinstance(err.details, dict) and "kind" in err.details:
                    message = gettext("A %(kind)s request is already waiting for a decision. Wait for the "
                                      "officer's decision before filing another.",
                                      kind=label(labels.CHANGE_KINDS, form.kind.data))
                    form.kind.errors = [message]
                    flash(message, "danger")
                else:
                    _refuse(_budget_fields(err), form, {})
                status = err.status
            else:
                flash(gettext("The change request is filed; the fund's officer will decide on it."), "success")
                return redirect(url_for("applications.detail", app_id=app_id, _anchor="changes"))
    return render_template("awards/change_new.html", application=application, form=form), status


@bp.get("/applications/<int:app_id>/changes/<int:change_id>")
def change(app_id: int, change_id: int):
    """One change request as before → after, with what the signed-in actor may do to it."""
    a = actor()
    application = app_svc.get_application(a, app_id)
    if not any(c.id == change_id for c in application.changes):
        raise NotFound(f"change request {change_id} not found")
    panel = panel_context(a, application)["awards_panel"]
    row = next(r for r in panel.changes if r.change.id == change_id)
    return render_template("awards/record.html", application=application, panel=panel, mrow=None, crow=row,
                           trigger=None, form=None)


def _budget_fields(err: WorkflowError) -> WorkflowError:
    """A refused reallocation's {budget: {line: [...]}} as messages at the form's fields of those lines."""
    if isinstance(err.details, dict) and isinstance(err.details.get("budget"), dict):
        shown = copy.copy(err)
        shown.details = {k: [describe(err)] for k in err.details["budget"]}
        return shown
    return err


@bp.post("/applications/<int:app_id>/changes/<int:change_id>/transitions/<trigger>")
def change_fire(app_id: int, change_id: int, trigger: str):
    """An officer approves or refuses a change request."""
    a = actor()
    application = app_svc.get_application(a, app_id)
    change = next((c for c in application.changes if c.id == change_id), None)
    if change is None:
        raise NotFound(f"change request {change_id} not found")
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            fire(a, "change_request", change_id, trigger, comment=form.comment.data, version=_version(form),
                 application_id=app_id)
        except WorkflowError as err:
            if err.status in (403, 404):
                raise
            _refuse(err, form, {})
            status = err.status
        else:
            flash(gettext("The change request is approved and applied to the project.") if trigger == "approve"
                  else gettext("The change request is refused."), "success")
            return redirect(url_for("applications.detail", app_id=app_id, _anchor="changes"))
    else:
        status = 422
    application = app_svc.get_application(a, app_id)
    panel = panel_context(a, application)["awards_panel"]
    row = next(r for r in panel.changes if r.change.id == change_id)
    return render_template("awards/record.html", application=application, panel=panel, mrow=None, crow=row,
                           trigger=trigger, form=form), status


__all__ = ["bp", "panel_context", "change_diff", "SERVICE_MESSAGES"]
