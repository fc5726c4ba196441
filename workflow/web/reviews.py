"""Pages: expert review — a reviewer's assignments and scoring form, the officer's assignment and the ranking.

The application page shows the reviews panel: it renders reviews/_panel.html with the
application and `**panel_context(actor, application)`, which returns {"review_panel": {...}}.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from babel import Locale
from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import labels
from ..errors import InvalidInput, NotFound, NotPermitted, WorkflowError
from ..forms.reviews import AssignForm, DeclareForm, DeclineForm, ReviewForm, RubricForm, rubric_review_form
from ..services import applications as app_svc
from ..services import ranking as ranking_svc
from ..services import registry, rubrics
from ..services import reviews as svc
from ..services.transitions import actions, fire
from .common import actor, refuse
from .i18n import display_title, is_zh, label, language, pick
from .messages import N_, describe

from ..permissions import proposal_withheld

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
    N_("a score for this criterion is required"),
    N_("must be a number"),
    N_("not a criterion of this review's rubric"),
    N_("this review is scored per criterion: send scores, not score"),
    N_("one of application, institution"),
    N_("the reason for closing with fewer reviews than the quorum is required"),
    N_("only the fund's staff see a call's rubric"),
    N_("declare that you have no conflict of interest first"),
)
TRIGGERS = ("declare_no_conflict", "submit_review", "decline")
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
    """Declare no conflict, submit or decline a review through the engine, as the API does."""
    who = actor()
    row = svc.review_of(who, review_id)
    if trigger not in TRIGGERS:
        raise NotFound(f"review has no trigger {trigger!r}")
    form = _form(row, trigger)
    if not form.validate_on_submit():
        return _review_page(review_id, {trigger: form}, 422)
    version = int(form.version.data) if (form.version.data or "").isdigit() else None
    comment, payload = None, None
    if trigger == "submit_review":
        payload = {"opinion": form.opinion.data, "recommendation": form.recommendation.data}
        if row.rubric is not None:
            payload["scores"] = form.scores()
        else:
            payload["score"] = form.score.data
    elif trigger == "decline":
        comment, payload = form.comment.data, {"conflict_with": form.conflict_with.data}
    try:
        fire(who, "review", row.id, trigger, comment=comment, version=version, payload=payload,
             application_id=row.application_id)
    except WorkflowError as err:
        refuse(_at_score_fields(err), form)
        return _review_page(review_id, {trigger: form}, err.status)
    title = display_title(row.application)
    if trigger == "declare_no_conflict":
        flash(gettext("You have declared no conflict of interest. The full proposal of “%(title)s” is open to "
                      "you; score it below.", title=title), "success")
        return redirect(url_for("reviews.review", review_id=row.id))
    if trigger == "submit_review":
        flash(gettext("Your review of “%(title)s” has been submitted. Thank you.", title=title), "success")
    else:
        flash(gettext("You have declined the review of “%(title)s”. The application is no longer shown to you.",
                      title=title), "success")
    return redirect(url_for("reviews.assignments"))


def undeclared_review(who, app_id: int) -> int | None:
    """The id of `who`'s review of `app_id` while they have yet to declare no conflict, else None."""
    if who.role != "reviewer":
        return None
    application = app_svc.get_application(who, app_id)
    if not proposal_withheld(who, application):
        return None
    return next(r.id for r in application.reviews if r.reviewer_id == who.id and r.state != "declined")


def _at_score_fields(err: WorkflowError) -> WorkflowError:
    """The service names a criterion's problem `scores.<key>`; the form's box for it is `score_<key>`."""
    if not isinstance(err, InvalidInput) or not isinstance(err.details, dict):
        return err
    details = {(f"score_{k.removeprefix('scores.')}" if k.startswith("scores.") else k): v
               for k, v in err.details.items()}
    return InvalidInput(err.message, details, template=err.template, params=err.params)


def _criterion_labels(criteria) -> dict[str, str]:
    return {c["key"]: pick(c["label"], c.get("label_en")) for c in criteria}


def _form(row, trigger: str, **kwargs):
    if trigger == "submit_review":
        if row.rubric is not None:
            criteria = row.rubric.criteria
            return rubric_review_form(criteria, _criterion_labels(criteria), recommendations=_recommendations(),
                                      **kwargs)
        return ReviewForm(recommendations=_recommendations(), **kwargs)
    if trigger == "declare_no_conflict":
        return DeclareForm(**kwargs)
    return DeclineForm(**kwargs)


def _review_page(review_id: int, bound: dict | None = None, status: int = 200):
    """One review: before the declaration only what judges a conflict, after it the proposal and the scoring."""
    who = actor()
    row = svc.review_of(who, review_id)
    application = row.application
    bound = bound or {}
    offered = []
    for action in actions(who, row):
        form = bound.get(action.trigger)
        if form is None and action.trigger in TRIGGERS:
            form = _form(row, action.trigger, formdata=None, data={"version": row.version})
        offered.append((action, form))
    full = not proposal_withheld(who, application)
    proposals = [a for a in reversed(application.attachments) if a.kind == "proposal"] if full else []
    criteria = row.rubric.criteria if row.rubric is not None else []
    return render_template("reviews/review.html", review=row, application=application, offered=offered,
                           proposals=proposals, full=full, criteria=criteria,
                           criterion_labels=_criterion_labels(criteria), today=_today(), describe=describe,
                           country_name=country_name), status


