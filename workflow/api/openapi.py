"""The OpenAPI document of /api/v1, built from the marshmallow schemas."""
from __future__ import annotations

from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from .. import schemas
from ..models import ATTACHMENT_KINDS, CHANNELS, ROLES, SYSTEM_ROLE
from .blueprint import bp

ERRORS = {
    400: "Malformed request",
    401: "Not signed in",
    403: "Not allowed for this actor",
    404: "Not found",
    409: "Wrong state or stale version",
    413: "Upload too large",
    422: "Invalid input",
    429: "Too many failed sign-ins",
    503: "Temporarily unavailable (a document whose file failed its check is being restored)",
}
APP_ID = {"name": "app_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _page(name: str) -> dict:
    return {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}}}


def _with_job(op: dict) -> dict:
    """The operation may also answer 202 with the job it started."""
    op["responses"]["202"] = {"description": "Started as a job", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/JobOut"}}}}
    return op


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


def _pdf_op(summary: str, errors: tuple[int, ...], *, params: list) -> dict:
    """A download: the PDF itself on success, JSON errors otherwise."""
    op = _op(summary, 200, None, errors, params=params)
    op["responses"]["200"] = {"description": "The PDF", "content": {"application/pdf": {
        "schema": {"type": "string", "format": "binary"}}}}
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


def _pool_paths(spec: APISpec, ref) -> dict:
    """The reviewer pool, suggestions, replacement and bulk assignment (officers and admins)."""
    for name in ("ExpertOut", "ExpertIn", "ExpertProfileIn", "SuggestionOut", "ReplaceIn", "BulkSuggestedIn"):
        spec.components.schema(name, schema=getattr(schemas, name))
    expert = {"allOf": [ref("ExpertOut"), {"type": "object", "properties": {
        "reviews": {"type": "array", "items": ref("ReviewOut")}}}]}
    user_id, app_id = _path_int("user_id"), APP_ID
    filters = [_query("field", {"type": "string"}), _query("country", {"type": "string"}),
               _query("language", {"type": "string"}), _query("active", {"type": "boolean"}),
               _query("institution_id", {"type": "integer", "minimum": 1}), _query("q", {"type": "string"}),
               _query("page", {"type": "integer", "minimum": 1}),
               _query("per_page", {"type": "integer", "minimum": 1, "maximum": 500})]
    csv_file = {"type": "object", "required": ["file"], "properties": {"file": {
        "type": "string", "format": "binary",
        "description": "UTF-8 CSV with a header: email, institution (registry id or name), fields (codes, "
                       "`;`-separated) required; name, country (ISO 3166), languages, title, active (yes/no)"}}}
    summary = {"type": "object", "required": ["assigned", "refused", "refusals"]}
    return {
        "/reviewers": {
            "get": _op("The reviewer pool, filtered, with each expert's load (open assignments) and history "
                       "(submitted, declined, late)", 200, _page("ExpertOut"), (403, 422), params=filters),
            "post": _op("Add an expert: a reviewer account and their profile", 201, expert, (400, 403, 422),
                        request=ref("ExpertIn")),
        },
        "/reviewers/{user_id}": {
            "get": _op("One expert with their assignments", 200, expert, (403, 404), params=[user_id]),
            "patch": _op("Change an expert's profile", 200, expert, (400, 403, 404, 422),
                         request=ref("ExpertProfileIn"), params=[user_id]),
        },
        "/reviewers/import": {
            "post": _op("Import experts from a CSV file: all rows or none; each bad row is named in "
                        "`details.rows` as {line, field, message}", 201,
                        {"type": "object", "required": ["imported"], "properties": {
                            "imported": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "integer"}}}},
                        (403, 413, 422), multipart=csv_file),
        },
        "/applications/{app_id}/suggestions": {
            "get": _op("Conflict-free experts active in the pool for the application: field match, then lowest "
                       "load, then spread across institutions and countries", 200,
                       {"type": "object", "required": ["items"], "properties": {
                           "items": {"type": "array", "items": ref("SuggestionOut")}}}, (403, 404, 422),
                       params=[app_id, _query("n", {"type": "integer", "minimum": 1, "maximum": 20})]),
        },
        "/applications/{app_id}/reviews/{review_id}/replace": {
            "post": _op("Replace a declined or overdue assignment (by the chosen expert, or the top suggestion); "
                        "the officer is told in the inbox", 201, "ReviewOut", (400, 403, 404, 409, 422),
                        request=ref("ReplaceIn"), params=[app_id, _path_int("review_id")]),
        },
        "/reviews/bulk": {
            "post": _with_job(_op("Bring each application's panel up to `per_application` suggested, "
                                  "conflict-free experts: answered at once when small, else as a job (202)", 200,
                                  summary, (400, 403, 422), request=ref("BulkSuggestedIn"))),
        },
    }


