"""Every page each role has, opened in a real browser: no script error, no CSP violation, `<html lang>`
right in Chinese and English, every visible form control labelled, at most 300 KB of script."""
from __future__ import annotations

import re

import pytest

from workflow.services import applications as app_svc

from ..factories import Factory
from .conftest import html_lang, serve, sign_in, submit, tr

SCRIPT_BUDGET = 300 * 1024

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')].filter(el => {
  const type = (el.getAttribute('type') || '').toLowerCase();
  if (['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) return false;
  const style = getComputedStyle(el);
  if (style.display === 'none' || style.visibility === 'hidden' || !el.getClientRects().length) return false;
  const labelled = (el.labels && [...el.labels].some(l => l.textContent.trim()))
    || (el.getAttribute('aria-label') || '').trim()
    || (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(id => id && document.getElementById(id));
  return !labelled;
}).map(el => el.outerHTML.slice(0, 160))"""

# Two elements with one id (hidden CSRF inputs aside) break <label for>, aria-labelledby and in-page links.
DUPLICATE_IDS = """() => { const seen = {};
  for (const el of document.querySelectorAll('[id]:not(input[type=hidden])')) seen[el.id] = (seen[el.id] || 0) + 1;
  return Object.keys(seen).filter(id => seen[id] > 1); }"""

SCRIPT_BYTES = """() => performance.getEntriesByType('resource')
  .filter(e => e.initiatorType === 'script' || /\\.m?js(\\?|$)/.test(e.name))
  .reduce((sum, e) => sum + (e.decodedBodySize || e.encodedBodySize || e.transferSize || 0), 0)"""


@pytest.fixture(scope="module")
def shared(module_app):
    """One app, one cast and its applications in the states whose pages differ, with an open review, served
    once for every role's test: these tests only read."""
    factory = Factory(module_app)
    cast = factory.cast()
    call = factory.call()
    made = {state: factory.application(state, cast=cast, call=call)[0].id
            for state in ("draft", "pending_recommendation", "expert_review", "decision_pending", "approved",
                          "in_progress", "completed")}
    with module_app.app_context():
        review = app_svc.assign_reviewer(cast.officer, made["expert_review"], cast.reviewers[0].id)
    made["call"] = call.id
    factory.base()  # so the bases' list has a row whose own page is visited
    people = {"applicant": cast.applicant, "recommender": cast.recommender, "reviewer": cast.reviewers[0],
              "officer": cast.officer, "admin": factory.user("admin")}
    with serve(module_app) as live:
        yield live, people, made, review.id


def pages_of(role, made, review_id):
    a = made
    return {
        "applicant": ["/applications/new", f"/applications/{a['draft']}/edit", f"/applications/{a['draft']}",
                      f"/applications/{a['completed']}", f"/applications/{a['approved']}/agreement",
                      f"/applications/{a['in_progress']}", f"/applications/{a['in_progress']}/closeout"],
        "recommender": [f"/applications/{a['pending_recommendation']}"],
        "reviewer": [f"/reviews/{review_id}"],
        "officer": [f"/applications/{a['expert_review']}", f"/applications/{a['decision_pending']}",
                    f"/applications/{a['in_progress']}", f"/applications/{a['completed']}", "/statistics"],
        "admin": ["/admin/audit", "/admin/users", "/statistics", f"/applications/{a['completed']}"],
    }[role]


def visit(page, url) -> int:
    response = page.goto(url)
    page.wait_for_load_state("load")  # deferred scripts have run, their sizes are in the timings
    return response.status if response is not None else 0


def first_of_each(hrefs, pattern: str) -> list[str]:
    """One link of each kind that matches `pattern` (say one user's page and one call's, not all of them)."""
    kinds = {}
    for href in hrefs:
        if "?" not in href and re.fullmatch(pattern, href):
            kinds.setdefault(re.sub(r"\d+", "N", href), href)
    return list(kinds.values())


@pytest.mark.parametrize("role", ["applicant", "recommender", "reviewer", "officer", "admin"])
def test_every_page_of_a_role_is_clean_in_both_languages(role, shared, page, shot):
    live, people, made, review_id = shared
    sign_in(page, live, people[role].email)
    nav = page.locator("header nav a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert nav, f"{role} has no navigation links"
    paths = list(dict.fromkeys([*nav, *pages_of(role, made, review_id)]))
    links = "links => links.map(a => a.getAttribute('href'))"
    if role == "applicant":  # a milestone's own page, from the running project's page
        visit(page, live(f"/applications/{made['in_progress']}"))
        paths += first_of_each(page.locator("main a[href]").evaluate_all(links),
                               r"/applications/\d+/(milestones/\d+|changes/new)")
    if role in ("officer", "admin"):  # the ranked list of the call
        paths.append(f"/calls/{made['call']}/ranking")
    if role == "officer":  # a bulk job's page, with its live progress: check and restore the call's documents
        visit(page, live("/officer"))
        form = page.locator("form[action*='/officer/bulk/regenerate']")
        form.locator("select[name=call_id]").select_option(str(made["call"]))
        submit(page, form.get_by_role("button", name=tr(live.app, "Check and restore the call's documents")))
        assert re.search(r"/jobs/\d+$", page.url), page.url
        paths.append(page.url.removeprefix(live.url))
    if role == "admin":  # the administration pages link each other: users, institutions, bodies, calls, bases
        visit(page, live("/admin/users"))
        paths += first_of_each(page.locator("main a[href^='/admin/'], nav a[href^='/admin/']").evaluate_all(links),
                               r"/admin/[a-z_-]+(/\d+)?")
        for listing in ("calls", "institutions", "bodies", "bases"):  # and one row's own page of each
            visit(page, live(f"/admin/{listing}"))
            paths += first_of_each(page.locator(f"main a[href^='/admin/{listing}/']").evaluate_all(links),
                                   rf"/admin/{listing}/\d+")
    paths = list(dict.fromkeys(paths))
    findings = []
    for language, lang in (("zh", "zh-CN"), ("en", "en")):
        if language == "en":  # the header's switch, remembered from here on
            submit(page, page.get_by_role("link", name="English"))
        for path in paths:
            where = f"{role} {language} {path}"
            status = visit(page, live(path))
            shot(page, f"{language}-{path}")
            if status != 200:
                findings.append(f"{where}: answered {status}")
                continue
            if html_lang(page) != lang:
                findings.append(f"{where}: <html lang={html_lang(page)!r}>")
            if not page.title().strip():
                findings.append(f"{where}: no <title>")
            unlabelled = page.evaluate(UNLABELLED)
            if unlabelled:
                findings.append(f"{where}: form controls without a label: {unlabelled}")
            duplicated = page.evaluate(DUPLICATE_IDS)
            if duplicated:
                findings.append(f"{where}: ids used more than once: {duplicated}")
            script = page.evaluate(SCRIPT_BYTES)
            if script > SCRIPT_BUDGET:
                findings.append(f"{where}: {script} bytes of script (at most {SCRIPT_BUDGET})")
            if language == "zh" and not re.search(r"[\u4e00-\u9fff]", page.locator("main").inner_text()):
                findings.append(f"{where}: no Chinese in the page's main text")
    assert len(paths) >= len(nav) + 1
    assert not findings, "\n".join(findings)


def test_the_watch_itself_catches_a_csp_violation_and_a_script_error(live, browser, shot):
    """The checks above can fail: an inline script (refused by the CSP) and a thrown error are both caught."""
    from .conftest import Problems

    seen = Problems()
    ctx = browser.new_context(locale="zh-CN")
    try:
        page = ctx.new_page()
        seen.watch(page)
        page.goto(live("/login"))
        page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                                 document.body.appendChild(s); }""")
        page.evaluate("() => setTimeout(() => { throw new Error('deliberate'); }, 0)")
        page.wait_for_timeout(300)
        assert page.evaluate("window.ran") is None  # the CSP held
    finally:
        ctx.close()
    assert any("Content Security Policy" in p for p in seen.seen), seen.seen
    assert any("deliberate" in p for p in seen.seen), seen.seen
