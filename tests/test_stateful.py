"""A Hypothesis state machine that fires random triggers by random actors.

The world: one call with little budget left, institutions (one of them
foreign-invested), recommending bodies of two channels, every role, and
applications in most states. The rules fire any trigger of the application,
review, milestone and change-request workflows, by any actor (right or wrong
role, institution or body, and the system), with random bodies (comment
present or not, odd amounts, milestones, outcomes, stale or current version);
they also assign reviewers, upload attachments, edit drafts and request
changes. After every step:

- a refused action changed nothing: no row's state or version, no event, the
  same chain head;
- an accepted one moved its subject to the state the definition names for
  that trigger and source, and every new event agrees with the definitions;
- final states stay final, versions only grow, the audit chain verifies.

Each example starts from a fresh copy of one seeded database, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, seed as hypothesis_seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from workflow import audit, db
from workflow.engine import workflow
from workflow.errors import WorkflowError
from workflow import lifecycle
from workflow.lifecycle import Cast, minimal_pdf
from workflow.models import (
    ATTACHMENT_KINDS,
    CHANGE_KINDS,
    Event,
    FOREIGN_INSTITUTION_KINDS,
    OUTCOME_KEYS,
    RECOMMENDATIONS,
)
from workflow.permissions import SYSTEM, Actor
from workflow.services import applications as apps
from workflow.services import changes
from workflow.services.transitions import fire

from .conftest import make_app
from .factories import Factory

# Bounded for CI; FUNDFLOW_STATEFUL_EXAMPLES=500 searches longer (and at random) on a developer's machine.
# The test runs on both databases and they share the examples: each takes half, so the suite spends on
# this test what one database's run cost. Derandomized, PostgreSQL's half comes from a seed of its own,
# so the two halves are different examples rather than the same ones twice.
EXAMPLES = int(os.environ.get("FUNDFLOW_STATEFUL_EXAMPLES", "60"))
STEPS = int(os.environ.get("FUNDFLOW_STATEFUL_STEPS", "40"))
DERANDOMIZE = "FUNDFLOW_STATEFUL_EXAMPLES" not in os.environ
SETTINGS = settings(max_examples=max(1, EXAMPLES // 2), stateful_step_count=STEPS, deadline=None,
                    derandomize=DERANDOMIZE,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
POSTGRESQL_SEED = 20261201

# Where an application may be only after a guard let it through.
FUNDED = {"approved", "in_progress", "suspended", "closeout_review", "completed", "terminated", "failed_acceptance"}
SIGNED = FUNDED - {"approved"}
CLOSING = {"closeout_review", "completed", "failed_acceptance"}
PAST_EXPERT_REVIEW = FUNDED | {"decision_pending", "rejected"}
PAST_SCREENING = PAST_EXPERT_REVIEW | {"expert_review"}
SUBJECTS = {"application": "applications", "review": "reviews", "milestone": "milestones",
            "change_request": "change_requests"}
TODAY = dt.date.today()


# --- the world, seeded once ---------------------------------------------------------------------------


@dataclass
class World:
    url: str  # the seeded database, copied for each example
    actors: list[Actor]  # every user, and the system
    reviewers: list[int]
    applications: list[int]
    by_name: dict[str, Actor] = field(default_factory=dict)


def seed(app) -> World:
    """Institutions, bodies of two channels, every role and applications in most states."""
    f = Factory(app)
    # The six approved projects below hold 16.2M of 18M, so approvals can run out of budget.
    call = f.call(total_budget=18_000_000)
    uni_a, uni_b = f.institution("university"), f.institution("institute")
    foreign = f.institution("foreign_invested_enterprise")
    partner = f.institution("institute", name="Fraunhofer ISE")  # the default partner: a conflict of interest
    gov, gov2 = f.body("intergovernmental"), f.body("intergovernmental", "ministry_department")
    embassy = f.body("embassy", "embassy_section")
    people = {
        "applicant_a": f.user("applicant", institution=uni_a),
        "applicant_a2": f.user("applicant", institution=uni_a),
        "applicant_b": f.user("applicant", institution=uni_b),
        "applicant_foreign": f.user("applicant", institution=foreign),
        "recommender_gov": f.user("recommender", body=gov),
        "recommender_gov2": f.user("recommender", body=gov2),
        "recommender_embassy": f.user("recommender", body=embassy),
        "officer": f.user("officer"),
        "admin": f.user("admin"),
        "reviewer_1": f.user("reviewer", institution=f.institution()),
        "reviewer_2": f.user("reviewer", institution=f.institution()),
        "reviewer_3": f.user("reviewer", institution=f.institution()),
        "reviewer_a": f.user("reviewer", institution=uni_a),
        "reviewer_partner": f.user("reviewer", institution=partner),
    }
    p = people
    experts = [p["reviewer_1"], p["reviewer_2"], p["reviewer_3"]]
    casts = {
        "a": Cast(p["applicant_a"], p["recommender_gov"], p["officer"], experts),
        "b": Cast(p["applicant_b"], p["recommender_embassy"], p["officer"], experts),
        "foreign": Cast(p["applicant_foreign"], p["recommender_gov"], p["officer"], experts),
    }
    plan = [("draft", "a", {}), ("pending_recommendation", "b", {}), ("revision_requested", "a", {}),
            ("formal_review", "a", {}), ("formal_review", "foreign", {"sensitive_technology": True}),
            ("draft", "foreign", {}), ("expert_review", "b", {}), ("expert_review", "a", {}),
            ("decision_pending", "a", {}), ("approved", "b", {}), ("approved", "a", {}),
            ("in_progress", "a", {}), ("approved", "b", {}), ("in_progress", "a", {}),
            ("closeout_review", "b", {}), ("withdrawn", "b", {}),
            ("decision_pending", "b", {"budget": {"central": 1_000_000, "local_matching": 0, "self_raised": 0}})]
    ids = [f.application(state, cast=casts[who], call=call, **fields)[0].id for state, who, fields in plan]
    a, b = casts["a"], casts["b"]
    with app.app_context():
        # Each a step short of its next move: a draft with its attachments, a review short of its quorum,
        # a signed agreement, milestones one of them overdue, a project with every milestone accepted.
        for kind in ("proposal", "cooperation_agreement"):
            a.upload(ids[0], kind)
        for reviewer, submit in zip(experts, (True, True, False)):
            review = apps.assign_reviewer(a.officer, ids[7], reviewer.id)
            if submit:
                fire(reviewer, "review", review.id, "declare_no_conflict")
                fire(reviewer, "review", review.id, "submit_review",
                     payload={"score": 80, "opinion": "可行。", "recommendation": "fund"})
        for reviewer in experts[:2]:  # two reviews under way, none submitted
            apps.assign_reviewer(b.officer, ids[6], reviewer.id)
        a.upload(ids[10], "signed_agreement")
        a.upload(ids[11], "final_report")  # its milestones are still open
        lifecycle._sign(b, ids[12], months=(1, 2))
        # Signed a while ago: milestones fall due within the project's duration from its signing, so
        # the first is made overdue by moving its date back, as the passing of time would.
        with db.write_session() as s:
            s.execute(text("UPDATE milestones SET due_date = :d WHERE application_id = :a AND seq = 1"),
                      {"d": dt.date.today() - dt.timedelta(days=30), "a": ids[12]})
        for milestone in f.reload(ids[13]).milestones:
            fire(a.applicant, "milestone", milestone.id, "report", payload={"report": "完成。"})
            fire(a.officer, "milestone", milestone.id, "accept")
        a.upload(ids[13], "final_report")
    actors = [*people.values(), SYSTEM]
    return World(url="", actors=actors, reviewers=[a.id for a in people.values() if a.role == "reviewer"],
                  applications=ids, by_name=people)


@pytest.fixture(scope="module")
def world(module_database_url, tmp_path_factory) -> World:
    app = make_app(module_database_url, tmp_path_factory.mktemp("stateful-world"))
    w = seed(app)
    # Checkpoints SQLite's WAL into the file we copy; PostgreSQL copies a database nobody is connected to.
    app.extensions["fundflow.engine"].dispose()
    w.url = module_database_url
    return w


# --- what the rules draw ------------------------------------------------------------------------------

iso_day = st.integers(-200, 1000).map(lambda d: (TODAY + dt.timedelta(days=d)).isoformat())
comments = st.one_of(st.none(), st.sampled_from(["", "   ", "同意。", "x" * 10_001]), st.text(max_size=20),
                     st.integers())
versions = st.sampled_from(["absent", "current", "stale", "ahead"])
amounts = st.one_of(st.sampled_from([1, 500_000, 1_900_000, 2_700_000, 3_000_000, 3_000_001, 0, -1]),
                    st.integers(), st.sampled_from(["100", 1.5, True, None]))
milestone_items = st.one_of(
    st.fixed_dictionaries({"title": st.one_of(st.sampled_from(["联合实验", "中期交流"]), st.text(max_size=5)),
                           "due_date": st.one_of(iso_day, st.sampled_from(["2027-02-30", "soon"]), st.integers())}),
    st.sampled_from(["junk", None, {}, {"title": "无日期"}]),
)
outcomes = st.one_of(
    st.dictionaries(st.sampled_from([*OUTCOME_KEYS, "bogus"]),
                    st.one_of(st.integers(-1, 10), st.sampled_from([True, "3", 1.0, 10**7])), max_size=4),
    st.sampled_from([None, [], "many"]),
)
payloads = st.fixed_dictionaries({}, optional={
    "approved_amount": amounts,
    "milestones": st.one_of(st.lists(milestone_items, max_size=3), st.sampled_from([None, "three"])),
    "outcomes": outcomes,
    "score": st.one_of(st.integers(-5, 105), st.floats(allow_nan=True), st.sampled_from(["90", None, True])),
    "opinion": st.one_of(st.none(), st.text(max_size=10)),
    "recommendation": st.sampled_from([*RECOMMENDATIONS, "maybe", None]),
    "report": st.one_of(st.none(), st.text(max_size=10)),
})
# Bodies a real actor would send for the trigger they mean, so random walks get deep into the lifecycle.
plausible_payloads = st.fixed_dictionaries({
    # Resolved against the application and its call when fired: the limits and one yuan past them.
    "approved_amount": st.sampled_from(["a tenth", "all requested", "one more than requested", "what is left",
                                        "one more than is left"]),
    "milestones": st.lists(st.fixed_dictionaries({"title": st.sampled_from(["联合实验", "中期交流", "成果转化"]),
                                                  "due_date": iso_day}), min_size=1, max_size=3),
    "outcomes": st.fixed_dictionaries({}, optional={k: st.integers(0, 5) for k in OUTCOME_KEYS}),
    "score": st.integers(0, 100),
    "opinion": st.just("研究目标明确，合作基础扎实。"),
    "recommendation": st.sampled_from(RECOMMENDATIONS),
    "report": st.just("按协议完成本阶段任务。"),
})
plausible_comments = st.sampled_from(["理由充分，依规处理。"] * 3 + [None])
edits = st.one_of(
    st.fixed_dictionaries({"sensitive_technology": st.booleans()}),
    st.fixed_dictionaries({"budget": st.fixed_dictionaries({
        "central": st.sampled_from([0, 1_000_000, 3_000_000, 9_000_000]),
        "local_matching": st.sampled_from([0, 1_000_000]), "self_raised": st.just(0)})}),
    st.fixed_dictionaries({"title": st.just("修订后的项目名称"), "summary": st.sampled_from(["", "修订摘要。"])}),
    st.fixed_dictionaries({"call_id": st.integers(1, 3)}),
)
proposals = {
    "extension": st.fixed_dictionaries({"extend_months": st.integers(1, 24)}),
    "budget_reallocation": st.fixed_dictionaries({"budget": st.fixed_dictionaries({
        "central": st.sampled_from([1_000_000, 2_700_000, 5_000_000]), "local_matching": st.just(1_000_000),
        "self_raised": st.just(0)})}),
    "partner_change": st.fixed_dictionaries({"partners": st.just([{"name": "CNRS", "country": "FR",
                                                                   "kind": "institute"}])}),
    "pi_change": st.fixed_dictionaries({"principal_investigator": st.just("李研究员")}),
}


ANY_TRIGGER = sorted({t for name in SUBJECTS for t in workflow(name).triggers()} | {"explode"})
PLAUSIBLE = dict(data=st.data(), subject=st.sampled_from(["application", "application", "review", "milestone",
                                                          "change_request"]),
                 fitting=st.sampled_from([True, True, True, False]), comment=plausible_comments,
                 version=st.sampled_from(["absent", "current", "current", "stale"]), payload=plausible_payloads)


# --- the machine --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    state: str
    version: int
    application_id: int


@dataclass(frozen=True)
class Snapshot:
    rows: dict[tuple[str, int], Row]
    events_per_application: dict[int, int]
    head: tuple[int, str]


class Lifecycle(RuleBasedStateMachine):
    """Random firings against one fresh copy of the world."""

    def __init__(self, world: World, scratch: Path, copies):
        super().__init__()
        self.world, self.copies = world, copies
        self.folder = Path(tempfile.mkdtemp(dir=scratch))
        self.url = copies.copy(world.url)
        self.app = make_app(self.url, self.folder)
        self.engine = self.app.extensions["fundflow.engine"]
        self.final: dict[tuple[str, int], str] = {}
        self.versions: dict[tuple[str, int], int] = {}
        with Session(self.engine) as s:
            count, broken = audit.verify(s)
        assert broken is None and count == self.snapshot().head[0], broken
        self.chain = self.snapshot().head  # verified up to here

    def teardown(self):
        try:  # the whole chain once more: steps check only the events they appended
            with Session(self.engine) as s:
                count, broken = audit.verify(s)
            assert broken is None, str(broken)
            assert count == self.snapshot().head[0]
        finally:
            self.engine.dispose()
            self.copies.drop(self.url)
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- observing

    def snapshot(self) -> Snapshot:
        rows = {}
        with self.engine.connect() as c:
            for subject, table in SUBJECTS.items():
                app_column = "id" if subject == "application" else "application_id"
                for id_, state, version, app_id in c.execute(
                        text(f"SELECT id, state, version, {app_column} FROM {table}")):
                    rows[(subject, id_)] = Row(state, version, app_id)
            counts = dict(c.execute(text("SELECT application_id, count(*) FROM events "
                                         "WHERE application_id IS NOT NULL GROUP BY application_id")).all())
            head = c.execute(text("SELECT event_id, hash FROM chain_head")).one_or_none()
        return Snapshot(rows, counts, (head[0] or 0, head[1]) if head else (0, audit.GENESIS))

    def events_after(self, event_id: int) -> list:
        with self.engine.connect() as c:
            return list(c.execute(text("SELECT * FROM events WHERE id > :i ORDER BY id"), {"i": event_id}))

    def ids(self, subject: str) -> list[int]:
        with self.engine.connect() as c:
            return list(c.execute(text(f"SELECT id FROM {SUBJECTS[subject]} ORDER BY id")).scalars())

    # -- acting

    def attempt(self, label: str, action, *, subject: str | None = None, subject_id: int | None = None,
                trigger: str | None = None, actor: Actor | None = None, must_refuse: list[str] = ()) -> bool:
        """Run `action`; check what a refusal or an acceptance must (and must not) have changed."""
        before = self.snapshot()
        with self.app.app_context():
            try:
                action()
            except WorkflowError as refused:
                event(f"{label}: refused ({refused.code})")
                after = self.snapshot()
                assert after == before, f"refused ({refused.code}: {refused.message}) yet something changed"
                return False
        event(f"{label}: accepted")
        assert not must_refuse, f"{label} was accepted although {'; '.join(must_refuse)}"
        after = self.snapshot()
        new = self.events_after(before.head[0])
        if not new and after == before and trigger is None:
            return True  # accepted and changed nothing (an edit naming only what already is): no event owed
        assert new, "an accepted action appended no audit event"
        assert after.head == (new[-1].id, new[-1].hash)
        for e in new:
            self.check_event(e, before, after)
        if trigger is not None:
            cause = new[0]
            was = before.rows[(subject, subject_id)]
            wf = workflow(subject, None)
            dest = wf.transition(trigger, was.state).dest
            assert (cause.subject, cause.subject_id, cause.trigger) == (subject, subject_id, trigger)
            assert (cause.from_state, cause.to_state) == (was.state, dest)
            assert (cause.actor_id, cause.role) == (actor.id, actor.role)
            now = after.rows[(subject, subject_id)]
            follow_ups = [e for e in new[1:] if (e.subject, e.subject_id) == (subject, subject_id)]
            assert now.state == (follow_ups[-1].to_state if follow_ups else dest)
            assert now.version > was.version
            # Follow-ups: the jobs' records (documents issued), and the quorum closing expert review.
            for e in new[1:]:
                assert e.subject not in SUBJECTS or (trigger, e.subject, e.trigger, e.role) == (
                    "submit_review", "application", "close_review", "system"), e
        return True

    def check_event(self, e, before: Snapshot, after: Snapshot) -> None:
        """A new event agrees with the definitions and with the row it names."""
        if e.subject not in SUBJECTS:
            assert e.from_state is None and e.to_state is None  # uploads, registry rows
            return
        wf = workflow(e.subject, None)
        key = (e.subject, e.subject_id)
        assert key in after.rows, e
        if e.trigger in wf.triggers():
            t = wf.transition(e.trigger, e.from_state)
            assert t is not None and t.dest == e.to_state, f"{e.trigger} {e.from_state}->{e.to_state} is undefined"
        elif e.from_state is None:  # created: assign, request, create
            assert key not in before.rows and e.to_state == wf.initial, e
        else:  # edited in place
            assert e.from_state == e.to_state == before.rows[key].state, e

    def version_of(self, subject: str, row_id: int, how: str) -> int | None:
        row = self.snapshot().rows.get((subject, row_id))
        current = row.version if row else 1
        return {"absent": None, "current": current, "stale": max(current - 1, 1) if current > 1 else current + 1,
                "ahead": current + 1}[how]

    def choose(self, data, subject: str, states=()) -> int:
        """One row's id, among those in `states` when there are any; a missing id when there are no rows."""
        rows = self.snapshot().rows
        ids = sorted(i for (s, i), row in rows.items() if s == subject and row.state in states) or \
            sorted(i for (s, i) in rows if s == subject)
        return data.draw(st.sampled_from(ids), label=f"{subject} id") if ids else 10**6

    def _fire(self, actor, subject, row_id, trigger, comment, version, payload, application_id=None):
        seen = self.version_of(subject, row_id, version)
        return self.attempt(
            f"{subject} {trigger}",
            lambda: fire(actor, subject, row_id, trigger, comment=comment, payload=payload, version=seen,
                         application_id=application_id),
            subject=subject, subject_id=row_id, trigger=trigger, actor=actor,
            must_refuse=self.wrong(actor, subject, row_id, trigger, comment, seen, application_id, payload))

    def wrong(self, actor, subject, row_id, trigger, comment, version, application_id, payload) -> list[str]:
        """What is wrong with a firing, as far as the rules of DESIGN §2-§3 tell without guards."""
        row = self.snapshot().rows.get((subject, row_id))
        if row is None:
            return ["no such row"]
        t = workflow(subject, None).transition(trigger, row.state)
        problems = []
        if t is None:
            return [f"{trigger} is not defined from {row.state}"]
        if ("officer" if actor.role == "admin" else actor.role) not in t.roles:
            problems.append(f"{actor.role} may not fire {trigger}")
        elif not self.fits(actor, subject, row_id, row.application_id):
            problems.append(f"{actor.email} does not act on this {subject}")
        if version is not None and version != row.version:
            problems.append(f"version {version} is stale (now {row.version})")
        if t.comment_required and not (isinstance(comment, str) and comment.strip()):
            problems.append("the reason is missing")
        if application_id is not None and application_id != row.application_id:
            problems.append(f"it belongs to application {row.application_id}, not {application_id}")
        return problems + self.unmet(subject, trigger, row, payload)

    def unmet(self, subject: str, trigger: str, row: Row, payload: dict) -> list[str]:
        """What a guard of DESIGN §3 must refuse, read straight from the rows."""
        with self.engine.connect() as c:
            app = c.execute(text(
                "SELECT a.state, (SELECT count(*) FROM milestones m WHERE m.application_id = a.id) AS milestones, "
                "(SELECT count(*) FROM milestones m WHERE m.application_id = a.id AND m.state != 'accepted') "
                "AS open_milestones FROM applications a WHERE a.id = :i"), {"i": row.application_id}).mappings().one()
        amount = payload.get("approved_amount")
        problems = {
            ("application", "approve"): type(amount) is not int or not 0 < amount <= min(self.money(
                row.application_id)),
            ("application", "request_closeout"): app["milestones"] == 0 or app["open_milestones"] > 0,
            ("application", "sign_agreement"): not payload.get("milestones"),
            ("review", "submit_review"): app["state"] != "expert_review",
            ("milestone", "report"): app["state"] != "in_progress",
        }
        return [f"a guard of {trigger} must refuse it"] if problems.get((subject, trigger)) else []

    def anyone(self, data) -> Actor:
        return data.draw(st.sampled_from(self.world.actors), label="actor")

    # -- rules

    @rule(data=st.data(), subject=st.sampled_from(["application", "application", "review", "milestone",
                                                   "change_request"]),
          trigger=st.sampled_from(ANY_TRIGGER), comment=st.one_of(comments, plausible_comments), version=versions,
          payload=st.one_of(payloads, plausible_payloads), wrong_application=st.sampled_from([False, False, True]))
    def fire_anything(self, data, subject, trigger, comment, version, payload, wrong_application):
        """Any trigger of any workflow on any row, by anyone, with any body."""
        row_id = self.choose(data, subject)
        row = self.snapshot().rows.get((subject, row_id))
        owner = None if row is None or subject == "application" else row.application_id + wrong_application
        self._fire(self.anyone(data), subject, row_id, trigger, comment, version, payload, application_id=owner)

    @rule(**PLAUSIBLE)
    def fire_what_the_state_allows(self, data, subject, fitting, comment, version, payload):
        """A trigger the row's state allows, by an actor of a role that may fire it, mostly the right one."""
        wf = workflow(subject, None)
        row_id = self.choose(data, subject, [s for s in wf.states if wf.available(s)])
        row = self.snapshot().rows.get((subject, row_id))
        if row is None or not wf.available(row.state):
            return
        t = data.draw(st.sampled_from(wf.available(row.state)), label="transition")
        cast = [a for a in self.world.actors if ("officer" if a.role == "admin" else a.role) in t.roles]
        # Mostly the very person who acts on this row; else someone of that role who is not (wrong institution,
        # body or review).
        cast = [a for a in cast if self.fits(a, subject, row_id, row.application_id) == fitting] or cast
        actor = data.draw(st.sampled_from(cast), label="actor")
        payload = {**payload, "approved_amount": self.amount(row.application_id, payload["approved_amount"])}
        self._fire(actor, subject, row_id, t.trigger, comment, version, payload, application_id=row.application_id)

    def money(self, app_id: int) -> tuple[int, int]:
        """The central funds `app_id` requests, and what is left of its call's budget for it."""
        with self.engine.connect() as c:
            return tuple(c.execute(text(
                "SELECT a.budget_central, c.total_budget - (SELECT coalesce(sum(o.approved_amount), 0) "
                "FROM applications o WHERE o.call_id = a.call_id AND o.id != a.id) "
                "FROM applications a JOIN calls c ON c.id = a.call_id WHERE a.id = :i"), {"i": app_id}).one())

    def amount(self, app_id: int, how: str) -> int:
        requested, left = self.money(app_id)
        return {"a tenth": requested // 10, "all requested": requested, "one more than requested": requested + 1,
                "what is left": left, "one more than is left": left + 1}[how]

    @rule(**PLAUSIBLE)
    def fire_what_the_state_allows_again(self, **kw):
        """The same rule once more: about a third of all steps follow the lifecycle, so walks get deep."""
        self.fire_what_the_state_allows(**kw)

    def fits(self, actor: Actor, subject: str, row_id: int, app_id: int) -> bool:
        """Whether `actor` is the person (not only the role) who acts on this row."""
        with self.engine.connect() as c:
            institution, body = c.execute(text("SELECT institution_id, body_id FROM applications WHERE id = :i"),
                                          {"i": app_id}).one()
            reviewer = c.execute(text("SELECT reviewer_id FROM reviews WHERE id = :i"), {"i": row_id}).scalar() \
                if subject == "review" else None
        return {"applicant": actor.institution_id == institution, "recommender": actor.body_id == body,
                "reviewer": actor.id == reviewer}.get(actor.role, True)

    @rule(data=st.data(), who=st.sampled_from(["officer", "admin", "officer", "applicant_a", "reviewer_1"]),
          aim=st.booleans())
    def assign_a_reviewer(self, data, who, aim):
        actor = self.world.by_name[who]
        row_id = self.choose(data, "application", ["expert_review"] if aim else [])
        reviewer_id = data.draw(st.sampled_from([*self.world.reviewers, actor.id]), label="reviewer")
        self.attempt("assign reviewer", lambda: apps.assign_reviewer(actor, row_id, reviewer_id))

    @rule(data=st.data(), who=st.sampled_from(["applicant_a", "applicant_a2", "applicant_b", "applicant_foreign",
                                               "officer", "recommender_gov"]),
          kind=st.sampled_from(ATTACHMENT_KINDS), pdf=st.sampled_from([True, True, True, False]),
          aim=st.booleans())
    def upload_an_attachment(self, data, who, kind, pdf, aim):
        actor = self.world.by_name[who]
        row_id = self.choose(data, "application", apps.ATTACHMENT_STATES[kind] if aim else [])
        content = io.BytesIO(minimal_pdf(kind) if pdf else b"not a pdf")
        self.attempt(f"upload {kind}", lambda: apps.add_attachment(actor, row_id, kind, f"{kind}.pdf", content))

    @rule(data=st.data(), who=st.sampled_from(["applicant_a", "applicant_b", "applicant_foreign", "officer"]),
          edit=edits, version=versions, aim=st.booleans())
    def edit_an_application(self, data, who, edit, version, aim):
        actor = self.world.by_name[who]
        row_id = self.choose(data, "application", apps.EDITABLE_STATES if aim else [])
        edit = dict(edit)
        if (v := self.version_of("application", row_id, version)) is not None:
            edit["version"] = v
        self.attempt("edit", lambda: apps.update_application(actor, row_id, edit))

    @rule(data=st.data(), who=st.sampled_from(["applicant_a", "applicant_b", "officer"]),
          kind=st.sampled_from(CHANGE_KINDS), aim=st.booleans())
    def request_a_change(self, data, who, kind, aim):
        actor = self.world.by_name[who]
        row_id = self.choose(data, "application", changes.OPEN_STATES if aim else [])
        proposal = data.draw(proposals[kind], label="proposal")
        self.attempt(f"request {kind}",
                     lambda: changes.request_change(actor, row_id, kind, "合作方调整，需要变更。", proposal))

    # -- invariants

    @invariant()
    def the_invariants_hold(self):
        snap = self.snapshot()
        for key, row in snap.rows.items():
            wf = workflow(key[0], None)
            assert row.state in wf.states, key
            if key in self.final:
                assert row.state == self.final[key], f"{key} left the final state {self.final[key]}"
            elif wf.is_final(row.state):
                self.final[key] = row.state
            assert row.version >= self.versions.get(key, 0), f"{key} went back to version {row.version}"
            self.versions[key] = row.version
        self.chain_verifies(snap)
        self.history_explains_every_state(snap)
        self.lifecycle_facts_hold()

    def chain_verifies(self, snap: Snapshot) -> None:
        """Each event appended since the last step links to the one before and hashes to its recorded hash."""
        last_id, last_hash = self.chain
        with Session(self.engine) as s:
            for e in s.scalars(select(Event).where(Event.id > last_id).order_by(Event.id)):
                assert e.id == last_id + 1, f"event {last_id + 1} is missing"
                assert e.prev_hash == last_hash and audit.chain_hash(last_hash, e) == e.hash, f"event {e.id}"
                last_id, last_hash = e.id, e.hash
        assert (last_id, last_hash) == snap.head, "the chain head is not the last event"
        self.chain = snap.head

    def history_explains_every_state(self, snap: Snapshot) -> None:
        """The last event on each row names the state it is in (milestones start without one)."""
        with self.engine.connect() as c:
            last = {(e.subject, e.subject_id): e.to_state for e in c.execute(text(
                "SELECT subject, subject_id, to_state FROM events WHERE id IN "
                "(SELECT max(id) FROM events WHERE subject IN :subjects GROUP BY subject, subject_id)"
            ).bindparams(bindparam("subjects", expanding=True)), {"subjects": list(SUBJECTS)})}
        for key, row in snap.rows.items():
            assert last.get(key, workflow(key[0], None).initial) == row.state, f"{key} is {row.state}, its " \
                f"history says {last.get(key)}"

    def lifecycle_facts_hold(self) -> None:
        """What the guards promise, read back from the rows."""
        with self.engine.connect() as c:
            for call_id, total, committed in c.execute(text(
                    "SELECT c.id, c.total_budget, coalesce(sum(a.approved_amount), 0) FROM calls c "
                    "LEFT JOIN applications a ON a.call_id = c.id GROUP BY c.id")):
                assert committed <= total, f"call {call_id} approved {committed} of a budget of {total}"
            for a in c.execute(text(
                    "SELECT a.*, i.kind AS institution_kind, c.quorum, "
                    "(SELECT count(*) FROM reviews r WHERE r.application_id = a.id AND r.state = 'submitted') "
                    "  AS submitted, "
                    "(SELECT count(*) FROM events e WHERE e.application_id = a.id AND e.trigger = 'close_review' "
                    "  AND e.role IN ('officer', 'admin') AND e.comment IS NOT NULL) AS reasoned_closes, "
                    "(SELECT count(*) FROM milestones m WHERE m.application_id = a.id) AS milestones, "
                    "(SELECT count(*) FROM milestones m WHERE m.application_id = a.id AND m.state != 'accepted') "
                    "  AS open_milestones, "
                    "(SELECT count(*) FROM reviews r JOIN users u ON u.id = r.reviewer_id "
                    "  WHERE r.application_id = a.id AND u.institution_id = a.institution_id) AS own_reviewers "
                    "FROM applications a JOIN institutions i ON i.id = a.institution_id "
                    "JOIN calls c ON c.id = a.call_id")).mappings():
                where = f"application {a['id']} ({a['state']})"
                assert (a["state"] == "draft") <= (a["submitted_at"] is None), where
                # past expert review: the quorum came in, or an officer closed with fewer and said why
                assert (a["state"] in PAST_EXPERT_REVIEW) <= (a["submitted"] >= a["quorum"] or (
                    a["submitted"] > 0 and a["reasoned_closes"] > 0)), f"{where}: no quorum"
                assert (a["state"] in FUNDED) == (a["approved_amount"] is not None), f"{where}: approved amount"
                assert (a["state"] in SIGNED) == (a["milestones"] > 0), f"{where}: milestones"
                assert (a["state"] in CLOSING) <= (a["open_milestones"] == 0 and a["outcomes"] is not None), where
                assert not (a["state"] in PAST_SCREENING and a["institution_kind"] in FOREIGN_INSTITUTION_KINDS
                            and (a["sensitive_technology"] or a["sensitive_flagged"])), f"{where}: screening"
                assert a["own_reviewers"] == 0, f"{where}: reviewed by its own institution"


def test_random_firings_keep_the_invariants(world, tmp_path, database_copies):
    def machine():
        return Lifecycle(world, tmp_path, database_copies)
    if DERANDOMIZE and world.url.startswith("postgresql"):
        machine = hypothesis_seed(POSTGRESQL_SEED)(machine)
    run_state_machine_as_test(machine, settings=SETTINGS)
