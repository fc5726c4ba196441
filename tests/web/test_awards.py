"""After the award: signing the agreement with milestones, milestone reports, change requests and close-out."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from flask import render_template
from flask_login import login_user

from workflow import db
from workflow.effects import add_months
from workflow.lifecycle import minimal_pdf
from workflow.models import ChangeRequest, Milestone
from workflow.services import applications as app_svc
from workflow.services.transitions import fire
from workflow.web.awards import panel_context
from workflow.web.common import SignedIn

from ..factories import snapshot

OUTCOMES = {"papers": "6", "patents": "2", "standards": "1", "technologies_transferred": "1",
            "experts_engaged": "4", "researchers_trained": "5"}


def pdf(name: str = "file.pdf"):
    return (io.BytesIO(minimal_pdf(name)), name)


def fire_now(factory, *args, **kwargs):
    with factory.app.app_context():
        return fire(*args, **kwargs)


def zh(app, msgid: str) -> str:
    """The catalogue's Chinese for a service message (several areas share these msgids)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("zh"):
        return gettext(msgid)


def html(response) -> str:
    return response.get_data(as_text=True)


def milestones_of(factory, app_id: int) -> list[Milestone]:
    with factory.app.app_context():
        s = db.session()
        return list(s.query(Milestone).filter_by(application_id=app_id).order_by(Milestone.seq))


def kinds(factory, app_id: int) -> list[str]:
    return sorted(a.kind for a in factory.reload(app_id).attachments)


def agreement_data() -> dict:
    """The international cooperation agreement, as the agreement page's fields."""
    today = dt.date.today()
    return {"title": "中德储能材料联合研究合作协议", "signed_on": today.isoformat(), "valid_from": today.isoformat(),
            "valid_until": today.replace(year=today.year + 4).isoformat(), "partners-0-name": "Fraunhofer ISE",
            "partners-0-country": "DE", "commitments_domestic": "提供测试平台，派出青年科研人员。",
            "commitments_foreign": "开放中试线，接收中方人员。"}


def sign_data(version: int, rows, upload: bool = True) -> dict:
    data = {"version": str(version), "sign": "1", **agreement_data()}
    if upload:
        data["agreement_file"] = pdf("任务书.pdf")
    for i, (title, due) in enumerate(rows):
        data[f"milestones-{i}-title"] = title
        data[f"milestones-{i}-kind"] = "joint_research_output"
        data[f"milestones-{i}-due_date"] = due
    return data


# --- signing the agreement -------------------------------------------------------------------------------


def test_applicant_signs_the_agreement_with_an_upload_and_two_milestones(pages, factory):
    application, cast = factory.application("approved")
    client = pages(cast.applicant)
    page = client.get(f"/applications/{application.id}/agreement")
    assert page.status_code == 200
    assert "签署项目任务书" in html(page) and 'name="milestones-3-title"' in html(page)
    response = client.post(f"/applications/{application.id}/agreement", sign_data(
        application.version, [("完成联合实验平台建设", "2027-09-30"), ("中期合作交流", "2027-03-31"), ("", "")]))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{application.id}")
    after = factory.reload(application.id)
    assert after.state == "in_progress"
    assert "signed_agreement" in after.attachment_kinds()
    ms = milestones_of(factory, application.id)
    assert [(m.seq, m.title, m.due_date) for m in ms] == [
        (1, "中期合作交流", dt.date(2027, 3, 31)), (2, "完成联合实验平台建设", dt.date(2027, 9, 30))]
    assert all(m.state == "planned" for m in ms)


def test_signing_without_the_signed_agreement_is_refused_at_the_field(pages, factory):
    application, cast = factory.application("approved")
    before = snapshot(factory, application.id)
    response = pages(cast.applicant).post(f"/applications/{application.id}/agreement", sign_data(
        application.version, [("中期合作交流", "2027-03-31")], upload=False))
    assert response.status_code == 422
    page = html(response)
    assert zh(factory.app, "upload the signed project agreement (任务书) first") in page
    assert 'id="agreement_file" name="agreement_file"' in page and "is-invalid" in page
    assert 'value="中期合作交流"' in page  # the typed row is kept
    assert snapshot(factory, application.id) == before
    assert milestones_of(factory, application.id) == []


