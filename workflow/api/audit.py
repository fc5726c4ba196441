"""The audit history (admin): filtered events, the same as CSV, and verification of the chain."""
from __future__ import annotations

import datetime as dt

from flask import Response, jsonify, request, stream_with_context
from marshmallow import fields, validate

from .. import schemas
from ..services import audit_log
from .blueprint import bp
from .common import actor, load, page


class DateOrDateTime(fields.Field):
    """An ISO date (2026-12-01) or date-time (2026-12-01T09:30, with or without an offset)."""

    default_error_messages = {"invalid": "not an ISO date or date-time (2026-12-01, 2026-12-01T09:30:00+08:00)"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not 10 <= len(value) <= 40:
            raise self.make_error("invalid")
        try:
            if len(value) == 10:
                return dt.date.fromisoformat(value)
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None


class AuditQuery(schemas.Strict):
    actor = fields.String(validate=validate.Length(min=1, max=254))
    role = fields.String(validate=validate.OneOf(audit_log.EVENT_ROLES))
    application = fields.Integer(validate=validate.Range(1, audit_log.MAX_ID))
    trigger = fields.String(validate=validate.Length(min=1, max=40))
    since = DateOrDateTime()
    until = DateOrDateTime()
    format = fields.String(validate=validate.OneOf(("json", "csv")))
    page = fields.Integer(validate=validate.Range(1, 100000), load_default=1)
    per_page = fields.Integer(validate=validate.Range(1, 200), load_default=50)


EVENT = schemas.EventOut()
FILTERS = ("actor", "role", "application", "trigger", "since", "until")


def _query() -> tuple[audit_log.EventFilter, dict]:
    data = load(AuditQuery(), request.args.to_dict())
    return audit_log.EventFilter(**{k: data.get(k) for k in FILTERS}), data


def _wants_csv(data: dict) -> bool:
    if "format" in data:
        return data["format"] == "csv"
    return request.accept_mimetypes.best_match(("application/json", "text/csv")) == "text/csv"


@bp.get("/audit/events")
def audit_events():
    filters, data = _query()
    if _wants_csv(data):
        lines = audit_log.export_csv(actor(), filters)
        return Response(stream_with_context(lines), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="audit-events.csv"',
                                 "Vary": "Accept"})
    items, total = audit_log.list_events(filters, data["page"], data["per_page"])
    response = jsonify(page(items, total, data["page"], data["per_page"], EVENT))
    response.headers["Vary"] = "Accept"
    return response


@bp.post("/audit/verify")
def audit_verify():
    return jsonify(audit_log.verify_chain().as_dict())
