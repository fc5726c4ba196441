"""Retiring a registry row in a real browser: the button asks first; saying no changes nothing, saying yes
retires it, and the list then shows it apart, marked."""
from __future__ import annotations

from .conftest import TIMEOUT_MS, sign_in, submit, tr


def test_the_retire_button_asks_first_and_no_changes_nothing(live, browser, factory, api, shot):
    admin = factory.user("admin")
    institution = factory.institution("institute", name="中国科学院青藏高原研究所")
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
            and errors.append(msg.text))
    answers, asked = ["dismiss", "accept"], []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        getattr(dialog, answers.pop(0))()
    page.on("dialog", answer)
    try:
        sign_in(page, live, admin.email)
        page.goto(live(f"/admin/institutions/{institution.id}"))
        button = page.get_by_role("button", name=tr(live.app, "Retire this institution"))
        shot(page, "before")
        button.click()  # "no": the browser stays, nothing is sent
        page.wait_for_timeout(300)
        assert asked == [tr(live.app, "Retire %(name)s? It will no longer be offered; what already names it keeps "
                                      "it. It can be put back in use later.", name=institution.name)]
        assert page.url.endswith(f"/admin/institutions/{institution.id}")
        assert institution.id in {i["id"] for i in api(admin).get("/institutions").json["items"]}
        submit(page, button)  # "yes"
        assert len(asked) == 2
        assert page.get_by_role("button", name=tr(live.app, "Put back in use")).is_visible()
        shot(page, "retired")
        assert institution.id not in {i["id"] for i in api(admin).get("/institutions").json["items"]}
        page.goto(live("/admin/institutions"))
        retired = page.locator("#retired")
        assert retired.get_by_role("link", name=institution.name).is_visible()
        assert retired.get_by_text(tr(live.app, "Retired"), exact=True).first.is_visible()
        shot(page, "list")
    finally:
        ctx.close()
    assert errors == []
