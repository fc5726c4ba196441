"""Every background job: takes ids, reloads rows, and is safe to run twice.

Jobs are named from states/ (a transition's `jobs = [...]`) and reach the
queue through the outbox (workflow/outbox.py), never straight from a request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from functools import partial
from typing import Any, Callable

from sqlalchemy import select

from . import audit, db, documents, files, notices, outbox
from .actors import Actor
from .engine import workflow
from .services import bulk
from .models import Application, Document, Event, Milestone, Outbox, Review, User, utcnow

log = logging.getLogger(__name__)

Job = Callable[..., Any]  # returns None, or a dict summary the outbox keeps as the job's result
JOBS: dict[str, Job] = outbox.JOBS  # every job registers into the outbox's registry, which runs them


def issue_document(kind: str, event_id: int) -> None:
    """Number, render and record the document that `event_id` decided; once, whatever the retries."""
    with db.write_session() as s:
        doc_id = documents.prepare(s, kind, event_id).id
    s = db.session()
    document = s.get(Document, doc_id)
    path = documents.folder() / documents.stored_name(document)
    if document.sha256 is not None and path.exists():
        return
    pdf = documents.render(document.context)
    files.write_atomically(path, pdf)
    with db.write_session() as s:
        document = s.get(Document, doc_id, with_for_update=True)
        documents.record_issue(s, document, pdf, utcnow())


for _kind in documents.KINDS:
    JOBS[_kind] = partial(issue_document, _kind)


# What regenerate_documents found for each document.
INTACT = "intact"  # the file on disk is the recorded one
RESTORED = "restored"  # the file was missing: written again from the frozen context
REPLACED = "replaced"  # the file had other bytes: kept aside, and the recorded one written in its place
FAILED = "failed"  # the frozen context no longer renders to the recorded bytes: nothing written


def regenerate_documents(call_id: int) -> dict:
    """Re-render every issued document of a call's applications and check it against its recorded hash.

    A document is rendered again from its frozen context; only bytes whose
    SHA-256 is the one recorded at issue are ever written, so this never makes
    a second number or a different file. A missing file is restored; a file
    with other bytes is copied aside (documents/altered/) and restored, with an
    audit event either way; a context that renders differently (fonts or
    WeasyPrint changed) is a failure of that document, reported and left alone.
    Progress is recorded document by document.
    """
    s = db.session()
    ids = list(s.scalars(select(Document.id).join(Application, Document.application_id == Application.id)
                         .where(Application.call_id == call_id, Document.sha256.is_not(None))
                         .order_by(Document.id)))
    s.rollback()
    summary: dict[str, Any] = {"call_id": call_id, "total": len(ids), INTACT: 0, RESTORED: 0, REPLACED: 0,
                               FAILED: 0, "findings": []}
    outbox.progress(0, len(ids), f"{len(ids)} documents to check")
    for done, doc_id in enumerate(ids, start=1):
        number, outcome, detail = _regenerate_one(doc_id)
        summary[outcome] += 1
        if outcome != INTACT:
            summary["findings"].append({"document_id": doc_id, "number": number, "outcome": outcome,
                                        "detail": detail})
        outbox.progress(done, len(ids), f"{number}: {outcome}")
    outbox.progress(len(ids), len(ids), ", ".join(f"{summary[k]} {k}" for k in (INTACT, RESTORED, REPLACED, FAILED)))
    return summary


def _regenerate_one(doc_id: int) -> tuple[str, str, str | None]:
    """Check one issued document; return its number, the outcome and a detail for the report."""
    s = db.session()
    document = s.get(Document, doc_id)
    number, recorded, frozen = document.number, documents.recorded_sha256(s, document), document.context
    s.rollback()
    try:
        pdf = documents.render(frozen)
    except Exception as err:  # one document that cannot be rendered must not stop the walk
        log.exception("could not render document %s", number)
        return number, FAILED, f"could not render: {err}"[:300]
    digest = hashlib.sha256(pdf).hexdigest()
    if digest != recorded:
        return number, FAILED, f"the frozen context now renders to sha256 {digest}, not the recorded {recorded}"
    folder = documents.folder()
    with db.write_session() as w:  # one at a time: two runs never both restore the same file
        document = w.get(Document, doc_id, with_for_update=True)
        path = folder / document.stored_name
        found = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
        if found == recorded:
            return number, INTACT, None
        data: dict[str, Any] = {"kind": document.kind, "number": number, "sha256": recorded}
        if found is None:
            outcome, detail = RESTORED, "the file was missing"
        else:
            altered = folder / "altered" / f"{document.stored_name}.{found[:16]}"
            altered.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, altered)
            outcome = REPLACED
            detail = f"the file had sha256 {found}; kept as altered/{altered.name}"
            data.update(found_sha256=found, kept_as=f"altered/{altered.name}")
        files.write_atomically(path, pdf)
        audit.record(w, application_id=document.application_id, subject="document", subject_id=document.id,
                     trigger="restore", from_state=None, to_state=None, actor_id=None, role="system",
                     created_at=utcnow(), comment=detail, data=data)
        audit.seal(w)
    return number, outcome, detail


JOBS["regenerate_documents"] = regenerate_documents


def regenerate_document(document_id: int) -> dict:
    """Check and restore one issued document: staged when a download found it altered or missing."""
    number, outcome, detail = _regenerate_one(document_id)
    return {"document_id": document_id, "number": number, "outcome": outcome, "detail": detail}


JOBS["regenerate_document"] = regenerate_document


def notify(event_id: int) -> dict:
    """Tell the people a transition concerns, in the inbox and by e-mail.

    The inbox notices are committed first; e-mail trouble never fails the job
    (notices.deliver). A re-run e-mails what an earlier run could not, and
    nothing twice.
    """
    with db.write_session() as s:
        event = s.get(Event, event_id)
        app = s.get(Application, event.application_id)
        kind, who = notices.ON_TRIGGER[event.trigger]
        users = notices.recipients(s, app, who)
        if event.trigger in notices.ALSO_TO_BODY:
            users += notices.recipients(s, app, "body")
        state = workflow("application", app.workflow_version).states[event.to_state]
        key = f"event-{event.id}"
        notices.file(s, users, kind, key, app, event=event, outcome=(state.label, state.label_en))
        ids = notices.keyed(s, key)
    return {"notices": len(ids), "email_pending": notices.deliver(ids)}


JOBS["notify"] = notify


def notify_review_assigned(review_id: int) -> dict:
    with db.write_session() as s:
        review = s.get(Review, review_id)
        reviewer = s.get(User, review.reviewer_id)
        key = f"review-{review.id}-assigned"
        notices.file(s, [reviewer], "review_assigned", key, review.application,
                     user_name=reviewer.name or reviewer.email, due_date=review.due_date)
        ids = notices.keyed(s, key)
    return {"notices": len(ids), "email_pending": notices.deliver(ids)}


JOBS["notify_review_assigned"] = notify_review_assigned


def assign_reviewers(officer_id: int, pairs: list[list[int]], due_date: str | None = None,
                     app_ids: list[int] | None = None, per_application: int | None = None) -> dict:
    """The officer's bulk assignment (services.bulk), with progress: each (application, reviewer) pair,
    or, given `app_ids` and `per_application`, each application's panel filled from the pool's suggestions.

    It acts as the officer who asked, as they are now: one who has since lost the
    officer role or been deactivated assigns nothing.
    """
    user = db.session().get(User, officer_id)
    due = dt.date.fromisoformat(due_date) if due_date else None
    if user is None or not user.active or user.role not in ("officer", "admin"):
        outbox.progress(0, len(pairs), "the officer who started this may no longer assign reviewers")
        return {"total": len(pairs), bulk.ASSIGNED: 0, bulk.ALREADY: 0, bulk.REFUSED: len(pairs),
                "refusals": [], "error": "not_permitted"}
    actor = Actor.of(user)
    db.session().rollback()
    if app_ids:
        return bulk.perform_suggested(actor, app_ids, per_application or 3, due, progress=outbox.progress)
    return bulk.perform_assignments(actor, [tuple(p) for p in pairs], due, progress=outbox.progress)


JOBS["assign_reviewers"] = assign_reviewers


def alert_admins_of_failure(outbox_id: int) -> None:
    """Tell every active admin that a job used its last attempt: a failed job is never silent."""
    with db.write_session() as s:
        row = s.get(Outbox, outbox_id)
        if row is None or row.failed_at is None:
            return
        admins = list(s.scalars(select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)))
        notices.file(s, admins, "job_failed", f"job-failed-{row.id}-{row.failed_at:%Y%m%d%H%M%S%f}", None,
                     job=row.job, job_id=row.id, attempts=row.attempts, error=row.last_error or "")


outbox.ON_FAILURE.append(alert_admins_of_failure)


def notify_milestone_returned(event_id: int) -> dict:
    """Tell the applicant institution that a milestone report came back, with the officer's reason."""
    with db.write_session() as s:
        event = s.get(Event, event_id)
        app = s.get(Application, event.application_id)
        milestone = s.get(Milestone, event.subject_id)
        key = f"event-{event.id}"
        notices.file(s, notices.recipients(s, app, "institution"), "milestone_returned", key, app,
                     milestone=milestone, reason=event.comment or "")
        ids = notices.keyed(s, key)
    return {"notices": len(ids), "email_pending": notices.deliver(ids)}


