"""The JSON API under /api/v1 (DESIGN §5)."""
from . import (  # noqa: F401  (each module adds its routes to the blueprint)
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
from .blueprint import bp  # noqa: F401
