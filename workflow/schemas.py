"""Marshmallow schemas: what the API takes in and hands out."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

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
    MAX_ROW_ID,
    MILESTONE_KINDS,
    PARTNER_KINDS,
    RECOMMENDATIONS,
    ROLES,
)

MAX_YUAN = 10**13 - 1
MAX_GUIDE = 20_000  # characters of a call's guide, as the call form takes it
Yuan = lambda **kw: fields.Integer(strict=True, validate=validate.Range(0, MAX_YUAN), **kw)  # noqa: E731
Text = lambda n, **kw: fields.String(validate=validate.Length(max=n), **kw)  # noqa: E731
Name = lambda n=300, **kw: fields.String(validate=validate.Length(min=1, max=n), **kw)  # noqa: E731
# An id sent in a body: within what a database id can be (models.MAX_ROW_ID, PostgreSQL's INTEGER).
RowId = lambda **kw: fields.Integer(strict=True, validate=validate.Range(1, MAX_ROW_ID), **kw)  # noqa: E731


class StrictBool(fields.Boolean):
    """A JSON boolean: 0, 1 and "true" are not booleans.

    marshmallow's `truthy={True}` is not enough: it tests membership, and `1 in {True}` holds in Python.
    """

    default_error_messages = {"invalid": "Not a valid boolean: send true or false."}

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


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
    """One milestone of the cooperation agreement; `kind` defaults to a joint research output."""

    title = Name(required=True)
    kind = fields.String(validate=validate.OneOf(MILESTONE_KINDS))
    due_date = fields.Date(required=True)
    evidence = Text(2000, allow_none=True)


class OutcomesIn(Strict):
    papers = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    patents = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    standards = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    technologies_transferred = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    experts_engaged = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    researchers_trained = fields.Integer(strict=True, validate=validate.Range(0, 10**6), load_default=0)
    # 项目—基地—人才: was an international cooperation base built or strengthened, and which one.
    base = fields.String(validate=validate.OneOf(("built", "strengthened", "none")), load_default="none")
    base_id = RowId(allow_none=True, load_default=None)


class TransitionIn(Strict):
    """The body of a transition: a comment, the version seen and trigger-specific fields."""

    comment = Text(10000, allow_none=True)
    version = fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1), allow_none=True)
    approved_amount = fields.Integer(strict=True, validate=validate.Range(1, MAX_YUAN))
    milestones = fields.List(fields.Nested(MilestoneIn), validate=validate.Length(min=1, max=100))
    agreement = fields.Nested(lambda: AgreementIn())
    outcomes = fields.Nested(OutcomesIn)
    score = StrictNumber(validate=validate.Range(0, 100), allow_nan=False)
    # {criterion key: number}: each is judged against the review's rubric by the review_content guard
    scores = fields.Dict(keys=fields.String(validate=validate.Length(max=40)), values=fields.Raw(allow_none=True),
                         validate=validate.Length(max=50))
    conflict_with = fields.String(validate=validate.OneOf(["application", "institution"]))  # decline
    opinion = Text(20000)
    recommendation = fields.String(validate=validate.OneOf(RECOMMENDATIONS))
    report = Text(20000)
    attachments = fields.List(RowId(), validate=validate.Length(max=20))  # milestone_report uploads


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
    # The guide (申报指南), published with the call on /public/calls; blank is no guide.
    guide = Text(MAX_GUIDE, allow_none=True)
    guide_en = Text(MAX_GUIDE, allow_none=True)

    @post_load
    def _blank_guide_is_none(self, data, **kwargs):
        for key in ("guide", "guide_en"):
            if key in data:
                data[key] = (data[key] or "").strip() or None
        return data

    @validates_schema
    def _window(self, data, **kwargs):
        if "opens_at" in data and "closes_at" in data and data["closes_at"] <= data["opens_at"]:
            raise ValidationError({"closes_at": ["must be after opens_at"]})


class UserIn(Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))  # policy: the service
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
    password = fields.String(validate=validate.Length(min=1, max=1000), load_only=True)  # a new password


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
    compliance = fields.String(validate=validate.OneOf(("on_track", "at_risk", "overdue", "non_compliant")))
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
    sensitive_flagged = fields.Boolean()  # set by an officer during formal review (services/screening.py)
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
    # Set by the views from services.compliance: on_track, at_risk, overdue, non_compliant; null
    # when the project is not in execution.
    compliance = fields.String(dump_only=True, allow_none=True)

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
    scores = fields.Dict(allow_none=True)  # per criterion of the rubric it is scored against
    rubric_id = fields.Integer(allow_none=True)
    workflow_version = fields.Integer()
    declared_at = fields.DateTime(allow_none=True)
    opinion = fields.String(allow_none=True)
    recommendation = fields.String(allow_none=True)
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)


class MilestoneOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    seq = fields.Integer()
    title = fields.String()
    kind = fields.String()
    evidence = fields.String(allow_none=True)
    due_date = fields.Date()
    state = fields.String()
    version = fields.Integer()
    report = fields.String(allow_none=True)
    reported_at = fields.DateTime(allow_none=True)
    return_reason = fields.String(allow_none=True)  # the officer's, while the report is owed again
    accepted_at = fields.DateTime(allow_none=True)
    attachments = fields.Function(lambda m: [a.id for a in m.evidence_files])


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
    guide = fields.String(allow_none=True)
    guide_en = fields.String(allow_none=True)
    retired = fields.Boolean()
    disagreement_spread = fields.Float()
    # Filled in by the API from the call's current rubric (api/calls.py): named here for the OpenAPI document.
    rubric = fields.List(fields.Dict(), attribute="current_rubric_criteria")
    rubric_version = fields.Integer(allow_none=True, attribute="current_rubric_version")


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
    expires_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class SensitiveFlagIn(Strict):
    flagged = StrictBool(required=True)
    comment = Name(2000, required=True)  # the reason, required
    version = RowId()  # the version the officer saw (optional)


class Error(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw()



class CallPatch(CallIn):
    retired = StrictBool()


# A PATCH of a registry row: any field of its creation, checked as there, none required; and `retired`
# (true retires the row, false reinstates it).


class InstitutionPatch(Strict):
    name = Name(200)
    name_en = Text(300, allow_none=True)
    kind = fields.String(validate=validate.OneOf(INSTITUTION_KINDS))
    province = Text(60, allow_none=True)
    retired = StrictBool()


class BodyPatch(Strict):
    name = Name(200)
    name_en = Text(300, allow_none=True)
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    kind = fields.String(validate=validate.OneOf(BODY_KINDS))
    retired = StrictBool()


class BasePatch(Strict):
    name = Name(200)
    name_en = Text(300, allow_none=True)
    kind = fields.String(validate=validate.OneOf(BASE_KINDS))
    institution_id = RowId(allow_none=True)
    retired = StrictBool()


class RegistryQuery(Strict):
    """A registry list: `include_retired=1` (administrators) lists the retired rows too."""

    include_retired = fields.Boolean(truthy={"1", "true"}, falsy={"0", "false"}, load_default=False)


class BodyQuery(RegistryQuery):
    channel = fields.String(validate=validate.OneOf(CHANNELS))


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


# --- after the award: the cooperation agreement ---------------------------------------------------


class AgreementPartnerIn(Strict):
    name = Name(required=True)
    country = fields.String(required=True, validate=validate.OneOf(sorted(COUNTRY_CODES)))


class AgreementIn(Strict):
    """The international cooperation agreement the project rests on (sign_agreement's `agreement`)."""

    title = Name(required=True)
    partners = fields.List(fields.Nested(AgreementPartnerIn), required=True, validate=validate.Length(min=1, max=50))
    signed_on = fields.Date(required=True)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    commitments_domestic = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    commitments_foreign = fields.String(required=True, validate=validate.Length(min=1, max=10000))


class AgreementOut(Schema):
    signed_attachment_id = fields.Integer(allow_none=True)
    title = fields.String()
    partners = fields.List(fields.Dict())
    signed_on = fields.Date()
    valid_from = fields.Date()
    valid_until = fields.Date()
    commitments_domestic = fields.String()
    commitments_foreign = fields.String()
    created_at = fields.DateTime()


# --- rubrics and ranking (expert review) ----------------------------------------


class RubricIn(Strict):
    """A new version of a call's rubric: [{key, label, label_en, weight, min, max}].

    services.rubrics.validate judges the criteria (unique keys, weights above 0 adding up to 1,
    min below max) and names each problem as `criteria.<i>.<field>`.
    """

    criteria = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=20))


