"""The demo data set: every demo account signs in and lands on a page with real work waiting."""
from __future__ import annotations

import re

from workflow import documents
from workflow.demo import DEMO_ACCOUNTS, load_demo
from workflow.lifecycle import minimal_pdf

from .conftest import html_lang, sign_in

# Where each role's waiting work is, what a row of it links to, and the states (badges) that mean
# the work is this role's to do.
OFFICER_WORK = {"formal_review", "decision_pending", "closeout_review", "expert_review"}
LANDING = {
    "applicant": (r"/applications$", r"/applications/\d+(/edit)?$",
                  {"draft", "revision_requested", "approved", "in_progress"}),
    "recommender": (r"/queue$", r"/applications/\d+$", {"pending_recommendation"}),
    "reviewer": (r"/reviews$", r"/reviews/\d+$", {"assigned"}),
    "officer": (r"/officer$", r"/applications/\d+$", OFFICER_WORK),
    "admin": (r"/officer$", r"/applications/\d+$", OFFICER_WORK),
}


def test_every_demo_account_lands_on_real_work(live, other_context, shot, monkeypatch):
    # The demo issues some thirty decision documents; what they look like is not this test's question
    # (the story downloads a real one), so they are written as small PDFs instead of by WeasyPrint:
    # the load takes seconds, not a minute.
    monkeypatch.setattr(documents, "render", lambda frozen: minimal_pdf(frozen["doc"]["kind"]))
    with live.app.app_context():
        load_demo(seed=2026)
    assert {role for role, _, _ in DEMO_ACCOUNTS} == set(LANDING)
    for role, email, password in DEMO_ACCOUNTS:
        page = other_context().new_page()
        sign_in(page, live, email, password)
        page.wait_for_load_state("networkidle")
        shot(page, role)
        where, row_link, waiting = LANDING[role]
        assert re.search(where, page.url.split("?")[0]), f"{role} landed on {page.url}"
        assert html_lang(page) == "zh-CN"
        hrefs = page.locator("main a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        work = [h for h in hrefs if re.search(row_link, h.split("?")[0])]
        assert work, f"{role} ({email}) finds no work waiting on {page.url}; links: {hrefs[:20]}"
        states = set(page.locator("main .ff-state[data-state]").evaluate_all(
            "badges => badges.map(b => b.getAttribute('data-state'))"))
        assert states & waiting, f"{role} sees no work of theirs waiting: only {sorted(states)}"
        # The first piece of work opens.
        page.goto(live(work[0]))
        assert page.locator("main h1").count() >= 1
        page.context.close()
