"""Conflicts of interest, enforced through the API: every rule, every way of spelling a partner's name.

Each refusal is checked for its reason (the rule and what it matched) and for having changed nothing:
no Review row, no audit event.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from workflow.models import ConflictDeclaration, Institution, Partner
from workflow.services.conflicts import normalise_name

from .conftest import ApiClient
from .factories import Factory


@pytest.fixture
def world(app):
    """(factory, api) on SQLite and on PostgreSQL: names are compared as text, which the databases may differ on."""
    factory = Factory(app)

    def api(actor):
        return ApiClient(app.test_client(), factory.token(actor))

    return factory, api


def _tsinghua(factory) -> Institution:
    return factory._add(Institution(name="清华大学", name_en="Tsinghua University", kind="university"))


def _reviews_and_events(factory, app_id: int) -> tuple[int, int]:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        reviews = c.execute(text("SELECT count(*) FROM reviews WHERE application_id = :a"), {"a": app_id}).scalar()
        head = c.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar()
    return reviews, head


def _assign(factory, api, cast, app_id: int, reviewer_id: int):
    officer = api(cast.officer)  # signing in may be an event of its own
    before = _reviews_and_events(factory, app_id)
    response = officer.post(f"/applications/{app_id}/reviews", json={"reviewer_id": reviewer_id})
    return response, before, _reviews_and_events(factory, app_id)


def _refused(response, before, after, rule: str, *named: str) -> None:
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["error"] == "guard_failed" and body["details"]["rule"] == rule
    for name in named:
        assert name in body["message"], (name, body["message"])
    assert body["details"]["reviewer_id"] == [body["message"]]
    assert after == before  # no Review row, no event


FRAUNHOFER = {"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"}
PARTNER_SPELLINGS = [
    "清华大学",
    "清华大学 ",  # a trailing space
    "清华\u200b大学",  # a zero-width space
    "\ufeff清华大学",  # a byte-order mark
    "清華大學",  # traditional characters
    "Tsinghua University",  # the registry's English name
    "TSINGHUA  university",  # case and a double space
    "Ｔｓｉｎｇｈｕａ University",  # full-width letters (NFKC)
]


@pytest.mark.parametrize("spelling", PARTNER_SPELLINGS)
@pytest.mark.parametrize("linked", [True, False], ids=["registered-first", "registered-later"])
def test_a_reviewer_of_a_partner_is_refused_however_the_partner_is_spelt(world, spelling, linked):
    factory, api = world
    tsinghua = _tsinghua(factory) if linked else None
    partners = [FRAUNHOFER, {"name": spelling, "country": "CN", "kind": "university"}]
    application, cast = factory.application("expert_review", partners=partners)
    if not linked:  # the partner was written before its institution joined the registry: matched by name
        tsinghua = _tsinghua(factory)
    link = factory.reload(application.id).partners[1].institution_id
    assert link == (tsinghua.id if linked else None)
    reviewer = factory.expert(tsinghua)
    response, before, after = _assign(factory, api, cast, application.id, reviewer.id)
    _refused(response, before, after, "consortium_partner", "Tsinghua University", spelling)


def test_a_partner_linked_by_id_is_caught_whatever_its_name_says(world):
    factory, api = world
    tsinghua = _tsinghua(factory)
    application, cast = factory.application("expert_review")
    with factory.app.extensions["fundflow.engine"].begin() as c:  # e.g. linked by an officer by hand
        c.execute(text("UPDATE partners SET institution_id = :i, name = 'THU' WHERE application_id = :a"),
                  {"i": tsinghua.id, "a": application.id})
    response, before, after = _assign(factory, api, cast, application.id, factory.expert(tsinghua).id)
    _refused(response, before, after, "consortium_partner", "THU", "Tsinghua University")


def test_a_reviewer_of_the_applicant_institution_is_refused(world):
    factory, api = world
    application, cast = factory.application("expert_review")
    own = factory.get(Institution, application.institution_id)
    response, before, after = _assign(factory, api, cast, application.id, factory.expert(own).id)
    _refused(response, before, after, "applicant_institution", own.name_en)


def _submitted_review_of(factory, api, cast, institution_id: int, reviewer, *, years_ago: float = 0):
    """`reviewer` submitted a review of another application of the institution, `years_ago`.

    The review is assigned through the API and then marked submitted in the database: the rule reads
    the rows, whichever rubric the call has.
    """
    earlier, earlier_cast = factory.application("expert_review", cast=factory.cast(
        applicant=factory.user("applicant", institution=factory.get(Institution, institution_id))))
    review = api(earlier_cast.officer).post(f"/applications/{earlier.id}/reviews",
                                           json={"reviewer_id": reviewer.id}).get_json()
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365 * years_ago)
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE reviews SET state = 'submitted', score = 80, submitted_at = :t WHERE id = :r"),
                  {"t": when.replace(tzinfo=None), "r": review["id"]})


def test_one_who_reviewed_for_the_institution_within_a_cooling_off_period_is_refused(world):
    factory, api = world
    factory.app.config["REVIEW_COOLING_OFF_YEARS"] = 3
    application, cast = factory.application("expert_review")
    reviewer = factory.expert()
    _submitted_review_of(factory, api, cast, application.institution_id, reviewer, years_ago=2.5)
    response, before, after = _assign(factory, api, cast, application.id, reviewer.id)
    own = factory.get(Institution, application.institution_id)
    _refused(response, before, after, "reviewed_institution", own.name_en, "cooling-off")


def test_without_a_cooling_off_period_an_earlier_review_bars_nobody(world):
    factory, api = world
    application, cast = factory.application("expert_review")
    reviewer = factory.expert()
    _submitted_review_of(factory, api, cast, application.institution_id, reviewer, years_ago=0.5)
    response, *_ = _assign(factory, api, cast, application.id, reviewer.id)
    assert response.status_code == 201, response.get_json()


def test_one_who_reviewed_for_the_institution_longer_ago_may_review(world):
    factory, api = world
    factory.app.config["REVIEW_COOLING_OFF_YEARS"] = 3
    application, cast = factory.application("expert_review")
    reviewer = factory.expert()
    _submitted_review_of(factory, api, cast, application.institution_id, reviewer, years_ago=3.2)
    response, *_ = _assign(factory, api, cast, application.id, reviewer.id)
    assert response.status_code == 201, response.get_json()


def _declare(factory, reviewer, *, institution_id=None, application_id=None, years_ago: float = 0):
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365 * years_ago)
    factory._add(ConflictDeclaration(reviewer_id=reviewer.id, institution_id=institution_id,
                                     application_id=application_id, reason="曾与申报团队合作发表论文", declared_at=when))


def test_one_who_declared_a_conflict_with_the_institution_is_refused(world):
    factory, api = world
    application, cast = factory.application("expert_review")
    reviewer = factory.expert()
    _declare(factory, reviewer, institution_id=application.institution_id, years_ago=1)
    response, before, after = _assign(factory, api, cast, application.id, reviewer.id)
    _refused(response, before, after, "declared_institution", "declared a conflict")


def test_a_declaration_against_a_partner_institution_counts_too(world):
    factory, api = world
    tsinghua = _tsinghua(factory)
    application, cast = factory.application("expert_review", partners=[
        FRAUNHOFER, {"name": "清华大学", "country": "CN", "kind": "university"}])
    reviewer = factory.expert()
    _declare(factory, reviewer, institution_id=tsinghua.id)
    response, before, after = _assign(factory, api, cast, application.id, reviewer.id)
    _refused(response, before, after, "declared_institution", "Tsinghua University")


def test_a_declaration_older_than_three_years_has_lapsed(world):
    factory, api = world
    application, cast = factory.application("expert_review")
    reviewer = factory.expert()
    _declare(factory, reviewer, institution_id=application.institution_id, years_ago=3.1)
    response, *_ = _assign(factory, api, cast, application.id, reviewer.id)
    assert response.status_code == 201


def test_one_who_declared_a_conflict_with_this_application_is_refused(world):
    factory, api = world
    application, cast = factory.application("expert_review")
    reviewer = factory.expert()
    _declare(factory, reviewer, application_id=application.id, years_ago=5)  # never lapses
    response, before, after = _assign(factory, api, cast, application.id, reviewer.id)
    _refused(response, before, after, "declared_application", "this application")


def test_a_conflict_free_reviewer_is_assigned_with_a_due_date_and_an_event(world):
    factory, api = world
    application, cast = factory.application("expert_review")
    reviewer = factory.expert()
    response, before, after = _assign(factory, api, cast, application.id, reviewer.id)
    assert response.status_code == 201
    assert after[0] == before[0] + 1 and after[1] == before[1] + 1
    due = dt.date.fromisoformat(response.get_json()["due_date"])
    assert due - dt.date.today() >= dt.timedelta(days=20)


def test_the_partners_link_is_written_with_the_application(factory):
    tsinghua = _tsinghua(factory)
    application, _ = factory.application("draft", partners=[{"name": "清華大學 ", "country": "CN", "kind": "university"},
                                                            {"name": "Fraunhofer ISE", "country": "DE",
                                                             "kind": "institute"}])
    with factory.app.app_context():
        from workflow import db

        rows = db.session().query(Partner).filter_by(application_id=application.id).order_by(Partner.id).all()
        assert [p.institution_id for p in rows] == [tsinghua.id, None]


@pytest.mark.parametrize("spelling", PARTNER_SPELLINGS)
def test_every_spelling_normalises_to_one_of_the_registry_names(spelling):
    assert normalise_name(spelling) in {normalise_name("清华大学"), normalise_name("Tsinghua University")}


def test_the_officer_page_names_the_rule_in_chinese(factory, pages):
    tsinghua = _tsinghua(factory)
    application, cast = factory.application("expert_review", partners=[
        FRAUNHOFER, {"name": "清華大學", "country": "CN", "kind": "university"}])
    reviewer = factory.expert(tsinghua)
    officer = pages(cast.officer)
    before = _reviews_and_events(factory, application.id)
    response = officer.post(f"/applications/{application.id}/assign", {"reviewer_ids": [str(reviewer.id)]})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "评审专家所在单位是项目合作单位" in html and "清華大學" in html and "清华大学" in html
    assert _reviews_and_events(factory, application.id) == before


def test_asked_about_a_past_moment_only_what_came_before_it_counts(world):
    """The generator dates its assignments in the years it builds: a review submitted, or a conflict
    declared, after the moment asked about bars nobody at that moment, and bars them after."""
    from workflow import db
    from workflow.models import Application, User
    from workflow.services import conflicts

    factory, api = world
    factory.app.config["REVIEW_COOLING_OFF_YEARS"] = 3
    application, cast = factory.application("expert_review")
    reviewed, declared = factory.expert(), factory.expert()
    _submitted_review_of(factory, api, cast, application.institution_id, reviewed, years_ago=1)
    _declare(factory, declared, institution_id=application.institution_id, years_ago=1)
    now = dt.datetime.now(dt.timezone.utc)
    with factory.app.app_context():
        s = db.session()
        app = s.get(Application, application.id)
        for expert, rule in ((reviewed, "reviewed_institution"), (declared, "declared_institution")):
            user = s.get(User, expert.id)
            assert conflicts.conflict_of(s, user, app, now - dt.timedelta(days=400)) is None
            assert conflicts.conflict_of(s, user, app, now).rule == rule
            assert conflicts.conflicts_among(s, [user], app) == {user.id: conflicts.conflict_of(s, user, app, now)}
        barred_then = set(s.scalars(conflicts.conflicted_reviewers_query(s, app, now - dt.timedelta(days=400))))
        barred_now = set(s.scalars(conflicts.conflicted_reviewers_query(s, app, now)))
        assert not barred_then & {reviewed.id, declared.id} and barred_now >= {reviewed.id, declared.id}
