"""Applications outside the state machine: drafts, edits, attachments, reviewers, queries."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, db, files, outbox, pdfcheck
from ..engine import workflow
from ..documents import BEIJING
from ..errors import N_, AlreadyAssigned, GuardFailed, InvalidInput, NotFound, NotPermitted, StaleVersion, TooLarge, TransitionRefused
from ..models import (
    Application,
    Attachment,
    Body,
    Call,
    CooperationBase,
    Event,
    ExpertProfile,
    Institution,
    Partner,
    Review,
    User,
    utcnow,
)
from ..permissions import Actor, can_see, proposal_withheld, visible_applications
from . import conflicts, registry

RETIRED_INSTITUTION = N_("%(institution)s is retired in the registry and cannot open new applications.")

EDITABLE_STATES = ("draft", "revision_requested")
# Which attachment may be uploaded while the application is in which state.
ATTACHMENT_STATES = {
    "proposal": EDITABLE_STATES,
    "cooperation_agreement": EDITABLE_STATES,
    "signed_agreement": ("approved",),
    "milestone_report": ("in_progress", "suspended"),
    "final_report": ("in_progress",),
}
SCALAR_FIELDS = ("title", "title_en", "summary", "field", "cooperation_type", "channel", "body_id",
                 "base_id", "duration_months", "sensitive_technology", "principal_investigator",
                 "foreign_experts", "young_researchers")


def create_application(actor: Actor, data: dict[str, Any]) -> Application:
    """Open a draft for the actor's own institution."""
    if actor.role != "applicant" or actor.institution_id is None:
        raise NotPermitted("only applicant institutions' staff may create applications")
    wf = workflow("application")
    now = utcnow()
    with db.write_session() as s:
        home = s.get(Institution, actor.institution_id)
        if home.retired:  # its applications under way go on; it opens no new one
            raise NotPermitted(f"{home.name} is retired in the registry and cannot open new applications",
                               template=RETIRED_INSTITUTION,
                               params={"institution": (home.name, home.name_en or home.name)})
        call = s.get(Call, data["call_id"])
        if call is None or call.retired:
            raise InvalidInput("no such call", {"call_id": ["not found"]})
        if not call.is_open(now):
            raise GuardFailed(f"call {call.code} is not open", {"call_id": ["the call is not open"]})
        app = Application(call_id=call.id, institution_id=actor.institution_id, created_by_id=actor.id,
                          state=wf.initial, workflow_version=wf.version, title=data["title"],
                          channel=data["channel"], body_id=data["body_id"], created_at=now, updated_at=now)
        _apply(s, app, data, had=None)
        s.add(app)
        s.flush()
        audit.record(s, application_id=app.id, subject="application", subject_id=app.id, trigger="create",
                     from_state=None, to_state=app.state, actor_id=actor.id, role=actor.role, created_at=now,
                     comment=None, data={"workflow_version": wf.version})
        audit.seal(s)
    return app


def update_application(actor: Actor, app_id: int, data: dict[str, Any]) -> Application:
    """Edit a draft or an application returned for revision."""
    version = data.pop("version", None)
    now = utcnow()
    try:
        with db.write_session() as s:
            app = visible_in(s, actor, app_id)
            if actor.role != "applicant" or app.institution_id != actor.institution_id:
                raise NotPermitted("only the applicant institution's staff may edit an application")
            if app.state not in EDITABLE_STATES:
                raise TransitionRefused(f"an application cannot be edited while {app.state}",
                                        {"state": app.state})
            if version is not None and version != app.version:
                raise StaleVersion(f"you saw version {version}; it is now at version {app.version}",
                                   {"version": app.version})
            if "call_id" in data and data.pop("call_id") != app.call_id:
                raise InvalidInput("an application cannot move to another call", {"call_id": ["cannot change"]})
            if not data:  # nothing to change: no new version, no event
                return app
            with s.no_autoflush:  # one UPDATE for the whole edit: one edit, one version
                _apply(s, app, data, had=(app.body_id, app.base_id))
            app.updated_at = now
            audit.record(s, application_id=app.id, subject="application", subject_id=app.id, trigger="edit",
                         from_state=app.state, to_state=app.state, actor_id=actor.id, role=actor.role,
                         created_at=now, comment=None, data={"fields": sorted(data)})
            audit.seal(s)
    except StaleDataError:
        raise StaleVersion("the application was changed by someone else; reload and try again") from None
    return app


