"""Sign-in, sign-out and the language switch."""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import LoginManager, login_user, logout_user

from ..forms.auth import ChangePasswordForm, SignInForm

from ..errors import NotAuthenticated, TooManyAttempts, WorkflowError
from ..services import accounts
from .common import SignedIn, actor, back, refuse, safe_next
from .i18n import LANGUAGE_COOKIE, LANGUAGES
from .messages import N_

bp = Blueprint("auth", __name__)

# The password policy's and the throttle's words, as the services put them, for the catalogue.
SERVICE_MESSAGES = (
    N_("at least 10 characters"),
    N_("must not be your e-mail address"),
    N_("too common: it is on the list of passwords tried first"),
    N_("The password does not meet the policy."),
    N_("the same as the current one"),
    N_("wrong password"),
    N_("The current password is wrong."),
    N_("Too many failed sign-ins. Try again in %(seconds)s seconds."),
)


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.session_protection = "basic"

    @manager.user_loader
    def load(user_id: str):
        # Every request looks again: a deactivated user's session ends at once.
        actor = accounts.active_actor(int(user_id)) if user_id.isdigit() else None
        return SignedIn(actor) if actor else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.check_password(form.email.data, form.password.data, address=request.remote_addr)
        except TooManyAttempts as err:
            refuse(err, form)
            form.password.errors = [gettext("Signing in from here is paused for a while after repeated "
                                            "wrong passwords. Wait, then try again.")]
            status = 429
        except NotAuthenticated:
            form.password.errors = [gettext("Wrong e-mail or password.")]
            status = 401
        else:
            session.clear()  # a new session for the signed-in user: no fixation
            session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME without a request
            login_user(SignedIn(accounts.active_actor(user.id)))
            return redirect(safe_next(url_for("dashboard.home")))
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/account/password", methods=["GET", "POST"])
def password():
    """The signed-in user changes their own password (the current one is asked for first)."""
    me = actor()
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.change_password(me, form.current_password.data, form.new_password.data,
                                     address=request.remote_addr)
        except WorkflowError as err:
            refuse(err, form)
            status = err.status
        else:
            flash(gettext("Your password is changed."), "success")
            return redirect(url_for("dashboard.home"))
    elif form.is_submitted():
        status = 422
    return render_template("auth/password.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/language/<code>")
def language(code: str):
    """Switch the pages' language and remember it; back to where the reader was."""
    response = make_response(back("dashboard.index"))
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response
