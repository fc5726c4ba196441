"""The reviewer pool through the API: experts, load and history, the CSV import, suggestions, replacement,
and bulk assignment of suggested reviewers."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select, text

from workflow import db
from workflow.models import Application, Event, Institution, Notice, Outbox, Review, User
from workflow.services import conflicts

from .conftest import ApiClient
from .factories import Factory


@pytest.fixture
def world(app):
    factory = Factory(app)

    def api(actor):
        return ApiClient(app.test_client(), factory.token(actor))

    return factory, api


def _count(factory, sql: str, **params) -> int:
    with factory.app.extensions["fundflow.engine"].connect() as c:
        return c.execute(text(sql), params).scalar()


def _head(factory) -> int:
    return _count(factory, "SELECT coalesce(max(id), 0) FROM events")


# --- the pool ---------------------------------------------------------------------------------


def test_an_officer_adds_an_expert_and_it_is_recorded(factory, api):
    officer = api(factory.user("officer"))
    inst = factory.institution("institute", name="中国科学院大连化学物理研究所")
    r = officer.post("/reviewers", json={"email": "Wang.Hua@dicp.ac.cn", "name": "王华", "institution_id": inst.id,
                                         "fields": ["energy_resources"], "country": "CN", "languages": ["zh", "en"],
                                         "title": "研究员"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["email"], body["fields"], body["active"], body["load"]) == ("wang.hua@dicp.ac.cn",
                                                                            ["energy_resources"], True, 0)
    with factory.app.app_context():
        event = db.session().scalars(select(Event).order_by(Event.id.desc())).first()
        assert (event.subject, event.subject_id, event.trigger, event.application_id) == (
            "expert", body["id"], "create", None)
        assert db.session().get(User, body["id"]).role == "reviewer"
    head = _head(factory)
    again = officer.post("/reviewers", json={"email": "wang.hua@dicp.ac.cn", "name": "王华", "institution_id": inst.id,
                                             "fields": ["energy_resources"]})
    assert again.status_code == 422 and again.get_json()["details"] == {"email": ["already registered"]}
    assert _head(factory) == head


@pytest.mark.parametrize("body, field", [
    ({"fields": []}, "fields"),
    ({"fields": ["astrology"]}, "fields"),
    ({"country": "XX"}, "country"),
    ({"languages": ["klingon"]}, "languages"),
    ({"institution_id": 999999}, "institution_id"),
])
def test_a_bad_expert_is_refused_at_the_field(factory, api, body, field):
    officer = api(factory.user("officer"))
    inst = factory.institution()
    data = {"email": "e@example.cn", "name": "专家", "institution_id": inst.id, "fields": ["energy_resources"], **body}
    head = _head(factory)
    r = officer.post("/reviewers", json=data)
    assert r.status_code == 422 and field in r.get_json()["details"], r.get_json()
    assert _head(factory) == head and _count(factory, "SELECT count(*) FROM users WHERE email = 'e@example.cn'") == 0


@pytest.mark.parametrize("role", ["applicant", "recommender", "reviewer"])
def test_only_the_funds_staff_manage_the_pool(factory, api, role):
    client = api(factory.user(role))
    assert client.get("/reviewers").status_code == 403
    assert client.post("/reviewers", json={}).status_code == 403


def test_the_pool_filters_and_shows_load_and_history(world):
    factory, api = world
    officer_actor = factory.user("officer")
    officer = api(officer_actor)
    energy = factory.expert(fields=("energy_resources",), country="DE", languages=("de", "en"))
    farm = factory.expert(fields=("modern_agriculture", "food_security"), country="CN", languages=("zh",))
    idle = factory.expert(fields=("energy_resources",), active=False)
    application, cast = factory.application("expert_review")
    late = api(cast.officer).post(f"/applications/{application.id}/reviews", json={"reviewer_id": energy.id})
    with factory.app.extensions["fundflow.engine"].begin() as c:  # its due date has passed: late and still open
        c.execute(text("UPDATE reviews SET due_date = :d WHERE id = :r"),
                  {"d": dt.date.today() - dt.timedelta(days=2), "r": late.get_json()["id"]})

    def ids(query: str) -> set[int]:
        r = officer.get(f"/reviewers{query}")
        assert r.status_code == 200, r.get_json()
        return {e["id"] for e in r.get_json()["items"]}

    assert {energy.id, idle.id} <= ids("?field=energy_resources") and farm.id not in ids("?field=energy_resources")
    assert ids("?country=DE") == {energy.id}
    assert farm.id in ids("?language=zh") and energy.id not in ids("?language=zh")
    assert idle.id in ids("?active=false") and idle.id not in ids("?active=true")
    assert officer.get("/reviewers?field=astrology").status_code == 422
    row = next(e for e in officer.get("/reviewers?country=DE").get_json()["items"])
    assert row["load"] == 1 and row["history"] == {"submitted": 0, "declined": 0, "late": 1}
    one = officer.get(f"/reviewers/{energy.id}").get_json()
    assert one["load"] == 1 and [r["application_id"] for r in one["reviews"]] == [application.id]


def test_an_inactive_expert_is_refused_and_nothing_changes(factory, api):
    application, cast = factory.application("expert_review")
    officer = api(cast.officer)
    expert = factory.expert()
    patched = officer.patch(f"/reviewers/{expert.id}", json={"active": False, "languages": ["zh", "fr"]})
    assert patched.status_code == 200 and patched.get_json()["active"] is False
    with factory.app.app_context():
        event = db.session().scalars(select(Event).order_by(Event.id.desc())).first()
        assert (event.subject, event.trigger, event.data) == ("expert", "edit",
                                                              {"active": False, "languages": ["zh", "fr"]})
    head = _head(factory)
    r = officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": expert.id})
    assert r.status_code == 422 and r.get_json()["details"] == {"reviewer_id": ["not active in the reviewer pool"]}
    assert _head(factory) == head and factory.reload(application.id).reviews == []


def test_an_expert_already_on_the_panel_is_refused(factory, api):
    application, cast = factory.application("expert_review")
    officer = api(cast.officer)
    expert = factory.expert()
    assert officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": expert.id}).status_code == 201
    head = _head(factory)
    r = officer.post(f"/applications/{application.id}/reviews", json={"reviewer_id": expert.id})
    assert r.status_code == 409 and r.get_json()["details"] == {"reviewer_id": ["already assigned"]}
    assert _head(factory) == head and len(factory.reload(application.id).reviews) == 1


# --- the CSV import -------------------------------------------------------------------------


def _csv(client, content: str):
    return client.client.post("/api/v1/reviewers/import", headers=client._headers(),
                              data={"file": (io.BytesIO(content.encode("utf-8-sig")), "experts.csv")},
                              content_type="multipart/form-data")


def test_a_good_csv_imports_every_expert(factory, api):
    officer = api(factory.user("officer"))
    factory._add(Institution(name="中国农业大学", name_en="China Agricultural University", kind="university"))
    ise = factory._add(Institution(name="弗劳恩霍夫太阳能系统研究所", name_en="Fraunhofer ISE", kind="institute"))
    content = ("email,name,institution,fields,country,languages,title,active\n"
               "li.ming@cau.edu.cn,李明,中國農業大學,modern_agriculture;food_security,CN,zh;en,教授,yes\n"
               f"anna.berg@ise.fraunhofer.de,Anna Berg,{ise.id},energy_resources,DE,de;en,Senior Scientist,\n"
               "\n"
               "zhao@cau.edu.cn,赵刚,China Agricultural University,food_security,,zh,,no\n")
    head = _head(factory)
    r = _csv(officer, content)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["imported"] == 3
    assert _head(factory) == head + 3  # one event per expert
    experts = {e["email"]: e for e in officer.get("/reviewers").get_json()["items"]}
    assert experts["li.ming@cau.edu.cn"]["fields"] == ["modern_agriculture", "food_security"]
    assert experts["anna.berg@ise.fraunhofer.de"]["country"] == "DE"
    assert experts["zhao@cau.edu.cn"]["active"] is False and experts["zhao@cau.edu.cn"]["country"] == "CN"


def test_a_csv_with_bad_rows_names_each_by_line_and_imports_nothing(world):
    factory, api = world
    officer = api(factory.user("officer"))
    factory.user("reviewer", email="taken@example.cn")
    factory._add(Institution(name="中国农业大学", name_en="China Agricultural University", kind="university"))
    content = ("email,name,institution,fields,country,languages\n"
               "good@cau.edu.cn,李明,中国农业大学,modern_agriculture,CN,zh\n"  # line 2: fine
               "taken@example.cn,王五,中国农业大学,food_security,CN,zh\n"  # line 3: registered
               "not-an-email,赵六,不存在的大学,astrology,XX,zh;xx\n"  # line 4: five problems
               "good@cau.edu.cn,李明,中国农业大学,modern_agriculture,CN,zh\n")  # line 5: twice in the file
    users = _count(factory, "SELECT count(*) FROM users")
    head = _head(factory)
    r = _csv(officer, content)
    assert r.status_code == 422
    body = r.get_json()
    assert body["message"] == "3 of 4 rows are not valid; nothing was imported"
    found = {(b["line"], b["field"]) for b in body["details"]["rows"]}
    assert found == {(3, "email"), (4, "email"), (4, "institution"), (4, "fields"), (4, "country"),
                     (4, "languages"), (5, "email")}
    assert _count(factory, "SELECT count(*) FROM users") == users and _head(factory) == head


@pytest.mark.parametrize("content, why", [
    ("name,fields\n李明,food_security\n", "missing column email"),
    ("email,institution,salary\na@b.cn,1,3\n", "unknown column salary"),
    ("email,institution\n", "no rows"),
])
def test_a_csv_without_the_right_header_or_rows_is_refused(factory, api, content, why):
    r = _csv(api(factory.user("officer")), content)
    assert r.status_code == 422 and why in str(r.get_json()["details"])


def test_a_csv_that_is_not_utf8_is_refused(factory, api):
    client = api(factory.user("officer"))
    r = client.client.post("/api/v1/reviewers/import", headers=client._headers(),
                           data={"file": (io.BytesIO("email,institution\n李明@x.cn,1\n".encode("gbk")), "x.csv")},
                           content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["details"] == {"file": ["save it as UTF-8 CSV"]}


# --- suggestions -------------------------------------------------------------------------------


def test_suggestions_match_the_field_then_the_load_then_spread_and_skip_conflicts(world):
    factory, api = world
    application, cast = factory.application("expert_review", field="energy_resources")
    officer = api(cast.officer)
    here, there, other, abroad, far = (factory.institution() for _ in range(5))
    a = factory.expert(here, country="CN")
    same_institution = factory.expert(here, country="CN")
    b = factory.expert(there, country="CN")
    e = factory.expert(abroad, country="DE")  # a new country: preferred over b at equal load
    d = factory.expert(other, country="CN")  # one open review elsewhere
    unmatched = factory.expert(far, fields=("modern_agriculture",), country="FR")
    conflicted = factory.expert(factory.get(Institution, application.institution_id))
    inactive = factory.expert(factory.institution(), active=False)
    busy, busy_cast = factory.application("expert_review")
    assert api(busy_cast.officer).post(f"/applications/{busy.id}/reviews", json={"reviewer_id": d.id}).status_code == 201
    r = officer.get(f"/applications/{application.id}/suggestions?n=3")
    assert r.status_code == 200, r.get_json()
    got = [s["reviewer_id"] for s in r.get_json()["items"]]
    assert got == [a.id, e.id, b.id]
    more = [s["reviewer_id"] for s in officer.get(f"/applications/{application.id}/suggestions?n=6").get_json()["items"]]
    assert more[:4] == [a.id, e.id, b.id, d.id]
    assert unmatched.id in more and same_institution.id not in more  # others remained: no second from `here`
    assert conflicted.id not in more and inactive.id not in more
    everyone = officer.get(f"/applications/{application.id}/suggestions?n=20").get_json()["items"]
    assert conflicted.id not in {s["reviewer_id"] for s in everyone}
    assert same_institution.id in {s["reviewer_id"] for s in everyone}  # once the others ran out
    assert officer.get(f"/applications/{application.id}/suggestions?n=0").status_code == 422


def test_suggestions_are_a_few_queries_whatever_the_pool(factory, app):
    """Counted, not timed: the statements one suggestion runs do not grow with the pool."""
    from sqlalchemy import event

    from workflow.services import pool

    application, cast = factory.application("expert_review")

    def statements() -> int:
        seen = []
        engine = app.extensions["fundflow.engine"]
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            with app.test_request_context("/"):
                assert len(pool.suggest(cast.officer, application.id, 3)) == 3
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    for _ in range(3):
        factory.expert()
    few = statements()
    for _ in range(30):
        factory.expert()
    assert statements() == few <= 12


# --- replacing ---------------------------------------------------------------------------------


def _assigned(factory, api, cast, application, reviewer) -> int:
    r = api(cast.officer).post(f"/applications/{application.id}/reviews", json={"reviewer_id": reviewer.id})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


@pytest.mark.parametrize("how", ["declined", "overdue"])
def test_a_declined_or_overdue_assignment_is_replaced_and_the_officer_told(world, how):
    factory, api = world
    application, cast = factory.application("expert_review")
    first, replacement = factory.expert(), factory.expert()
    old = _assigned(factory, api, cast, application, first)
    change = "state = 'declined'" if how == "declined" else "due_date = :d"
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text(f"UPDATE reviews SET {change} WHERE id = :r"),
                  {"r": old, "d": dt.date.today() - dt.timedelta(days=1)})
    officer = api(cast.officer)
    r = officer.post(f"/applications/{application.id}/reviews/{old}/replace", json={"reviewer_id": replacement.id})
    assert r.status_code == 201, r.get_json()
    new = r.get_json()["id"]
    with factory.app.app_context():
        s = db.session()
        assert s.get(Review, new).replaces_id == old and s.get(Review, new).reviewer_id == replacement.id
        event = s.scalars(select(Event).where(Event.subject == "review", Event.subject_id == new)).one()
        assert event.trigger == "replace" and event.data["replaces_id"] == old
        notice = s.scalars(select(Notice).where(Notice.user_id == cast.officer.id,
                                                Notice.kind == "review_replaced")).one()
        assert first.name in notice.body and replacement.name in notice.body
    head = _head(factory)
    again = officer.post(f"/applications/{application.id}/reviews/{old}/replace", json={})
    assert again.status_code == 409 and again.get_json()["details"]["review_id"] == ["already replaced"]
    assert _head(factory) == head


def test_without_a_choice_the_top_suggestion_replaces(factory, api):
    application, cast = factory.application("expert_review", field="energy_resources")
    first = factory.expert()
    old = _assigned(factory, api, cast, application, first)
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE reviews SET state = 'declined' WHERE id = :r"), {"r": old})
    officer = api(cast.officer)
    top = officer.get(f"/applications/{application.id}/suggestions?n=1").get_json()["items"][0]["reviewer_id"]
    r = officer.post(f"/applications/{application.id}/reviews/{old}/replace")
    assert r.status_code == 201 and r.get_json()["reviewer_id"] == top


def test_an_assignment_on_time_cannot_be_replaced(factory, api):
    application, cast = factory.application("expert_review")
    old = _assigned(factory, api, cast, application, factory.expert())
    officer, other = api(cast.officer), factory.expert()
    head = _head(factory)
    r = officer.post(f"/applications/{application.id}/reviews/{old}/replace", json={"reviewer_id": other.id})
    assert r.status_code == 409 and _head(factory) == head
    assert len(factory.reload(application.id).reviews) == 1


def test_a_replacement_with_a_conflict_is_refused_and_nothing_changes(factory, api):
    application, cast = factory.application("expert_review")
    old = _assigned(factory, api, cast, application, factory.expert())
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE reviews SET state = 'declined' WHERE id = :r"), {"r": old})
    own = factory.expert(factory.get(Institution, application.institution_id))
    officer = api(cast.officer)
    head = _head(factory)
    r = officer.post(f"/applications/{application.id}/reviews/{old}/replace", json={"reviewer_id": own.id})
    assert r.status_code == 409 and r.get_json()["details"]["rule"] == "applicant_institution"
    assert _head(factory) == head and len(factory.reload(application.id).reviews) == 1


def test_a_declined_review_tells_the_officer(factory, api):
    from workflow.services.transitions import fire

    application, cast = factory.application("expert_review")
    expert = factory.expert()
    review_id = _assigned(factory, api, cast, application, expert)
    with factory.app.app_context():
        fire(expert, "review", review_id, "decline", comment="本人近三年与申报团队合作发表论文。",
             payload={"conflict_with": "application"} if factory.get(Review, review_id).workflow_version >= 2 else None)
        notice = db.session().scalars(select(Notice).where(Notice.user_id == cast.officer.id,
                                                           Notice.kind == "review_declined")).one()
        assert "合作发表论文" in notice.body and f"/applications/{application.id}" not in notice.subject


def test_the_scan_tells_the_officer_of_an_overdue_review_once(factory, api):
    from workflow.scan import scan

    application, cast = factory.application("expert_review")
    review_id = _assigned(factory, api, cast, application, factory.expert())
    with factory.app.extensions["fundflow.engine"].begin() as c:
        c.execute(text("UPDATE reviews SET due_date = :d WHERE id = :r"),
                  {"d": dt.date.today() - dt.timedelta(days=3), "r": review_id})
    with factory.app.app_context():
        scan(dt.date.today())
        scan(dt.date.today())
        kinds = [n.kind for n in db.session().scalars(select(Notice).where(Notice.user_id == cast.officer.id))]
    assert kinds.count("review_overdue") == 1


# --- bulk ------------------------------------------------------------------------------------


def test_three_suggested_conflict_free_reviewers_for_each_of_twenty_applications_in_one_action(factory, api):
    officer_actor = factory.user("officer")
    officer = api(officer_actor)
    experts = [factory.expert(country=c) for c in ("CN", "DE", "FR", "US", "JP") * 5]
    call = factory.call()
    apps = []
    for i in range(20):
        # Every application has one of the experts' institutions as a partner, and one as applicant.
        partner = factory.get(Institution, factory.get(User, experts[i].id).institution_id)
        applicant = factory.user("applicant", institution=factory.get(
            Institution, factory.get(User, experts[(i + 1) % 25].id).institution_id))
        application, _ = factory.application(
            "expert_review", call=call, cast=factory.cast(applicant=applicant), partners=[
                {"name": "Fraunhofer ISE", "country": "DE", "kind": "institute"},
                {"name": partner.name + " ", "country": "CN", "kind": "university"}])
        apps.append(application.id)
    r = officer.post("/reviews/bulk", json={"app_ids": apps, "per_application": 3})
    assert r.status_code == 202, r.get_json()
    with factory.app.app_context():
        s = db.session()
        job = s.get(Outbox, r.get_json()["id"])
        assert job.done_at is not None and job.result["assigned"] == 60 and job.progress_done == 20
        for app_id in apps:
            application = s.get(Application, app_id)
            assert len(application.reviews) == 3
            for review in application.reviews:
                reviewer = s.get(User, review.reviewer_id)
                assert review.due_date is not None
                assert conflicts.conflict_of(s, reviewer, application) is None
                assert reviewer.institution_id != application.institution_id
            assert len({s.get(User, r.reviewer_id).institution_id for r in application.reviews}) == 3
        loads = s.execute(select(Review.reviewer_id, text("count(*)")).group_by(Review.reviewer_id)).all()
        assert max(n for _, n in loads) - min(n for _, n in loads) <= 2  # spread over the pool
    again = officer.post("/reviews/bulk", json={"app_ids": apps, "per_application": 3})
    assert again.status_code == 202
    assert _count(factory, "SELECT count(*) FROM reviews") == 60  # panels full: nothing more


def test_a_small_bulk_assignment_answers_at_once(factory, api):
    application, cast = factory.application("expert_review")
    draft, _ = factory.application("draft")
    for _ in range(3):
        factory.expert()
    r = api(cast.officer).post("/reviews/bulk", json={"app_ids": [application.id, draft.id], "per_application": 2})
    assert r.status_code == 200, r.get_json()
    summary = r.get_json()
    assert summary["assigned"] == 2 and summary["refused"] == 1
    assert summary["refusals"][0]["application_id"] == draft.id
    assert api(cast.officer).post("/reviews/bulk", json={"app_ids": [], "per_application": 2}).status_code == 422
