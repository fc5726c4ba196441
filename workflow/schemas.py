"""Marshmallow schemas: what the API takes in and hands out."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .countries import COUNTRY_CODES
from .models import (
    ATTACHMENT_KINDS,
    BASE_KINDS,
    BODY_KINDS,
    CHANGE_KINDS,
    CHANNELS,
    COOPERATION_TYPES,
    FIELDS,
    INSTITUTION_KINDS,
    PARTNER_KINDS,
    RECOMMENDATIONS,
    ROLES,
)

MAX_YUAN = 10**13 - 1
Yuan = lambda **kw: fields.Integer(strict=True, validate=validate.Range(0, MAX_YUAN), **kw)  # noqa: E731
Text = lambda n, **kw: fields.String(validate=validate.Length(max=n), **kw)  # noqa: E731
Name = lambda n=300, **kw: fields.String(validate=validate.Length(min=1, max=n), **kw)  # noqa: E731
# An id sent in a body: within what a database id can be (a bigger one would overflow SQLite's INTEGER).
RowId = lambda **kw: fields.Integer(strict=True, validate=validate.Range(1, 2**63 - 1), **kw)  # noqa: E731
StrictBool = lambda **kw: fields.Boolean(truthy={True}, falsy={False}, **kw)  # noqa: E731


class StrictNumber(fields.Float):
    """A JSON number: "90" (text) and true (a boolean) are not numbers."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Strict(Schema):
    class Meta:
        unknown = RAISE


# --- input ---------------------------------------------------------------


class TokenRequest(Strict):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class PartnerIn(Strict):
    name = Name(required=True)
    country = fields.String(required=True, validate=validate.OneOf(sorted(COUNTRY_CODES)))
    kind = fields.String(required=True, validate=validate.OneOf(PARTNER_KINDS))


class BudgetIn(Strict):
    central = Yuan(load_default=0)
    local_matching = Yuan(load_default=0)
    self_raised = Yuan(load_default=0)


class ApplicationIn(Strict):
    """A draft's fields; every one may be left out of a PATCH."""

    call_id = fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1))
    title = Name()
    title_en = Text(300, allow_none=True)
    summary = Text(20000)
    field = fields.String(validate=validate.OneOf(FIELDS), allow_none=True)
    cooperation_type = fields.String(validate=validate.OneOf(COOPERATION_TYPES), allow_none=True)
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    body_id = fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1))
    base_id = fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1), allow_none=True)
    partners = fields.List(fields.Nested(PartnerIn), validate=validate.Length(max=50))
    budget = fields.Nested(BudgetIn)
    duration_months = fields.Integer(strict=True, validate=validate.Range(1, 120), allow_none=True)
    sensitive_technology = StrictBool()
    principal_investigator = Text(200, allow_none=True)
    foreign_experts = fields.Integer(strict=True, validate=validate.Range(0, 10000))
    young_researchers = fields.Integer(strict=True, validate=validate.Range(0, 10000))
    version = fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1))


class ApplicationCreate(ApplicationIn):
    @validates_schema
    def _required(self, data, **kwargs):
        missing = {k: ["required"] for k in ("call_id", "title", "channel", "body_id") if k not in data}
        if missing:
            raise ValidationError(missing)


class MilestoneIn(Strict):
    title = Name(required=True)
    due_date = fields.Date(required=True)


class OutcomesIn(Strict):
    papers = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    patents = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    standards = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    technologies_transferred = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    experts_engaged = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    researchers_trained = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)


class TransitionIn(Strict):
    """The body of a transition: a comment, the version seen and trigger-specific fields."""

    comment = Text(10000, allow_none=True)
    version = fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1), allow_none=True)
    approved_amount = fields.Integer(strict=True, validate=validate.Range(1, MAX_YUAN))
    milestones = fields.List(fields.Nested(MilestoneIn), validate=validate.Length(min=1, max=100))
    outcomes = fields.Nested(OutcomesIn)
    score = StrictNumber(validate=validate.Range(0, 100), allow_nan=False)
    opinion = Text(20000)
    recommendation = fields.String(validate=validate.OneOf(RECOMMENDATIONS))
    report = Text(20000)


class ReviewAssign(Strict):
    reviewer_id = fields.Integer(strict=True, required=True, validate=validate.Range(1, 2**31 - 1))
    due_date = fields.Date(allow_none=True)


class AttachmentIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(ATTACHMENT_KINDS))


