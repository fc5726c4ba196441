"""Input no database can store, bodies too big or too deep: a 4xx with a field message, never a 500."""
from __future__ import annotations

import json

import pytest

from workflow.api.common import MAX_JSON_DEPTH


@pytest.mark.parametrize("text", ["中德\x00合作", "lone \ud800 surrogate", "\udfff"])
def test_unstorable_text_is_refused_at_its_field_and_changes_nothing(factory, api, text):
    application, cast = factory.application("draft")
    client = api(cast.applicant)
    before = client.get(f"/applications/{application.id}").json
    response = client.client.patch(f"/api/v1/applications/{application.id}",
                                   data=json.dumps({"title": text}), content_type="application/json",
                                   headers=client._headers())
    assert response.status_code == 422, response.json
    assert response.json["details"] == {"title": ["contains a NUL byte or an invalid character"]}
    after = client.get(f"/applications/{application.id}").json
    assert (after["title"], after["version"]) == (before["title"], before["version"])


def test_unstorable_text_in_nested_fields_names_the_path(factory, api):
    application, cast = factory.application("draft")
    client = api(cast.applicant)
    response = client.patch(f"/applications/{application.id}",
                            json={"partners": [{"name": "Fraunhofer\x00", "country": "DE", "kind": "institute"}]})
    assert response.status_code == 422
    assert "partners.0.name" in response.json["details"]


def test_sign_in_with_a_surrogate_is_refused_not_crashed(api):
    client = api()
    response = client.client.post("/api/v1/tokens", data='{"email": "a\\ud800@x.cn", "password": "x"}',
                                  content_type="application/json")
    assert response.status_code == 422 and "email" in response.json["details"]


def test_deeply_nested_json_is_a_400(factory, api):
    application, cast = factory.application("draft")
    deep = "[" * 100_000 + "]" * 100_000
    response = api(cast.applicant).client.patch(
        f"/api/v1/applications/{application.id}", data=f'{{"partners": {deep}}}',
        content_type="application/json", headers=api(cast.applicant)._headers())
    assert response.status_code == 400 and response.json["error"] == "bad_request"
    nested: list = []
    for _ in range(MAX_JSON_DEPTH + 1):
        nested = [nested]
    response = api(cast.applicant).patch(f"/applications/{application.id}", json={"partners": nested})
    assert response.status_code == 400


def test_a_json_body_over_one_megabyte_is_a_413_before_it_is_parsed(factory, api):
    application, cast = factory.application("draft")
    response = api(cast.applicant).patch(f"/applications/{application.id}", json={"summary": "x" * (1024 * 1024)})
    assert response.status_code == 413 and response.json["error"] == "too_large"


def test_a_score_sent_as_text_is_not_a_score(factory, api):
    application, cast = factory.application("expert_review")
    reviewer = cast.reviewers[0]
    assigned = api(cast.officer).post(f"/applications/{application.id}/reviews", json={"reviewer_id": reviewer.id})
    review_id = assigned.json["id"] if assigned.status_code == 201 else next(
        r["id"] for r in api(reviewer).get(f"/applications/{application.id}/reviews").json["items"])
    client = api(reviewer)
    for score in ("90", True):
        response = client.post(f"/applications/{application.id}/reviews/{review_id}/transitions/submit_review",
                               json={"score": score, "opinion": "合作基础扎实。", "recommendation": "fund"})
        assert response.status_code == 422 and "score" in response.json["details"], response.json


def test_an_empty_patch_changes_nothing(factory, api):
    application, cast = factory.application("draft")
    client = api(cast.applicant)
    before = client.get(f"/applications/{application.id}/history").json["items"]
    version = client.get(f"/applications/{application.id}").json["version"]
    response = client.patch(f"/applications/{application.id}", json={})
    assert response.status_code == 200 and response.json["version"] == version
    assert client.get(f"/applications/{application.id}/history").json["items"] == before
