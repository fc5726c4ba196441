"""Change requests on running projects."""
from __future__ import annotations

from flask import jsonify

from .. import schemas
from ..services import changes
from ..services.transitions import current
from .blueprint import bp
from .common import actor, body, fire_from_request

CHANGE = schemas.ChangeRequestOut()


@bp.get("/applications/<int:app_id>/changes")
def list_changes(app_id: int):
    return jsonify({"items": CHANGE.dump(changes.changes_of(actor(), app_id), many=True)})


@bp.post("/applications/<int:app_id>/changes")
def request_change(app_id: int):
    data = body(schemas.ChangeRequestIn())
    kind, reason = data.pop("kind"), data.pop("comment").strip()
    change = changes.request_change(actor(), app_id, kind, reason, data)
    return jsonify(CHANGE.dump(current("change_request", change.id))), 201


@bp.post("/applications/<int:app_id>/changes/<int:change_id>/transitions/<trigger>")
def decide_change(app_id: int, change_id: int, trigger: str):
    fire_from_request("change_request", change_id, trigger, application_id=app_id)
    return jsonify(CHANGE.dump(current("change_request", change_id)))
