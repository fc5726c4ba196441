"""Administration: users, institutions, recommending bodies, bases."""
from __future__ import annotations

from flask import jsonify

from .. import schemas
from ..services import accounts, registry
from .blueprint import bp
from .common import actor, body

USER = schemas.UserOut()


@bp.get("/users")
def list_users():
    return jsonify({"items": USER.dump(registry.users(), many=True)})


@bp.post("/users")
def create_user():
    data = body(schemas.UserIn())
    user = accounts.create_user(data.pop("email"), data.pop("password"), data.pop("role"), actor=actor(), **data)
    return jsonify(USER.dump(user)), 201


@bp.patch("/users/<int:user_id>")
def update_user(user_id: int):
    changes = body(schemas.UserPatch(), partial=True)
    return jsonify(USER.dump(accounts.update_user(user_id, changes, actor=actor())))


@bp.get("/institutions")
def list_institutions():
    actor()
    return jsonify({"items": schemas.InstitutionOut().dump(registry.institutions(), many=True)})


@bp.post("/institutions")
def create_institution():
    row = registry.create_institution(actor(), body(schemas.InstitutionIn()))
    return jsonify(schemas.InstitutionOut().dump(row)), 201


@bp.post("/bodies")
def create_body():
    row = registry.create_body(actor(), body(schemas.BodyIn()))
    return jsonify(schemas.BodyOut().dump(row)), 201


@bp.post("/bases")
def create_base():
    row = registry.create_base(actor(), body(schemas.BaseIn()))
    return jsonify(schemas.BaseOut().dump(row)), 201
