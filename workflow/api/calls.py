"""Calls for proposals, and each call's scoring rubric."""
from __future__ import annotations

from flask import jsonify

from .. import schemas
from ..services import registry, rubrics
from .blueprint import bp
from .common import actor, body

CALL = schemas.CallOut()
RUBRIC = schemas.RubricOut()


def _call(call) -> dict:
    """A call with its current rubric: [{key, label, label_en, weight, min, max}] (DESIGN §5)."""
    data = CALL.dump(call)
    current = registry.get_call(call.id).rubric
    data["rubric"] = rubrics.as_list(current)
    data["rubric_version"] = current.version if current is not None else None
    data["disagreement_spread"] = call.disagreement_spread
    return data


@bp.get("/calls")
def list_calls():
    actor()
    return jsonify({"items": CALL.dump(registry.calls(), many=True)})


@bp.post("/calls")
def create_call():
    call = registry.create_call(actor(), body(schemas.CallIn()))
    return jsonify(_call(call)), 201


@bp.get("/calls/<int:call_id>")
def get_call(call_id: int):
    actor()
    return jsonify(_call(registry.get_call(call_id)))


@bp.patch("/calls/<int:call_id>")
def update_call(call_id: int):
    changes = body(schemas.CallPatch(), partial=True)
    return jsonify(_call(registry.update_call(actor(), call_id, changes)))


@bp.get("/calls/<int:call_id>/rubric")
def get_rubric(call_id: int):
    """Every version of the call's rubric, oldest first; `current` is the newest."""
    actor()
    found = rubrics.versions(call_id)
    return jsonify({"call_id": call_id, "current": RUBRIC.dump(found[-1]) if found else None,
                    "versions": RUBRIC.dump(found, many=True)})


@bp.put("/calls/<int:call_id>/rubric")
def put_rubric(call_id: int):
    """A new version of the call's rubric; reviews already under way keep theirs."""
    data = body(schemas.RubricIn())
    rubric = rubrics.change_rubric(actor(), call_id, data["criteria"])
    return jsonify(RUBRIC.dump(rubric))
