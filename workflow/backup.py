"""Backup and restore: the database, attachments, documents and audit checkpoints together.

An archive is a tar.gz with a manifest listing every member's SHA-256 and the
audit chain's head at the time, so a restore can check the archive before it
replaces anything and check the chain after.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from . import audit, checkpoints
from .errors import InvalidInput

FILE_DIRS = ("attachments", "documents")
FORMAT = 1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _libpq_url(url: str) -> tuple[str, dict[str, str]]:
    """A URL pg_dump understands, and the environment carrying its password."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _data_files(data_dir: Path) -> list[Path]:
    found = [p for d in FILE_DIRS for p in sorted((data_dir / d).rglob("*")) if p.is_file()]
    cp = checkpoints.path_in(str(data_dir))
    return found + ([cp] if cp.exists() else [])


def backup(app: Flask, target: Path) -> dict:
    """Write an archive of everything fundflow keeps to `target`; return its manifest."""
    if target.exists():
        raise InvalidInput(f"{target} exists; choose a new file", {"path": ["exists"]})
    data_dir, url = Path(app.config["DATA_DIR"]), app.config["DATABASE_URL"]
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / ("database.sqlite" if url.startswith("sqlite") else "database.dump")
        with app.app_context():  # a backup exports everything: it is an event, itself inside the backup
            from . import db
            from .models import SYSTEM_ROLE, utcnow

            with db.write_session() as s:
                up_to, _ = audit.head(s)
                audit.record(s, application_id=None, subject="backup", subject_id=up_to, trigger="backup",
                             from_state=None, to_state=None, actor_id=None, role=SYSTEM_ROLE, created_at=utcnow(),
                             comment=None, data={"file": target.name, "up_to_event": up_to})
                audit.seal(s)
        _dump_database(url, dump)
        with app.app_context():
            session = app.extensions["fundflow.sessions"]()
            head = audit.head(session)
            session.close()
        members = {dump.name: dump} | {f"files/{p.relative_to(data_dir)}": p for p in _data_files(data_dir)}
        manifest = {"format": FORMAT, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                    "database": make_url(url).get_backend_name(), "audit_head": list(head),
                    "members": {name: _sha256(path) for name, path in members.items()}}
        partial = target.with_name(target.name + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            blob = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
            for name, path in members.items():
                tar.add(path, arcname=name)
        os.replace(partial, target)
    return manifest


def _dump_database(url: str, dump: Path) -> None:
    if url.startswith("sqlite"):
        source = sqlite3.connect(make_url(url).database)
        copy = sqlite3.connect(dump)
        with copy:
            source.backup(copy)  # a consistent copy, even while the app writes
        copy.close()
        source.close()
        return
    libpq, env = _libpq_url(url)
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", libpq], env=env, check=True,
                   capture_output=True)


def restore(app: Flask, source: Path) -> dict:
    """Replace the database and files with the archive's, after checking every member's hash."""
    url, data_dir = app.config["DATABASE_URL"], Path(app.config["DATA_DIR"])
    with tempfile.TemporaryDirectory() as tmp:
        manifest = _unpack(source, Path(tmp))
        expected = make_url(url).get_backend_name()
        if manifest["database"] != expected:
            raise InvalidInput(f"the archive holds a {manifest['database']} database, this is {expected}",
                               {"path": ["wrong database kind"]})
        app.extensions["fundflow.engine"].dispose()
        _restore_database(url, Path(tmp))
        for d in FILE_DIRS:
            shutil.rmtree(data_dir / d, ignore_errors=True)
        checkpoints.path_in(str(data_dir)).unlink(missing_ok=True)
        files = Path(tmp) / "files"
        if files.exists():
            shutil.copytree(files, data_dir, dirs_exist_ok=True)
    return manifest


def _unpack(source: Path, into: Path) -> dict:
    try:
        with tarfile.open(source, "r:gz") as tar:
            tar.extractall(into, filter="data")
        manifest = json.loads((into / "manifest.json").read_text())
    except (OSError, tarfile.TarError, ValueError, KeyError) as err:
        raise InvalidInput(f"{source} is not a fundflow backup: {err}", {"path": ["not a backup"]}) from None
    for name, digest in manifest["members"].items():
        member = into / name
        if not member.is_file() or _sha256(member) != digest:
            raise InvalidInput(f"the archive is damaged: {name} does not match its manifest",
                               {"path": ["damaged"]})
    return manifest


def _restore_database(url: str, unpacked: Path) -> None:
    if url.startswith("sqlite"):
        database = Path(make_url(url).database)
        staged = database.with_name(database.name + ".restoring")
        shutil.copyfile(unpacked / "database.sqlite", staged)
        for suffix in ("-wal", "-shm"):
            Path(str(database) + suffix).unlink(missing_ok=True)
        os.replace(staged, database)
        return
    libpq, env = _libpq_url(url)
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                    f"--dbname={libpq}", str(unpacked / "database.dump")], env=env, check=True,
                   capture_output=True)
