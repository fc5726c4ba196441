"""The audit API (admin): filtered events, the same as CSV, and verification of the chain."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from workflow.services.audit_log import CSV_COLUMNS

from .factories import tamper

BEIJING = dt.timezone(dt.timedelta(hours=8))



@pytest.fixture
def history(factory, api):
    """Two applications' histories, by different casts, and an admin's client."""
    first, cast = factory.application("formal_review")
    second, other = factory.application("draft")
    admin = factory.user("admin")
    return {"first": first, "second": second, "cast": cast, "other": other, "admin": api(admin),
            "admin_actor": admin}


def all_events(client, query=""):
    r = client.get(f"/audit/events?per_page=200{query}")
    assert r.status_code == 200, r.json
    return r.json


def accepting(client, path, accept):
    return client.client.get(f"/api/v1{path}", headers={**client._headers(), "Accept": accept})


def rows_of(response):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("GET", "/audit/events"), ("GET", "/audit/events?format=csv"),
                                          ("POST", "/audit/verify")])
def test_only_admins_read_and_verify(method, path, factory, api):
    factory.application("pending_recommendation")
    for role in ("applicant", "recommender", "reviewer", "officer"):
        client = api(factory.user(role))
        r = client.get(path) if method == "GET" else client.post(path)
        assert r.status_code == 403 and r.json["error"] == "not_permitted", (role, r.json)
    r = api().get(path) if method == "GET" else api().post(path)
    assert r.status_code == 401 and r.json["error"] == "not_authenticated"
    admin = api(factory.user("admin"))
    r = admin.get(path) if method == "GET" else admin.post(path)
    assert r.status_code == 200


# --- filters --------------------------------------------------------------------------


def test_the_list_is_paged_newest_first(history):
    everything = all_events(history["admin"])
    ids = [e["id"] for e in everything["items"]]
    assert ids == sorted(ids, reverse=True) and everything["total"] == len(ids) > 4
    page2 = history["admin"].get("/audit/events?per_page=2&page=2").json
    assert [e["id"] for e in page2["items"]] == ids[2:4] and page2["total"] == everything["total"]


def test_each_filter_narrows_the_events(history):
    admin, first, cast = history["admin"], history["first"], history["cast"]
    total = all_events(admin)["total"]

    by_app = all_events(admin, f"&application={first.id}")
    assert 0 < by_app["total"] < total
    assert {e["application_id"] for e in by_app["items"]} == {first.id}

    recommender = cast.recommender
    for who in (str(recommender.id), recommender.email, recommender.email.upper()):
        by_actor = all_events(admin, f"&actor={who}")
        assert by_actor["total"] >= 1 and {e["actor_id"] for e in by_actor["items"]} == {recommender.id}, who

    by_role = all_events(admin, "&role=recommender")
    assert 0 < by_role["total"] < total and {e["role"] for e in by_role["items"]} == {"recommender"}

    by_trigger = all_events(admin, "&trigger=submit")
    assert by_trigger["total"] == 1 and by_trigger["items"][0]["application_id"] == first.id

    both = all_events(admin, f"&application={history['second'].id}&trigger=submit")
    assert both["total"] == 0


def test_since_and_until_take_dates_and_times(history):
    admin = history["admin"]
    total = all_events(admin)["total"]
    today = dt.datetime.now(BEIJING).date()
    assert all_events(admin, f"&since={today}")["total"] == total
    assert all_events(admin, f"&until={today}")["total"] == total  # a date counts its whole day
    assert all_events(admin, f"&since={today + dt.timedelta(days=1)}")["total"] == 0
    assert all_events(admin, f"&until={today - dt.timedelta(days=1)}")["total"] == 0
    newest = all_events(admin)["items"][0]
    at = dt.datetime.fromisoformat(newest["created_at"])
    stamp = at.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    since = all_events(admin, f"&since={stamp}")
    assert newest["id"] in [e["id"] for e in since["items"]] and since["total"] < total
    naive_beijing = at.astimezone(BEIJING).replace(tzinfo=None).isoformat()  # no offset: Beijing time
    assert all_events(admin, f"&since={naive_beijing}")["total"] == since["total"]


@pytest.mark.parametrize("query, field", [
    ("since=notadate", "since"), ("until=2026-13-01", "until"), ("application=abc", "application"),
    ("application=0", "application"), ("role=king", "role"), ("actor=nobody@example.cn", "actor"),
    ("actor=not%20a%20user", "actor"), ("since=0001-01-01", "since"), ("until=9999-12-31T23:59:59", "until"),
    ("since=2026-02-01&until=2026-01-01", "until"), ("page=0", "page"), ("per_page=1000", "per_page"),
    ("format=xml", "format"), ("colour=red", "colour"), ("trigger=" + "x" * 41, "trigger"),
])
def test_bad_filters_get_field_messages(query, field, history):
    r = history["admin"].get(f"/audit/events?{query}")
    assert r.status_code == 422 and r.json["error"] == "invalid_input", r.json
    assert field in r.json["details"], r.json
    r = history["admin"].get(f"/audit/events?{query}&format=csv" if "format" not in query else f"/audit/events?{query}")
    assert r.status_code == 422, r.get_data(as_text=True)


# --- CSV --------------------------------------------------------------------------------


def test_csv_has_the_header_and_every_matching_row(history):
    admin, first = history["admin"], history["first"]
    expected = all_events(admin, f"&application={first.id}")
    r = admin.get(f"/audit/events?application={first.id}&format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = rows_of(r)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0][:2] == ["id", "time UTC"]
    body = rows[1:]
    assert [int(row[0]) for row in body] == sorted(e["id"] for e in expected["items"])  # oldest first, all rows
    assert {row[2] for row in body} == {str(first.id)}
    by_id = {e["id"]: e for e in expected["items"]}
    for row in body:
        event = by_id[int(row[0])]
        assert row[5] == event["trigger"] and row[11] == event["hash"] and row[9] == event["role"]
        assert row[1].endswith("+00:00")
    submit = next(row for row in body if row[5] == "submit")
    assert submit[6:9] == ["draft", "pending_recommendation", history["cast"].applicant.email]


def test_csv_by_accept_header_holds_all_rows_beyond_a_page(history):
    admin = history["admin"]
    total = all_events(admin)["total"]
    r = accepting(admin, "/audit/events?per_page=1", "text/csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert len(rows_of(r)) == 1 + total
    r = accepting(admin, "/audit/events?per_page=1", "application/json")
    assert r.mimetype == "application/json" and len(r.json["items"]) == 1


def test_csv_respects_filters(history):
    admin = history["admin"]
    rows = rows_of(admin.get("/audit/events?role=recommender&format=csv"))[1:]
    assert rows and {row[9] for row in rows} == {"recommender"}
    assert rows_of(admin.get("/audit/events?since=2999-01-01&format=csv")) == [list(CSV_COLUMNS)]


def test_a_csv_export_is_itself_recorded(history):
    admin, first = history["admin"], history["first"]
    before = all_events(admin)["total"]
    admin.get(f"/audit/events?application={first.id}&role=applicant&format=csv")
    exports = all_events(admin, "&trigger=export")["items"]
    assert len(exports) == 1
    export = exports[0]
    assert export["subject"] == "audit" and export["actor_id"] == history["admin_actor"].id
    assert export["data"]["filters"] == {"application": first.id, "role": "applicant"}
    assert export["subject_id"] == before == export["data"]["up_to_event"]
    assert all_events(admin)["total"] == before + 1  # the JSON list is a read: nothing recorded
    assert history["admin"].post("/audit/verify").json["intact"] is True


def test_a_refused_export_records_nothing(history):
    admin = history["admin"]
    before = all_events(admin)["total"]
    assert admin.get("/audit/events?since=nonsense&format=csv").status_code == 422
    assert all_events(admin)["total"] == before


def test_spreadsheet_formulas_in_comments_are_defused(factory, api):
    app, cast = factory.application("pending_recommendation")
    r = api(cast.recommender).fire(app.id, "return_for_revision", comment="=HYPERLINK(\"http://x\")")
    assert r.status_code == 200, r.json
    rows = rows_of(api(factory.user("admin")).get(f"/audit/events?application={app.id}&format=csv"))
    comment = next(row[10] for row in rows if row[5] == "return_for_revision")
    assert comment == "'=HYPERLINK(\"http://x\")"


# --- verify -----------------------------------------------------------------------------


def test_verify_reports_intact_then_names_the_tampered_event(history, app):
    admin = history["admin"]
    r = admin.post("/audit/verify")
    assert r.status_code == 200
    result = r.json
    total = all_events(admin)["total"]
    assert result["intact"] is True and result["problems"] == [] and result["broken_event"] is None
    assert result["events"] == total and result["checkpoints"] == 0
    ran = dt.datetime.fromisoformat(result["verified_at"])
    assert abs((dt.datetime.now(dt.timezone.utc) - ran).total_seconds()) < 60

    target = all_events(admin)["items"][5]["id"]
    tamper(app, "UPDATE events SET comment = 'rewritten' WHERE id = :id", id=target)
    result = admin.post("/audit/verify").json
    assert result["intact"] is False and result["broken_event"] == target
    assert result["problems"][0].startswith(f"event {target}:") and "changed" in result["problems"][0]


def test_verify_checks_the_signed_checkpoints(history, app):
    from workflow import checkpoints, db

    app.config["AUDIT_KEY"] = "a key the database never sees"
    with app.app_context():
        checkpoints.write(db.session(), app.config["AUDIT_KEY"], checkpoints.path_in(app.config["DATA_DIR"]))
    admin = history["admin"]
    result = admin.post("/audit/verify").json
    assert result["intact"] is True and result["checkpoints"] == 1 and result["signatures_checked"] is True
    app.config["AUDIT_KEY"] = "another key"
    result = admin.post("/audit/verify").json
    assert result["intact"] is False and result["broken_event"] is None
    assert result["problems"] == ["checkpoint 1: bad signature (the checkpoint file was altered, or the key differs)"]


def test_the_api_documents_the_audit_endpoints(api):
    doc = api().get("/openapi.json").json
    events = doc["paths"]["/audit/events"]["get"]
    assert {p["name"] for p in events["parameters"]} >= {"actor", "role", "application", "trigger", "since",
                                                         "until", "page", "per_page", "format"}
    assert "text/csv" in events["responses"]["200"]["content"] and "422" in events["responses"]
    verify = doc["paths"]["/audit/verify"]["post"]
    assert set(verify["responses"]["200"]["content"]["application/json"]["schema"]["required"]) >= {
        "intact", "events", "checkpoints", "problems", "verified_at"}
