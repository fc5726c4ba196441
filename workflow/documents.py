"""Decision documents: numbered once, rendered by WeasyPrint from a frozen context.

A document is made in two steps so that numbers stay gap-free and a retry
never makes a second number or a different file:

1. `prepare` (one transaction): find the document for (decision event, kind),
   or take the next number of its kind and year and freeze everything the PDF
   will show. The number is committed together with the row, or not at all.
2. `render` is a pure function of that frozen context (fixed PDF identifier
   and dates), so rendering again gives the same bytes; `record_issue` stores
   the file's SHA-256 on the row and in an audit event.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import audit, labels
from .engine import workflow
from .models import Application, Document, DocumentCounter, Event, utcnow

BEIJING = ZoneInfo("Asia/Shanghai")  # documents are dated and numbered by the fund's calendar


@dataclass(frozen=True)
class Kind:
    prefix: str
    title: str
    title_en: str


KINDS = {
    "decision_notice": Kind("国科合", "立项通知书", "Notice of Project Approval"),
    "rejection_notice": Kind("国科合复", "不予立项通知书", "Notice of Rejection"),
    "termination_notice": Kind("国科合终", "项目终止通知书", "Notice of Termination"),
    "acceptance_opinion": Kind("国科合验", "结题验收意见", "Close-out Acceptance Opinion"),
}


def format_number(kind: str, year: int, seq: int) -> str:
    return f"{KINDS[kind].prefix}〔{year}〕{seq:04d}号"


def next_seq(session: Session, kind: str, year: int) -> int:
    """Take the next number of (kind, year) inside the caller's transaction.

    A counter row bumped with INSERT … ON CONFLICT DO UPDATE … RETURNING: the
    row lock serialises concurrent takers, and a rollback gives the number back.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(DocumentCounter)
        .values(kind=kind, year=year, value=1)
        .on_conflict_do_update(index_elements=["kind", "year"], set_={"value": DocumentCounter.value + 1})
        .returning(DocumentCounter.value)
    )
    return session.execute(stmt).scalar_one()


def prepare(session: Session, kind: str, source_event_id: int) -> Document:
    """The document recording `source_event_id`: found, or numbered and frozen now."""
    found = session.scalar(select(Document).where(Document.source_event_id == source_event_id,
                                                  Document.kind == kind))
    if found is not None:
        return found
    event = session.get(Event, source_event_id)
    application = session.get(Application, event.application_id)
    decided = event.created_at.astimezone(BEIJING)
    seq = next_seq(session, kind, decided.year)
    document = Document(application_id=application.id, kind=kind, year=decided.year, seq=seq,
                        number=format_number(kind, decided.year, seq), source_event_id=event.id,
                        created_at=utcnow())
    document.context = context(document, application, event)
    session.add(document)
    session.flush()
    return document


def context(document: Document, app: Application, event: Event) -> dict:
    """Everything the PDF shows, as it stood when the decision was taken (JSON only)."""
    kind = KINDS[document.kind]
    decided = event.created_at.astimezone(BEIJING)
    milestone_states = workflow("milestone").states
    return audit.normalise({
        "doc": {
            "kind": document.kind, "number": document.number, "title": kind.title, "title_en": kind.title_en,
            "comment": event.comment, "decided_at": event.created_at.isoformat(timespec="seconds"),
            "date_zh": f"{decided.year}年{decided.month}月{decided.day}日",
        },
        "app": {
            "reference": f"GJHZ-{app.id:06d}", "title": app.title, "title_en": app.title_en,
            "institution": app.institution.name, "institution_en": app.institution.name_en,
            "call": app.call.title, "call_code": app.call.code,
            "channel": labels.zh(labels.CHANNELS, app.channel), "channel_en": labels.en(labels.CHANNELS, app.channel),
            "body": app.body.name, "field": labels.zh(labels.FIELDS, app.field),
            "cooperation_type": labels.zh(labels.COOPERATION_TYPES, app.cooperation_type),
            "base": app.base.name if app.base else None,
            "partners": [{"name": p.name, "country": p.country, "country_name": labels.country(p.country)}
                         for p in app.partners],
            "duration_months": app.duration_months,
            "budget": {"central": app.budget_central, "local_matching": app.budget_local_matching,
                       "self_raised": app.budget_self_raised},
            "approved_amount": app.approved_amount,
            "milestones": [{"title": m.title, "due_date": m.due_date,
                            "state_label": milestone_states[m.state].label} for m in app.milestones],
            "outcomes": [{"label": labels.zh(labels.OUTCOMES, k), "label_en": labels.en(labels.OUTCOMES, k),
                          "value": v} for k, v in (app.outcomes or {}).items()],
        },
    })


def render(frozen: dict) -> bytes:
    """The PDF for a frozen context: the same bytes every time."""
    from weasyprint import HTML

    html = render_template(f"pdf/{frozen['doc']['kind']}.html", money=_money, **frozen)
    identifier = hashlib.sha256(frozen["doc"]["number"].encode()).hexdigest()[:32].encode()
    return HTML(string=html).write_pdf(pdf_identifier=identifier)


def warm_up() -> None:
    """Load WeasyPrint and the CJK fonts once, so forked work horses start with them in memory."""
    from weasyprint import HTML

    HTML(string='<p style="font-family: \'Noto Serif CJK SC\'">国科合</p>').write_pdf()


def _money(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def folder() -> Path:
    path = Path(current_app.config["DATA_DIR"]) / "documents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_name(document: Document) -> str:
    return f"{document.kind}-{document.year}-{document.seq:04d}.pdf"


def record_issue(session: Session, document: Document, pdf: bytes, now: dt.datetime) -> bool:
    """Store the file's hash on the row and in the audit chain, once; False if already issued."""
    digest = hashlib.sha256(pdf).hexdigest()
    if document.sha256 is not None:
        if document.sha256 != digest:
            raise RuntimeError(f"document {document.number} rendered differently on a retry")
        return False
    document.sha256, document.size, document.stored_name = digest, len(pdf), stored_name(document)
    document.issued_at = now
    event = audit.record(session, application_id=document.application_id, subject="document",
                         subject_id=document.id, trigger="issue", from_state=None, to_state=None, actor_id=None,
                         role="system", created_at=now, comment=None,
                         data={"kind": document.kind, "number": document.number, "sha256": digest,
                               "size": len(pdf), "source_event_id": document.source_event_id})
    audit.seal(session)
    document.issued_event_id = event.id
    return True
