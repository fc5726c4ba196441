"""Uploads: refused by the PDF check with nothing stored, and every stored file served as a `.pdf` download."""
from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from workflow import pdfcheck
from workflow.lifecycle import minimal_pdf

from .factories import snapshot, upload
from .test_pdfcheck import REFUSED


def _stored(app) -> tuple[int, list[str]]:
    """How many attachment rows there are, and the files in the attachments folder."""
    with app.extensions["fundflow.engine"].connect() as c:
        rows = c.execute(text("SELECT count(*) FROM attachments")).scalar()
    folder = Path(app.config["DATA_DIR"]) / "attachments"
    return rows, sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _zh(app, msgid: str) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("zh"):
        return gettext(msgid)


@pytest.mark.parametrize("case", [*REFUSED, "html sent as pdf"])
def test_the_api_refuses_each_unsafe_file_with_a_field_message_and_stores_nothing(app, factory, api, case):
    content, reason = ((b"<html><script>alert(1)</script></html>", pdfcheck.NOT_PDF) if case == "html sent as pdf"
                       else (REFUSED[case][0](), REFUSED[case][1]))
    application, cast = factory.application("draft")
    client = api(cast.applicant)  # signing in may be an event of its own: before the snapshot
    before, stored = snapshot(factory, application.id), _stored(app)
    r = upload(client, application.id, "proposal", content, "proposal.pdf")
    assert r.status_code == 422, r.json
    assert r.json["error"] == "invalid_input" and r.json["details"] == {"file": [reason]}
    assert snapshot(factory, application.id) == before and _stored(app) == stored


def test_permission_is_checked_before_the_file_is_parsed(app, factory, api, monkeypatch):
    application, cast = factory.application("formal_review")  # an officer sees it, but may not upload to it
    parsed = []
    monkeypatch.setattr(pdfcheck, "refusal", lambda content: parsed.append(content) or None)
    r = upload(api(factory.user("officer")), application.id, "proposal", b"anything", "x.pdf")
    assert r.status_code == 403 and parsed == []
    r = upload(api(cast.applicant), application.id, "proposal", b"anything", "x.pdf")
    assert r.status_code == 409 and parsed == []  # nor in a state that takes no proposal


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_page_refuses_a_pdf_with_javascript_in_the_readers_language(app, factory, pages, language):
    application, cast = factory.application("draft")
    client = pages(cast.applicant, language)
    before, stored = snapshot(factory, application.id), _stored(app)
    content = REFUSED["JavaScript open action"][0]()
    response = client.post(f"/applications/{application.id}/attachments?next=/applications",
                           {"kind": "proposal", "file": (io.BytesIO(content), "申报书.pdf"), "next": "/applications"},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get("/applications").get_data(as_text=True)
    expected = _zh(app, pdfcheck.JAVASCRIPT) if language == "zh" else "The PDF contains JavaScript"
    assert expected in page and (language != "zh" or expected != pdfcheck.JAVASCRIPT)
    assert snapshot(factory, application.id) == before and _stored(app) == stored


def _download_headers_are_safe(response, ascii_name: str) -> None:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename={ascii_name}" in disposition


def test_a_pdf_sent_as_html_is_stored_and_served_as_pdf_by_the_api_and_the_page(app, factory, api, pages):
    application, cast = factory.application("draft")
    client = api(cast.applicant)
    r = upload(client, application.id, "proposal", minimal_pdf("invoice"), "../../invoice.html")
    assert r.status_code == 201, r.json
    assert r.json["filename"] == "invoice.pdf"
    with app.extensions["fundflow.engine"].connect() as c:
        stored_name, data = c.execute(text("SELECT a.stored_name, e.data FROM attachments a JOIN events e "
                                           "ON e.subject = 'attachment' AND e.subject_id = a.id")).one()
    assert stored_name.endswith(".pdf") and (Path(app.config["DATA_DIR"]) / "attachments" / stored_name).exists()
    data = json.loads(data) if isinstance(data, str) else data
    assert data["filename"] == "invoice.pdf" and data["sent_as"] == "../../invoice.html"  # the record keeps both

    for response in (client.get(f"/applications/{application.id}/attachments/{r.json['id']}"),
                     pages(cast.applicant).get(f"/applications/{application.id}/attachments/{r.json['id']}")):
        _download_headers_are_safe(response, "invoice.pdf")
        assert response.data == minimal_pdf("invoice")
        response.close()


def test_a_chinese_name_keeps_its_stem_in_filename_star(app, factory, api, pages):
    application, cast = factory.application("draft")
    r = upload(api(cast.applicant), application.id, "proposal", minimal_pdf("p"), "申报书（终稿）.docx")
    assert r.status_code == 201 and r.json["filename"] == "申报书（终稿）.pdf"
    response = pages(cast.applicant).get(f"/applications/{application.id}/attachments/{r.json['id']}")
    _download_headers_are_safe(response, "")  # werkzeug's ASCII fallback is empty here...
    assert f"filename*=UTF-8''{quote('申报书（终稿）.pdf')}" in response.headers["Content-Disposition"]  # RFC 5987
    response.close()


def test_a_name_stored_before_the_rule_still_downloads_as_pdf(app, factory, api):
    application, cast = factory.application("draft")
    client = api(cast.applicant)
    att = upload(client, application.id, "proposal", minimal_pdf("old"), "old.pdf").json
    with app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE attachments SET filename = 'report.html' WHERE id = :i"), {"i": att["id"]})
    response = client.get(f"/applications/{application.id}/attachments/{att['id']}")
    _download_headers_are_safe(response, "report.pdf")
    response.close()


@pytest.mark.parametrize("sent, stored", [
    ("invoice.html", "invoice.pdf"), ("report.PDF", "report.pdf"), (".htaccess", "attachment.pdf"),
    ("C:\\Users\\王\\计划.pdf", "计划.pdf"), ("notes", "notes.pdf"), ("", "attachment.pdf"),
    ("evil\u202efdp.exe", "evilfdp.pdf"), ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
])
def test_the_stored_name_is_the_stem_made_safe_and_always_pdf(sent, stored):
    from workflow.services.applications import pdf_name

    assert pdf_name(sent) == stored
