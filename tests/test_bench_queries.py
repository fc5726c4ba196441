"""`fundflow bench --queries R` times the read side on the configured data set, prints every figure it
promises, and changes nothing there; no timing is asserted."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from workflow import db
from workflow.bench_queries import QUERIES, _read_only_app
from workflow.cli import main
from workflow.models import Base


def _environment(database_url: str, data_dir) -> dict[str, str]:
    return {"FUNDFLOW_DATABASE_URL": database_url, "FUNDFLOW_DATA_DIR": str(data_dir)}


def _state(database_url: str) -> dict:
    """The chain head, the revision and every table's row count and newest id."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            state = {"head": c.execute(text("SELECT event_id, hash FROM chain_head")).all(),
                     "revision": c.execute(text("SELECT version_num FROM alembic_version")).all()}
            for table in Base.metadata.sorted_tables:
                key = [col for col in table.primary_key.columns][0]
                state[table.name] = c.execute(select(func.count(), func.max(key)).select_from(table)).one()
    finally:
        engine.dispose()
    return state


def test_bench_queries_prints_every_figure_and_leaves_the_data_set_as_it_was(database_url, tmp_path, monkeypatch):
    env = _environment(database_url, tmp_path)
    made = CliRunner().invoke(main, ["generate", "--applications", "200", "--seed", "7", "--as-of", "2026-12-01",
                                     "--follow-ups", "none"], env=env)
    assert made.exit_code == 0, made.output
    before = _state(database_url)
    assert before["applications"][0] == 200

    result = CliRunner().invoke(main, ["bench", "--no-engine", "--queries", "3"], env=env)
    assert result.exit_code == 0, result.output + result.stderr
    lines = [line for line in result.stdout.splitlines() if line]
    figures = dict(line.split(": ", 1) for line in lines)
    assert len(figures) == len(lines), "every line of stdout is one `name: value`"
    assert lines[0] == "queries_applications: 200"
    assert figures["queries_database"] == database_url.split(":")[0].split("+")[0]
    assert figures["queries_repetitions"] == "3"
    for name in QUERIES:
        for figure in (f"{name}_p50_ms", f"{name}_p99_ms"):
            assert figure in figures, f"{figure} missing from {sorted(figures)}"
            assert float(figures[figure]) >= 0
        assert float(figures[f"{name}_p99_ms"]) >= float(figures[f"{name}_p50_ms"])
    assert figures["queries_unchanged"] == "true"
    assert "timing the queries" in result.stderr  # the progress bar, off stdout

    assert _state(database_url) == before

    # The run's connections could not have written had a service tried: the database refuses.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = _read_only_app()
    try:
        with app.app_context(), pytest.raises(DBAPIError):
            db.session().execute(text("UPDATE chain_head SET hash = hash"))  # harmless, and still refused
    finally:
        app.extensions["fundflow.engine"].dispose()
    assert _state(database_url) == before


def test_bench_queries_refuses_a_database_that_is_no_data_set(database_url, tmp_path):
    before = _state(database_url)
    result = CliRunner().invoke(main, ["bench", "--no-engine", "--queries", "1"],
                                env=_environment(database_url, tmp_path))
    assert result.exit_code == 2, result.output
    assert "holds no applications" in result.output and "fundflow generate" in result.output
    assert _state(database_url) == before


def test_bench_queries_creates_no_sqlite_file(tmp_path):
    missing = tmp_path / "nothing-here.db"
    result = CliRunner().invoke(main, ["bench", "--no-engine", "--queries", "1"],
                                env=_environment(f"sqlite:///{missing}", tmp_path))
    assert result.exit_code == 2, result.output
    assert "no database at" in result.output
    assert not missing.exists() and list(tmp_path.iterdir()) == []
