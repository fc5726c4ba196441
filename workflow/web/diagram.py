"""The workflow diagram: a states/ definition drawn once as SVG, marked per page with where a record has been.

The `transitions` diagrams extension builds the graph from the definition and
Graphviz's `dot` lays it out, once per (workflow, version, language). Every
node and edge carries an id, so a page only adds the classes ff-current,
ff-visited and ff-taken to the cached SVG text: no `dot` runs per request.
"""
from __future__ import annotations

import html
import re
from functools import cache
from typing import Iterable

import graphviz
from markupsafe import Markup
from transitions import State
from transitions.extensions import GraphMachine
from transitions.extensions.diagrams_graphviz import Graph

from ..services.workflows import definition
from .i18n import language

FONT = "Noto Sans CJK SC"
# What the SVG of `dot` starts with before the <svg> element itself.
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TITLED = re.compile(r'(<g id="(ff-[se]-[A-Za-z0-9_-]+)" class="[^"]*">\s*<title>)[^<]*(</title>)')
_MARKED = re.compile(r'<g id="(ff-[se]-[A-Za-z0-9_-]+)" class="([^"]*)"')
_SAFE_NAME = re.compile(r"\A[A-Za-z0-9_]+\Z")


def node_id(state: str) -> str:
    return f"ff-s-{state}"


def edge_id(source: str, trigger: str) -> str:
    return f"ff-e-{source}--{trigger}"


class _LabelledState(State):
    """A state that carries its display label, which the markup (and so the graph) reads."""

    def __init__(self, *args, label: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.label = label


class _IdGraph(Graph):
    """The graphviz backend of `transitions`, with an id and class on every node and edge and no styling."""

    def _add_nodes(self, states, container):
        for state in states:
            name = state["name"]
            attrs = {"id": node_id(name), "class": f"ff-state-node ff-s-{name}"}
            if state.get("final"):
                attrs.update(peripheries="2", **{"class": attrs["class"] + " ff-final"})
            container.node(name, label=_text(state.get("label") or name), **attrs)

    def _add_edges(self, transitions, container):
        for t in transitions:
            if not t.get("trigger") or "dest" not in t:
                continue
            container.edge(t["source"], t["dest"], label=_text(t.get("label") or t["trigger"]),
                           id=edge_id(t["source"], t["trigger"]),
                           **{"class": f"ff-edge ff-t-{t['trigger']}"})


class _DiagramMachine(GraphMachine):
    state_cls = _LabelledState
    machine_attributes = {"directed": "true", "strict": "false", "rankdir": "TB", "nodesep": "0.3",
                          "ranksep": "0.45", "fontname": FONT, "bgcolor": "transparent", "pad": "0.1"}
    style_attributes = {
        "node": {"default": {"shape": "box", "style": "rounded,filled", "fillcolor": "white", "color": "#5b6470",
                             "fontname": FONT, "fontsize": "12", "margin": "0.12,0.06", "height": "0.36"}},
        "edge": {"default": {"color": "#8a929c", "fontname": FONT, "fontsize": "10", "fontcolor": "#3c4450",
                             "arrowsize": "0.7"}},
        "graph": {"default": {}},
    }

    def _init_graphviz_engine(self, graph_engine):
        return _IdGraph


class _Model:
    """The one throwaway model the diagram machine needs to hand out a graph."""


def _text(label: str) -> str:
    """A label as plain text for dot: never an HTML-like label, no escape sequences."""
    return graphviz.nohtml(label.replace("\\", "\\\\"))


@cache
def svg(name: str, version: int, lang: str) -> str:
    """The definition `name` v`version` as SVG text with labels in `lang`: `dot` runs once per argument set."""
    wf = definition(name, version)
    zh = lang == "zh"

    def choose(pair_zh: str, pair_en: str) -> str:
        return (pair_zh or pair_en) if zh else (pair_en or pair_zh)

    for s in wf.states:
        if not _SAFE_NAME.match(s):
            raise ValueError(f"state name {s!r} cannot be an SVG id")
    model = _Model()
    machine = _DiagramMachine(
        model=model,
        states=[{"name": s.name, "label": choose(s.label, s.label_en), "final": s.final} for s in wf.states.values()],
        initial=wf.initial,
        transitions=[{"trigger": t.trigger, "source": src, "dest": t.dest, "label": choose(t.label, t.label_en)}
                     for t in wf.transitions for src in t.source],
        auto_transitions=False,
        graph_engine="graphviz",
        title="",
    )
    graph = model.get_graph()
    out = graph.pipe(format="svg", encoding="utf-8")
    out = _COMMENT.sub("", _PROLOGUE.sub("", out, count=1)).replace("&#45;", "-")
    out = out.replace("<title>%3</title>", "", 1)
    # Tooltips in words, not codes.
    names = {node_id(s.name): choose(s.label, s.label_en) for s in wf.states.values()}
    names.update({edge_id(src, t.trigger): choose(t.label, t.label_en) for t in wf.transitions for src in t.source})
    out = _TITLED.sub(lambda m: f"{m.group(1)}{html.escape(names.get(m.group(2), ''))}{m.group(3)}", out)
    # An accessible name; dot's own <title> elements name nodes by their code.
    title = html.escape(choose(f"{name} 流程图", f"{name} workflow"))
    return out.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)


def marked(name: str, version: int, current: str | None, visited: Iterable[str] = (),
           taken: Iterable[tuple[str, str]] = ()) -> Markup:
    """The cached diagram with the current state, the states passed and the edges taken marked by class."""
    extra: dict[str, list[str]] = {}
    for state in visited:
        extra.setdefault(node_id(state), []).append("ff-visited")
    if current:
        extra.setdefault(node_id(current), []).append("ff-current")
    for source, trigger in taken:
        extra.setdefault(edge_id(source, trigger), []).append("ff-taken")

    def add(match: re.Match) -> str:
        more = extra.get(match.group(1))
        if not more:
            return match.group(0)
        return f'<g id="{match.group(1)}" class="{match.group(2)} {" ".join(more)}"'

    return Markup(_MARKED.sub(add, svg(name, version, language())))


def path_of(events, states: Iterable[str]) -> tuple[set[str], list[tuple[str, str]]]:
    """From an application's history: the states it passed and the (source, trigger) edges it took."""
    known = set(states)
    visited: set[str] = set()
    taken: list[tuple[str, str]] = []
    for e in events:
        if e.subject != "application" or e.from_state not in known or e.to_state not in known:
            continue
        visited.update((e.from_state, e.to_state))
        if e.from_state != e.to_state:
            taken.append((e.from_state, e.trigger))
    return visited, taken


def application_diagram(application, events) -> Markup:
    """The diagram of the workflow `application` runs under, marked with its path and current state."""
    wf = definition("application", application.workflow_version)
    visited, taken = path_of(events, wf.states)
    visited.add(wf.initial)
    visited.discard(application.state)
    return marked("application", application.workflow_version, application.state, visited, taken)


__all__ = ["svg", "marked", "path_of", "application_diagram"]
