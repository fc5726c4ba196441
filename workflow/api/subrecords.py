"""Reviews, milestones and attachments: sub-resources of an application."""
from __future__ import annotations

from flask import jsonify, request, send_file

from .. import schemas
from ..errors import InvalidInput, NotFound, NotPermitted
from ..models import Review
from ..permissions import proposal_withheld
from ..services import applications as svc
from ..services.transitions import current
from .blueprint import bp
from .common import actor, body, fire_from_request, load

REVIEW = schemas.ReviewOut()
MILESTONE = schemas.MilestoneOut()
AGREEMENT = schemas.AgreementOut()
ATTACHMENT = schemas.AttachmentOut()


def _reviews_for(app_id: int) -> list[Review]:
    a = actor()
    app = svc.get_application(a, app_id)
    if a.acts_as_officer:
        return list(app.reviews)
    if a.role == "reviewer":
        return [r for r in app.reviews if r.reviewer_id == a.id]
    raise NotPermitted("reviews are confidential to the fund and their reviewers")


@bp.get("/applications/<int:app_id>/reviews")
def list_reviews(app_id: int):
    return jsonify({"items": REVIEW.dump(_reviews_for(app_id), many=True)})


@bp.post("/applications/<int:app_id>/reviews")
def assign_review(app_id: int):
    data = body(schemas.ReviewAssign())
    review = svc.assign_reviewer(actor(), app_id, data["reviewer_id"], data.get("due_date"))
    return jsonify(REVIEW.dump(current("review", review.id))), 201


@bp.post("/applications/<int:app_id>/reviews/<int:review_id>/transitions/<trigger>")
def fire_review(app_id: int, review_id: int, trigger: str):
    fire_from_request("review", review_id, trigger, application_id=app_id)
    # Only its reviewer fires a review's triggers; one who just declined no longer sees the application.
    return jsonify(REVIEW.dump(current("review", review_id)))


@bp.get("/applications/<int:app_id>/milestones")
def list_milestones(app_id: int):
    app = svc.get_application(actor(), app_id)
    return jsonify({"items": MILESTONE.dump(app.milestones, many=True)})


@bp.get("/applications/<int:app_id>/agreement")
def get_agreement(app_id: int):
    """The cooperation agreement recorded when the project agreement was signed; 404 before."""
    app = svc.get_application(actor(), app_id)
    if app.agreement is None:
        raise NotFound(f"application {app_id} has no recorded cooperation agreement")
    return jsonify(AGREEMENT.dump(app.agreement))


@bp.post("/applications/<int:app_id>/milestones/<int:milestone_id>/transitions/<trigger>")
def fire_milestone(app_id: int, milestone_id: int, trigger: str):
    fire_from_request("milestone", milestone_id, trigger, application_id=app_id)
    return jsonify(MILESTONE.dump(current("milestone", milestone_id)))


@bp.post("/applications/<int:app_id>/attachments")
def upload_attachment(app_id: int):
    # str(): a part without a name comes back keyed None, which the error's JSON could not sort.
    data = load(schemas.AttachmentIn(), {str(k): v for k, v in request.form.items()})
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("attach the file as multipart field 'file'", {"file": ["required"]})
    att = svc.add_attachment(actor(), app_id, data["kind"], upload.filename or "", upload.stream)
    return jsonify(ATTACHMENT.dump(att)), 201


@bp.get("/applications/<int:app_id>/attachments")
def list_attachments(app_id: int):
    a = actor()
    app = svc.get_application(a, app_id)
    if proposal_withheld(a, app):  # until the reviewer declares no conflict
        raise NotPermitted("declare that you have no conflict of interest first")
    return jsonify({"items": ATTACHMENT.dump(app.attachments, many=True)})


@bp.get("/applications/<int:app_id>/attachments/<int:attachment_id>")
def download_attachment(app_id: int, attachment_id: int):
    path, name = svc.attachment_download(actor(), app_id, attachment_id)
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)
