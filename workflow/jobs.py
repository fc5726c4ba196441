"""Every background job: takes ids, reloads rows, and is safe to run twice.

Jobs are named from states/ (a transition's `jobs = [...]`) and reach the
queue through the outbox (workflow/outbox.py), never straight from a request.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from . import db, documents, notices
from .engine import workflow
from .models import Application, Document, Event, Review, User, utcnow

Job = Callable[..., None]
JOBS: dict[str, Job] = {}


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
    documents.write_file(path, pdf)
    with db.write_session() as s:
        document = s.get(Document, doc_id, with_for_update=True)
        documents.record_issue(s, document, pdf, utcnow())


for _kind in documents.KINDS:
    JOBS[_kind] = partial(issue_document, _kind)


def notify(event_id: int) -> None:
    """Tell the people a transition concerns, in the inbox and by e-mail."""
    with db.write_session() as s:
        event = s.get(Event, event_id)
        app = s.get(Application, event.application_id)
        kind, who = notices.ON_TRIGGER[event.trigger]
        users = notices.recipients(s, app, who)
        if event.trigger in notices.ALSO_TO_BODY:
            users += notices.recipients(s, app, "body")
        state = workflow("application", app.workflow_version).states[event.to_state]
        made = notices.file(s, users, kind, f"event-{event.id}", app, event=event,
                            outcome=(state.label, state.label_en))
        ids = [n.id for n in made]
    notices.deliver(ids)


JOBS["notify"] = notify


def notify_review_assigned(review_id: int) -> None:
    with db.write_session() as s:
        review = s.get(Review, review_id)
        reviewer = s.get(User, review.reviewer_id)
        made = notices.file(s, [reviewer], "review_assigned", f"review-{review.id}-assigned", review.application,
                            user_name=reviewer.name or reviewer.email, due_date=review.due_date)
        ids = [n.id for n in made]
    notices.deliver(ids)


JOBS["notify_review_assigned"] = notify_review_assigned
