"""One whole story in a real browser, in Chinese, each step by its own person in their own browser:

the applicant files with uploads and submits → the recommender endorses → the officer passes formal
review and assigns three experts → each expert scores → review closes at the quorum by itself → the officer
approves → the applicant downloads the decision notice, signs the agreement and reports the milestones →
the officer accepts them → the applicant asks for close-out → the officer accepts it → 已结题.
Then the header's language switch turns the pages English, and the choice is remembered.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import select

from workflow import db, labels
from workflow.lifecycle import minimal_pdf
from workflow.models import Application, Event, Milestone

from .conftest import db_state, exact, html_lang, sign_in, state_label, submit, tr, trigger_label


def write_pdf(tmp_path, name: str):
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(minimal_pdf(name))
    return str(path)


def action_form(page, trigger: str):
    """The application page's form for one trigger (its action is the contract's transition URL)."""
    form = page.locator(f"form[action$='/transitions/{trigger}']")
    assert form.count() >= 1, f"no form for {trigger} on {page.url}"
    return form.first


def fire(page, app, trigger: str, comment: str | None = None, kind: str = "application"):
    """Press a trigger's button, labelled from states/, after typing the comment where it asks one."""
    form = action_form(page, trigger)
    if comment is not None:  # labelled 理由（必填） where the trigger needs one, else 意见（选填）
        form.get_by_label(re.compile("^(" + re.escape(tr(app, "Reason (required)")) + "|"
                                     + re.escape(tr(app, "Comment (optional)")) + ")$")).fill(comment)
    submit(page, form.get_by_role("button", name=exact(trigger_label(kind, trigger))))


def assert_state(page, live, app_id: int, state: str):
    """The page's header shows the state's Chinese label (one badge, by the title), and the database agrees."""
    assert db_state(live.app, "application", app_id)[0] == state
    badge = page.locator("main header [data-state]")
    assert badge.count() == 1, f"{badge.count()} state badges in the header of {page.url}"
    assert badge.get_attribute("data-state") == state, f"{page.url} shows {badge.get_attribute('data-state')}"
    assert badge.is_visible() and badge.inner_text().strip() == state_label("application", state)


def flash_ok(page):
    """No refusal on the page after an action."""
    alerts = page.locator(".alert-danger")
    assert alerts.count() == 0, alerts.first.inner_text()
    assert page.locator(".invalid-feedback:visible").count() == 0, page.locator(
        ".invalid-feedback:visible").first.inner_text()


