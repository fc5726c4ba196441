"""Sign-in, sign-out, sessions, the language switch and error pages."""
from __future__ import annotations

import re

from workflow.services import accounts


def test_root_sends_strangers_to_sign_in(pages):
    response = pages().get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_sign_in_lands_on_the_roles_page(pages, factory):
    officer = factory.user("officer")
    client = pages()
    response = client.sign_in(officer.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/").headers["Location"] == "/dashboard"


def test_wrong_password_is_told_at_the_field_and_signs_nobody_in(pages, factory):
    officer = factory.user("officer")
    client = pages()
    response = client.sign_in(officer.email, "not the password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "电子邮箱或密码错误" in html
    assert 'class="invalid-feedback' in html or "invalid-feedback" in html
    assert client.get("/dashboard").status_code == 302  # still signed out


def test_sign_in_is_throttled_like_the_api(pages, factory, app):
    officer = factory.user("officer")
    client = pages()
    for _ in range(app.config["SIGN_IN_FREE_FAILURES"]):
        assert client.sign_in(officer.email, "wrong").status_code == 401
    response = client.sign_in(officer.email)  # the right password, from the guessing address: it waits
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    elsewhere = pages()
    elsewhere.client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert elsewhere.sign_in(officer.email).status_code == 302  # the officer's own address is not held up


def test_a_form_without_its_csrf_token_changes_nothing(pages, factory):
    officer = factory.user("officer")
    client = pages()
    response = client.post("/login", {"email": officer.email, "password": "correct horse battery"}, csrf=False)
    assert response.status_code in (400, 422)
    assert client.get("/dashboard").status_code == 302


def test_sign_out_needs_a_post_and_ends_the_session(pages, factory):
    client = pages(factory.user("officer"))
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_deactivating_a_user_ends_their_page_session(pages, factory, app):
    officer = factory.user("officer")
    client = pages(officer)
    assert client.get("/dashboard").status_code == 302
    assert client.get("/dashboard").headers["Location"] != "/login"
    with app.app_context():
        accounts.update_user(officer.id, {"active": False})
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_session_cookie_is_httponly_and_samesite_lax(pages, factory):
    officer = factory.user("officer")
    client = pages()
    response = client.sign_in(officer.email)
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and "fundflow_session" in v)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = client.client.post("/login", base_url="https://localhost",
                                data={"email": officer.email, "password": "correct horse battery",
                                      "csrf_token": client.csrf_token()})
    assert secure.status_code in (302, 400)  # the CSRF check may refuse a cross-scheme referrer


def test_language_switch_is_remembered_and_html_lang_follows(pages):
    client = pages()
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)
    response = client.get("/language/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html and ">Sign in<" in html


def test_language_switch_never_redirects_off_site(pages):
    response = pages().get("/language/en?next=//evil.example/")
    assert response.headers["Location"] == "/"


def test_error_pages_are_html_in_the_readers_language_and_the_api_stays_json(pages):
    client = pages()
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "未找到" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/json"


def test_every_page_carries_a_strict_csp_and_no_inline_script(pages):
    response = pages().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert " style=" not in html and "<style" not in html
