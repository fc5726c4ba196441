"""Pages: administration (admins): users, institutions, recommending bodies, calls and bases.

Each change calls the service the API's admin endpoints call. Nothing is deleted: a call,
an institution, a body or a base is retired (and may be put back in use); a retired row is
no longer offered, and what already names it keeps it.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import labels
from ..errors import NotPermitted, WorkflowError
from ..forms.admin import (
    BaseEditForm,
    BaseForm,
    BodyEditForm,
    BodyForm,
    CallEditForm,
    CallForm,
    InstitutionEditForm,
    InstitutionForm,
    RetirementForm,
    UserCreateForm,
    UserEditForm,
)
from ..services import accounts, registry
from ..services.audit_log import BEIJING
from .common import actor, refuse
from .i18n import label, offered, pick, registry_name
from .messages import N_

bp = Blueprint("admin", __name__)
ROLES = ("applicant", "recommender", "reviewer", "officer", "admin")

SERVICE_MESSAGES = (
    N_("e-mail already registered"),
    N_("already registered"),
    N_("already exists"),
    N_("name already exists"),
    N_("code already exists"),
    N_("an applicant belongs to an institution"),
    N_("a recommender belongs to a recommending body"),
    N_("no such institution"),
    N_("no such recommending body"),
    N_("not found"),
    N_("the call must close after it opens"),
    N_("must be after opens_at"),
    N_("only administrators may do this"),
    N_("applications name this body under its channel"),
)


@bp.before_request
def _admins_only() -> None:
    if actor().role != "admin":
        raise NotPermitted("only administrators may do this")


def _choices(table: dict) -> list[tuple[str, str]]:
    return [(code, label(table, code)) for code in table]


def _institutions(keep: int | None = None) -> list[tuple[str, str]]:
    """The institutions to choose from: those in use, and the retired one the record has (`keep`)."""
    return [(str(i.id), registry_name(i)) for i in offered(registry.institutions(include_retired=True), keep)]


def _bodies(keep: int | None = None) -> list[tuple[str, str]]:
    return [(str(b.id), f"{registry_name(b)}（{label(labels.CHANNELS, b.channel)}）")
            for b in offered(registry.bodies(include_retired=True), keep)]


def to_utc(wall: dt.datetime) -> dt.datetime:
    """A Beijing wall-clock time, as typed in a datetime-local field, in UTC."""
    return wall.replace(tzinfo=BEIJING).astimezone(dt.timezone.utc)


def to_beijing(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(BEIJING).replace(tzinfo=None)


# --- users -------------------------------------------------------------------------------


def _user_choices(form, user=None) -> None:
    form.set_choices([(r, label(labels.ROLES, r)) for r in ROLES],
                     _institutions(user.institution_id if user else None), _bodies(user.body_id if user else None))


@bp.route("/admin/users", methods=["GET", "POST"])
def users():
    form = UserCreateForm()
    _user_choices(form)
    status = 200
    if form.validate_on_submit():
        data = form.data_for_service()
        try:
            user = accounts.create_user(data.pop("email"), data.pop("password"), data.pop("role"), actor=actor(),
                                        **data)
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
        else:
            flash(gettext("User %(email)s added.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    elif form.is_submitted():
        status = 422
    return render_template("admin/users.html", form=form, users=registry.users(),
                           institutions={i.id: i for i in registry.institutions(include_retired=True)},
                           bodies={b.id: b for b in registry.bodies(include_retired=True)}), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    row = registry.get_user(user_id)
    form = UserEditForm(data=None if _posted() else {
        "name": row.name, "role": row.role, "active": row.active,
        "institution_id": str(row.institution_id) if row.institution_id else "",
        "body_id": str(row.body_id) if row.body_id else ""})
    _user_choices(form, row)
    status = 200
    if form.validate_on_submit():
        try:
            changed = accounts.update_user(user_id, form.changes(), actor=actor())
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
        else:
            if not changed.active and row.active:
                flash(gettext("%(email)s is deactivated: their sessions and API tokens no longer work.",
                              email=changed.email), "success")
            else:
                flash(gettext("User %(email)s saved.", email=changed.email), "success")
            return redirect(url_for("admin.user", user_id=user_id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/user.html", form=form, user=row), status


def _posted() -> bool:
    return request.method == "POST"


# --- institutions, bodies, bases -----------------------------------------------------------
#
# Each has a list page (the rows in use, then the retired ones apart) with a form to add one, and an
# edit page per row with its retire (or reinstate) button, which asks before it acts.


def _create_page(form, create, template: str, endpoint: str, rows: list, done: str, **context):
    status = 200
    if form.validate_on_submit():
        try:
            row = create(actor(), form.data_for_service())
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
        else:
            flash(done % {"name": pick(row.name, row.name_en)}, "success")
            return redirect(url_for(endpoint))
    elif form.is_submitted():
        status = 422
    return render_template(template, form=form, rows=[r for r in rows if not r.retired],
                           retired=[r for r in rows if r.retired], **context), status


def _edit_page(form, row, update, template: str, endpoint: str, done: str, **context):
    """Save what the form changes (nothing changed: no call, no event); refusals at their fields."""
    status = 200
    if form.validate_on_submit():
        changes = {key: value for key, value in form.data_for_service().items() if getattr(row, key) != value}
        if not changes:
            flash(gettext("Nothing was changed."), "info")
            return redirect(url_for(endpoint, row_id=row.id))
        try:
            saved = update(actor(), row.id, changes)
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
        else:
            flash(done % {"name": pick(saved.name, saved.name_en)}, "success")
            return redirect(url_for(endpoint, row_id=row.id))
    elif form.is_submitted():
        status = 422
    return render_template(template, form=form, row=row, retirement=RetirementForm(formdata=None),
                           **context), status


def _retirement(row, update, endpoint: str):
    """Retire the row, or put it back in use, as the button said; then back to its page."""
    form = RetirementForm()
    if not form.validate_on_submit():
        flash(gettext("The request could not be understood. Reload the page and try again."), "danger")
        return redirect(url_for(endpoint, row_id=row.id))
    retire = form.retire()
    if row.retired == retire:
        flash(gettext("Nothing was changed."), "info")
        return redirect(url_for(endpoint, row_id=row.id))
    try:
        update(actor(), row.id, {"retired": retire})
    except WorkflowError as err:
        refuse(err)
    else:
        name = pick(row.name, row.name_en)
        if retire:
            flash(gettext("%(name)s is retired: it is no longer offered, and what already names it keeps it.",
                          name=name), "success")
        else:
            flash(gettext("%(name)s is in use again.", name=name), "success")
    return redirect(url_for(endpoint, row_id=row.id))


def _institution_form(form):
    form.kind.choices = _choices(labels.INSTITUTION_KINDS)
    return form


@bp.route("/admin/institutions", methods=["GET", "POST"])
def institutions():
    return _create_page(_institution_form(InstitutionForm()), registry.create_institution,
                        "admin/institutions.html", "admin.institutions", registry.institutions(include_retired=True),
                        gettext("Institution %(name)s added."))


@bp.route("/admin/institutions/<int:row_id>", methods=["GET", "POST"])
def institution(row_id: int):
    row = registry.get_institution(row_id)
    form = _institution_form(InstitutionEditForm(data=None if _posted() else {
        "name": row.name, "name_en": row.name_en, "kind": row.kind, "province": row.province}))
    return _edit_page(form, row, registry.update_institution, "admin/institution.html", "admin.institution",
                      gettext("Institution %(name)s saved."), usage=registry.usage("institution", row_id))


@bp.post("/admin/institutions/<int:row_id>/retirement")
def institution_retirement(row_id: int):
    return _retirement(registry.get_institution(row_id), registry.update_institution, "admin.institution")


def _body_form(form):
    form.channel.choices = _choices(labels.CHANNELS)
    form.kind.choices = _choices(labels.BODY_KINDS)
    return form


@bp.route("/admin/bodies", methods=["GET", "POST"])
def bodies():
    order = list(labels.CHANNELS)  # the channels in the plan's order, as the application form lists them
    rows = sorted(registry.bodies(include_retired=True), key=lambda b: (order.index(b.channel), b.id))
    return _create_page(_body_form(BodyForm()), registry.create_body, "admin/bodies.html", "admin.bodies", rows,
                        gettext("Recommending body %(name)s added."))


@bp.route("/admin/bodies/<int:row_id>", methods=["GET", "POST"])
def body(row_id: int):
    row = registry.get_body(row_id)
    form = _body_form(BodyEditForm(data=None if _posted() else {
        "name": row.name, "name_en": row.name_en, "channel": row.channel, "kind": row.kind}))
    usage = registry.usage("body", row_id)
    if usage["applications"]:  # said beside the field before anyone tries (services.registry refuses it)
        form.channel.description = gettext("Applications name this body under its channel, so the channel "
                                           "cannot change now.")
    return _edit_page(form, row, registry.update_body, "admin/body.html", "admin.body",
                      gettext("Recommending body %(name)s saved."), usage=usage)


@bp.post("/admin/bodies/<int:row_id>/retirement")
def body_retirement(row_id: int):
    return _retirement(registry.get_body(row_id), registry.update_body, "admin.body")


def _base_form(form, keep: int | None = None):
    form.kind.choices = _choices(labels.BASE_KINDS)
    form.institution_id.choices = [("", "—"), *_institutions(keep)]
    return form


def _hosts() -> dict:
    return {i.id: i for i in registry.institutions(include_retired=True)}


@bp.route("/admin/bases", methods=["GET", "POST"])
def bases():
    return _create_page(_base_form(BaseForm()), registry.create_base, "admin/bases.html", "admin.bases",
                        registry.bases(include_retired=True), gettext("Base %(name)s added."), institutions=_hosts())


@bp.route("/admin/bases/<int:row_id>", methods=["GET", "POST"])
def base(row_id: int):
    row = registry.get_base(row_id)
    form = _base_form(BaseEditForm(data=None if _posted() else {
        "name": row.name, "name_en": row.name_en, "kind": row.kind,
        "institution_id": str(row.institution_id) if row.institution_id else ""}), keep=row.institution_id)
    return _edit_page(form, row, registry.update_base, "admin/base.html", "admin.base", gettext("Base %(name)s saved."),
                      usage=registry.usage("base", row_id), institutions=_hosts())


@bp.post("/admin/bases/<int:row_id>/retirement")
def base_retirement(row_id: int):
    return _retirement(registry.get_base(row_id), registry.update_base, "admin.base")


# --- calls ---------------------------------------------------------------------------------


def _call_choices(form) -> None:
    form.fields_.choices = _choices(labels.FIELDS)


@bp.route("/admin/calls", methods=["GET", "POST"])
def calls():
    form = CallForm()
    _call_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            call = registry.create_call(actor(), form.data_for_service(to_utc))
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
        else:
            flash(gettext("Call %(code)s added.", code=call.code), "success")
            return redirect(url_for("admin.call", call_id=call.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/calls.html", form=form, calls=registry.calls()), status


@bp.route("/admin/calls/<int:call_id>", methods=["GET", "POST"])
def call(call_id: int):
    row = registry.get_call(call_id)
    form = CallEditForm(data=None if _posted() else {
        "code": row.code, "title": row.title, "title_en": row.title_en, "opens_at": to_beijing(row.opens_at),
        "closes_at": to_beijing(row.closes_at), "fields_": list(row.fields or []), "total_budget": row.total_budget,
        "quorum": row.quorum, "min_matching_ratio": round(row.min_matching_ratio * 100, 1),
        "max_central_per_project": row.max_central_per_project, "grace_days": row.grace_days,
        "guide": row.guide, "guide_en": row.guide_en, "retired": row.retired})
    _call_choices(form)
    status = 200
    if form.validate_on_submit():
        wanted = {**form.data_for_service(to_utc), "retired": bool(form.retired.data)}
        changes = {key: value for key, value in wanted.items() if _differs(getattr(row, key), value)}
        if not changes:
            flash(gettext("Nothing was changed."), "info")
            return redirect(url_for("admin.call", call_id=call_id))
        try:
            registry.update_call(actor(), call_id, changes)
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
        else:
            flash(gettext("Call %(code)s saved.", code=wanted["code"]), "success")
            return redirect(url_for("admin.call", call_id=call_id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/call.html", form=form, call=row), status


def _differs(old, new) -> bool:
    """Whether the form changes a value; times to the minute, as the form shows them."""
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return old.replace(second=0, microsecond=0) != new.replace(second=0, microsecond=0)
    if isinstance(old, float) or isinstance(new, float):
        return old is None or new is None or abs(float(old) - float(new)) > 1e-9
    if isinstance(old, list) and isinstance(new, list):
        return sorted(old) != sorted(new)
    return old != new
