"""Lookup lists and the workflow definitions as data."""
from __future__ import annotations

from flask import jsonify

from .. import schemas
from ..services import registry, workflows
from .blueprint import bp
from .common import actor, include_retired


@bp.get("/workflow")
def workflow_definitions():
    actor()
    return jsonify({"workflows": [wf.as_dict() for wf in workflows.newest_definitions()]})


@bp.get("/bodies")
def list_bodies():
    """The bodies an application may name, of one channel or all; administrators may add the retired ones."""
    wanted, args = include_retired(schemas.BodyQuery())
    bodies = registry.bodies(args.get("channel"), include_retired=wanted)
    return jsonify({"items": schemas.BodyOut().dump(bodies, many=True)})


@bp.get("/bases")
def list_bases():
    wanted, _ = include_retired(schemas.RegistryQuery())
    return jsonify({"items": schemas.BaseOut().dump(registry.bases(include_retired=wanted), many=True)})


@bp.get("/reviewers")
def list_reviewers():
    """The reviewer pool, filtered, with each expert's load and history (services.pool)."""
    from ..services import pool
    from .common import page, query

    args = query(schemas.ExpertQuery())
    page_no, per_page = args.pop("page"), args.pop("per_page")
    items, total = pool.list_experts(actor(), **args, page=page_no, per_page=per_page)
    return jsonify(page(items, total, page_no, per_page, schemas.ExpertOut()))
