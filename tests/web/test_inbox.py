"""The notice inbox: every user's own notices, unread ones marked, marking read."""
from __future__ import annotations

from sqlalchemy import select

from workflow import db
from workflow.models import Notice


def notices_of(app, user_id: int) -> list[Notice]:
    with app.app_context():
        return list(db.session().scalars(select(Notice).where(Notice.user_id == user_id).order_by(Notice.id)))


def test_the_inbox_lists_the_users_notices_unread_marked_with_links(pages, factory, app):
    application, cast = factory.application("revision_requested")
    mine = notices_of(app, cast.applicant.id)
    assert mine, "the lifecycle should have sent the applicant notices"
    html = pages(cast.applicant).get("/inbox").get_data(as_text=True)
    for notice in mine:
        assert notice.subject in html
    assert "退回修改：" in html and "/ Revision requested" in html  # bilingual, as stored
    assert html.count('class="ff-notice ff-unread"') == len(mine)
    assert f'href="/applications/{application.id}"' in html
    assert f"未读：{len(mine)} 条" in html
    # newest first
    assert html.index(mine[-1].subject) <= html.index(mine[0].subject)


def test_nobody_sees_anothers_notices(pages, factory, app):
    _, cast = factory.application("revision_requested")
    theirs = notices_of(app, cast.applicant.id)
    html = pages(factory.user("applicant")).get("/inbox").get_data(as_text=True)
    assert "暂无通知" in html
    assert all(n.subject not in html for n in theirs)


def test_marking_a_notice_read(pages, factory, app):
    _, cast = factory.application("revision_requested")
    first, *rest = notices_of(app, cast.applicant.id)
    client = pages(cast.applicant)
    response = client.post(f"/inbox/{first.id}/read?next=/inbox")
    assert response.status_code == 303 and response.headers["Location"] == "/inbox"
    assert notices_of(app, cast.applicant.id)[0].read_at is not None
    assert all(n.read_at is None for n in notices_of(app, cast.applicant.id)[1:])
    html = client.get("/inbox").get_data(as_text=True)
    assert "已读于" in html and html.count('class="ff-notice ff-unread"') == len(rest)
    unread = client.get("/inbox?unread=1").get_data(as_text=True)
    assert f'action="/inbox/{first.id}/read' not in unread
    # marking it again changes nothing and still lands back
    read_at = notices_of(app, cast.applicant.id)[0].read_at
    again = client.post(f"/inbox/{first.id}/read")
    assert again.status_code == 303 and again.headers["Location"] == "/inbox"
    assert notices_of(app, cast.applicant.id)[0].read_at == read_at


def test_anothers_notice_answers_404_and_stays_unread(pages, factory, app):
    _, cast = factory.application("revision_requested")
    notice = notices_of(app, cast.applicant.id)[0]
    response = pages(factory.user("applicant")).post(f"/inbox/{notice.id}/read")
    assert response.status_code == 404
    assert notices_of(app, cast.applicant.id)[0].read_at is None


def test_marking_read_needs_the_csrf_token_and_a_post(pages, factory, app):
    _, cast = factory.application("revision_requested")
    notice = notices_of(app, cast.applicant.id)[0]
    client = pages(cast.applicant)
    assert client.post(f"/inbox/{notice.id}/read", csrf=False).status_code == 400
    assert client.get(f"/inbox/{notice.id}/read").status_code == 405
    assert notices_of(app, cast.applicant.id)[0].read_at is None


def test_the_inbox_needs_sign_in(pages):
    response = pages().get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_role_has_an_inbox(pages, factory):
    for role in ("applicant", "recommender", "reviewer", "officer", "admin"):
        assert pages(factory.user(role)).get("/inbox").status_code == 200


def test_the_inbox_in_english(pages, factory, app):
    _, cast = factory.application("revision_requested")
    html = pages(cast.applicant, "en").get("/inbox").get_data(as_text=True)
    assert "Inbox" in html and "Mark as read" in html and "Open the application" in html
    assert 'lang="en"' in html and "标为已读" not in html