def test_a_bad_date_is_told_at_its_row_and_keeps_no_upload(pages, factory):
    application, cast = factory.application("approved")
    before = snapshot(factory, application.id)
    response = pages(cast.applicant).post(f"/applications/{application.id}/agreement", sign_data(
        application.version, [("中期合作交流", "2027-03-31"), ("结题准备", "2027-02-30")]))
    assert response.status_code == 422
    page = html(response)
    assert "日期格式不正确" in page
    assert 'value="2027-02-30"' in page and 'value="结题准备"' in page
    assert snapshot(factory, application.id) == before
    assert "signed_agreement" not in kinds(factory, application.id)


def test_no_milestone_is_refused_and_a_title_without_a_date_is_told(pages, factory):
    application, cast = factory.application("approved")
    client = pages(cast.applicant)
    response = client.post(f"/applications/{application.id}/agreement", sign_data(application.version, []))
    assert response.status_code == 422
    assert "请至少填写一项合作协议里程碑" in html(response)
    response = client.post(f"/applications/{application.id}/agreement",
                           sign_data(application.version, [("中期合作交流", "")]))
    assert response.status_code == 422
    assert "请填写截止日期" in html(response)
    assert factory.reload(application.id).state == "approved"
    assert "signed_agreement" not in kinds(factory, application.id)


def test_more_rows_without_script_keeps_what_was_typed(pages, factory):
    application, cast = factory.application("approved")
    response = pages(cast.applicant).post(f"/applications/{application.id}/agreement", {
        "version": str(application.version), "more": "1", "milestones-0-title": "中期合作交流",
        "milestones-0-due_date": "2027-03-31", **{f"milestones-{i}-title": "" for i in range(1, 4)}})
    assert response.status_code == 200
    page = html(response)
    assert 'name="milestones-5-title"' in page and 'name="milestones-6-title"' not in page
    assert 'value="中期合作交流"' in page and 'value="2027-03-31"' in page
    assert factory.reload(application.id).state == "approved"


def test_a_stale_version_says_so_and_keeps_the_rows(pages, factory):
    application, cast = factory.application("approved")
    response = pages(cast.applicant).post(f"/applications/{application.id}/agreement", sign_data(
        application.version - 1, [("中期合作交流", "2027-03-31")]))
    assert response.status_code == 409
    assert "他人已先行操作" in html(response) and 'value="中期合作交流"' in html(response)
    assert factory.reload(application.id).state == "approved"


def test_agreement_page_access(pages, factory):
    application, cast = factory.application("approved")
    stranger = factory.user("applicant")
    assert pages(stranger).get(f"/applications/{application.id}/agreement").status_code == 404
    officer = pages(cast.officer)
    assert officer.get(f"/applications/{application.id}/agreement").status_code == 403
    response = officer.post(f"/applications/{application.id}/agreement",
                            sign_data(application.version, [("中期合作交流", "2027-03-31")]))
    assert response.status_code == 403
    assert factory.reload(application.id).state == "approved"
    running, cast2 = factory.application("in_progress")
    response = pages(cast2.applicant).get(f"/applications/{running.id}/agreement")
    assert response.status_code == 409 and "任务书在项目立项后签署" in html(response)


# --- milestones ------------------------------------------------------------------------------------------


