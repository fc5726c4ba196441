"""The access table (workflow/access.py) walked cell by cell: every API route × every actor × own or not.

Each cell's answer follows from the table: where the route names an application the table
marks as owned, an outsider is told it does not exist (404); a role the table does not name
is refused (403); and either way nothing changes. A role it names is let through. A route
the table does not name fails here.
"""
from __future__ import annotations

import re

from workflow import access
from workflow.engine import workflow

from .factories import snapshot
from .test_isolation import world  # noqa: F401  (the fixture: a running project and its outsiders)

# Each actor of the world, with the role the table knows them by and whether the project is theirs.
ACTORS = {"owner": ("applicant", True), "other_applicant": ("applicant", False),
          "recommender": ("recommender", True), "other_recommender": ("recommender", False),
          "reviewer": ("reviewer", True), "other_reviewer": ("reviewer", False),
          "officer": ("officer", True), "admin": ("admin", True)}
# A trigger per firing route whose input is refused when empty, so no cell moves the project on.
TRIGGERS = {"api.fire_transition": "suspend", "api.fire_review": "submit_review", "api.fire_milestone": "report",
            "api.decide_change": "refuse"}
NOWHERE = 999_999  # a token or notice of nobody's: the answer may be 404, never 403 for an allowed role


def api_cells(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods))):
        if rule.endpoint.startswith("api."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def path_of(rule, ids: dict) -> str:
    values = {"app_id": ids["app"], "review_id": ids["review"], "milestone_id": ids["milestone"],
              "attachment_id": ids["attachment"], "change_id": ids["change"], "doc_id": ids["document"],
              "call_id": ids["call"], "user_id": ids["user"], "job_id": ids["job"], "token_id": NOWHERE,
              "notice_id": NOWHERE, "institution_id": NOWHERE, "body_id": NOWHERE, "base_id": NOWHERE,
              "code": "DE", "trigger": TRIGGERS.get(rule.endpoint, "withdraw")}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


FIRING = {"api.fire_transition": "application", "api.fire_review": "review", "api.fire_milestone": "milestone",
          "api.decide_change": "change_request"}


def expected(endpoint: str, role: str, own: bool) -> set[int] | None:
    """The codes the table allows for this cell; None: anything but 401 and 403."""
    rule_ = access.ROUTES[endpoint]
    actor = _actor_of(role)
    if rule_.owned == access.APPLICATION and not own:
        return {404}  # first: an outsider learns nothing, not even that the route is not for their role
    if not rule_.allows(actor):
        return {403}
    if rule_.owned == access.STARTED_BY and role == "officer":
        return {403}  # the job walked is a transition's follow-up, which no officer started
    if endpoint in FIRING:  # the trigger's roles, from states/
        roles = {r for t in workflow(FIRING[endpoint]).transitions if t.trigger == TRIGGERS[endpoint] for r in t.roles}
        return None if actor.workflow_role in roles else {403}
    return None


def _actor_of(role: str):
    from workflow.actors import Actor

    return Actor(id=1, role=role, email=f"{role}@example.cn")


def test_every_route_of_the_app_has_a_row(app):
    """API and pages alike; the pages' cells are walked in tests/web/test_access.py."""
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(access.ROUTES))
    assert missing == []


def test_the_table_names_no_route_that_does_not_exist(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(set(access.ROUTES) - endpoints) == []


def test_every_cell_answers_as_the_table_says(app, factory, world):  # noqa: F811
    from sqlalchemy import text

    with factory.app.extensions["fundflow.engine"].connect() as c:
        job = c.execute(text("SELECT min(id) FROM outbox")).scalar()
    ids = {**world.ids, "user": world.actors["other_applicant"].id, "job": job,
           "call": factory.reload(world.app_id).call_id}
    wrong = []
    for rule, method in api_cells(app):
        table_rule = access.ROUTES[rule.endpoint]
        path = path_of(rule, ids)
        for who, (role, own) in ACTORS.items():
            if table_rule.public:
                continue  # no token needed: test_isolation.test_the_public_endpoints_need_no_token
            before = snapshot(factory, world.app_id)
            client = world.clients[who]
            r = client.client.open(path, method=method, headers=client._headers(), json={}, buffered=True)
            want = expected(rule.endpoint, role, own)
            if want is None:
                if r.status_code in (401, 403):
                    wrong.append((method, rule.rule, who, r.status_code, "allowed by the table"))
            elif r.status_code not in want:
                wrong.append((method, rule.rule, who, r.status_code, f"want {sorted(want)}"))
            elif snapshot(factory, world.app_id) != before:
                wrong.append((method, rule.rule, who, r.status_code, "a refusal changed the project"))
    assert wrong == [], "\n".join(map(str, wrong))


def test_a_route_missing_from_the_table_is_refused_to_all_but_admins():
    """The default for a route nobody declared, so a forgotten row cannot open it to everyone."""
    unlisted = access.route_rule("api.some_new_route")
    assert not unlisted.allows(_actor_of("officer")) and not unlisted.allows(_actor_of("applicant"))
    assert unlisted.allows(_actor_of("admin"))
