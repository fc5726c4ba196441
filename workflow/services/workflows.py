"""The workflow definitions as the pages show them: labels and the shape of each lifecycle."""
from __future__ import annotations

from ..engine import Workflow, registry, workflow


def definition(name: str, version: int | None = None) -> Workflow:
    return workflow(name, version)


def newest_definitions() -> list[Workflow]:
    """The newest version of every workflow, by name."""
    newest: dict[str, Workflow] = {}
    for wf in registry().values():
        if wf.name not in newest or wf.version > newest[wf.name].version:
            newest[wf.name] = wf
    return [newest[name] for name in sorted(newest)]


def state_label(name: str, state: str, version: int | None = None) -> tuple[str, str]:
    """The (中文, English) label of a state of workflow `name`."""
    s = workflow(name, version).states.get(state)
    return (s.label, s.label_en) if s else (state, state)


def trigger_label(name: str, trigger: str, version: int | None = None) -> tuple[str, str]:
    """The (中文, English) label of a trigger; audit-only actions (create, edit, upload) keep their name."""
    for t in workflow(name, version).transitions:
        if t.trigger == trigger:
            return t.label, t.label_en
    return trigger, trigger
