"""Typed models: data and derived properties; they never commit or enqueue."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, backref, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .actors import ROLES, SYSTEM_ROLE  # noqa: F401  (the roles a user row may hold)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Store naive UTC, hand back aware UTC, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; fundflow stores UTC only")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


# Amounts are whole yuan: exact on every database.
Money = BigInteger()
# Every id column is INTEGER: 32 bits on PostgreSQL (SQLite would hold 64). A bigger id names no row;
# sent to PostgreSQL it is an error ("integer out of range"), so input is bounded by this first.
MAX_ROW_ID = 2**31 - 1


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON}


INSTITUTION_KINDS = (
    "university",
    "institute",
    "enterprise",
    "foreign_invested_enterprise",
    "foreign_institution",
)
# Foreign-invested enterprises and foreign institutions in China may apply,
# except where sensitive technology is involved (plan, §5 of its measures).
FOREIGN_INSTITUTION_KINDS = ("foreign_invested_enterprise", "foreign_institution")
CHANNELS = ("intergovernmental", "inter_agency", "ministry_province", "embassy")
BODY_KINDS = ("ministry_department", "provincial_department", "embassy_section", "bilateral_commission")
BASE_KINDS = (
    "innovation_park",
    "joint_research_center",
    "technology_transfer_center",
    "demonstration_base",
)
FIELDS = (
    "energy_resources",
    "new_materials_manufacturing",
    "information_networks",
    "modern_agriculture",
    "biology_health",
    "ecology_environment",
    "space_ocean",
    "public_safety",
    "climate_change",
    "food_security",
    "major_diseases",
)
COOPERATION_TYPES = (
    "joint_rnd",
    "technology_introduction",
    "talent_introduction",
    "base_construction",
    "big_science",
    "st_partnership",
)
PARTNER_KINDS = ("university", "institute", "enterprise", "government", "international_organization")
ATTACHMENT_KINDS = (
    "proposal",
    "cooperation_agreement",
    "signed_agreement",
    "milestone_report",
    "final_report",
)
RECOMMENDATIONS = ("fund", "fund_with_changes", "do_not_fund")
CHANGE_KINDS = ("extension", "budget_reallocation", "partner_change", "pi_change")
MILESTONE_KINDS = (
    "joint_research_output",
    "personnel_exchange",
    "technology_transfer",
    "foreign_experts_engaged",
    "annual_report",
    "mid_term_report",
)
LANGUAGES = ("zh", "en", "ru", "fr", "de", "es", "ja", "ko", "ar", "pt")
OUTCOME_KEYS = (
    "papers",
    "patents",
    "standards",
    "technologies_transferred",
    "experts_engaged",
    "researchers_trained",
)


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    province: Mapped[str | None] = mapped_column(String(60))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def is_foreign(self) -> bool:
        return self.kind in FOREIGN_INSTITUTION_KINDS


class Body(Base):
    """A recommending body: the only one that may endorse applications of its channel."""

    __tablename__ = "bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(30), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CooperationBase(Base):
    """An international S&T cooperation base (国际科技合作基地)."""

    __tablename__ = "bases"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    institution: Mapped[Institution | None] = relationship()


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    institution: Mapped[Institution | None] = relationship()
    body: Mapped[Body | None] = relationship()


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    # Touched at most once a minute per token, so reading the API does not write on every request.
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class Call(Base):
    """A call for proposals (项目指南): its window, fields, budget and rules."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(300))
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every field
    total_budget: Mapped[int] = mapped_column(Money)
    quorum: Mapped[int] = mapped_column(Integer, default=3)
    min_matching_ratio: Mapped[float] = mapped_column(Float, default=0.0)
    max_central_per_project: Mapped[int | None] = mapped_column(Money)
    grace_days: Mapped[int] = mapped_column(Integer, default=30)
    # Reviews whose scores spread wider than this (points on 0-100) are flagged as disagreeing.
    disagreement_spread: Mapped[float] = mapped_column(Float, default=20.0)
    guide: Mapped[str | None] = mapped_column(Text)  # the call's guide (申报指南), published with it
    guide_en: Mapped[str | None] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    rubrics: Mapped[list[Rubric]] = relationship(back_populates="call", order_by="Rubric.version")

    @property
    def rubric(self) -> Rubric | None:
        """The call's current rubric: its newest version."""
        return self.rubrics[-1] if self.rubrics else None

    def is_open(self, now: dt.datetime) -> bool:
        return not self.retired and self.opens_at <= now < self.closes_at


