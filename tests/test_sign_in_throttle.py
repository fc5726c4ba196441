"""Sign-in throttling: guessing is slowed per (account, address) and per address, counted before the
password is checked, and never keeps the right password from an address with no failures."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from workflow import db
from workflow.models import Event, SignInThrottle
from workflow.services import throttle

from .factories import PASSWORD

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


def sign_in(app, email, password, address):
    client = app.test_client()
    return client.post("/api/v1/tokens", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def events(app, trigger=None):
    with app.app_context():
        q = select(Event).where(Event.subject == "sign_in").order_by(Event.id)
        if trigger:
            q = q.where(Event.trigger == trigger)
        return db.session().scalars(q).all()


def password_checks(app) -> int:
    """How many passwords were checked: each wrong one leaves one `sign_in_failed` event."""
    with app.app_context():
        return db.session().scalar(select(func.count(Event.id)).where(Event.trigger == "sign_in_failed"))


class Clock:
    """The throttle's clock, moved by hand."""

    def __init__(self, monkeypatch):
        self.now = dt.datetime.now(dt.timezone.utc)
        monkeypatch.setattr(throttle, "utcnow", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_fifty_wrong_passwords_are_answered_429_long_before_the_fiftieth(app, factory):
    officer = factory.user("officer")
    codes = [sign_in(app, officer.email, f"guess number {i}", ATTACKER).status_code for i in range(50)]
    free = app.config["SIGN_IN_FREE_FAILURES"]
    assert codes[:free] == [401] * free
    assert codes[free:] == [429] * (50 - free)
    assert password_checks(app) == free  # the refused 45 never reached the password check
    r = sign_in(app, officer.email, PASSWORD, ATTACKER)
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= app.config["SIGN_IN_DELAY_SECONDS"]
    assert r.json["details"] == {"retry_after": int(r.headers["Retry-After"])}
    # The real officer, from their own address, is not held up at all.
    r = sign_in(app, officer.email, PASSWORD, OWNER)
    assert r.status_code == 201 and r.json["token"]


def test_the_delay_doubles_with_each_further_failure_up_to_the_cap(app, factory, monkeypatch):
    clock = Clock(monkeypatch)
    app.config.update(SIGN_IN_DELAY_SECONDS=30, SIGN_IN_MAX_DELAY_SECONDS=100)
    user = factory.user("applicant")
    for _ in range(app.config["SIGN_IN_FREE_FAILURES"]):
        assert sign_in(app, user.email, "wrong password", ATTACKER).status_code == 401
    waits = []
    for _ in range(4):
        refused = sign_in(app, user.email, "wrong password", ATTACKER)
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(waits[-1] - 1)
        assert sign_in(app, user.email, PASSWORD, ATTACKER).status_code == 429  # not yet, even the right one
        clock.advance(1)
        assert sign_in(app, user.email, "wrong password", ATTACKER).status_code == 401  # admitted, checked
    assert waits == [30, 60, 100, 100]


def test_a_right_password_after_the_wait_signs_in_and_lifts_the_throttle(app, factory, monkeypatch):
    clock = Clock(monkeypatch)
    user = factory.user("reviewer")
    for _ in range(app.config["SIGN_IN_FREE_FAILURES"]):
        sign_in(app, user.email, "not it at all", ATTACKER)
    assert sign_in(app, user.email, PASSWORD, ATTACKER).status_code == 429
    clock.advance(app.config["SIGN_IN_DELAY_SECONDS"])
    assert sign_in(app, user.email, PASSWORD, ATTACKER).status_code == 201
    with app.app_context():  # the pair starts afresh; the address keeps only its own count
        rows = db.session().scalars(select(SignInThrottle)).all()
        assert [(r.email, r.failures) for r in rows] == [("", app.config["SIGN_IN_FREE_FAILURES"])]
    assert [e.trigger for e in events(app)][-4:] == ["sign_in_failed", "throttle", "throttle_lifted", "sign_in"]
    lifted = events(app, "throttle_lifted")[-1]
    assert lifted.data == {"email": user.email, "address": ATTACKER, "scope": "account", "reason": "signed_in"}


def test_one_address_guessing_many_accounts_is_slowed_but_not_the_others(app, factory):
    victim = factory.user("officer")
    limit = app.config["SIGN_IN_ADDRESS_FREE_FAILURES"]
    for i in range(limit):
        assert sign_in(app, f"guess{i}@example.cn", "some password", ATTACKER).status_code == 401
    assert sign_in(app, f"guess{limit}@example.cn", "some password", ATTACKER).status_code == 429
    assert sign_in(app, victim.email, PASSWORD, ATTACKER).status_code == 429  # the address itself waits
    assert sign_in(app, victim.email, PASSWORD, OWNER).status_code == 201
    scopes = [e.data["scope"] for e in events(app, "throttle")]
    assert scopes == ["address"]


def test_failures_are_forgotten_after_a_quiet_spell(app, factory, monkeypatch):
    clock = Clock(monkeypatch)
    user = factory.user("officer")
    for _ in range(app.config["SIGN_IN_FREE_FAILURES"]):
        sign_in(app, user.email, "wrong password", ATTACKER)
    clock.advance(app.config["SIGN_IN_FORGET_AFTER"].total_seconds() + 1)
    assert sign_in(app, user.email, "wrong again!", ATTACKER).status_code == 401
    assert sign_in(app, user.email, "wrong again?", ATTACKER).status_code == 401  # counting from one again
    reasons = [e.data["reason"] for e in events(app, "throttle_lifted")]
    assert reasons == ["expired"]


def test_sign_in_events_name_the_address_and_never_the_password(app, factory):
    user = factory.user("applicant")
    assert sign_in(app, user.email, "a wrong secret 1", ATTACKER).status_code == 401
    assert sign_in(app, user.email, PASSWORD, OWNER).status_code == 201
    assert sign_in(app, "nobody@example.cn", "a wrong secret 2", ATTACKER).status_code == 401
    mine = [e for e in events(app) if e.data.get("address") in (ATTACKER, OWNER)]
    assert [(e.trigger, e.data["address"], e.data["via"], e.actor_id) for e in mine] == [
        ("sign_in_failed", ATTACKER, "api", None), ("sign_in", OWNER, "api", user.id),
        ("sign_in_failed", ATTACKER, "api", None)]
    assert mine[0].subject_id == user.id and mine[2].subject_id == 0 and mine[2].data["email"] == "nobody@example.cn"
    for e in mine:
        assert "secret" not in str(e.data) and PASSWORD not in str(e.data) and e.application_id is None


def test_a_page_sign_in_is_throttled_and_recorded_as_from_the_page(app, factory, pages):
    user = factory.user("officer")
    client = pages(language="en")
    for _ in range(app.config["SIGN_IN_FREE_FAILURES"]):
        assert client.sign_in(user.email, "wrong password").status_code == 401
    r = client.sign_in(user.email)
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and "Too many failed sign-ins. Try again in" in html and "seconds" in html
    assert {e.data["via"] for e in events(app, "sign_in_failed")} == {"page"}


def test_forty_concurrent_wrong_passwords_check_no_more_than_allowed(app, factory):
    user = factory.user("officer")
    start = threading.Barrier(40)
    codes: list[int] = []

    def attempt(i: int) -> None:
        start.wait()
        codes.append(sign_in(app, user.email, f"concurrent guess {i}", ATTACKER).status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    free = app.config["SIGN_IN_FREE_FAILURES"]
    assert sorted(codes) == [401] * free + [429] * (40 - free)
    assert password_checks(app) == free
    assert len(events(app, "throttle")) == 1
    assert sign_in(app, user.email, PASSWORD, OWNER).status_code == 201
