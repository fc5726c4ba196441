"""Page: the officer's sensitive-technology flag, a panel on the application page during formal review."""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_babel import gettext

from ..errors import NotFound, WorkflowError
from ..forms.screening import SensitiveFlagForm
from ..services import applications as app_svc, screening
from .common import actor, refuse
from .messages import N_

SERVICE_MESSAGES = (
    N_("only program officers flag sensitive technology"),
    N_("Sensitive technology is flagged during formal review only."),
)


def panel_context(me, application, form: SensitiveFlagForm | None = None) -> dict | None:
    """The panel's form, for officers while the application is in formal review; None otherwise."""
    if not me.acts_as_officer or application.state != screening.SCREENING_STATE:
        return None
    form = form or g.get("screening_form")  # the posted form, when the page shows its refusal
    if form is None:
        form = SensitiveFlagForm(formdata=None, data={"flagged": application.sensitive_flagged,
                                                      "version": str(application.version)})
    return {"screening_form": form}


def flag_sensitive(app_id: int, detail_page):
    """POST /applications/<id>/sensitive (a route of applications.bp): set or clear the flag, with the reason;
    a refusal is shown at the field on the application page, which `detail_page(app_id, status=)` draws."""
    me = actor()
    app_svc.get_application(me, app_id)  # 404 before anything is said about the form
    form = SensitiveFlagForm()
    g.screening_form = form
    if not form.validate():
        flash(gettext("Please correct the marked field."), "danger")
        return detail_page(app_id, status=422)
    try:
        screening.flag_sensitive(me, app_id, bool(form.flagged.data), form.comment.data, form.version_seen())
    except NotFound:
        raise
    except WorkflowError as err:
        refuse(err, form)
        return detail_page(app_id, status=err.status)
    flash(gettext("The sensitive-technology flag is saved."), "success")
    return redirect(url_for("applications.detail", app_id=app_id))
