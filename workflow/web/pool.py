"""Pages: the reviewer pool (officers and admins) — the list, an expert, the editor, the CSV import —
and assignment: one application's suggestions and refusals, replacements, and bulk assignment."""
from __future__ import annotations

from babel import Locale
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import labels
from ..countries import COUNTRY_CODES
from ..errors import N_, NotPermitted, WorkflowError
from ..forms.pool import AssignChosenForm, BulkSuggestedForm, ExpertForm, ImportForm, PoolFilterForm, ReplaceForm
from ..models import FIELDS, LANGUAGES
from ..services import applications as app_svc
from ..services import bulk, pool, registry
from ..services import reviews as review_svc
from ..services.pool import CSV_COLUMNS, ImportRefused
from .common import actor, refuse
from .i18n import country_name, is_zh, label, language, offered, registry_name
from .messages import describe, translated

bp = Blueprint("pool", __name__)
PER_PAGE = 50
SUGGESTED = 5  # suggestions shown on an application's assignment page

# What officers meet on these pages, as the services word it (the conflict rules are in services.conflicts).
SERVICE_MESSAGES = (
    N_("only program officers and administrators manage the reviewer pool"),
    N_("the expert cannot be added"),
    N_("the expert cannot be changed"),
    N_("no such institution in the registry"),
    N_("not an e-mail address"),
    N_("appears twice in the file"),
    N_("at least one field of expertise"),
    N_("not an ISO 3166 country code"),
    N_("yes or no"),
    N_("at most 200 characters"),
    N_("the CSV header is not right"),
    N_("the CSV file is not UTF-8 text"),
    N_("save it as UTF-8 CSV"),
    N_("the CSV file has no experts in it"),
    N_("the expert is not active in the reviewer pool"),
    N_("not active in the reviewer pool"),
    N_("only a declined or overdue assignment can be replaced"),
    N_("this assignment has already been replaced"),
    N_("no conflict-free expert is left in the pool for this application"),
)


@bp.before_request
def _staff_only() -> None:
    if not actor().acts_as_officer:
        raise NotPermitted("only program officers and administrators manage the reviewer pool")


def language_name(code: str) -> str:
    """A working language's name in the reader's language."""
    return Locale.parse("zh_Hans" if is_zh() else language()).languages.get(code, code)


def language_names(codes) -> str:
    return ("、" if is_zh() else ", ").join(language_name(c) for c in codes or ()) or "—"


def _helpers() -> dict:
    return {"language_name": language_name, "language_names": language_names, "country_name": country_name,
            "field_label": lambda code: label(labels.FIELDS, code)}


def _countries() -> list[tuple[str, str]]:
    return sorted(((c, country_name(c)) for c in COUNTRY_CODES), key=lambda pair: (pair[0] != "CN", pair[1]))


def _institutions() -> dict[int, object]:
    return {i.id: i for i in registry.institutions(include_retired=True)}


# --- the list ---------------------------------------------------------------------------------


