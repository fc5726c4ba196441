"""The registry's institutions, recommending bodies and bases: changed and retired, never deleted (DESIGN §5).

Through the API as an administrator would use it, on SQLite and PostgreSQL: each change is an event naming
what changed before and after (`update`, or `retire`); bad input is refused at its field and changes nothing;
other roles are refused. What retiring means elsewhere is in tests/test_retired.py.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from workflow.models import Body, CooperationBase, Institution

from .factories import events_after

KINDS = {  # the path under /api/v1, a new row's fields, a change of each kind of field
    "institutions": ({"name": "中国科学院大连化学物理研究所", "name_en": "Dalian Institute of Chemical Physics, CAS",
                      "kind": "institute", "province": "辽宁"},
                     {"name_en": "DICP, CAS", "kind": "enterprise", "province": None}),
    "bodies": ({"name": "中国驻德国使馆科技处", "name_en": "S&T Section, Embassy of China in Germany",
                "channel": "embassy", "kind": "embassy_section"},
               {"name": "中国驻德意志联邦共和国使馆科技处", "kind": "bilateral_commission", "channel": "inter_agency"}),
    "bases": ({"name": "中德可再生能源联合研究中心", "name_en": "Sino-German Renewable Energy Research Center",
               "kind": "joint_research_center"},
              {"kind": "technology_transfer_center", "name_en": None}),
}
TABLES = {"institutions": "institutions", "bodies": "bodies", "bases": "bases"}


def head(factory) -> int:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar()


def data_of(event: dict) -> dict:
    return event["data"] if isinstance(event["data"], dict) else json.loads(event["data"])


def row_of(factory, table: str, row_id: int) -> dict:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return dict(c.execute(text(f"SELECT * FROM {table} WHERE id = :i"), {"i": row_id}).mappings().one())


@pytest.fixture
def admin(factory, api):
    return api(factory.user("admin"))


def made(admin, kind: str) -> dict:
    r = admin.post(f"/{kind}", json=KINDS[kind][0])
    assert r.status_code == 201, r.json
    return r.json


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_is_an_event_naming_only_what_changed(kind, factory, admin):
    row = made(admin, kind)
    change = KINDS[kind][1]
    since = head(factory)
    r = admin.patch(f"/{kind}/{row['id']}", json=change)
    assert r.status_code == 200, r.json
    assert {k: r.json[k] for k in change} == change
    [event] = events_after(factory, since)
    assert (event["subject"], event["subject_id"], event["trigger"], event["application_id"]) == (
        kind, row["id"], "update", None)
    assert data_of(event) == {"before": {k: row[k] for k in change}, "after": change}


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_changed_is_no_event(kind, factory, admin):
    row = made(admin, kind)
    since = head(factory)
    same = {k: row[k] for k in KINDS[kind][1]}
    for body in (same, {}, {"retired": False}):
        r = admin.patch(f"/{kind}/{row['id']}", json=body)
        assert r.status_code == 200 and r.json == row, body
    assert events_after(factory, since) == []


@pytest.mark.parametrize("kind", KINDS)
def test_retiring_is_said_as_such_and_reinstating_is_an_update(kind, factory, admin):
    row = made(admin, kind)
    since = head(factory)
    r = admin.patch(f"/{kind}/{row['id']}", json={"retired": True})
    assert r.status_code == 200 and r.json["retired"] is True
    assert row_of(factory, TABLES[kind], row["id"])["name"] == row["name"]  # kept, not deleted
    r = admin.patch(f"/{kind}/{row['id']}", json={"retired": True})  # again: nothing changes
    r = admin.patch(f"/{kind}/{row['id']}", json={"retired": False})
    assert r.status_code == 200 and r.json["retired"] is False
    retire, reinstate = events_after(factory, since)
    assert (retire["trigger"], reinstate["trigger"]) == ("retire", "update")
    assert [data_of(retire), data_of(reinstate)] == [{"before": {"retired": False}, "after": {"retired": True}},
                    {"before": {"retired": True}, "after": {"retired": False}}]


@pytest.mark.parametrize("kind", KINDS)
def test_the_lists_leave_retired_rows_out_unless_an_admin_asks(kind, factory, api, admin):
    kept, retired = made(admin, kind), admin.post(f"/{kind}", json={**KINDS[kind][0], "name": "已停用的一行"}).json
    assert admin.patch(f"/{kind}/{retired['id']}", json={"retired": True}).status_code == 200
    ids = lambda r: {item["id"] for item in r.json["items"]}  # noqa: E731
    for who in (admin, api(factory.user("applicant")), api(factory.user("officer"))):
        r = who.get(f"/{kind}")
        assert r.status_code == 200 and kept["id"] in ids(r) and retired["id"] not in ids(r)
    for flag in ("1", "true"):
        r = admin.get(f"/{kind}?include_retired={flag}")
        assert r.status_code == 200 and {kept["id"], retired["id"]} <= ids(r)
        assert next(i for i in r.json["items"] if i["id"] == retired["id"])["retired"] is True
    assert retired["id"] not in ids(admin.get(f"/{kind}?include_retired=0"))
    for role in ("applicant", "recommender", "reviewer", "officer"):
        r = api(factory.user(role)).get(f"/{kind}?include_retired=1")
        assert r.status_code == 403 and "include_retired" in r.json["details"], (role, r.json)
    r = admin.get(f"/{kind}?include_retired=yes")
    assert r.status_code == 422 and "include_retired" in r.json["details"]
    r = admin.get(f"/{kind}?retired=1")
    assert r.status_code == 422 and "retired" in r.json["details"]


def test_the_bodies_list_still_filters_by_channel(factory, admin):
    embassy = made(admin, "bodies")
    other = admin.post("/bodies", json={"name": "科技部国际合作司", "channel": "inter_agency",
                                        "kind": "ministry_department"}).json
    items = admin.get("/bodies?channel=embassy&include_retired=1").json["items"]
    assert embassy["id"] in {b["id"] for b in items} and other["id"] not in {b["id"] for b in items}
    r = admin.get("/bodies?channel=moon")
    assert r.status_code == 422 and "channel" in r.json["details"]


# --- bad input: at the field, nothing changed ---------------------------------------------------------

BAD = [
    ("institutions", {"unknown": 1}, "unknown"),
    ("institutions", {"kind": "castle"}, "kind"),
    ("institutions", {"kind": None}, "kind"),
    ("institutions", {"name": ""}, "name"),
    ("institutions", {"name": None}, "name"),
    ("institutions", {"name": 5}, "name"),
    ("institutions", {"name": "名" * 201}, "name"),
    ("institutions", {"province": "省" * 61}, "province"),
    ("institutions", {"name": "研究所\x00"}, "name"),
    ("institutions", {"id": 7}, "id"),
    ("bodies", {"channel": "moon"}, "channel"),
    ("bodies", {"kind": "ministry"}, "kind"),
    ("bodies", {"channel": None}, "channel"),
    ("bodies", {"name_en": ["S&T"]}, "name_en"),
    ("bases", {"kind": "park"}, "kind"),
    ("bases", {"institution_id": "1"}, "institution_id"),
    ("bases", {"institution_id": 0}, "institution_id"),
    ("bases", {"institution_id": 2**63}, "institution_id"),
    ("bases", {"institution_id": 999_999}, "institution_id"),
    ("bases", {"institution_id": True}, "institution_id"),
]
NOT_BOOLEANS = [0, 1, "true", "false", 1.0, "yes", None]


def _refused_at(r, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.get_json())
    assert field in r.json["details"], r.json


@pytest.mark.parametrize("kind, body, field", BAD)
def test_bad_input_is_refused_at_the_field_and_changes_nothing(kind, body, field, factory, admin):
    row = made(admin, kind)
    before, since = row_of(factory, TABLES[kind], row["id"]), head(factory)
    _refused_at(admin.patch(f"/{kind}/{row['id']}", json=body), field)
    assert row_of(factory, TABLES[kind], row["id"]) == before and head(factory) == since


@pytest.mark.parametrize("value", NOT_BOOLEANS)
@pytest.mark.parametrize("kind", KINDS)
def test_retired_takes_only_a_boolean(kind, value, factory, admin):
    row = made(admin, kind)
    before, since = row_of(factory, TABLES[kind], row["id"]), head(factory)
    _refused_at(admin.patch(f"/{kind}/{row['id']}", json={"retired": value}), "retired")
    assert row_of(factory, TABLES[kind], row["id"]) == before and head(factory) == since


@pytest.mark.parametrize("kind", KINDS)
def test_a_name_another_row_has_is_refused_at_the_field(kind, factory, admin):
    row = made(admin, kind)
    other = admin.post(f"/{kind}", json={**KINDS[kind][0], "name": "另一个名称"}).json
    before, since = row_of(factory, TABLES[kind], other["id"]), head(factory)
    r = admin.patch(f"/{kind}/{other['id']}", json={"name": row["name"], "name_en": "changed too"})
    _refused_at(r, "name")
    assert r.json["details"]["name"] == ["already exists"]
    assert row_of(factory, TABLES[kind], other["id"]) == before and head(factory) == since
    admin.patch(f"/{kind}/{row['id']}", json={"retired": True})  # a retired row keeps its name to itself
    _refused_at(admin.patch(f"/{kind}/{other['id']}", json={"name": row["name"]}), "name")
    assert admin.patch(f"/{kind}/{row['id']}", json={"name": row["name"]}).status_code == 200  # its own name


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_row_is_404_and_other_roles_are_refused(kind, factory, api, admin):
    row = made(admin, kind)
    r = admin.patch(f"/{kind}/999999", json={"name_en": "x"})
    assert r.status_code == 404 and r.json["error"] == "not_found"
    others = {role: api(factory.user(role)) for role in ("applicant", "recommender", "reviewer", "officer")}
    before, since = row_of(factory, TABLES[kind], row["id"]), head(factory)
    for role, client in others.items():
        for body in ({"retired": True}, {"name_en": "changed"}, {"bogus": 1}):
            r = client.patch(f"/{kind}/{row['id']}", json=body)
            assert r.status_code == 403 and r.json["error"] == "not_permitted", (role, r.json)
    assert api().patch(f"/{kind}/{row['id']}", json={"retired": True}).status_code == 401
    assert row_of(factory, TABLES[kind], row["id"]) == before
    assert events_after(factory, since) == []


def test_a_base_moves_only_to_an_institution_that_is_not_retired(factory, admin):
    host, old = made(admin, "institutions"), admin.post("/institutions", json={"name": "旧依托单位",
                                                                               "kind": "university"}).json
    base = admin.post("/bases", json={**KINDS["bases"][0], "institution_id": old["id"]}).json
    admin.patch(f"/institutions/{old['id']}", json={"retired": True})
    admin.patch(f"/institutions/{host['id']}", json={"retired": True})
    r = admin.patch(f"/bases/{base['id']}", json={"institution_id": host["id"]})
    _refused_at(r, "institution_id")
    assert r.json["details"]["institution_id"] == ["retired: choose another institution"]
    assert "旧依托单位" not in r.json["message"] and KINDS["institutions"][0]["name"] in r.json["message"]
    # ... and keeps the retired one it has while something else of it changes
    r = admin.patch(f"/bases/{base['id']}", json={"institution_id": old["id"], "name_en": "Renamed"})
    assert r.status_code == 200 and r.json["institution_id"] == old["id"]
    _refused_at(admin.post("/bases", json={"name": "新基地", "kind": "innovation_park",
                                           "institution_id": old["id"]}), "institution_id")


def test_a_bodys_channel_changes_only_while_no_application_names_it(factory, admin):
    application, cast = factory.application("pending_recommendation")
    body_id = cast.recommender.body_id
    before, since = row_of(factory, "bodies", body_id), head(factory)
    r = admin.patch(f"/bodies/{body_id}", json={"channel": "embassy"})
    _refused_at(r, "channel")
    assert r.json["message"] == "applications name this body under its channel (1 in all)"
    assert row_of(factory, "bodies", body_id) == before and head(factory) == since
    assert admin.patch(f"/bodies/{body_id}", json={"kind": "ministry_department"}).status_code == 200
    unused = made(admin, "bodies")
    r = admin.patch(f"/bodies/{unused['id']}", json={"channel": "ministry_province"})
    assert r.status_code == 200 and r.json["channel"] == "ministry_province"


def test_the_services_refuse_anyone_but_an_administrator(app, factory):
    """The access table refuses other roles at the route; the services refuse them too."""
    from workflow.errors import NotPermitted
    from workflow.services import registry

    officer = factory.user("officer")
    rows = {Institution: factory.institution(), Body: factory.body(), CooperationBase: factory.base()}
    with app.app_context():
        for update, model in ((registry.update_institution, Institution), (registry.update_body, Body),
                              (registry.update_base, CooperationBase)):
            with pytest.raises(NotPermitted):
                update(officer, rows[model].id, {"retired": True})
            assert factory.get(model, rows[model].id).retired is False
