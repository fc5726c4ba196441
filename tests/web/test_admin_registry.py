"""The registry's edit pages: change an institution, a recommending body or a base, retire it (the button asks
first) or put it back in use; the lists show the retired rows apart; the forms elsewhere offer a retired row only
to the record that already names it."""
from __future__ import annotations

import re

import pytest

from workflow.models import Body, Institution

from ..factories import events_after
from .test_admin import errors_at

KINDS = ("institutions", "bodies", "bases")


@pytest.fixture
def admin(factory):
    return factory.user("admin")


@pytest.fixture
def rows(factory):
    """A row of each kind, named by something (so their pages have counts to show)."""
    base = factory.base()
    application, cast = factory.application("pending_recommendation", base_id=base.id)
    return {"institutions": cast.applicant.institution_id, "bodies": cast.recommender.body_id, "bases": base.id}


def form_of(html: str, action: str | None = None) -> dict:
    """The fields of the form posting to `action` (None: the page's own address), as a browser would send
    them untouched, its buttons left out."""
    target = rf'(?=[^>]*\baction="{re.escape(action)}")' if action else r'(?![^>]*\baction=)'
    form = re.search(rf'<form method="post"{target}[^>]*>(.*?)</form>', html, re.S).group(1)
    data = dict(re.findall(r'<input(?![^>]*type="submit")[^>]*name="(\w+)"[^>]*value="([^"]*)"', form))
    data.update({name: "y" for name in re.findall(r'<input[^>]*checked[^>]*name="(\w+)"', form)})
    for name, options in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', form, re.S):
        values = re.findall(r'<option([^>]*)>', options)
        chosen = [v for v in values if "selected" in v] or values[:1]
        data[name] = re.search(r'value="([^"]*)"', chosen[0]).group(1) if chosen else ""
    data.pop("csrf_token", None)
    return data


def head(factory) -> int:
    from sqlalchemy import text

    with factory.app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar()


# --- who may open them ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_only_admins_open_the_edit_pages_and_retire(kind, pages, factory, admin, rows):
    path = f"/admin/{kind}/{rows[kind]}"
    for role in ("applicant", "recommender", "reviewer", "officer"):
        client = pages(factory.user(role))
        assert client.get(path).status_code == 403, (role, path)
        assert client.post(path, {"name": "改名"}).status_code == 403, (role, path)
        assert client.post(f"{path}/retirement", {"retired": "1"}).status_code == 403, (role, path)
    r = pages().get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    client = pages(admin)
    html = client.get(path).get_data(as_text=True)
    assert 'aria-label="系统管理"' in html and "data-confirm=" in html
    controls = re.findall(r'<(?:input|select)[^>]*\bid="(\w+)"', html)
    assert all(re.search(rf'<label[^>]*for="{m}"', html) for m in controls if m not in ("csrf_token", "submit"))
    assert len(re.findall(r'\bid="csrf_token"', html)) <= 1  # one form with ids; the button's form has none
    assert client.get(f"/admin/{kind}/999999").status_code == 404
    assert client.post(f"/admin/{kind}/999999/retirement", {"retired": "1"}).status_code == 404
    listing = client.get(f"/admin/{kind}").get_data(as_text=True)
    assert f'href="/admin/{kind}/{rows[kind]}"' in listing  # each row links to its page


# --- changing a row ---------------------------------------------------------------------------------


def test_change_an_institution_through_its_page(pages, api, factory, admin, rows):
    client, inst_id = pages(admin), rows["institutions"]
    action = f"/admin/institutions/{inst_id}"
    form = form_of(client.get(action).get_data(as_text=True), action)
    since = head(factory)
    r = client.post(action, {**form, "name_en": "Institute of Plateau Research", "province": "西藏"})
    assert r.status_code == 302 and r.headers["Location"] == action
    html = client.get(action).get_data(as_text=True)
    assert "已保存" in html and 'value="Institute of Plateau Research"' in html
    row = next(i for i in api(admin).get("/institutions").json["items"] if i["id"] == inst_id)
    assert (row["name_en"], row["province"]) == ("Institute of Plateau Research", "西藏")
    [event] = [e for e in events_after(factory, since) if e["subject"] == "institutions"]
    assert event["trigger"] == "update"
    assert "province" in str(event["data"]) and "kind" not in str(event["data"])  # only what changed

    since = head(factory)
    r = client.post(action, form_of(client.get(action).get_data(as_text=True), action))  # sent back untouched
    assert r.status_code == 302 and "没有任何修改" in client.get(action).get_data(as_text=True)
    assert [e for e in events_after(factory, since) if e["subject"] == "institutions"] == []


