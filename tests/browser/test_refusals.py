"""Refusals a browser user can meet: each says why in Chinese and changes nothing."""
from __future__ import annotations

import re

from .conftest import db_state, event_count, exact, html_lang, sign_in, tr, trigger_label


def test_a_wrong_password_is_refused_at_the_field_and_signs_nobody_in(live, page, factory, shot):
    applicant = factory.user("applicant")
    t = lambda msgid: tr(live.app, msgid)  # noqa: E731
    sign_in(page, live, applicant.email, "not the password", expect_ok=False)
    shot(page, "wrong-password")
    assert "/login" in page.url
    assert html_lang(page) == "zh-CN"
    password = page.get_by_label(t("Password"), exact=True)
    assert password.evaluate("el => el.classList.contains('is-invalid') || el.getAttribute('aria-invalid') == 'true'")
    assert t("Wrong e-mail or password.") == "电子邮箱或密码错误。"
    assert page.get_by_text(t("Wrong e-mail or password.")).is_visible()
    # The e-mail typed stays; the password does not.
    assert page.get_by_label(t("E-mail"), exact=True).input_value() == applicant.email
    assert password.input_value() == ""
    # Nobody is signed in: a page that needs sign-in sends the browser back to /login.
    page.goto(live("/dashboard"))
    assert re.search(r"/login", page.url)


def posted(page, click):
    """Click something that POSTs a form; return the response of that POST."""
    with page.expect_navigation(wait_until="domcontentloaded"), page.expect_response(
            lambda r: r.request.method == "POST" and r.request.resource_type == "document") as r:
        click()
    return r.value


def danger_text(page) -> str:
    alerts = page.locator(".alert-danger, .invalid-feedback:visible")
    assert alerts.count(), f"no refusal shown on {page.url}"
    return " ".join(alerts.all_inner_texts())


def test_declining_without_a_reason_is_refused_by_the_server_too(live, factory, as_user, shot):
    application, cast = factory.application("pending_recommendation")
    before = db_state(live.app, "application", application.id), event_count(live.app)
    page = as_user(cast.recommender)
    page.goto(live(f"/applications/{application.id}"))
    form = page.locator("form[action$='/transitions/decline_recommendation']")
    comment = form.get_by_label(tr(live.app, "Reason (required)"), exact=True)
    button = form.get_by_role("button", name=exact(trigger_label("application", "decline_recommendation")))
    if comment.evaluate("el => el.required"):
        # The browser's own check stops an empty reason first: nothing is sent ...
        button.click()
        assert comment.evaluate("el => el.validity.valueMissing")
        assert page.url.endswith(f"/applications/{application.id}")
        # ... so take the check away, to show that the server refuses it too.
        comment.evaluate("el => { el.removeAttribute('required'); el.removeAttribute('minlength'); }")
    form.evaluate("f => f.setAttribute('novalidate', '')")
    response = posted(page, button.click)
    shot(page, "decline-without-reason")
    assert response.status == 422
    text = danger_text(page)
    assert re.search(r"[\u4e00-\u9fff]", text) and "理由" in text, text
    refused = page.locator("form[action$='/transitions/decline_recommendation']").get_by_label(
        tr(live.app, "Reason (required)"), exact=True)
    assert refused.evaluate("el => el.classList.contains('is-invalid') || el.getAttribute('aria-invalid') == 'true'")
    assert (db_state(live.app, "application", application.id), event_count(live.app)) == before


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_attached(live, factory, as_user, tmp_path, shot):
    application, cast = factory.application("draft")
    fake = tmp_path / "proposal.pdf"
    fake.write_text("这不是PDF文件，只是改了扩展名的文本。", encoding="utf-8")
    before = db_state(live.app, "application", application.id), event_count(live.app), _attachments(live.app,
                                                                                                 application.id)
    page = as_user(cast.applicant)
    page.goto(live(f"/applications/{application.id}/edit"))
    title = page.get_by_label(tr(live.app, "Project title"))
    title.fill("改过的标题：中德合作")
    page.get_by_label(tr(live.app, "Proposal (PDF)")).set_input_files(str(fake))
    response = posted(page, lambda: page.get_by_role("button", name=exact(tr(live.app, "Save draft"))).click())
    shot(page, "not-a-pdf")
    assert response.status == 422
    assert tr(live.app, "This is not a PDF file. Upload the document as a PDF.") in danger_text(page)
    # What was typed stays in the form; nothing was saved or attached.
    assert page.get_by_label(tr(live.app, "Project title")).input_value() == "改过的标题：中德合作"
    after = db_state(live.app, "application", application.id), event_count(live.app), _attachments(live.app,
                                                                                                application.id)
    assert after == before


