"""The OpenAPI document of /api/v1, built from the marshmallow schemas."""
from __future__ import annotations

from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from .. import schemas
from ..models import ATTACHMENT_KINDS, CHANNELS, ROLES, SYSTEM_ROLE
from . import bp

ERRORS = {
    400: "Malformed request",
    401: "Not signed in",
    403: "Not allowed for this actor",
    404: "Not found",
    409: "Wrong state or stale version",
    413: "Upload too large",
    422: "Invalid input",
    429: "Too many failed sign-ins",
}
APP_ID = {"name": "app_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _page(name: str) -> dict:
    return {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}}}


def _op(summary: str, ok: int, response: str | dict | None, errors: tuple[int, ...], *,
        request: str | None = None, params: list | None = None, multipart: dict | None = None,
        secured: bool = True) -> dict:
    op: dict = {"summary": summary, "responses": {}}
    if secured:
        op["security"] = [{"bearer": []}]
        errors = (401, *errors)
    if params:
        op["parameters"] = params
    if request:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    if multipart:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": multipart}}}
    if response is None:
        op["responses"][str(ok)] = {"description": "Done"}
    else:
        schema = {"$ref": f"#/components/schemas/{response}"} if isinstance(response, str) else response
        op["responses"][str(ok)] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    for code in sorted(set(errors)):
        op["responses"][str(code)] = {"description": ERRORS[code], "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return op


def _path_int(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _path_str(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema}


AUDIT_VERIFICATION = {
    "type": "object", "required": ["intact", "events", "checkpoints", "problems", "verified_at"], "properties": {
        "intact": {"type": "boolean", "description": "true when the chain and every checkpoint hold"},
        "events": {"type": "integer", "description": "events checked"},
        "checkpoints": {"type": "integer", "description": "signed checkpoints checked"},
        "problems": {"type": "array", "items": {"type": "string"},
                     "description": "what is broken, first break first (e.g. `event 11: its content does not "
                                    "match its hash (the row was changed)`, `checkpoint 2: ...`)"},
        "broken_event": {"type": "integer", "nullable": True, "description": "the first broken event's id"},
        "signatures_checked": {"type": "boolean",
                               "description": "false when FUNDFLOW_AUDIT_KEY is not set on the server"},
        "verified_at": {"type": "string", "format": "date-time", "description": "when the check ran (UTC)"}}}
AUDIT_DATE = {"type": "string", "description": "an ISO date (2026-12-01) or date-time (2026-12-01T09:30:00+08:00); "
                                               "without an offset it is Beijing time; a date as `until` counts "
                                               "its whole day"}


def _audit_events_op() -> dict:
    op = _op("The audit events, newest first, filtered (admin); as CSV with `Accept: text/csv` or `format=csv`",
             200, _page("EventOut"), (403, 422), params=[
                 _query("actor", {"type": "string", "description": "a user id or a user's e-mail address"}),
                 _query("role", {"type": "string", "enum": [*ROLES, SYSTEM_ROLE]}),
                 _query("application", {"type": "integer", "minimum": 1}),
                 _query("trigger", {"type": "string",
                                    "description": "a trigger or action: submit, create, export, ..."}),
                 _query("since", AUDIT_DATE), _query("until", AUDIT_DATE),
                 _query("format", {"type": "string", "enum": ["json", "csv"]}),
                 _query("page", {"type": "integer", "minimum": 1}),
                 _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200})])
    op["description"] = ("The CSV holds every matching event, oldest first, streamed, under the header row "
                         "`id, time UTC, application, subject, subject_id, trigger, from, to, actor (e-mail), role, "
                         "comment, hash`; each CSV export is itself recorded as an `export` event.")
    op["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return op


@cache
def document() -> dict:
    spec = APISpec(title="fundflow", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Workflow and approval engine of the International S&T "
                                        "Cooperation Special Fund (国家国际科技合作专项)."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in ("Error", "ApplicationOut", "ApplicationCreate", "ApplicationIn", "TransitionIn", "EventOut",
                 "ReviewOut", "ReviewAssign", "MilestoneOut", "AttachmentOut", "CallOut", "CallIn", "CallPatch",
                 "InstitutionOut", "InstitutionIn", "BodyOut", "BodyIn", "BaseOut", "BaseIn", "UserOut", "UserIn",
                 "UserPatch", "ReviewerOut", "TokenOut", "TokenRequest", "ChangeRequestIn",
                 "ChangeRequestOut", "DocumentOut", "NoticeOut", "JobOut"):
        spec.components.schema(name, schema=getattr(schemas, name))
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    app_id, trigger = APP_ID, _path_str("trigger")
    paths = {
        "/tokens": {
            "post": _op("Sign in and get a bearer token", 201,
                        {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}},
                        (400, 401, 422, 429), request=ref("TokenRequest"), secured=False),
            "get": _op("List your tokens (admins: ?user=)", 200, _page("TokenOut"), (403, 422),
                       params=[_query("user", {"type": "integer"})]),
        },
        "/tokens/{token_id}": {"delete": _op("Revoke a token", 204, None, (404,), params=[_path_int("token_id")])},
        "/workflow": {"get": _op("States and transitions as data", 200, {"type": "object"}, ())},
        "/calls": {
            "get": _op("List calls", 200, _page("CallOut"), ()),
            "post": _op("Create a call", 201, "CallOut", (400, 403, 422), request=ref("CallIn")),
        },
        "/calls/{call_id}": {
            "get": _op("A call", 200, "CallOut", (404,), params=[_path_int("call_id")]),
            "patch": _op("Change a call", 200, "CallOut", (400, 403, 404, 422), request=ref("CallPatch"),
                         params=[_path_int("call_id")]),
        },
        "/applications": {
            "get": _op("List applications you may see", 200, _page("ApplicationOut"), (422,), params=[
                _query("state", {"type": "string"}), _query("channel", {"type": "string", "enum": list(CHANNELS)}),
                _query("field", {"type": "string"}), _query("country", {"type": "string"}),
                _query("call_id", {"type": "integer"}), _query("page", {"type": "integer", "minimum": 1}),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200})]),
            "post": _op("Create a draft", 201, "ApplicationOut", (400, 403, 409, 422),
                        request=ref("ApplicationCreate")),
        },
        "/applications/{app_id}": {
            "get": _op("An application", 200, "ApplicationOut", (404,), params=[app_id]),
            "patch": _op("Edit a draft", 200, "ApplicationOut", (400, 403, 404, 409, 422),
                         request=ref("ApplicationIn"), params=[app_id]),
        },
        "/applications/{app_id}/transitions/{trigger}": {
            "post": _op("Fire a trigger", 200, "ApplicationOut", (400, 403, 404, 409, 422),
                        request=ref("TransitionIn"), params=[app_id, trigger]),
        },
        "/applications/{app_id}/history": {
            "get": _op("The application's audit events, oldest first", 200, _page("EventOut"), (404,),
                       params=[app_id]),
        },
        "/applications/{app_id}/reviews": {
            "get": _op("Review assignments", 200, _page("ReviewOut"), (403, 404), params=[app_id]),
            "post": _op("Assign a reviewer", 201, "ReviewOut", (400, 403, 404, 409, 422),
                        request=ref("ReviewAssign"), params=[app_id]),
        },
        "/applications/{app_id}/reviews/{review_id}/transitions/{trigger}": {
            "post": _op("Fire a review trigger (submit_review, decline)", 200, "ReviewOut",
                        (400, 403, 404, 409, 422), request=ref("TransitionIn"),
                        params=[app_id, _path_int("review_id"), trigger]),
        },
        "/applications/{app_id}/milestones": {
            "get": _op("Milestones of the cooperation agreement", 200, _page("MilestoneOut"), (404,),
                       params=[app_id]),
        },
        "/applications/{app_id}/milestones/{milestone_id}/transitions/{trigger}": {
            "post": _op("Fire a milestone trigger (report, accept, return)", 200, "MilestoneOut",
                        (400, 403, 404, 409, 422), request=ref("TransitionIn"),
                        params=[app_id, _path_int("milestone_id"), trigger]),
        },
        "/applications/{app_id}/attachments": {
            "get": _op("Attachments", 200, _page("AttachmentOut"), (404,), params=[app_id]),
            "post": _op("Upload a PDF attachment", 201, "AttachmentOut", (400, 403, 404, 409, 413, 422),
                        params=[app_id], multipart={
                            "type": "object", "required": ["file", "kind"], "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "kind": {"type": "string", "enum": list(ATTACHMENT_KINDS)}}}),
        },
        "/bodies": {
            "get": _op("Recommending bodies", 200, _page("BodyOut"), (422,),
                       params=[_query("channel", {"type": "string", "enum": list(CHANNELS)})]),
            "post": _op("Add a recommending body", 201, "BodyOut", (400, 403, 422), request=ref("BodyIn")),
        },
        "/bases": {
            "get": _op("International cooperation bases", 200, _page("BaseOut"), ()),
            "post": _op("Add a base", 201, "BaseOut", (400, 403, 422), request=ref("BaseIn")),
        },
        "/institutions": {
            "get": _op("Institutions", 200, _page("InstitutionOut"), ()),
            "post": _op("Add an institution", 201, "InstitutionOut", (400, 403, 422),
                        request=ref("InstitutionIn")),
        },
        "/reviewers": {"get": _op("The reviewer pool", 200, _page("ReviewerOut"), (403,))},
        "/users": {
            "get": _op("Users", 200, _page("UserOut"), (403,)),
            "post": _op("Add a user", 201, "UserOut", (400, 403, 422), request=ref("UserIn")),
        },
        "/applications/{app_id}/changes": {
            "get": _op("Change requests of a project", 200, _page("ChangeRequestOut"), (404,), params=[app_id]),
            "post": _op("Request a change (extension, budget reallocation, partner or PI change)", 201,
                        "ChangeRequestOut", (400, 403, 404, 409, 422), request=ref("ChangeRequestIn"),
                        params=[app_id]),
        },
        "/applications/{app_id}/changes/{change_id}/transitions/{trigger}": {
            "post": _op("Decide a change request (approve, refuse)", 200, "ChangeRequestOut",
                        (400, 403, 404, 409, 422), request=ref("TransitionIn"),
                        params=[app_id, _path_int("change_id"), trigger]),
        },
        "/applications/{app_id}/documents": {
            "get": _op("Generated decision documents", 200, _page("DocumentOut"), (404,), params=[app_id]),
        },
        "/documents/{doc_id}": {
            "get": {"summary": "Download a decision document (PDF)", "security": [{"bearer": []}],
                    "parameters": [_path_int("doc_id")],
                    "responses": {"200": {"description": "The PDF", "content": {"application/pdf": {
                        "schema": {"type": "string", "format": "binary"}}}},
                        **{str(c): {"description": ERRORS[c], "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}}}} for c in (401, 403, 404)}}},
        },
        "/notices": {
            "get": _op("Your inbox, newest first", 200, _page("NoticeOut"), (422,), params=[
                _query("unread", {"type": "string", "enum": ["true", "false", "1", "0"]}),
                _query("page", {"type": "integer", "minimum": 1}),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200})]),
        },
        "/notices/{notice_id}/read": {
            "post": _op("Mark a notice read", 200, "NoticeOut", (404,), params=[_path_int("notice_id")]),
        },
        "/jobs": {
            "get": _op("Background jobs (admin)", 200, _page("JobOut"), (403, 422), params=[
                _query("state", {"type": "string", "enum": ["pending", "failed", "done"]}),
                _query("page", {"type": "integer", "minimum": 1}),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200})]),
        },
        "/jobs/{job_id}": {
            "get": _op("A job with its progress and result (admin, or the officer who started it)", 200, "JobOut",
                       (403, 404), params=[_path_int("job_id")]),
        },
        "/calls/{call_id}/documents/regenerate": {
            "post": _op("Check every issued document of a call against its recorded SHA-256, restoring missing "
                        "or altered files, as one background job (officer)", 202, "JobOut", (403, 404),
                        params=[_path_int("call_id")]),
        },
        "/jobs/{job_id}/retry": {
            "post": _op("Run a failed job again (admin)", 200, "JobOut", (403, 404), params=[_path_int("job_id")]),
        },
        "/statistics": {"get": _op("Counts and funds by channel, field, country, state and base", 200,
                                   {"type": "object"}, ())},
        "/calls/{call_id}/ranking": {
            "get": _op("The call's reviewed applications, best mean score first", 200,
                       {"type": "object", "required": ["items"], "properties": {
                           "call_id": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}},
                       (403, 404), params=[_path_int("call_id")]),
        },
        "/audit/events": {
            "get": _audit_events_op(),
        },
        "/audit/verify": {
            "post": _op("Verify the audit chain and its signed checkpoints, as `fundflow audit verify` does (admin)",
                        200, AUDIT_VERIFICATION, (403,)),
        },
        "/users/{user_id}": {
            "patch": _op("Change a user", 200, "UserOut", (400, 403, 404, 422), request=ref("UserPatch"),
                         params=[_path_int("user_id")]),
        },
    }
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    doc = spec.to_dict()
    doc["servers"] = [{"url": "/api/v1"}]
    return doc


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