def test_change_a_body_and_a_base_through_their_pages(pages, api, factory, admin, rows):
    client = pages(admin)
    unused = factory.body("embassy", "embassy_section")
    action = f"/admin/bodies/{unused.id}"
    form = form_of(client.get(action).get_data(as_text=True), action)
    assert form["channel"] == "embassy"
    r = client.post(action, {**form, "name": "中国驻智利使馆科技处", "channel": "ministry_province",
                             "kind": "provincial_department"})
    assert r.status_code == 302
    row = next(b for b in api(admin).get("/bodies").json["items"] if b["id"] == unused.id)
    assert (row["name"], row["channel"], row["kind"]) == ("中国驻智利使馆科技处", "ministry_province",
                                                        "provincial_department")
    host = factory.institution("institute")
    action = f"/admin/bases/{rows['bases']}"
    form = form_of(client.get(action).get_data(as_text=True), action)
    r = client.post(action, {**form, "institution_id": str(host.id), "kind": "innovation_park"})
    assert r.status_code == 302
    html = client.get(action).get_data(as_text=True)
    assert host.name in html and "国际创新园" in html


@pytest.mark.parametrize("kind, change, field, message", [
    ("institutions", {"name": "{dup}"}, "name", "已存在"),
    ("institutions", {"name": ""}, "name", ""),
    ("institutions", {"name": "研究所\x00"}, "name", "无法保存的字符"),
    ("institutions", {"kind": "castle"}, "kind", ""),
    ("institutions", {"province": "省" * 61}, "province", ""),
    ("bodies", {"name": "{dup}"}, "name", "已存在"),
    ("bodies", {"channel": "embassy"}, "channel", "已有申报按当前渠道选择了该推荐单位"),
    ("bodies", {"channel": "moon"}, "channel", ""),
    ("bases", {"name": "{dup}"}, "name", "已存在"),
    ("bases", {"institution_id": "{retired}"}, "institution_id", ""),
    ("bases", {"institution_id": "999999"}, "institution_id", ""),
])
def test_a_refused_change_is_told_at_the_field_and_changes_nothing(kind, change, field, message, pages, api,
                                                                    factory, admin, rows):
    client, rest = pages(admin), api(admin)
    dup = {"institutions": factory.institution().name, "bodies": factory.body().name,
           "bases": factory.base().name}[kind]
    retired = factory.institution()
    rest.patch(f"/institutions/{retired.id}", json={"retired": True})
    action = f"/admin/{kind}/{rows[kind]}"
    form = form_of(client.get(action).get_data(as_text=True), action)
    before, since = rest.get(f"/{kind}?include_retired=1").json["items"], head(factory)
    data = {**form, **{k: v.replace("{dup}", dup).replace("{retired}", str(retired.id)) for k, v in change.items()}}
    r = client.post(action, data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert errors_at(html, field), field
    assert message in html
    assert rest.get(f"/{kind}?include_retired=1").json["items"] == before
    assert [e for e in events_after(factory, since) if e["subject"] == kind] == []


# --- retiring and putting back ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_retire_and_put_back_in_use_through_the_page(kind, pages, api, factory, admin, rows):
    client, rest = pages(admin), api(admin)
    row_id, path = rows[kind], f"/admin/{kind}/{rows[kind]}"
    html = client.get(path).get_data(as_text=True)
    button = re.search(r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrf_token"[^>]*>'
                       r'<input type="hidden" name="retired" value="1">\s*<button[^>]*data-confirm="([^"]+)"', html)
    assert button and button.group(1) == f"{path}/retirement"
    assert "确定停用" in button.group(2) and "以后仍可恢复使用" in button.group(2)
    assert re.search(r'<dd data-count="1">1</dd>', html)  # what names the row, shown before it is retired
    since = head(factory)
    r = client.post(f"{path}/retirement", {"retired": "1"})
    assert r.status_code == 302 and r.headers["Location"] == path
    html = client.get(path).get_data(as_text=True)
    assert "已停用：不再供选择" in html and "恢复使用" in html and 'name="retired" value="0"' in html
    listed = rest.get(f"/{kind}?include_retired=1").json["items"]
    assert next(i for i in listed if i["id"] == row_id)["retired"] is True
    assert row_id not in {i["id"] for i in rest.get(f"/{kind}").json["items"]}
    listing = client.get(f"/admin/{kind}").get_data(as_text=True)
    in_use, retired = listing.split('id="retired"')
    assert f'href="/admin/{kind}/{row_id}"' not in in_use and f'href="/admin/{kind}/{row_id}"' in retired
    assert "已停用" in retired.split("</section>")[0]

    r = client.post(f"{path}/retirement", {"retired": "1"})  # again: nothing to do
    assert r.status_code == 302 and "没有任何修改" in client.get(path).get_data(as_text=True)
    r = client.post(f"{path}/retirement", {"retired": "maybe"})
    assert r.status_code == 302 and "无法识别该请求" in client.get(path).get_data(as_text=True)
    r = client.post(f"{path}/retirement", {"retired": "0"})
    assert r.status_code == 302 and "已恢复使用" in client.get(path).get_data(as_text=True)
    assert row_id in {i["id"] for i in rest.get(f"/{kind}").json["items"]}
    triggers = [e["trigger"] for e in events_after(factory, since) if e["subject"] == kind]
    assert triggers == ["retire", "update"]


def test_a_retirement_without_its_csrf_token_changes_nothing(pages, api, factory, admin, rows):
    client = pages(admin)
    r = client.post(f"/admin/bodies/{rows['bodies']}/retirement", {"retired": "1"}, csrf=False)
    assert r.status_code == 400  # CSRFProtect refuses it before the page runs
    assert rows["bodies"] in {b["id"] for b in api(admin).get("/bodies").json["items"]}


# --- the pages in each language ---------------------------------------------------------------------


def test_the_edit_pages_in_chinese_and_english(pages, api, factory, admin, rows):
    zh, en = pages(admin), pages(admin, language="en")
    checks = {
        "institutions": (("修改单位信息", "保存单位信息", "停用", "该单位的申报", "仍按利益冲突规则回避"),
                         ("Change the institution", "Save the institution", "Retire", "Its applications",
                          "still count for conflicts of interest")),
        "bodies": (("修改推荐单位信息", "其中待推荐", "报送至该单位的申报", "目前不能更改其渠道", "停用该推荐单位"),
                   ("Change the recommending body", "Still awaiting its recommendation",
                    "so the channel cannot change now", "Retire this recommending body")),
        "bases": (("修改基地信息", "依托该基地的申报", "标注为已停用"),
                  ("Change the base", "Applications that name it", "marked as retired")),
    }
    for kind, (chinese, english) in checks.items():
        path = f"/admin/{kind}/{rows[kind]}"
        zh_html, en_html = zh.get(path).get_data(as_text=True), en.get(path).get_data(as_text=True)
        assert '<html lang="zh-CN">' in zh_html and '<html lang="en">' in en_html
        assert all(t in zh_html for t in chinese), (kind, [t for t in chinese if t not in zh_html])
        assert all(t in en_html for t in english), (kind, [t for t in english if t not in en_html])
        assert "<style" not in zh_html and " style=" not in zh_html and "<script>" not in zh_html
    r = en.post(f"/admin/bodies/{rows['bodies']}", {**form_of(en.get(f"/admin/bodies/{rows['bodies']}")
                                                              .get_data(as_text=True), f"/admin/bodies/{rows['bodies']}"),
                                                    "channel": "embassy"})
    assert r.status_code == 422 and "applications name this body under its channel" in r.get_data(as_text=True)
    api(admin).patch(f"/bases/{rows['bases']}", json={"retired": True})
    assert "Retired bases" in en.get("/admin/bases").get_data(as_text=True)
    assert "已停用的基地" in zh.get("/admin/bases").get_data(as_text=True)


# --- the forms elsewhere ----------------------------------------------------------------------------


def test_a_user_of_a_retired_institution_keeps_it_on_their_page(pages, api, factory, admin):
    applicant = factory.user("applicant")
    inst = factory.get(Institution, applicant.institution_id)
    api(admin).patch(f"/institutions/{inst.id}", json={"retired": True})
    client = pages(admin)
    html = client.get(f"/admin/users/{applicant.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{inst.id}">{inst.name}（已停用）</option>|'
                     rf'<option value="{inst.id}" selected>{inst.name}（已停用）</option>', html)
    r = client.post(f"/admin/users/{applicant.id}", {**form_of(html, f"/admin/users/{applicant.id}"),
                                                      "name": "刘洋", "active": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert next(u for u in api(admin).get("/users").json["items"] if u["id"] == applicant.id)["name"] == "刘洋"
    new_user = client.get("/admin/users").get_data(as_text=True)
    assert f'value="{inst.id}"' not in new_user.split('id="new"')[1]  # not offered to a new user
    assert f"{inst.name}" in new_user.split('id="new"')[0]  # still named in the list


def test_the_application_form_offers_no_retired_body_or_base(pages, api, factory, admin):
    draft, cast = factory.application("draft")
    retired_body, retired_base = factory.body(), factory.base()
    api(admin).patch(f"/bodies/{retired_body.id}", json={"retired": True})
    api(admin).patch(f"/bases/{retired_base.id}", json={"retired": True})
    client = pages(cast.applicant)
    for path in ("/applications/new", f"/applications/{draft.id}/edit"):
        html = client.get(path).get_data(as_text=True)
        assert f'value="{retired_body.id}"' not in re.search(r'<select[^>]*id="body_id".*?</select>', html, re.S)[0]
        assert f'value="{retired_base.id}"' not in re.search(r'<select[^>]*id="base_id".*?</select>', html, re.S)[0]


def test_a_draft_shows_its_retired_body_and_base_and_is_told_to_choose_another_body(pages, api, factory, admin):
    base = factory.base()
    draft, cast = factory.application("draft", base_id=base.id)
    body = factory.get(Body, cast.recommender.body_id)
    api(admin).patch(f"/bodies/{body.id}", json={"retired": True})
    api(admin).patch(f"/bases/{base.id}", json={"retired": True})
    client = pages(cast.applicant)
    action = f"/applications/{draft.id}/edit"
    html = client.get(action).get_data(as_text=True)
    assert f"{body.name}（已停用）" in html and f"{base.name}（国际联合研究中心）（已停用）" in html
    r = client.post(action, {**form_of(html, action), "title": "中德储能材料联合研究（修订）"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert errors_at(page, "body_id") and "该推荐单位已停用，不再受理新的申报" in page
    active = factory.body(body.channel)
    r = client.post(action, {**form_of(html, action), "body_id": str(active.id)})
    assert r.status_code == 303, r.get_data(as_text=True)
    saved = api(cast.applicant).get(f"/applications/{draft.id}").json
    assert (saved["body_id"], saved["base_id"]) == (active.id, base.id)  # the retired base stays
    detail = client.get(f"/applications/{draft.id}").get_data(as_text=True)
    assert f"{base.name}（已停用）" in detail


def test_a_retired_bodys_applications_still_show_its_name(pages, api, factory, admin):
    application, cast = factory.application("pending_recommendation")
    body = factory.get(Body, cast.recommender.body_id)
    api(admin).patch(f"/bodies/{body.id}", json={"retired": True})
    for who in (cast.recommender, cast.applicant, admin):
        html = pages(who).get(f"/applications/{application.id}").get_data(as_text=True)
        assert f"{body.name}（已停用）" in html, who.role


def test_the_staff_of_a_retired_institution_are_told_why_they_cannot_apply(pages, api, factory, admin):
    draft, cast = factory.application("draft")
    inst = factory.get(Institution, cast.applicant.institution_id)
    api(admin).patch(f"/institutions/{inst.id}", json={"retired": True})
    client = pages(cast.applicant)
    r = client.get("/applications/new")
    assert r.status_code == 403 and f"{inst.name} 已停用，不能再新建申报" in r.get_data(as_text=True)
    assert client.get(f"/applications/{draft.id}/edit").status_code == 200  # its draft goes on
    en = pages(cast.applicant, language="en").get("/applications/new")
    assert "is retired in the registry and cannot open new applications" in en.get_data(as_text=True)


def test_an_expert_of_a_retired_institution_keeps_it_on_the_pool_page(pages, api, factory, admin):
    inst = factory.institution("institute")
    expert = factory.expert(inst)
    api(admin).patch(f"/institutions/{inst.id}", json={"retired": True})
    officer = pages(factory.user("officer"))
    action = f"/pool/{expert.id}/edit"
    html = officer.get(action).get_data(as_text=True)
    assert f"{inst.name}（已停用）" in html
    assert f"{inst.name}（已停用）" not in officer.get("/pool/new").get_data(as_text=True)
    form = form_of(html)
    form["fields"] = "energy_resources"
    form["languages"] = "zh"
    r = officer.post(action, {**form, "title": "研究员"})
    assert r.status_code == 302, r.get_data(as_text=True)


def test_the_statistics_mark_a_retired_base(pages, api, factory, admin):
    base = factory.base()
    _, cast = factory.application("formal_review", base_id=base.id)
    api(admin).patch(f"/bases/{base.id}", json={"retired": True})
    client = pages(cast.officer)
    html = client.get("/statistics/bases").get_data(as_text=True)
    row = re.search(rf'<tr data-key="{base.id}">.*?</tr>', html, re.S)[0]
    assert base.name in row and "已停用" in row
    assert "已停用的基地列在最后" in html
    assert f"{base.name}（已停用）" in client.get("/statistics").get_data(as_text=True)
    officer_page = client.get("/officer").get_data(as_text=True)
    assert f'<option value="{base.id}">{base.name}（已停用）</option>' in officer_page  # still a filter


def test_the_closeout_form_offers_the_projects_own_retired_base(pages, api, factory, admin):
    own, other = factory.base(), factory.base()
    application, cast = factory.application("in_progress", base_id=own.id)
    for base in (own, other):
        api(admin).patch(f"/bases/{base.id}", json={"retired": True})
    html = pages(cast.applicant).get(f"/applications/{application.id}/closeout").get_data(as_text=True)
    options = re.search(r'<select[^>]*id="base_id".*?</select>', html, re.S)[0]
    assert f'value="{own.id}"' in options and f"{own.name}（国际联合研究中心）（已停用）" in options
    assert f'value="{other.id}"' not in options
