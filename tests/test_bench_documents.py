"""`fundflow bench --documents N` prints every figure it promises and checks its notices; no timing is asserted."""
from __future__ import annotations

import tempfile

from click.testing import CliRunner

from workflow.cli import main

RATES = ("documents_floor_per_s", "documents_floor_p50_ms", "documents_inprocess_per_s",
         "documents_inprocess_floor_ratio")
PER_RUN = ("total_s", "approvals_s", "per_s", "per_worker_per_s", "floor_ratio")


def test_documents_bench_prints_its_figures_and_every_notice_checks_out(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # its scratch dir goes here, to be seen gone
    result = CliRunner().invoke(main, ["bench", "--no-engine", "--documents", "4"])

    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    figures = dict(line.split(": ", 1) for line in lines)
    assert len(figures) == len(lines), "every line of stdout is one `name: value`"
    names = [*RATES, *(f"documents_rq_{w}w_{figure}" for w in (1, 2) for figure in PER_RUN)]
    for name in names:
        assert name in figures, f"{name} missing from {sorted(figures)}"
        assert float(figures[name]) > 0, f"{name}: {figures[name]}"
    assert figures["documents_numbers_ok"] == "true"
    assert figures["documents_audit_chain_ok"] == "true"
    assert figures["documents_render_deterministic"] == "true"
    assert int(figures["documents_issued"]) == 4 + 2 * 4  # the in-process sample, then 4 per RQ run
    assert figures["weasyprint_subsetter"] in ("harfbuzz", "fonttools")
    assert figures["documents_rq_2w_subsetter"] == figures["weasyprint_subsetter"]
    assert list(tmp_path.iterdir()) == []  # its temp dir (database, files, Redis, worker logs) is gone


def test_bench_with_nothing_to_run_is_a_usage_error():
    result = CliRunner().invoke(main, ["bench", "--no-engine"])
    assert result.exit_code == 2
    assert "nothing to run" in result.output
