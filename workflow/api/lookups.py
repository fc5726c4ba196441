"""Lookup lists and the workflow definitions as data."""
from __future__ import annotations

from flask import jsonify, request

from .. import schemas
from ..errors import InvalidInput
from ..models import CHANNELS
from ..services import registry, workflows
from .blueprint import bp
from .common import actor


@bp.get("/workflow")
def workflow_definitions():
    actor()
    return jsonify({"workflows": [wf.as_dict() for wf in workflows.newest_definitions()]})


@bp.get("/bodies")
def list_bodies():
    actor()
    channel = request.args.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput("unknown channel", {"channel": [f"one of {', '.join(CHANNELS)}"]})
    return jsonify({"items": schemas.BodyOut().dump(registry.bodies(channel), many=True)})


@bp.get("/bases")
def list_bases():
    actor()
    return jsonify({"items": schemas.BaseOut().dump(registry.bases(), many=True)})


@bp.get("/reviewers")
def list_reviewers():
    """The reviewer pool, filtered, with each expert's load and history (services.pool)."""
    from ..services import pool
    from .common import page, query

    args = query(schemas.ExpertQuery())
    page_no, per_page = args.pop("page"), args.pop("per_page")
    items, total = pool.list_experts(actor(), **args, page=page_no, per_page=per_page)
    return jsonify(page(items, total, page_no, per_page, schemas.ExpertOut()))
