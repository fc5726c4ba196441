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
