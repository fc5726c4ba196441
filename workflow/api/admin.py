"""Administration: users, institutions, recommending bodies, bases (changed or retired, never deleted)."""
from __future__ import annotations

from flask import jsonify

from .. import schemas
from ..services import accounts, registry
from .blueprint import bp
from .common import actor, body, include_retired

USER = schemas.UserOut()
INSTITUTION, BODY, BASE = schemas.InstitutionOut(), schemas.BodyOut(), schemas.BaseOut()


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
    wanted, _ = include_retired(schemas.RegistryQuery())
    return jsonify({"items": INSTITUTION.dump(registry.institutions(include_retired=wanted), many=True)})


@bp.post("/institutions")
def create_institution():
    row = registry.create_institution(actor(), body(schemas.InstitutionIn()))
    return jsonify(INSTITUTION.dump(row)), 201


@bp.patch("/institutions/<int:institution_id>")
def update_institution(institution_id: int):
    changes = body(schemas.InstitutionPatch(), partial=True)
    return jsonify(INSTITUTION.dump(registry.update_institution(actor(), institution_id, changes)))


@bp.post("/bodies")
def create_body():
    row = registry.create_body(actor(), body(schemas.BodyIn()))
    return jsonify(BODY.dump(row)), 201


@bp.patch("/bodies/<int:body_id>")
def update_body(body_id: int):
    changes = body(schemas.BodyPatch(), partial=True)
    return jsonify(BODY.dump(registry.update_body(actor(), body_id, changes)))


@bp.post("/bases")
def create_base():
    row = registry.create_base(actor(), body(schemas.BaseIn()))
    return jsonify(BASE.dump(row)), 201


@bp.patch("/bases/<int:base_id>")
def update_base(base_id: int):
    changes = body(schemas.BasePatch(), partial=True)
    return jsonify(BASE.dump(registry.update_base(actor(), base_id, changes)))