@bp.get("/pool")
def index():
    who = actor()
    form = PoolFilterForm(formdata=request.args)
    everything = ("", gettext("All"))
    form.field.choices = [everything] + [(k, label(labels.FIELDS, k)) for k in FIELDS]
    form.country.choices = [everything] + _countries()
    form.language.choices = [everything] + [(k, language_name(k)) for k in LANGUAGES]
    form.active.choices = [everything, ("yes", gettext("Active")), ("no", gettext("Inactive"))]
    form.validate()
    filters = {name: getattr(form, name).data for name in ("field", "country", "language", "q")
               if getattr(form, name).data and not getattr(form, name).errors}
    if form.active.data in ("yes", "no"):
        filters["active"] = form.active.data == "yes"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    experts, total = pool.list_experts(who, **filters, page=page, per_page=PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("pool/index.html", form=form, experts=experts, total=total, page=page,
                           per_page=PER_PAGE, args=args, **_helpers())


# --- one expert -------------------------------------------------------------------------------


@bp.get("/pool/<int:user_id>")
def expert(user_id: int):
    found, reviews = pool.get_expert(actor(), user_id)
    return render_template("pool/expert.html", expert=found, reviews=reviews, **_helpers())


def _expert_form(keep: int | None = None, **kwargs) -> ExpertForm:
    """The expert's form; its institutions are those in use, and the retired one the expert has (`keep`)."""
    form = ExpertForm(**kwargs)
    form.institution_id.choices = [(i.id, registry_name(i))
                                   for i in offered(registry.institutions(include_retired=True), keep)]
    form.fields.choices = [(k, label(labels.FIELDS, k)) for k in FIELDS]
    form.country.choices = _countries()
    form.languages.choices = [(k, language_name(k)) for k in LANGUAGES]
    return form


@bp.route("/pool/new", methods=["GET", "POST"])
def new():
    who = actor()
    form = _expert_form(data={"country": "CN", "languages": ["zh"], "active": True})
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user = pool.create_expert(who, form.data_for_service(with_email=True))
            except WorkflowError as err:
                refuse(err, form)
                status = err.status
            else:
                flash(gettext("%(name)s has been added to the reviewer pool.", name=user.name), "success")
                return redirect(url_for("pool.expert", user_id=user.id))
        else:
            status = 422
    return render_template("pool/edit.html", form=form, expert=None), status


@bp.route("/pool/<int:user_id>/edit", methods=["GET", "POST"])
def edit(user_id: int):
    who = actor()
    found, _reviews = pool.get_expert(who, user_id)
    user = found.user
    form = _expert_form(user.institution_id, data={
        "email": user.email, "name": user.name, "institution_id": user.institution_id,
        "title": found.profile.title if found.profile else "", "fields": found.fields, "country": found.country,
        "languages": found.languages, "active": found.in_pool})
    del form.email  # the account's e-mail is changed by an administrator, not here
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                pool.update_expert(who, user_id, form.data_for_service(with_email=False))
            except WorkflowError as err:
                refuse(err, form)
                status = err.status
            else:
                flash(gettext("The profile of %(name)s has been saved.", name=form.name.data), "success")
                return redirect(url_for("pool.expert", user_id=user_id))
        else:
            status = 422
    return render_template("pool/edit.html", form=form, expert=found), status


# --- the CSV import ---------------------------------------------------------------------------


@bp.route("/pool/import", methods=["GET", "POST"])
def import_csv():
    who = actor()
    form = ImportForm()
    bad_rows, status = [], 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                users = pool.import_experts(who, form.file.data.stream)
            except ImportRefused as err:
                bad_rows = [{**b, "message": translated(b["message"]) or _codes_message(b["message"])}
                            for b in err.details["rows"]]
                flash(describe(err), "danger")
                status = err.status
            except WorkflowError as err:
                refuse(err, form)
                status = err.status
            else:
                flash(gettext("%(num)d experts imported into the reviewer pool.", num=len(users)), "success")
                return redirect(url_for("pool.index"))
        else:
            status = 422
    return render_template("pool/import.html", form=form, bad_rows=bad_rows, columns=CSV_COLUMNS,
                           field_codes=FIELDS, language_codes=LANGUAGES, **_helpers()), status


def _codes_message(message: str) -> str:
    """"unknown field codes: x, y" and its kin, in the reader's language."""
    for english in ("unknown field codes", "unknown language codes"):
        if message.startswith(english + ":"):
            return gettext(english) + ("：" if is_zh() else ": ") + message[len(english) + 1:].strip()
    return message


N_("unknown field codes")
N_("unknown language codes")


# --- one application's assignment -------------------------------------------------------------


@bp.get("/applications/<int:app_id>/assign")
def assign(app_id: int):
    return _assign_page(app_id)


def _assign_page(app_id: int, form: AssignChosenForm | None = None, status: int = 200,
                 refusals: list | None = None):
    who = actor()
    application = app_svc.get_application(who, app_id)
    candidates = review_svc.reviewer_pool(who, application) if application.state == "expert_review" else []
    suggested = pool.suggest(who, app_id, SUGGESTED) if application.state == "expert_review" else []
    reasons = {c.reviewer.id: describe(c.conflict.refusal()) for c in candidates if c.conflict}
    form = form or AssignChosenForm(formdata=None, data={"reviewer_ids": [s.reviewer_id for s in suggested[:3]]})
    replaced = pool.replacements(app_id)
    replace_forms = {}
    for r in application.reviews:
        if r.id not in replaced and pool.replaceable(r):
            f = ReplaceForm(formdata=None, data={"review_id": r.id}, prefix=f"replace-{r.id}")
            f.reviewer_id.choices = [("", gettext("The top suggestion"))] + [
                (str(c.reviewer.id), c.reviewer.name or c.reviewer.email) for c in candidates if c.available]
            replace_forms[r.id] = f
    return render_template("pool/assign.html", application=application, candidates=candidates,
                           suggested=suggested, reasons=reasons, form=form, replaced=replaced,
                           replace_forms=replace_forms, refusals=refusals or [],
                           institutions=_institutions(), **_helpers()), status


@bp.post("/applications/<int:app_id>/assign")
def assign_chosen(app_id: int):
    """Assign the chosen experts, each through the service; a refused one is named with the rule."""
    who = actor()
    application = app_svc.get_application(who, app_id)
    form = AssignChosenForm()
    if not form.validate_on_submit():
        return _assign_page(app_id, form, 422)
    names = {c.reviewer.id: c.reviewer.name or c.reviewer.email for c in review_svc.reviewer_pool(who, application)}
    assigned, refusals = [], []
    for reviewer_id in dict.fromkeys(form.reviewer_ids.data):
        try:
            app_svc.assign_reviewer(who, app_id, reviewer_id, form.due_date.data)
        except WorkflowError as err:
            refusals.append((names.get(reviewer_id, f"#{reviewer_id}"), err))
        else:
            assigned.append(names.get(reviewer_id, f"#{reviewer_id}"))
    if assigned:
        flash(gettext("Assigned: %(names)s.", names=("、" if is_zh() else ", ").join(assigned)), "success")
    if refusals:
        form.reviewer_ids.errors = [f"{name}: {describe(err)}" for name, err in refusals]
        if not assigned:
            return _assign_page(app_id, form, refusals[0][1].status, refusals)
        for name, err in refusals:
            flash(gettext("Not assigned: %(name)s — %(reason)s", name=name, reason=describe(err)), "warning")
    return redirect(url_for("pool.assign", app_id=app_id))


@bp.post("/applications/<int:app_id>/reviews/<int:review_id>/replace")
def replace(app_id: int, review_id: int):
    who = actor()
    form = ReplaceForm(prefix=f"replace-{review_id}")
    form.reviewer_id.choices = []  # any expert: the service decides, and says why not
    form.validate_on_submit()
    chosen = form.reviewer_id.data
    try:
        app_svc.get_application(who, app_id)
        review = pool.replace_reviewer(who, review_id, int(chosen) if chosen and str(chosen).isdigit() else None)
    except WorkflowError as err:
        flash(gettext("Not replaced: %(reason)s", reason=describe(err)), "danger")
        return _assign_page(app_id, status=err.status)
    flash(gettext("The assignment has been replaced; the new reviewer is due by %(date)s.",
                  date=review.due_date.isoformat()), "success")
    return redirect(url_for("pool.assign", app_id=app_id))


# --- bulk assignment of suggested reviewers ---------------------------------------------------


@bp.route("/pool/bulk", methods=["GET", "POST"])
def bulk_assign():
    who = actor()
    calls = registry.calls()
    call_id = request.args.get("call_id", type=int)
    items, _total = app_svc.list_applications(who, state="expert_review", call_id=call_id, per_page=500)
    form = BulkSuggestedForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                outcome = bulk.assign_suggested(who, form.app_ids.data, form.per_application.data,
                                                form.due_date.data)
            except WorkflowError as err:
                refuse(err, form)
                status = err.status
            else:
                if not isinstance(outcome, dict):
                    return redirect(url_for("dashboard.job", job_id=outcome.id))
                flash(gettext("Reviewer assignments made: %(num)d.", num=outcome[bulk.ASSIGNED]), "success")
                return redirect(url_for("pool.bulk_assign", call_id=call_id) if call_id else url_for("pool.bulk_assign"))
        else:
            status = 422
    return render_template("pool/bulk.html", form=form, items=items, calls=calls, call_id=call_id,
                           background_after=bulk.BACKGROUND_AFTER), status
