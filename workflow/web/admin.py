"""Pages: administration (admins): users, institutions, recommending bodies, calls and bases.

Each change calls the service the API's admin endpoints call. Nothing is deleted: a call is
retired (the only reference row a service can retire today).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import labels
from ..errors import NotPermitted, WorkflowError
from ..forms.admin import (
    BaseForm,
    BodyForm,
    CallEditForm,
    CallForm,
    InstitutionForm,
    UserCreateForm,
    UserEditForm,
)
from ..services import accounts, registry
from ..services.audit_log import BEIJING
from .common import actor, refuse
from .i18n import label, pick
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
)


@bp.before_request
def _admins_only() -> None:
    if actor().role != "admin":
        raise NotPermitted("only administrators may do this")


def _choices(table: dict) -> list[tuple[str, str]]:
    return [(code, label(table, code)) for code in table]


def _institutions() -> list[tuple[str, str]]:
    return [(str(i.id), pick(i.name, i.name_en)) for i in registry.institutions() if not i.retired]


def _bodies() -> list[tuple[str, str]]:
    return [(str(b.id), f"{pick(b.name, b.name_en)}（{label(labels.CHANNELS, b.channel)}）")
            for b in registry.bodies()]


def to_utc(wall: dt.datetime) -> dt.datetime:
    """A Beijing wall-clock time, as typed in a datetime-local field, in UTC."""
    return wall.replace(tzinfo=BEIJING).astimezone(dt.timezone.utc)


def to_beijing(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(BEIJING).replace(tzinfo=None)


# --- users -------------------------------------------------------------------------------


def _user_choices(form) -> None:
    form.set_choices([(r, label(labels.ROLES, r)) for r in ROLES], _institutions(), _bodies())


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
                           institutions={i.id: i for i in registry.institutions()},
                           bodies={b.id: b for b in registry.bodies()}), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    row = registry.get_user(user_id)
    form = UserEditForm(data=None if _posted() else {
        "name": row.name, "role": row.role, "active": row.active,
        "institution_id": str(row.institution_id) if row.institution_id else "",
        "body_id": str(row.body_id) if row.body_id else ""})
    _user_choices(form)
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


def _create_page(form, create, template: str, endpoint: str, rows: dict, done: str):
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
    return render_template(template, form=form, **rows), status


@bp.route("/admin/institutions", methods=["GET", "POST"])
def institutions():
    form = InstitutionForm()
    form.kind.choices = _choices(labels.INSTITUTION_KINDS)
    return _create_page(form, registry.create_institution, "admin/institutions.html", "admin.institutions",
                        {"institutions": registry.institutions()}, gettext("Institution %(name)s added."))


@bp.route("/admin/bodies", methods=["GET", "POST"])
def bodies():
    form = BodyForm()
    form.channel.choices = _choices(labels.CHANNELS)
    form.kind.choices = _choices(labels.BODY_KINDS)
    return _create_page(form, registry.create_body, "admin/bodies.html", "admin.bodies",
                        {"bodies": registry.bodies()}, gettext("Recommending body %(name)s added."))


@bp.route("/admin/bases", methods=["GET", "POST"])
def bases():
    form = BaseForm()
    form.kind.choices = _choices(labels.BASE_KINDS)
    form.institution_id.choices = [("", "—"), *_institutions()]
    return _create_page(form, registry.create_base, "admin/bases.html", "admin.bases",
                        {"bases": registry.bases(), "institutions": {i.id: i for i in registry.institutions()}},
                        gettext("Base %(name)s added."))


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
