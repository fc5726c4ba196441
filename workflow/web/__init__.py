"""The pages: one blueprint per area, over the same services as the API."""
from __future__ import annotations

from flask import Flask, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import access, labels
from ..errors import NotPermitted
from ..permissions import Actor
from ..services import applications as applications_svc, registry
from . import admin, applications, audit, auth, awards, dashboard, public, reviews, statistics
from . import pool
from . import application_form, inbox, jobs  # noqa: F401  (their routes join applications.bp, dashboard.bp, admin.bp)
from .common import actor
from .i18n import pick

BLUEPRINTS = (auth.bp, dashboard.bp, applications.bp, reviews.bp, awards.bp, admin.bp, audit.bp, statistics.bp,
              pool.bp)


INBOX = ("dashboard.inbox", _l("Inbox"))
STATISTICS = ("statistics.index", _l("Statistics"))
POOL = ("pool.index", _l("Reviewer pool"))
NAV = {
    "applicant": (("applications.index", _l("My applications")), INBOX),
    "recommender": (("applications.queue", _l("Recommendation queue")), STATISTICS, INBOX),
    "reviewer": (("reviews.assignments", _l("My reviews")), INBOX),
    "officer": (("dashboard.officer", _l("Dashboard")), POOL, STATISTICS, INBOX),
    "admin": (("dashboard.officer", _l("Dashboard")), ("audit.events", _l("Audit")),
              ("admin.users", _l("Administration")), POOL, STATISTICS, INBOX),
}


def register(app: Flask) -> None:
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    app.register_blueprint(public.bp)
    app.before_request(_allowed_first)
    app.jinja_env.globals.update(nav_links=nav_links, affiliation=affiliation, labels=labels)


def nav_links(actor: Actor):
    return NAV.get(actor.role, ())


def affiliation(actor: Actor) -> str:
    if "affiliation" not in g:
        names = registry.affiliation(actor)
        g.affiliation = pick(*names) if names else ""
    return g.affiliation


def _allowed_first():
    """The access table (workflow/access.py) decides before any page runs: sign in, 404, then 403."""
    if request.endpoint is None or request.blueprint == "api":
        return None
    rule = access.route_rule(request.endpoint)
    if rule.public:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    me = actor()
    if rule.owned == access.APPLICATION:  # someone else's application does not exist, whatever the role
        applications_svc.get_application(me, request.view_args["app_id"])
    if not rule.allows(me):
        raise NotPermitted(rule.refusal or f"this page is not for the role {me.role}", {"roles": sorted(rule.roles)})
    return None
