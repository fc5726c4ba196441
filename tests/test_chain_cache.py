"""Statistics kept while the audit chain's head stands still: never stale, computed once per head."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from workflow import db
from workflow.services import applications, chain_cache, registry, statistics
from workflow.services.transitions import fire


@pytest.fixture
def computed(app, monkeypatch):
    """How many times the statistics were computed, rather than taken from the cache."""
    calls: list[bool] = []
    compute = statistics._statistics

    def counting(where, sees_all):
        calls.append(sees_all)
        return compute(where, sees_all)

    monkeypatch.setattr(statistics, "_statistics", counting)
    return calls


def _figures(app, actor, **kw):
    with app.app_context():
        return statistics.statistics(actor, **kw)


def test_figures_are_computed_once_while_nothing_changes(app, factory, computed):
    _, cast = factory.application("formal_review")

    first = _figures(app, cast.officer)
    again = _figures(app, cast.officer)

    assert again == first and first["total"]["applications"] == 1
    assert len(computed) == 1


def test_every_kind_of_change_is_counted_at_once(app, factory, computed):
    call = factory.call()
    application, cast = factory.application("pending_recommendation", call=call)
    before = _figures(app, cast.officer)

    changes = [
        lambda: fire(cast.recommender, "application", application.id, "return_for_revision", comment="补充材料"),
        lambda: applications.update_application(cast.applicant, application.id,
                                                {"field": "biology_health", "budget": {
                                                    "central": 2_000_000, "local_matching": 1_000_000,
                                                    "self_raised": 0}}),
        lambda: fire(cast.applicant, "application", application.id, "resubmit"),
        lambda: factory.application("rejected", cast=cast, call=call),
    ]
    seen = [before]
    for change in changes:
        with app.app_context():
            change()
        kept = _figures(app, cast.officer)
        assert kept == _figures(app, cast.officer, cached=False)
        seen.append(kept)

    assert [s["total"]["requested_central"] for s in seen] == [3_000_000, 3_000_000, 2_000_000, 2_000_000,
                                                                5_000_000]
    assert {row["key"] for row in seen[2]["by_field"]} == {"biology_health"}
    assert seen[-1]["total"]["applications"] == 2


def test_a_renamed_base_shows_under_its_new_name_at_once(app, factory):
    admin = factory.user("admin")
    with app.app_context():
        base = registry.create_base(admin, {"name": "中德清洁能源联合研究中心", "name_en": "Sino-German Clean Energy Centre",
                                            "kind": "joint_research_center"})
    factory.application("formal_review", base_id=base.id)
    assert [row["key"] for row in _figures(app, admin)["by_base"]] == ["中德清洁能源联合研究中心"]

    with app.app_context():
        registry.update_base(admin, base.id, {"name": "中德氢能联合研究中心"})

    assert [row["key"] for row in _figures(app, admin)["by_base"]] == ["中德氢能联合研究中心"]


def test_the_fund_and_each_body_are_kept_apart(app, factory, computed):
    _, cast = factory.application("formal_review")
    other = factory.user("recommender")

    fund = _figures(app, cast.officer)
    body = _figures(app, cast.recommender)
    elsewhere = _figures(app, other)

    assert (fund["scope"], body["scope"], elsewhere["scope"]) == ("fund", "body", "body")
    assert body["total"]["applications"] == 1 and elsewhere["total"]["applications"] == 0
    assert len(computed) == 3
    _figures(app, cast.recommender)
    _figures(app, other)
    assert len(computed) == 3


def test_a_new_day_is_counted_afresh(app, factory, computed, monkeypatch):
    _, cast = factory.application("formal_review")
    _figures(app, cast.officer)
    tomorrow = statistics.beijing_today() + dt.timedelta(days=1)
    monkeypatch.setattr(statistics, "beijing_today", lambda: tomorrow)

    figures = _figures(app, cast.officer)

    assert figures["on_time"]["as_of"] == tomorrow.isoformat()
    assert len(computed) == 2


def test_a_result_the_chain_moved_under_is_returned_but_not_kept(app, factory):
    application, cast = factory.application("pending_recommendation")
    cache = chain_cache.ChainCache()

    def moving():
        fire(cast.recommender, "application", application.id, "recommend", comment="同意推荐")
        return "read while the chain moved"

    with app.app_context():
        assert cache.get(("figures",), moving) == "read while the chain moved"
        assert len(cache) == 0
        assert cache.get(("figures",), lambda: "read at rest") == "read at rest"
        assert cache.get(("figures",), lambda: "not asked") == "read at rest"


def test_readers_missing_at_once_wait_for_one_computation(app, factory):
    factory.application("formal_review")
    cache = chain_cache.ChainCache()
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []
    results: list[str] = []

    def slow():
        runs.append(1)
        started.set()
        release.wait(10)
        return "figures"

    def reader():
        with app.app_context():
            results.append(cache.get(("figures",), slow))

    first = threading.Thread(target=reader)
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=reader) for _ in range(3)]
    for t in others:
        t.start()
    release.set()
    for t in (first, *others):
        t.join(10)

    assert results == ["figures"] * 4
    assert runs == [1]


def test_a_failed_computation_is_not_kept(app, factory):
    factory.application("formal_review")
    cache = chain_cache.ChainCache()

    def failing():
        raise RuntimeError("the database went away")

    with app.app_context():
        with pytest.raises(RuntimeError):
            cache.get(("figures",), failing)
        assert cache.get(("figures",), lambda: "figures") == "figures"


def test_the_least_recently_used_entry_goes_first(app, factory):
    factory.application("formal_review")
    cache = chain_cache.ChainCache(max_entries=2)
    with app.app_context():
        cache.get(("a",), lambda: "a")
        cache.get(("b",), lambda: "b")
        cache.get(("a",), lambda: "a again")  # a is used again: b is now the oldest
        cache.get(("c",), lambda: "c")

        assert len(cache) == 2
        assert cache.get(("a",), lambda: "a recomputed") == "a"
        assert cache.get(("b",), lambda: "b recomputed") == "b recomputed"


def test_the_statistics_page_and_its_charts_read_the_kept_figures(app, factory, pages, computed):
    _, cast = factory.application("completed")
    officer = pages(cast.officer)

    assert officer.get("/statistics").status_code == 200
    for dimension in ("channel", "field", "country", "base", "state", "outcomes"):
        assert officer.get(f"/statistics/charts/{dimension}.svg").status_code == 200

    assert len(computed) == 1
    with app.app_context():
        assert statistics.statistics(cast.officer) == statistics.statistics(cast.officer, cached=False)


def test_an_applicant_is_refused_before_the_cache_is_asked(app, factory):
    _, cast = factory.application("formal_review")
    with app.app_context():
        with pytest.raises(Exception) as refused:
            statistics.statistics(cast.applicant)
        assert "statistics are for" in str(refused.value)
        assert len(app.extensions.get("fundflow.chain_cache") or ()) == 0
        db.session().rollback()
