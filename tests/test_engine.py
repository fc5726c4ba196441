"""The workflow definitions in states/ and the engine that loads them (DESIGN §3, §6)."""
from __future__ import annotations

import copy
import tomllib
from collections import deque
from pathlib import Path

import pytest

from workflow import effects, guards, jobs
from workflow.engine import DefinitionError, check_names, parse_definition, registry, workflow
from workflow.models import Body



STATES_DIR = Path(__file__).resolve().parent.parent / "states"


def load(data: dict):
    """Parse a definition and check its names against the registries, beside the shipped definitions."""
    wf = parse_definition(data)
    others = [d for key, d in registry().items() if key != (wf.name, wf.version)]
    check_names([wf, *others], guards=guards.REGISTRY, effects=effects.REGISTRY, jobs=jobs.JOBS)
    return wf

# DESIGN §3, written out by hand so the definitions are checked against the contract.
APPLICATION_STATES = {
    "draft": False, "pending_recommendation": False, "revision_requested": False, "formal_review": False,
    "expert_review": False, "decision_pending": False, "approved": False, "in_progress": False,
    "suspended": False, "closeout_review": False, "completed": True, "not_recommended": True,
    "ineligible": True, "rejected": True, "terminated": True, "failed_acceptance": True, "withdrawn": True,
}
APPLICATION_TRIGGERS = {
    "submit", "recommend", "decline_recommendation", "return_for_revision", "resubmit", "pass_formal_review",
    "reject_ineligible", "close_review", "approve", "reject", "sign_agreement", "suspend", "resume",
    "terminate", "request_closeout", "accept_closeout", "fail_closeout", "withdraw",
    "reopen_review",  # issue 8: the officer reopens review for one more reviewer, with a reason
}
# Every shipped workflow, and at least the three of DESIGN §3.
WORKFLOWS = sorted({name for name, _ in registry()} | {"application", "review", "milestone"})


def raw(name: str, version: int = 1) -> dict:
    return tomllib.loads((STATES_DIR / f"{name}_v{version}.toml").read_text(encoding="utf-8"))


def reachable(wf) -> set[str]:
    seen, queue = {wf.initial}, deque([wf.initial])
    while queue:
        state = queue.popleft()
        for t in wf.available(state):
            if t.dest not in seen:
                seen.add(t.dest)
                queue.append(t.dest)
    return seen


def test_every_definition_loads():
    loaded = registry()
    assert {("application", 1), ("review", 1), ("milestone", 1)} <= set(loaded)
    for (name, version), wf in loaded.items():
        assert (wf.name, wf.version) == (name, version)
        assert wf.initial in wf.states
    assert workflow("application") is loaded[("application", 1)]
    assert registry() is loaded  # built once, not per call


def test_application_definition_matches_the_design():
    wf = workflow("application", 1)
    assert {name: s.final for name, s in wf.states.items()} == APPLICATION_STATES
    assert set(wf.triggers()) == APPLICATION_TRIGGERS
    assert wf.initial == "draft"
    assert all(s.label and s.label_en for s in wf.states.values())


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_state_is_reachable_from_the_initial_state(name):
    wf = workflow(name)
    assert reachable(wf) == set(wf.states), f"unreachable: {set(wf.states) - reachable(wf)}"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_non_final_state_has_a_way_out_and_can_still_finish(name):
    wf = workflow(name)
    finals = {s for s in wf.states if wf.is_final(s)}
    assert finals, f"{name} has no final state"
    for state in wf.states:
        if wf.is_final(state):
            continue
        assert wf.available(state), f"{name}: {state} is a dead end"
        # ...and a final state can still be reached from it (no trap of live states)
        seen, queue = {state}, deque([state])
        while queue:
            for t in wf.available(queue.popleft()):
                if t.dest not in seen:
                    seen.add(t.dest)
                    queue.append(t.dest)
        assert seen & finals, f"{name}: no final state can be reached from {state}"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_final_states_have_no_outgoing_transitions(name):
    wf = workflow(name)
    for state in wf.states:
        if wf.is_final(state):
            assert wf.available(state) == [], f"{name}: final state {state} can be left"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_the_shipped_files_parse_with_the_closed_registries(name):
    wf = load(raw(name))
    assert wf.as_dict() == workflow(name, 1).as_dict()
    for t in wf.transitions:
        assert set(t.guards) <= set(guards.REGISTRY)
        assert set(t.effects) <= set(effects.REGISTRY)
        assert set(t.jobs) <= set(jobs.JOBS)
        assert all(kind == "application" for kind, _ in t.then)


def _broken(mutate) -> dict:
    data = copy.deepcopy(raw("application"))
    mutate(data)
    return data


def _transition(data: dict, trigger: str) -> dict:
    return next(t for t in data["transitions"] if t["trigger"] == trigger)