class CriterionOut(Schema):
    key = fields.String()
    label = fields.String()
    label_en = fields.String(allow_none=True)
    weight = fields.Float()
    min = fields.Float()
    max = fields.Float()


class RubricOut(Schema):
    id = fields.Integer()
    call_id = fields.Integer()
    version = fields.Integer()
    criteria = fields.List(fields.Nested(CriterionOut))
    created_at = fields.DateTime()


class RankingQuery(Strict):
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    field = fields.String(validate=validate.OneOf(FIELDS))
    format = fields.String(validate=validate.OneOf(["json", "csv", "pdf"]), load_default="json")


# --- the reviewer pool (services.pool) ---------------------------------------------------------

from .models import LANGUAGES  # noqa: E402  (kept with the block that uses it)


class ExpertQuery(Strict):
    field = fields.String(validate=validate.OneOf(FIELDS))
    country = fields.String(validate=validate.OneOf(sorted(COUNTRY_CODES)))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    active = fields.Boolean()
    institution_id = RowId()
    q = Text(200)
    page = fields.Integer(validate=validate.Range(1, 100_000), load_default=1)
    per_page = fields.Integer(validate=validate.Range(1, 500), load_default=50)


class ExpertProfileIn(Strict):
    name = Text(200)
    institution_id = RowId(allow_none=True)
    fields_ = fields.List(fields.String(validate=validate.OneOf(FIELDS)), data_key="fields",
                          attribute="fields", validate=validate.Length(max=len(FIELDS)))
    country = fields.String(validate=validate.OneOf(sorted(COUNTRY_CODES)))
    languages = fields.List(fields.String(validate=validate.OneOf(LANGUAGES)), validate=validate.Length(max=10))
    title = Text(200, allow_none=True)
    active = StrictBool()


