"""What every API view needs: the actor, parsed input, rendered output."""
from __future__ import annotations

from functools import wraps
from typing import Any

from flask import g, request
from marshmallow import Schema, ValidationError

from .. import access, schemas
from ..errors import InvalidInput, NotAuthenticated, NotPermitted, TooLarge
from ..permissions import Actor
from ..services.accounts import authenticate
from ..services.applications import get_application
from ..services.transitions import fire
from .blueprint import bp

@bp.before_request
def _allowed_first() -> None:
    """The access table (workflow/access.py) decides before any input is looked at: 401, 404, then 403."""
    if request.endpoint is None:
        return  # no such route: 404
    rule = access.route_rule(request.endpoint)
    if rule.public:
        return
    a = actor()
    if rule.owned == access.APPLICATION:  # someone else's application does not exist, whatever the role (404)
        get_application(a, request.view_args["app_id"])
    if not rule.allows(a):
        raise NotPermitted(f"this is not for the role {a.role}", {"roles": sorted(rule.roles)})


def actor() -> Actor:
    """The signed-in actor of this request, from its bearer token."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("send Authorization: Bearer <token>; get one from POST /api/v1/tokens")
        g.actor = authenticate(token.strip())
    return g.actor


MAX_JSON_BYTES = 1024 * 1024  # uploads may be 20 MB; a JSON body never needs more than this
MAX_JSON_DEPTH = 20


def body(schema: Schema, *, partial: bool = False, empty_ok: bool = False) -> dict[str, Any]:
    """The request's JSON object, validated by `schema`; 400/413/422 when it is not."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise TooLarge("JSON bodies are limited to 1 MB", {"body": [f"at most {MAX_JSON_BYTES} bytes"]})
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise BadJSON("the JSON body is nested too deeply") from None
    if data is None:
        if empty_ok and not request.get_data():
            data = {}
        else:
            raise BadJSON("the request body must be a JSON object")
    if not isinstance(data, dict):
        raise BadJSON("the request body must be a JSON object")
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadJSON(f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep")
    return load(schema, data, partial=partial)


def query(schema: Schema) -> dict[str, Any]:
    return load(schema, request.args.to_dict())


def include_retired(schema: Schema) -> tuple[bool, dict[str, Any]]:
    """A registry list's query: (whether to list the retired rows too, the other arguments).

    `?include_retired=1` is for administrators; anyone else asking is refused (403)."""
    args = query(schema)
    if not args.pop("include_retired"):
        return False, args
    if actor().role != "admin":
        raise NotPermitted("only administrators may list retired rows",
                           {"include_retired": ["only administrators may list retired rows"]})
    return True, args


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def unstorable(value: Any, path: str = "") -> dict[str, list[str]]:
    """Where text holds a NUL or a lone UTF-16 surrogate, which no database stores: {field path: [message]}."""
    found: dict[str, list[str]] = {}
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            found[path or "body"] = ["contains a NUL byte or an invalid character"]
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found.update(unstorable(key, where))
            found.update(unstorable(item, where))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.update(unstorable(item, f"{path}.{i}" if path else str(i)))
    return found


def load(schema: Schema, data: dict, *, partial: bool = False) -> dict[str, Any]:
    bad = unstorable(data)
    if bad:
        raise InvalidInput("the request holds text that cannot be stored", bad)
    try:
        return schema.load(data, partial=partial)
    except ValidationError as err:
        raise InvalidInput("the request is not valid", err.messages) from None


class BadJSON(InvalidInput):
    status = 400
    code = "bad_request"


def page(items: list, total: int, page_no: int, per_page: int, schema: Schema) -> dict[str, Any]:
    return {"items": schema.dump(items, many=True), "total": total, "page": page_no, "per_page": per_page}


# Built once: every transition request reads its body with it, and building one cost a twentieth of
# the request. A marshmallow schema keeps no state between loads.
_TRANSITION_IN = schemas.TransitionIn()


def fire_from_request(subject: str, subject_id: int, trigger: str, application_id: int | None = None):
    """Fire a trigger with this request's body ({comment?, version?, ...}) through the engine."""
    data = body(_TRANSITION_IN, empty_ok=True)
    comment, version = data.pop("comment", None), data.pop("version", None)
    return fire(actor(), subject, subject_id, trigger, comment=comment, version=version, payload=data,
                application_id=application_id)