# --- the reviews panel of the application page -------------------------------------


def reason_needed(actor: Actor, application, trigger: str) -> str | None:
    """The label of a reason the page must ask for where the workflow leaves the comment optional.

    Closing expert review with fewer reviews than the call's quorum needs the officer's reason
    (the reason_below_quorum guard); at the quorum the comment stays optional.
    """
    if trigger != "close_review":
        return None
    view = svc.panel(actor, application)
    if view.submitted >= view.quorum:
        return None
    return gettext("Reason for closing below quorum (required)")


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
        reasons = {c.reviewer.id: describe(c.conflict.refusal()) for c in pool if c.conflict}
        context["assign"] = {"form": form, "pool": pool, "chosen": chosen, "reasons": reasons}
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


def _ranking_args(call_id: int):
    who = actor()
    if who.role not in RANKING_ROLES:
        raise NotPermitted("only program officers see the ranking of a call")
    channel = request.args.get("channel") or None
    field = request.args.get("field") or None
    channel = channel if channel in labels.CHANNELS else None
    field = field if field in labels.FIELDS else None
    return ranking_svc.ranking(who, call_id, channel=channel, field=field)


@bp.get("/calls/<int:call_id>/ranking")
def ranking(call_id: int):
    """The call's reviewed applications, best mean weighted total first (what GET /api/v1/calls/{id}/ranking gives)."""
    chosen = request.args.get("call_id", type=int)
    if chosen and chosen != call_id:
        return redirect(url_for("reviews.ranking", call_id=chosen))
    result = _ranking_args(call_id)
    call = result.call
    filters = {k: v for k, v in (("channel", result.channel), ("field", result.field)) if v}
    return render_template("reviews/ranking.html", call=call, calls=registry.calls(), result=result,
                           rows=result.items, filters=filters, call_title=pick(call.title, call.title_en),
                           criterion_labels=_criterion_labels(call.rubric.criteria if call.rubric else []))


@bp.get("/calls/<int:call_id>/ranking.csv")
def ranking_csv(call_id: int):
    result = _ranking_args(call_id)
    return Response(ranking_svc.as_csv(result), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="ranking-call-{call_id}.csv"',
        "Cache-Control": "private, no-store"})


@bp.get("/calls/<int:call_id>/ranking.pdf")
def ranking_pdf(call_id: int):
    """The review summary (评审结果汇总表), rendered now."""
    result = _ranking_args(call_id)
    return Response(ranking_svc.as_pdf(result), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="review-summary-call-{call_id}.pdf"',
        "Cache-Control": "private, no-store"})


# --- the rubric of a call -------------------------------------------------------------


@bp.route("/calls/<int:call_id>/rubric", methods=["GET", "POST"])
def rubric(call_id: int):
    """The call's rubric and its versions; administrators save a changed one as a new version."""
    who = actor()
    if not who.acts_as_officer:
        raise NotPermitted("only the fund's staff see a call's rubric")
    call = registry.get_call(call_id)
    current = call.rubric
    rows = current.criteria if current is not None else rubrics.default_criteria()
    if request.method == "POST":
        if who.role != "admin":
            raise NotPermitted("only administrators change a call's rubric")
        form = RubricForm()
        if form.validate_on_submit():
            criteria = [row.form.as_criterion() for row in form.criteria if not row.form.is_empty()]
            try:
                made = rubrics.change_rubric(who, call_id, criteria)
            except WorkflowError as err:
                _rubric_errors(form, err)
                return _rubric_page(call, form, 422)
            flash(gettext("The rubric is saved as version %(n)s. Reviews already under way keep the version they "
                          "started with.", n=made.version), "success")
            return redirect(url_for("reviews.rubric", call_id=call_id))
        return _rubric_page(call, form, 422)
    data = {"criteria": [{**c, "weight": f"{c['weight']:g}", "min": f"{c['min']:g}", "max": f"{c['max']:g}"}
                         for c in rows] + [{}]}
    return _rubric_page(call, RubricForm(formdata=None, data=data))


def _rubric_errors(form: RubricForm, err: WorkflowError) -> None:
    """The service's `criteria.<i>.<field>` messages at the row's box; the rest at the top."""
    from .messages import field_messages

    entries = [row for row in form.criteria if not row.form.is_empty()]
    general = []
    for key, messages in field_messages(err.details).items():
        parts = key.split(".")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(entries):
            box = getattr(entries[int(parts[1])].form, parts[2], None)
            if box is not None:
                box.errors = [*box.errors, *messages]
                continue
        general.extend(messages)
    flash(" ".join([describe(err), *general]), "danger")


def _rubric_page(call, form: RubricForm, status: int = 200):
    return render_template("reviews/rubric.html", call=call, form=form, versions=rubrics.versions(call.id),
                           call_title=pick(call.title, call.title_en), may_change=actor().role == "admin"), status
