"""What the fund publishes, to anyone, with no sign-in: the open calls with their guides, the completed
projects with their outcomes, and the check of a document the fund issued.

Nothing here returns a model row to a page: each published thing is a dict built from a list of the fields
the fund publishes, so a budget line, a reviewer or a comment cannot reach the public by accident.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import db
from ..audit import chain_hash
from ..countries import COUNTRY_CODES
from ..documents import KINDS
from ..errors import N_, InvalidInput, NotFound
from ..models import FIELDS, OUTCOME_KEYS, Application, Call, Document, Event, Partner, utcnow
from .statistics import partner_countries

PUBLISHED_STATE = "completed"  # a project is published once its close-out is accepted
PER_PAGE = 20
MAX_VERIFY_BYTES = 10 * 1024 * 1024  # a notice is some 100 KB; nothing the fund issues comes near this

NOT_PUBLISHED = N_("this is not published")
NUMBER_MALFORMED = N_("this is not a document number of the fund, e.g. 国科合〔2026〕0001号")
NUMBER_UNKNOWN = N_("the fund has issued no document with this number")
NOT_A_PDF = N_("this file is not a PDF")
FILE_TOO_LARGE = N_("the file is too large: documents of the fund are well under 10 MB")
FILE_UNKNOWN = N_("this file is not one the fund issued, or it has been altered; enter its document number "
                  "to check it against the record")
NOTHING_GIVEN = N_("enter a document number or choose a PDF file")


# --- the open calls ----------------------------------------------------------------------------------------


def _published_call(call: Call) -> dict[str, Any]:
    return {"id": call.id, "code": call.code, "title": call.title, "title_en": call.title_en,
            "opens_at": call.opens_at, "closes_at": call.closes_at, "fields": list(call.fields or []),
            "guide": call.guide, "guide_en": call.guide_en, "max_central_per_project": call.max_central_per_project,
            "min_matching_ratio": call.min_matching_ratio}


def _open_now(now: dt.datetime):
    return (Call.retired.is_(False), Call.opens_at <= now, Call.closes_at > now)


def open_calls(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The calls open for proposals now, closing soonest first."""
    now = now or utcnow()
    rows = db.session().scalars(select(Call).where(*_open_now(now)).order_by(Call.closes_at, Call.id))
    return [_published_call(c) for c in rows]


