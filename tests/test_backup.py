"""Backup and restore: database, attachments and checkpoints come back together, intact."""
from __future__ import annotations

import gc
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from workflow import audit, db
from workflow.cli import main
from workflow.models import Application, Attachment

from .factories import Factory


@pytest.fixture
def cli(app, monkeypatch):
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FUNDFLOW_AUDIT_KEY", "checkpoint key")
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


def _state(app):
    with app.app_context():
        s = db.session()
        return (s.scalar(select(func.count(Application.id))), audit.head(s),
                sorted(s.scalars(select(Attachment.stored_name))))


def test_restore_brings_back_database_files_and_checkpoints(app, cli, tmp_path):
    factory = Factory(app)
    factory.application("in_progress")
    assert cli("audit", "checkpoint").exit_code == 0
    archive = tmp_path / "backup.tar.gz"

    result = cli("backup", str(archive))
    assert result.exit_code == 0, result.output
    before = _state(app)  # the backup's own event is in it

    factory.application("approved")  # work done after the backup ...
    attachments = Path(app.config["DATA_DIR"]) / "attachments"
    lost = attachments / before[2][0]
    lost.unlink()  # ... and a file lost
    assert _state(app) != before

    result = cli("restore", "--yes", str(archive))
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output
    app.extensions["fundflow.engine"].dispose()  # as a restarted server would
    assert _state(app) == before
    assert lost.exists()
    assert sorted(p.name for p in attachments.iterdir()) == before[2]
    assert cli("audit", "verify").exit_code == 0
    gc.collect()  # a connection the commands left open is reported now, by this test (ResourceWarning)


def test_a_damaged_archive_is_refused_before_anything_changes(app, tmp_path, monkeypatch):
    monkeypatch.setenv("FUNDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("FUNDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    Factory(app).application("pending_recommendation")
    run = lambda *args: CliRunner().invoke(main, list(args))  # noqa: E731
    archive, damaged = tmp_path / "ok.tar.gz", tmp_path / "damaged.tar.gz"
    assert run("backup", str(archive)).exit_code == 0
    assert run("backup", str(archive)).exit_code == 2  # never overwrites

    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.startswith("files/attachments/"):
                data = data.replace(b"%PDF-1.4", b"%PDF-1.5")
            member.size = len(data)
            dst.addfile(member, __import__("io").BytesIO(data))
    before = _state(app)
    result = run("restore", "--yes", str(damaged))
    assert result.exit_code == 2 and "does not match its manifest" in result.output
    assert _state(app) == before
