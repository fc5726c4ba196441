"""Pages: expert review — a reviewer's assignments and scoring form, the officer's assignment and the ranking.

The application page shows the reviews panel: it renders reviews/_panel.html with the
application and `**panel_context(actor, application)`, which returns {"review_panel": {...}}.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from babel import Locale
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import labels
from ..errors import NotFound, NotPermitted, WorkflowError
from ..forms.reviews import AssignForm, DeclineForm, ReviewForm
from ..services import applications as app_svc
from ..services import registry, statistics
from ..services import reviews as svc
from ..services.transitions import actions, fire
from .common import actor, refuse
from .i18n import is_zh, label, language, pick
from .messages import N_, describe

if TYPE_CHECKING:
    from ..permissions import Actor

bp = Blueprint("reviews", __name__)

# The English refusals a reviewer or officer meets on these pages, for the catalogue.
SERVICE_MESSAGES = (
    N_("only reviewers have review assignments"),
    N_("only the assigned reviewer may open a review"),
    N_("only the assigned reviewer may do this"),
    N_("only program officers assign reviewers"),
    N_("the review is not complete"),
    N_("a number from 0 to 100"),
    N_("the written opinion is required"),
    N_("one of fund, fund_with_changes, do_not_fund"),
    N_("the reviewer belongs to the applicant institution"),
    N_("the reviewer belongs to a consortium partner"),
    N_("this reviewer is already assigned"),
    N_("already assigned"),
    N_("no such reviewer"),
    N_("not an active reviewer"),
    N_("the review was changed by someone else; reload and try again"),
    N_("only program officers see the ranking of a call"),
)
FORMS = {"submit_review": ReviewForm, "decline": DeclineForm}
RANKING_ROLES = ("officer", "admin")


def _today() -> dt.date:
    """Today in Beijing, where the due dates are."""
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


def _recommendations():
    return [(code, label(labels.RECOMMENDATIONS, code)) for code in labels.RECOMMENDATIONS]


def country_name(code: str) -> str:
    """A partner country's name in the reader's language."""
    if is_zh():
        return labels.country(code)
    return Locale.parse(language()).territories.get(code, code)


# --- the reviewer's pages ----------------------------------------------------------


@bp.get("/reviews")
def assignments():
    """The signed-in reviewer's assignments, open ones first."""
    rows = svc.assignments_of(actor())
    return render_template("reviews/assignments.html", reviews=rows, today=_today())


@bp.get("/reviews/<int:review_id>")
def review(review_id: int):
    return _review_page(review_id)


@bp.post("/reviews/<int:review_id>/transitions/<trigger>", endpoint="fire")
def fire_review(review_id: int, trigger: str):
    """Submit or decline a review through the engine, as the API does."""
    who = actor()
    row = svc.review_of(who, review_id)
    if trigger not in FORMS:
        raise NotFound(f"review has no trigger {trigger!r}")
    form = _form(trigger)
    if not form.validate_on_submit():
        return _review_page(review_id, {trigger: form}, 422)
    version = int(form.version.data) if (form.version.data or "").isdigit() else None
    comment, payload = None, None
    if trigger == "submit_review":
        payload = {"score": form.score.data, "opinion": form.opinion.data, "recommendation": form.recommendation.data}
    else:
        comment = form.comment.data
    try:
        fire(who, "review", row.id, trigger, comment=comment, version=version, payload=payload,
             application_id=row.application_id)
    except WorkflowError as err:
        refuse(err, form)
        return _review_page(review_id, {trigger: form}, err.status)
    if trigger == "submit_review":
        flash(gettext("Your review of “%(title)s” has been submitted. Thank you.", title=row.application.title),
              "success")
    else:
        flash(gettext("You have declined the review of “%(title)s”. The application is no longer shown to you.",
                      title=row.application.title), "success")
    return redirect(url_for("reviews.assignments"))


def _form(trigger: str, **kwargs):
    if trigger == "submit_review":
        return ReviewForm(recommendations=_recommendations(), **kwargs)
    return DeclineForm(**kwargs)


