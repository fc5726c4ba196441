"""Administration pages: users, institutions, recommending bodies, calls and bases, through the services."""
from __future__ import annotations

import re

import pytest


PAGES = ["/admin/users", "/admin/users/{user}", "/admin/institutions", "/admin/bodies", "/admin/calls",
         "/admin/calls/{call}", "/admin/bases"]


def errors_at(html: str, field: str) -> bool:
    return bool(re.search(rf'id="{field}"[^>]*is-invalid|is-invalid[^>]*id="{field}"', html))


@pytest.fixture
def admin(factory):
    return factory.user("admin")


@pytest.fixture
def ids(factory):
    return {"user": factory.user("officer").id, "call": factory.call().id}


@pytest.mark.parametrize("path", PAGES)
def test_only_admins_open_the_administration_pages(path, pages, factory, admin, ids):
    path = path.format(**ids)
    for role in ("applicant", "recommender", "reviewer", "officer"):
        client = pages(factory.user(role))
        assert client.get(path).status_code == 403, (role, path)
        assert client.post(path, {"name": "x"}).status_code == 403, (role, path)
    r = pages().get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    html = pages(admin).get(path).get_data(as_text=True)
    assert 'aria-label="系统管理"' in html  # the sub-navigation
    controls = re.findall(r'<(?:input|select)[^>]*\bid="(\w+)"', html)
    assert all(re.search(rf'<label[^>]*for="{m}"', html) for m in controls if m not in ("csrf_token", "submit"))


def test_a_missing_user_or_call_is_404(pages, admin):
    client = pages(admin)
    assert client.get("/admin/users/99999").status_code == 404
    assert client.get("/admin/calls/99999").status_code == 404


# --- users -------------------------------------------------------------------------------


def test_create_a_user_through_the_page(pages, api, admin, factory):
    institution = factory.institution()
    client = pages(admin)
    r = client.post("/admin/users", {"email": "New.Applicant@Example.cn", "name": "陈新", "password": "long enough 1",
                                     "role": "applicant", "institution_id": str(institution.id), "body_id": ""})
    assert r.status_code == 302, r.get_data(as_text=True)
    users = api(admin).get("/users").json["items"]
    new = next(u for u in users if u["email"] == "new.applicant@example.cn")
    assert new["role"] == "applicant" and new["institution_id"] == institution.id and new["name"] == "陈新"
    html = client.get("/admin/users").get_data(as_text=True)
    assert "已添加用户 new.applicant@example.cn" in html and institution.name in html
    r = api().post("/tokens", json={"email": "new.applicant@example.cn", "password": "long enough 1"})
    assert r.status_code == 201


@pytest.mark.parametrize("change, field, message", [
    ({"email": "{taken}"}, "email", "已注册"),
    ({"email": "not-an-email"}, "email", "电子邮箱格式不正确"),
    ({"password": "short"}, "password", ""),
    ({"name": "王\x00五"}, "name", "无法保存的字符"),
    ({"email": "a\x00b@example.cn"}, "email", "无法保存的字符"),
    ({"role": "applicant", "institution_id": ""}, "institution_id", "申报单位用户须属于一个单位"),
    ({"role": "recommender", "body_id": ""}, "body_id", "推荐单位用户须属于一个推荐单位"),
    ({"role": "king"}, "role", ""),
    ({"institution_id": "99999"}, "institution_id", ""),
])
def test_a_refused_user_is_told_at_the_field_and_nothing_is_created(change, field, message, pages, api, admin,
                                                                     factory):
    taken = factory.user("officer")
    client = pages(admin)
    before = api(admin).get("/users").json["items"]
    data = {"email": "someone.new@example.cn", "name": "新用户", "password": "long enough 1", "role": "officer",
            "institution_id": "", "body_id": ""}
    data.update({k: v.replace("{taken}", taken.email) for k, v in change.items()})
    r = client.post("/admin/users", data)
    assert r.status_code == 422, r.status_code
    html = r.get_data(as_text=True)
    assert errors_at(html, field), field
    assert message in html
    if field != "email":
        assert 'value="someone.new@example.cn"' in html  # what was typed stays
    assert api(admin).get("/users").json["items"] == before


def test_change_a_users_role_and_affiliation(pages, api, admin, factory):
    who = factory.user("reviewer", institution=factory.institution())
    body = factory.body("embassy", "embassy_section")
    client = pages(admin)
    page = client.get(f"/admin/users/{who.id}").get_data(as_text=True)
    assert re.search(r'<option selected value="reviewer">|<option value="reviewer" selected', page)
    r = client.post(f"/admin/users/{who.id}", {"name": who.name, "role": "recommender", "institution_id": "",
                                               "body_id": str(body.id), "active": "y"})
    assert r.status_code == 302
    row = next(u for u in api(admin).get("/users").json["items"] if u["id"] == who.id)
    assert (row["role"], row["body_id"], row["institution_id"], row["active"]) == ("recommender", body.id, None, True)