def test_milestone_report_return_report_again_and_accept(pages, factory):
    application, cast = factory.application("in_progress")
    first = milestones_of(factory, application.id)[0]
    applicant, officer = pages(cast.applicant), pages(cast.officer)
    url = f"/applications/{application.id}/milestones/{first.id}"

    empty = applicant.post(f"{url}/transitions/report", {"version": first.version, "report": "  "})
    assert empty.status_code == 422 and "请填写进展报告" in html(empty)
    assert milestones_of(factory, application.id)[0].state == "planned"

    done = applicant.post(f"{url}/transitions/report", {"version": first.version, "report": "完成第一阶段联合实验。",
                                                        "report_file": pdf("节点报告.pdf")})
    assert done.status_code == 302 and done.headers["Location"].endswith("#milestones")
    m = milestones_of(factory, application.id)[0]
    assert (m.state, m.report) == ("reported", "完成第一阶段联合实验。")
    assert "milestone_report" in kinds(factory, application.id)

    no_reason = officer.post(f"{url}/transitions/return", {"version": m.version, "comment": ""})
    assert no_reason.status_code == 422 and "请填写理由" in html(no_reason)
    assert milestones_of(factory, application.id)[0].state == "reported"
    returned = officer.post(f"{url}/transitions/return", {"version": m.version, "comment": "请补充外方实验数据。"})
    assert returned.status_code == 302
    m = milestones_of(factory, application.id)[0]
    assert m.state == "returned"

    seen = html(applicant.get(url))
    assert "请补充外方实验数据。" in seen and "已退回" in seen
    again = applicant.post(f"{url}/transitions/report", {"version": m.version, "report": "已补充外方实验数据。"})
    assert again.status_code == 302
    m = milestones_of(factory, application.id)[0]
    assert m.state == "reported"
    accepted = officer.post(f"{url}/transitions/accept", {"version": m.version})
    assert accepted.status_code == 302
    assert milestones_of(factory, application.id)[0].state == "accepted"


def test_applicant_cannot_accept_and_strangers_do_not_see_milestones(pages, factory):
    application, cast = factory.application("in_progress")
    m = milestones_of(factory, application.id)[0]
    fire_now(factory, cast.applicant, "milestone", m.id, "report", payload={"report": "完成"})
    url = f"/applications/{application.id}/milestones/{m.id}"
    stranger = pages(factory.user("applicant"))
    before = snapshot(factory, application.id, "milestone", m.id)
    assert pages(cast.applicant).post(f"{url}/transitions/accept", {}).status_code == 403
    assert stranger.get(url).status_code == 404
    assert stranger.post(f"{url}/transitions/report", {"report": "x"}).status_code == 404
    assert snapshot(factory, application.id, "milestone", m.id) == before
    other, _ = factory.application("in_progress")
    assert pages(cast.applicant).get(f"/applications/{application.id}/milestones/"
                                     f"{milestones_of(factory, other.id)[0].id}").status_code == 404


def test_officer_sees_no_report_form_and_a_reported_milestone_offers_no_second_report(pages, factory):
    application, cast = factory.application("in_progress")
    m = milestones_of(factory, application.id)[0]
    url = f"/applications/{application.id}/milestones/{m.id}"
    assert "transitions/report" not in html(pages(cast.officer).get(url))
    fire_now(factory, cast.applicant, "milestone", m.id, "report", payload={"report": "完成"})
    page = html(pages(cast.applicant).get(url))
    assert "transitions/report" not in page and "transitions/accept" not in page
    officer_page = html(pages(cast.officer).get(url))
    assert "transitions/accept" in officer_page and "transitions/return" in officer_page


# --- close-out -------------------------------------------------------------------------------------------


def closeout_data(version: int, upload: bool = True, **outcomes) -> dict:
    data = {"version": str(version), "comment": "项目按期完成。", "base": "none", **OUTCOMES, **outcomes}
    if upload:
        data["final_file"] = pdf("结题报告.pdf")
    return data


def test_closeout_with_an_open_milestone_is_refused_with_the_message(pages, factory):
    application, cast = factory.application("in_progress")
    client = pages(cast.applicant)
    page = html(client.get(f"/applications/{application.id}/closeout"))
    assert "尚有 3 个里程碑未验收" in page
    before = snapshot(factory, application.id)
    response = client.post(f"/applications/{application.id}/closeout", closeout_data(application.version))
    assert response.status_code == 409
    assert zh(factory.app, "every milestone must be accepted before close-out") in html(response)
    assert snapshot(factory, application.id) == before
    assert "final_report" not in kinds(factory, application.id)


