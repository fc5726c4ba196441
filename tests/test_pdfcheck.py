"""The upload check: real PDFs built with pypdf's writer, each carrying one thing a PDF may not bring in."""
from __future__ import annotations

import io
import time

import pytest
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from workflow import pdfcheck
from workflow.errors import InvalidInput
from workflow.lifecycle import minimal_pdf


def _writer(pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    return writer


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(**entries) -> DictionaryObject:
    return DictionaryObject({NameObject(f"/{k}"): v for k, v in entries.items()})


def _with_open_action(action: DictionaryObject) -> bytes:
    writer = _writer()
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    return _bytes(writer)


def _with_link_annotation(action: DictionaryObject) -> bytes:
    """A page whose link annotation runs `action` when clicked (its /A entry)."""
    writer = _writer()
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (72, 72, 200, 100)]),
        NameObject("/A"): action,
    })
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return _bytes(writer)


def _with_file_attachment_annotation() -> bytes:
    writer = _writer()
    spec = DictionaryObject({NameObject("/Type"): NameObject("/Filespec"),
                             NameObject("/F"): TextStringObject("payload.txt")})
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (72, 72, 90, 90)]),
        NameObject("/FS"): spec,
    })
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return _bytes(writer)


def _document_javascript() -> bytes:
    writer = _writer()
    writer.add_open_action(JavaScript("app.alert('hello');"))
    return _bytes(writer)


def _embedded_file() -> bytes:
    writer = _writer()
    writer.add_attachment("invoice.html", b"<script>alert(1)</script>")
    return _bytes(writer)


def _encrypted() -> bytes:
    writer = _writer()
    writer.encrypt(user_password="secret", owner_password="owner")
    return _bytes(writer)


def _launch() -> bytes:
    return _with_open_action(_action(S=NameObject("/Launch"), F=TextStringObject("cmd.exe")))


def _javascript_open_action() -> bytes:
    return _with_open_action(_action(S=NameObject("/JavaScript"), JS=TextStringObject("app.alert(1)")))


def _javascript_link() -> bytes:
    return _with_link_annotation(_action(S=NameObject("/JavaScript"), JS=TextStringObject("app.alert(1)")))


def _launch_link() -> bytes:
    return _with_link_annotation(_action(S=NameObject("/Launch"), F=TextStringObject("/bin/sh")))


REFUSED = {
    "document JavaScript (name tree)": (_document_javascript, pdfcheck.JAVASCRIPT),
    "JavaScript open action": (_javascript_open_action, pdfcheck.JAVASCRIPT),
    "JavaScript in a link's /A": (_javascript_link, pdfcheck.JAVASCRIPT),
    "launch open action": (_launch, pdfcheck.LAUNCH),
    "launch in a link's /A": (_launch_link, pdfcheck.LAUNCH),
    "embedded file": (_embedded_file, pdfcheck.EMBEDDED),
    "file attachment annotation": (_with_file_attachment_annotation, pdfcheck.EMBEDDED),
    "encrypted": (_encrypted, pdfcheck.ENCRYPTED),
}


@pytest.mark.parametrize("case", REFUSED)
def test_each_dangerous_pdf_is_refused_at_the_file_field(case):
    make, reason = REFUSED[case]
    content = make()
    assert content.startswith(b"%PDF-")  # a real PDF: the old first-and-last-bytes check let it through
    assert pdfcheck.refusal(content) == reason
    with pytest.raises(InvalidInput) as caught:
        pdfcheck.check(content)
    assert caught.value.details == {"file": [reason]} and caught.value.status == 422


@pytest.mark.parametrize("content", [_bytes(_writer()), _bytes(_writer(40)), minimal_pdf("plain")],
                         ids=["pypdf blank page", "forty pages", "minimal_pdf"])
def test_a_plain_pdf_passes(content):
    assert pdfcheck.refusal(content) is None
    pdfcheck.check(content)


@pytest.mark.parametrize("content", [
    b"", b"<html><script>alert(1)</script></html>", b"%PDF-1.7\n" + b"\x00" * 500,
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    minimal_pdf("cut")[:200] + b"%%EOF",
    b"%PDF-1.4\n" + b"[" * 100_000 + b"\n%%EOF",
], ids=["empty", "html", "nul bytes", "no pages", "truncated", "deep nesting"])
def test_a_file_that_does_not_parse_is_refused_not_raised(content):
    assert pdfcheck.refusal(content) == pdfcheck.NOT_PDF


def test_a_name_written_with_hex_escapes_is_still_caught():
    """`/J#53` is `/JS` to a viewer; the parser decodes it before the check looks."""
    content = _javascript_open_action().replace(b"/JS ", b"/J#53 ")
    assert b"/J#53" in content
    assert pdfcheck.refusal(content) == pdfcheck.JAVASCRIPT


def test_a_reference_cycle_ends_and_a_huge_graph_gives_up_in_bounded_time(monkeypatch):
    writer = _writer()
    a, b = DictionaryObject(), DictionaryObject()
    ref_a, ref_b = writer._add_object(a), writer._add_object(b)
    a[NameObject("/Next")], b[NameObject("/Next")] = ref_b, ref_a
    writer._root_object[NameObject("/Loop")] = ref_a
    assert pdfcheck.refusal(_bytes(writer)) is None

    many = _bytes(_writer(300))
    monkeypatch.setattr(pdfcheck, "MAX_OBJECTS", 200)
    started = time.monotonic()
    assert pdfcheck.refusal(many) == pdfcheck.TOO_COMPLEX
    assert time.monotonic() - started < 2
