"""Who may open which page: one table, role × page × own / other institution, assigned / other reviewer,
routed / other body. A page route without a row here fails the last test."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from workflow import db
from workflow.models import Attachment, Document, Milestone, Review
from workflow.services import documents

ACTORS = ("anonymous", "applicant", "other_applicant", "recommender", "other_recommender", "reviewer",
          "other_reviewer", "officer", "admin")
OK, SIGN_IN = 200, 302


def codes(default: int, **overrides: int) -> dict[str, int]:
    table = {actor: default for actor in ACTORS}
    table["anonymous"] = SIGN_IN
    table.update(overrides)
    return table


EVERYONE = codes(OK)
APPLICANTS = codes(403, applicant=OK, other_applicant=OK)
REVIEWERS = codes(403, reviewer=OK, other_reviewer=OK)
RECOMMENDERS = codes(403, recommender=OK, other_recommender=OK)
STAFF = codes(403, officer=OK, admin=OK)
ADMINS = codes(403, admin=OK)
# The running project `own` of the applicant's institution, routed to the recommender's body, reviewed by
# `reviewer`: the other institution, the other body and the unassigned reviewer are told it does not exist.
OWN_PROJECT_PAGE = codes(OK, other_applicant=404, other_recommender=404, other_reviewer=404)
OWN_APPLICANT_ONLY = codes(403, applicant=OK, other_applicant=404, other_recommender=404, other_reviewer=404)
OWN_DOCUMENT = codes(403, applicant=OK, other_applicant=404, other_recommender=404, other_reviewer=404,
                     officer=OK, admin=OK)
# The other institution's draft: nobody outside it sees it, not even the fund's officers (it is not routed).
OTHER_DRAFT = codes(404, other_applicant=OK, admin=OK)
OTHER_DRAFT_EDIT = codes(404, other_applicant=OK, admin=403)

PAGES = [
    ("dashboard.index", "/", codes(302)),
    ("dashboard.home", "/dashboard", codes(302)),
    ("auth.login", "/login", codes(OK, anonymous=OK)),
    ("auth.language", "/language/en", codes(302)),
    ("auth.password", "/account/password", EVERYONE),
    ("health.healthz", "/healthz", codes(OK, anonymous=OK)),
    ("health.readyz", "/readyz", codes(OK, anonymous=OK)),
    ("dashboard.inbox", "/inbox", EVERYONE),
    ("applications.index", "/applications", EVERYONE),  # each sees the applications their role may see
    ("applications.new", "/applications/new", APPLICANTS),
    ("applications.queue", "/queue", RECOMMENDERS),
    ("applications.detail", "/applications/{own}", OWN_PROJECT_PAGE),
    ("applications.detail", "/applications/{draft}", OTHER_DRAFT),
    ("applications.edit", "/applications/{draft}/edit", OTHER_DRAFT_EDIT),
    ("applications.edit", "/applications/{own}/edit", {**OWN_APPLICANT_ONLY, "applicant": 409}),
    ("applications.attachment", "/applications/{own}/attachments/{attachment}", OWN_PROJECT_PAGE),
    ("applications.document", "/documents/{document}", OWN_DOCUMENT),
    ("awards.agreement", "/applications/{own}/agreement", {**OWN_APPLICANT_ONLY, "applicant": 409}),
    ("awards.closeout", "/applications/{own}/closeout", OWN_APPLICANT_ONLY),
    ("awards.change_new", "/applications/{own}/changes/new", OWN_APPLICANT_ONLY),
    ("awards.milestone", "/applications/{own}/milestones/{milestone}", OWN_PROJECT_PAGE),
    ("awards.change", "/applications/{own}/changes/{change}", OWN_PROJECT_PAGE),
    ("reviews.assignments", "/reviews", REVIEWERS),
    ("reviews.review", "/reviews/{review}", codes(403, reviewer=OK, other_reviewer=404)),
    ("reviews.ranking", "/calls/{call}/ranking", STAFF),
    ("reviews.ranking_csv", "/calls/{call}/ranking.csv", STAFF),
    ("reviews.ranking_pdf", "/calls/{call}/ranking.pdf", STAFF),
    ("reviews.rubric", "/calls/{call}/rubric", STAFF),
    ("dashboard.officer", "/officer", STAFF),
    ("dashboard.job", "/jobs/{job}", codes(403, officer=OK, admin=OK)),
    ("dashboard.job_status", "/jobs/{job}/status", codes(403, officer=OK, admin=OK)),
    # recommenders count their own body's applications (amounts of small groups withheld)
    ("statistics.index", "/statistics", {**STAFF, "recommender": OK, "other_recommender": OK}),
    ("statistics.chart", "/statistics/charts/channel.svg", {**STAFF, "recommender": OK, "other_recommender": OK}),
    ("audit.events", "/admin/audit", ADMINS),
    ("audit.export", "/admin/audit.csv", ADMINS),
    ("admin.users", "/admin/users", ADMINS),
    ("admin.user", "/admin/users/{user}", ADMINS),
    ("admin.institutions", "/admin/institutions", ADMINS),
    ("admin.bodies", "/admin/bodies", ADMINS),
    ("admin.calls", "/admin/calls", ADMINS),
    ("admin.call", "/admin/calls/{call}", ADMINS),
    ("admin.bases", "/admin/bases", ADMINS),
    ("admin.institution", "/admin/institutions/{institution}", ADMINS),
    ("admin.body", "/admin/bodies/{body}", ADMINS),
    ("admin.base", "/admin/bases/{base}", ADMINS),
    ("pool.index", "/pool", STAFF),
    ("pool.expert", "/pool/{expert}", STAFF),
    ("pool.new", "/pool/new", STAFF),
    ("pool.edit", "/pool/{expert}/edit", STAFF),
    ("pool.import_csv", "/pool/import", STAFF),
    ("pool.bulk_assign", "/pool/bulk", STAFF),
    ("pool.assign", "/applications/{own}/assign", STAFF),
    ("statistics.bases", "/statistics/bases", STAFF),
    ("statistics.country_report", "/statistics/country-report?country=DE", STAFF),
    # Public pages: anyone, signed in or not, and never sent to sign in.
    ("public.calls", "/public/calls", codes(OK, anonymous=OK)),
    ("public.call", "/public/calls/{call}", codes(OK, anonymous=OK)),
    ("public.projects", "/public/projects", codes(OK, anonymous=OK)),
    ("public.project", "/public/projects/{own}", codes(404, anonymous=404)),  # running, so not published
    ("public.verify", "/verify", codes(OK, anonymous=OK)),
    ("admin.jobs", "/admin/jobs", ADMINS),
]
# Served files, not pages: anyone may fetch them.
NOT_PAGES = {"static", "bootstrap.static"}


@pytest.fixture
def world(app, factory, pages):
    """Two institutions, two bodies, an assigned and an unassigned reviewer, the fund's staff; one running
    project of the first institution, and a draft of the second."""
    own, cast = factory.application("in_progress")
    draft, other_cast = factory.application("draft")
    other_reviewer = factory.user("reviewer", institution=factory.institution())
    admin = factory.user("admin")
    with app.app_context():
        from workflow.services import changes

        change = changes.request_change(cast.applicant, own.id, "pi_change", "调动", {"principal_investigator": "李华"})
        s = db.session()
        job = documents.regenerate_documents(cast.officer, own.call_id).id
        ids = {
            "own": own.id, "draft": draft.id, "call": own.call_id, "job": job, "user": cast.applicant.id,
            "change": change.id,
            "expert": cast.reviewers[0].id,
            "institution": cast.applicant.institution_id, "body": cast.recommender.body_id,
            "base": factory.base().id,
            "attachment": s.scalar(select(Attachment.id).where(Attachment.application_id == own.id)),
            "document": s.scalar(select(Document.id).where(Document.application_id == own.id)),
            "milestone": s.scalar(select(Milestone.id).where(Milestone.application_id == own.id)),
            "review": s.scalar(select(Review.id).where(Review.application_id == own.id,
                                                        Review.reviewer_id == cast.reviewers[0].id)),
        }
    people = {"applicant": cast.applicant, "other_applicant": other_cast.applicant,
              "recommender": cast.recommender, "other_recommender": other_cast.recommender,
              "reviewer": cast.reviewers[0], "other_reviewer": other_reviewer, "officer": cast.officer,
              "admin": admin}
    clients = {name: pages(actor) for name, actor in people.items()}
    clients["anonymous"] = pages()
    return ids, clients


def test_every_page_answers_each_actor_as_the_table_says(world):
    ids, clients = world
    wrong = []
    for endpoint, path, expected in PAGES:
        url = path.format(**ids)
        for actor in ACTORS:
            response = clients[actor].get(url)
            status = response.status_code
            response.close()  # a file sent in full (an attachment, a PDF) is closed with its response
            if status != expected[actor]:
                wrong.append(f"{actor} GET {url} ({endpoint}): {status}, expected {expected[actor]}")
    assert not wrong, "\n".join(wrong)


def test_a_stranger_is_sent_to_sign_in_and_may_change_nothing(world, app):
    ids, clients = world
    anonymous = clients["anonymous"]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "POST" not in rule.methods or rule.endpoint == "auth.login" \
                or rule.endpoint.startswith("public."):  # /verify checks a document for anyone, changing nothing
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", "1").replace(f"<{name}>", "submit")
        response = anonymous.post(url, {"comment": "x"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], (url, response.status_code)


def test_every_page_route_has_a_row_in_the_table(app):
    covered = {endpoint for endpoint, _path, _codes in PAGES} | NOT_PAGES
    pages = {rule.endpoint for rule in app.url_map.iter_rules()
             if not rule.rule.startswith("/api/") and "GET" in rule.methods}
    assert pages - covered == set(), "add these pages to PAGES"
