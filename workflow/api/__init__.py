"""The JSON API under /api/v1 (DESIGN §5)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import (  # noqa: E402,F401
    admin,
    applications,
    audit,
    calls,
    changes,
    documents,
    lookups,
    openapi,
    reports,
    reviewers,
    screening,
    subrecords,
    tokens,
)
