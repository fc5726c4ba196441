"""`fundflow bench --review N`: the reviewer pool, the bulk action and suggestions; no timing is asserted."""
from __future__ import annotations

import pytest

from .test_bench import bench

FIGURES = ("review_bulk_s", "review_bulk_per_s", "review_floor_s", "review_floor_per_s", "review_bulk_floor_ratio",
           "review_suggest_p50_ms", "review_suggest_p99_ms")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_bench_review_fills_every_panel_through_one_action(database, request):
    url = request.getfixturevalue("postgres_template") if database == "postgresql" else None
    figures = bench("--no-engine", "--review", "6", *(("--database-url", url) if url else ()))
    assert figures["review_pool_experts"] == "30"
    assert figures["review_applications"] == "6"
    # Every panel full, none refused: the floor's rows were gone before the action asked who was on them.
    assert (figures["review_bulk_assigned"], figures["review_bulk_refused"], figures["review_bulk_short"]) \
        == ("18", "0", "0")
    assert figures["review_floor_inserts"] == "18"
    for name in FIGURES:
        assert float(figures[name]) > 0, f"{name}: {figures[name]}"
