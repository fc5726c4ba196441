"""An application's title on every page that names it: English readers see `title_en`, Chinese readers the
Chinese title, and a missing English title falls back to the Chinese."""
from __future__ import annotations

import html as html_lib
import re

import pytest

from workflow.services import applications as app_svc

ZH = "中德储能材料联合研究"
EN = "Sino-German Energy Storage Materials"


def _text(html: str) -> str:
    return html_lib.unescape(html)


def _heading(html: str) -> str:
    return _text(re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip())


def _page_title(html: str) -> str:
    return _text(re.search(r"<title>(.*?)</title>", html, re.S).group(1))


def _links_to(html: str, href: str) -> list[str]:
    """The texts of the links to `href`."""
    return [_text(t.strip()) for t in re.findall(rf'<a href="{re.escape(href)}"[^>]*>([^<]*)</a>', html)]


def _with_review(factory, title_en: str):
    application, cast = factory.application("expert_review", title=ZH, title_en=title_en)
    with factory.app.app_context():
        review = app_svc.assign_reviewer(cast.officer, application.id, cast.reviewers[0].id)
    return application, cast, review.id


@pytest.mark.parametrize("language, title_en, shown", [
    ("en", EN, EN), ("zh", EN, ZH), ("en", "", ZH),
], ids=["english", "chinese", "english-without-title_en"])
def test_the_reviewer_sees_the_title_in_the_page_language(factory, pages, language, title_en, shown):
    application, cast, review_id = _with_review(factory, title_en)
    client = pages(cast.reviewers[0], language=language)
    page = client.get(f"/reviews/{review_id}").get_data(as_text=True)
    assert _heading(page) == shown and _page_title(page).split(" · ")[1] == shown
    assert _links_to(client.get("/reviews").get_data(as_text=True), f"/reviews/{review_id}") == [shown]


@pytest.mark.parametrize("language, title_en, shown", [
    ("en", EN, EN), ("zh", EN, ZH), ("en", "", ZH),
], ids=["english", "chinese", "english-without-title_en"])
def test_the_officers_pages_name_the_application_in_the_page_language(factory, pages, language, title_en, shown):
    application, cast, _ = _with_review(factory, title_en)
    client = pages(cast.officer, language=language)
    detail = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert _heading(detail) == shown and _page_title(detail).startswith(shown + " · ")
    if title_en:  # the other language's title stands under the heading
        other = EN if shown == ZH else ZH
        assert re.search(rf'<p class="ff-subtitle mb-2" lang="[a-zA-Z-]+">{re.escape(other)}</p>', detail)
    href = f"/applications/{application.id}"
    for path in ("/officer", f"/calls/{application.call_id}/ranking"):
        assert shown in _links_to(client.get(path).get_data(as_text=True), href), path
    assign = client.get(f"/applications/{application.id}/assign").get_data(as_text=True)
    assert shown in _text(assign)


@pytest.mark.parametrize("language, shown", [("en", EN), ("zh", ZH)])
def test_the_applicants_pages_name_the_application_in_the_page_language(factory, pages, language, shown):
    application, cast = factory.application("draft", title=ZH, title_en=EN)
    client = pages(cast.applicant, language=language)
    href = f"/applications/{application.id}"
    assert _links_to(client.get("/applications").get_data(as_text=True), href) == [shown]
    edit = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert _links_to(edit.split('class="breadcrumb"')[1], href) == [shown]
