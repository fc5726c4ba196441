"""A call's guide (申报指南) through the API: created, read, changed and refused at its field; and documented."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from .conftest import ApiClient
from .factories import Factory

GUIDE = "重点支持能源与资源、新材料与先进制造领域的政府间合作项目。\n申报单位须与外方签订合作协议。"
GUIDE_EN = "Intergovernmental projects in energy, resources and new materials come first."


@pytest.fixture
def world(app):
    factory = Factory(app)
    return factory, ApiClient(app.test_client(), factory.token(factory.user("admin")))


def _body(code: str, **extra) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    return {"code": code, "title": "2027年度国际科技合作专项", "opens_at": (now - dt.timedelta(days=1)).isoformat(),
            "closes_at": (now + dt.timedelta(days=60)).isoformat(), "total_budget": 80_000_000, **extra}


def _stored(factory, call_id: int):
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return tuple(c.execute(text("SELECT guide, guide_en FROM calls WHERE id = :c"), {"c": call_id}).one())


def _head(factory) -> int:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar()


def test_a_call_is_created_with_its_guide_and_read_back(world):
    factory, admin = world
    r = admin.post("/calls", json=_body("GJHZ-2027-G01", guide=GUIDE, guide_en=GUIDE_EN))
    assert r.status_code == 201, r.get_json()
    call = r.get_json()
    assert (call["guide"], call["guide_en"]) == (GUIDE, GUIDE_EN)
    assert _stored(factory, call["id"]) == (GUIDE, GUIDE_EN)
    got = admin.get(f"/calls/{call['id']}").get_json()
    assert (got["guide"], got["guide_en"]) == (GUIDE, GUIDE_EN)
    listed = next(c for c in admin.get("/calls").get_json()["items"] if c["id"] == call["id"])
    assert listed["guide"] == GUIDE
    # what the public page publishes is what the API wrote
    assert "申报单位须与外方签订合作协议。" in factory.app.test_client().get(
        f"/public/calls/{call['id']}").get_data(as_text=True)


def test_a_call_without_a_guide_answers_null(world):
    factory, admin = world
    call = admin.post("/calls", json=_body("GJHZ-2027-G02")).get_json()
    assert (call["guide"], call["guide_en"]) == (None, None)


def test_the_guide_is_changed_by_patch_recorded_and_cleared_by_blank(world):
    factory, admin = world
    call = admin.post("/calls", json=_body("GJHZ-2027-G03", guide=GUIDE)).get_json()
    head = _head(factory)
    r = admin.patch(f"/calls/{call['id']}", json={"guide_en": GUIDE_EN})
    assert r.status_code == 200 and r.get_json()["guide_en"] == GUIDE_EN and r.get_json()["guide"] == GUIDE
    assert _head(factory) == head + 1  # the change is an administrative event
    r = admin.patch(f"/calls/{call['id']}", json={"guide": "  \n ", "guide_en": None})
    assert r.status_code == 200 and (r.get_json()["guide"], r.get_json()["guide_en"]) == (None, None)
    assert _stored(factory, call["id"]) == (None, None)


@pytest.mark.parametrize("bad, field", [
    ({"guide": "指" * 20_001}, "guide"),
    ({"guide_en": 42}, "guide_en"),
    ({"guide": ["重点支持"]}, "guide"),
    ({"guide": "含有\x00的指南"}, "guide"),
])
def test_a_bad_guide_is_refused_at_its_field_and_changes_nothing(world, bad, field):
    factory, admin = world
    call = admin.post("/calls", json=_body("GJHZ-2027-G04", guide=GUIDE)).get_json()
    head = _head(factory)
    r = admin.patch(f"/calls/{call['id']}", json=bad)
    assert r.status_code == 422 and field in r.get_json()["details"], r.get_json()
    assert _stored(factory, call["id"]) == (GUIDE, None) and _head(factory) == head
    r = admin.post("/calls", json=_body("GJHZ-2027-G05", **bad))
    assert r.status_code == 422 and field in r.get_json()["details"], r.get_json()
    with factory.app.extensions["fundflow.engine"].connect() as c:
        assert c.execute(text("SELECT count(*) FROM calls WHERE code = 'GJHZ-2027-G05'")).scalar() == 0