def _apply(s: Session, app: Application, data: dict[str, Any], had: tuple[int, int | None] | None) -> None:
    """Set the edited fields; `had` is the (body, base) the application named before the edit, or None
    for a new one. A retired body or base cannot be chosen; one the application already names stays
    (a draft keeps its base; the submit guard asks for an active body)."""
    for name in SCALAR_FIELDS:
        if name in data:
            setattr(app, name, data[name])
    if "budget" in data:
        app.budget_central = data["budget"]["central"]
        app.budget_local_matching = data["budget"]["local_matching"]
        app.budget_self_raised = data["budget"]["self_raised"]
    if "partners" in data:
        app.partners = [Partner(**p) for p in data["partners"]]
        conflicts.link_partners(s, app.partners)  # conflicts of interest are then checked by id
    had_body, had_base = had if had is not None else (None, None)
    body = registry.choosable(s, Body, app.body_id, "body_id", keeping=had_body)
    if body.channel != app.channel:
        raise InvalidInput(f"{body.name} recommends through the {body.channel} channel",
                           {"body_id": [f"not a body of the {app.channel} channel"]})
    registry.choosable(s, CooperationBase, app.base_id, "base_id", keeping=had_base)


def add_attachment(actor: Actor, app_id: int, kind: str, filename: str, stream: IO[bytes]) -> Attachment:
    """Store an uploaded PDF for the applicant's own application, as `.pdf` whatever it was sent as.

    The file is parsed (workflow.pdfcheck) before anything is stored: one pypdf cannot read, an
    encrypted one, or one carrying scripts, launch actions or embedded files is refused at `file`.
    """
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    content = stream.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"attachments are limited to {_size(limit)}", {"file": [f"at most {limit} bytes"]})
    _may_upload(actor, visible_in(db.session(), actor, app_id), kind)  # who may, before any parsing
    db.session().rollback()
    pdfcheck.check(content)  # outside the write transaction: parsing never holds the database's write lock
    folder = Path(current_app.config["DATA_DIR"]) / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}.pdf"
    now = utcnow()
    with db.write_session() as s:
        app = visible_in(s, actor, app_id)
        _may_upload(actor, app, kind)  # again: the state may have moved while the file was checked
        digest = hashlib.sha256(content).hexdigest()
        att = Attachment(application_id=app.id, kind=kind, filename=pdf_name(filename), stored_name=stored,
                         size=len(content), sha256=digest, uploaded_by_id=actor.id, created_at=now)
        s.add(att)
        s.flush()
        data = {"kind": kind, "filename": att.filename, "sha256": digest, "size": len(content)}
        if (filename or "") != att.filename:
            data["sent_as"] = (filename or "")[:200]  # what the uploader's computer called it, for the record
        audit.record(s, application_id=app.id, subject="attachment", subject_id=att.id, trigger="upload",
                     from_state=None, to_state=None, actor_id=actor.id, role=actor.role, created_at=now,
                     comment=None, data=data)
        audit.seal(s)
        files.write_atomically(folder / stored, content)  # inside the transaction: a failed write rolls it back
    return att


def _may_upload(actor: Actor, app: Application, kind: str) -> None:
    if actor.role != "applicant" or app.institution_id != actor.institution_id:
        raise NotPermitted("only the applicant institution's staff may upload attachments")
    if app.state not in ATTACHMENT_STATES[kind]:
        raise TransitionRefused(f"a {kind} cannot be uploaded while the application is {app.state}",
                                {"state": app.state, "allowed_states": list(ATTACHMENT_STATES[kind])})