def accept_all(factory, application, cast) -> None:
    with factory.app.app_context():
        for m in milestones_of(factory, application.id):
            fire(cast.applicant, "milestone", m.id, "report", payload={"report": "完成"})
            fire(cast.officer, "milestone", m.id, "accept")


def test_closeout_after_every_milestone_is_accepted(pages, factory):
    application, cast = factory.application("in_progress")
    accept_all(factory, application, cast)
    application = factory.reload(application.id)
    client = pages(cast.applicant)
    bad = client.post(f"/applications/{application.id}/closeout",
                      closeout_data(application.version, papers="-1", patents="两项"))
    assert bad.status_code == 422
    assert "请填写整数" in html(bad) and 'value="两项"' in html(bad)
    assert factory.reload(application.id).state == "in_progress"
    no_report = client.post(f"/applications/{application.id}/closeout",
                            closeout_data(application.version, upload=False))
    assert no_report.status_code == 422 and zh(factory.app, "attach the final report first") in html(no_report)
    response = client.post(f"/applications/{application.id}/closeout", closeout_data(application.version))
    assert response.status_code == 302
    after = factory.reload(application.id)
    assert after.state == "closeout_review"
    assert after.outcomes == {**{k: int(v) for k, v in OUTCOMES.items()}, "base": "none", "base_id": None}
    assert "final_report" in after.attachment_kinds()


def test_closeout_access(pages, factory):
    application, cast = factory.application("in_progress")
    assert pages(factory.user("applicant")).get(f"/applications/{application.id}/closeout").status_code == 404
    assert pages(cast.officer).get(f"/applications/{application.id}/closeout").status_code == 403
    approved, cast2 = factory.application("approved")
    assert pages(cast2.applicant).get(f"/applications/{approved.id}/closeout").status_code == 409


# --- change requests -------------------------------------------------------------------------------------


def changes_of(factory, app_id: int) -> list[ChangeRequest]:
    with factory.app.app_context():
        return list(db.session().query(ChangeRequest).filter_by(application_id=app_id).order_by(ChangeRequest.id))


