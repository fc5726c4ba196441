"""The public pages: anyone may read them without signing in, in Chinese or English; the document check
tells each bad input at its field."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from workflow import db, documents
from workflow.models import Document

PUBLIC = ("/public/calls", "/public/calls/{call}", "/public/projects", "/public/projects/{project}", "/verify")


@pytest.fixture
def published(factory):
    """A completed project (its notices issued) and an open call with a guide."""
    project, cast = factory.application("completed")
    call = factory.call(title="2026年度发展中国家科技伙伴计划项目", title_en="S&T Partnership Programme: 2026 call",
                        guide="实施面向发展中国家的“科技伙伴计划”。\n申报单位须为境内注册的法人单位。",
                        guide_en="The S&T Partnership Programme with developing countries.\nApplicants are legal "
                                 "persons registered in China.")
    with factory.app.app_context():
        doc = db.session().scalar(select(Document).where(Document.application_id == project.id,
                                                         Document.kind == "acceptance_opinion"))
        pdf = (documents.folder() / doc.stored_name).read_bytes()
    return {"project": project.id, "call": call.id, "cast": cast, "number": doc.number, "pdf": pdf}


def _urls(ids):
    return [path.format(**ids) for path in PUBLIC]


def _field_errors(html: str, name: str) -> str:
    """The feedback text rendered under one field (Bootstrap-Flask: is-invalid + invalid-feedback)."""
    match = re.search(rf'id="{name}"[^>]*>.*?<div class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no message at {name}"
    return match.group(1).strip()


@pytest.mark.parametrize("language, lang, words", [
    ("zh", "zh-CN", ("公开", "核验")), ("en", "en", ("Open calls", "Verify a document"))])
def test_anyone_reads_the_public_pages_without_signing_in(pages, published, language, lang, words):
    client = pages(language=language)
    for url in _urls(published):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html
        assert "/login" in html  # the public nav offers sign-in; nothing sends the visitor there
        for word in words:
            assert word in html, (url, word)


def test_the_language_switch_works_for_anonymous_visitors(pages, published):
    client = pages()
    assert "2026年度发展中国家科技伙伴计划项目" in client.get("/public/calls").get_data(as_text=True)
    switched = client.get("/language/en?next=/public/calls")
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/public/calls")
    html = client.get("/public/calls").get_data(as_text=True)
    assert '<html lang="en">' in html and "S&amp;T Partnership Programme: 2026 call" in html


def test_a_call_page_shows_its_guide(pages, published):
    html = pages().get(f"/public/calls/{published['call']}").get_data(as_text=True)
    assert "<p>实施面向发展中国家的“科技伙伴计划”。</p>" in html and "<p>申报单位须为境内注册的法人单位。</p>" in html
    english = pages(language="en").get(f"/public/calls/{published['call']}").get_data(as_text=True)
    assert "<p>The S&amp;T Partnership Programme with developing countries.</p>" in english


def test_the_public_project_shows_no_budget_reviewer_or_comment(pages, published):
    cast = published["cast"]
    for url in ("/public/projects", f"/public/projects/{published['project']}"):
        html = pages().get(url).get_data(as_text=True)
        assert "中德新能源材料联合研究" in html and "德国" in html and "能源与资源" in html
        main = html.split("<main", 1)[1].split("</main>", 1)[0]
        for secret in ("万元", "300.00", "270.00", "3,000,000", "研究目标明确", "符合本渠道推荐条件",
                       cast.reviewers[0].email, cast.officer.email, "预算", "经费"):
            assert secret not in main, (url, secret)
    html = pages().get(f"/public/projects/{published['project']}").get_data(as_text=True)
    assert 'data-outcome="papers">6<' in html


@pytest.mark.parametrize("state", ["in_progress", "closeout_review"])
def test_an_unpublished_project_is_not_found_with_a_clear_page(pages, factory, state):
    project, _cast = factory.application(state)
    for url in (f"/public/projects/{project.id}", "/public/projects/999999", "/public/calls/999999"):
        response = pages().get(url)
        assert response.status_code == 404, url
        assert "未公开" in response.get_data(as_text=True)
    assert pages(language="en").get(f"/public/projects/{project.id}").status_code == 404
    assert "not published" in pages(language="en").get("/public/projects/999999").get_data(as_text=True)


def test_a_filter_that_names_nothing_is_told_at_its_field(pages, published):
    response = pages().get("/public/projects?field=astrology&country=DE")
    assert response.status_code == 422
    assert "请从列表中选择领域" in _field_errors(response.get_data(as_text=True), "field")
    html = pages().get("/public/projects?country=DE").get_data(as_text=True)
    assert 'data-total="1"' in html
    assert 'data-total="0"' in pages().get("/public/projects?country=FR").get_data(as_text=True)


def test_verify_a_genuine_document_by_number_and_by_file(pages, published):
    client = pages()
    html = client.post("/verify", {"number": published["number"]}).get_data(as_text=True)
    assert 'data-result="genuine"' in html and published["number"] in html and "结题验收意见" in html
    response = client.post("/verify", {"file": (io.BytesIO(published["pdf"]), "opinion.pdf")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-result="genuine"' in html and "文件未被改动" in html


def test_verify_an_altered_file(pages, published):
    pdf = published["pdf"]
    altered = pdf[:len(pdf) // 2] + bytes([pdf[len(pdf) // 2] ^ 1]) + pdf[len(pdf) // 2 + 1:]
    for language, words in (("zh", "已被改动"), ("en", "Altered")):
        html = pages(language=language).post("/verify", {"number": published["number"],
                                                          "file": (io.BytesIO(altered), "opinion.pdf")},
                                              content_type="multipart/form-data").get_data(as_text=True)
        assert 'data-result="not-genuine"' in html and words in html


@pytest.mark.parametrize("data, field, message", [
    ({"number": "国科合〔2099〕9999号"}, "number", "未签发过此编号"),
    ({"number": "第一号"}, "number", "不是本专项的文件编号"),
    ({"number": ""}, "number", "请输入文件编号或选择 PDF 文件"),
    ({"file": (b"GIF89a", "photo.gif")}, "file", "不是 PDF 文件"),
])
def test_bad_input_is_told_at_the_field(pages, published, data, field, message):
    # A file is sent from bytes each run: the test client closes what it sends.
    data = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in data.items()}
    response = pages().post("/verify", data, content_type="multipart/form-data")
    assert response.status_code in (404, 422)
    assert message in _field_errors(response.get_data(as_text=True), field)


def test_a_file_over_the_request_limit_is_told_at_the_field(app, pages, published):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = pages().post("/verify", {"file": (io.BytesIO(b"%PDF-1.4" + b"0" * 5000), "big.pdf")},
                            content_type="multipart/form-data", csrf=False)
    assert response.status_code == 413
    assert "文件过大" in _field_errors(response.get_data(as_text=True), "file")


def test_the_verify_form_carries_csrf(pages, published):
    response = pages().post("/verify", {"number": published["number"]}, csrf=False)
    assert response.status_code == 400


def test_the_sign_in_page_links_the_public_pages(pages):
    html = pages().get("/login").get_data(as_text=True)
    for href in ('href="/public/calls"', 'href="/public/projects"', 'href="/verify"'):
        assert href in html


def test_an_admin_writes_the_guide_in_the_call_form_and_the_public_reads_it(pages, factory):
    call = factory.call()
    admin = pages(factory.user("admin"))
    html = admin.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    assert 'name="guide"' in html and 'name="guide_en"' in html
    form = {k: v for k, v in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html) if k != "csrf_token"}
    form.update({"guide": "一、支持方向\n二、申报条件", "guide_en": "1. Priorities\n2. Who may apply", "fields_": []})
    form.pop("retired", None)
    assert admin.post(f"/admin/calls/{call.id}", form).status_code == 302
    public = pages().get(f"/public/calls/{call.id}").get_data(as_text=True)
    assert "<p>一、支持方向</p>" in public and "<p>二、申报条件</p>" in public
    assert "一、支持方向" in admin.get(f"/admin/calls/{call.id}").get_data(as_text=True)  # the form shows it again
