"""The applicant's list, the sectioned application form, uploads and the recommender's queue."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from workflow import db
from workflow.lifecycle import minimal_pdf
from workflow.models import Application, Attachment

from ..factories import snapshot


def field_messages(html: str, field_id: str) -> str:
    """The text of the messages shown right under the control with `field_id` (up to the next control)."""
    start = html.index(f'id="{field_id}"')
    rest = html[start:]
    end = min((i for i in (rest.find("<label", 1), rest.find("</fieldset>")) if i > 0), default=len(rest))
    return " ".join(re.findall(r'<div class="invalid-feedback d-block">([^<]*)</div>', rest[:end]))


def form_data(call, body, **changes) -> dict:
    """What a browser sends when the form is filled in."""
    data = {
        "call_id": str(call.id), "title": "中德氢能储运材料联合研究", "title_en": "Sino-German hydrogen storage materials",
        "summary": "面向氢能储运的新型材料合作研究。", "field": "energy_resources", "cooperation_type": "joint_rnd",
        "principal_investigator": "王海", "channel": body.channel, "body_id": str(body.id), "base_id": "",
        "partners-0-name": "Fraunhofer IFAM", "partners-0-country": "DE", "partners-0-kind": "institute",
        "partners-1-name": "", "partners-1-country": "", "partners-1-kind": "",
        "partners-2-name": "", "partners-2-country": "", "partners-2-kind": "",
        "budget_central": "3000000", "budget_local_matching": "1000000", "budget_self_raised": "600000",
        "duration_months": "36", "foreign_experts": "4", "young_researchers": "6", "save": "1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def edit_data(application, **changes) -> dict:
    partners = {}
    for i, p in enumerate(application.partners):
        partners.update({f"partners-{i}-name": p.name, f"partners-{i}-country": p.country,
                         f"partners-{i}-kind": p.kind})
    data = {
        "version": str(application.version), "title": application.title, "title_en": application.title_en or "",
        "summary": application.summary, "field": application.field or "",
        "cooperation_type": application.cooperation_type or "", "channel": application.channel,
        "body_id": str(application.body_id), "budget_central": str(application.budget_central),
        "budget_local_matching": str(application.budget_local_matching),
        "budget_self_raised": str(application.budget_self_raised),
        "duration_months": str(application.duration_months or ""), "foreign_experts": "0",
        "young_researchers": "0", "save": "1", **partners,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def files(change: dict) -> dict:
    """The change with each (bytes, filename) made a fresh upload."""
    return {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in change.items()}


def application_count(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Application))


# --- the list ------------------------------------------------------------------------------


def test_applicant_sees_their_institutions_applications_with_state_and_next_step(pages, factory):
    own, cast = factory.application("revision_requested")
    draft, _ = factory.application("draft", cast=cast, title="第二个草稿项目")
    other, _ = factory.application("draft", title="别的单位的项目")
    html = pages(cast.applicant).get("/applications").get_data(as_text=True)
    assert own.title in html and "第二个草稿项目" in html
    assert "别的单位的项目" not in html
    assert f'href="/applications/{own.id}"' in html
    assert 'data-state="revision_requested"' in html and "退回修改" in html
    assert "回复退回意见" in html  # what to do next
    assert f'href="/applications/{draft.id}/edit"' in html


def test_the_list_filters_by_state_and_lists_open_calls(pages, factory):
    own, cast = factory.application("pending_recommendation")
    factory.application("draft", cast=cast, title="还在草稿的项目")
    closed = factory.call(open_=False, code="GJHZ-2020-X")
    client = pages(cast.applicant)
    html = client.get("/applications?state=draft").get_data(as_text=True)
    assert "还在草稿的项目" in html and own.title not in html
    assert f"/applications/new?call_id={own.call_id}" in html
    assert f"call_id={closed.id}" not in html
    assert client.get("/applications?state=nonsense&page=abc").status_code == 200


def test_the_list_pages(pages, factory):
    _, cast = factory.application("draft", title="项目0")
    for i in range(1, 22):
        factory.application("draft", cast=cast, title=f"项目{i}")
    client = pages(cast.applicant)
    first = client.get("/applications").get_data(as_text=True)
    assert 'href="/applications?page=2"' in first
    second = client.get("/applications?page=2").get_data(as_text=True)
    assert "项目21" in second and ">项目0<" not in second


# --- the recommender's queue -------------------------------------------------------------------------


def test_recommender_queue_shows_only_their_bodys_applications(pages, factory):
    mine, cast = factory.application("pending_recommendation", title="本推荐单位的项目")
    factory.application("pending_recommendation", title="别的推荐单位的项目")
    further, _ = factory.application("formal_review", cast=factory.cast(recommender=cast.recommender),
                                     title="已推荐的项目")
    factory.application("draft", cast=factory.cast(recommender=cast.recommender), title="未提交的草稿")
    client = pages(cast.recommender)
    html = client.get("/queue").get_data(as_text=True)
    assert "本推荐单位的项目" in html and f'href="/applications/{mine.id}"' in html
    assert "别的推荐单位的项目" not in html
    assert "已推荐的项目" not in html  # the default: waiting for recommendation
    everything = client.get("/queue?state=all").get_data(as_text=True)
    assert "已推荐的项目" in everything and "别的推荐单位的项目" not in everything
    assert "未提交的草稿" not in everything


@pytest.mark.parametrize("role", ["applicant", "reviewer", "officer"])
def test_the_queue_is_for_recommending_bodies(pages, factory, role):
    assert pages(factory.user(role)).get("/queue").status_code == 403


def test_pages_need_sign_in(pages):
    for path in ("/applications", "/applications/new", "/queue", "/applications/1/edit"):
        response = pages().get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- creating a draft ---------------------------------------------------------------------------


def test_the_form_has_its_sections_and_the_calls_rules(pages, factory):
    call = factory.call(min_matching_ratio=0.5, max_central_per_project=5_000_000)
    body = factory.body("embassy", "embassy_section")
    html = pages(factory.user("applicant")).get(f"/applications/new?call_id={call.id}").get_data(as_text=True)
    assert html.count("<legend>") == 8
    for legend in ("基本信息", "推荐渠道与推荐单位", "国际科技合作基地", "敏感技术声明"):
        assert f"<legend>{legend}</legend>" in html
    assert "地方配套与自筹经费不低于中央财政经费的 50%" in html
    assert "500.00 万元" in html
    assert f'<option data-channel="embassy" value="{body.id}">' in html
    assert '<optgroup label="驻外使领馆推荐">' in html
    assert len(re.findall(r'name="partners-\d+-name"', html)) == 3
    assert 'name="csrf_token"' in html and "application_form.js" in html
    assert "<script>" not in html and "style=" not in html


def test_create_a_draft_through_the_form(pages, factory, api):
    call = factory.call()
    body = factory.body("ministry_province", "provincial_department")
    applicant = factory.user("applicant")
    client = pages(applicant)
    response = client.post("/applications/new", form_data(call, body, sensitive_technology="y"))
    assert response.status_code == 303
    app_id = int(re.search(r"/applications/(\d+)$", response.headers["Location"]).group(1))
    data = api(applicant).get(f"/applications/{app_id}").get_json()
    assert data["state"] == "draft" and data["title"] == "中德氢能储运材料联合研究"
    assert data["channel"] == "ministry_province" and data["body_id"] == body.id
    assert data["partners"] == [{"name": "Fraunhofer IFAM", "country": "DE", "kind": "institute"}]
    assert data["budget"]["central"] == 3_000_000 and data["budget"]["self_raised"] == 600_000
    assert data["sensitive_technology"] is True and data["foreign_experts"] == 4
    # and it comes back in the form
    html = client.get(f"/applications/{app_id}/edit").get_data(as_text=True)
    assert 'value="Fraunhofer IFAM"' in html and 'value="3000000"' in html
    assert len(re.findall(r'name="partners-\d+-name"', html)) == 3  # one saved, two empty


def test_a_draft_saves_with_its_pdfs(pages, factory, app):
    call, body = factory.call(), factory.body()
    client = pages(factory.user("applicant"))
    data = form_data(call, body, proposal=(io.BytesIO(minimal_pdf("p")), "申报书.pdf"),
                     cooperation_agreement=(io.BytesIO(minimal_pdf("a")), "agreement.pdf"))
    response = client.post("/applications/new", data, content_type="multipart/form-data")
    assert response.status_code == 303
    app_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        kinds = {a.kind: a.filename for a in db.session().scalars(select(Attachment).where(
            Attachment.application_id == app_id))}
    assert kinds == {"proposal": "申报书.pdf", "cooperation_agreement": "agreement.pdf"}
    html = client.get(f"/applications/{app_id}/edit").get_data(as_text=True)
    assert "申报书.pdf" in html and f"/applications/{app_id}/attachments/" in html


def test_more_rows_adds_an_empty_partner_row_without_saving(pages, factory, app):
    call, body = factory.call(), factory.body()
    client = pages(factory.user("applicant"))
    before = application_count(app)
    data = form_data(call, body, title="尚未保存的标题", more_rows="1")
    del data["save"]
    response = client.post("/applications/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(re.findall(r'name="partners-\d+-name"', html)) == 4
    assert 'value="尚未保存的标题"' in html and 'value="Fraunhofer IFAM"' in html
    assert application_count(app) == before


# --- refused saves change nothing --------------------------------------------------------------------


REFUSALS = [
    # (what is wrong, the change, the field where the message shows, words of the message)
    ("body of another channel", {"channel": "embassy"}, "body_id", "推荐单位不属于所选推荐渠道"),
    ("negative budget", {"budget_central": "-5"}, "budget_central", "0"),
    ("NUL byte in the title", {"title": "氢能\x00研究"}, "title", "无法保存的字符"),
    ("no title", {"title": "  "}, "title", ""),
    ("partner without a country", {"partners-1-name": "Uni Wien"}, "partners-1-country", "国家"),
    ("unknown body", {"body_id": "999999"}, "body_id", ""),
    ("body id out of range", {"body_id": "99999999999999999999"}, "body_id", ""),
    ("duration too long", {"duration_months": "500"}, "duration_months", "120"),
    ("not a PDF", {"proposal": (b"GIF89a not a pdf", "photo.gif")}, "proposal", "PDF"),
]


@pytest.mark.parametrize("what, change, field, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_new_draft_shows_the_message_at_the_field_and_saves_nothing(pages, factory, app, what, change,
                                                                               field, words):
    call, body = factory.call(), factory.body("intergovernmental")
    factory.body("embassy", "embassy_section")
    client = pages(factory.user("applicant"))
    before = application_count(app)
    response = client.post("/applications/new", form_data(call, body, **files(change)), content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422, what
    assert field_messages(html, field), f"no message at {field}"
    assert words in field_messages(html, field)
    assert 'value="Fraunhofer IFAM"' in html  # what was typed stays
    assert application_count(app) == before


@pytest.mark.parametrize("what, change, field, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_edit_shows_the_message_at_the_field_and_changes_nothing(pages, factory, what, change, field,
                                                                           words):
    application, cast = factory.application("draft")
    factory.body("embassy", "embassy_section")
    before = snapshot(factory, application.id)
    response = pages(cast.applicant).post(f"/applications/{application.id}/edit",
                                          edit_data(application, **files(change)), content_type="multipart/form-data")
    assert response.status_code == 422, what
    assert words in field_messages(response.get_data(as_text=True), field)
    assert snapshot(factory, application.id) == before


def test_a_form_without_its_csrf_token_changes_nothing(pages, factory):
    application, cast = factory.application("draft")
    before = snapshot(factory, application.id)
    response = pages(cast.applicant).post(f"/applications/{application.id}/edit",
                                          edit_data(application, title="没有令牌的修改"), csrf=False)
    assert response.status_code == 400
    assert "并非从本系统提交" in response.get_data(as_text=True)
    assert snapshot(factory, application.id) == before


def test_a_stale_version_says_so_and_keeps_the_edit(pages, factory, api):
    application, cast = factory.application("draft")
    seen = edit_data(application, title="我这边的新标题")
    # someone else of the institution saves first
    assert api(cast.applicant).patch(f"/applications/{application.id}", json={"summary": "同事先改了摘要"}) \
        .status_code == 200
    before = snapshot(factory, application.id)
    response = pages(cast.applicant).post(f"/applications/{application.id}/edit", seen)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "他人已先行操作" in html
    assert 'value="我这边的新标题"' in html
    assert snapshot(factory, application.id) == before
    assert f'name="version" type="hidden" value="{before[1]}"' in html  # saving again is a conscious overwrite


def test_a_saved_edit_moves_the_version_and_goes_to_the_application_page(pages, factory, api):
    application, cast = factory.application("draft")
    response = pages(cast.applicant).post(f"/applications/{application.id}/edit",
                                          edit_data(application, title="改过的标题", **{"partners-1-name": "Uni Wien",
                                                                                   "partners-1-country": "AT",
                                                                                   "partners-1-kind": "university"}))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/applications/{application.id}"
    data = api(cast.applicant).get(f"/applications/{application.id}").get_json()
    assert data["title"] == "改过的标题" and data["version"] == application.version + 1
    assert [p["country"] for p in data["partners"]] == ["DE", "AT"]


def test_another_institutions_application_answers_404(pages, factory):
    application, cast = factory.application("draft")
    stranger = pages(factory.user("applicant"))
    before = snapshot(factory, application.id)
    assert stranger.get(f"/applications/{application.id}/edit").status_code == 404
    assert stranger.post(f"/applications/{application.id}/edit", edit_data(application, title="x")).status_code == 404
    assert stranger.get(f"/applications/{application.id}/attachments/1").status_code == 404
    assert snapshot(factory, application.id) == before


def test_editing_is_refused_outside_draft_and_revision(pages, factory):
    application, cast = factory.application("pending_recommendation")
    before = snapshot(factory, application.id)
    client = pages(cast.applicant)
    assert client.get(f"/applications/{application.id}/edit").status_code == 409
    response = client.post(f"/applications/{application.id}/edit", edit_data(application, title="不能改"))
    assert response.status_code == 409 and "草稿" in response.get_data(as_text=True)
    assert snapshot(factory, application.id) == before


def test_the_form_is_for_applicants(pages, factory):
    application, cast = factory.application("pending_recommendation")
    assert pages(cast.recommender).get(f"/applications/{application.id}/edit").status_code == 403
    assert pages(factory.user("officer")).get("/applications/new").status_code == 403


def test_a_revision_request_shows_its_reason_on_the_form(pages, factory):
    application, cast = factory.application("revision_requested")
    html = pages(cast.applicant).get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert "请补充外方合作单位的合作意向书。" in html
    assert "退回修改" in html


# --- uploads ------------------------------------------------------------------------------------


def post_upload(client, app_id, kind, content, filename="file.pdf", next_="/applications"):
    return client.post(f"/applications/{app_id}/attachments?next={next_}",
                       {"kind": kind, "file": (io.BytesIO(content), filename), "next": next_},
                       content_type="multipart/form-data")


def test_a_pdf_upload_is_stored_and_downloads(pages, factory, app):
    application, cast = factory.application("draft")
    client = pages(cast.applicant)
    response = post_upload(client, application.id, "proposal", minimal_pdf("hello"), "申报书.pdf",
                           f"/applications/{application.id}/edit")
    assert response.status_code == 303 and response.headers["Location"] == f"/applications/{application.id}/edit"
    with app.app_context():
        att = db.session().scalars(select(Attachment).where(Attachment.application_id == application.id)).one()
    html = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert "项目申报书已上传" in html
    download = client.get(f"/applications/{application.id}/attachments/{att.id}")
    assert download.status_code == 200 and download.data == minimal_pdf("hello")
    assert download.mimetype == "application/pdf"
    download.close()
    assert client.get(f"/applications/{application.id}/attachments/{att.id + 99}").status_code == 404


def test_the_upload_takes_the_later_kinds(pages, factory, app):
    application, cast = factory.application("approved")
    response = post_upload(pages(cast.applicant), application.id, "signed_agreement", minimal_pdf("signed"))
    assert response.status_code == 303
    with app.app_context():
        kinds = [a.kind for a in db.session().scalars(select(Attachment).where(
            Attachment.application_id == application.id))]
    assert "signed_agreement" in kinds


@pytest.mark.parametrize("language, words", [("zh", "不是 PDF"), ("en", "not a PDF")])
def test_a_non_pdf_upload_is_refused_with_a_message(pages, factory, language, words):
    application, cast = factory.application("draft")
    client = pages(cast.applicant, language)
    before = snapshot(factory, application.id)
    response = post_upload(client, application.id, "proposal", b"just text", "notes.txt")
    assert response.status_code == 303 and response.headers["Location"] == "/applications"
    assert words in client.get("/applications").get_data(as_text=True)
    assert snapshot(factory, application.id) == before


def test_an_upload_in_the_wrong_state_or_kind_is_refused_with_a_message(pages, factory):
    application, cast = factory.application("pending_recommendation")
    client = pages(cast.applicant)
    before = snapshot(factory, application.id)
    post_upload(client, application.id, "proposal", minimal_pdf())
    assert "当前状态下不能上传此类文件" in client.get("/applications").get_data(as_text=True)
    post_upload(client, application.id, "selfie", minimal_pdf())
    assert "请从列出的选项中选择" in client.get("/applications").get_data(as_text=True)
    assert snapshot(factory, application.id) == before


def test_a_too_large_upload_is_told_not_a_500(pages, factory, app):
    application, cast = factory.application("draft")
    client = pages(cast.applicant)
    before = snapshot(factory, application.id)
    app.config["MAX_UPLOAD_BYTES"] = 2000  # over the service's limit, within the request's
    response = post_upload(client, application.id, "proposal", minimal_pdf() + b"%" * 3000 + b"\n%%EOF")
    assert response.status_code == 303
    assert "文件过大" in client.get("/applications").get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 4000  # over the request's limit: the body is never read
    response = post_upload(client, application.id, "proposal", b"%PDF-" + b"0" * 8000)
    assert response.status_code == 303 and response.headers["Location"] == "/applications"
    assert "文件过大" in client.get("/applications").get_data(as_text=True)
    assert snapshot(factory, application.id) == before


def test_a_recommender_cannot_upload(pages, factory):
    application, cast = factory.application("pending_recommendation")
    before = snapshot(factory, application.id)
    response = post_upload(pages(cast.recommender), application.id, "proposal", minimal_pdf())
    assert response.status_code == 303
    assert snapshot(factory, application.id) == before


# --- languages -----------------------------------------------------------------------------------


def test_the_pages_speak_english_on_request(pages, factory):
    application, cast = factory.application("revision_requested")
    client = pages(cast.applicant, "en")
    html = client.get("/applications").get_data(as_text=True)
    assert "My institution's applications" in html and "New application" in html
    assert "Answer the revision request" in html and "Revision requested" in html
    form = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert "<legend>Basic facts</legend>" in form and "Budget by source" in form
    assert 'lang="en"' in form
    queue = pages(cast.recommender, "en").get("/queue?state=all").get_data(as_text=True)
    assert "Recommendation queue" in queue and application.title in queue


def test_the_pages_speak_chinese_by_default(pages, factory):
    application, cast = factory.application("draft")
    html = pages(cast.applicant).get("/applications").get_data(as_text=True)
    assert "本单位的申报项目" in html and "新建申报" in html and 'lang="zh-CN"' in html
    form = pages(cast.applicant).get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert "保存草稿" in form and "Save draft" not in form


def test_a_form_too_large_to_read_goes_back_to_the_form_saying_so(pages, factory, app):
    application, cast = factory.application("draft")
    client = pages(cast.applicant)
    before = snapshot(factory, application.id)
    app.config["MAX_CONTENT_LENGTH"] = 4000
    response = client.post(f"/applications/{application.id}/edit",
                           edit_data(application, proposal=(io.BytesIO(b"%PDF-" + b"0" * 8000), "big.pdf")),
                           content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"] == f"/applications/{application.id}/edit"
    assert "文件过大" in client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert snapshot(factory, application.id) == before


def test_the_only_open_call_is_chosen_and_each_call_carries_its_rules(pages, factory):
    call = factory.call(min_matching_ratio=0.3)
    html = pages(factory.user("applicant")).get("/applications/new").get_data(as_text=True)
    assert re.search(rf'<option data-rules="[^"]*30%[^"]*" selected value="{call.id}">', html), html[:0]