def open_call(call_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """One open call; a closed, retired, future or unknown call is not published (NotFound)."""
    call = db.session().scalar(select(Call).where(Call.id == call_id, *_open_now(now or utcnow())))
    if call is None:
        raise NotFound(NOT_PUBLISHED)
    return _published_call(call)


# --- the completed projects --------------------------------------------------------------------------------


def _published_project(app: Application) -> dict[str, Any]:
    """Title, institution, partners' countries, field and outcomes: what the fund publishes, nothing more."""
    outcomes = app.outcomes or {}
    return {"id": app.id, "title": app.title, "title_en": app.title_en, "summary": app.summary,
            "institution": app.institution.name, "institution_en": app.institution.name_en,
            "countries": sorted({p.country for p in app.partners if p.country != "CN"}),
            "field": app.field, "cooperation_type": app.cooperation_type,
            "outcomes": {key: int(outcomes.get(key) or 0) for key in OUTCOME_KEYS},
            "completed_at": app.updated_at}


def check_filters(field: str | None, country: str | None) -> dict[str, list[str]]:
    """Field messages for filters that name no field or country (an empty filter is no filter)."""
    problems: dict[str, list[str]] = {}
    if field and field not in FIELDS:
        problems["field"] = [N_("choose one of the listed fields")]
    if country and country.upper() not in COUNTRY_CODES:
        problems["country"] = [N_("choose one of the listed countries")]
    return problems


def completed_projects(field: str | None = None, country: str | None = None, page: int = 1,
                       per_page: int = PER_PAGE) -> tuple[list[dict[str, Any]], int]:
    """The completed projects, newest first, filtered by field and partner country; and how many in all."""
    problems = check_filters(field, country)
    if problems:
        raise InvalidInput("unknown filter", problems)
    where = [Application.state == PUBLISHED_STATE]
    if field:
        where.append(Application.field == field)
    if country:
        # The partners of the country lead to their projects (an index range), not a probe per project.
        where.append(Application.id.in_(select(Partner.application_id).where(Partner.country == country.upper())))
    s = db.session()
    total = s.scalar(select(func.count(Application.id)).where(*where))
    rows = s.scalars(select(Application).where(*where)
                     .options(selectinload(Application.partners), selectinload(Application.institution))
                     .order_by(Application.updated_at.desc(), Application.id.desc())
                     .limit(per_page).offset((max(page, 1) - 1) * per_page))
    return [_published_project(a) for a in rows], total


def completed_project(app_id: int) -> dict[str, Any]:
    """One completed project; any other state, or an unknown id, is not published (NotFound)."""
    app = db.session().scalar(select(Application).where(Application.id == app_id,
                                                        Application.state == PUBLISHED_STATE))
    if app is None:
        raise NotFound(NOT_PUBLISHED)
    return _published_project(app)


def published_countries() -> list[str]:
    """The foreign partner countries of completed projects, for the filter."""
    return partner_countries(Application.state == PUBLISHED_STATE, foreign_only=True)


# --- verifying a document ----------------------------------------------------------------------------------

_PREFIXES = "|".join(sorted((re.escape(k.prefix) for k in KINDS.values()), key=len, reverse=True))
NUMBER = re.compile(rf"^({_PREFIXES})〔(\d{{4}})〕(\d{{4}})号$")
_NUMBER_IN_TEXT = re.compile(rf"(?:{_PREFIXES})〔\d{{4}}〕\d{{4}}号")


def normalise_number(raw: str) -> str:
    """A typed number as the fund writes it: full-width digits folded, spaces dropped, [] or () as 〔〕."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    for a, b in (("[", "〔"), ("]", "〕"), ("(", "〔"), (")", "〕"), ("【", "〔"), ("】", "〕")):
        text = text.replace(a, b)
    return text


@dataclass(frozen=True)
class Verification:
    """What the record says of one document, and of the file checked against it."""

    number: str
    kind: str
    title: str
    title_en: str
    issued: bool  # issued by the fund: an issue event in the audit chain names this document and its hash
    issued_at: dt.datetime | None
    # Named only to whoever holds the genuine file, or when the project is published: a number
    # alone must not let anyone walk 国科合复〔2026〕0001号… and read what was rejected.
    project_title: str | None
    project_title_en: str | None
    recorded_sha256: str | None  # from the audit event, not from the document's row
    event_id: int | None
    event_intact: bool  # the event's own hash still matches its content
    file_sha256: str | None = None  # of the uploaded file
    found_by: str = "number"  # "number", or "file" when the file's hash found it

    @property
    def file_matches(self) -> bool | None:
        if self.file_sha256 is None:
            return None
        return self.issued and self.event_intact and self.file_sha256 == self.recorded_sha256

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "kind": self.kind, "issued": self.issued,
                "issued_at": self.issued_at.isoformat() if self.issued_at else None,
                "project_title": self.project_title, "recorded_sha256": self.recorded_sha256,
                "event_id": self.event_id, "event_intact": self.event_intact, "file_sha256": self.file_sha256,
                "file_matches": self.file_matches}


def _issue_event(document: Document) -> Event | None:
    """The audit event that issued `document`: subject document, trigger issue, carrying its number and hash."""
    if document.issued_event_id is None:
        return None
    event = db.session().get(Event, document.issued_event_id)
    if event is None or event.subject != "document" or event.subject_id != document.id or event.trigger != "issue":
        return None
    if (event.data or {}).get("number") != document.number or not (event.data or {}).get("sha256"):
        return None
    return event


def _verification(document: Document, file_sha256: str | None, found_by: str) -> Verification:
    event = _issue_event(document)
    kind = KINDS.get(document.kind)
    app = document.application
    recorded = event.data["sha256"] if event is not None else None
    disclosed = app.state == "completed" or (file_sha256 is not None and file_sha256 == recorded)
    return Verification(
        number=document.number, kind=document.kind, title=kind.title if kind else document.kind,
        title_en=kind.title_en if kind else document.kind, issued=event is not None,
        issued_at=event.created_at if event is not None else None,
        project_title=app.title if disclosed else None, project_title_en=app.title_en if disclosed else None,
        recorded_sha256=recorded,
        event_id=event.id if event is not None else None,
        event_intact=event is not None and chain_hash(event.prev_hash, event) == event.hash,
        file_sha256=file_sha256, found_by=found_by)


def _by_number(number: str) -> Document:
    if not NUMBER.match(number):
        raise InvalidInput("malformed document number", {"number": [NUMBER_MALFORMED]})
    document = db.session().scalar(select(Document).where(Document.number == number))
    if document is None:
        raise NotFound("no such document", {"number": [NUMBER_UNKNOWN]})
    return document


def _read_pdf(content: bytes) -> str:
    if len(content) > MAX_VERIFY_BYTES:
        raise InvalidInput("the file is too large", {"file": [FILE_TOO_LARGE]})
    if not content.lstrip(b"\x00\t\n\r ")[:5] == b"%PDF-":
        raise InvalidInput("the file is not a PDF", {"file": [NOT_A_PDF]})
    return hashlib.sha256(content).hexdigest()


def number_in_pdf(content: bytes) -> str | None:
    """The document number a fund PDF names in its metadata, if it can still be read.

    WeasyPrint writes the title and keywords as UTF-16 hex strings, inside compressed object streams; each
    stream is inflated to at most 1 MB (a crafted file cannot make this a decompression bomb).
    """
    chunks = [content]
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", content, re.S)[:500]:
        try:
            chunks.append(zlib.decompressobj().decompress(raw, 1024 * 1024))
        except zlib.error:
            continue
    for chunk in chunks:
        for hexed in re.findall(rb"<([Ff][Ee][Ff][Ff](?:[0-9A-Fa-f]{4})+)>", chunk):
            try:
                found = _NUMBER_IN_TEXT.search(bytes.fromhex(hexed.decode()).decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                continue
            if found:
                return found.group(0)
    return None


def verify(number: str | None = None, content: bytes | None = None) -> Verification:
    """Whether the fund issued the document with this number, or this file, and whether the file is unaltered.

    The truth is the issue event in the audit chain: it names the document and the SHA-256 of the file the
    fund sent out. A file whose hash no event records is altered, or not the fund's.
    """
    number = normalise_number(number or "")
    if not number and content is None:
        raise InvalidInput("nothing to verify", {"number": [NOTHING_GIVEN]})
    digest = _read_pdf(content) if content is not None else None
    if number:
        return _verification(_by_number(number), digest, "number")
    document = db.session().scalar(select(Document).where(Document.sha256 == digest))
    if document is not None:
        return _verification(document, digest, "file")
    named = number_in_pdf(content)
    if named is not None:
        document = db.session().scalar(select(Document).where(Document.number == named))
        if document is not None:
            return _verification(document, digest, "metadata")
    raise NotFound("no issued document has this file's hash", {"file": [FILE_UNKNOWN]})