def _size(n: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{round(n / size, 1):g} {unit}"
    return f"{n} bytes"


def pdf_name(filename: str) -> str:
    """The name a stored PDF goes by: the sent name's stem, made safe, always ending in `.pdf`.

    `invoice.html` becomes `invoice.pdf`: a file is only ever stored after it parsed as a PDF, and a
    browser or desktop that trusts the extension must never open it as anything else. Control and
    bidirectional-format characters go (U+202E can disguise an extension).
    """
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    stem, dot, suffix = name.rpartition(".")
    stem = (stem if dot else suffix).strip().lstrip(".").strip()
    return f"{stem[:196] or 'attachment'}.pdf"


def attachment_path(att: Attachment) -> Path:
    return Path(current_app.config["DATA_DIR"]) / "attachments" / att.stored_name


def attachment_file(actor: Actor, app_id: int, attachment_id: int) -> tuple[Attachment, Path]:
    """One attachment of an application the actor may see, and its stored file (404 otherwise)."""
    app = get_application(actor, app_id)
    if proposal_withheld(actor, app):  # a reviewer reads the proposal only after declaring no conflict
        raise NotPermitted("declare that you have no conflict of interest first")
    att = db.session().get(Attachment, attachment_id)
    if att is None or att.application_id != app_id:
        raise NotFound(f"attachment {attachment_id} not found")
    path = attachment_path(att)
    if not path.exists():
        raise NotFound(f"the file of attachment {attachment_id} is missing")
    return att, path


def attachment_download(actor: Actor, app_id: int, attachment_id: int) -> tuple[Path, str]:
    """The stored file of an attachment and the `.pdf` name it downloads as (also for names stored before)."""
    att, path = attachment_file(actor, app_id, attachment_id)
    return path, pdf_name(att.filename)


REVIEW_DAYS = 21  # an assignment's due date when the officer names none (config REVIEW_DUE_DAYS)


def default_due_date() -> dt.date:
    """Today in Beijing plus the configured number of days for a review."""
    days = int(current_app.config.get("REVIEW_DUE_DAYS", REVIEW_DAYS))
    return utcnow().astimezone(BEIJING).date() + dt.timedelta(days=days)


def assign_reviewer(actor: Actor, app_id: int, reviewer_id: int, due_date=None,
                    replaces_id: int | None = None) -> Review:
    """Assign an expert from the pool, unless they are inactive, already on the panel or in conflict."""
    if not actor.acts_as_officer:
        raise NotPermitted("only program officers assign reviewers")
    now = utcnow()
    with db.write_session() as s:
        app = visible_in(s, actor, app_id)
        review = add_review(s, actor, app, reviewer_id, due_date or default_due_date(), now, replaces_id)
        audit.seal(s)
        follow_up = [outbox.stage(s, "notify_review_assigned", review_id=review.id)]
    outbox.hand_over(follow_up)
    return review


def add_review(s: Session, actor: Actor, app: Application, reviewer_id: int, due_date: dt.date,
               now: dt.datetime, replaces_id: int | None = None, *, barred: dict | None = None) -> Review:
    """Check and add one assignment in the caller's transaction, with its audit event (sealed by the caller).

    `barred`: conflicts.conflicted_institutions(s, app), read once by a caller seating a whole panel."""
    if app.state != "expert_review":
        raise TransitionRefused(f"reviewers are assigned during expert review, not while {app.state}",
                                {"state": app.state})
    reviewer = s.get(User, reviewer_id)
    if reviewer is None or reviewer.role != "reviewer" or not reviewer.active:
        raise InvalidInput("no such reviewer", {"reviewer_id": ["not an active reviewer"]})
    profile = s.get(ExpertProfile, reviewer.id)
    if profile is not None and not profile.active:  # no profile yet: in the pool with nothing recorded
        raise InvalidInput("the expert is not active in the reviewer pool",
                           {"reviewer_id": ["not active in the reviewer pool"]})
    if s.scalar(select(Review.id).where(Review.application_id == app.id, Review.reviewer_id == reviewer.id)):
        raise AlreadyAssigned("this reviewer is already assigned", {"reviewer_id": ["already assigned"]})
    conflict = conflicts.conflict_of(s, reviewer, app, now, barred)
    if conflict is not None:
        raise conflict.refusal()
    wf = workflow("review")
    review = Review(application_id=app.id, reviewer_id=reviewer.id, assigned_by_id=actor.id, state=wf.initial,
                    workflow_version=wf.version, due_date=due_date, replaces_id=replaces_id, created_at=now)
    s.add(review)
    s.flush()
    data = {"reviewer_id": reviewer.id, "due_date": due_date}
    if replaces_id is not None:
        data["replaces_id"] = replaces_id
    audit.record(s, application_id=app.id, subject="review", subject_id=review.id,
                 trigger="replace" if replaces_id else "assign", from_state=None, to_state=review.state,
                 actor_id=actor.id, role=actor.role, created_at=now, comment=None, data=data)
    return review


def conflict_of_interest(reviewer: User, app: Application) -> str | None:
    """Why `reviewer` may not review `app` (English), or None: services.conflicts says which rule."""
    found = conflicts.conflict_of(db.session(), reviewer, app)
    return found.message if found else None


# --- queries ------------------------------------------------------------------


def get_application(actor: Actor, app_id: int) -> Application:
    return visible_in(db.session(), actor, app_id)


_WHOLE = (joinedload(Application.partners), joinedload(Application.institution))


def application_to_show(actor: Actor, app_id: int) -> Application:
    """get_application with what an answer shows of it (partners, institution) read in the same query."""
    return visible_in(db.session(), actor, app_id, options=_WHOLE, populate_existing=True)


def visible_in(s: Session, actor: Actor, app_id: int, **get_options) -> Application:
    """The application `app_id` in session `s`, if `actor` may see it; else NotFound, as if it did not exist.

    `get_options` go to Session.get (loader options, populate_existing).
    """
    app = s.get(Application, app_id, **get_options)
    if app is None or not can_see(actor, app):
        raise NotFound(f"application {app_id} not found")
    return app


def list_applications(actor: Actor, *, state=None, channel=None, field=None, country=None, call_id=None,
                      page: int = 1, per_page: int = 50, base_id=None,
                      compliance=None) -> tuple[list[Application], int]:
    """The applications `actor` may see, narrowed by the filters, one page of them and the total.

    `compliance` is a status of services.compliance (on_track, at_risk, overdue, non_compliant).
    """
    q = _narrowed(visible_applications(actor), channel=channel, field=field, country=country,
                  call_id=call_id, base_id=base_id, compliance=compliance)
    if state:
        q = q.where(Application.state == state)
    total = db.session().scalar(select(func.count()).select_from(q.subquery()))
    return _page_of(q, page, per_page), total


def list_with_counts(actor: Actor, *, state=None, page: int = 1, per_page: int = 50,
                     **filters) -> tuple[list[Application], int, dict[str, int]]:
    """list_applications and count_by_state at once, for a page that shows both (the officer's dashboard).

    The total is read off the counts by state, which cover the same applications but for the state
    filter: one count instead of two, and a count of a country with many partners took 40 ms at
    100,000 applications.
    """
    counts = count_by_state(actor, **filters)
    total = counts.get(state, 0) if state else sum(counts.values())
    q = _narrowed(visible_applications(actor), **filters)
    if state:
        q = q.where(Application.state == state)
    return _page_of(q, page, per_page), total, counts


def _page_of(q, page: int, per_page: int) -> list[Application]:
    # The page's ids first, then their rows: the ids come from an index alone however deep the page,
    # and only the page's rows are read.
    ids = q.with_only_columns(Application.id).order_by(Application.id).limit(per_page) \
        .offset((page - 1) * per_page)
    return list(db.session().scalars(
        select(Application).where(Application.id.in_(ids))
        .options(selectinload(Application.partners), selectinload(Application.institution))
        .order_by(Application.id)
    ).all())


def count_by_state(actor: Actor, *, channel=None, field=None, country=None, call_id=None, base_id=None,
                   compliance=None) -> dict[str, int]:
    """{state: how many} of the applications `actor` may see under the same filters as list_applications."""
    q = _narrowed(visible_applications(actor), channel=channel, field=field, country=country,
                  call_id=call_id, base_id=base_id, compliance=compliance).subquery()
    rows = db.session().execute(select(q.c.state, func.count()).group_by(q.c.state))
    return {state: n for state, n in rows}


def _narrowed(q, *, channel=None, field=None, country=None, call_id=None, base_id=None, compliance=None):
    if channel:
        q = q.where(Application.channel == channel)
    if field:
        q = q.where(Application.field == field)
    if call_id:
        q = q.where(Application.call_id == call_id)
    if base_id:
        q = q.where(Application.base_id == base_id)
    if country:
        # IN, not a correlated EXISTS: the partners of one country (an index range) lead to their
        # applications, instead of each application being probed for a partner there.
        q = q.where(Application.id.in_(select(Partner.application_id).where(Partner.country == country)))
    if compliance:
        from .compliance import where

        q = q.where(where(compliance))
    return q


def history(actor: Actor, app_id: int) -> list[Event]:
    """The application's events, oldest first; reviews stay confidential to those who run them."""
    get_application(actor, app_id)
    q = select(Event).where(Event.application_id == app_id)
    if actor.role in ("applicant", "recommender"):
        q = q.where(Event.subject != "review")
    elif actor.role == "reviewer":
        own = select(Review.id).where(Review.application_id == app_id, Review.reviewer_id == actor.id)
        q = q.where((Event.subject != "review") | Event.subject_id.in_(own))
    return list(db.session().scalars(q.order_by(Event.id)))


def event_actors(events: list[Event]) -> dict[int, User]:
    """The users who acted in `events` (read from `history`), by id, for a timeline that names them."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session().scalars(select(User).where(User.id.in_(ids)))}
