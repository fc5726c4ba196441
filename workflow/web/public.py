"""Public pages, open to anyone with no sign-in: the open calls and their guides, the completed projects and
their outcomes, and the check of a document the fund issued (/verify).

This blueprint is registered outside web.BLUEPRINTS on purpose: `_signed_in_first` sends visitors of those
page blueprints to sign in, and these pages are for people who have no account.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from .. import labels
from ..errors import WorkflowError
from ..services import publicity
from ..forms.public import ProjectFilterForm, VerifyForm
from . import errors as error_pages
from .common import refuse
from .messages import field_messages
from .i18n import country_name, label
from .messages import N_

bp = Blueprint("public", __name__)

SERVICE_MESSAGES = (N_("choose one of the listed fields"), N_("choose one of the listed countries"))


@bp.context_processor
def _helpers():
    return {"country_name": country_name}


@bp.get("/public/calls")
def calls():
    return render_template("public/calls.html", calls=publicity.open_calls())


@bp.get("/public/calls/<int:call_id>")
def call(call_id: int):
    return render_template("public/call.html", call=publicity.open_call(call_id))


def _filter_form() -> ProjectFilterForm:
    form = ProjectFilterForm(request.args)
    form.field.choices = [("", _("All fields"))] + [(code, label(labels.FIELDS, code)) for code in labels.FIELDS]
    form.country.choices = [("", _("All countries"))] + sorted(
        ((code, f"{country_name(code)} ({code})") for code in publicity.published_countries()),
        key=lambda pair: pair[1])
    return form


@bp.get("/public/projects")
def projects():
    form = _filter_form()
    field, country = form.field.data or None, form.country.data or None
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    status = 200
    try:
        items, total = publicity.completed_projects(field, country, page)
    except WorkflowError as err:
        _at_fields(err, form)
        items, total = publicity.completed_projects(page=page)
        status = 422
    pages = max(1, -(-total // publicity.PER_PAGE))
    return render_template("public/projects.html", form=form, projects=items, total=total, page=page,
                           pages=pages, field=field, country=country), status


@bp.get("/public/projects/<int:app_id>")
def project(app_id: int):
    return render_template("public/project.html", project=publicity.completed_project(app_id))


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    form = VerifyForm()
    result, status = None, 200
    if form.validate_on_submit():
        upload = form.file.data
        content = upload.read() if upload and getattr(upload, "filename", "") else None
        try:
            result = publicity.verify(form.number.data, content)
        except WorkflowError as err:
            _at_fields(err, form)
            status = err.status
    elif form.is_submitted():
        status = 422
    return render_template("public/verify.html", form=form, result=result), status


def _at_fields(err: WorkflowError, form) -> None:
    """A refusal told at the fields it names; the form's own page says the rest (no second banner)."""
    placed = False
    for name, messages in field_messages(err.details).items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*(field.errors if isinstance(field.errors, list) else []), *messages]
            placed = True
    if not placed:
        refuse(err, form)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(err):
    """A file over the request limit: the verify form again, saying so at the file field."""
    if request.endpoint != "public.verify":
        return error_pages.page(413)
    form = VerifyForm(formdata=None)
    form.file.errors = [_("The file is too large: documents of the fund are well under 10 MB.")]
    return render_template("public/verify.html", form=form, result=None), 413