def test_a_refused_change_changes_nothing(pages, api, admin, factory):
    who = factory.user("officer")
    client = pages(admin)
    r = client.post(f"/admin/users/{who.id}", {"name": who.name, "role": "recommender", "institution_id": "",
                                               "body_id": "", "active": "y"})
    assert r.status_code == 422 and errors_at(r.get_data(as_text=True), "body_id")
    row = next(u for u in api(admin).get("/users").json["items"] if u["id"] == who.id)
    assert row["role"] == "officer"


def test_deactivating_a_user_on_the_page_refuses_their_token_at_once(pages, api, admin, factory):
    who = factory.user("recommender")
    their_api, their_pages = api(who), pages(who)
    assert their_api.get("/applications").status_code == 200
    r = pages(admin).post(f"/admin/users/{who.id}", {"name": who.name, "role": "recommender", "institution_id": "",
                                                     "body_id": str(who.body_id)})  # "active" unticked
    assert r.status_code == 302
    r = their_api.get("/applications")
    assert r.status_code == 401 and r.json["error"] == "not_authenticated"
    assert their_pages.get("/dashboard").headers["Location"].startswith("/login")
    html = pages(admin).get("/admin/users").get_data(as_text=True)
    assert re.search(rf'data-user="{who.id}">.*?已停用', html, re.S)


# --- institutions, bodies, bases ----------------------------------------------------------


def test_create_an_institution_a_body_and_a_base(pages, api, admin):
    client, rest = pages(admin), api(admin)
    r = client.post("/admin/institutions", {"name": "中国科学院青藏高原研究所", "name_en": "Institute of Tibetan Plateau "
                    "Research, CAS", "kind": "institute", "province": "北京"})
    assert r.status_code == 302
    inst = next(i for i in rest.get("/institutions").json["items"] if i["name"] == "中国科学院青藏高原研究所")
    assert inst["kind"] == "institute" and inst["province"] == "北京"

    r = client.post("/admin/bodies", {"name": "中国驻智利使馆科技处", "name_en": "S&T Section, Embassy of China in Chile",
                                      "channel": "embassy", "kind": "embassy_section"})
    assert r.status_code == 302
    assert any(b["name"] == "中国驻智利使馆科技处" for b in rest.get("/bodies?channel=embassy").json["items"])

    r = client.post("/admin/bases", {"name": "中智天文联合研究中心", "name_en": "", "kind": "joint_research_center",
                                     "institution_id": str(inst["id"])})
    assert r.status_code == 302
    base = next(b for b in rest.get("/bases").json["items"] if b["name"] == "中智天文联合研究中心")
    assert base["institution_id"] == inst["id"] and base["name_en"] is None
    html = client.get("/admin/bases").get_data(as_text=True)
    assert "中智天文联合研究中心" in html and "国际联合研究中心" in html and "中国科学院青藏高原研究所" in html
    events = rest.get("/audit/events?role=admin&trigger=create").json["items"]
    assert {e["subject"] for e in events} == {"institutions", "bodies", "bases"}


@pytest.mark.parametrize("path, data, field", [
    ("/admin/institutions", {"name": "{dup}", "kind": "university"}, "name"),
    ("/admin/institutions", {"name": "研究所\x00", "kind": "institute"}, "name"),
    ("/admin/institutions", {"name": "", "kind": "institute"}, "name"),
    ("/admin/institutions", {"name": "某研究所", "kind": "castle"}, "kind"),
    ("/admin/bodies", {"name": "某推荐单位", "channel": "moon", "kind": "embassy_section"}, "channel"),
    ("/admin/bodies", {"name": "某推荐单位", "name_en": "x\x00", "channel": "embassy", "kind": "embassy_section"},
     "name_en"),
    ("/admin/bases", {"name": "某基地", "kind": "joint_research_center", "institution_id": "99999"}, "institution_id"),
    ("/admin/bases", {"name": "某基地" * 100, "kind": "joint_research_center"}, "name"),
])
def test_refused_registry_rows_are_told_at_the_field(path, data, field, pages, api, admin, factory):
    dup = factory.institution()
    rest = api(admin)
    listing = {"/admin/institutions": "/institutions", "/admin/bodies": "/bodies", "/admin/bases": "/bases"}[path]
    before = rest.get(listing).json["items"]
    data = {"name_en": "", "province": "", "institution_id": "", **{k: v.replace("{dup}", dup.name)
                                                                     for k, v in data.items()}}
    r = pages(admin).post(path, data)
    assert r.status_code == 422
    assert errors_at(r.get_data(as_text=True), field), field
    assert rest.get(listing).json["items"] == before


# --- calls ---------------------------------------------------------------------------------


CALL = {"code": "GJHZ-2027-A", "title": "2027年度国际科技合作专项", "title_en": "2027 call",
        "opens_at": "2027-03-01T09:00", "closes_at": "2027-05-31T17:00", "fields_": ["energy_resources",
        "climate_change"], "total_budget": "300000000", "quorum": "5", "min_matching_ratio": "50",
        "max_central_per_project": "8000000", "grace_days": "20"}


