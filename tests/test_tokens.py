"""API tokens: they expire, note their last use at most once a minute, and end with their user's access."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from workflow import db
from workflow.models import ApiToken
from workflow.services import accounts


class Clock:
    def __init__(self, monkeypatch):
        self.now = dt.datetime.now(dt.timezone.utc)
        monkeypatch.setattr(accounts, "utcnow", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def token_row(app, user_id: int) -> ApiToken:
    with app.app_context():
        return db.session().scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                    .order_by(ApiToken.id.desc())).first()


def test_a_token_expires_after_the_configured_days(app, factory, api, monkeypatch):
    clock = Clock(monkeypatch)
    app.config["TOKEN_DAYS"] = 7
    officer = factory.user("officer")
    client = api(officer)
    row = token_row(app, officer.id)
    assert row.expires_at - row.created_at == dt.timedelta(days=7)
    clock.advance(days=7, seconds=-1)
    assert client.get("/calls").status_code == 200
    clock.advance(seconds=1)
    r = client.get("/calls")
    assert r.status_code == 401 and r.json["message"] == "the token has expired; sign in again for a new one"


def test_the_default_lifetime_is_thirty_days(app, factory):
    from workflow.config import from_environment

    assert from_environment({})["TOKEN_DAYS"] == 30
    assert from_environment({"FUNDFLOW_TOKEN_DAYS": "3"})["TOKEN_DAYS"] == 3
    user = factory.user("reviewer")
    factory.token(user)
    row = token_row(app, user.id)
    assert row.expires_at - row.created_at == dt.timedelta(days=30)


def test_last_use_is_written_at_most_once_a_minute(app, factory, api, monkeypatch):
    clock = Clock(monkeypatch)
    officer = factory.user("officer")
    client = api(officer)
    assert token_row(app, officer.id).last_used_at is None
    assert client.get("/calls").status_code == 200
    first = token_row(app, officer.id).last_used_at
    assert first == clock.now
    clock.advance(seconds=59)
    client.get("/calls")
    assert token_row(app, officer.id).last_used_at == first  # a read within the minute writes nothing
    clock.advance(seconds=1)
    client.get("/calls")
    assert token_row(app, officer.id).last_used_at == clock.now


def test_the_token_list_shows_expiry_and_last_use(app, factory, api):
    officer = factory.user("officer")
    client = api(officer)
    client.get("/calls")
    items = client.get("/tokens").json["items"]
    assert len(items) == 1
    assert set(items[0]) == {"id", "created_at", "expires_at", "last_used_at", "revoked_at"}
    assert items[0]["expires_at"] > items[0]["created_at"] and items[0]["last_used_at"] is not None


def test_a_deactivated_officers_token_is_refused_on_its_next_call(app, factory, api):
    officer, admin = factory.user("officer"), factory.user("admin")
    client = api(officer)
    assert client.get("/applications").status_code == 200
    assert api(admin).patch(f"/users/{officer.id}", json={"active": False}).status_code == 200
    r = client.get("/applications")
    assert r.status_code == 401 and r.json["error"] == "not_authenticated"
    assert token_row(app, officer.id).revoked_at is not None
    # Active again, the old token stays revoked: they sign in anew.
    assert api(admin).patch(f"/users/{officer.id}", json={"active": True}).status_code == 200
    assert client.get("/applications").status_code == 401


def test_the_owner_and_admins_revoke_tokens_and_nobody_else(app, factory, api):
    officer, other, admin = factory.user("officer"), factory.user("officer"), factory.user("admin")
    mine, second = api(officer), api(officer)
    ids = [t["id"] for t in mine.get("/tokens").json["items"]]
    assert api(other).delete(f"/tokens/{ids[0]}").status_code == 404
    assert api(other).get(f"/tokens?user={officer.id}").status_code == 403
    assert mine.get("/tokens").status_code == 200
    assert mine.delete(f"/tokens/{ids[0]}").status_code == 204
    assert mine.get("/tokens").status_code == 401
    assert [t["id"] for t in api(admin).get(f"/tokens?user={officer.id}").json["items"]] == ids
    assert api(admin).delete(f"/tokens/{ids[1]}").status_code == 204
    assert second.get("/tokens").status_code == 401
