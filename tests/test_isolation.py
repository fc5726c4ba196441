"""Who sees and does what, on every endpoint of /api/v1 (DESIGN §2, §5).

An actor who may not see an application is told it does not exist (404), on
the application and on every sub-resource, and nothing they send changes it.
Role-gated endpoints answer 403 to every other role; no valid token, 401.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from workflow.lifecycle import minimal_pdf
from workflow.models import Body

from .factories import snapshot, upload


REVIEW = {"score": 80, "opinion": "合作基础扎实。", "recommendation": "fund"}


@dataclass
class World:
    """A running project of institution A (with reviews, milestones, attachments, a change request) and outsiders."""

    app_id: int
    ids: dict
    clients: dict
    actors: dict


class Clients(dict):
    """A signed-in client per actor, made on first use (each sign-in is a write)."""

    def __init__(self, api, actors, **ready):
        super().__init__(ready)
        self.api, self.actors = api, actors

    def __missing__(self, name):
        self[name] = client = self.api(self.actors[name])
        return client


@pytest.fixture
def world(factory, api):
    cast = factory.cast()
    app, _ = factory.application("in_progress", cast=cast)
    applicant = api(cast.applicant)
    r = applicant.post(f"/applications/{app.id}/changes",
                       json={"kind": "extension", "comment": "设备延期", "extend_months": 3})
    assert r.status_code == 201, r.json
    body = factory.get(Body, cast.recommender.body_id)
    actors = {
        "owner": cast.applicant, "recommender": cast.recommender, "officer": cast.officer,
        "admin": factory.user("admin"), "reviewer": cast.reviewers[0],
        "other_applicant": factory.user("applicant"),
        "other_recommender": factory.user("recommender", body=factory.body(body.channel)),
        "other_reviewer": factory.user("reviewer", institution=factory.institution()),
    }
    clients = Clients(api, actors, owner=applicant)
    full = factory.reload(app.id)
    documents = applicant.get(f"/applications/{app.id}/documents").json["items"]
    assert documents, "the approval should have issued a decision notice"
    ids = {"app": app.id, "review": full.reviews[0].id, "milestone": full.milestones[0].id,
           "attachment": full.attachments[0].id, "change": r.json["id"], "document": documents[0]["id"],
           "reviewer": actors["other_reviewer"].id}
    return World(app.id, ids, clients, actors)


# Every endpoint of an application, as (method, path, body); {name} is filled from World.ids.
APP_SCOPED = [
    ("GET", "/applications/{app}", None),
    ("PATCH", "/applications/{app}", {"title": "改名"}),
    ("POST", "/applications/{app}/transitions/{trigger}", "trigger"),
    ("GET", "/applications/{app}/history", None),
    ("GET", "/applications/{app}/reviews", None),
    ("POST", "/applications/{app}/reviews", {"reviewer_id": "{reviewer}"}),
    ("POST", "/applications/{app}/reviews/{review}/transitions/submit_review", REVIEW),
    ("POST", "/applications/{app}/reviews/{review}/transitions/decline", {"comment": "回避"}),
    ("GET", "/applications/{app}/milestones", None),
    ("GET", "/applications/{app}/agreement", None),
    ("POST", "/applications/{app}/milestones/{milestone}/transitions/report", {"report": "进展"}),
    ("POST", "/applications/{app}/milestones/{milestone}/transitions/accept", {}),
    ("GET", "/applications/{app}/attachments", None),
    ("POST", "/applications/{app}/attachments", "multipart"),
    ("GET", "/applications/{app}/attachments/{attachment}", None),
    ("GET", "/applications/{app}/changes", None),
    ("POST", "/applications/{app}/changes", {"kind": "pi_change", "comment": "负责人调动", "principal_investigator": "王五"}),
    ("POST", "/applications/{app}/changes/{change}/transitions/approve", {}),
    ("GET", "/applications/{app}/documents", None),
    ("GET", "/documents/{document}", None),
    ("POST", "/applications/{app}/sensitive", {"flagged": True, "comment": "涉及敏感技术"}),
]
# A trigger each outsider could fire on an application of their own, in the project's state or not.
OWN_TRIGGER = {"other_applicant": ("request_closeout", {"outcomes": {"papers": 1}}),
               "other_recommender": ("recommend", {"comment": "同意"}),
               "other_reviewer": ("close_review", {})}
# Decision documents are for the applicant institution and the fund: other roles are refused by role (403),
# which says nothing of the document (workflow/access.py).
ROLE_REFUSED = {("GET", "/documents/{document}"): {"other_recommender", "other_reviewer"}}


def call(client, method, path, body, ids, who=None):
    path = path.format(trigger="{trigger}", **ids)
    if body == "trigger":
        trigger, body = OWN_TRIGGER[who]
        path = path.replace("{trigger}", trigger)
    if body == "multipart":
        return client.client.post(f"/api/v1{path}", headers=client._headers(), content_type="multipart/form-data",
                                  data={"kind": "milestone_report",
                                        "file": (io.BytesIO(minimal_pdf("x")), "x.pdf")})
    if isinstance(body, dict):
        body = {k: (ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v) for k, v in body.items()}
    if method == "PUT":  # the ApiClient speaks GET, POST, PATCH and DELETE
        return client.client.put(f"/api/v1{path}", json=body, headers=client._headers())
    return getattr(client, method.lower())(path, json=body) if method != "GET" else client.get(path)


@pytest.mark.parametrize("method, path, body", APP_SCOPED, ids=[f"{m} {p}" for m, p, _ in APP_SCOPED])
def test_outsiders_are_told_the_application_does_not_exist(method, path, body, world, factory):
    for who in ("other_applicant", "other_recommender", "other_reviewer"):
        before = snapshot(factory, world.app_id)
        r = call(world.clients[who], method, path, body, world.ids, who)
        expected = 403 if who in ROLE_REFUSED.get((method, path), ()) else 404
        assert r.status_code == expected, (who, r.json)
        assert r.json["error"] == {403: "not_permitted", 404: "not_found"}[expected]
        assert snapshot(factory, world.app_id) == before, who


def test_outsiders_do_not_find_it_in_lists_and_insiders_do(world):
    for who in ("other_applicant", "other_recommender", "other_reviewer"):
        for query in ("", "?state=in_progress", "?channel=intergovernmental", "?field=energy_resources",
                      "?country=DE"):
            r = world.clients[who].get(f"/applications{query}")
            assert r.status_code == 200 and r.json["items"] == [] and r.json["total"] == 0, (who, query, r.json)
    for who in ("owner", "recommender", "officer", "admin", "reviewer"):
        client = world.clients[who]
        assert [a["id"] for a in client.get("/applications?country=DE").json["items"]] == [world.app_id], who
        for path in ("", "/history", "/milestones", "/attachments", "/changes", "/documents"):
            assert client.get(f"/applications/{world.app_id}{path}").status_code == 200, (who, path)
        # Decision documents go to the applicant institution and the fund only.
        r = client.get(f"/documents/{world.ids['document']}")
        assert r.status_code == (200 if who in ("owner", "officer", "admin") else 403), (who, r.status_code)


def test_recommenders_do_not_see_drafts(factory, api):
    app, cast = factory.application("draft")
    recommender, officer = api(cast.recommender), api(cast.officer)
    for client in (recommender, officer):
        assert client.get(f"/applications/{app.id}").status_code == 404
        assert client.get("/applications").json["items"] == []
        r = client.fire(app.id, "recommend", comment="同意")
        assert r.status_code == 404 and r.json["error"] == "not_found", r.json
    applicant = api(cast.applicant)
    for kind in ("proposal", "cooperation_agreement"):
        assert upload(applicant, app.id, kind).status_code == 201
    assert applicant.fire(app.id, "submit").status_code == 200
    assert [a["id"] for a in recommender.get("/applications").json["items"]] == [app.id]
    r = recommender.fire(app.id, "recommend", comment="同意推荐")
    assert r.status_code == 200 and r.json["state"] == "formal_review", r.json


def test_only_the_named_body_may_endorse(factory, api):
    app, cast = factory.application("pending_recommendation")
    channel = factory.get(Body, cast.recommender.body_id).channel
    same_channel = api(factory.user("recommender", body=factory.body(channel)))
    for trigger in ("recommend", "decline_recommendation", "return_for_revision"):
        before = snapshot(factory, app.id)
        r = same_channel.fire(app.id, trigger, comment="理由")
        assert r.status_code == 404, r.json
        assert snapshot(factory, app.id) == before


def test_reviewers_see_only_their_own_reviews(world, factory):
    reviewer = world.clients["reviewer"]
    reviews = reviewer.get(f"/applications/{world.app_id}/reviews").json["items"]
    assert [r["reviewer_id"] for r in reviews] == [world.actors["reviewer"].id]
    history = reviewer.get(f"/applications/{world.app_id}/history").json["items"]
    review_events = [e for e in history if e["subject"] == "review"]
    assert review_events and {e["subject_id"] for e in review_events} == {reviews[0]["id"]}
    all_reviews = world.clients["officer"].get(f"/applications/{world.app_id}/reviews").json["items"]
    assert len(all_reviews) == 3


def test_a_reviewer_cannot_act_on_a_colleagues_assignment(factory, api):
    app, cast = factory.application("expert_review")
    officer, first = api(cast.officer), api(cast.reviewers[0])
    mine, theirs = (officer.post(f"/applications/{app.id}/reviews", json={"reviewer_id": r.id}).json["id"]
                    for r in cast.reviewers[:2])
    for trigger, body in (("declare_no_conflict", None), ("submit_review", REVIEW), ("decline", {"comment": "回避"})):
        before = snapshot(factory, app.id, "review", theirs)
        r = first.post(f"/applications/{app.id}/reviews/{theirs}/transitions/{trigger}", json=body)
        # not found, so the answer never tells a colleague's review's state
        assert r.status_code == 404 and r.json["message"] == f"review {theirs} not found", r.json
        assert snapshot(factory, app.id, "review", theirs) == before
    r = first.get(f"/applications/{app.id}/reviews")
    assert [x["id"] for x in r.json["items"]] == [mine]


def test_a_reviewer_who_declines_for_a_conflict_loses_access(factory, api):
    app, cast = factory.application("expert_review")
    officer, first, second = api(cast.officer), api(cast.reviewers[0]), api(cast.reviewers[1])
    mine, _ = (officer.post(f"/applications/{app.id}/reviews", json={"reviewer_id": r.id}).json["id"]
               for r in cast.reviewers[:2])
    assert [a["id"] for a in first.get("/applications").json["items"]] == [app.id]
    r = first.post(f"/applications/{app.id}/reviews/{mine}/transitions/decline", json={"comment": "曾与申报单位合作"})
    assert r.status_code == 200 and r.json["state"] == "declined", r.json
    assert first.get("/applications").json["items"] == []
    for path in ("", "/attachments", "/history", "/reviews"):
        assert first.get(f"/applications/{app.id}{path}").status_code == 404, path
    assert second.get(f"/applications/{app.id}").status_code == 200  # the other reviewer goes on


def test_applicants_and_recommenders_cannot_list_reviews(world):
    for who in ("owner", "recommender"):
        r = world.clients[who].get(f"/applications/{world.app_id}/reviews")
        assert r.status_code == 403 and r.json["error"] == "not_permitted", (who, r.json)
        history = world.clients[who].get(f"/applications/{world.app_id}/history").json["items"]
        assert history and all(e["subject"] != "review" for e in history), who


# --- role-gated endpoints ----------------------------------------------------------

ADMIN_ONLY = [
    ("GET", "/users", None, 200),
    ("POST", "/users", {"email": "new.officer@example.cn", "password": "long enough 123", "role": "officer"}, 201),
    ("PATCH", "/users/{user}", {"name": "改名"}, 200),
    ("POST", "/calls", {"code": "GJHZ-NEW", "title": "新指南", "opens_at": "2026-01-01T00:00:00+00:00",
                        "closes_at": "2026-12-31T00:00:00+00:00", "total_budget": 1000}, 201),
    ("PATCH", "/calls/{call}", {"title": "改名"}, 200),
    ("PUT", "/calls/{call}/rubric", {"criteria": [{"key": "merit", "label": "学术价值", "label_en": "Merit",
                                                   "weight": 1, "min": 0, "max": 10}]}, 200),
    ("POST", "/institutions", {"name": "新研究所", "kind": "institute"}, 201),
    ("POST", "/bodies", {"name": "新推荐单位", "channel": "embassy", "kind": "embassy_section"}, 201),
    ("POST", "/bases", {"name": "新基地", "kind": "joint_research_center"}, 201),
    ("PATCH", "/institutions/{institution}", {"province": "北京"}, 200),
    ("PATCH", "/bodies/{body}", {"retired": True}, 200),
    ("PATCH", "/bases/{base}", {"name_en": "Renamed base"}, 200),
    ("GET", "/jobs", None, 200),
    ("GET", "/jobs/{job}", None, 200),  # a job another started; officers read their own (test_regenerate)
    ("POST", "/jobs/{job}/retry", None, 200),
    ("GET", "/audit/events", None, 200),
    ("GET", "/audit/events?format=csv", None, 200),  # an export is recorded, for admins only
    ("POST", "/audit/verify", None, 200),
]
OFFICER_ENDPOINTS = [
    ("GET", "/reviewers", None, 200),
    ("GET", "/calls/{call}/ranking", None, 200),
    ("POST", "/applications/{app}/reviews", {"reviewer_id": "{reviewer}"}, 409),  # conflict-free, wrong state
    # The reviewer pool (services.pool): {user} is an applicant, so not an expert.
    ("GET", "/reviewers/{user}", None, 404),
    ("PATCH", "/reviewers/{user}", {"title": "教授"}, 404),
    ("POST", "/reviewers", {}, 422),
    ("POST", "/reviewers/import", None, 422),  # no file
    ("GET", "/applications/{app}/suggestions", None, 200),
    ("POST", "/applications/{app}/reviews/{review}/replace", None, 409),  # submitted: nothing to replace
    ("POST", "/reviews/bulk", {"app_ids": [999999]}, 200),  # the summary names the unknown application
    ("POST", "/calls/{call}/documents/regenerate", None, 202),
]


def gated_ids(world, factory) -> dict:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        job = c.execute(text("SELECT min(id) FROM outbox")).scalar()
    return {**world.ids, "user": world.actors["other_applicant"].id, "call": factory.reload(world.app_id).call_id,
            "job": job, "institution": world.actors["other_applicant"].institution_id,
            "body": world.actors["other_recommender"].body_id, "base": factory.base().id}


@pytest.mark.parametrize("method, path, body, ok", ADMIN_ONLY, ids=[f"{m} {p}" for m, p, *_ in ADMIN_ONLY])
def test_admin_only_endpoints_refuse_everyone_else(method, path, body, ok, world, factory):
    ids = gated_ids(world, factory)
    for who in ("owner", "recommender", "reviewer", "officer", "other_applicant"):
        before = snapshot(factory, world.app_id)
        r = call(world.clients[who], method, path, body, ids)
        assert r.status_code == 403 and r.json["error"] == "not_permitted", (who, r.json)
        assert snapshot(factory, world.app_id) == before  # not even an audit event
    r = call(world.clients["admin"], method, path, body, ids)
    assert r.status_code == ok, r.json


@pytest.mark.parametrize("method, path, body, ok", OFFICER_ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, *_ in OFFICER_ENDPOINTS])
def test_officer_endpoints_refuse_other_roles(method, path, body, ok, world, factory):
    ids = gated_ids(world, factory)
    for who in ("owner", "recommender", "reviewer"):
        r = call(world.clients[who], method, path, body, ids)
        assert r.status_code == 403 and r.json["error"] == "not_permitted", (who, r.json)
    for staff in ("officer", "admin"):
        assert call(world.clients[staff], method, path, body, ids).status_code == ok


# --- authentication ------------------------------------------------------------------

PUBLIC = {("POST", "/api/v1/tokens"), ("GET", "/api/v1/openapi.json")}


def api_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, rule.rule))
    return sorted(routes)


def concrete(rule: str) -> str:
    return re.sub(r"<int:\w+>", "1", re.sub(r"<(?:string:)?(\w+)>", "submit", rule))


def _credentials():
    return [None, "Bearer", "Bearer    ", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "bearer-token"]


def test_no_valid_token_means_401_on_every_endpoint(app, factory, world):
    client = app.test_client()
    routes = [r for r in api_routes(app) if r not in PUBLIC]
    assert len(routes) >= 30
    before = snapshot(factory, world.app_id)
    for method, rule in routes:
        for header in _credentials():
            headers = {"Authorization": header} if header else {}
            # A body that would be refused as input: authentication must come first.
            r = client.open(concrete(rule), method=method, headers=headers, json={"unknown": 1})
            assert r.status_code == 401, (method, rule, header, r.status_code, r.json)
            assert r.json["error"] == "not_authenticated" and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(factory, world.app_id) == before


def test_the_public_endpoints_need_no_token(app):
    client = app.test_client()
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.post("/api/v1/tokens", json={"email": "nobody@example.cn", "password": "x" * 9}).status_code == 401


def test_every_api_endpoint_is_covered_here(app):
    """A new endpoint must be classified above (application-scoped, role-gated or open to every role)."""
    open_to_all = {
        ("GET", "/workflow"), ("GET", "/calls"), ("GET", "/calls/<int:call_id>"), ("GET", "/calls/<int:call_id>/rubric"),
        ("GET", "/institutions"),
        ("GET", "/bodies"), ("GET", "/bases"), ("GET", "/statistics"), ("GET", "/tokens"),
        ("DELETE", "/tokens/<int:token_id>"), ("GET", "/applications"), ("POST", "/applications"),
        ("GET", "/notices"), ("POST", "/notices/<int:notice_id>/read"),  # one's own: test_notices_are_private
    }
    names = {"app": "app_id", "review": "review_id", "milestone": "milestone_id", "attachment": "attachment_id",
             "change": "change_id", "user": "user_id", "call": "call_id", "document": "doc_id", "job": "job_id",
             "institution": "institution_id", "body": "body_id", "base": "base_id"}

    def rule(path):
        path = re.sub(r"/transitions/(\w+|\{trigger\})$", "/transitions/<trigger>", path)
        return re.sub(r"\{(\w+)\}", lambda m: f"<int:{names[m.group(1)]}>", path)
    covered = {(m, rule(p)) for m, p, _ in APP_SCOPED} | {(m, rule(p)) for m, p, *_ in ADMIN_ONLY + OFFICER_ENDPOINTS}
    covered |= open_to_all | {(m, p[len("/api/v1"):]) for m, p in PUBLIC}
    # Officers' and admins' only, walked role by role in tests/test_statistics_access.py.
    covered |= {("GET", "/statistics/bases"), ("GET", "/statistics/countries/<code>"),
                ("GET", "/statistics/countries/<code>/report")}
    served = {(m, r[len("/api/v1"):]) for m, r in api_routes(app)}
    assert served - covered == set(), "endpoints without an isolation test"


def test_notices_are_private(world):
    mine = world.clients["owner"].get("/notices").json["items"]
    assert mine, "the applicant should have been told of the project's steps"
    stranger = world.clients["other_applicant"]
    assert stranger.get("/notices").json["items"] == []
    r = stranger.post(f"/notices/{mine[0]['id']}/read")
    assert r.status_code == 404 and r.json["error"] == "not_found", r.json
    assert world.clients["owner"].get("/notices").json["items"][0] == mine[0]  # still unread


def test_a_revoked_token_is_refused_at_once(factory, api):
    who = factory.user("applicant")
    client, spare = api(who), api(who)
    assert client.get("/applications").status_code == 200
    tokens = client.get("/tokens").json["items"]
    assert len(tokens) == 2 and all(t["revoked_at"] is None for t in tokens)
    current = tokens[0]["id"]  # the first one issued: `client`'s
    assert spare.delete(f"/tokens/{current}").status_code == 204
    r = client.get("/applications")
    assert r.status_code == 401 and r.json["error"] == "not_authenticated", r.json
    assert spare.get("/applications").status_code == 200
    assert [t["revoked_at"] is not None for t in spare.get("/tokens").json["items"]] == [True, False]


def test_tokens_belong_to_their_user(factory, api):
    alice, bob = factory.user("applicant"), factory.user("applicant")
    a, b = api(alice), api(bob)
    theirs = b.get("/tokens").json["items"][0]["id"]
    assert a.delete(f"/tokens/{theirs}").status_code == 404
    assert a.get(f"/tokens?user={bob.id}").status_code == 403
    assert b.get("/applications").status_code == 200
    admin = api(factory.user("admin"))
    assert [t["id"] for t in admin.get(f"/tokens?user={bob.id}").json["items"]] == [theirs]


def test_a_deactivated_user_is_refused_at_once(factory, api):
    who = factory.user("recommender")
    client = api(who)
    admin = api(factory.user("admin"))
    assert client.get("/applications").status_code == 200
    r = admin.patch(f"/users/{who.id}", json={"active": False})
    assert r.status_code == 200 and r.json["active"] is False, r.json
    r = client.get("/applications")
    assert r.status_code == 401 and r.json["error"] == "not_authenticated", r.json
    anonymous = api()
    r = anonymous.post("/tokens", json={"email": who.email, "password": "correct horse battery"})
    assert r.status_code == 401, r.json
    assert admin.patch(f"/users/{who.id}", json={"active": True}).status_code == 200
    assert client.get("/applications").status_code == 401  # its old tokens stay revoked
    r = anonymous.post("/tokens", json={"email": who.email, "password": "correct horse battery"})
    assert r.status_code == 201, r.json


# --- the applicant's institution ----------------------------------------------------


@pytest.mark.parametrize("smuggled", [{"institution_id": 1}, {"institution": {"id": 1, "name": "x"}},
                                      {"created_by_id": 1}, {"state": "approved"}, {"version": 7, "state": "approved"},
                                      {"approved_amount": 10}])
def test_an_applicant_cannot_choose_the_institution_or_the_state(smuggled, factory, api):
    cast = factory.cast()
    other = factory.institution("enterprise")
    body = factory.get(Body, cast.recommender.body_id)
    data = factory.application_data(factory.call(), body)
    client = api(cast.applicant)
    if "institution_id" in smuggled:
        smuggled = {"institution_id": other.id}
    r = client.post("/applications", json={**data, **smuggled})
    assert r.status_code == 422 and r.json["error"] == "invalid_input", r.json
    assert set(r.json["details"]) & set(smuggled)
    assert client.get("/applications").json["items"] == []

    r = client.post("/applications", json=data)
    assert r.status_code == 201, r.json
    assert r.json["institution"]["id"] == cast.applicant.institution_id != other.id
    app_id = r.json["id"]
    before = snapshot(factory, app_id)
    r = client.patch(f"/applications/{app_id}", json=smuggled)
    assert r.status_code == 422, r.json
    assert snapshot(factory, app_id) == before


def test_only_applicants_open_applications(factory, api):
    cast = factory.cast()
    data = factory.application_data(factory.call(), factory.get(Body, cast.recommender.body_id))
    for who in (cast.recommender, cast.officer, cast.reviewers[0], factory.user("admin")):
        r = api(who).post("/applications", json=data)
        assert r.status_code == 403 and r.json["error"] == "not_permitted", r.json