def test_extension_filed_and_approved_moves_the_due_dates(pages, factory):
    application, cast = factory.application("in_progress")
    dues = [m.due_date for m in milestones_of(factory, application.id)]
    applicant = pages(cast.applicant)
    form = html(applicant.get(f"/applications/{application.id}/changes/new"))
    assert "延期" in form and 'value="Fraunhofer ISE"' in form
    response = applicant.post(f"/applications/{application.id}/changes/new", {
        "kind": "extension", "extend_months": "6", "comment": "外方设备延迟交付。",
        "partners-0-name": "Fraunhofer ISE", "partners-0-country": "DE", "partners-0-kind": "institute"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#changes")
    [change] = changes_of(factory, application.id)
    assert (change.kind, change.state, change.proposal) == ("extension", "submitted", {"extend_months": 6})

    again = applicant.post(f"/applications/{application.id}/changes/new",
                           {"kind": "extension", "extend_months": "3", "comment": "再次延期。"})
    assert again.status_code == 409 and "已有一项延期申请等待审批" in html(again)
    assert len(changes_of(factory, application.id)) == 1

    officer = pages(cast.officer)
    page = html(officer.post(f"/applications/{application.id}/changes/{change.id}/transitions/refuse",
                             {"version": change.version, "comment": ""}))
    assert "请填写理由" in page and "36 个月" in page and "42 个月" in page
    approved = officer.post(f"/applications/{application.id}/changes/{change.id}/transitions/approve",
                            {"version": change.version})
    assert approved.status_code == 302
    after = factory.reload(application.id)
    assert after.duration_months == 42
    assert [m.due_date for m in milestones_of(factory, application.id)] == [add_months(d, 6) for d in dues]
    assert changes_of(factory, application.id)[0].state == "approved"


def test_a_refused_change_changes_nothing(pages, factory):
    application, cast = factory.application("in_progress")
    applicant = pages(cast.applicant)
    response = applicant.post(f"/applications/{application.id}/changes/new", {
        "kind": "budget_reallocation", "central": "2700000", "local_matching": "1500000",
        "self_raised": "1000000", "comment": "调整经费结构。"})  # central as approved: a reallocation keeps it
    assert response.status_code == 302
    [change] = changes_of(factory, application.id)
    officer = pages(cast.officer)
    refused = officer.post(f"/applications/{application.id}/changes/{change.id}/transitions/refuse",
                           {"version": change.version, "comment": "调整理由不充分。"})
    assert refused.status_code == 302
    after = factory.reload(application.id)
    assert (after.budget_central, after.budget_local_matching, after.budget_self_raised) == (
        3_000_000, 1_000_000, 500_000)
    assert changes_of(factory, application.id)[0].state == "refused"
    assert pages(cast.applicant).post(
        f"/applications/{application.id}/changes/{change.id}/transitions/approve", {}).status_code == 403


def test_change_request_refusals_at_the_fields(pages, factory):
    application, cast = factory.application("in_progress")
    client = pages(cast.applicant)
    url = f"/applications/{application.id}/changes/new"
    cases = [
        ({"kind": "extension", "extend_months": "30", "comment": "延期"}, "延期月数应为 1 至 24"),
        ({"kind": "extension", "extend_months": "6", "comment": ""}, "请说明调整理由"),
        ({"kind": "pi_change", "principal_investigator": "", "comment": "调动"}, "请填写新的项目负责人"),
        ({"kind": "partner_change", "partners-0-name": "清华大学", "partners-0-country": "CN",
          "partners-0-kind": "university", "comment": "调整"}, "至少需要一个外方合作单位"),
        ({"comment": "调整"}, "请选择调整类型"),
    ]
    for data, message in cases:
        response = client.post(url, data)
        assert response.status_code == 422, data
        assert message in html(response), data
    assert changes_of(factory, application.id) == []
    more = client.post(url, {"kind": "partner_change", "more": "1", "partners-0-name": "Fraunhofer ISE",
                             "comment": "调整合作方"})
    assert more.status_code == 200 and 'name="partners-2-name"' in html(more)
    assert 'value="Fraunhofer ISE"' in html(more) and "调整合作方" in html(more)


def test_partner_and_pi_changes_apply(pages, factory):
    application, cast = factory.application("in_progress")
    client = pages(cast.applicant)
    url = f"/applications/{application.id}/changes/new"
    assert client.post(url, {"kind": "partner_change", "comment": "新增合作方",
                             "partners-0-name": "Fraunhofer ISE", "partners-0-country": "DE",
                             "partners-0-kind": "institute", "partners-1-name": "KTH",
                             "partners-1-country": "SE", "partners-1-kind": "university"}).status_code == 302
    assert client.post(url, {"kind": "pi_change", "comment": "原负责人调离",
                             "principal_investigator": "李明"}).status_code == 302
    officer = pages(cast.officer)
    for change in changes_of(factory, application.id):
        assert officer.post(f"/applications/{application.id}/changes/{change.id}/transitions/approve",
                            {"version": change.version}).status_code == 302
    after = factory.reload(application.id)
    assert sorted(p.name for p in after.partners) == ["Fraunhofer ISE", "KTH"]
    assert after.principal_investigator == "李明"


def test_change_request_access(pages, factory):
    application, cast = factory.application("in_progress")
    url = f"/applications/{application.id}/changes/new"
    assert pages(factory.user("applicant")).get(url).status_code == 404
    assert pages(cast.officer).get(url).status_code == 403
    approved, cast2 = factory.application("approved")
    assert pages(cast2.applicant).get(f"/applications/{approved.id}/changes/new").status_code == 409


# --- the panel on the application page -------------------------------------------------------------------


def render_panel(app, factory, actor, app_id: int, language: str = "zh") -> str:
    with app.test_request_context(headers={"Cookie": f"fundflow_lang={language}"}):
        login_user(SignedIn(actor))
        application = app_svc.get_application(actor, app_id)
        return render_template("awards/_panel.html", application=application, **panel_context(actor, application))


def test_panel_shows_milestones_returns_and_changes_as_before_and_after(app, factory):
    application, cast = factory.application("in_progress")
    with app.app_context():
        ms = milestones_of(factory, application.id)
        fire(cast.applicant, "milestone", ms[0].id, "report", payload={"report": "阶段报告内容"})
        fire(cast.officer, "milestone", ms[0].id, "return", comment="缺少外方签字页")
        from workflow.services import changes

        changes.request_change(cast.applicant, application.id, "extension", "设备延迟", {"extend_months": 6})
    applicant_panel = render_panel(app, factory, cast.applicant, application.id)
    assert "缺少外方签字页" in applicant_panel and "阶段报告内容" in applicant_panel
    assert "/transitions/report" in applicant_panel and "/changes/new" in applicant_panel
    assert "36 个月" in applicant_panel and "42 个月" in applicant_panel
    assert "/transitions/approve" not in applicant_panel
    officer_panel = render_panel(app, factory, cast.officer, application.id, "en")
    assert "/transitions/approve" in officer_panel and "/transitions/refuse" in officer_panel
    assert "36 months" in officer_panel and "Returned" in officer_panel and "/changes/new" not in officer_panel


def test_panel_offers_signing_when_approved_and_stays_away_before(app, factory, pages):
    application, cast = factory.application("approved")
    assert "milestones-title" in render_panel(app, factory, cast.applicant, application.id)
    # One way to sign on the application page: the action among the page's actions.
    page = html(pages(cast.applicant).get(f"/applications/{application.id}"))
    assert page.count(f'href="/applications/{application.id}/agreement"') == 1
    draft, cast2 = factory.application("draft")
    assert "milestones-title" not in render_panel(app, factory, cast2.applicant, draft.id)


# --- languages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language, words", [
    ("zh", ("签署项目任务书", "合作协议里程碑", "截止日期")),
    ("en", ("Sign the project agreement", "Milestones of the cooperation agreement", "Due date")),
])
def test_agreement_page_in_both_languages(pages, factory, language, words):
    application, cast = factory.application("approved")
    page = html(pages(cast.applicant, language).get(f"/applications/{application.id}/agreement"))
    for word in words:
        assert word in page
    assert f'<html lang="{"zh-CN" if language == "zh" else "en"}">' in page


