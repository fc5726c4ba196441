"""Two actors firing at once on real databases: exactly one wins, the chain never forks."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from workflow import audit
from workflow.models import Event

from .conftest import ApiClient
from .factories import Factory


def _race(calls):
    """Run the calls at the same instant, each in its own thread; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


def _events(app, app_id=None):
    with app.app_context():
        from workflow import db

        s = db.session()
        q = select(func.count(Event.id))
        if app_id is not None:
            q = q.where(Event.application_id == app_id)
        return s.scalar(q)


def _verify(app):
    with app.app_context():
        from workflow import db

        return audit.verify(db.session())


@pytest.mark.parametrize("triggers", [("recommend", "recommend"), ("recommend", "decline_recommendation")])
def test_two_recommenders_at_once_exactly_one_wins(app, triggers):
    factory = Factory(app)
    application, cast = factory.application("pending_recommendation")
    token = factory.token(cast.recommender)
    clients = [ApiClient(app.test_client(), token) for _ in triggers]
    before = _events(app, application.id)

    responses = _race([
        lambda c=c, t=t: c.fire(application.id, t, comment="同意", version=application.version)
        for c, t in zip(clients, triggers)])

    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.json for r in responses]
    loser = next(r for r in responses if r.status_code == 409).json
    assert loser["error"] in ("stale_version", "transition_refused")
    winner = next(r for r in responses if r.status_code == 200).json
    assert winner["version"] == application.version + 1
    assert _events(app, application.id) == before + 1
    count, broken = _verify(app)
    assert broken is None and count == _events(app)


def test_many_writers_on_many_applications_keep_one_chain(app):
    """Appends from many connections stay one gap-free chain (on PostgreSQL under READ COMMITTED)."""
    factory = Factory(app)
    cast = factory.cast()
    apps = [factory.application("in_progress", cast=cast)[0] for _ in range(4)]
    token = factory.token(cast.officer)
    before = _events(app)

    def flip(app_id):
        client = ApiClient(app.test_client(), token)
        codes = []
        for i in range(5):
            trigger = "suspend" if i % 2 == 0 else "resume"
            codes.append(client.fire(app_id, trigger, comment="履约核查").status_code)
        return codes

    writers = [a for a in apps for _ in range(2)]  # two writers per application
    results = _race([lambda a=a: flip(a.id) for a in writers])

    assert all(code in (200, 409) for codes in results for code in codes)
    successes = sum(code == 200 for codes in results for code in codes)
    assert _events(app) == before + successes
    for application in apps:
        moved = sum(codes.count(200) for a, codes in zip(writers, results) if a is application)
        # Every success flipped the state once: an odd number leaves it suspended.
        expected = "suspended" if moved % 2 else "in_progress"
        assert factory.reload(application.id).state == expected
    count, broken = _verify(app)
    assert broken is None and count == _events(app)


def test_concurrent_approvals_never_overspend_the_call(app):
    factory = Factory(app)
    call = factory.call(total_budget=5_000_000)
    cast = factory.cast()
    first, _ = factory.application("decision_pending", cast=cast, call=call)
    second, _ = factory.application("decision_pending", cast=cast, call=call)
    token = factory.token(cast.officer)
    clients = [ApiClient(app.test_client(), token) for _ in range(2)]

    responses = _race([lambda c=c, a=a: c.fire(a.id, "approve", approved_amount=3_000_000)
                       for c, a in zip(clients, (first, second))])

    assert sorted(r.status_code for r in responses) == [200, 409], [r.json for r in responses]
    refused = next(r for r in responses if r.status_code == 409).json
    assert "left" in refused["message"]
