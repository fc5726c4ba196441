"""The error contract of /api/v1 (DESIGN §5): JSON {error, message, details?}, the right code, nothing changed."""
from __future__ import annotations

import contextlib
import random
import re

import pytest

from workflow import digits_at_most
from workflow.lifecycle import minimal_pdf
from workflow.models import MAX_ROW_ID, Body

from .conftest import ApiClient
from .factories import PASSWORD, upload



def assert_error(r, status: int, error: str, *, details=None):
    """The response is the §5 error shape with this status and code."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) <= {"error", "message", "details"} and {"error", "message"} <= set(body), body
    assert body["error"] == error, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    if details is not None:
        assert details(body.get("details")), body
    return body


@contextlib.contextmanager
def unchanged(watcher, app_id):
    """Whatever runs inside leaves the application exactly as `watcher` (an admin) sees it."""
    before = watcher.get(f"/applications/{app_id}").json
    history = len(watcher.get(f"/applications/{app_id}/history").json["items"])
    yield
    assert watcher.get(f"/applications/{app_id}").json == before
    assert len(watcher.get(f"/applications/{app_id}/history").json["items"]) == history


@pytest.fixture
def pending(factory, api):
    """An application awaiting recommendation, its cast's clients and an admin to watch it."""
    app, cast = factory.application("pending_recommendation")
    return app.id, api(cast.applicant), api(cast.recommender), api(cast.officer), api(factory.user("admin"))


# --- 400 --------------------------------------------------------------------------


NOT_A_JSON_OBJECT = [
    ("not json", "application/json"),
    ('{"comment": "同意"', "application/json"),
    ("[1, 2]", "application/json"),
    ('"同意"', "application/json"),
    ("null", "application/json"),
    ('{"comment": "同意"}', "text/plain"),
    ("comment=同意", "application/x-www-form-urlencoded"),
]


def test_400_for_a_body_that_is_not_a_json_object(pending):
    app_id, _, recommender, _, admin = pending
    with unchanged(admin, app_id):
        for data, content_type in NOT_A_JSON_OBJECT:
            r = recommender.client.post(f"/api/v1/applications/{app_id}/transitions/recommend",
                                        data=data.encode(), content_type=content_type,
                                        headers=recommender._headers())
            assert_error(r, 400, "bad_request")


def test_400_on_create_and_edit_too(factory, api):
    app, cast = factory.application("draft")
    client = api(cast.applicant)
    for method, path in (("post", "/api/v1/applications"), ("patch", f"/api/v1/applications/{app.id}")):
        r = getattr(client.client, method)(path, data=b"{oops", content_type="application/json",
                                            headers=client._headers())
        assert_error(r, 400, "bad_request")


# --- 422 --------------------------------------------------------------------------


def test_422_names_every_bad_field(factory, api):
    cast = factory.cast()
    data = factory.application_data(factory.call(), factory.get(Body, cast.recommender.body_id))
    data.update(title="", field="astrology", channel="carrier_pigeon", duration_months=0, sensitive_technology="no",
                budget={"central": -1, "local_matching": 1.5, "self_raised": 0},
                partners=[{"name": "ETH Zürich", "country": "XX", "kind": "university"}], colour="red")
    client = api(cast.applicant)
    body = assert_error(client.post("/applications", json=data), 422, "invalid_input")
    details = body["details"]
    assert {"title", "field", "channel", "duration_months", "sensitive_technology", "budget", "partners",
            "colour"} <= set(details)
    assert details["colour"] == ["Unknown field."]
    assert set(details["budget"]) == {"central", "local_matching"}
    assert "country" in details["partners"]["0"]
    assert all(isinstance(m, str) for m in details["title"])
    assert client.get("/applications").json["items"] == []


def test_422_when_a_required_field_is_missing(factory, api):
    cast = factory.cast()
    body = assert_error(api(cast.applicant).post("/applications", json={"title": "只有标题"}), 422, "invalid_input")
    assert set(body["details"]) == {"call_id", "channel", "body_id"}


def test_422_for_bad_transition_input_leaves_the_application_alone(pending):
    app_id, _, recommender, officer, admin = pending
    with unchanged(admin, app_id):
        assert_error(recommender.fire(app_id, "recommend"), 422, "invalid_input",
                     details=lambda d: d == {"comment": ["required"]})
        assert_error(recommender.fire(app_id, "recommend", comment="同意", colour="red"), 422, "invalid_input",
                     details=lambda d: d == {"colour": ["Unknown field."]})
        assert_error(recommender.fire(app_id, "recommend", comment="同意", version="2"), 422, "invalid_input",
                     details=lambda d: "version" in d)


# --- 401 / 403 / 404 ----------------------------------------------------------------


def test_401_without_or_with_a_bad_token(pending, api):
    app_id, *_, admin = pending
    with unchanged(admin, app_id):
        for client in (api(), ApiClient(admin.client, "forged")):
            r = client.fire(app_id, "recommend", comment="同意")
            assert_error(r, 401, "not_authenticated")
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="fundflow"'
        assert_error(api().post("/tokens", json={"email": "nobody@example.cn", "password": "wrong password"}), 401,
                     "not_authenticated")


