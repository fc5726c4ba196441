"""Configuration from FUNDFLOW_* environment variables (DESIGN §5)."""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Mapping

from .db import DEFAULT_POOL_SIZE, database_url

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def from_environment(env: Mapping[str, str] | None = None) -> dict:
    env = os.environ if env is None else env
    data_dir = Path(env.get("FUNDFLOW_DATA_DIR", "./instance")).resolve()
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": env.get("FUNDFLOW_DATABASE_URL") or database_url(str(data_dir)),
        "REDIS_URL": env.get("FUNDFLOW_REDIS_URL") or None,
        "SECRET_KEY": env.get("FUNDFLOW_SECRET_KEY") or _local_secret(data_dir),
        "AUDIT_KEY": env.get("FUNDFLOW_AUDIT_KEY") or None,
        "SMTP_URL": env.get("FUNDFLOW_SMTP_URL") or None,
        "MAX_CONTENT_LENGTH": MAX_UPLOAD_BYTES + 64 * 1024,
        "MAX_UPLOAD_BYTES": MAX_UPLOAD_BYTES,
        "JSON_SORT_KEYS": False,
        # Seconds after which work handed to RQ but not done, and not alive there, is handed over again.
        "JOB_LOST_AFTER": int(env.get("FUNDFLOW_JOB_LOST_AFTER", "600")),
        # Without Redis: follow-ups on a background thread ("background"), or right after the commit
        # in the same thread ("inline": commands that exit when done, and the tests).
        "FOLLOW_UPS": env.get("FUNDFLOW_FOLLOW_UPS", "background"),
        "SQLITE_SYNCHRONOUS": "FULL",  # see db.py; tests, which need no power-cut safety, choose OFF
        # Database connections each process keeps open; as many again when busy (db.make_engine).
        "DB_POOL_SIZE": _positive(env, "FUNDFLOW_DB_POOL_SIZE", DEFAULT_POOL_SIZE),
        # After start-up, exempt its objects from full garbage collections (create_app). The tests, which
        # build an app per test in one process, leave them to the collector.
        "GC_FREEZE": True,
        # werkzeug's default; tests choose a cheap one, since they make many users.
        "PASSWORD_HASH_METHOD": "scrypt",
        # Pages: Chinese first, Bootstrap served from the package, sessions that end when idle.
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BOOTSTRAP_SERVE_LOCAL": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("FUNDFLOW_HTTPS_ONLY", "") == "1",
        "SESSION_COOKIE_NAME": "fundflow_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(minutes=int(env.get("FUNDFLOW_SESSION_IDLE_MINUTES", "60"))),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session, which ends when idle
        # Review assignments fall due this many days after they are made.
        "REVIEW_DUE_DAYS": int(env.get("FUNDFLOW_REVIEW_DUE_DAYS", "21")),
        # A fund's cooling-off rule: an expert who reviewed an application of an institution within this
        # many years may not review another of its applications. 0 (the default): no such rule, since
        # it bars the experts of a field from its largest applicants; declared conflicts always count.
        "REVIEW_COOLING_OFF_YEARS": int(env.get("FUNDFLOW_REVIEW_COOLING_OFF_YEARS", "0")),
        # API tokens expire this many days after they are issued.
        "TOKEN_DAYS": int(env.get("FUNDFLOW_TOKEN_DAYS", "30")),
        # Sign-in throttling (services/accounts.py): failures allowed before a delay, per (e-mail, address)
        # and per address (a shared office address has many users); the first delay, doubled per further
        # failure up to the cap; failures forgotten after a quiet spell.
        "SIGN_IN_FREE_FAILURES": 5,
        "SIGN_IN_ADDRESS_FREE_FAILURES": 20,
        "SIGN_IN_DELAY_SECONDS": 30,
        "SIGN_IN_MAX_DELAY_SECONDS": 15 * 60,
        "SIGN_IN_FORGET_AFTER": dt.timedelta(hours=24),
    }


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None or text == "":
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _local_secret(data_dir: Path) -> str:
    """Without FUNDFLOW_SECRET_KEY, keep a random key beside the embedded database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()