@cache
def document() -> dict:
    spec = APISpec(title="fundflow", version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Workflow and approval engine of the International S&T "
                                        "Cooperation Special Fund (国家国际科技合作专项)."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    # Nested schemas first: the plugin registers a nested one by itself when it meets it unregistered.
    for name in ("AgreementOut", "AgreementIn", "Error", "ApplicationOut", "ApplicationCreate", "ApplicationIn", "TransitionIn", "EventOut",
                 "ReviewOut", "ReviewAssign", "MilestoneOut", "AttachmentOut", "CallOut", "CallIn", "CallPatch",
                 "InstitutionOut", "InstitutionIn", "InstitutionPatch", "BodyOut", "BodyIn", "BodyPatch", "BaseOut",
                 "BaseIn", "BasePatch", "UserOut", "UserIn",
                 "UserPatch", "ReviewerOut", "TokenOut", "TokenRequest", "SensitiveFlagIn", "ChangeRequestIn",
                 "ChangeRequestOut", "DocumentOut", "NoticeOut", "JobOut", "RubricIn", "RubricOut"):
        spec.components.schema(name, schema=getattr(schemas, name))
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    app_id, trigger = APP_ID, _path_str("trigger")
    retired = _query("include_retired", {"type": "string", "enum": ["1", "0", "true", "false"],
                                         "description": "1: the retired rows too (administrators only; 403 "
                                                        "for anyone else)"})
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
        "/calls/{call_id}/rubric": {
            "get": _op("Every version of the call's scoring rubric, oldest first", 200, {
                "type": "object", "properties": {"call_id": {"type": "integer"}, "current": {"nullable": True, "allOf": [ref("RubricOut")]},
                                                 "versions": {"type": "array", "items": ref("RubricOut")}}},
                (404,), params=[_path_int("call_id")]),
            "put": _op("Change the call's rubric (admin): a new version; reviews already declared keep theirs. "
                       "Keys unique, weights above 0 adding up to 1, min below max; problems as "
                       "`criteria.<i>.<field>`", 200, "RubricOut", (400, 403, 404, 422),
                       request=ref("RubricIn"), params=[_path_int("call_id")]),
        },
        "/calls/{call_id}": {
            "get": _op("A call, with its current rubric as `rubric: [{key, label, label_en, weight, min, max}]`",
                       200, "CallOut", (404,), params=[_path_int("call_id")]),
            "patch": _op("Change a call", 200, "CallOut", (400, 403, 404, 422), request=ref("CallPatch"),
                         params=[_path_int("call_id")]),
        },
        "/applications": {
            "get": _op("List applications you may see", 200, _page("ApplicationOut"), (422,), params=[
                _query("state", {"type": "string"}), _query("channel", {"type": "string", "enum": list(CHANNELS)}),
                _query("field", {"type": "string"}), _query("country", {"type": "string"}),
                _query("call_id", {"type": "integer"}),
                _query("compliance", {"type": "string", "enum": ["on_track", "at_risk", "overdue", "non_compliant"]}),
                _query("page", {"type": "integer", "minimum": 1}),
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
        "/applications/{app_id}/sensitive": {
            "post": _op("Flag or clear sensitive technology, with the reason (officer, during formal review)", 200,
                        "ApplicationOut", (400, 403, 404, 409, 422), request=ref("SensitiveFlagIn"),
                        params=[app_id]),
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
            "post": _op("Fire a review trigger: declare_no_conflict; submit_review with `scores: {key: number}` "
                        "for every criterion of the review's rubric (or `score` 0-100 for a review without one), "
                        "`opinion` and `recommendation`, refused per field as `scores.<key>`; decline with "
                        "`comment` and `conflict_with` (application or institution)", 200, "ReviewOut",
                        (400, 403, 404, 409, 422), request=ref("TransitionIn"),
                        params=[app_id, _path_int("review_id"), trigger]),
        },
        "/applications/{app_id}/milestones": {
            "get": _op("Milestones of the cooperation agreement", 200, _page("MilestoneOut"), (404,),
                       params=[app_id]),
        },
        "/applications/{app_id}/agreement": {
            "get": _op("The international cooperation agreement recorded by sign_agreement (its `agreement`: "
                       "title, partners [{name, country}], signed_on, valid_from, valid_until, commitments on each "
                       "side) and the signed project agreement's attachment id", 200, "AgreementOut", (404,),
                       params=[app_id]),
        },
        "/applications/{app_id}/milestones/{milestone_id}/transitions/{trigger}": {
            "post": _op("Fire a milestone trigger: report with `report` (text, required) and `attachments` "
                        "(ids of milestone_report uploads); accept; return with `comment` (the reason, kept as "
                        "the milestone's return_reason)", 200, "MilestoneOut",
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
        "/applications/{app_id}/attachments/{attachment_id}": {
            "get": _pdf_op("Download an attachment (always a PDF, named `.pdf`, sent as an attachment)", (403, 404),
                           params=[app_id, _path_int("attachment_id")]),
        },
        "/bodies": {
            "get": _op("Recommending bodies an application may name (retired ones left out)", 200,
                       _page("BodyOut"), (403, 422),
                       params=[_query("channel", {"type": "string", "enum": list(CHANNELS)}), retired]),
            "post": _op("Add a recommending body", 201, "BodyOut", (400, 403, 422), request=ref("BodyIn")),
        },
        "/bodies/{body_id}": {
            "patch": _op("Change a recommending body (admin); `retired: true` retires it: no new application is "
                         "routed to it, those already routed stay. Its channel changes only while no application "
                         "names it", 200, "BodyOut", (400, 403, 404, 422), request=ref("BodyPatch"),
                         params=[_path_int("body_id")]),
        },
        "/bases": {
            "get": _op("International cooperation bases an application may link (retired ones left out)", 200,
                       _page("BaseOut"), (403, 422), params=[retired]),
            "post": _op("Add a base", 201, "BaseOut", (400, 403, 422), request=ref("BaseIn")),
        },
        "/bases/{base_id}": {
            "patch": _op("Change a cooperation base (admin); `retired: true` retires it: no longer offered to new "
                         "applications, its history kept in the statistics", 200, "BaseOut", (400, 403, 404, 422),
                         request=ref("BasePatch"), params=[_path_int("base_id")]),
        },
        "/institutions": {
            "get": _op("Institutions that may take new members (retired ones left out)", 200,
                       _page("InstitutionOut"), (403, 422), params=[retired]),
            "post": _op("Add an institution", 201, "InstitutionOut", (400, 403, 422),
                        request=ref("InstitutionIn")),
        },
        "/institutions/{institution_id}": {
            "patch": _op("Change an institution (admin); `retired: true` retires it: no new members or "
                         "applications, what it has keeps working, its experts still conflict", 200,
                         "InstitutionOut", (400, 403, 404, 422), request=ref("InstitutionPatch"),
                         params=[_path_int("institution_id")]),
        },
        "/users": {
            "get": _op("Users", 200, _page("UserOut"), (403,)),
            "post": _op("Add a user", 201, "UserOut", (400, 403, 422), request=ref("UserIn")),
        },
        "/applications/{app_id}/changes": {
            "get": _op("Change requests of a project", 200, _page("ChangeRequestOut"), (404,), params=[app_id]),
            "post": _op("Request a change (extension, budget reallocation, partner or PI change): one open request "
                        "per kind (409 for a second); a reallocation keeps the central funds and the call's "
                        "matching ratio, a partner change a foreign partner, a PI change names someone new "
                        "(422 at the field otherwise)", 201,
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
                            "schema": {"$ref": "#/components/schemas/Error"}}}} for c in (401, 403, 404, 503)}}},
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
        "/statistics": {"get": _op(
            "Counts and funds by channel, field, country, state and base; outcome totals; milestones on time per "
            "institution and channel (officers and admins: every routed application; recommenders: their own "
            "body's, amounts withheld (null, `withheld: true`) for groups under `min_group` applications)", 200,
            {"type": "object", "required": ["total", "by_channel", "outcomes", "on_time"]}, (403,))},
        "/statistics/bases": {"get": _op(
            "Each cooperation base's projects, talent and outcomes, and the registry's growth toward the plan's "
            "500 bases (officers and admins)", 200,
            {"type": "object", "required": ["bases", "growth", "target"]}, (403,))},
        "/statistics/countries/{code}": {"get": _op(
            "The figures of the country report (国别报告) for one partner country (officers and admins)", 200,
            {"type": "object", "required": ["country", "by_year", "partners", "outcomes"]}, (403, 404),
            params=[_path_str("code")])},
        "/statistics/countries/{code}/report": {"get": {
            **_op("The country report (国别报告) as a PDF: projects, funds, partners and outcomes over the years "
                  "(officers and admins)", 200, None, (403, 404), params=[_path_str("code")]),
            "responses": {**_op("", 200, None, (403, 404))["responses"], "200": {
                "description": "The PDF", "content": {"application/pdf": {"schema": {
                    "type": "string", "format": "binary"}}}}}}},
        "/calls/{call_id}/ranking": {
            "get": _op("The call's reviewed applications, best mean weighted total first, with spread, "
                       "recommendations, a disagreement flag and the requested central funds added up against "
                       "the call's budget; `format=csv` or `format=pdf` (the review summary) to export", 200,
                       {"type": "object", "required": ["items"], "properties": {
                           "call_id": {"type": "integer"}, "total_budget": {"type": "integer"},
                           "budget_line_after": {"type": "integer", "nullable": True,
                                                 "description": "the last rank the budget still covers"},
                           "items": {"type": "array", "items": {"type": "object"}}}},
                       (403, 404, 422), params=[
                           _path_int("call_id"), _query("channel", {"type": "string", "enum": list(CHANNELS)}),
                           _query("field", {"type": "string"}),
                           _query("format", {"type": "string", "enum": ["json", "csv", "pdf"]})]),
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
    paths.update(_pool_paths(spec, ref))
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    doc = spec.to_dict()
    doc["servers"] = [{"url": "/api/v1"}]
    return doc


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
