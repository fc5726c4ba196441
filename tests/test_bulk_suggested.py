"""Filling many panels in one action: from the pool (services.bulk.perform_suggested), a transaction per
panel, the pool read once (pool.Ranking) and answering as suggestions() does, refusals part-way, retries;
and with the experts the officer named (services.bulk.perform_assignments), a transaction per panel too."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from workflow import audit, db, outbox
from workflow.models import Application, ConflictDeclaration, Event, ExpertProfile, Institution, Outbox, Review, utcnow
from workflow.services import bulk, pool
from workflow.services.applications import assign_reviewer


def _panel(app_id: int) -> list[int]:
    return sorted(db.session().scalars(select(Review.reviewer_id).where(Review.application_id == app_id)))


def _assign_events(app_id: int) -> int:
    return db.session().scalar(select(func.count()).select_from(Event).where(
        Event.application_id == app_id, Event.subject == "review", Event.trigger == "assign"))


@pytest.fixture
def pool_world(factory):
    """Two applications in expert review (energy; biology and health) and a varied pool: fields, countries,
    institutions shared by several experts, one of the applicant's, one of a partner's, one declared
    conflicted, one retired from the pool, one with no pool entry, and loads from other panels."""
    shared = [factory.institution("institute") for _ in range(3)]
    experts = [factory.expert(shared[i % 3], fields=fields, country=country)
               for i, (fields, country) in enumerate([
                   (("energy_resources",), "CN"), (("energy_resources", "biology_health"), "DE"),
                   (("biology_health",), "FR"), (("energy_resources",), "JP"), (("climate_change",), "CN"),
                   (("biology_health", "major_diseases"), "GB"), (("energy_resources",), "KR"),
                   (("energy_resources", "climate_change"), "CN"), (("biology_health",), "CN")])]
    partner = factory.institution("institute", name="中国科学院大连化学物理研究所")
    of_partner = factory.expert(partner)
    retired = factory.expert(active=False)
    bare = factory.user("reviewer", institution=factory.institution())  # in the pool, nothing recorded
    energy, cast = factory.application("expert_review", partners=[
        {"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"},
        {"name": "中国科学院 大连化学物理研究所", "country": "CN", "kind": "institute"}])
    biology, _ = factory.application("expert_review", field="biology_health")
    of_applicant = factory.expert(factory.get(Institution, energy.institution_id))
    declared = factory.expert()
    other, _ = factory.application("expert_review")
    with factory.app.app_context():
        with db.write_session() as s:
            s.add(ConflictDeclaration(reviewer_id=declared.id, application_id=energy.id, reason="合作者",
                                      declared_at=utcnow()))
        for expert in experts[:4]:  # loads of one and two
            assign_reviewer(cast.officer, other.id, expert.id)
        assign_reviewer(cast.officer, biology.id, experts[0].id)
    return dict(energy=energy, biology=biology, officer=cast.officer, experts=experts, of_partner=of_partner,
                retired=retired, bare=bare, of_applicant=of_applicant, declared=declared)


def _agree(s, ranking, app, exclude=()) -> None:
    for n in (1, 2, 3, 5, 20):
        assert ranking.suggest(s, app, n, exclude) == pool.suggestions(s, app, n, exclude), (app.field, n)


def test_the_ranking_answers_as_suggestions_do_and_follows_the_job_s_own_seats(app, pool_world):
    w = pool_world
    with app.app_context():
        s = db.session()
        ranking = pool.Ranking(s)
        energy, biology = (s.get(Application, w[k].id) for k in ("energy", "biology"))
        chosen = {x.reviewer_id for x in ranking.suggest(s, energy, 20)}
        assert not chosen & {w[k].id for k in ("of_partner", "retired", "of_applicant", "declared")}
        assert w["bare"].id in chosen
        for application in (energy, biology):
            _agree(s, ranking, application)
            _agree(s, ranking, application, exclude=[w["experts"][1].id, w["bare"].id])
        s.rollback()
        for pick in ranking.suggest(s, energy, 2):  # the job seats them: both answers move alike
            assign_reviewer(w["officer"], energy.id, pick.reviewer_id)
            ranking.seat(pick.reviewer_id)
        s = db.session()
        for application in (s.get(Application, energy.id), s.get(Application, biology.id)):
            _agree(s, ranking, application)


def test_the_ranking_falls_back_to_the_best_of_each_institution_as_suggestions_do(app, pool_world, monkeypatch):
    # Read a few at a time, the best rows share institutions: both take the best of each instead.
    monkeypatch.setattr(pool, "_first", lambda n: n)
    with app.app_context():
        s = db.session()
        ranking = pool.Ranking(s)
        for key in ("energy", "biology"):
            _agree(s, ranking, s.get(Application, pool_world[key].id))


def test_an_expert_retired_after_the_job_read_the_pool_is_refused_and_the_next_one_seated(
        app, pool_world, factory, monkeypatch):
    w = pool_world
    screening, _ = factory.application("formal_review")
    read = pool.Ranking
    retired: list[int] = []

    def then_retire_the_first_choice(s):
        ranking = read(s)
        first = ranking.suggest(s, s.get(Application, w["energy"].id), 3)[0].reviewer_id
        with db.write_session() as w_:
            w_.execute(update(ExpertProfile).where(ExpertProfile.user_id == first).values(active=False))
        retired.append(first)
        return ranking

    monkeypatch.setattr(pool, "Ranking", then_retire_the_first_choice)
    monkeypatch.setattr(pool, "RANK_FROM", 1)
    with app.app_context():
        summary = bulk.perform_suggested(w["officer"], [w["energy"].id, screening.id, w["biology"].id], 3, None)
        assert (summary[bulk.ASSIGNED], summary["short"]) == (3 + 2, [])  # biology had one already
        assert summary[bulk.REFUSED] == len(summary["refusals"])
        energy = [r for r in summary["refusals"] if r["application_id"] == w["energy"].id]
        assert [(r["reviewer_id"], r["message"]) for r in energy] == [
            (retired[0], "the expert is not active in the reviewer pool")]
        [refused_screening] = [r for r in summary["refusals"] if r["application_id"] == screening.id]
        assert (refused_screening["state"], refused_screening["reviewer_id"]) == ("formal_review", 0)
        energy_panel = _panel(w["energy"].id)
        assert len(energy_panel) == 3 and retired[0] not in energy_panel
        assert len(_panel(w["biology"].id)) == 3  # one was there already
        assert _assign_events(w["energy"].id) == 3 and _panel(screening.id) == []
        notified = db.session().scalars(select(Outbox.payload).where(Outbox.job == "notify_review_assigned"))
        assert {p["review_id"] for p in notified} >= set(db.session().scalars(
            select(Review.id).where(Review.application_id == w["energy"].id)))


def test_a_job_that_dies_mid_panel_loses_that_panel_whole_and_its_retry_seats_each_once(
        app, pool_world, factory, monkeypatch):
    w = pool_world
    third, _ = factory.application("expert_review")
    order = [w["energy"].id, third.id, w["biology"].id]
    real, seen = bulk.add_review, []

    def dies_on_the_second_seat_of_the_second_panel(s, actor, application, reviewer_id, *args, **kwargs):
        review = real(s, actor, application, reviewer_id, *args, **kwargs)
        seen.append(application.id)
        if seen.count(third.id) == 2:
            raise RuntimeError("the worker died")
        return review

    monkeypatch.setattr(bulk, "add_review", dies_on_the_second_seat_of_the_second_panel)
    monkeypatch.setattr(pool, "RANK_FROM", 1)
    with app.app_context():
        with db.write_session() as s:
            job_id = outbox.stage(s, "assign_reviewers", started_by=w["officer"].id, officer_id=w["officer"].id,
                                  pairs=[], app_ids=order, per_application=3)
        with pytest.raises(RuntimeError):
            outbox.perform(job_id)
        db.session().rollback()
        assert len(_panel(w["energy"].id)) == 3 and _panel(third.id) == [] and len(_panel(w["biology"].id)) == 1
        monkeypatch.setattr(bulk, "add_review", real)
        result = outbox.perform(job_id)
        assert (result[bulk.ASSIGNED], result[bulk.REFUSED]) == (3 + 2, 0)  # what the retry itself seated
        for app_id in order:
            assert len(_panel(app_id)) == 3 == len(set(_panel(app_id)))
            assert _assign_events(app_id) == 3
        assert outbox.perform(job_id) is None  # done: a third delivery does nothing
        assert audit.verify(db.session())[1] is None


def test_progress_is_told_a_few_times_a_second_and_at_the_end(app, pool_world, monkeypatch):
    told = []
    monkeypatch.setattr(bulk, "PROGRESS_EVERY", 3600.0)
    with app.app_context():
        bulk.perform_suggested(pool_world["officer"], [pool_world["energy"].id, pool_world["biology"].id], 3,
                               None, progress=lambda done, total, note: told.append((done, total)))
    assert told == [(0, 2), (2, 2)]


def test_a_few_applications_ask_suggestions_for_each_instead_of_reading_the_whole_pool(app, pool_world, monkeypatch):
    def whole_pool(_s):
        raise AssertionError("the whole pool was read for two applications")

    monkeypatch.setattr(pool, "Ranking", whole_pool)
    with app.app_context():
        summary = bulk.perform_suggested(pool_world["officer"], [pool_world["energy"].id, pool_world["biology"].id],
                                         3, None)
        assert (summary[bulk.ASSIGNED], summary[bulk.REFUSED]) == (3 + 2, 0)


def test_named_experts_are_seated_around_the_refused_ones_each_application_at_once(app, pool_world, factory):
    w = pool_world
    gone = factory.application("expert_review")[0]
    first, second = w["experts"][4], w["experts"][5]
    pairs = [(w["energy"].id, first.id), (w["energy"].id, w["of_applicant"].id), (w["energy"].id, second.id),
             (w["biology"].id, w["experts"][0].id), (w["biology"].id, first.id), (gone.id, first.id)]
    with app.app_context():
        with db.write_session() as s:
            s.execute(update(Application).where(Application.id == gone.id).values(state="decision_pending"))
        summary = bulk.perform_assignments(w["officer"], pairs, None)
        assert (summary[bulk.ASSIGNED], summary[bulk.ALREADY], summary[bulk.REFUSED]) == (3, 1, 2)
        assert [(r["application_id"], r["reviewer_id"], r["code"]) for r in summary["refusals"]] == [
            (w["energy"].id, w["of_applicant"].id, "guard_failed"), (gone.id, first.id, "transition_refused")]
        assert _panel(w["energy"].id) == sorted([first.id, second.id])
        assert _panel(w["biology"].id) == sorted([w["experts"][0].id, first.id])
        assert _assign_events(w["energy"].id) == 2 and _panel(gone.id) == []
        assert audit.verify(db.session())[1] is None


def test_a_named_job_that_dies_mid_panel_loses_that_panel_whole_and_its_retry_seats_each_once(
        app, pool_world, monkeypatch):
    w = pool_world
    experts = [e.id for e in w["experts"][4:7]]
    pairs = [(app_id, e) for app_id in (w["energy"].id, w["biology"].id) for e in experts]
    real, seen = bulk.add_review, []

    def dies_on_the_second_seat_of_the_second_panel(s, actor, application, reviewer_id, *args, **kwargs):
        review = real(s, actor, application, reviewer_id, *args, **kwargs)
        seen.append(application.id)
        if seen.count(w["biology"].id) == 2:
            raise RuntimeError("the worker died")
        return review

    monkeypatch.setattr(bulk, "add_review", dies_on_the_second_seat_of_the_second_panel)
    with app.app_context():
        with db.write_session() as s:
            job_id = outbox.stage(s, "assign_reviewers", started_by=w["officer"].id, officer_id=w["officer"].id,
                                  pairs=[list(p) for p in pairs])
        with pytest.raises(RuntimeError):
            outbox.perform(job_id)
        db.session().rollback()
        assert _panel(w["energy"].id) == sorted(experts)
        assert _panel(w["biology"].id) == [w["experts"][0].id]  # as it was: none of the three
        monkeypatch.setattr(bulk, "add_review", real)
        result = outbox.perform(job_id)
        assert (result[bulk.ASSIGNED], result[bulk.ALREADY], result[bulk.REFUSED]) == (3, 3, 0)
        assert _panel(w["biology"].id) == sorted([w["experts"][0].id, *experts])
        assert _assign_events(w["biology"].id) == 4 and _assign_events(w["energy"].id) == 3
        assert audit.verify(db.session())[1] is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_field_s_experts_asked_first_give_the_whole_pool_s_answer(app, factory, monkeypatch, seed):
    """suggestions() asks for the experts of the application's field first and stops there when they hold
    enough institutions; the Ranking walks the whole pool. Over random pools, small reads and every n,
    the two agree."""
    import random

    draw = random.Random(seed)
    codes = ["energy_resources", "biology_health", "climate_change"]
    institutions = [factory.institution("institute") for _ in range(draw.choice((2, 4, 6)))]
    experts = [factory.expert(draw.choice(institutions), fields=draw.sample(codes, draw.choice((1, 2))),
                              country=draw.choice(("CN", "DE", "FR"))) for _ in range(24)]
    applications = [factory.application("expert_review", field=code)[0] for code in codes]
    officer = factory.application("expert_review")[1].officer
    monkeypatch.setattr(pool, "_first", lambda n: 2 * n)
    with app.app_context():
        for expert in draw.sample(experts, 8):  # uneven loads
            assign_reviewer(officer, applications[0].id, expert.id)
        s = db.session()
        ranking = pool.Ranking(s)
        for application in applications:
            _agree(s, ranking, s.get(Application, application.id))
