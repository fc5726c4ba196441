"""Pages after the award: the agreement record, milestone evidence and return reasons, the change diff,
compliance on the application page, close-out with base and talent."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import text

from workflow import db
from workflow.lifecycle import minimal_pdf
from workflow.models import Agreement, Milestone
from workflow.services import changes
from workflow.services.compliance import today
from workflow.services.transitions import fire

from ..factories import snapshot

TODAY = today()


def html(response) -> str:
    return response.get_data(as_text=True)


def agreement_form(version: int, **changes_) -> dict:
    data = {"version": str(version), "sign": "1", "agreement_file": (io.BytesIO(minimal_pdf("任务书")), "任务书.pdf"),
            "title": "中德储能材料联合研究合作协议", "signed_on": TODAY.isoformat(), "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + dt.timedelta(days=1500)).isoformat(),
            "partners-0-name": "Fraunhofer ISE", "partners-0-country": "DE",
            "commitments_domestic": "提供测试平台，派出青年科研人员。", "commitments_foreign": "开放中试线，接收中方人员。",
            "milestones-0-title": "中期检查", "milestones-0-kind": "mid_term_report",
            "milestones-0-due_date": (TODAY + dt.timedelta(days=400)).isoformat(),
            "milestones-0-evidence": "中期检查报告",
            "milestones-1-title": "人员互访", "milestones-1-kind": "personnel_exchange",
            "milestones-1-due_date": (TODAY + dt.timedelta(days=200)).isoformat()}
    data.update(changes_)
    return data


def agreement_of(app, app_id: int) -> Agreement | None:
    with app.app_context():
        return db.session().query(Agreement).filter_by(application_id=app_id).one_or_none()


def test_signing_records_the_agreement_and_the_milestone_kinds(app, pages, factory):
    application, cast = factory.application("approved")
    client = pages(cast.applicant)
    page = html(client.get(f"/applications/{application.id}/agreement"))
    assert 'value="Fraunhofer ISE"' in page  # the foreign partners are offered
    response = client.post(f"/applications/{application.id}/agreement", agreement_form(application.version))
    assert response.status_code == 302, html(response)
    record = agreement_of(app, application.id)
    assert record.title == "中德储能材料联合研究合作协议" and record.partners == [{"name": "Fraunhofer ISE",
                                                                        "country": "DE"}]
    assert record.signed_attachment_id is not None
    with app.app_context():
        ms = db.session().query(Milestone).filter_by(application_id=application.id).order_by(Milestone.seq).all()
        assert [(m.kind, m.evidence) for m in ms] == [("personnel_exchange", None), ("mid_term_report", "中期检查报告")]
    detail = html(pages(cast.officer).get(f"/applications/{application.id}"))
    assert "中德储能材料联合研究合作协议" in detail and "中期检查报告" in detail and "人员交流" in detail


@pytest.mark.parametrize("changes_, field, message", [
    ({"milestones-1-due_date": "9999-12-31"}, "milestones-1-due_date", "超出项目执行期"),
    ({"milestones-1-due_date": "0001-01-01"}, "milestones-1-due_date", "超出项目执行期"),
    ({"partners-0-country": "CN"}, None, "至少应有一家外方合作机构"),
    ({"valid_until": (TODAY - dt.timedelta(days=1)).isoformat()}, "valid_until", "有效期截止日期不得早于生效日期"),
    ({"signed_on": (TODAY + dt.timedelta(days=5)).isoformat()}, "signed_on", "签署日期应在指南发布之后"),
    ({"title": ""}, "title", "请填写合作协议名称"),
])
def test_an_agreement_with_errors_is_told_at_its_fields_and_changes_nothing(app, pages, factory, changes_, field,
                                                                              message):
    application, cast = factory.application("approved")
    before = snapshot(factory, application.id)
    response = pages(cast.applicant).post(f"/applications/{application.id}/agreement",
                                          agreement_form(application.version, **changes_))
    assert response.status_code == 422
    page = html(response)
    assert message in page
    if field:
        assert f'id="{field}"' in page and "is-invalid" in page
    assert 'value="中期检查"' in page  # what was typed stays
    assert factory.reload(application.id).state == "approved"
    assert agreement_of(app, application.id) is None
    state, version, *_ = snapshot(factory, application.id)
    assert (state, version) == before[:2]


def test_a_milestone_page_shows_the_returned_report_its_reason_and_its_evidence(pages, factory):
    application, cast = factory.application("in_progress")
    first = application.milestones[0]
    applicant = pages(cast.applicant)
    url = f"/applications/{application.id}/milestones/{first.id}"
    response = applicant.post(f"{url}/transitions/report", {"version": first.version, "report": "完成联合实验。",
                                                            "report_file": (io.BytesIO(minimal_pdf("r")), "节点报告.pdf")})
    assert response.status_code == 302
    with factory.app.app_context():
        fire(cast.officer, "milestone", first.id, "return", comment="请补充外方出具的阶段性成果确认函。")
    page = html(applicant.get(url))
    assert "请补充外方出具的阶段性成果确认函。" in page and "节点报告.pdf" in page and "已退回" in page
    inbox = html(applicant.get("/inbox"))
    assert "里程碑报告被退回" in inbox


def test_a_report_without_text_keeps_no_upload(pages, factory):
    application, cast = factory.application("in_progress")
    first = application.milestones[0]
    before = snapshot(factory, application.id, "milestone", first.id)
    response = pages(cast.applicant).post(
        f"/applications/{application.id}/milestones/{first.id}/transitions/report",
        {"version": first.version, "report": "   ", "report_file": (io.BytesIO(minimal_pdf("r")), "r.pdf")})
    assert response.status_code == 422 and "请填写进展报告" in html(response)
    assert snapshot(factory, application.id, "milestone", first.id) == before
    assert "milestone_report" not in factory.reload(application.id).attachment_kinds()


@pytest.mark.parametrize("language, words", [
    ("zh", ("中央财政经费", "调整前", "调整后", "批准调整")),
    ("en", ("Central funds", "Before", "After", "Approve the change")),
])
def test_the_officer_sees_a_change_request_as_before_and_after(app, pages, factory, language, words):
    application, cast = factory.application("in_progress")
    central = application.approved_amount
    with app.app_context():
        change = changes.request_change(cast.applicant, application.id, "budget_reallocation", "地方配套增加",
                                        {"budget": {"central": central, "local_matching": 1_400_000,
                                                    "self_raised": 100_000}})
    page = html(pages(cast.officer, language).get(f"/applications/{application.id}/changes/{change.id}"))
    for word in words:
        assert word in page, word
    assert "ff-changed" in page  # the lines that change are marked
    assert "1,400,000" in page or "140.00" in page


def test_a_budget_reallocation_that_breaks_the_rules_is_told_at_the_field(pages, factory):
    application, cast = factory.application("in_progress")
    response = pages(cast.applicant).post(f"/applications/{application.id}/changes/new", {
        "kind": "budget_reallocation", "central": str(application.budget_central), "local_matching": "0",
        "self_raised": "0", "comment": "调整"})
    assert response.status_code == 422
    assert "预算调整须保持中央财政经费" in html(response)
    assert application.approved_amount != application.budget_central
    assert changes_of(factory, application.id) == 0


def changes_of(factory, app_id: int) -> int:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT count(*) FROM change_requests WHERE application_id = :i"), {"i": app_id}).scalar()


def test_the_application_page_shows_the_compliance_status(pages, factory):
    application, cast = factory.application("in_progress")
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE milestones SET due_date = :d WHERE id = :i"),
                  {"d": TODAY + dt.timedelta(days=10), "i": application.milestones[0].id})
    page = html(pages(cast.officer).get(f"/applications/{application.id}"))
    assert 'data-compliance="at_risk"' in page and "存在风险" in page


def test_closeout_records_the_base_and_a_failure_shows_its_reason(app, pages, factory):
    application, cast = factory.application("in_progress")
    base = factory.base()
    with app.app_context():
        for m in application.milestones:
            fire(cast.applicant, "milestone", m.id, "report", payload={"report": "完成。"})
            fire(cast.officer, "milestone", m.id, "accept")
    client = pages(cast.applicant)
    form = {"version": str(factory.reload(application.id).version), "papers": "3", "patents": "1", "standards": "0",
            "technologies_transferred": "1", "experts_engaged": "2", "researchers_trained": "4",
            "final_file": (io.BytesIO(minimal_pdf("f")), "结题报告.pdf")}
    refused = client.post(f"/applications/{application.id}/closeout", {**form, "base": "built"})
    assert refused.status_code == 422 and "请从基地名录中选择基地" in html(refused)
    form["final_file"] = (io.BytesIO(minimal_pdf("f")), "结题报告.pdf")
    done = client.post(f"/applications/{application.id}/closeout", {**form, "base": "built", "base_id": str(base.id)})
    assert done.status_code == 302, html(done)
    assert factory.reload(application.id).outcomes["base_id"] == base.id
    with app.app_context():
        fire(cast.officer, "application", application.id, "fail_closeout", comment="主要考核指标未完成。")
    page = html(client.get(f"/applications/{application.id}"))
    assert "结题验收未通过" in page and "主要考核指标未完成。" in page and base.name in page


def test_a_due_date_out_of_range_keeps_no_signed_copy(pages, factory):
    application, cast = factory.application("approved")
    response = pages(cast.applicant).post(f"/applications/{application.id}/agreement",
                                          agreement_form(application.version, **{"milestones-0-due_date": "9999-12-31"}))
    assert response.status_code == 422 and "超出项目执行期" in html(response)
    assert "signed_agreement" not in factory.reload(application.id).attachment_kinds()
