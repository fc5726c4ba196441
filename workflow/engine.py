"""Workflow definitions from states/, one `transitions` machine per definition, and the Firing.

The machines hold no models: each firing hands the row to the event
(`machine.events[trigger].trigger(row)`), which sets `row.state` and nothing
else. Guards, effects and the audit event are the service's business
(workflow/services/transitions.py), so a refused trigger never half-runs.

The engine knows the guards, effects and jobs a definition names only as
names: it imports no registry. `check_names` is told the registries once, when
the app is built, and refuses a definition that names anything unknown.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session
from transitions import Machine, MachineError

from .actors import ROLES, SYSTEM_ROLE, Actor
from .errors import TransitionRefused


@dataclass(frozen=True)
class StateDef:
    name: str
    label: str
    label_en: str
    final: bool = False


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    source: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    label: str
    label_en: str
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()  # follow-up work, run after commit
    # Follow-up transitions ("application.close_review"), tried as the system in the same
    # transaction once this one is recorded; a guard that refuses them leaves them unfired.
    then: tuple[tuple[str, str], ...] = ()
    comment_required: bool = False


@dataclass(frozen=True)
class Workflow:
    name: str
    version: int
    initial: str
    states: dict[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    machine: Machine = field(compare=False, repr=False)

    def transition(self, trigger: str, source: str) -> TransitionDef | None:
        for t in self.transitions:
            if t.trigger == trigger and source in t.source:
                return t
        return None

    def triggers(self) -> list[str]:
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def available(self, source: str) -> list[TransitionDef]:
        return [t for t in self.transitions if source in t.source]

    def is_final(self, state: str) -> bool:
        return self.states[state].final

    def fire(self, row: Any, trigger: str) -> None:
        """Move `row.state` along `trigger`; refuse when the state does not allow it."""
        event = self.machine.events.get(trigger)
        if event is None:
            raise TransitionRefused(f"unknown trigger {trigger!r} for {self.name}")
        try:
            event.trigger(row)
        except MachineError:
            label = self.states[row.state].label_en if row.state in self.states else row.state
            raise TransitionRefused(
                f"{trigger} is not allowed while the {self.name} is {row.state} ({label})",
                {"state": row.state, "trigger": trigger},
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "initial": self.initial,
            "states": [
                {"name": s.name, "label": s.label, "label_en": s.label_en, "final": s.final}
                for s in self.states.values()
            ],
            "transitions": [
                {
                    "trigger": t.trigger,
                    "source": list(t.source),
                    "dest": t.dest,
                    "roles": list(t.roles),
                    "guards": list(t.guards),
                    "comment_required": t.comment_required,
                    "label": t.label,
                    "label_en": t.label_en,
                }
                for t in self.transitions
            ],
        }


class DefinitionError(ValueError):
    """A file in states/ does not describe a sound workflow."""


def parse_definition(data: dict[str, Any]) -> Workflow:
    states = {
        s["name"]: StateDef(s["name"], s["label"], s["label_en"], bool(s.get("final", False)))
        for s in data["states"]
    }
    transitions = tuple(
        TransitionDef(
            trigger=t["trigger"],
            source=tuple(t["source"]),
            dest=t["dest"],
            roles=tuple(t["roles"]),
            label=t["label"],
            label_en=t["label_en"],
            guards=tuple(t.get("guards", ())),
            effects=tuple(t.get("effects", ())),
            jobs=tuple(t.get("jobs", ())),
            then=tuple(tuple(name.partition(".")[::2]) for name in t.get("then", ())),
            comment_required=t.get("comment") == "required",
        )
        for t in data["transitions"]
    )
    _check(data, states, transitions)
    machine = Machine(
        model=None,
        states=list(states),
        initial=data["initial"],
        transitions=[
            {"trigger": t.trigger, "source": list(t.source), "dest": t.dest} for t in transitions
        ],
        auto_transitions=False,
        send_event=True,
    )
    return Workflow(data["name"], int(data["version"]), data["initial"], states, transitions, machine)


def _check(data, states, transitions) -> None:
    where = f"{data.get('name')} v{data.get('version')}"
    if data["initial"] not in states:
        raise DefinitionError(f"{where}: initial state {data['initial']!r} is not a state")
    seen: set[tuple[str, str]] = set()
    for t in transitions:
        for s in (*t.source, t.dest):
            if s not in states:
                raise DefinitionError(f"{where}: {t.trigger} names unknown state {s!r}")
        for s in t.source:
            if states[s].final:
                raise DefinitionError(f"{where}: {t.trigger} leaves final state {s!r}")
            if (t.trigger, s) in seen:
                raise DefinitionError(f"{where}: {t.trigger} from {s!r} is defined twice")
            seen.add((t.trigger, s))
        for role in t.roles:
            if role not in (*ROLES, SYSTEM_ROLE):
                raise DefinitionError(f"{where}: {t.trigger} names unknown role {role!r}")
        for kind, trigger in t.then:
            if not kind or not trigger:
                raise DefinitionError(f"{where}: {t.trigger} follows up with {kind or trigger!r}, "
                                      "which is not of the form '<workflow>.<trigger>'")


def check_names(defs: Collection[Workflow], *, guards: Collection[str], effects: Collection[str],
                jobs: Collection[str]) -> None:
    """Refuse definitions that name a guard, effect or job nobody registered, or a follow-up the system cannot fire.

    A follow-up must be a trigger of the newest definition of its workflow that the system may fire.
    """
    newest: dict[str, Workflow] = {}
    for wf in defs:
        if wf.name not in newest or wf.version > newest[wf.name].version:
            newest[wf.name] = wf
    for wf in defs:
        where = f"{wf.name} v{wf.version}"
        for t in wf.transitions:
            for kind, names, known in (("guard", t.guards, guards), ("effect", t.effects, effects),
                                       ("job", t.jobs, jobs)):
                unknown = sorted(set(names) - set(known))
                if unknown:
                    raise DefinitionError(f"{where}: {t.trigger} names unknown {kind}s {unknown}")
            for kind, trigger in t.then:
                target = newest.get(kind)
                if target is None or not any(c.trigger == trigger and SYSTEM_ROLE in c.roles
                                             for c in target.transitions):
                    raise DefinitionError(f"{where}: {t.trigger} follows up with {kind}.{trigger}, "
                                          "which is no trigger the system may fire")


@cache
def registry() -> dict[tuple[str, int], Workflow]:
    """Every definition shipped in states/, keyed by (name, version). Built once."""
    found: dict[tuple[str, int], Workflow] = {}
    for entry in resources.files("workflow.states").iterdir():
        if entry.name.endswith(".toml"):
            wf = parse_definition(tomllib.loads(entry.read_text(encoding="utf-8")))
            found[(wf.name, wf.version)] = wf
    return found


def workflow(name: str, version: int | None = None) -> Workflow:
    """The definition `name` at `version`, or its newest version."""
    defs = registry()
    if version is None:
        version = max(v for (n, v) in defs if n == name)
    try:
        return defs[(name, version)]
    except KeyError:
        raise DefinitionError(f"no workflow {name!r} version {version}") from None


@dataclass
class Firing:
    """Everything a guard or effect may look at for one firing."""

    session: Session
    actor: Actor
    application: Any  # the Application the subject belongs to (or is)
    subject: Any  # the Application, Review or Milestone the trigger moves
    transition: TransitionDef
    payload: dict[str, Any]
    comment: str | None
    now: dt.datetime
    values: dict[str, Any] = field(default_factory=dict)  # what guards parsed, for effects
