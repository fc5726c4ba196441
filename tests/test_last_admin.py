"""Nobody can deactivate or demote the last active administrator: through the API or the pages."""
from __future__ import annotations

from sqlalchemy import select

from workflow import db
from workflow.models import User


def _admin_row(factory, user_id):
    with factory.app.app_context():
        row = db.session().scalar(select(User).where(User.id == user_id))
        return row.role, row.active


def test_the_last_admin_cannot_be_deactivated_or_demoted_through_the_api(factory, api):
    admin = factory.user("admin")
    client = api(admin)
    for change, field in (({"active": False}, "active"), ({"role": "officer"}, "role")):
        response = client.patch(f"/users/{admin.id}", json=change)
        assert response.status_code == 422, response.json
        assert response.json["details"] == {field: ["the last active administrator"]}
        assert _admin_row(factory, admin.id) == ("admin", True)


def test_with_a_second_admin_either_may_step_down(factory, api):
    first, second = factory.user("admin"), factory.user("admin")
    response = api(first).patch(f"/users/{second.id}", json={"active": False})
    assert response.status_code == 200 and response.json["active"] is False
    # ... and now `first` is the last one.
    assert api(first).patch(f"/users/{first.id}", json={"role": "officer"}).status_code == 422


def test_the_admin_page_says_why_at_the_field_and_changes_nothing(factory, pages):
    admin = factory.user("admin")
    client = pages(admin)
    response = client.post(f"/admin/users/{admin.id}", {"name": "管理员", "role": "admin", "active": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "不能停用最后一位在用的系统管理员" in html and "最后一位在用的系统管理员" in html
    assert _admin_row(factory, admin.id) == ("admin", True)


def test_two_admins_stepping_down_at_once_leave_one(app, factory):
    """Each deactivates the other and themselves at the same moment: one admin always remains."""
    import threading

    from workflow.services import accounts

    first, second = factory.user("admin"), factory.user("admin")
    barrier, outcomes = threading.Barrier(2), []

    def step_down(user_id):
        with app.app_context():
            barrier.wait()
            try:
                accounts.update_user(user_id, {"active": False})
                outcomes.append("done")
            except Exception as err:  # the refusal is expected for one of them, and nothing else
                outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=step_down, args=(u.id,)) for u in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["InvalidInput", "done"]
    assert sum(_admin_row(factory, u.id)[1] for u in (first, second)) == 1
