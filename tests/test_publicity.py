"""What the fund publishes: published fields only, nothing unpublished, and the check of an issued document
against the SHA-256 its issue event recorded in the audit chain."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, update

from workflow import db, documents
from workflow.errors import InvalidInput, NotFound
from workflow.lifecycle import minimal_pdf
from workflow.models import Document, Event
from workflow.services import publicity

from .factories import Factory

PUBLISHED = {"id", "title", "title_en", "summary", "institution", "institution_en", "countries", "field",
             "cooperation_type", "outcomes", "completed_at"}
BUDGET_WORDS = ("budget", "central", "matching", "self_raised", "approved", "amount", "review", "comment", "score")


def _issued(app, app_id: int, kind: str) -> tuple[Document, bytes]:
    with app.app_context():
        doc = db.session().scalar(select(Document).where(Document.application_id == app_id, Document.kind == kind))
        return doc, (documents.folder() / doc.stored_name).read_bytes()


def _altered(pdf: bytes) -> bytes:
    """The same file with one byte changed, in the middle of its content."""
    middle = len(pdf) // 2
    return pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1:]


# --- completed projects ---------------------------------------------------------------------------------------


def test_a_completed_project_publishes_its_published_fields_only(app, factory):
    project, _cast = factory.application("completed")
    with app.test_request_context():
        one = publicity.completed_project(project.id)
        listed, total = publicity.completed_projects()
    assert set(one) == PUBLISHED and total == 1 and listed == [one]
    assert one["countries"] == ["DE"] and one["field"] == "energy_resources"
    assert one["outcomes"] == {"papers": 6, "patents": 2, "standards": 1, "technologies_transferred": 1,
                               "experts_engaged": 4, "researchers_trained": 5}

    def keys(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield key
                yield from keys(inner)
    for key in keys(one):
        assert not any(word in key for word in BUDGET_WORDS), key


@pytest.mark.parametrize("state", ["draft", "approved", "in_progress", "closeout_review", "failed_acceptance",
                                   "terminated"])
def test_anything_but_a_completed_project_is_not_published(app, factory, state):
    project, _cast = factory.application(state)
    with app.test_request_context():
        with pytest.raises(NotFound):
            publicity.completed_project(project.id)
        assert publicity.completed_projects() == ([], 0)
        with pytest.raises(NotFound):
            publicity.completed_project(project.id + 1000)


def test_filters_by_field_and_partner_country(app, factory):
    german, cast = factory.application("completed")
    french, _ = factory.application("completed", field="modern_agriculture",
                                    partners=[{"name": "INRAE", "country": "FR", "kind": "institute"}])
    with app.test_request_context():
        assert [p["id"] for p in publicity.completed_projects(field="modern_agriculture")[0]] == [french.id]
        assert [p["id"] for p in publicity.completed_projects(country="de")[0]] == [german.id]
        assert publicity.completed_projects(field="energy_resources", country="FR") == ([], 0)
        assert publicity.published_countries() == ["DE", "FR"]
        with pytest.raises(InvalidInput) as refused:
            publicity.completed_projects(field="astrology", country="ZZ")
        assert set(refused.value.details) == {"field", "country"}


def test_only_open_calls_are_published(app, factory):
    open_call = factory.call(guide="一、支持方向……", guide_en="1. Priorities ...")
    closed = factory.call(open_=False)
    retired = factory.call(retired=True)
    with app.test_request_context():
        assert [c["id"] for c in publicity.open_calls()] == [open_call.id]
        assert publicity.open_call(open_call.id)["guide"] == "一、支持方向……"
        for call in (closed, retired):
            with pytest.raises(NotFound):
                publicity.open_call(call.id)
        assert "total_budget" not in publicity.open_call(open_call.id)


# --- verifying a document --------------------------------------------------------------------------------------


def test_a_genuine_document_by_number_and_by_file(app):
    factory = Factory(app)
    project, _cast = factory.application("approved")
    doc, pdf = _issued(app, project.id, "decision_notice")
    with app.test_request_context():
        by_number = publicity.verify(doc.number)
        assert by_number.issued and by_number.event_intact and by_number.file_matches is None
        # A number alone names no unpublished project: only the holder of the genuine file learns whose it is.
        assert by_number.kind == "decision_notice" and by_number.project_title is None
        event = db.session().get(Event, doc.issued_event_id)
        assert by_number.recorded_sha256 == event.data["sha256"] == hashlib.sha256(pdf).hexdigest()
        both = publicity.verify(doc.number, pdf)
        assert both.file_matches is True and both.project_title == project.title
        assert publicity.verify(doc.number, pdf + b"%").project_title is None  # an altered file learns nothing
        by_file = publicity.verify(None, pdf)
        assert by_file.found_by == "file" and by_file.number == doc.number and by_file.file_matches is True
        # typed loosely: spaces, full-width digits, square brackets
        loose = doc.number.replace("〔", "[").replace("〕", "]").replace("0", "０")
        assert publicity.verify(f" {loose} ").number == doc.number


def test_an_altered_file_is_told_apart(app):
    factory = Factory(app)
    project, _cast = factory.application("approved")
    doc, pdf = _issued(app, project.id, "decision_notice")
    altered = _altered(pdf)
    with app.test_request_context():
        assert publicity.verify(doc.number, altered).file_matches is False
        # without the number, the number the file's metadata names is checked against the record
        assert publicity.number_in_pdf(altered) == doc.number
        by_file = publicity.verify(None, altered)
        assert by_file.found_by == "metadata" and by_file.issued and by_file.file_matches is False


def test_the_check_reads_the_audit_event_not_the_documents_row(app, factory):
    project, _cast = factory.application("approved")
    doc, pdf = _issued(app, project.id, "decision_notice")
    forged = _altered(pdf)
    with app.app_context(), db.write_session() as s:  # someone rewrites the row's hash to fit a forged file
        s.execute(update(Document).where(Document.id == doc.id).values(sha256=hashlib.sha256(forged).hexdigest()))
    with app.test_request_context():
        assert publicity.verify(doc.number, forged).file_matches is False
        assert publicity.verify(None, forged).file_matches is False  # found by the row's hash, refused by the event
        assert publicity.verify(doc.number, pdf).file_matches is True
    with app.app_context(), db.write_session() as s:  # and then the event's data too
        event = s.get(Event, doc.issued_event_id)
        s.execute(update(Event).where(Event.id == event.id).values(
            data={**event.data, "sha256": hashlib.sha256(forged).hexdigest()}))
    with app.test_request_context():
        result = publicity.verify(doc.number, forged)
        assert result.event_intact is False and result.file_matches is False


def test_a_numbered_but_unissued_document_is_not_issued(app, factory):
    project, _cast = factory.application("approved")
    doc, _pdf = _issued(app, project.id, "decision_notice")
    with app.app_context(), db.write_session() as s:
        s.execute(update(Document).where(Document.id == doc.id).values(issued_event_id=None))
    with app.test_request_context():
        result = publicity.verify(doc.number)
        assert result.issued is False and result.recorded_sha256 is None


@pytest.mark.parametrize("number, content, field, message", [
    ("国科合〔2099〕9999号", None, "number", publicity.NUMBER_UNKNOWN),
    ("12345", None, "number", publicity.NUMBER_MALFORMED),
    ("国科合〔26〕1号", None, "number", publicity.NUMBER_MALFORMED),
    ("", None, "number", publicity.NOTHING_GIVEN),
    (None, b"GIF89a not a pdf", "file", publicity.NOT_A_PDF),
    (None, b"", "file", publicity.NOT_A_PDF),
    (None, b"%PDF-1.4\n" + b"0" * (publicity.MAX_VERIFY_BYTES + 1), "file", publicity.FILE_TOO_LARGE),
    (None, minimal_pdf("not the fund's"), "file", publicity.FILE_UNKNOWN),
])
def test_bad_input_is_told_at_its_field(app, factory, number, content, field, message):
    factory.application("approved")
    with app.app_context():
        before = db.session().scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    with app.test_request_context():
        with pytest.raises((InvalidInput, NotFound)) as refused:
            publicity.verify(number, content)
    assert refused.value.details == {field: [message]}
    with app.app_context():  # a check changes nothing, not even the audit trail
        assert db.session().scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) == before