def _review_page(review_id: int, bound: dict | None = None, status: int = 200):
    who = actor()
    row = svc.review_of(who, review_id)
    application = row.application
    bound = bound or {}
    offered = []
    for action in actions(who, row):
        form = bound.get(action.trigger)
        if form is None and action.trigger in FORMS:
            form = _form(action.trigger, formdata=None, data={"version": row.version})
        offered.append((action, form))
    proposals = [a for a in reversed(application.attachments) if a.kind == "proposal"]
    return render_template("reviews/review.html", review=row, application=application, offered=offered,
                           proposals=proposals, today=_today(), describe=describe,
                           country_name=country_name), status


# --- the reviews panel of the application page -------------------------------------


def panel_context(actor: Actor, application, assign_form: AssignForm | None = None) -> dict:
    """What the reviews panel of `application` shows to `actor`, as {"review_panel": {...}}.

    The fund's staff see every review with its reviewer; a reviewer only their own; the applicant the
    opinions and recommendations once the fund has decided, without names; others nothing. During expert
    review the staff also get the form that assigns reviewers from the pool.
    """
    view = svc.panel(actor, application)
    context = {"mode": view.mode, "reviews": view.reviews, "submitted": view.submitted, "quorum": view.quorum,
               "decline_comments": view.decline_comments, "application": application, "today": _today(),
               "assign": None}
    if view.mode == "all" and application.state == "expert_review":
        form = assign_form or g.pop("review_assign_form", None) or AssignForm(formdata=None)
        pool = svc.reviewer_pool(actor, application)
        form.reviewer_ids.choices = [(c.reviewer.id, c.reviewer.name or c.reviewer.email) for c in pool]
        chosen = set(form.reviewer_ids.data or [])
        context["assign"] = {"form": form, "pool": pool, "chosen": chosen}
    return {"review_panel": context}


@bp.post("/applications/<int:app_id>/reviews")
def assign(app_id: int):
    """Assign several reviewers at once, each through the service; say who was assigned and who refused."""
    who = actor()
    if not who.acts_as_officer:
        raise NotPermitted("only program officers assign reviewers")
    application = app_svc.get_application(who, app_id)
    form = AssignForm()
    if not form.validate_on_submit():
        return _detail_again(app_id, form, 422)
    names = {r.id: r.name or r.email for r in registry.reviewers()}
    assigned, refused = [], []
    for reviewer_id in dict.fromkeys(form.reviewer_ids.data):  # each once, in the order chosen
        try:
            app_svc.assign_reviewer(who, application.id, reviewer_id, form.due_date.data)
        except WorkflowError as err:
            refused.append((names.get(reviewer_id, f"#{reviewer_id}"), describe(err), err))
        else:
            assigned.append(names.get(reviewer_id, f"#{reviewer_id}"))
    sep = "、" if is_zh() else ", "
    if assigned:
        flash(gettext("Assigned: %(names)s.", names=sep.join(assigned)), "success")
    for name, why, _ in refused:
        flash(gettext("Not assigned: %(name)s — %(reason)s", name=name, reason=why),
              "warning" if assigned else "danger")
    if not assigned:
        form.reviewer_ids.errors = [f"{name}: {why}" for name, why, _ in refused]
        return _detail_again(app_id, form, refused[0][2].status if refused else 422)
    return redirect(url_for("applications.detail", app_id=app_id))


def _detail_again(app_id: int, form: AssignForm, status: int):
    """The application page again, with the assignment form as it was sent and its messages at the fields."""
    g.review_assign_form = form
    response = current_app.make_response(current_app.view_functions["applications.detail"](app_id=app_id))
    response.status_code = status
    return response


# --- the ranking of a call ----------------------------------------------------------


@bp.get("/calls/<int:call_id>/ranking")
def ranking(call_id: int):
    """The call's reviewed applications, best mean score first (what GET /api/v1/calls/{id}/ranking gives)."""
    who = actor()
    if who.role not in RANKING_ROLES:
        raise NotPermitted("only program officers see the ranking of a call")
    chosen = request.args.get("call_id", type=int)
    if chosen and chosen != call_id:
        return redirect(url_for("reviews.ranking", call_id=chosen))
    call = registry.get_call(call_id)
    rows = statistics.ranking(call_id)
    return render_template("reviews/ranking.html", call=call, calls=registry.calls(), rows=rows,
                           call_title=pick(call.title, call.title_en))