def test_the_whole_story_in_chinese_then_english(live, page, other_context, factory, tmp_path, shot):
    app = live.app
    t = lambda msgid: tr(app, msgid)  # noqa: E731

    institution = factory.institution(name="大连化学物理研究所")
    body = factory.body(channel="intergovernmental")
    applicant = factory.user("applicant", institution=institution)
    recommender = factory.user("recommender", body=body)
    officer = factory.user("officer")
    reviewers = [factory.user("reviewer", institution=factory.institution()) for _ in range(3)]
    call = factory.call(quorum=3)

    # 1. The applicant signs in and opens a new application for the open call.
    sign_in(page, live, applicant.email)
    assert page.url.endswith("/applications")
    shot(page, "applicant-my-applications")
    page.locator("main").get_by_text(t("New application"), exact=True).click()  # a menu of the open calls
    submit(page, page.locator("main").get_by_role("link", name=re.compile(re.escape(call.code))))
    assert html_lang(page) == "zh-CN"
    label = lambda msgid: page.get_by_label(t(msgid), exact=True)  # noqa: E731

    # 2. The sectioned form: basic facts, channel and body, partners (one foreign), budget, duration, files.
    assert label("Call").input_value() == str(call.id)
    label("Project title").fill("中德储能电极材料联合研究")
    label("English title").fill("Sino-German joint research on electrode materials for storage")
    label("Summary").fill("面向大规模储能应用，与德方合作开发高稳定性电极材料。")
    label("Field").select_option("energy_resources")
    label("Type of cooperation").select_option("joint_rnd")
    label("Channel").select_option("intergovernmental")
    label("Recommending body").select_option(str(body.id))
    label("Partner name").first.fill("Fraunhofer ISE")  # the first of the partner rows
    label("Country").first.select_option("DE")
    label("Kind of partner").first.select_option("institute")
    label("Central funds (yuan)").fill("3000000")
    label("Local matching funds (yuan)").fill("1000000")
    label("Self-raised funds (yuan)").fill("500000")
    label("Duration (months)").fill("36")
    label("Proposal (PDF)").set_input_files(write_pdf(tmp_path, "proposal"))
    label("International cooperation agreement (PDF)").set_input_files(
        write_pdf(tmp_path, "cooperation_agreement"))
    shot(page, "applicant-form-filled")
    submit(page, page.get_by_role("button", name=exact(t("Save draft"))))
    flash_ok(page)
    with app.app_context():
        row = db.session().scalars(select(Application).where(Application.institution_id == institution.id)).one()
        app_id = row.id
        assert row.title == "中德储能电极材料联合研究" and row.state == "draft"
        assert {p.country for p in row.partners} == {"DE"}
        assert row.attachment_kinds() >= {"proposal", "cooperation_agreement"}
    shot(page, "applicant-draft-saved")

    # 3. Submit on the application page.
    page.goto(live(f"/applications/{app_id}"))
    assert_state(page, live, app_id, "draft")
    fire(page, app, "submit")
    flash_ok(page)
    assert_state(page, live, app_id, "pending_recommendation")
    shot(page, "applicant-submitted")

    # 4. The recommender finds it in the queue and endorses it with a comment.
    rec = sign_in(other_context().new_page(), live, recommender.email)
    assert rec.url.endswith("/queue")
    submit(rec, rec.locator(f"main a[href$='/applications/{app_id}']").first)
    shot(rec, "recommender-application")
    fire(rec, app, "recommend", "符合政府间合作重点方向，同意推荐。")
    flash_ok(rec)
    assert_state(rec, live, app_id, "formal_review")
    assert rec.locator(".ff-timeline, main").get_by_text("符合政府间合作重点方向，同意推荐。").first.is_visible()
    shot(rec, "recommender-recommended")

    # 5. The officer passes formal review and assigns three experts.
    off = sign_in(other_context().new_page(), live, officer.email)
    assert off.url.endswith("/officer")
    shot(off, "officer-dashboard")
    submit(off, off.locator(f"main a[href$='/applications/{app_id}']").first)  # its row on the dashboard
    assert_state(off, live, app_id, "formal_review")
    fire(off, app, "pass_formal_review")
    flash_ok(off)
    assert_state(off, live, app_id, "expert_review")
    assign = off.locator(f"form[action$='/applications/{app_id}/reviews']")
    for reviewer in reviewers:  # a checkbox per expert of the pool, labelled with the expert's name
        assign.get_by_label(reviewer.name, exact=True).check()
    shot(off, "officer-assigning")
    submit(off, assign.get_by_role("button", name=exact(t("Assign the chosen reviewers"))))
    flash_ok(off)
    with app.app_context():
        reviews = {r.reviewer_id: r.id for r in db.session().get(Application, app_id).reviews}
    assert set(reviews) == {r.id for r in reviewers}
    shot(off, "officer-assigned")

    # 6. Each expert opens the assignment, declares no conflict of interest, and then (the proposal open)
    #    submits a score, an opinion and a recommendation.
    for n, (reviewer, score) in enumerate(zip(reviewers, (88, 84, 91)), start=1):
        rv = sign_in(other_context().new_page(), live, reviewer.email)
        assert rv.url.endswith("/reviews")
        submit(rv, rv.locator(f"main a[href$='/reviews/{reviews[reviewer.id]}']").first)
        rv.locator("input[name='no_conflict'], input[name$='-no_conflict']").first.check()
        submit(rv, rv.get_by_role("button", name=exact(t("Declare no conflict and open the proposal"))))
        assert db_state(app, "review", reviews[reviewer.id])[0] == "accepted"
        rv.get_by_label(t("Score (0–100)")).fill(str(score))
        rv.get_by_label(t("Opinion")).fill("研究目标明确，中德双方合作基础扎实，技术路线可行。")
        rv.get_by_label(labels.RECOMMENDATIONS["fund"][0], exact=True).check()
        shot(rv, f"reviewer{n}-scoring")
        submit(rv, rv.get_by_role("button", name=exact(t("Submit review"))))
        flash_ok(rv)
        assert db_state(app, "review", reviews[reviewer.id])[0] == "submitted"
        shot(rv, f"reviewer{n}-submitted")
        rv.context.close()

    # 7. The third review closed expert review by itself.
    off.goto(live(f"/applications/{app_id}"))
    assert_state(off, live, app_id, "decision_pending")
    assert off.get_by_text(state_label("application", "decision_pending")).first.is_visible()
    with app.app_context():
        closing = db.session().scalars(select(Event).where(
            Event.application_id == app_id, Event.trigger == "close_review")).one()
        assert closing.role == "system" and closing.to_state == "decision_pending"
    shot(off, "officer-decision-pending")

    # 8. The officer approves with an amount.
    form = action_form(off, "approve")
    form.get_by_label(t("Approved amount (yuan)")).fill("2700000")
    submit(off, form.get_by_role("button", name=exact(trigger_label("application", "approve"))))
    flash_ok(off)
    assert_state(off, live, app_id, "approved")
    with app.app_context():
        assert db.session().get(Application, app_id).approved_amount == 2_700_000
    shot(off, "officer-approved")

    # 9. The applicant downloads the decision notice (立项通知书), a PDF.
    page.goto(live(f"/applications/{app_id}"))
    assert_state(page, live, app_id, "approved")
    row = page.locator("table.ff-documents tr", has=page.get_by_role(
        "cell", name=labels.DOCUMENT_KINDS["decision_notice"][0], exact=True))
    assert re.search(r"国科合〔\d{4}〕\d{4}号", row.inner_text()), row.inner_text()
    notice = row.get_by_role("link", name=t("Download PDF"))
    with page.expect_download() as download:
        notice.click()
    pdf = download.value
    body_bytes = Path(pdf.path()).read_bytes()
    assert body_bytes.startswith(b"%PDF-"), body_bytes[:40]
    assert pdf.suggested_filename.lower().endswith(".pdf")
    shot(page, "applicant-approved")

    # 10. The applicant signs the agreement: the signed PDF and two milestones.
    page.goto(live(f"/applications/{app_id}/agreement"))
    page.get_by_label(re.compile("^" + re.escape(t("Signed project agreement (PDF)")))).set_input_files(
        write_pdf(tmp_path, "signed_agreement"))
    today = dt.date.today()
    # The international cooperation agreement the milestones come from.
    page.locator("#title").fill("中德储能材料联合研究合作协议")
    for field, day in (("signed_on", today), ("valid_from", today), ("valid_until", today.replace(year=today.year + 4))):
        page.locator(f"#{field}").fill(day.isoformat())
    page.locator("#partners-0-name").fill("Fraunhofer ISE")
    page.locator("#partners-0-country").select_option("DE")
    page.locator("#commitments_domestic").fill("提供测试平台，派出青年科研人员。")
    page.locator("#commitments_foreign").fill("开放中试线，接收中方人员。")
    for n, (title, months) in enumerate((("中德联合实验与样品制备", 6), ("电极材料中试验证", 12)), start=1):
        page.get_by_label(tr(app, "Milestone %(n)s: title", n=n), exact=True).fill(title)
        page.get_by_label(tr(app, "Milestone %(n)s: due date", n=n), exact=True).fill(
            (today + dt.timedelta(days=30 * months)).isoformat())
    shot(page, "applicant-agreement")
    submit(page, page.get_by_role("button", name=exact(t("Sign the project agreement"))))
    flash_ok(page)
    assert db_state(app, "application", app_id)[0] == "in_progress"
    with app.app_context():
        milestones = [m.id for m in db.session().scalars(
            select(Milestone).where(Milestone.application_id == app_id).order_by(Milestone.id))]
    assert len(milestones) == 2
    page.goto(live(f"/applications/{app_id}"))
    assert_state(page, live, app_id, "in_progress")
    shot(page, "applicant-in-progress")

    # 11. The applicant reports each milestone on the application page.
    for n, mid in enumerate(milestones, start=1):
        form = page.locator(f"form[action$='/milestones/{mid}/transitions/report']")
        form.get_by_label(re.compile("^" + re.escape(t("Progress report")))).fill(
            f"第{n}阶段任务已按合作协议完成，样品已交付德方测试。")
        submit(page, form.get_by_role("button", name=exact(trigger_label("milestone", "report"))))
        flash_ok(page)
        assert db_state(app, "milestone", mid)[0] == "reported"
    shot(page, "applicant-milestones-reported")

    # 12. The officer accepts them.
    off.goto(live(f"/applications/{app_id}"))
    for mid in milestones:
        submit(off, off.locator(f"form[action$='/milestones/{mid}/transitions/accept']").get_by_role(
            "button", name=exact(trigger_label("milestone", "accept"))))
        flash_ok(off)
        assert db_state(app, "milestone", mid)[0] == "accepted"
        assert off.locator(f"#milestone-{mid} [data-state='accepted']").inner_text().strip() == state_label(
            "milestone", "accepted")
    shot(off, "officer-milestones-accepted")

    # 13. The applicant asks for close-out with the outcomes and the final report.
    page.goto(live(f"/applications/{app_id}/closeout"))
    page.get_by_label(re.compile("^" + re.escape(t("Final report (PDF)")))).set_input_files(
        write_pdf(tmp_path, "final_report"))
    outcomes = {"papers": 5, "patents": 2, "standards": 1, "technologies_transferred": 1, "experts_engaged": 3,
                "researchers_trained": 4}
    for code, count in outcomes.items():
        page.get_by_label(labels.OUTCOMES[code][0], exact=True).fill(str(count))
    page.locator("input[name='base'][value='none']").check()  # no base built or strengthened
    page.get_by_label(t("Comment for the fund's officer (optional)"), exact=True).fill("两项任务均已完成，请予验收。")
    shot(page, "applicant-closeout")
    submit(page, page.get_by_role("button", name=exact(t("Request close-out"))))
    flash_ok(page)
    assert db_state(app, "application", app_id)[0] == "closeout_review"

    # 14. The officer accepts close-out.
    off.goto(live(f"/applications/{app_id}"))
    fire(off, app, "accept_closeout")
    flash_ok(off)
    assert_state(off, live, app_id, "completed")
    shot(off, "officer-closeout-accepted")

    # 15. The applicant's application page shows 已结题.
    page.goto(live(f"/applications/{app_id}"))
    assert_state(page, live, app_id, "completed")
    assert page.get_by_text("已结题").first.is_visible()
    shot(page, "applicant-completed")

    # 16. English, by the header's switch, and remembered on the next page.
    submit(page, page.locator("header").get_by_role("link", name="English"))
    assert html_lang(page) == "en"
    assert page.url.endswith(f"/applications/{app_id}")
    assert page.locator("main header [data-state='completed']").inner_text().strip() == "Completed"
    assert page.locator("header").get_by_text(tr(app, "Sign out", "en")).is_visible()
    assert not re.search(r"[\u4e00-\u9fff]", page.locator("header nav").inner_text())
    headings = page.locator("main h2").all_inner_texts()  # the page's own words; titles are the applicant's
    assert len(headings) >= 4 and not [h for h in headings if re.search(r"[\u4e00-\u9fff]", h)], headings
    shot(page, "applicant-completed-en")
    page.goto(live("/applications"))
    assert html_lang(page) == "en"
    assert page.locator("header nav").get_by_text("My applications").is_visible()
    shot(page, "applicant-my-applications-en")
