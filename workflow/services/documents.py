"""Reading decision documents and inbox notices; checking documents again; following and re-running jobs."""
from __future__ import annotations

from sqlalchemy import func, select

from .. import db, documents, notices, outbox
from ..errors import N_, NotFound, NotPermitted, Unavailable
from ..models import Call, Document, Notice, Outbox, User, utcnow
from ..permissions import Actor
from .applications import get_application


def documents_of(actor: Actor, app_id: int) -> list[Document]:
    get_application(actor, app_id)
    return list(db.session().scalars(select(Document).where(Document.application_id == app_id,
                                                            Document.sha256.is_not(None))
                                     .order_by(Document.id)))


def document_file(actor: Actor, doc_id: int) -> tuple[Document, bytes]:
    """An issued document and its bytes, checked against the SHA-256 its issue event recorded: for its
    institution and the fund's staff only.

    A file that is missing or no longer the recorded one is never served: every active administrator
    is told (once per document and finding), the regenerate job is staged to restore it from its frozen
    context, and the reader is told it is being restored (Unavailable, 503).
    """
    s = db.session()
    document = s.get(Document, doc_id)
    if document is None or document.sha256 is None:
        raise NotFound(f"document {doc_id} not found")
    application = get_application(actor, document.application_id)  # 404 for those who cannot see it
    if not (actor.acts_as_officer or (actor.role == "applicant" and
                                      application.institution_id == actor.institution_id)):
        raise NotPermitted("decision documents go to the applicant institution and the fund")
    content, found = documents.checked_content(s, document)
    if content is None:
        number = document.number
        s.rollback()
        _alert_and_restore(doc_id, found)
        raise Unavailable(f"document {number} is being restored; try again in a few minutes",
                          {"document": ["being restored"]},
                          template=N_("Document %(number)s is being restored. Please try again in a few minutes."),
                          params={"number": number})
    return document, content


def _alert_and_restore(doc_id: int, found: str | None) -> None:
    """Tell every active admin and stage the restoring job, once per (document, what was found)."""
    key = f"document-{doc_id}-{found[:16] if found else 'missing'}"
    with db.write_session() as w:
        document = w.get(Document, doc_id)
        admins = list(w.scalars(select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)))
        made = notices.file(w, admins, "document_altered", key, document.application, document=document,
                            doc_kind=documents.KINDS[document.kind], found=found)
        staged = [outbox.stage(w, "regenerate_document", document_id=doc_id)] if made else []
    outbox.hand_over(staged)


def inbox(actor: Actor, unread_only: bool = False, page: int = 1, per_page: int = 50):
    q = select(Notice).where(Notice.user_id == actor.id)
    if unread_only:
        q = q.where(Notice.read_at.is_(None))
    s = db.session()
    total = s.scalar(select(func.count()).select_from(q.subquery()))
    rows = s.scalars(q.order_by(Notice.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def mark_read(actor: Actor, notice_id: int) -> Notice:
    with db.write_session() as s:
        notice = s.get(Notice, notice_id)
        if notice is None or notice.user_id != actor.id:
            raise NotFound(f"notice {notice_id} not found")
        if notice.read_at is None:
            notice.read_at = utcnow()
    return notice


def jobs(state: str | None = None, page: int = 1, per_page: int = 50):
    q = select(Outbox)
    if state == "failed":
        q = q.where(Outbox.failed_at.is_not(None))
    elif state == "pending":
        q = q.where(Outbox.done_at.is_(None), Outbox.failed_at.is_(None))
    elif state == "done":
        q = q.where(Outbox.done_at.is_not(None))
    s = db.session()
    total = s.scalar(select(func.count()).select_from(q.subquery()))
    rows = s.scalars(q.order_by(Outbox.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def retry_job(outbox_id: int) -> Outbox:
    outbox.retry(outbox_id)
    row = db.session().get(Outbox, outbox_id)
    return row


def regenerate_documents(actor: Actor, call_id: int) -> Outbox:
    """Stage one job that checks (and restores) every issued document of a call; return it."""
    with db.write_session() as s:
        if s.get(Call, call_id) is None:
            raise NotFound(f"call {call_id} not found")
        outbox_id = outbox.stage(s, "regenerate_documents", started_by=actor.id, call_id=call_id)
    outbox.hand_over([outbox_id])
    return db.session().get(Outbox, outbox_id)


def get_job(actor: Actor, outbox_id: int) -> Outbox:
    """One job with its progress: for administrators, and for the officer who started it."""
    row = db.session().get(Outbox, outbox_id)
    if row is None:
        raise NotFound(f"job {outbox_id} not found")
    if actor.role != "admin" and row.started_by_id != actor.id:
        raise NotPermitted("a job is shown to administrators and to the officer who started it")
    return row
