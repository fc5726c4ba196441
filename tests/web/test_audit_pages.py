"""The audit pages (admins): the filtered history, its CSV export, and verification with the time it ran."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from workflow.services.audit_log import CSV_COLUMNS

from ..factories import tamper

PAGES = [("GET", "/admin/audit"), ("GET", "/admin/audit.csv"), ("POST", "/admin/audit/verify")]



def event_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-event="(\d+)"', html)]


def field_errors(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'class="invalid-feedback[^"]*"[^>]*>\s*([^<]+)', html)]


@pytest.fixture
def story(factory):
    first, cast = factory.application("formal_review")
    second, _ = factory.application("draft")
    return {"first": first, "second": second, "cast": cast, "admin": factory.user("admin")}


@pytest.mark.parametrize("method, path", PAGES)
def test_only_admins_open_the_audit_pages(method, path, pages, factory, app):
    for role in ("applicant", "recommender", "reviewer", "officer"):
        client = pages(factory.user(role))
        r = client.get(path) if method == "GET" else client.post(path)
        assert r.status_code == 403, (role, path, r.status_code)
    r = pages().get(path) if method == "GET" else pages().post(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    client = pages(factory.user("admin"))
    r = client.get(path) if method == "GET" else client.post(path)
    assert r.status_code == (302 if method == "POST" else 200)


def test_the_history_shows_each_event_with_its_facts(pages, story):
    client = pages(story["admin"])
    html = client.get("/admin/audit").get_data(as_text=True)
    first, cast = story["first"], story["cast"]
    assert f'href="/applications/{first.id}"' in html
    assert "形式审查" in html and "待推荐" in html  # state badges from states/, in Chinese
    assert cast.recommender.name in html and "推荐单位" in html  # actor and role label
    assert "立即校验" in html and "导出 CSV" in html
    for label in ("操作人（用户编号或电子邮箱）", "角色", "项目申报编号", "操作", "起始日期（北京时间）"):
        assert f">{label}</label>" in html or f">{label}\n" in html or label in html
    for name in ("actor", "role", "application", "trigger", "since", "until"):
        assert re.search(rf'<label[^>]*for="{name}"', html), name  # every filter is labelled
    assert "csrf_token" in html.split('action="/admin/audit/verify"')[1][:400]


def test_each_filter_narrows_the_table(pages, story, api):
    client = pages(story["admin"])
    # The API's token is a sign-in, itself an event: take it before the pages are read.
    events = api(story["admin"]).get("/audit/events?per_page=200").json["items"]
    everything = event_ids(client.get("/admin/audit").get_data(as_text=True))
    first, cast = story["first"], story["cast"]
    filters = {
        f"application={first.id}": lambda e: e["application_id"] == first.id,
        f"actor={cast.recommender.email}": lambda e: e["actor_id"] == cast.recommender.id,
        f"actor={cast.applicant.id}": lambda e: e["actor_id"] == cast.applicant.id,
        "role=recommender": lambda e: e["role"] == "recommender",
        "trigger=submit": lambda e: e["trigger"] == "submit",
    }
    for query, keep in filters.items():
        shown = event_ids(client.get(f"/admin/audit?{query}").get_data(as_text=True))
        assert shown and len(shown) < len(everything), query
        assert shown == [e["id"] for e in events if keep(e)], query
    tomorrow = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date() + dt.timedelta(days=1)
    assert event_ids(client.get(f"/admin/audit?since={tomorrow}").get_data(as_text=True)) == []
    assert event_ids(client.get(f"/admin/audit?until={tomorrow}").get_data(as_text=True)) == everything


@pytest.mark.parametrize("query, field, zh", [
    ("since=notadate", "since", "不是有效的日期值"),
    ("application=abc", "application", "不是有效的整数"),
    ("actor=nobody%40example.cn", "actor", "没有使用该电子邮箱的用户"),
    ("actor=nobody", "actor", "请填写用户编号或电子邮箱"),
    ("since=2026-02-01&until=2026-01-01", "until", "不得早于起始日期"),
    ("since=0001-01-01", "since", "须在 1900 年至 2999 年之间"),
    ("role=king", "role", ""),
    ("actor=a%00b", "actor", "无法保存的字符"),
])
def test_bad_filters_are_told_at_the_field(query, field, zh, pages, story):
    client = pages(story["admin"])
    for path in ("/admin/audit", "/admin/audit.csv"):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 422, (path, query, r.status_code)
        html = r.get_data(as_text=True)
        assert re.search(rf'id="{field}"[^>]*is-invalid|is-invalid[^>]*id="{field}"', html), (path, query)
        assert zh in html
        assert event_ids(html) == []


def test_bad_filters_keep_the_other_values(pages, story):
    client = pages(story["admin"])
    html = client.get(f"/admin/audit?since=notadate&actor={story['cast'].applicant.email}").get_data(as_text=True)
    assert f'value="{story["cast"].applicant.email}"' in html


def test_the_csv_export_holds_the_filtered_rows_with_a_header(pages, story, api):
    client, first = pages(story["admin"]), story["first"]
    r = client.get(f"/admin/audit.csv?application={first.id}&role=applicant")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="audit-events-')
    text = r.get_data().decode("utf-8-sig")  # a BOM, so spreadsheets read the Chinese right
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    expected = api(story["admin"]).get(f"/audit/events?application={first.id}&role=applicant&per_page=200").json
    assert [int(row[0]) for row in rows[1:]] == sorted(e["id"] for e in expected["items"])
    assert rows[1:] and {(row[2], row[9]) for row in rows[1:]} == {(str(first.id), "applicant")}
    html = client.get(f"/admin/audit?application={first.id}&role=applicant").get_data(as_text=True)
    link = re.search(r'href="(/admin/audit\.csv[^"]*)"', html).group(1).replace("&amp;", "&")
    assert f"application={first.id}" in link and "role=applicant" in link


def test_verify_shows_intact_and_when_it_ran_then_the_broken_event(pages, story, app):
    client = pages(story["admin"])
    assert "本次登录尚未校验" in client.get("/admin/audit").get_data(as_text=True)
    r = client.post("/admin/audit/verify")
    assert r.status_code == 302 and r.headers["Location"].startswith("/admin/audit")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert 'data-intact="true"' in html and "审计链完整" in html
    total = len(event_ids(client.get("/admin/audit").get_data(as_text=True)))
    assert f"已校验 {total} 个事件和 0 个签名检查点" in html
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    assert f"{now.year}年{now.month}月{now.day}日" in html.split('data-intact="true"')[1][:600]
    assert client.get("/admin/audit?role=officer").get_data(as_text=True).count('data-intact="true"') == 1  # kept

    target = event_ids(html)[2]
    tamper(app, "UPDATE events SET to_state = 'approved' WHERE id = :id", id=target)
    assert client.post("/admin/audit/verify").status_code == 302
    html = client.get("/admin/audit").get_data(as_text=True)
    assert 'data-intact="false"' in html and f'data-broken-event="{target}"' in html
    assert f"审计链在第 {target} 号事件处断裂" in html and "其内容与哈希值不符" in html


def test_verify_needs_the_csrf_token(pages, story):
    client = pages(story["admin"])
    r = client.post("/admin/audit/verify", csrf=False)
    assert r.status_code == 400
    assert "本次登录尚未校验" in client.get("/admin/audit").get_data(as_text=True)


def test_the_audit_page_in_english(pages, story, app):
    client = pages(story["admin"], language="en")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert '<html lang="en">' in html
    for text in ("Audit history", "Verify now", "Export as CSV", "Actor (user id or e-mail)", "Formal review",
                 "Recommending body"):
        assert text in html, text
    client.post("/admin/audit/verify")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "The audit chain is intact." in html and "(Beijing time)" in html
    html = client.get("/admin/audit?since=notadate").get_data(as_text=True)
    assert "Not a valid date value." in html
