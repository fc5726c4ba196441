"""Decision documents: numbered once, rendered by WeasyPrint from a frozen context.

A document is made in two steps so that numbers stay gap-free and a retry
never makes a second number or a different file:

1. `prepare` (one transaction): find the document for (decision event, kind),
   or take the next number of its kind and year and freeze everything the PDF
   will show. The number is committed together with the row, or not at all.
2. `render` is a pure function of that frozen context (fixed PDF identifier
   and dates), so rendering again gives the same bytes; `record_issue` stores
   the file's SHA-256 on the row and in an audit event.

A download is served only when the file's bytes still hash to the SHA-256 of
that issue event (`checked_content`), which itself must still hash into the
chain; anything else is refused, and the document is restored from its
frozen context by the regenerate job.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from markupsafe import Markup
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
                          "value": v} for k, v in (app.outcomes or {}).items() if k in labels.OUTCOMES]
            + _base_outcome(app),
        },
    })


# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the marks that can
# reorder neutral characters around them (U+200E, U+200F, U+061C): in a partner's name they make the PDF
# show the letters in another order than they were typed. Removed from everything a PDF shows; the
# frozen context keeps what was typed.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])


# 项目—基地—人才: what close-out says of a cooperation base, as one more row of the outcomes.
BASE_OUTCOME = {"built": ("新建", "built"), "strengthened": ("提升", "strengthened")}


def _base_outcome(app: Application) -> list[dict]:
    from sqlalchemy.orm import object_session

    from .models import CooperationBase

    outcomes = app.outcomes or {}
    if outcomes.get("base") not in BASE_OUTCOME or not outcomes.get("base_id"):
        return []
    base = object_session(app).get(CooperationBase, outcomes["base_id"])
    zh, en = BASE_OUTCOME[outcomes["base"]]
    name = base.name if base else str(outcomes["base_id"])
    return [{"label": "国际科技合作基地", "label_en": "International cooperation base",
             "value": f"{zh}：{name} / {en}"}]


def bidi_safe(rendered: str) -> Markup:
    """The `bidi_safe` filter: templates/pdf/base.html wraps the whole document in it, so every value
    any PDF template shows passes through it, including ones added later. It receives the already
    escaped output of the block, so marking the result safe adds nothing unescaped."""
    return Markup(str(rendered).translate(BIDI_CONTROLS))


def register(app) -> None:
    app.jinja_env.filters["bidi_safe"] = bidi_safe


def render(frozen: dict) -> bytes:
    """The PDF for a frozen context: the same bytes every time."""
    from weasyprint import HTML

    from .pdf_render import url_fetcher

    html = render_template(f"pdf/{frozen['doc']['kind']}.html", money=_money, **frozen)
    identifier = hashlib.sha256(frozen["doc"]["number"].encode()).hexdigest()[:32].encode()
    return HTML(string=html, url_fetcher=url_fetcher()).write_pdf(pdf_identifier=identifier)


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


def recorded_sha256(session: Session, document: Document) -> str | None:
    """The SHA-256 the audit trail recorded when `document` was issued, or None when that record is missing,
    edited (its event no longer hashes to its own hash) or disagrees with the row."""
    event = session.get(Event, document.issued_event_id) if document.issued_event_id else None
    if event is None or (event.subject, event.subject_id, event.trigger) != ("document", document.id, "issue"):
        return None
    if audit.chain_hash(event.prev_hash, event) != event.hash:
        return None
    digest = (event.data or {}).get("sha256")
    return digest if isinstance(digest, str) and digest == document.sha256 else None


def checked_content(session: Session, document: Document) -> tuple[bytes | None, str | None]:
    """(the file's bytes if they are the recorded ones, else None; the SHA-256 found, or None if no file).

    The bytes are read once, hashed and returned, so what is served is what was checked. Nothing is
    cached: a hash remembered from an earlier download would let a file edited since then through.
    """
    path = folder() / (document.stored_name or stored_name(document))
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return None, None
    found = hashlib.sha256(content).hexdigest()
    recorded = recorded_sha256(session, document)
    return (content if recorded is not None and found == recorded else None), found


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
