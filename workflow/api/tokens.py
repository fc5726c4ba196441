"""Bearer tokens: sign in, list and revoke."""
from __future__ import annotations

from flask import jsonify, request

from .. import schemas
from ..errors import InvalidInput
from ..services import accounts
from .blueprint import bp
from .common import actor, body

TOKEN = schemas.TokenOut()


@bp.post("/tokens")
def create_token():
    data = body(schemas.TokenRequest())
    token = accounts.issue_token(data["email"], data["password"], address=request.remote_addr)
    return jsonify({"token": token}), 201


@bp.get("/tokens")
def list_tokens():
    user = request.args.get("user")
    if user is not None and not (user.isascii() and user.isdigit() and len(user) <= 18):
        raise InvalidInput("user must be a user id", {"user": ["an integer"]})
    return jsonify({"items": TOKEN.dump(accounts.list_tokens(actor(), int(user) if user else None), many=True)})


@bp.delete("/tokens/<int:token_id>")
def delete_token(token_id: int):
    accounts.revoke_token(actor(), token_id)
    return "", 204