JOBS["notify_milestone_returned"] = notify_milestone_returned


def _officer_notice(review: Review, officer_id: int, kind: str, key: str, **context) -> dict:
    with db.write_session() as s:
        officer = s.get(User, officer_id)
        if officer is None or not officer.active:
            return {"notices": 0, "email_pending": 0}
        reviewer = s.get(User, review.reviewer_id)
        notices.file(s, [officer], kind, key, s.get(Application, review.application_id),
                     user_name=officer.name or officer.email, reviewer_name=reviewer.name or reviewer.email,
                     review=review, **context)
        ids = notices.keyed(s, key)
    return {"notices": len(ids), "email_pending": notices.deliver(ids)}


def notify_review_replaced(review_id: int) -> dict:
    """Tell the officer that a declined or overdue assignment now has its replacement."""
    s = db.session()
    review = s.get(Review, review_id)
    old = s.get(Review, review.replaces_id)
    old_reviewer = s.get(User, old.reviewer_id)
    return _officer_notice(review, review.assigned_by_id, "review_replaced", f"review-{review.id}-replaces",
                           old_reviewer_name=old_reviewer.name or old_reviewer.email, old=old)


JOBS["notify_review_replaced"] = notify_review_replaced


def notify_review_declined(event_id: int) -> dict:
    """Tell the officer who assigned it that an expert declined: the assignment may be replaced."""
    s = db.session()
    event = s.get(Event, event_id)
    review = s.get(Review, event.subject_id)
    return _officer_notice(review, review.assigned_by_id, "review_declined", f"review-{review.id}-declined",
                           reason=event.comment)


JOBS["notify_review_declined"] = notify_review_declined