def test_a_stale_edit_says_someone_else_acted_first_and_keeps_what_was_typed(live, factory, as_user, shot):
    """The same draft open in two tabs: saving in the first makes the second's save stale."""
    application, cast = factory.application("draft")
    first = as_user(cast.applicant)
    second = first.context.new_page()
    for tab in (first, second):
        tab.goto(live(f"/applications/{application.id}/edit"))
    first.get_by_label(tr(live.app, "Project title")).fill("第一个标签页的标题")
    posted(first, lambda: first.get_by_role("button", name=exact(tr(live.app, "Save draft"))).click())
    saved = db_state(live.app, "application", application.id), event_count(live.app)
    second.get_by_label(tr(live.app, "Summary")).fill("第二个标签页里输入的摘要，不能丢。")
    response = posted(second, lambda: second.get_by_role("button", name=exact(tr(live.app, "Save draft"))).click())
    shot(second, "stale-edit")
    assert response.status == 409
    assert STALE_ZH(live.app) in danger_text(second)
    assert second.get_by_label(tr(live.app, "Summary")).input_value() == "第二个标签页里输入的摘要，不能丢。"
    assert (db_state(live.app, "application", application.id), event_count(live.app)) == saved


def test_two_people_acting_at_once_the_second_is_told_and_keeps_the_comment(live, factory, as_user, shot):
    """Two officers open one application in formal review; the first passes it, the second (who typed a reason
    to return it) is told someone else acted first, and finds the reason still in the field."""
    application, cast = factory.application("formal_review")
    other_officer = factory.user("officer")
    one, two = as_user(cast.officer), as_user(other_officer)
    for tab in (one, two):
        tab.goto(live(f"/applications/{application.id}"))
    posted(one, lambda: one.locator("form[action$='/transitions/pass_formal_review']").get_by_role(
        "button", name=exact(trigger_label("application", "pass_formal_review"))).click())
    assert db_state(live.app, "application", application.id)[0] == "expert_review"
    moved = db_state(live.app, "application", application.id), event_count(live.app)
    form = two.locator("form[action$='/transitions/return_for_revision']")
    reason = "请补充外方合作单位的合作意向书。"
    form.get_by_label(tr(live.app, "Reason (required)"), exact=True).fill(reason)
    response = posted(two, lambda: form.get_by_role(
        "button", name=exact(trigger_label("application", "return_for_revision"))).click())
    shot(two, "second-officer-too-late")
    assert response.status == 409
    assert STALE_ZH(live.app) in danger_text(two)
    assert reason in [t.input_value() for t in two.locator("textarea").all()]
    assert (db_state(live.app, "application", application.id), event_count(live.app)) == moved


def test_another_institutions_application_is_not_found_in_chinese(live, factory, as_user, shot):
    application, _ = factory.application("pending_recommendation")
    stranger = factory.user("applicant")  # another institution
    page = as_user(stranger)
    for path in (f"/applications/{application.id}", f"/applications/{application.id}/edit"):
        response = page.goto(live(path))
        shot(page, "other-institution")
        assert response.status == 404, path
        assert html_lang(page) == "zh-CN"
        assert page.locator("main h1").inner_text().strip() == tr(live.app, "Not found")
        assert application.title not in page.content()
        assert re.search(r"[\u4e00-\u9fff]{4}", page.locator("main").inner_text())


def STALE_ZH(app) -> str:  # noqa: N802 - reads like the message it is
    return tr(app, "Someone else acted on this first. Reload the page to see what changed; "
                   "what you typed is still in the form below.")


def _attachments(app, app_id: int) -> int:
    from sqlalchemy import text

    with app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT count(*) FROM attachments WHERE application_id = :i"), {"i": app_id}).scalar()