def test_403_names_who_may(pending):
    app_id, applicant, _, officer, admin = pending
    with unchanged(admin, app_id):
        body = assert_error(applicant.fire(app_id, "recommend", comment="自荐"), 403, "not_permitted",
                            details=lambda d: d == {"roles": ["recommender"]})
        assert "recommender" in body["message"] and "applicant" in body["message"]
        assert_error(officer.post("/calls", json={}), 403, "not_permitted")


def test_404_for_an_unknown_application(pending):
    app_id, applicant, _, officer, admin = pending
    for client in (applicant, officer, admin):
        assert_error(client.get("/applications/999999"), 404, "not_found")
        assert_error(client.fire(999999, "withdraw"), 404, "not_found")
        assert_error(client.get("/applications/999999/history"), 404, "not_found")
        assert_error(client.get("/applications/123456789012345678901234567890"), 404, "not_found")
    assert_error(admin.get("/nowhere"), 404, "not_found")


def test_ids_past_what_an_id_column_holds_name_nothing(pending):
    """Ids are INTEGER: 32 bits on PostgreSQL, which answers a bigger one with an error, not an empty result."""
    app_id, applicant, _, officer, admin = pending
    for too_big in (2**31, 2**63 - 1, 10**18 - 1):
        for path in (f"/applications/{too_big}", f"/applications/{too_big}/history", f"/documents/{too_big}",
                     f"/calls/{too_big}"):
            assert_error(officer.get(path), 404, "not_found")
        # a path that another method's rule shares (GET and PATCH /calls/{id}) is not found either, not 405
        assert_error(admin.patch(f"/calls/{too_big}", json={"title": "新的指南名称"}), 404, "not_found")
        assert_error(officer.fire(too_big, "withdraw"), 404, "not_found")
        body = assert_error(admin.post("/users", json={"email": "new.person@example.cn", "password": "a long "
                                                       "passphrase", "role": "applicant", "institution_id": too_big}),
                            422, "invalid_input")
        assert set(body["details"]) == {"institution_id"}
    assert officer.get(f"/applications/{app_id}").status_code == 200


def test_the_id_pattern_takes_exactly_the_numbers_an_id_column_holds():
    pattern = re.compile(digits_at_most(MAX_ROW_ID))
    draw = random.Random(31)
    numbers = [1, 9, 10, 99, 10**9 - 1, 10**9, MAX_ROW_ID - 1, MAX_ROW_ID, MAX_ROW_ID + 1, 2**32, 10**10]
    numbers += [draw.randrange(1, 10**11) for _ in range(20_000)]
    numbers += [draw.randrange(MAX_ROW_ID - 10**5, MAX_ROW_ID + 10**5) for _ in range(20_000)]
    assert [n for n in numbers if bool(pattern.fullmatch(str(n))) != (n <= MAX_ROW_ID)] == []
    assert not any(pattern.fullmatch(text) for text in ("0", "007", "-1", "", "1e3"))
    assert all(re.fullmatch(digits_at_most(limit), str(limit)) for limit in (1, 7, 10, 99, 100, 2024))


def test_404_for_an_unknown_trigger(pending):
    app_id, applicant, recommender, _, admin = pending
    with unchanged(admin, app_id):
        for client in (applicant, recommender):
            body = assert_error(client.fire(app_id, "fast_track", comment="急"), 404, "not_found",
                                details=lambda d: "recommend" in d["triggers"] and "submit" in d["triggers"])
            assert "fast_track" in body["message"]


def test_405_is_json_too(pending):
    app_id, *_, admin = pending
    r = admin.delete(f"/applications/{app_id}")
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


# --- 409 --------------------------------------------------------------------------


def test_409_for_a_trigger_the_state_does_not_allow(pending):
    app_id, applicant, _, officer, admin = pending
    with unchanged(admin, app_id):
        body = assert_error(officer.fire(app_id, "approve", approved_amount=1_000_000), 409, "transition_refused")
        assert body["details"]["state"] == "pending_recommendation"
        assert set(body["details"]["allowed"]) == {"recommend", "decline_recommendation", "return_for_revision",
                                                   "withdraw"}
        assert "pending_recommendation" in body["message"]
        assert_error(applicant.fire(app_id, "submit"), 409, "transition_refused")


def test_409_for_a_stale_version(pending):
    app_id, applicant, recommender, _, admin = pending
    seen = recommender.get(f"/applications/{app_id}").json["version"]
    with unchanged(admin, app_id):
        body = assert_error(recommender.fire(app_id, "recommend", comment="同意", version=seen - 1), 409,
                            "stale_version", details=lambda d: d == {"version": seen})
        assert f"version {seen - 1}" in body["message"]
        assert_error(recommender.fire(app_id, "recommend", comment="同意", version=seen + 1), 409, "stale_version")
    r = recommender.fire(app_id, "recommend", comment="同意", version=seen)
    assert r.status_code == 200 and r.json["version"] == seen + 1, r.json
    # The other side of the race: the applicant saw the version before the recommendation.
    with unchanged(admin, app_id):
        assert_error(applicant.fire(app_id, "withdraw", version=seen), 409, "stale_version")


