"""The password policy (at least 10 characters, not the e-mail, not a common password), wherever a password
is set: create-user, an admin creating or editing a user (API and page), and a user changing their own."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from workflow import db
from workflow.cli import main
from workflow.config import from_environment
from workflow.demo import DEMO_PASSWORD
from workflow.models import Event, User
from workflow.services import accounts

from .factories import PASSWORD

BAD = [
    ("short one", "at least 10 characters"),
    ("new.person@example.cn", "must not be your e-mail address"),
    ("NEW.PERSON", "must not be your e-mail address"),
    ("qwertyuiop", "too common: it is on the list of passwords tried first"),
    ("Password123", "too common: it is on the list of passwords tried first"),
]


def user_count(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count(User.id)))


def stored_hash(app, user_id: int) -> str:
    with app.app_context():
        return db.session().get(User, user_id).password_hash


@pytest.mark.parametrize("password, problem", BAD)
def test_the_policy_names_what_is_wrong(app, password, problem):
    with app.app_context():
        assert accounts.password_problems(password, "new.person@example.cn") == [problem]


def test_demo_and_test_passwords_pass_and_the_list_ships_with_the_package(app):
    with app.app_context():
        for good in (DEMO_PASSWORD, PASSWORD, "fundflow-bench-password"):
            assert accounts.password_problems(good, "someone@demo.fundflow.cn") == []
        assert len(accounts.common_passwords()) > 10_000
    setup = (Path(__file__).parent.parent / "setup.cfg").read_text(encoding="utf-8")
    assert re.search(r"^workflow = .*\bdata/\*\.txt", setup, re.M), "the list must be package data"


def test_passwords_are_hashed_with_the_configured_method_which_defaults_to_werkzeugs(app, factory):
    default = inspect.signature(generate_password_hash).parameters["method"].default
    assert from_environment({})["PASSWORD_HASH_METHOD"] == default == "scrypt"
    user = factory.user("officer")
    assert stored_hash(app, user.id).startswith(app.config["PASSWORD_HASH_METHOD"] + "$")


@pytest.mark.parametrize("password, problem", BAD)
def test_an_admin_creating_a_user_through_the_api_is_held_to_the_policy(app, factory, api, password, problem):
    admin = api(factory.user("admin"))
    before = user_count(app)
    r = admin.post("/users", json={"email": "new.person@example.cn", "password": password, "role": "officer"})
    assert r.status_code == 422 and r.json["details"] == {"password": [problem]}
    assert user_count(app) == before


def test_an_admin_setting_a_password_is_held_to_the_policy(app, factory, api):
    admin, who = api(factory.user("admin")), factory.user("reviewer")
    before = stored_hash(app, who.id)
    r = admin.patch(f"/users/{who.id}", json={"password": "1234567890"})
    assert r.status_code == 422 and r.json["details"] == {"password": ["too common: it is on the list of passwords "
                                                                       "tried first"]}
    assert stored_hash(app, who.id) == before
    assert admin.patch(f"/users/{who.id}", json={"password": "a fresh long passphrase"}).status_code == 200
    assert api().post("/tokens", json={"email": who.email, "password": "a fresh long passphrase"}).status_code == 201
    event = [e for e in _user_events(app, who.id) if e.trigger == "set_password"][-1]
    assert event.data == {"before": {}, "after": {}, "password": "set"}


def test_the_admin_pages_tell_the_policy_at_the_field(app, factory, pages):
    admin = factory.user("admin")
    client = pages(admin)
    before = user_count(app)
    r = client.post("/admin/users", {"email": "new.person@example.cn", "name": "", "password": "qwertyuiop",
                                     "role": "officer", "institution_id": "", "body_id": ""})
    assert r.status_code == 422 and "过于常见" in r.get_data(as_text=True)
    assert user_count(app) == before
    who = factory.user("officer")
    r = client.post(f"/admin/users/{who.id}", {"name": "x", "role": "officer", "institution_id": "", "body_id": "",
                                               "active": "y", "password": "short"})
    assert r.status_code == 422 and "至少 10 个字符" in r.get_data(as_text=True)


def test_create_user_on_the_command_line_is_held_to_the_policy(app, monkeypatch):
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    before = user_count(app)
    result = CliRunner().invoke(main, ["create-user", "--email", "ops@example.cn", "--password", "ops@example.cn",
                                       "--role", "officer"])
    assert result.exit_code != 0 and "must not be your e-mail address" in result.output
    assert user_count(app) == before
    result = CliRunner().invoke(main, ["create-user", "--email", "ops@example.cn", "--password", DEMO_PASSWORD,
                                       "--role", "officer"])
    assert result.exit_code == 0, result.output
    assert user_count(app) == before + 1


# --- a user changes their own password ----------------------------------------------------------------


def change(client, current, new, confirm=None):
    return client.post("/account/password", {"current_password": current, "new_password": new,
                                              "confirm": new if confirm is None else confirm})


@pytest.mark.parametrize("current, new, confirm, field, message", [
    ("not my password", "a brand new passphrase", None, "current_password", "密码错误"),
    (PASSWORD, "short", None, "new_password", "至少 10 个字符"),
    (PASSWORD, "iloveyou12", None, "new_password", "过于常见"),
    (PASSWORD, PASSWORD, None, "new_password", "与当前密码相同"),
    (PASSWORD, "a brand new passphrase", "a different one!", "confirm", "两次输入的新密码不一致"),
])
def test_a_refused_change_is_told_at_the_field_and_changes_nothing(app, factory, pages, current, new, confirm,
                                                                   field, message):
    user = factory.user("applicant")
    client = pages(user)
    before = stored_hash(app, user.id)
    r = change(client, current, new, confirm)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and message in html
    assert re.search(rf'id="{field}"[^>]*class="[^"]*is-invalid|class="[^"]*is-invalid[^"]*"[^>]*id="{field}"', html)
    assert stored_hash(app, user.id) == before
    assert not [e for e in _user_events(app, user.id) if e.trigger == "change_password"]


def test_a_user_changes_their_own_password(app, factory, pages, api):
    user = factory.user("recommender")
    client = pages(user, language="en")
    assert "Change your password" in client.get("/account/password").get_data(as_text=True)
    r = change(client, PASSWORD, "a brand new passphrase")
    assert r.status_code == 302
    assert api().post("/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 401
    assert api().post("/tokens", json={"email": user.email, "password": "a brand new passphrase"}).status_code == 201
    event = [e for e in _user_events(app, user.id) if e.trigger == "change_password"]
    assert len(event) == 1 and event[0].actor_id == user.id and event[0].data == {}


def test_guessing_the_current_password_is_throttled_like_signing_in(app, factory, pages):
    user = factory.user("officer")
    client = pages(user)
    for _ in range(app.config["SIGN_IN_FREE_FAILURES"]):
        assert change(client, "a guess at it", "a brand new passphrase").status_code == 422
    assert change(client, PASSWORD, "a brand new passphrase").status_code == 429


def _user_events(app, user_id: int) -> list[Event]:
    with app.app_context():
        return db.session().scalars(select(Event).where(Event.subject == "user", Event.subject_id == user_id)
                                    .order_by(Event.id)).all()
