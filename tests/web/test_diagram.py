"""The workflow diagram: every state drawn, the current one and the path taken marked, dot run once per definition."""
from __future__ import annotations

import re

import graphviz
import pytest

from workflow.engine import parse_definition, workflow
from workflow.web import diagram


@pytest.fixture
def ctx(app):
    """A request in Chinese (the language the diagram's labels follow), with an empty diagram cache."""
    diagram.svg.cache_clear()
    with app.test_request_context(headers={"Cookie": "fundflow_lang=zh"}):
        yield
    diagram.svg.cache_clear()


def _classes(svg: str, element_id: str) -> set[str]:
    match = re.search(rf'<g id="{re.escape(element_id)}" class="([^"]*)"', svg)
    assert match, f"{element_id} is not in the diagram"
    return set(match.group(1).split())


def test_every_state_and_transition_of_the_definition_is_drawn(ctx):
    wf = workflow("application", 1)
    svg = diagram.svg("application", 1, "zh")

    assert svg.startswith("<svg ") and "<?xml" not in svg and "<!DOCTYPE" not in svg and "<!--" not in svg
    for state in wf.states.values():
        assert "node" in _classes(svg, diagram.node_id(state.name))
        assert f">{state.label}</text>" in svg
    for t in wf.transitions:
        for source in t.source:
            assert "edge" in _classes(svg, diagram.edge_id(source, t.trigger))
    assert 'font-family="Noto Sans CJK SC"' in svg
    assert " style=" not in svg and "<style" not in svg and "<script" not in svg


def test_labels_follow_the_language(ctx):
    english = diagram.svg("application", 1, "en")
    assert ">Awaiting recommendation</text>" in english and "待推荐" not in english
    assert ">Recommend</text>" in english


def test_the_current_state_and_the_path_taken_are_marked(ctx):
    marked = str(diagram.marked("application", 1, "formal_review", visited={"draft", "pending_recommendation"},
                                taken=[("draft", "submit"), ("pending_recommendation", "recommend")]))

    assert "ff-current" in _classes(marked, "ff-s-formal_review")
    assert "ff-visited" in _classes(marked, "ff-s-draft") and "ff-current" not in _classes(marked, "ff-s-draft")
    assert "ff-taken" in _classes(marked, "ff-e-draft--submit")
    assert "ff-taken" in _classes(marked, "ff-e-pending_recommendation--recommend")
    for untaken in ("ff-e-pending_recommendation--return_for_revision", "ff-e-formal_review--pass_formal_review",
                    "ff-e-draft--withdraw"):
        assert "ff-taken" not in _classes(marked, untaken)
    assert "ff-visited" not in _classes(marked, "ff-s-expert_review")
    assert marked.count("ff-current") == 1


def test_the_path_is_read_from_the_history(app, factory):
    from workflow.services.applications import history

    application, cast = factory.application("formal_review")
    with app.app_context():
        events = history(cast.applicant, application.id)

    visited, taken = diagram.path_of(events, workflow("application", 1).states)

    assert visited == {"draft", "pending_recommendation", "formal_review"}
    assert taken == [("draft", "submit"), ("pending_recommendation", "recommend")]


def test_rendering_twice_runs_dot_once(ctx, monkeypatch):
    runs = []
    pipe = graphviz.Digraph.pipe

    def counted(self, *args, **kwargs):
        runs.append(1)
        return pipe(self, *args, **kwargs)

    monkeypatch.setattr(graphviz.Digraph, "pipe", counted)
    first = diagram.marked("application", 1, "draft")
    second = diagram.marked("application", 1, "approved", visited={"draft"}, taken=[("draft", "submit")])

    assert len(runs) == 1
    assert first != second and "ff-current" in _classes(str(second), "ff-s-approved")
    diagram.svg("application", 1, "en")
    assert len(runs) == 2  # one run per language


def test_labels_are_plain_text(ctx, monkeypatch):
    hostile = parse_definition({
        "name": "application", "version": 99, "initial": "a",
        "states": [{"name": "a", "label": '<b onload="x()">甲</b> & \\l', "label_en": "A"},
                   {"name": "b", "label": "<script>alert(1)</script>", "label_en": "B", "final": True}],
        "transitions": [{"trigger": "go", "source": ["a"], "dest": "b", "roles": ["officer"],
                         "label": "<img src=x onerror=y>", "label_en": "Go"}],
    })
    monkeypatch.setattr(diagram, "definition", lambda name, version: hostile)

    svg = diagram.svg("application", 99, "zh")

    assert "<script" not in svg and "<b " not in svg and "<img" not in svg
    assert "&lt;script&gt;" in svg and "&lt;img src=x onerror=y&gt;" in svg
    assert "&amp; \\l" in svg  # the escape sequence is text, not a dot instruction


def test_the_page_inlines_the_marked_diagram(factory, pages):
    application, cast = factory.application("formal_review")
    html = pages(cast.applicant).get(f"/applications/{application.id}").get_data(as_text=True)
    svg = html.split('<div class="ff-diagram">')[1].split("</svg>")[0]

    assert svg.lstrip().startswith("<svg ")
    assert "ff-current" in _classes(svg, "ff-s-formal_review")
    assert "ff-taken" in _classes(svg, "ff-e-pending_recommendation--recommend")
    assert "ff-taken" not in _classes(svg, "ff-e-formal_review--pass_formal_review")
    assert "ff-visited" in _classes(svg, "ff-s-draft")
    assert 'class="ff-legend"' in html
