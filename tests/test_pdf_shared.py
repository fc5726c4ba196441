"""Every PDF is made one way: it extends pdf/base.html (the letterhead, the type, the bidi_safe filter and the
wrapping of long strings) and renders with the one url_fetcher of workflow/pdf_render.py, which loads the
package's own styles and fonts and nothing else. Checked on real WeasyPrint output with poppler."""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select

from workflow import db, documents, pdf_render
from workflow.models import Document

from .test_ranking import review

RLO, PDF_ = "\u202e", "\u202c"
PARTNER = "Technische Universität München"
LONG_TITLE = "氢" * 20 + "H2" * 140  # 300 characters with no space to break at
OWN_CSS = pdf_render.OWN_FILES / "css" / "fundflow.css"


def _run(tool: str, pdf: bytes, *args: str) -> str:
    """A poppler tool's output for `pdf` (pdfdetach reads a file; it cannot seek in a pipe)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = [tool, *args, f.name, "-"] if tool == "pdftotext" else [tool, *args, f.name]
        return subprocess.run(out, capture_output=True, check=True).stdout.decode()


def _flat(pdf: bytes) -> str:
    """The text in the order it was drawn (a title wrapped in a narrow cell stays whole), without the line breaks
    pdftotext puts into Chinese."""
    return re.sub(r"\s+", "", _run("pdftotext", pdf, "-raw"))


def _words_beyond_the_page(pdf: bytes, margin_mm: float) -> list[tuple[str, float]]:
    html = _run("pdftotext", pdf, "-bbox")
    width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    return [(word, float(x_max)) for x_max, word in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" '
                                                                r'xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)
            if float(x_max) > width - margin_mm * 72 / 25.4 + 2]


# --- the three PDFs, made from real records -----------------------------------------------------------------


def _notice(factory, api=None) -> bytes:
    application, _ = factory.application("approved", partners=[
        {"name": f"{RLO}{PARTNER}{PDF_}", "country": "DE", "kind": "university"}])
    with factory.app.test_request_context():
        document = db.session().scalar(select(Document).where(Document.application_id == application.id))
        return documents.render(document.context)


def _summary(factory, api, title: str = f"中德合作{RLO}{PARTNER}{PDF_}") -> bytes:
    call = factory.rubric_call()
    application, cast = factory.application("expert_review", call=call, title=title)
    review(api, application, api(cast.officer), cast.reviewers[0], 80, "fund")
    long_one, other = factory.application("expert_review", call=call, title=LONG_TITLE)
    review(api, long_one, api(other.officer), other.reviewers[0], 70, "fund")
    r = api(cast.officer).get(f"/calls/{call.id}/ranking?format=pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF-"), r.data[:200]
    return r.data


def _country_report(factory, api) -> bytes:
    _, cast = factory.application("completed", title=LONG_TITLE, partners=[
        {"name": f"{RLO}{PARTNER}{PDF_}", "country": "DE", "kind": "university"}])
    r = api(cast.officer).get("/statistics/countries/DE/report")
    assert r.status_code == 200 and r.data.startswith(b"%PDF-"), r.data[:200]
    return r.data


# --- the review summary extends pdf/base.html -----------------------------------------------------------------


def test_the_review_summary_has_the_letterhead_and_no_signature(factory, api):
    text = _flat(_summary(factory, api))
    assert "国家国际科技合作专项" in text and "专家评审结果汇总表" in text and "SummaryoftheexpertreviewGJHZ" not in text
    assert "国家国际科技合作专项管理办公室" not in text  # a report on request is not signed
    assert "中德合作" in text and text.count("GJHZ-") >= 2  # the call's code heads the page and ends it


def test_a_name_with_an_rtl_override_reads_as_typed_in_every_pdf(factory, api):
    for pdf in (_notice(factory, api), _summary(factory, api), _country_report(factory, api)):
        text = _run("pdftotext", pdf)
        assert PARTNER in text and PARTNER[::-1] not in text
        assert not set(text) & {chr(c) for c in documents.BIDI_CONTROLS}


@pytest.mark.parametrize("make, margin_mm", [(_summary, 14), (_country_report, 24)], ids=["summary", "country"])
def test_a_300_character_unbroken_title_stays_inside_the_page(factory, api, make, margin_mm):
    pdf = make(factory, api)
    assert not _words_beyond_the_page(pdf, margin_mm)
    assert LONG_TITLE in _flat(pdf)


# --- one url_fetcher, and what it lets through -------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    f"file://{OWN_CSS.parent}/../../setup.cfg",
    f"file://{OWN_CSS.parent}/%2e%2e/%2e%2e/setup.cfg",
    f"file://{pdf_render.OWN_FILES.parent / 'models.py'}",
    "file://example.org/etc/passwd",
    "http://127.0.0.1:9/x.css",
    "https://fonts.example.com/noto.woff2",
    "data:text/css,body{color:red}",
    "ftp://127.0.0.1/x.ttf",
])
def test_the_fetcher_refuses_everything_but_the_packages_own_styles_and_fonts(url):
    with pytest.raises(ValueError):
        pdf_render.url_fetcher().fetch(url)


def test_the_fetcher_serves_the_packages_own_stylesheet():
    response = pdf_render.url_fetcher().fetch(OWN_CSS.as_uri())
    try:
        assert response.read() == OWN_CSS.read_bytes()
    finally:
        response.close()


@pytest.fixture
def base_with_attachments(app):
    """pdf/base.html as an edit could make it: asking to embed a file of the system and one of the package."""
    original = Path(app.jinja_env.get_template("pdf/base.html").filename)
    source = original.read_text(encoding="utf-8").replace(
        "<style>", f'<link rel="attachment" href="file:///etc/hostname">'
                   f'<link rel="attachment" href="{OWN_CSS.as_uri()}"><style>', 1)
    assert "/etc/hostname" in source
    app.jinja_env.loader = ChoiceLoader([DictLoader({"pdf/base.html": source}), app.jinja_env.loader])
    app.jinja_env.cache.clear()


@pytest.mark.parametrize("make", [_notice, _summary, _country_report], ids=["notice", "summary", "country"])
def test_every_pdf_renders_with_the_shared_fetcher(factory, api, base_with_attachments, make):
    """A reference to a file outside the package is not embedded in any PDF; the package's own file is."""
    listed = _run("pdfdetach", make(factory, api), "-list")
    assert listed.splitlines()[0] == "1 embedded files", listed
    assert "fundflow.css" in listed and "hostname" not in listed
