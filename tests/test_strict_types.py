"""Strict JSON types: 0, 1 and "true" are not booleans, and "90" is not a score. Each is refused at its field and
changes nothing, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from marshmallow import Schema, fields
from sqlalchemy import text

from workflow import schemas
from workflow.models import Body
from workflow.services import applications as app_svc
from workflow.services.transitions import fire

from .conftest import ApiClient
from .factories import Factory, snapshot

NOT_BOOLEANS = [0, 1, "true", "false", 1.0, "yes"]


@pytest.fixture
def world(app):
    factory = Factory(app)

    def api(actor):
        return ApiClient(app.test_client(), factory.token(actor))

    return factory, api


def _row(factory, sql: str, **params):
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return tuple(c.execute(text(sql), params).one())


def _head(factory) -> int:
    return _row(factory, "SELECT coalesce(max(id), 0) FROM events")[0]


def _refused_at(response, field: str) -> None:
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["details"], response.get_json()


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_the_boolean_fields_of_the_api_refuse_what_is_not_a_boolean(world, value):
    factory, api = world
    application, cast = factory.application("draft")
    applicant, admin = api(cast.applicant), api(factory.user("admin"))
    officer = api(factory.user("officer"))
    expert, call = factory.expert(), factory.call()
    before = (snapshot(factory, application.id), _head(factory),
              _row(factory, "SELECT active FROM users WHERE id = :u", u=cast.applicant.id),
              _row(factory, "SELECT retired FROM calls WHERE id = :c", c=call.id),
              _row(factory, "SELECT active FROM expert_profiles WHERE user_id = :u", u=expert.id))

    _refused_at(applicant.patch(f"/applications/{application.id}", json={"sensitive_technology": value}),
                "sensitive_technology")
    data = factory.application_data(call, factory.get(Body, cast.recommender.body_id),
                                    sensitive_technology=value)
    _refused_at(applicant.post("/applications", json=data), "sensitive_technology")
    _refused_at(admin.patch(f"/users/{cast.applicant.id}", json={"active": value}), "active")
    _refused_at(admin.patch(f"/calls/{call.id}", json={"retired": value}), "retired")
    _refused_at(officer.patch(f"/reviewers/{expert.id}", json={"active": value}), "active")

    after = (snapshot(factory, application.id), _head(factory),
             _row(factory, "SELECT active FROM users WHERE id = :u", u=cast.applicant.id),
             _row(factory, "SELECT retired FROM calls WHERE id = :c", c=call.id),
             _row(factory, "SELECT active FROM expert_profiles WHERE user_id = :u", u=expert.id))
    assert after == before
    assert _row(factory, "SELECT count(*) FROM applications")[0] == 1


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_the_sensitive_flag_refuses_what_is_not_a_boolean(world, value):
    factory, api = world
    application, cast = factory.application("formal_review")
    before = snapshot(factory, application.id)
    _refused_at(api(cast.officer).post(f"/applications/{application.id}/sensitive",
                                       json={"flagged": value, "comment": "涉及敏感技术领域。"}), "flagged")
    assert snapshot(factory, application.id) == before


def test_a_real_boolean_is_still_taken(world):
    factory, api = world
    application, cast = factory.application("draft")
    r = api(cast.applicant).patch(f"/applications/{application.id}", json={"sensitive_technology": True})
    assert r.status_code == 200 and r.get_json()["sensitive_technology"] is True


@pytest.mark.parametrize("scores, field", [
    ({"fit": "16", "cooperation": 14, "innovation": 24, "feasibility": 12, "outcomes": 9}, "scores.fit"),
    ({"fit": 16, "cooperation": 14, "innovation": True, "feasibility": 12, "outcomes": 9}, "scores.innovation"),
])
def test_a_criterion_score_sent_as_text_or_a_boolean_is_refused(world, scores, field):
    factory, api = world
    call = factory.rubric_call()
    application, cast = factory.application("expert_review", call=call)
    with factory.app.app_context():
        review = app_svc.assign_reviewer(cast.officer, application.id, cast.reviewers[0].id)
        fire(cast.reviewers[0], "review", review.id, "declare_no_conflict")
    before = snapshot(factory, application.id, "review", review.id)
    r = api(cast.reviewers[0]).post(
        f"/applications/{application.id}/reviews/{review.id}/transitions/submit_review",
        json={"scores": scores, "opinion": "合作基础扎实。", "recommendation": "fund"})
    _refused_at(r, field)
    assert snapshot(factory, application.id, "review", review.id) == before


@pytest.mark.parametrize("score", ["90", True, "90.5"])
def test_a_single_score_sent_as_text_is_refused(world, score):
    factory, api = world
    application, cast = factory.application("expert_review")
    with factory.app.app_context():
        review = app_svc.assign_reviewer(cast.officer, application.id, cast.reviewers[0].id)
        if review.workflow_version >= 2:
            fire(cast.reviewers[0], "review", review.id, "declare_no_conflict")
    before = snapshot(factory, application.id, "review", review.id)
    r = api(cast.reviewers[0]).post(
        f"/applications/{application.id}/reviews/{review.id}/transitions/submit_review",
        json={"score": score, "opinion": "合作基础扎实。", "recommendation": "fund"})
    _refused_at(r, "score")
    assert snapshot(factory, application.id, "review", review.id) == before


def _input_schemas():
    """Every schema the JSON API loads a body with (query-string schemas parse text, and are left out)."""
    for name in dir(schemas):
        cls = getattr(schemas, name)
        if isinstance(cls, type) and issubclass(cls, schemas.Strict) and not name.endswith("Query"):
            yield name, cls


def test_every_boolean_a_body_may_carry_is_strict():
    seen = 0
    for name, cls in _input_schemas():
        for field_name, field in cls().fields.items():
            if isinstance(field, fields.Boolean) and not field.dump_only:
                seen += 1
                assert isinstance(field, schemas.StrictBool), f"{name}.{field_name} is a lax Boolean"
                for value in NOT_BOOLEANS:
                    errors = _errors(cls, field_name, value)
                    assert field_name in errors, f"{name}.{field_name} took {value!r}"
    assert seen >= 5  # the walk found the booleans


def _errors(cls: type[Schema], field_name: str, value) -> dict:
    from marshmallow import ValidationError

    try:
        cls().load({cls().fields[field_name].data_key or field_name: value}, partial=True)
    except ValidationError as err:
        return err.messages
    return {}
