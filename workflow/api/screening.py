"""Sensitive-technology screening: the officer's flag on an application in formal review."""
from __future__ import annotations

from .. import schemas
from ..services import screening
from .blueprint import bp
from .applications import _render
from .common import actor, body


@bp.post("/applications/<int:app_id>/sensitive")
def flag_sensitive(app_id: int):
    data = body(schemas.SensitiveFlagIn())
    screening.flag_sensitive(actor(), app_id, data["flagged"], data["comment"], data.get("version"))
    return _render(app_id)
