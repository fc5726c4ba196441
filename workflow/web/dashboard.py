"""Where each role lands, and the inbox."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from .common import actor

bp = Blueprint("dashboard", __name__)

# The page with each role's waiting work.
LANDING = {
    "applicant": "applications.index",
    "recommender": "applications.queue",
    "reviewer": "reviews.assignments",
    "officer": "dashboard.officer",
    "admin": "dashboard.officer",
}


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    return redirect(url_for("auth.login"))


@bp.get("/dashboard")
def home():
    return redirect(url_for(LANDING[actor().role]))
