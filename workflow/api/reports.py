"""Statistics and the review ranking of a call."""
from __future__ import annotations

from flask import jsonify

from ..services import statistics
from . import bp
from .common import actor, roles


@bp.get("/statistics")
def get_statistics():
    actor()
    return jsonify(statistics.statistics())


@bp.get("/calls/<int:call_id>/ranking")
@roles("officer")
def call_ranking(call_id: int):
    return jsonify({"call_id": call_id, "items": statistics.ranking(call_id)})