UNSOUND = {
    "unknown destination state": (
        lambda d: _transition(d, "recommend").update(dest="recommended"), "unknown state 'recommended'"),
    "unknown source state": (
        lambda d: _transition(d, "submit").update(source=["drafted"]), "unknown state 'drafted'"),
    "unknown initial state": (lambda d: d.update(initial="start"), "initial state 'start'"),
    "transition out of a final state": (
        lambda d: _transition(d, "withdraw")["source"].append("completed"), "leaves final state 'completed'"),
    "duplicate trigger from one source": (
        lambda d: d["transitions"].append({**_transition(d, "resume"), "dest": "terminated"}),
        "resume from 'suspended' is defined twice"),
    "duplicate trigger with overlapping sources": (
        lambda d: d["transitions"].append({**_transition(d, "withdraw"), "source": ["approved", "draft"]}),
        "withdraw from 'draft' is defined twice"),
    "unknown guard name": (
        lambda d: _transition(d, "approve")["guards"].append("amount_is_nice"), "amount_is_nice"),
    "unknown effect name": (
        lambda d: _transition(d, "approve")["effects"].append("send_flowers"), "send_flowers"),
    "unknown role": (
        lambda d: _transition(d, "recommend").update(roles=["recomender"]), "unknown role 'recomender'"),
    "unknown job name": (
        lambda d: _transition(d, "approve")["jobs"].append("print_banner"), "print_banner"),
    "follow-up to an unknown trigger": (
        lambda d: _transition(d, "recommend").update(then=["application.fast_track"]), "application.fast_track"),
    "follow-up the system may not fire": (
        lambda d: _transition(d, "recommend").update(then=["application.approve"]), "application.approve"),
    "follow-up without its workflow": (
        lambda d: _transition(d, "recommend").update(then=["close_review"]), "'close_review', which is not of the form"),
}


@pytest.mark.parametrize("case", UNSOUND, ids=list(UNSOUND))
def test_parse_definition_refuses_unsound_definitions(case):
    mutate, message = UNSOUND[case]
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")) as err:
        load(_broken(mutate))
    assert "application v1" in str(err.value)  # names the definition at fault


def test_a_sound_variant_still_parses():
    """The refusals above come from the mutation, not from the copy."""
    wf = load(_broken(lambda d: None))
    assert set(wf.triggers()) == APPLICATION_TRIGGERS


def test_get_workflow_returns_states_and_transitions(factory, api):
    client = api(factory.user("applicant"))
    r = client.get("/workflow")
    assert r.status_code == 200, r.json
    by_name = {w["name"]: w for w in r.json["workflows"]}
    assert set(by_name) == set(WORKFLOWS)  # every shipped workflow, newest version
    application = by_name["application"]
    assert application["version"] == 1 and application["initial"] == "draft"
    assert {s["name"]: s["final"] for s in application["states"]} == APPLICATION_STATES
    assert {s["name"]: s["label"] for s in application["states"]}["decision_pending"] == "待立项审批"
    transitions = {(t["trigger"], s): t for t in application["transitions"] for s in t["source"]}
    assert transitions[("approve", "decision_pending")]["dest"] == "approved"
    assert transitions[("approve", "decision_pending")]["roles"] == ["officer"]
    assert transitions[("approve", "decision_pending")]["guards"] == ["approved_amount"]
    assert transitions[("return_for_revision", "pending_recommendation")]["roles"] == ["recommender"]
    assert transitions[("return_for_revision", "formal_review")]["roles"] == ["officer"]
    assert transitions[("reject", "decision_pending")]["comment_required"] is True
    assert {t["trigger"] for t in application["transitions"]} == APPLICATION_TRIGGERS
    assert by_name["review"]["states"] and by_name["milestone"]["transitions"]
    assert api().get("/workflow").status_code == 401


def test_an_application_records_its_workflow_version(factory, api):
    cast = factory.cast()
    body = factory.get(Body, cast.recommender.body_id)
    client = api(cast.applicant)
    r = client.post("/applications", json=factory.application_data(factory.call(), body))
    assert r.status_code == 201, r.json
    assert r.json["workflow_version"] == workflow("application").version == 1
    history = client.get(f"/applications/{r.json['id']}/history").json["items"]
    assert history[0]["trigger"] == "create" and history[0]["data"]["workflow_version"] == 1


def test_a_new_definition_version_leaves_applications_under_way_alone(factory, api, monkeypatch):
    """Applications keep the definition they started under; new ones take the newest (DESIGN §6)."""
    old, cast = factory.application("draft")

    def v2(data):  # version 2 no longer lets a draft be withdrawn
        data["version"] = 2
        _transition(data, "withdraw")["source"].remove("draft")
    monkeypatch.setitem(registry(), ("application", 2), load(_broken(v2)))
    assert workflow("application").version == 2

    new, _ = factory.application("draft", cast=cast)
    assert (old.workflow_version, new.workflow_version) == (1, 2)
    client = api(cast.applicant)
    r = client.fire(new.id, "withdraw")
    assert r.status_code == 409 and r.json["error"] == "transition_refused", r.json
    r = client.fire(old.id, "withdraw")
    assert r.status_code == 200 and r.json["state"] == "withdrawn", r.json
    event = client.get(f"/applications/{old.id}/history").json["items"][-1]
    assert event["trigger"] == "withdraw" and event["data"]["workflow_version"] == 1