class CallIn(Strict):
    code = Name(40, required=True)
    title = Name(required=True)
    title_en = Text(300, allow_none=True)
    opens_at = fields.AwareDateTime(required=True, default_timezone=None)
    closes_at = fields.AwareDateTime(required=True, default_timezone=None)
    fields_ = fields.List(fields.String(validate=validate.OneOf(FIELDS)), data_key="fields",
                          attribute="fields", load_default=list)
    total_budget = Yuan(required=True)
    quorum = fields.Integer(strict=True, validate=validate.Range(1, 50), load_default=3)
    min_matching_ratio = StrictNumber(validate=validate.Range(0, 100), allow_nan=False, load_default=0.0)
    max_central_per_project = Yuan(allow_none=True, load_default=None)
    grace_days = fields.Integer(strict=True, validate=validate.Range(0, 365), load_default=30)

    @validates_schema
    def _window(self, data, **kwargs):
        if "opens_at" in data and "closes_at" in data and data["closes_at"] <= data["opens_at"]:
            raise ValidationError({"closes_at": ["must be after opens_at"]})


class UserIn(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=8, max=1000))
    name = Text(200, load_default="")
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    institution_id = RowId(allow_none=True, load_default=None)
    body_id = RowId(allow_none=True, load_default=None)


class UserPatch(Strict):
    role = fields.String(validate=validate.OneOf(ROLES))
    institution_id = RowId(allow_none=True)
    body_id = RowId(allow_none=True)
    active = StrictBool()
    name = Text(200)


class InstitutionIn(Strict):
    name = Name(200, required=True)
    name_en = Text(300, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(INSTITUTION_KINDS))
    province = Text(60, allow_none=True)


class BodyIn(Strict):
    name = Name(200, required=True)
    name_en = Text(300, allow_none=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    kind = fields.String(required=True, validate=validate.OneOf(BODY_KINDS))


class BaseIn(Strict):
    name = Name(200, required=True)
    name_en = Text(300, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(BASE_KINDS))
    institution_id = RowId(allow_none=True, load_default=None)


class ApplicationQuery(Strict):
    state = fields.String(validate=validate.Length(max=40))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    field = fields.String(validate=validate.OneOf(FIELDS))
    country = fields.String(validate=validate.OneOf(sorted(COUNTRY_CODES)))
    call_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    page = fields.Integer(validate=validate.Range(1, 100000), load_default=1)
    per_page = fields.Integer(validate=validate.Range(1, 200), load_default=50)


# --- output --------------------------------------------------------------


class PartnerOut(Schema):
    name = fields.String()
    country = fields.String()
    kind = fields.String()


class RefusalOut(Schema):
    error = fields.String()
    message = fields.String()
    details = fields.Raw(allow_none=True)


class ActionOut(Schema):
    """A trigger as the caller sees it now: allowed, or the refusal firing it would meet."""

    trigger = fields.String()
    label = fields.String()
    label_en = fields.String()
    comment_required = fields.Boolean()
    allowed = fields.Boolean()
    reason = fields.Nested(RefusalOut)


class ApplicationOut(Schema):
    id = fields.Integer()
    call_id = fields.Integer()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    summary = fields.String()
    field = fields.String(allow_none=True)
    cooperation_type = fields.String(allow_none=True)
    channel = fields.String()
    body_id = fields.Integer()
    base_id = fields.Integer(allow_none=True)
    partners = fields.List(fields.Nested(PartnerOut))
    budget = fields.Method("_budget")
    duration_months = fields.Integer(allow_none=True)
    sensitive_technology = fields.Boolean()
    principal_investigator = fields.String(allow_none=True)
    foreign_experts = fields.Integer()
    young_researchers = fields.Integer()
    approved_amount = fields.Integer(allow_none=True)
    outcomes = fields.Dict(allow_none=True)
    state = fields.String()
    version = fields.Integer()
    institution = fields.Function(lambda a: {"id": a.institution.id, "name": a.institution.name,
                                             "kind": a.institution.kind})
    workflow_version = fields.Integer()
    submitted_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    # Set by the single-application views: the triggers this actor could try now, and
    # each of the actor's triggers from this state with whether it may fire and why not.
    available_triggers = fields.List(fields.String(), dump_only=True)
    actions = fields.List(fields.Nested(ActionOut), dump_only=True)

    def _budget(self, app):
        return {"central": app.budget_central, "local_matching": app.budget_local_matching,
                "self_raised": app.budget_self_raised}


class EventOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer(allow_none=True)
    subject = fields.String()
    subject_id = fields.Integer()
    trigger = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    role = fields.String()
    created_at = fields.DateTime()
    comment = fields.String(allow_none=True)
    data = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class ReviewOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    reviewer_id = fields.Integer()
    state = fields.String()
    version = fields.Integer()
    due_date = fields.Date(allow_none=True)
    score = fields.Float(allow_none=True)
    opinion = fields.String(allow_none=True)
    recommendation = fields.String(allow_none=True)
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)


class MilestoneOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    seq = fields.Integer()
    title = fields.String()
    due_date = fields.Date()
    state = fields.String()
    version = fields.Integer()
    report = fields.String(allow_none=True)
    reported_at = fields.DateTime(allow_none=True)


class AttachmentOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.DateTime()


class CallOut(Schema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    total_budget = fields.Integer()
    quorum = fields.Integer()
    min_matching_ratio = fields.Float()
    max_central_per_project = fields.Integer(allow_none=True)
    grace_days = fields.Integer()
    retired = fields.Boolean()


class InstitutionOut(Schema):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    kind = fields.String()
    province = fields.String(allow_none=True)
    retired = fields.Boolean()


class BodyOut(Schema):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    channel = fields.String()
    kind = fields.String()
    retired = fields.Boolean()


class BaseOut(Schema):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    kind = fields.String()
    institution_id = fields.Integer(allow_none=True)
    retired = fields.Boolean()


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    institution_id = fields.Integer(allow_none=True)
    body_id = fields.Integer(allow_none=True)
    active = StrictBool()


class ReviewerOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    institution_id = fields.Integer(allow_none=True)


class TokenOut(Schema):
    id = fields.Integer()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class Error(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw()



class CallPatch(CallIn):
    retired = StrictBool()


class ChangeRequestIn(Strict):
    """A change request: its kind, the reason (comment) and the change asked for."""

    kind = fields.String(required=True, validate=validate.OneOf(CHANGE_KINDS))
    comment = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    extend_months = fields.Integer(strict=True, validate=validate.Range(1, 24))
    budget = fields.Nested(BudgetIn)
    partners = fields.List(fields.Nested(PartnerIn), validate=validate.Length(min=1, max=50))
    principal_investigator = Name(200)

    @validates_schema
    def _fits_kind(self, data, **kwargs):
        wanted = {"extension": "extend_months", "budget_reallocation": "budget", "partner_change": "partners",
                  "pi_change": "principal_investigator"}
        kind = data.get("kind")
        if kind not in wanted:
            return
        errors = {name: [f"not part of a {kind} request"] for name in wanted.values()
                  if name in data and name != wanted[kind]}
        if wanted[kind] not in data:
            errors[wanted[kind]] = [f"required for a {kind} request"]
        if kind == "partner_change" and "partners" in data and all(p["country"] == "CN" for p in data["partners"]):
            errors["partners"] = ["at least one foreign partner is required"]
        if not (data.get("comment") or "").strip():
            errors["comment"] = ["the reason is required"]
        if errors:
            raise ValidationError(errors)


class ChangeRequestOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    version = fields.Integer()
    reason = fields.String()
    proposal = fields.Dict()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class DocumentOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    kind = fields.String()
    number = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    issued_at = fields.DateTime()
    issued_event_id = fields.Integer()
    source_event_id = fields.Integer()


class NoticeOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer(allow_none=True)
    kind = fields.String()
    subject = fields.String()
    body = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    emailed_at = fields.DateTime(allow_none=True)


class JobOut(Schema):
    id = fields.Integer()
    job = fields.String()
    payload = fields.Dict()
    created_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    started_by_id = fields.Integer(allow_none=True)
    progress_done = fields.Integer(allow_none=True)
    progress_total = fields.Integer(allow_none=True)
    progress_note = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True)


class ListQuery(Strict):
    page = fields.Integer(validate=validate.Range(1, 100000), load_default=1)
    per_page = fields.Integer(validate=validate.Range(1, 200), load_default=50)


class NoticeQuery(ListQuery):
    unread = fields.Boolean(truthy={"true", "1"}, falsy={"false", "0"}, load_default=False)


class JobQuery(ListQuery):
    state = fields.String(validate=validate.OneOf(("pending", "failed", "done")))
