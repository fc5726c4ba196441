"""Every administrative change is an audit event naming what changed, before and after."""
from __future__ import annotations

from sqlalchemy import select

from workflow import db
from workflow.backup import backup
from workflow.models import Event


def last_event(app, subject: str | None = None) -> Event:
    with app.app_context():
        q = select(Event).order_by(Event.id.desc())
        if subject:
            q = q.where(Event.subject == subject)
        return db.session().scalars(q).first()


def test_user_creation_role_changes_and_deactivation_are_events(app, factory, api):
    admin = factory.user("admin")
    client = api(admin)
    body = factory.body()
    r = client.post("/users", json={"email": "li.ming@example.cn", "password": "a long passphrase", "name": "李明",
                                    "role": "reviewer"})
    assert r.status_code == 201
    uid = r.json["id"]
    e = last_event(app, "user")
    assert (e.subject_id, e.trigger, e.actor_id, e.role, e.application_id) == (uid, "create", admin.id, "admin", None)
    assert e.data == {"after": {"email": "li.ming@example.cn", "name": "李明", "role": "reviewer",
                                "institution_id": None, "body_id": None, "active": True}}
    assert "passphrase" not in str(e.data) and "password" not in e.data["after"]

    assert client.patch(f"/users/{uid}", json={"role": "recommender", "body_id": body.id}).status_code == 200
    e = last_event(app, "user")
    assert (e.trigger, e.data) == ("change_role", {"before": {"role": "reviewer", "body_id": None},
                                                   "after": {"role": "recommender", "body_id": body.id}})

    assert client.patch(f"/users/{uid}", json={"active": False}).status_code == 200
    e = last_event(app, "user")
    assert (e.trigger, e.data) == ("deactivate", {"before": {"active": True}, "after": {"active": False}})
    assert client.patch(f"/users/{uid}", json={"active": True, "name": "李明（复职）"}).status_code == 200
    e = last_event(app, "user")
    assert e.trigger == "activate" and e.data["before"] == {"name": "李明", "active": False}

    head = last_event(app).id
    assert client.patch(f"/users/{uid}", json={"role": "recommender"}).status_code == 200  # no change, no event
    assert last_event(app).id == head


def test_a_user_created_on_the_command_line_is_an_event_of_the_system(app, factory):
    user = factory.user("officer")
    e = last_event(app, "user")
    assert (e.subject_id, e.trigger, e.actor_id, e.role) == (user.id, "create", None, "system")


def test_institutions_bodies_and_bases_created_are_events(app, factory, api):
    admin = factory.user("admin")
    client = api(admin)
    inst = client.post("/institutions", json={"name": "新研究所", "kind": "institute"}).json
    e = last_event(app, "institutions")
    assert (e.subject_id, e.trigger, e.actor_id) == (inst["id"], "create", admin.id)
    assert e.data["after"]["name"] == "新研究所"
    body = client.post("/bodies", json={"name": "驻智利使馆科技处", "channel": "embassy", "kind": "embassy_section"}).json
    assert last_event(app, "bodies").subject_id == body["id"]
    base = client.post("/bases", json={"name": "中智天文联合研究中心", "kind": "joint_research_center",
                                       "institution_id": inst["id"]}).json
    e = last_event(app, "bases")
    assert e.subject_id == base["id"] and e.data["after"]["institution_id"] == inst["id"]


def test_call_changes_and_retirement_name_before_and_after(app, factory, api):
    admin, call = factory.user("admin"), factory.call()
    client = api(admin)
    assert client.patch(f"/calls/{call.id}", json={"quorum": 5, "title": "2027年度指南"}).status_code == 200
    e = last_event(app, "calls")
    assert (e.subject_id, e.trigger, e.actor_id) == (call.id, "update", admin.id)
    assert e.data == {"before": {"quorum": 3, "title": call.title}, "after": {"quorum": 5, "title": "2027年度指南"}}
    assert client.patch(f"/calls/{call.id}", json={"retired": True}).status_code == 200
    e = last_event(app, "calls")
    assert (e.trigger, e.data) == ("retire", {"before": {"retired": False}, "after": {"retired": True}})


def test_exports_are_events(app, factory, api, tmp_path):
    admin = factory.user("admin")
    r = api(admin).get("/audit/events?format=csv")
    assert r.status_code == 200
    e = last_event(app, "audit")
    assert (e.trigger, e.actor_id, e.data["format"]) == ("export", admin.id, "csv")
    head = last_event(app).id
    manifest = backup(app, tmp_path / "fundflow.tar.gz")
    e = last_event(app, "backup")
    assert (e.id, e.trigger, e.role, e.subject_id) == (head + 1, "backup", "system", head)
    assert e.data == {"file": "fundflow.tar.gz", "up_to_event": head}
    assert manifest["audit_head"][0] == e.id  # the backup holds its own event