class ExpertIn(ExpertProfileIn):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = Name(200, required=True)
    institution_id = RowId(required=True)
    fields_ = fields.List(fields.String(validate=validate.OneOf(FIELDS)), data_key="fields", attribute="fields",
                          required=True, validate=validate.Length(min=1, max=len(FIELDS)))
    password = fields.String(validate=validate.Length(min=8, max=1000))


class ExpertOut(Schema):
    id = fields.Function(lambda e: e.user.id)
    name = fields.Function(lambda e: e.user.name)
    email = fields.Function(lambda e: e.user.email)
    institution_id = fields.Function(lambda e: e.user.institution_id)
    institution = fields.Function(lambda e: e.user.institution.name if e.user.institution else None)
    fields_ = fields.Function(lambda e: e.fields, data_key="fields")
    country = fields.Function(lambda e: e.country)
    languages = fields.Function(lambda e: e.languages)
    title = fields.Function(lambda e: e.profile.title if e.profile else None)
    active = fields.Function(lambda e: e.in_pool)
    load = fields.Integer()
    history = fields.Function(lambda e: {"submitted": e.submitted, "declined": e.declined, "late": e.late})
    # One expert's page adds their reviews (api/reviewers.py); the list leaves them out.
    reviews = fields.List(fields.Nested(lambda: ReviewOut()), attribute="expert_reviews")


class SuggestionOut(Schema):
    reviewer_id = fields.Integer()
    name = fields.String()
    institution_id = fields.Integer(allow_none=True)
    country = fields.String()
    field_match = fields.Boolean()
    load = fields.Integer()


class SuggestQuery(Strict):
    n = fields.Integer(validate=validate.Range(1, 20), load_default=3)


class ReplaceIn(Strict):
    reviewer_id = RowId(allow_none=True)
    due_date = fields.Date(allow_none=True)


class BulkSuggestedIn(Strict):
    app_ids = fields.List(RowId(), required=True, validate=validate.Length(min=1, max=2000))
    per_application = fields.Integer(strict=True, validate=validate.Range(1, 10), load_default=3)
    due_date = fields.Date(allow_none=True)