@pytest.mark.parametrize("language, words", [
    ("zh", ("申请结题", "论文（篇）", "结题报告")),
    ("en", ("Request close-out", "Papers", "Final report")),
])
def test_closeout_and_change_pages_in_both_languages(pages, factory, language, words):
    application, cast = factory.application("in_progress")
    client = pages(cast.applicant, language)
    page = html(client.get(f"/applications/{application.id}/closeout"))
    for word in words:
        assert word in page
    change = html(client.get(f"/applications/{application.id}/changes/new"))
    assert ("预算调整" if language == "zh" else "Budget reallocation") in change


def test_english_refusal_reads_in_english(pages, factory):
    application, cast = factory.application("approved")
    response = pages(cast.applicant, "en").post(f"/applications/{application.id}/agreement", sign_data(
        application.version, [("Mid-term exchange", "2027-03-31")], upload=False))
    assert response.status_code == 422
    assert "upload the signed project agreement" in html(response).lower()


def test_nothing_on_these_pages_uses_inline_script_or_style(pages, factory):
    application, cast = factory.application("in_progress")
    client = pages(cast.applicant)
    for path in (f"/applications/{application.id}/closeout", f"/applications/{application.id}/changes/new",
                 f"/applications/{application.id}/milestones/{milestones_of(factory, application.id)[0].id}"):
        page = html(client.get(path))
        assert "style=" not in page and "<style" not in page
        assert all('src="' in tag for tag in page.split("<script")[1:])

