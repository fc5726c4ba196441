"""Applications: drafts, edits, transitions, history."""
from __future__ import annotations

from flask import jsonify

from .. import schemas
from ..permissions import proposal_withheld
from ..services import applications as svc, compliance
from ..services.transitions import actions, available_triggers
from .blueprint import bp
from .common import actor, body, fire_from_request, page, query

# Built once, for the most asked reads: building a schema costs more than most of their dumps.
APPLICATION, APPLICATION_QUERY = schemas.ApplicationOut(), schemas.ApplicationQuery()
EVENTS = schemas.EventOut(many=True)


def _render(app_id: int, status: int = 200):
    a = actor()
    app = svc.application_to_show(a, app_id)
    data = APPLICATION.dump(app)
    if proposal_withheld(a, app):  # a reviewer reads the summary only after declaring no conflict
        data["summary"] = None
    data["compliance"] = compliance.status_of(app.id) if app.state in compliance.FOLLOWED_STATES else None
    data["available_triggers"] = available_triggers(a, app)
    data["actions"] = [action.as_dict() for action in actions(a, app)]
    return jsonify(data), status


@bp.post("/applications")
def create_application():
    data = body(schemas.ApplicationCreate())
    app = svc.create_application(actor(), data)
    return _render(app.id, 201)


@bp.get("/applications")
def list_applications():
    args = query(APPLICATION_QUERY)
    items, total = svc.list_applications(actor(), **args)
    data = page(items, total, args["page"], args["per_page"], APPLICATION)
    statuses = compliance.statuses(a.id for a in items)
    for item in data["items"]:
        item["compliance"] = statuses.get(item["id"])
    return jsonify(data)


@bp.get("/applications/<int:app_id>")
def get_application(app_id: int):
    return _render(app_id)


@bp.patch("/applications/<int:app_id>")
def update_application(app_id: int):
    data = body(schemas.ApplicationIn(), partial=True)
    svc.update_application(actor(), app_id, data)
    return _render(app_id)


@bp.post("/applications/<int:app_id>/transitions/<trigger>")
def fire_transition(app_id: int, trigger: str):
    fire_from_request("application", app_id, trigger)
    return _render(app_id)


@bp.get("/applications/<int:app_id>/history")
def application_history(app_id: int):
    events = svc.history(actor(), app_id)
    return jsonify({"items": EVENTS.dump(events)})
