"""The reviewer pool: experts, their CSV import, suggestions, replacements and bulk assignment (officers)."""
from __future__ import annotations

from flask import jsonify, request

from .. import schemas
from ..errors import InvalidInput
from ..services import bulk, pool
from ..services.transitions import current
from .blueprint import bp
from .common import actor, body, query

EXPERT = schemas.ExpertOut()
REVIEW = schemas.ReviewOut()
SUGGESTION = schemas.SuggestionOut()
JOB = schemas.JobOut()


def _expert(user_id: int):
    expert, reviews = pool.get_expert(actor(), user_id)
    return {**EXPERT.dump(expert), "reviews": REVIEW.dump(reviews, many=True)}


@bp.get("/reviewers/<int:user_id>")
def get_reviewer(user_id: int):
    return jsonify(_expert(user_id))


@bp.post("/reviewers")
def create_reviewer():
    user = pool.create_expert(actor(), body(schemas.ExpertIn()))
    return jsonify(_expert(user.id)), 201


@bp.patch("/reviewers/<int:user_id>")
def update_reviewer(user_id: int):
    pool.update_expert(actor(), user_id, body(schemas.ExpertProfileIn(), partial=True))
    return jsonify(_expert(user_id))


@bp.post("/reviewers/import")
def import_reviewers():
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("attach the CSV as multipart field 'file'", {"file": ["required"]})
    users = pool.import_experts(actor(), upload.stream)
    return jsonify({"imported": len(users), "ids": [u.id for u in users]}), 201


@bp.get("/applications/<int:app_id>/suggestions")
def suggest_reviewers(app_id: int):
    n = query(schemas.SuggestQuery())["n"]
    return jsonify({"items": SUGGESTION.dump(pool.suggest(actor(), app_id, n), many=True)})


@bp.post("/applications/<int:app_id>/reviews/<int:review_id>/replace")
def replace_review(app_id: int, review_id: int):
    data = body(schemas.ReplaceIn(), empty_ok=True)
    review = pool.replace_reviewer(actor(), review_id, data.get("reviewer_id"), data.get("due_date"),
                                   application_id=app_id)
    return jsonify(REVIEW.dump(current("review", review.id))), 201


@bp.post("/reviews/bulk")
def bulk_assign_suggested():
    data = body(schemas.BulkSuggestedIn())
    outcome = bulk.assign_suggested(actor(), data["app_ids"], data["per_application"], data.get("due_date"))
    if isinstance(outcome, dict):
        return jsonify(outcome)
    return jsonify(JOB.dump(outcome)), 202
