"""Calls for proposals."""
from __future__ import annotations

from flask import jsonify

from .. import schemas
from ..services import registry
from . import bp
from .common import actor, body, roles

CALL = schemas.CallOut()


@bp.get("/calls")
def list_calls():
    actor()
    return jsonify({"items": CALL.dump(registry.calls(), many=True)})


@bp.post("/calls")
@roles("admin")
def create_call():
    call = registry.create_call(actor(), body(schemas.CallIn()))
    return jsonify(CALL.dump(call)), 201


@bp.get("/calls/<int:call_id>")
def get_call(call_id: int):
    actor()
    return jsonify(CALL.dump(registry.get_call(call_id)))


@bp.patch("/calls/<int:call_id>")
@roles("admin")
def update_call(call_id: int):
    changes = body(schemas.CallPatch(), partial=True)
    return jsonify(CALL.dump(registry.update_call(actor(), call_id, changes)))
