"""Text in generated PDFs: bidirectional overrides cannot reorder what a PDF shows, and a long unbroken string
wraps inside the page. Checked on the real WeasyPrint output with poppler's pdftotext."""
from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select

from workflow import db, documents
from workflow.models import Document

RLO, PDF_, LRI, PDI, RLM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200f"
PARTNER = "Technische Universität München"
LONG_TITLE = "氢" * 20 + "H2" * 140  # 300 characters with no space to break at


@pytest.fixture
def frozen(factory):
    """The frozen context of a real decision notice, with what a user could have typed put into it."""
    application, _ = factory.application("approved")
    with factory.app.app_context():
        document = db.session().scalar(select(Document).where(Document.application_id == application.id))
        context = copy.deepcopy(document.context)
    context["app"]["partners"][0]["name"] = f"{RLO}{PARTNER}{PDF_}"
    context["app"]["partners"].append({"name": f"{LRI}{RLM}Universidad de Chile{PDI}", "country": "CL",
                                       "country_name": "智利"})
    context["app"]["title"] = LONG_TITLE
    context["app"]["title_en"] = "x" * 300
    return context


def _pdf(app, context) -> bytes:
    with app.test_request_context():
        return documents.render(context)


def _text(pdf: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_a_partner_name_with_an_rtl_override_reads_in_the_order_it_was_typed(app, frozen):
    text = _text(_pdf(app, frozen))
    assert PARTNER in text and "Universidad de Chile" in text
    assert PARTNER[::-1] not in text
    assert not set(text) & {chr(c) for c in documents.BIDI_CONTROLS}


def test_without_the_filter_the_override_would_reverse_the_name(app, frozen, monkeypatch):
    """The check above can fail: the same context with the filter made a no-op shows the name reversed."""
    monkeypatch.setitem(app.jinja_env.filters, "bidi_safe", lambda rendered: rendered)
    assert PARTNER[::-1] in _text(_pdf(app, frozen))


def _words_beyond_the_page(pdf: bytes) -> list[tuple[str, float]]:
    """Words whose box ends past the page's right edge, from `pdftotext -bbox`."""
    html = _text(pdf, "-bbox")
    width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    return [(word, float(x_max)) for x_max, word in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" '
                                                                r'xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)
            if float(x_max) > width - 24 * 72 / 25.4 + 2]  # inside the right margin of 24 mm, with 2 pt slack


def test_a_300_character_unbroken_title_stays_inside_the_page(app, frozen):
    pdf = _pdf(app, frozen)
    assert not _words_beyond_the_page(pdf)
    flat = re.sub(r"\s+", "", _text(pdf))
    assert LONG_TITLE in flat  # all of it, wrapped over lines (in the notice's first paragraph)
    assert sum(len(run) for run in re.findall(r"x{10,}", flat)) == 300  # the English title, over a page break


def test_without_wrapping_the_title_would_run_off_the_page(app, frozen, monkeypatch):
    """The check above can fail: with `overflow-wrap` taken out of the style the same title runs off."""
    original = Path(app.jinja_env.get_template("pdf/base.html").filename)
    source = original.read_text(encoding="utf-8").replace("overflow-wrap: anywhere", "overflow-wrap: normal")
    assert "overflow-wrap: normal" in source
    monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([DictLoader({"pdf/base.html": source}),
                                                               app.jinja_env.loader]))
    app.jinja_env.cache.clear()  # this app's own environment: templates loaded before came from the files
    assert _words_beyond_the_page(_pdf(app, frozen))


def test_the_frozen_context_keeps_what_was_typed_and_renders_the_same_bytes_again(app, frozen):
    before = copy.deepcopy(frozen)
    assert _pdf(app, frozen) == _pdf(app, frozen)  # still a pure function of the context
    assert frozen == before and RLO in frozen["app"]["partners"][0]["name"]