def test_create_a_call_in_beijing_time(pages, api, admin):
    client = pages(admin)
    r = client.post("/admin/calls", CALL)
    assert r.status_code == 302, r.get_data(as_text=True)
    call = next(c for c in api(admin).get("/calls").json["items"] if c["code"] == "GJHZ-2027-A")
    assert call["opens_at"].startswith("2027-03-01T01:00:00") and call["closes_at"].startswith("2027-05-31T09:00:00")
    assert sorted(call["fields"]) == ["climate_change", "energy_resources"]
    assert (call["total_budget"], call["quorum"], call["min_matching_ratio"], call["max_central_per_project"],
            call["grace_days"]) == (300_000_000, 5, 0.5, 8_000_000, 20)
    assert r.headers["Location"] == f"/admin/calls/{call['id']}"
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'value="2027-03-01T09:00"' in html and 'value="50.0"' in html  # shown back in Beijing time, as %


@pytest.mark.parametrize("change, field", [
    ({"closes_at": "2027-02-01T09:00"}, "closes_at"),
    ({"closes_at": "2027-03-01T09:00"}, "closes_at"),
    ({"opens_at": "not a time"}, "opens_at"),
    ({"opens_at": "0001-01-01T00:00"}, "opens_at"),
    ({"title": "指南\x00"}, "title"),
    ({"code": ""}, "code"),
    ({"code": "{dup}"}, "code"),
    ({"total_budget": "-1"}, "total_budget"),
    ({"total_budget": "abc"}, "total_budget"),
    ({"quorum": "0"}, "quorum"),
    ({"min_matching_ratio": "abc"}, "min_matching_ratio"),
    ({"fields_": ["astrology"]}, "fields_"),
    ({"grace_days": "400"}, "grace_days"),
])
def test_a_refused_call_is_told_at_the_field_and_nothing_is_created(change, field, pages, api, admin, factory):
    dup = factory.call()
    rest = api(admin)
    before = rest.get("/calls").json["items"]
    data = {**CALL, **{k: (v.replace("{dup}", dup.code) if isinstance(v, str) else v) for k, v in change.items()}}
    r = pages(admin).post("/admin/calls", data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert errors_at(html, field), field
    if field == "closes_at" and "2027-02" in change["closes_at"]:
        assert "截止时间须晚于开始时间" in html
    assert rest.get("/calls").json["items"] == before


def test_change_and_retire_a_call(pages, api, admin, factory):
    call = factory.call()
    client, rest = pages(admin), api(admin)
    opened = rest.get(f"/calls/{call.id}").json["opens_at"]
    html = client.get(f"/admin/calls/{call.id}").get_data(as_text=True)
    form = {k: v for k, v in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html) if k != "csrf_token"}
    form.update({"title": "2026年度国际科技合作专项（第二批）", "retired": "y", "fields_": []})
    r = client.post(f"/admin/calls/{call.id}", form)
    assert r.status_code == 302, r.get_data(as_text=True)
    row = rest.get(f"/calls/{call.id}").json
    assert row["title"] == "2026年度国际科技合作专项（第二批）" and row["retired"] is True
    assert row["opens_at"] == opened  # not cut to the minute the form shows
    update = rest.get("/audit/events?trigger=retire").json["items"][0]
    assert set(update["data"]["after"]) == set(update["data"]["before"]) == {"title", "retired"}  # only what changed

    r = client.post(f"/admin/calls/{call.id}", {**form, "closes_at": "2000-01-01T00:00"})
    assert r.status_code == 422 and errors_at(r.get_data(as_text=True), "closes_at")
    assert rest.get(f"/calls/{call.id}").json["closes_at"] == row["closes_at"]


# --- languages -----------------------------------------------------------------------------


def test_the_pages_in_chinese_and_english(pages, admin, factory):
    factory.body("embassy", "embassy_section")
    zh, en = pages(admin), pages(admin, language="en")
    checks = {
        "/admin/users": (("添加用户", "初始密码", "系统管理员"), ("Add a user", "Initial password", "Administrator")),
        "/admin/institutions": (("添加单位", "英文名称"), ("Add an institution", "English name")),
        "/admin/bodies": (("添加推荐单位", "驻外使领馆推荐"), ("Add a recommending body",
                                                       "Embassy and consulate recommendation")),
        "/admin/calls": (("添加申报指南", "开始申报（北京时间）"), ("Add a call", "Opens (Beijing time)")),
        "/admin/bases": (("添加基地", "国际联合研究中心"), ("Add a base", "International joint research center")),
    }
    for path, (chinese, english) in checks.items():
        zh_html, en_html = zh.get(path).get_data(as_text=True), en.get(path).get_data(as_text=True)
        assert '<html lang="zh-CN">' in zh_html and '<html lang="en">' in en_html
        assert all(t in zh_html for t in chinese), path
        assert all(t in en_html for t in english), path
        assert "<style" not in zh_html and " style=" not in zh_html and "<script>" not in zh_html
