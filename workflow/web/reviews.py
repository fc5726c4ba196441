"""Pages: reviews."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reviews", __name__)