class Rubric(Base):
    """One version of a call's scoring rubric; a review keeps the version it started under."""

    __tablename__ = "rubrics"
    __table_args__ = (UniqueConstraint("call_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # [{key, label, label_en, weight, min, max}]; weights sum to 1
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="rubrics")


class ExpertProfile(Base):
    """A reviewer's entry in the pool (全球高端科技人才信息数据库); their institution is the user's."""

    __tablename__ = "expert_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of FIELDS
    country: Mapped[str] = mapped_column(String(2), default="CN")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of LANGUAGES
    title: Mapped[str | None] = mapped_column(String(200))  # professional title, e.g. 研究员
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # in the pool; the account may stay active
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(backref="expert_profile")


class ConflictDeclaration(Base):
    """A conflict an expert declared: with one application, or with an institution (kept three years)."""

    __tablename__ = "conflict_declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # Named as objects, so a declaration and a review made in one transaction are written in order.
    application: Mapped[Application | None] = relationship()
    review: Mapped[Review | None] = relationship()


def _routed(name: str, *columns: str) -> Index:
    """An index over the routed applications (submitted at least once), the ones officers list and count."""
    return Index(name, *columns, sqlite_where=text("submitted_at IS NOT NULL"),
                 postgresql_where=text("submitted_at IS NOT NULL"))


class Application(Base):
    __tablename__ = "applications"
    # The read side at national scale (migration 0005): counts, pages at any depth and grouped sums over
    # the routed applications read these partial indexes alone.
    __table_args__ = (
        _routed("ix_applications_routed_id", "id", "budget_central", "approved_amount"),  # pages, amounts by id
        _routed("ix_applications_routed_state", "state"),
        # The statistics' measures by channel, field and state, and what their joins read (institution, id).
        _routed("ix_applications_routed_channel", "channel", "field", "state", "budget_central", "approved_amount",
                "institution_id", "id"),
        _routed("ix_applications_routed_field", "field", "state"),
        _routed("ix_applications_routed_base", "base_id", "state", "budget_central", "approved_amount"),
        # The closed-out projects' outcomes (a tenth of the applications): the outcome totals read these rows only.
        Index("ix_applications_outcomes", "submitted_at", sqlite_where=text("outcomes IS NOT NULL"),
              postgresql_where=text("outcomes IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str | None] = mapped_column(String(40))
    cooperation_type: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(30))
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"), index=True)
    base_id: Mapped[int | None] = mapped_column(ForeignKey("bases.id"))
    budget_central: Mapped[int] = mapped_column(Money, default=0)
    budget_local_matching: Mapped[int] = mapped_column(Money, default=0)
    budget_self_raised: Mapped[int] = mapped_column(Money, default=0)
    duration_months: Mapped[int | None]
    sensitive_technology: Mapped[bool] = mapped_column(Boolean, default=False)
    # An officer may flag sensitive technology the applicant did not declare.
    sensitive_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    principal_investigator: Mapped[str | None] = mapped_column(String(200))
    foreign_experts: Mapped[int] = mapped_column(Integer, default=0)
    young_researchers: Mapped[int] = mapped_column(Integer, default=0)
    approved_amount: Mapped[int | None] = mapped_column(Money)
    outcomes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    workflow_version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[dt.datetime | None]  # first submission: from then on it is routed
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Optimistic locking: every UPDATE checks and bumps the version.
    __mapper_args__ = {"version_id_col": version}

    call: Mapped[Call] = relationship()
    institution: Mapped[Institution] = relationship()
    body: Mapped[Body] = relationship()
    base: Mapped[CooperationBase | None] = relationship()
    partners: Mapped[list[Partner]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Partner.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="application", order_by="Attachment.id"
    )
    reviews: Mapped[list[Review]] = relationship(back_populates="application", order_by="Review.id")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="application", order_by="Milestone.seq"
    )
    changes: Mapped[list[ChangeRequest]] = relationship(
        back_populates="application", order_by="ChangeRequest.id"
    )

    @property
    def budget_total(self) -> int:
        return self.budget_central + self.budget_local_matching + self.budget_self_raised

    @property
    def matching_ratio(self) -> float:
        """Local matching and self-raised funds per yuan of central funds."""
        if not self.budget_central:
            return 0.0
        return (self.budget_local_matching + self.budget_self_raised) / self.budget_central

    @property
    def partner_countries(self) -> list[str]:
        return sorted({p.country for p in self.partners})

    def attachment_kinds(self) -> set[str]:
        return {a.kind for a in self.attachments}


class Partner(Base):
    """A consortium partner, domestic (country CN) or foreign."""

    __tablename__ = "partners"
    # Both ways round: an application's countries, and a country's applications (migration 0005).
    __table_args__ = (Index("ix_partners_application_country", "application_id", "country"),
                      Index("ix_partners_country_application", "country", "application_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(40))
    # The registry institution this partner is, where one matches: conflicts are checked by id.
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)

    application: Mapped[Application] = relationship(back_populates="partners")
    institution: Mapped[Institution | None] = relationship()


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id"), index=True)  # evidence of a report
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(back_populates="attachments")


class Review(Base):
    """A review assignment: one expert's review of one application."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id"),
                      Index("ix_reviews_state_reviewer", "state", "reviewer_id"))  # open load per expert

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    workflow_version: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    score: Mapped[float | None] = mapped_column(Float)
    opinion: Mapped[str | None] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(String(30))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    rubric_id: Mapped[int | None] = mapped_column(ForeignKey("rubrics.id"))  # the version it is scored against
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {criterion key: score}
    declared_at: Mapped[dt.datetime | None]  # when the expert declared no conflict
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))  # a declined or overdue one
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]

    __mapper_args__ = {"version_id_col": version}

    application: Mapped[Application] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    rubric: Mapped[Rubric | None] = relationship()


class Milestone(Base):
    """A milestone of the cooperation agreement, created by sign_agreement."""

    __tablename__ = "milestones"
    # A project's milestones with what compliance and the on-time rate read (migration 0005).
    __table_args__ = (UniqueConstraint("application_id", "seq"),
                      Index("ix_milestones_application_state", "application_id", "state", "due_date", "reported_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    seq: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40), default="joint_research_output")  # one of MILESTONE_KINDS
    evidence: Mapped[str | None] = mapped_column(Text)  # the evidence the agreement expects
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    workflow_version: Mapped[int] = mapped_column(Integer)
    report: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[dt.datetime | None]
    return_reason: Mapped[str | None] = mapped_column(Text)  # the officer's, shown to the applicant
    accepted_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    application: Mapped[Application] = relationship(back_populates="milestones")
    evidence_files: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", viewonly=True)


class Agreement(Base):
    """The signed project agreement (任务书) and the international cooperation agreement it rests on."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    signed_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))  # the 任务书
    title: Mapped[str] = mapped_column(String(300))  # of the international cooperation agreement
    signed_on: Mapped[dt.date] = mapped_column(Date)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    partners: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{name, country}]
    commitments_domestic: Mapped[str] = mapped_column(Text, default="")
    commitments_foreign: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(backref=backref("agreement", uselist=False))


class ChangeRequest(Base):
    """A request to change a running project, decided by an officer."""

    __tablename__ = "change_requests"
    # At most one open request per kind per project, held by the database on every backend.
    __table_args__ = (Index("uq_change_requests_open", "application_id", "kind", unique=True,
                            sqlite_where=text("state = 'submitted'"), postgresql_where=text("state = 'submitted'")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    workflow_version: Mapped[int] = mapped_column(Integer)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)  # the change asked for, by kind
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]

    __mapper_args__ = {"version_id_col": version}

    application: Mapped[Application] = relationship(back_populates="changes")


class Event(Base):
    """One link of the audit chain. Rows are appended, never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    subject: Mapped[str] = mapped_column(String(20))  # application, review, milestone
    subject_id: Mapped[int]
    trigger: Mapped[str] = mapped_column(String(40), index=True)
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ChainHead(Base):
    """The single row that every append locks, so the chain cannot fork."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None]
    hash: Mapped[str] = mapped_column(String(64))


class SignInThrottle(Base):
    """Failed sign-ins counted per key: (e-mail, address), and the address alone (e-mail ''), to slow guessing.

    An attempt is counted before its password is checked, and refused while `blocked_until` lies ahead, so
    concurrent attempts cannot get more passwords checked than the count allows.
    """

    __tablename__ = "sign_in_throttles"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)  # '' for the address's own count
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[dt.datetime] = mapped_column(index=True)
    blocked_until: Mapped[dt.datetime | None]
    throttled_since: Mapped[dt.datetime | None]  # set with the "throttle" event, cleared with "throttle_lifted"


class DocumentCounter(Base):
    """The last number handed out for one kind of document in one year."""

    __tablename__ = "document_counters"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Document(Base):
    """A generated decision document (立项通知书 and its kin): numbered once, rendered from a frozen context."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("kind", "year", "seq"),
        UniqueConstraint("source_event_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(60), unique=True)
    source_event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))  # the decision it records
    context: Mapped[dict[str, Any]] = mapped_column(JSON)  # everything the PDF shows, as decided
    stored_name: Mapped[str | None] = mapped_column(String(100), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # verification by file
    size: Mapped[int | None]
    issued_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_at: Mapped[dt.datetime | None]

    application: Mapped[Application] = relationship()


class Outbox(Base):
    """Follow-up work recorded in the transition's own transaction, handed to the job queue after commit."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    failed_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: staged by a transition
    # A long job reports how far it got, each step in a small transaction of its own.
    progress_done: Mapped[int | None]
    progress_total: Mapped[int | None]
    progress_note: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the job returned, when it returns a summary


class Notice(Base):
    """A message in a user's in-app inbox; also e-mailed when SMTP is configured."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(120))  # a retried job never sends twice
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
    emailed_at: Mapped[dt.datetime | None]
    email_error: Mapped[str | None] = mapped_column(String(300))  # why the last try to e-mail it failed