def test_409_for_a_stale_edit(factory, api):
    app, cast = factory.application("draft")
    client, admin = api(cast.applicant), api(factory.user("admin"))
    version = client.get(f"/applications/{app.id}").json["version"]
    r = client.patch(f"/applications/{app.id}", json={"title": "新标题", "version": version, "partners": [
        {"name": "Université de Strasbourg", "country": "FR", "kind": "university"}]})
    assert r.status_code == 200 and r.json["version"] == version + 1, r.json  # one edit, one version
    with unchanged(admin, app.id):
        assert_error(client.patch(f"/applications/{app.id}", json={"title": "旧标题", "version": version}), 409,
                     "stale_version", details=lambda d: d == {"version": version + 1})


# --- uploads ----------------------------------------------------------------------


@pytest.fixture
def draft(factory, api):
    app, cast = factory.application("draft")
    return app.id, api(cast.applicant), api(factory.user("admin"))


def test_413_for_an_oversized_attachment(app, draft):
    app_id, applicant, admin = draft
    app.config["MAX_UPLOAD_BYTES"] = 2048
    pdf = minimal_pdf("x")
    big = pdf[:20] + b"%" + b"x" * 3000 + b"\n" + pdf[20:]
    assert big.startswith(b"%PDF-") and len(big) > 2048
    with unchanged(admin, app_id):
        body = assert_error(upload(applicant, app_id, "proposal", big), 413, "too_large")
        assert "2 KB" in body["message"]
    assert applicant.get(f"/applications/{app_id}/attachments").json["items"] == []
    r = upload(applicant, app_id, "proposal", pdf)  # a small one still goes through
    assert r.status_code == 201 and r.json["size"] == len(pdf), r.json


def test_413_for_a_request_beyond_the_servers_limit(app, draft):
    app_id, applicant, admin = draft
    app.config["MAX_CONTENT_LENGTH"] = 4096
    with unchanged(admin, app_id):
        assert_error(upload(applicant, app_id, "proposal", minimal_pdf("x") + b" " * 8192), 413, "too_large")


def test_422_for_a_file_that_is_not_a_pdf(draft):
    app_id, applicant, admin = draft
    with unchanged(admin, app_id):
        for content in (b"PK\x03\x04 this is a zip", b"<html><body>proposal</body></html>",
                        b"%PDF-1.4\n truncated before its end", b"", b"%%EOF"):
            assert_error(upload(applicant, app_id, "proposal", content, "proposal.pdf"), 422, "invalid_input",
                         details=lambda d: list(d) == ["file"] and len(d["file"]) == 1)
    assert applicant.get(f"/applications/{app_id}/attachments").json["items"] == []


def test_422_for_an_unknown_attachment_kind_or_no_file(draft):
    app_id, applicant, admin = draft
    with unchanged(admin, app_id):
        assert_error(upload(applicant, app_id, "selfie"), 422, "invalid_input", details=lambda d: "kind" in d)
        r = applicant.client.post(f"/api/v1/applications/{app_id}/attachments", data={"kind": "proposal"},
                                  headers=applicant._headers(), content_type="multipart/form-data")
        assert_error(r, 422, "invalid_input", details=lambda d: d == {"file": ["required"]})


def test_409_for_an_attachment_the_state_does_not_take(draft):
    app_id, applicant, admin = draft
    with unchanged(admin, app_id):
        body = assert_error(upload(applicant, app_id, "final_report"), 409, "transition_refused")
        assert body["details"]["allowed_states"] == ["in_progress"]


# --- 429 --------------------------------------------------------------------------


def test_429_with_retry_after_after_repeated_failed_sign_ins(factory, api):
    user, neighbour = factory.user("applicant"), factory.user("applicant")
    anonymous = api()
    for _ in range(5):
        assert_error(anonymous.post("/tokens", json={"email": user.email, "password": "guess 123"}), 401,
                     "not_authenticated")
    for password in ("guess 456", PASSWORD):  # locked out: even the right password waits
        r = anonymous.post("/tokens", json={"email": user.email.upper(), "password": password})
        body = assert_error(r, 429, "too_many_attempts")
        retry = int(r.headers["Retry-After"])
        assert 0 < retry <= 15 * 60 and body["details"] == {"retry_after": retry}
    r = anonymous.post("/tokens", json={"email": neighbour.email, "password": PASSWORD})
    assert r.status_code == 201 and r.json["token"], r.json  # someone else is not locked out


def test_a_successful_sign_in_clears_earlier_failures(factory, api):
    user = factory.user("officer")
    anonymous = api()
    for _ in range(4):
        assert anonymous.post("/tokens", json={"email": user.email, "password": "wrong one"}).status_code == 401
    assert anonymous.post("/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 201
    for _ in range(4):
        assert anonymous.post("/tokens", json={"email": user.email, "password": "wrong one"}).status_code == 401
    assert anonymous.post("/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 201
