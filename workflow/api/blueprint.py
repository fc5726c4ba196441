"""The API's blueprint, on its own so the modules that add routes to it import no package that imports them."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
